#pragma once
// RFC 9457 problem details: the one place where typed errors become statuses.
#include <exception>
#include <string>

#include "observernet/error.hpp"
#include "observernet/http/message.hpp"

namespace observernet::http {

struct ProblemInfo {
  unsigned status;
  std::string_view title;
};

ProblemInfo problem_info(ErrorCode code);

// `application/problem+json` with type, title, status, detail, code and, for
// validation errors, errors[]; `Retry-After` when the error carries one.
Response problem_response(const Error& error);

// Any exception escaping a handler. Unknown exceptions become a 500 whose client
// detail says nothing of the cause; `log_message` receives what to log (empty when
// the error is the client's and not worth a log line).
Response problem_response(std::exception_ptr error, std::string& log_message);

}  // namespace observernet::http
