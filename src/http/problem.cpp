#include "observernet/http/problem.hpp"

#include <nlohmann/json.hpp>

namespace observernet {

std::string_view to_string(ErrorCode code) {
  switch (code) {
    case ErrorCode::bad_request:
      return "bad_request";
    case ErrorCode::validation_failed:
      return "validation_failed";
    case ErrorCode::unauthorized:
      return "unauthorized";
    case ErrorCode::forbidden:
      return "forbidden";
    case ErrorCode::origin_not_allowed:
      return "origin_not_allowed";
    case ErrorCode::not_found:
      return "not_found";
    case ErrorCode::method_not_allowed:
      return "method_not_allowed";
    case ErrorCode::precondition_failed:
      return "precondition_failed";
    case ErrorCode::election_not_draft:
      return "election_not_draft";
    case ErrorCode::election_not_open:
      return "election_not_open";
    case ErrorCode::election_closed:
      return "election_closed";
    case ErrorCode::no_voters:
      return "no_voters";
    case ErrorCode::invalid_credentials:
      return "invalid_credentials";
    case ErrorCode::token_already_issued:
      return "token_already_issued";
    case ErrorCode::invalid_token:
      return "invalid_token";
    case ErrorCode::invalid_ballot:
      return "invalid_ballot";
    case ErrorCode::token_already_used:
      return "token_already_used";
    case ErrorCode::results_not_available:
      return "results_not_available";
    case ErrorCode::payload_too_large:
      return "payload_too_large";
    case ErrorCode::unsupported_media_type:
      return "unsupported_media_type";
    case ErrorCode::header_too_large:
      return "header_too_large";
    case ErrorCode::too_many_requests:
      return "too_many_requests";
    case ErrorCode::internal_error:
      return "internal_error";
    case ErrorCode::service_unavailable:
      return "service_unavailable";
    case ErrorCode::too_many_connections:
      return "too_many_connections";
  }
  return "internal_error";
}

Error::Error(ErrorCode code, std::string detail, std::vector<FieldError> errors,
             std::string log_detail)
    : std::runtime_error(detail),
      code_(code),
      detail_(std::move(detail)),
      errors_(std::move(errors)),
      log_detail_(std::move(log_detail)) {}

}  // namespace observernet

namespace observernet::http {

ProblemInfo problem_info(ErrorCode code) {
  switch (code) {
    case ErrorCode::bad_request:
      return {400, "Bad request"};
    case ErrorCode::validation_failed:
      return {422, "Validation failed"};
    case ErrorCode::unauthorized:
      return {401, "Authentication required"};
    case ErrorCode::forbidden:
      return {403, "Forbidden"};
    case ErrorCode::origin_not_allowed:
      return {403, "Origin not allowed"};
    case ErrorCode::not_found:
      return {404, "Not found"};
    case ErrorCode::method_not_allowed:
      return {405, "Method not allowed"};
    case ErrorCode::precondition_failed:
      return {412, "Precondition failed"};
    case ErrorCode::election_not_draft:
      return {409, "Election is not a draft"};
    case ErrorCode::election_not_open:
      return {409, "Election is not open"};
    case ErrorCode::election_closed:
      return {409, "Election is closed"};
    case ErrorCode::no_voters:
      return {409, "Election has no voters"};
    case ErrorCode::invalid_credentials:
      return {401, "Invalid credentials"};
    case ErrorCode::token_already_issued:
      return {409, "Token already issued"};
    case ErrorCode::invalid_token:
      return {403, "Invalid token"};
    case ErrorCode::invalid_ballot:
      return {422, "Invalid ballot"};
    case ErrorCode::token_already_used:
      return {409, "Token already used"};
    case ErrorCode::results_not_available:
      return {409, "Results not available"};
    case ErrorCode::payload_too_large:
      return {413, "Payload too large"};
    case ErrorCode::unsupported_media_type:
      return {415, "Unsupported media type"};
    case ErrorCode::header_too_large:
      return {431, "Request header fields too large"};
    case ErrorCode::too_many_requests:
      return {429, "Too many requests"};
    case ErrorCode::internal_error:
      return {500, "Internal server error"};
    case ErrorCode::service_unavailable:
      return {503, "Service unavailable"};
    case ErrorCode::too_many_connections:
      return {503, "Too many connections"};
  }
  return {500, "Internal server error"};
}

Response problem_response(const Error& error) {
  auto info = problem_info(error.code());
  std::string_view code = to_string(error.code());
  nlohmann::json body = {
      {"type", "urn:observernet:problem:" + std::string(code)},
      {"title", info.title},
      {"status", info.status},
      {"detail", error.detail()},
      {"code", code},
  };
  if (!error.field_errors().empty()) {
    auto& errors = body["errors"] = nlohmann::json::array();
    for (const auto& fe : error.field_errors()) {
      errors.push_back({{"field", fe.field}, {"message", fe.message}});
    }
  }
  Response response = Response::text(info.status, body.dump(), "application/problem+json");
  for (const auto& [name, value] : error.headers()) response.set(name, value);
  return response;
}

Response problem_response(std::exception_ptr error, std::string& log_message) {
  try {
    std::rethrow_exception(error);
  } catch (const Error& e) {
    if (problem_info(e.code()).status >= 500) {
      log_message = e.log_detail().empty() ? e.detail() : e.log_detail();
    }
    return problem_response(e);
  } catch (const std::exception& e) {
    log_message = e.what();
  } catch (...) {
    log_message = "unknown exception";
  }
  return problem_response(
      Error(ErrorCode::internal_error, "The server failed to handle the request."));
}

}  // namespace observernet::http
