#pragma once
// Typed errors of the application: what a request asked for that the rules refuse, or
// what failed while serving it. Any layer may throw them; none of them knows HTTP. The
// HTTP layer maps each code to a status and an RFC 9457 problem in one table
// (http/problem.cpp), beside the transport's own refusals (a header too large, a body of
// the wrong type), which are http's alone (http/problem.hpp).
#include <cstddef>
#include <exception>
#include <limits>
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
  not_found,
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
  too_many_requests,
  internal_error,
  service_unavailable,
};
inline constexpr std::size_t kErrorCodeCount =
    static_cast<std::size_t>(ErrorCode::service_unavailable) + 1;

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

// A new exception object holding what `error` holds (an Error as it is, any other
// exception as a std::runtime_error with its message), for one of several requests that
// fail with one error and go on on different threads. Shared, the one object would be
// freed by whichever lets go of it last after the others read it, ordered only by a
// reference count inside libstdc++, which ThreadSanitizer does not see (a race to it).
std::exception_ptr copy_of(const std::exception_ptr& error);

// Whether the error is Error(service_unavailable): the database (most often) is away for
// now, a 503 with Retry-After, only met again if retried at once. What the server then
// does instead: serve what it holds (the caches, the board), log a warning, not split.
bool is_unavailable(const std::exception& error) noexcept;
bool is_unavailable(const std::exception_ptr& error) noexcept;

// Collects every invalid field of one request body, so that a client can fix them all
// in one round trip. `max_listed` bounds the error for bodies that can hold a million
// mistakes; the detail still counts all of them.
class FieldErrors {
 public:
  explicit FieldErrors(std::size_t max_listed = std::numeric_limits<std::size_t>::max())
      : max_listed_(max_listed) {}

  void add(std::string field, std::string message);
  bool empty() const noexcept { return total_ == 0; }
  std::size_t total() const noexcept { return total_; }
  const std::vector<FieldError>& listed() const noexcept { return listed_; }

  // Throws Error(code) listing the errors, if there are any; its detail is `detail`, or
  // else how many fields are invalid.
  void throw_if_any(ErrorCode code = ErrorCode::validation_failed, std::string detail = {});

 private:
  std::size_t max_listed_;
  std::size_t total_ = 0;
  std::vector<FieldError> listed_;
};

}  // namespace observernet
