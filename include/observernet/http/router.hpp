#pragma once
// Method + path-template routing (`/api/v1/elections/{id}`), with 404, 405 and
// HEAD-for-GET decided here and nowhere else.
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "observernet/http/message.hpp"

namespace observernet::http {

using Handler = std::function<boost::asio::awaitable<Response>(Request&)>;

struct RouteOptions {
  // Overrides http.body_limit_bytes for this route (voter import takes 32 MiB).
  std::optional<std::size_t> body_limit{};
  // Whether the access log may write the client's address (docs/privacy.md). Off by
  // default: a voter's browser asks for the booth, its assets, the election, its token
  // key and later the board within moments of a ballot whose acceptance time is public,
  // so any such line with an address could tie the voter to it. Only the operations
  // routes, which no voter's browser calls, turn it on.
  bool log_client_address = false;
  // Checked on the request's header, before its body is read (and before a 100 Continue):
  // throws an Error to refuse it. The admin routes check their key here, so that an
  // unauthenticated 32 MiB import is refused as soon as its header arrives.
  std::function<void(const Request&)> guard{};
  // When the admission check itself fails (throws): refuse the request with 503 and
  // Retry-After instead of letting it through, which a broken check otherwise does so
  // that the limiter is never why a request fails. For the token route, whose limits
  // hold a credential's brute force. (Redis being away is no failure: the limiter keeps
  // its limits in-process.)
  bool admission_fails_closed = false;
};

struct Route {
  Method method;
  std::string path_template;  // also the `route` label of metrics and access logs
  Handler handler;
  RouteOptions options;
  std::vector<std::string> segments;  // "{name}" marks a parameter
};

struct RouteMatch {
  enum class Kind { found, not_found, method_not_allowed } kind = Kind::not_found;
  const Route* route = nullptr;
  std::vector<std::pair<std::string_view, std::string>> params;
  std::string allow;  // for 405: the methods the path does accept
  // For 405 (and so for OPTIONS): the template of a route the path matches.
  std::string_view path_template;
};

class Router {
 public:
  // Throws std::invalid_argument for a malformed template or a duplicate route.
  void add(Method method, std::string path_template, Handler handler, RouteOptions options = {});
  RouteMatch match(Method method, std::string_view path) const;
  // Drops every route `keep` refuses (before serving: matches point into the routes).
  void retain(const std::function<bool(const Route&)>& keep);
  const std::vector<std::unique_ptr<Route>>& routes() const { return routes_; }

  // A GET or HEAD whose path no route matches, and that `applies` to, goes to `handler`
  // (the web site's 404 page) under the route label "unmatched"; any other unmatched
  // request stays a 404 problem.
  void set_fallback(Handler handler, std::function<bool(std::string_view path)> applies);

 private:
  void match_fallback(Method method, std::string_view path, RouteMatch& result) const;

  std::vector<std::unique_ptr<Route>> routes_;  // stable addresses: matches point into them
  std::unique_ptr<Route> fallback_;
  std::function<bool(std::string_view)> fallback_applies_;
};

}  // namespace observernet::http
