#include "observernet/http/problem.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>

namespace observernet::http {
namespace {

TEST(ProblemTest, MapsEveryCodeToItsStatus) {
  const std::pair<ErrorCode, unsigned> expected[] = {
      {ErrorCode::bad_request, 400},         {ErrorCode::validation_failed, 422},
      {ErrorCode::unauthorized, 401},        {ErrorCode::forbidden, 403},
      {ErrorCode::not_found, 404},           {ErrorCode::precondition_failed, 412},
      {ErrorCode::election_not_draft, 409},  {ErrorCode::election_not_open, 409},
      {ErrorCode::election_closed, 409},     {ErrorCode::no_voters, 409},
      {ErrorCode::invalid_credentials, 401}, {ErrorCode::token_already_issued, 409},
      {ErrorCode::invalid_token, 403},       {ErrorCode::invalid_ballot, 422},
      {ErrorCode::token_already_used, 409},  {ErrorCode::results_not_available, 409},
      {ErrorCode::too_many_requests, 429},   {ErrorCode::internal_error, 500},
      {ErrorCode::service_unavailable, 503},
  };
  static_assert(std::size(expected) == kErrorCodeCount);
  for (auto [code, status] : expected) {
    EXPECT_EQ(problem_info(code).status, status) << to_string(code);
    Response r = problem_response(Error(code, "x"));
    EXPECT_EQ(r.status, status);
    EXPECT_EQ(r.content_type, "application/problem+json");
    auto body = nlohmann::json::parse(r.body);
    EXPECT_EQ(body["code"], to_string(code));
    EXPECT_EQ(body["status"], status);
  }
}

TEST(ProblemTest, MapsEveryTransportCodeToItsStatus) {
  const std::pair<TransportCode, unsigned> expected[] = {
      {TransportCode::method_not_allowed, 405},     {TransportCode::payload_too_large, 413},
      {TransportCode::unsupported_media_type, 415}, {TransportCode::header_too_large, 431},
      {TransportCode::origin_not_allowed, 403},     {TransportCode::too_many_connections, 503},
  };
  static_assert(std::size(expected) == kTransportCodeCount);
  for (auto [code, status] : expected) {
    Response r = problem_response(code, "x");
    EXPECT_EQ(r.status, status) << to_string(code);
    auto body = nlohmann::json::parse(r.body);
    EXPECT_EQ(body["code"], to_string(code));
    EXPECT_EQ(body["type"], "urn:observernet:problem:" + std::string(to_string(code)));
  }
  // A TransportError thrown by a handler is the client's: answered, not logged.
  std::string log_message;
  Response r = problem_response(
      std::make_exception_ptr(TransportError(TransportCode::unsupported_media_type, "csv only")),
      log_message);
  EXPECT_EQ(r.status, 415u);
  EXPECT_TRUE(log_message.empty());
}

TEST(ProblemTest, EveryCodeStringIsDistinct) {
  std::set<std::string_view> seen;
  for (std::size_t i = 0; i < kErrorCodeCount; ++i) {
    EXPECT_TRUE(seen.insert(to_string(static_cast<ErrorCode>(i))).second);
  }
  for (std::size_t i = 0; i < kTransportCodeCount; ++i) {
    EXPECT_TRUE(seen.insert(to_string(static_cast<TransportCode>(i))).second);
  }
}

TEST(ProblemTest, BodyHasRfc9457MembersAndFieldErrors) {
  Response r = problem_response(Error(
      ErrorCode::validation_failed, "2 fields are invalid",
      {{"contests[0].maxSelections", "must be >= minSelections"}, {"title", "must not be empty"}}));
  auto body = nlohmann::json::parse(r.body);
  EXPECT_EQ(body["type"], "urn:observernet:problem:validation_failed");
  EXPECT_EQ(body["title"], "Validation failed");
  EXPECT_EQ(body["status"], 422);
  EXPECT_EQ(body["detail"], "2 fields are invalid");
  ASSERT_EQ(body["errors"].size(), 2u);
  EXPECT_EQ(body["errors"][0]["field"], "contests[0].maxSelections");
  EXPECT_EQ(body["errors"][1]["message"], "must not be empty");
  EXPECT_EQ(problem_response(Error(ErrorCode::not_found, "x")).body.find("errors"),
            std::string::npos);
}

TEST(ProblemTest, RetryAfterBecomesAHeader) {
  Response r =
      problem_response(Error(ErrorCode::service_unavailable, "db down").with_retry_after(3));
  ASSERT_EQ(r.headers.size(), 1u);
  EXPECT_EQ(r.headers[0].first, "Retry-After");
  EXPECT_EQ(r.headers[0].second, "3");
}

TEST(ProblemTest, UnknownExceptionsBecomeOpaque500s) {
  std::string log_message;
  Response r = problem_response(std::make_exception_ptr(std::runtime_error("secret pg detail")),
                                log_message);
  EXPECT_EQ(r.status, 500u);
  EXPECT_EQ(log_message, "secret pg detail");
  EXPECT_EQ(r.body.find("secret"), std::string::npos);
}

TEST(ProblemTest, ClientErrorsAreNotLoggedAndServerErrorsLogTheirPrivateDetail) {
  std::string log_message;
  problem_response(std::make_exception_ptr(Error(ErrorCode::not_found, "no such election")),
                   log_message);
  EXPECT_TRUE(log_message.empty());

  Response r = problem_response(std::make_exception_ptr(Error(ErrorCode::service_unavailable,
                                                              "retry later", {}, "pg: refused")),
                                log_message);
  EXPECT_EQ(log_message, "pg: refused");
  EXPECT_EQ(r.body.find("refused"), std::string::npos);
}

}  // namespace
}  // namespace observernet::http

