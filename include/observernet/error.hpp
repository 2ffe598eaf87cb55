#pragma once
// Typed errors that any layer may throw. The HTTP layer maps them to RFC 9457
// problem details in one place (http/problem.cpp); nothing else picks statuses.
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace observernet {

enum class ErrorCode {
  bad_request,
  validation_failed,
  unauthorized,
  forbidden,
  origin_not_allowed,
  not_found,
  method_not_allowed,
  precondition_failed,
  election_not_draft,
  election_not_open,
  election_closed,
  no_voters,
  invalid_credentials,
  token_already_issued,
  invalid_token,
  invalid_ballot,
  token_already_used,
  results_not_available,
  payload_too_large,
  unsupported_media_type,
  header_too_large,
  too_many_requests,
  internal_error,
  service_unavailable,
  too_many_connections,
};

// The stable `code` string documented in docs/api/errors.md.
std::string_view to_string(ErrorCode code);

struct FieldError {
  std::string field;
  std::string message;
};

class Error : public std::runtime_error {
 public:
  // `detail` is shown to the client; `log_detail` (when given) only goes to the log.
  Error(ErrorCode code, std::string detail, std::vector<FieldError> errors = {},
        std::string log_detail = {});

  ErrorCode code() const noexcept { return code_; }
  const std::string& detail() const noexcept { return detail_; }
  const std::vector<FieldError>& field_errors() const noexcept { return errors_; }
  const std::string& log_detail() const noexcept { return log_detail_; }
  // Response header fields the error calls for (Retry-After, WWW-Authenticate).
  const std::vector<std::pair<std::string, std::string>>& headers() const noexcept {
    return headers_;
  }
  Error& with_header(std::string name, std::string value) {
    headers_.emplace_back(std::move(name), std::move(value));
    return *this;
  }
  Error& with_retry_after(int seconds) {
    return with_header("Retry-After", std::to_string(seconds));
  }

 private:
  ErrorCode code_;
  std::string detail_;
  std::vector<FieldError> errors_;
  std::string log_detail_;
  std::vector<std::pair<std::string, std::string>> headers_;
};

}  // namespace observernet
