#include "observernet/http/cors.hpp"

#include <algorithm>
#include <cctype>

#include "observernet/error.hpp"
#include "observernet/http/problem.hpp"

namespace observernet::http {
namespace {

constexpr std::string_view kExposeHeaders =
    "RateLimit, RateLimit-Policy, Retry-After, ETag, X-Request-Id";
constexpr std::string_view kAllowHeaders =
    "Content-Type, Authorization, If-None-Match, X-Request-Id";
constexpr std::string_view kMaxAge = "600";

std::string lower(std::string_view s) {
  std::string out(s);
  std::ranges::transform(out, out.begin(),
                         [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

bool valid_reg_name(std::string_view host) {
  if (host.empty() || host.front() == '.' || host.front() == '-') return false;
  return std::ranges::all_of(host, [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-';
  });
}

bool valid_ipv6_literal(std::string_view host) {
  if (host.size() < 4 || host.front() != '[' || host.back() != ']') return false;
  return std::ranges::all_of(host.substr(1, host.size() - 2), [](char c) {
    return std::isxdigit(static_cast<unsigned char>(c)) || c == ':' || c == '.';
  });
}

// "host[:port]" with the scheme's default port left out; nullopt if malformed.
std::optional<std::string> normalized_authority(std::string_view authority,
                                                std::string_view default_port) {
  std::string_view host = authority, port;
  auto colon = authority.rfind(':');
  auto bracket = authority.rfind(']');
  if (colon != std::string_view::npos && (bracket == std::string_view::npos || colon > bracket)) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
    if (port.empty() || port.size() > 5 ||
        !std::ranges::all_of(port, [](char c) { return c >= '0' && c <= '9'; }) ||
        std::stoul(std::string(port)) > 65535) {
      return std::nullopt;
    }
    while (port.size() > 1 && port.front() == '0') port.remove_prefix(1);
  }
  if (!valid_reg_name(host) && !valid_ipv6_literal(host)) return std::nullopt;
  std::string out = lower(host);
  if (!port.empty() && port != default_port) out.append(":").append(port);
  return out;
}

std::string_view default_port_of(std::string_view scheme) {
  return scheme == "https" ? "443" : "80";
}

}  // namespace

std::optional<std::string> parse_origin(std::string_view text) {
  auto sep = text.find("://");
  if (sep == std::string_view::npos) return std::nullopt;
  const std::string scheme = lower(text.substr(0, sep));
  if (scheme != "http" && scheme != "https") return std::nullopt;
  auto authority = normalized_authority(text.substr(sep + 3), default_port_of(scheme));
  if (!authority) return std::nullopt;
  return scheme + "://" + *authority;
}

std::optional<std::string> origin_of_url(std::string_view url) {
  auto sep = url.find("://");
  if (sep == std::string_view::npos) return std::nullopt;
  if (url.find_first_of("?#") != std::string_view::npos) return std::nullopt;
  auto path = url.find('/', sep + 3);
  std::string_view origin = url.substr(0, path);
  if (origin.find('@') != std::string_view::npos) return std::nullopt;
  return parse_origin(origin);
}

CorsPolicy::CorsPolicy(CorsOptions options) : options_(std::move(options)) {}

bool CorsPolicy::origin_allowed(std::string_view origin, std::string_view host) const {
  auto parsed = parse_origin(origin);
  if (!parsed) return false;
  if (std::ranges::find(options_.allowed_origins, *parsed) != options_.allowed_origins.end()) {
    return true;
  }
  // The page's own origin: what it calls is its own server, whatever the allow-list says.
  auto sep = parsed->find("://");
  auto own = normalized_authority(host, default_port_of(std::string_view(*parsed).substr(0, sep)));
  return own && *own == std::string_view(*parsed).substr(sep + 3);
}

CorsPolicy::Verdict CorsPolicy::check(std::string_view origin, std::string_view host,
                                      std::string_view route) const {
  const bool is_public = !route.empty() && options_.is_public && options_.is_public(route);
  // Even without Origin: a shared cache may hand this answer to a page of any origin.
  if (is_public && options_.public_any_origin) return Verdict::any;
  if (origin.empty()) return Verdict::none;
  if (origin_allowed(origin, host)) return Verdict::allowed;
  // Nothing runs on an unmatched path, and a public read changes nothing: no refusal.
  if (route.empty() || is_public) return Verdict::none;
  return Verdict::refused;
}

void CorsPolicy::add_fields(Response& response, Verdict verdict, std::string_view origin) const {
  if (verdict == Verdict::any) {
    response.set("Access-Control-Allow-Origin", "*");
  } else if (verdict == Verdict::allowed) {
    response.set("Access-Control-Allow-Origin", std::string(origin));
    response.set("Vary", "Origin");
  } else {
    // Another origin (or none) may be answered otherwise: a shared cache must not mix
    // them up.
    response.set("Vary", "Origin");
    return;
  }
  response.set("Access-Control-Expose-Headers", std::string(kExposeHeaders));
}

Response CorsPolicy::refusal() {
  return problem_response(
      TransportCode::origin_not_allowed,
      "This origin may not call this route (http.cors_origins lists the origins that may).");
}

Response CorsPolicy::options_response(const Request& request, std::string_view allow,
                                      std::string_view route) const {
  Response response;
  response.status = 204;
  const std::string_view origin = request.header("Origin");
  if (origin.empty()) {
    response.set("Allow", std::string(allow) + ", OPTIONS");
    return response;
  }
  const Verdict verdict = check(origin, request.header("Host"), route);
  if (request.header("Access-Control-Request-Method").empty()) {
    if (verdict == Verdict::refused) return refusal();
    response.set("Allow", std::string(allow) + ", OPTIONS");
    add_fields(response, verdict, origin);
    return response;
  }
  // A preflight: only an origin that may call the route is told it may.
  if (verdict != Verdict::any && verdict != Verdict::allowed) return refusal();
  if (verdict == Verdict::any) {
    response.set("Access-Control-Allow-Origin", "*");
  } else {
    response.set("Access-Control-Allow-Origin", std::string(origin));
    response.set("Vary", "Origin");
  }
  response.set("Access-Control-Allow-Methods", std::string(allow));
  response.set("Access-Control-Allow-Headers", std::string(kAllowHeaders));
  response.set("Access-Control-Max-Age", std::string(kMaxAge));
  return response;
}

}  // namespace observernet::http
