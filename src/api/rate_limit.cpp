#include "observernet/api/rate_limit.hpp"

#include <vector>

#include "observernet/api/ops_routes.hpp"
#include "observernet/api/support.hpp"
#include "observernet/api/web_routes.hpp"
#include "observernet/cache/rate_limiter.hpp"
#include "observernet/http/problem.hpp"
#include "observernet/util/log.hpp"

namespace observernet::api {
namespace asio = boost::asio;

namespace {

// A verdict's RateLimit fields, and over a limit the 429 saying `refusal`.
http::Admission admission_of(cache::RateVerdict verdict, std::string refusal) {
  http::Admission admission;
  if (!verdict.limited) return admission;
  admission.headers.emplace_back("RateLimit-Policy", std::move(verdict.policy_field));
  admission.headers.emplace_back("RateLimit", std::move(verdict.limit_field));
  if (!verdict.allowed) {
    admission.refusal = http::problem_response(
        Error(ErrorCode::too_many_requests, std::move(refusal))
            .with_retry_after(static_cast<int>(verdict.retry_after.count())));
  }
  return admission;
}

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

  co_return admission_of(co_await limiter.check(group, client),
                         "Too many requests from this client; try again after the Retry-After "
                         "delay.");
}

}  // namespace

asio::awaitable<http::Admission> limit_subject(cache::RateLimiter* limiter, cache::RateGroup group,
                                               std::string subject) {
  if (limiter == nullptr) co_return http::Admission{};
  const bool per_voter = group == cache::RateGroup::token_per_voter;
  cache::RateVerdict verdict;
  try {
    verdict = co_await limiter->check_subject(group, std::move(subject));
  } catch (const std::exception& error) {
    // As the admission check of the same route: closed for tokens, open for ballots
    // (http::RouteOptions::admission_fails_closed).
    log::error("rate_limit_failed", {{"limit", cache::to_string(group)}, {"error", error.what()}});
    http::Admission failed;
    if (per_voter) failed.refusal = http::admission_unavailable();
    co_return failed;
  }
  co_return admission_of(std::move(verdict),
                         per_voter ? "Too many token requests for this voter; try again after "
                                     "the Retry-After delay."
                                   : "Too many submissions of this token; try again after the "
                                     "Retry-After delay.");
}

http::AdmissionCheck rate_limit_admission(cache::RateLimiter& limiter, const AdminAuth& admin) {
  return [&limiter, &admin](const http::Request& request, std::string_view route,
                            const asio::ip::address& peer) {
    return admit(limiter, admin, request, route, peer);
  };
}

}  // namespace observernet::api
