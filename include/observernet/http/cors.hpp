#pragma once
// Cross-origin resource sharing (the Fetch Standard's CORS protocol) for the API: which
// origins may read its answers and send it requests. The transport applies it to every
// request under its prefix, before the admission check and the handler, and to every
// answer (errors and 429s included).
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "observernet/http/message.hpp"

namespace observernet::http {

// An origin as browsers serialize it (RFC 6454 §6.2): "scheme://host[:port]", http or
// https, lower-cased, the default port left out. nullopt for anything else (a path,
// userinfo, a query, "null").
std::optional<std::string> parse_origin(std::string_view text);

// An absolute http(s) URL with at most a path after its origin (no query, fragment or
// userinfo): its origin, or nullopt.
std::optional<std::string> origin_of_url(std::string_view url);

struct CorsOptions {
  std::string prefix = "/api/";                           // the paths it applies to
  std::vector<std::string> allowed_origins;               // as parse_origin writes them
  bool public_any_origin = true;                          // public routes answer "*"
  std::function<bool(std::string_view route)> is_public;  // by route template
};

class CorsPolicy {
 public:
  enum class Verdict {
    none,     // no Origin field, or a path outside the prefix: nothing to add
    any,      // a public route, any origin: "*"
    allowed,  // this origin, by name
    refused,  // a route the origin may not call
  };

  explicit CorsPolicy(CorsOptions options);

  bool applies(std::string_view path) const { return path.starts_with(options_.prefix); }

  // `origin` and `host`: the request's fields; `route`: the matched template, empty when
  // no route matched. The request's own origin (Origin's host[:port] is Host) is allowed.
  Verdict check(std::string_view origin, std::string_view host, std::string_view route) const;

  // Access-Control-Allow-Origin (with Vary: Origin when by name) and
  // Access-Control-Expose-Headers, for `any` and `allowed`; for the others, only
  // Vary: Origin when the request had an Origin.
  void add_fields(Response& response, Verdict verdict, std::string_view origin) const;

  // The answer to an OPTIONS request on a path whose routes accept `allow` (with
  // `route` one of their templates): 204 with Allow; for a preflight
  // (Access-Control-Request-Method) from an allowed origin, 204 with the
  // Access-Control-Allow-* fields; from another, 403 origin_not_allowed.
  Response options_response(const Request& request, std::string_view allow,
                            std::string_view route) const;

  // 403 origin_not_allowed.
  static Response refusal();

 private:
  bool origin_allowed(std::string_view origin, std::string_view host) const;

  CorsOptions options_;
};

}  // namespace observernet::http
