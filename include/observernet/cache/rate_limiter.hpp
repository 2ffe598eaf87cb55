#pragma once
// The application layer of rate limiting (docs/architecture.md, Rate limiting): a sliding-window
// counter per route group and client in Redis, one script call per request (or per batch of one
// client's concurrent requests, or ahead of a busy client's next ones) over the I/O
// thread's own pipelined connection, plus a global limit per client checked in the same
// call. When Redis does not answer within ratelimit.redis_timeout_ms, the same limits
// are kept in-process (per pod) until it does again. Limits shrink by a factor while the
// process is overloaded (CPU or ballot queue) and recover when it is not.
#include <array>
#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/address.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "observernet/cache/client_address.hpp"
#include "observernet/cache/rate_limit_options.hpp"
#include "observernet/cache/redis_endpoint.hpp"
#include "observernet/cache/sliding_window.hpp"

namespace prometheus {
class Registry;
class Counter;
class Gauge;
class Histogram;
}  // namespace prometheus

namespace observernet::cache {

struct RedisClusterMetrics;
class LocalRateLimiter;

// The route groups (docs/api/README.md, Conventions), each with its own limit per client
// address, and the global one; then the limits on what a voting request names.
enum class RateGroup {
  submit,
  token,
  elections,
  public_reads,
  other,
  token_per_voter,
  submit_per_token
};
std::string_view to_string(RateGroup group);

// What to do with one request.
struct RateVerdict {
  bool limited = false;  // the route group is rate limited at all (else no headers)
  bool allowed = true;
  std::string policy_field;  // RateLimit-Policy
  std::string limit_field;   // RateLimit
  std::chrono::seconds retry_after{0};
};

class RateLimiter {
 public:
  // One pipelined Redis connection per I/O executor (its database: options.redis_db);
  // check() must run on one of them. Clients appear in Redis keys only as pseudonyms
  // under a random key that rotates (options.pseudonym_rotation), so Redis never holds
  // voters' addresses. `queue_depth` reads the ballot queue for the adaptive factor.
  RateLimiter(RateLimiterOptions options, RedisEndpoint endpoint,
              std::vector<boost::asio::any_io_executor> executors,
              std::function<std::size_t()> queue_depth, prometheus::Registry& registry);
  ~RateLimiter();
  RateLimiter(const RateLimiter&) = delete;
  RateLimiter& operator=(const RateLimiter&) = delete;

  const RateLimiterOptions& options() const { return options_; }

  // The group of a route, by its method and path template (the operations routes are
  // never checked: api::is_ops_route).
  static RateGroup group_of(std::string_view method, std::string_view route);

  // One request of `client` (client_address's answer) to `group`: the group's limit and
  // the global one in one Redis round trip, or in-process when Redis does not answer.
  // Requests of one client and group that arrive on this thread while its check is on
  // its way wait for it, and are then checked together in one call (the script admits
  // the first k of n), so one busy client costs Redis a call per round trip, not one
  // per request; the decisions are those of checking them one after the other. A
  // client that keeps its calls busy has its next requests counted ahead (a lease of
  // options().lease_max at most), and those are decided here without waiting.
  boost::asio::awaitable<RateVerdict> check(RateGroup group, IpAddress client);
  // One request naming `subject` (bytes: distinct subjects must differ) to a group with
  // no global limit: token_per_voter as check() decides (Redis, under a pseudonym), and
  // submit_per_token in this process only, without waiting.
  boost::asio::awaitable<RateVerdict> check_subject(RateGroup group, std::string subject);

  // Samples CPU and the ballot queue, moving the adaptive factor, and has I/O threads
  // whose limits are in-process ask Redis again; call every options().adaptive_interval
  // from one thread.
  void adapt();
  // The current factor, in percent.
  unsigned factor_percent() const { return factor_percent_.load(std::memory_order_relaxed); }

