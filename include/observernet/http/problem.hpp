#pragma once
// RFC 9457 problem details: the one place where errors become statuses. Application
// errors (observernet/error.hpp) and the transport's own refusals share one table.
#include <cstddef>
#include <exception>
#include <stdexcept>
#include <string>
#include <string_view>

#include "observernet/error.hpp"
#include "observernet/http/message.hpp"

namespace observernet::http {

// What HTTP itself refuses, before or beside any application rule.
enum class TransportCode {
  method_not_allowed,
  payload_too_large,
  unsupported_media_type,
  header_too_large,
  origin_not_allowed,
  too_many_connections,
};
inline constexpr std::size_t kTransportCodeCount =
    static_cast<std::size_t>(TransportCode::too_many_connections) + 1;

// The stable `code` string documented in docs/api/errors.md.
std::string_view to_string(TransportCode code);

// Thrown by request parsing in handlers (a body of the wrong media type).
class TransportError : public std::runtime_error {
 public:
  TransportError(TransportCode code, std::string detail)
      : std::runtime_error(detail), code_(code), detail_(std::move(detail)) {}
  TransportCode code() const noexcept { return code_; }
  const std::string& detail() const noexcept { return detail_; }

 private:
  TransportCode code_;
  std::string detail_;
};

struct ProblemInfo {
  std::string_view code;
  unsigned status;
  std::string_view title;
};

ProblemInfo problem_info(ErrorCode code);
ProblemInfo problem_info(TransportCode code);

// `application/problem+json` with type, title, status, detail, code and, for
// validation errors, errors[]; the header fields the error carries (Retry-After).
Response problem_response(const Error& error);
Response problem_response(TransportCode code, std::string_view detail);

// Any exception escaping a handler. Unknown exceptions become a 500 whose client
// detail says nothing of the cause; `log_message` receives what to log (empty when
// the error is the client's and not worth a log line).
Response problem_response(std::exception_ptr error, std::string& log_message);

}  // namespace observernet::http
