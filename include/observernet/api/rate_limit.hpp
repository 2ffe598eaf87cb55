#pragma once
// Rate limiting at the door (docs/architecture.md, Rate limiting): every request that matched a
// route is checked by the rate limiter before its body is read, by route group and client.
#include <string>

#include "observernet/http/admission.hpp"

namespace observernet::cache {
class RateLimiter;
enum class RateGroup;
}  // namespace observernet::cache

namespace observernet::api {

class AdminAuth;

// The check for http::Server::set_admission. Health, readiness, metrics and the web
// pages and assets pass untouched; with ratelimit.exempt_admin, so does a request with a valid
// admin key. Every other request is counted against its group's limit and the global one for its
// client (the peer, or behind trusted proxies the address they recorded); its
// response carries RateLimit-Policy and RateLimit, and over a limit it is answered
// 429 with Retry-After instead of running. Both references must outlive the server.
http::AdmissionCheck rate_limit_admission(cache::RateLimiter& limiter, const AdminAuth& admin);

// The limits on what a voting request names, once its body is read (docs/api/README.md,
// Conventions): `group` is token_per_voter or submit_per_token, `subject` the voter or
// the token. The RateLimit fields to add to the answer, and over the limit the 429 to
// send instead. Null `limiter`: no limit.
boost::asio::awaitable<http::Admission> limit_subject(cache::RateLimiter* limiter,
                                                      cache::RateGroup group, std::string subject);

}  // namespace observernet::api
