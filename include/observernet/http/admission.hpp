#pragma once
// Admission control (rate limiting): a check the transport runs on every request that
// matched a route, after its header and before its body is read or its handler runs.
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/address.hpp>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "observernet/http/message.hpp"

namespace observernet::http {

struct Admission {
  // Added to the response, whichever it is (RateLimit-Policy and RateLimit): lists,
  // joined ahead of a field of the same name the handler set (add_admission_fields).
  std::vector<std::pair<std::string, std::string>> headers;
  // Set: the answer instead of the handler's (a 429); the body is never read.
  std::optional<Response> refusal;
};

// Adds `fields` to `response`, each ahead of the list the response has under its name, if
// any (RFC 9110 §5.3: one list, whether in one field line or several).
void add_admission_fields(Response& response,
                          std::vector<std::pair<std::string, std::string>> fields);

// The answer to a request whose limits could not be checked where they must be
// (RouteOptions::admission_fails_closed): 503, Retry-After 1.
Response admission_unavailable();

// `request` has its method, path, query, header fields, path parameters and request
// id, not yet its body; `route` is the matched path template; `peer` the address of
// the connection's other end.
using AdmissionCheck = std::function<boost::asio::awaitable<Admission>(
    const Request& request, std::string_view route, const boost::asio::ip::address& peer)>;

}  // namespace observernet::http