 private:
  struct Metrics;
  struct Lane;
  struct Account;
  // A limit as applied now: its name in the header fields and the rule, scaled.
  struct Limit {
    std::string_view name;
    RateRule rule;
  };
  struct Limits {
    std::array<Limit, 2> limit{};
    std::size_t count = 0;
  };
  // What one request of a batch was told.
  struct Decided {
    Limits limits;
    std::array<RateLimitDecision, 2> decisions{};
  };
  // What Redis answered a call about n requests of one client to one group: each
  // limit's counts before them, and how many of the n (the first ones) it admitted and
  // counted. Request j of them is decided by decide(answer, j, now).
  struct Answer {
    Limits limits;
    std::array<WindowCounts, 2> counts{};
    std::int64_t admitted = 0;
    std::chrono::milliseconds now{0};
  };
  static Decided decide(const Answer& answer, std::int64_t j, std::chrono::milliseconds now);
  Limits limits_for(RateGroup group) const;
  const RateRule& rule(RateGroup group) const;
  Lane* lane(const boost::asio::any_io_executor& executor);
  Account& account(Lane& lane, RateGroup group, const std::string& subject);
  // check()'s work, for a client address (as text) or a subject.
  boost::asio::awaitable<RateVerdict> check_key(RateGroup group, std::string subject);
  RateVerdict verdict_of(RateGroup group, const Decided& decided,
                         std::chrono::steady_clock::time_point started);
  // Decides out.size() requests of one client to one group, one after the other, and
  // asks Redis to count `lease` more ahead of them: in one script call when Redis
  // answers (the answer), else in-process (an answer that admitted none).
  boost::asio::awaitable<Answer> decide_batch(Lane* lane, RateGroup group, std::string client_id,
                                              std::int64_t lease, std::span<Decided> out);
  // One call of `account`'s for out.size() requests waiting on it, plus its lease.
  boost::asio::awaitable<void> call(Lane* lane, Account* account, RateGroup group,
                                    std::span<Decided> out);
  // Calls for those who wait on `account`, and refills its lease, until neither is due.
  boost::asio::awaitable<void> drain(Lane* lane, Account* account, RateGroup group);
  std::int64_t lease_size(const Account& account, const Limits& limits,
                          std::chrono::milliseconds now) const;
  bool refill_due(const Account& account, std::chrono::steady_clock::time_point now) const;
  void set_fallback(Lane& lane, bool on);
  // The lane's pseudonym key for the current period, from Redis (stored there by the
  // first pod to ask); kept as it was when Redis does not answer.
  boost::asio::awaitable<void> refresh_pseudonym_key(Lane& lane);
  std::int64_t pseudonym_period() const;
  std::string client_id(const Lane* lane, std::string_view subject) const;
  boost::asio::awaitable<void> probe(Lane* lane);

  RateLimiterOptions options_;
  // For clients decided off the lanes, and on a lane with no key from Redis yet: random,
  // this process's own.
  std::string local_key_;
  // The newest key any lane read from Redis, for lanes whose own read failed: a process
  // counts each client under one pseudonym.
  std::mutex pseudonym_mutex_;
  std::string process_key_;
  std::int64_t process_period_ = -1;
  std::function<std::size_t()> queue_depth_;
  std::unique_ptr<Metrics> metrics_;
  std::unique_ptr<RedisClusterMetrics> cluster_metrics_;  // with a Redis Cluster only
  std::unique_ptr<LocalRateLimiter> local_;
  std::unique_ptr<LocalRateLimiter> per_token_;  // submit_per_token's windows
  const std::string script_sha_;
  std::vector<std::unique_ptr<Lane>> lanes_;  // one per I/O executor
  std::atomic<unsigned> factor_percent_{100};
  std::mutex fallback_mutex_;  // taken only when an I/O thread switches
  unsigned lanes_in_fallback_ = 0;
  std::chrono::steady_clock::time_point last_sample_;
  double last_cpu_seconds_ = 0;
  unsigned cpus_ = 1;  // util::available_cpus(): the pod's CPU limit, not the node's cores
};

}  // namespace observernet::cache
