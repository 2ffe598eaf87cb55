#include "observernet/api/rate_limit.hpp"

#include <vector>

#include "observernet/api/ops_routes.hpp"
#include "observernet/api/support.hpp"
#include "observernet/api/web_routes.hpp"
#include "observernet/cache/rate_limiter.hpp"
#include "observernet/http/problem.hpp"

namespace observernet::api {
namespace asio = boost::asio;

namespace {

asio::awaitable<http::Admission> admit(cache::RateLimiter& limiter, const AdminAuth& admin,
                                       const http::Request& request, std::string_view route,
                                       const asio::ip::address& peer) {
  http::Admission admission;
  // Never limited: probes, and static bytes from memory, cheaper to send than to count.
  if (is_ops_route(route) || is_web_route(route)) co_return admission;
  const auto group = cache::RateLimiter::group_of(http::to_string(request.method), route);
  const auto& options = limiter.options();
  if (options.exempt_admin && admin.valid(request)) co_return admission;

  // The forwarding header's field lines are read only from a trusted proxy.
  std::vector<std::string_view> forwarded;
  if (!options.trusted_proxies.empty() && options.trusted_proxies.contains(peer)) {
    const std::string_view name = options.forwarding_header == cache::ForwardingHeader::forwarded
                                      ? "Forwarded"
                                      : "X-Forwarded-For";
    for (const auto& [field, value] : request.headers) {
      if (http::iequals(field, name)) forwarded.push_back(value);
    }
  }
  const cache::IpAddress client =
      cache::client_address(peer, options.trusted_proxies, options.forwarding_header, forwarded);

  cache::RateVerdict verdict = co_await limiter.check(group, client);
  if (!verdict.limited) co_return admission;
  admission.headers.emplace_back("RateLimit-Policy", std::move(verdict.policy_field));
  admission.headers.emplace_back("RateLimit", std::move(verdict.limit_field));
  if (!verdict.allowed) {
    admission.refusal = http::problem_response(
        Error(ErrorCode::too_many_requests,
              "Too many requests from this client; try again after the Retry-After delay.")
            .with_retry_after(static_cast<int>(verdict.retry_after.count())));
  }
  co_return admission;
}

}  // namespace

http::AdmissionCheck rate_limit_admission(cache::RateLimiter& limiter, const AdminAuth& admin) {
  return [&limiter, &admin](const http::Request& request, std::string_view route,
                            const asio::ip::address& peer) {
    return admit(limiter, admin, request, route, peer);
  };
}

}  // namespace observernet::api
