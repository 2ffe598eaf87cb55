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
  // Added to the response, whichever it is (RateLimit-Policy and RateLimit).
  std::vector<std::pair<std::string, std::string>> headers;
  // Set: the answer instead of the handler's (a 429); the body is never read.
  std::optional<Response> refusal;
};

// `request` has its method, path, query, header fields, path parameters and request
// id, not yet its body; `route` is the matched path template; `peer` the address of
// the connection's other end.
using AdmissionCheck = std::function<boost::asio::awaitable<Admission>(
    const Request& request, std::string_view route, const boost::asio::ip::address& peer)>;

}  // namespace observernet::http