namespace observernet {
namespace {

// copy_of gives each request of a failed batch an exception of its own, sharing nothing
// with the original (error.hpp): the same answer, not the same object or message buffer.
TEST(CopyOfTest, AnErrorIsMadeAnewWithEverythingItHeld) {
  const auto original = std::make_exception_ptr(
      Error(ErrorCode::service_unavailable, "retry", {{"field", "why"}}, "private")
          .with_retry_after(1));
  const auto copy = copy_of(original);
  ASSERT_NE(copy, original);
  try {
    std::rethrow_exception(copy);
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::service_unavailable);
    EXPECT_EQ(e.detail(), "retry");
    EXPECT_EQ(e.log_detail(), "private");
    ASSERT_EQ(e.field_errors().size(), 1u);
    EXPECT_EQ(e.field_errors()[0].field, "field");
    ASSERT_EQ(e.headers().size(), 1u);
    EXPECT_EQ(e.headers()[0].second, "1");
    try {
      std::rethrow_exception(original);
    } catch (const Error& first) {
      EXPECT_STREQ(e.what(), first.what());
      EXPECT_NE(static_cast<const void*>(e.what()), static_cast<const void*>(first.what()));
    }
  }
}

TEST(CopyOfTest, AnyOtherExceptionKeepsItsMessage) {
  const auto copy = copy_of(std::make_exception_ptr(std::logic_error("broken")));
  try {
    std::rethrow_exception(copy);
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "broken");
  }
}

// is_unavailable: the one test of "the database is away" (error.hpp), by reference or
// held in an exception_ptr; any other code or exception, or none, is not.
TEST(IsUnavailableTest, OnlyAServiceUnavailableErrorIs) {
  const Error away(ErrorCode::service_unavailable, "retry");
  const Error other(ErrorCode::internal_error, "broken");
  EXPECT_TRUE(is_unavailable(away));
  EXPECT_FALSE(is_unavailable(other));
  EXPECT_FALSE(is_unavailable(std::runtime_error("database")));
  EXPECT_TRUE(is_unavailable(std::make_exception_ptr(away)));
  EXPECT_FALSE(is_unavailable(std::make_exception_ptr(other)));
  EXPECT_FALSE(is_unavailable(std::make_exception_ptr(42)));
  EXPECT_FALSE(is_unavailable(std::exception_ptr()));
}

}  // namespace
}  // namespace observernet
