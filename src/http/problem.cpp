#include "observernet/http/problem.hpp"

#include <array>
#include <nlohmann/json.hpp>

namespace observernet::http {
namespace {

struct Row {
  unsigned status;
  std::string_view title;
};

// Every code's status and title: application codes in ErrorCode's order, then the
// transport's in TransportCode's (with their code strings, which only HTTP knows).
struct Table {
  std::array<Row, kErrorCodeCount> application;
  std::array<std::pair<std::string_view, Row>, kTransportCodeCount> transport;
};

constexpr Table kProblems{
    .application = {{
        {400, "Bad request"},              // bad_request
        {422, "Validation failed"},        // validation_failed
        {401, "Authentication required"},  // unauthorized
        {403, "Forbidden"},                // forbidden
        {404, "Not found"},                // not_found
        {412, "Precondition failed"},      // precondition_failed
        {409, "Election is not a draft"},  // election_not_draft
        {409, "Election is not open"},     // election_not_open
        {409, "Election is closed"},       // election_closed
        {409, "Election has no voters"},   // no_voters
        {401, "Invalid credentials"},      // invalid_credentials
        {409, "Token already issued"},     // token_already_issued
        {403, "Invalid token"},            // invalid_token
        {422, "Invalid ballot"},           // invalid_ballot
        {409, "Token already used"},       // token_already_used
        {409, "Results not available"},    // results_not_available
        {429, "Too many requests"},        // too_many_requests
        {500, "Internal server error"},    // internal_error
        {503, "Service unavailable"},      // service_unavailable
    }},
    .transport = {{
        {"method_not_allowed", {405, "Method not allowed"}},
        {"payload_too_large", {413, "Payload too large"}},
        {"unsupported_media_type", {415, "Unsupported media type"}},
        {"header_too_large", {431, "Request header fields too large"}},
        {"origin_not_allowed", {403, "Origin not allowed"}},
        {"too_many_connections", {503, "Too many connections"}},
    }},
};

Response problem_body(const ProblemInfo& info, std::string_view detail,
                      const std::vector<FieldError>& field_errors) {
  nlohmann::json body = {
      {"type", "urn:observernet:problem:" + std::string(info.code)},
      {"title", info.title},
      {"status", info.status},
      {"detail", detail},
      {"code", info.code},
  };
  if (!field_errors.empty()) {
    auto& errors = body["errors"] = nlohmann::json::array();
    for (const auto& fe : field_errors) {
      errors.push_back({{"field", fe.field}, {"message", fe.message}});
    }
  }
  return Response::text(info.status, body.dump(), "application/problem+json");
}

}  // namespace

std::string_view to_string(TransportCode code) {
  return problem_info(code).code;
}

ProblemInfo problem_info(ErrorCode code) {
  const auto index = static_cast<std::size_t>(code);
  if (index >= kProblems.application.size()) return problem_info(ErrorCode::internal_error);
  const Row& row = kProblems.application[index];
  return {to_string(code), row.status, row.title};
}

ProblemInfo problem_info(TransportCode code) {
  const auto& [name, row] = kProblems.transport.at(static_cast<std::size_t>(code));
  return {name, row.status, row.title};
}

Response problem_response(const Error& error) {
  Response response =
      problem_body(problem_info(error.code()), error.detail(), error.field_errors());
  for (const auto& [name, value] : error.headers()) response.set(name, value);
  return response;
}

Response problem_response(TransportCode code, std::string_view detail) {
  return problem_body(problem_info(code), detail, {});
}

Response problem_response(std::exception_ptr error, std::string& log_message) {
  try {
    std::rethrow_exception(error);
  } catch (const Error& e) {
    if (problem_info(e.code()).status >= 500) {
      log_message = e.log_detail().empty() ? e.detail() : e.log_detail();
    }
    return problem_response(e);
  } catch (const TransportError& e) {
    return problem_response(e.code(), e.detail());
  } catch (const std::exception& e) {
    log_message = e.what();
  } catch (...) {
    log_message = "unknown exception";
  }
  return problem_response(
      Error(ErrorCode::internal_error, "The server failed to handle the request."));
}

}  // namespace observernet::http
