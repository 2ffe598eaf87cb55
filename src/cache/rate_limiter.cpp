#include "observernet/cache/rate_limiter.hpp"

#include <hiredis/hiredis.h>
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <algorithm>
#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <deque>
#include <unordered_map>

#include "observernet/cache/local_rate_limiter.hpp"
#include "observernet/cache/rate_limit_headers.hpp"
#include "observernet/cache/redis_client.hpp"
#include "observernet/crypto/hash.hpp"
#include "observernet/util/log.hpp"
#include "observernet/util/post_result.hpp"
#include "observernet/util/process_metrics.hpp"

namespace observernet::cache {

namespace asio = boost::asio;
using std::chrono::milliseconds;

namespace {

milliseconds now_since_epoch() {
  return std::chrono::duration_cast<milliseconds>(
      std::chrono::system_clock::now().time_since_epoch());
}

// A client as it appears in keys: a keyed hash, so that Redis never holds voters'
// addresses.
std::string keyed_client(const std::string& secret, std::string_view subject) {
  return crypto::to_hex(crypto::hmac_sha256(crypto::as_bytes(secret), subject)).substr(0, 32);
}

constexpr std::array kGroups{RateGroup::submit,          RateGroup::token,
                             RateGroup::elections,       RateGroup::public_reads,
                             RateGroup::other,           RateGroup::token_per_voter,
                             RateGroup::submit_per_token};

// 256 bits from the CSPRNG, as hex.
std::string random_key() {
  std::array<unsigned char, 32> bytes;
  crypto::random_bytes(bytes);
  return crypto::to_hex(bytes);
}

}  // namespace

std::string_view to_string(RateGroup group) {
  switch (group) {
    case RateGroup::submit:
      return "submit";
    case RateGroup::token:
      return "token";
    case RateGroup::elections:
      return "elections";
    case RateGroup::public_reads:
      return "public";
    case RateGroup::other:
      return "other";
    case RateGroup::token_per_voter:
      return "token-per-voter";
    case RateGroup::submit_per_token:
      return "submit-per-token";
  }
  return "other";
}

struct RateLimiter::Metrics {
  explicit Metrics(prometheus::Registry& registry)
      : limited(prometheus::BuildCounter()
                    .Name("rate_limited_total")
                    .Help("Requests refused with 429 by the rate limiter, by route group")
                    .Register(registry)),
        seconds(prometheus::BuildHistogram()
                    .Name("rate_limit_check_seconds")
                    .Help("Time the rate limiter took to decide, Redis round trip included")
                    .Register(registry)
                    .Add({}, prometheus::Histogram::BucketBoundaries{0.0001, 0.00025, 0.0005, 0.001,
                                                                     0.0025, 0.005, 0.01, 0.025})),
        fallback(prometheus::BuildGauge()
                     .Name("rate_limit_fallback")
                     .Help("1 while limits are kept in-process because Redis does not answer")
                     .Register(registry)
                     .Add({})),
        leased(prometheus::BuildCounter()
                   .Name("rate_limit_leased_total")
                   .Help("Requests counted in Redis ahead of demand, for busy clients' next "
                         "requests to be decided without waiting (ratelimit.lease_max)")
                   .Register(registry)
                   .Add({})),
        factor(prometheus::BuildGauge()
                   .Name("rate_limit_factor")
                   .Help("The adaptive factor every limit is multiplied by (1: no load shedding)")
                   .Register(registry)
                   .Add({})),
        fallback_evictions(
            prometheus::BuildCounter()
                .Name("rate_limit_fallback_evictions_total")
                .Help("Clients whose in-process counts were forgotten before their windows "
                      "ended because the fallback table was full (ratelimit.fallback_max_keys)")
                .Register(registry)
                .Add({})),
        per_token_evictions(
            prometheus::BuildCounter()
                .Name("rate_limit_per_token_evictions_total")
                .Help("Tokens whose submit counts were forgotten before their windows ended "
                      "because the per-token table was full (ratelimit.per_token_max_keys)")
                .Register(registry)
                .Add({})) {
    for (RateGroup g : kGroups) {
      limited_by_group[static_cast<std::size_t>(g)] =
          &limited.Add({{"route", std::string(to_string(g))}});
    }
    factor.Set(1);
  }
  prometheus::Family<prometheus::Counter>& limited;
  std::array<prometheus::Counter*, kGroups.size()> limited_by_group{};
  prometheus::Histogram& seconds;
  prometheus::Gauge& fallback;
  prometheus::Counter& leased;
  prometheus::Gauge& factor;
  prometheus::Counter& fallback_evictions;
  prometheus::Counter& per_token_evictions;
  // adapt()'s, on one thread
  std::uint64_t fallback_evictions_seen = 0;
  std::uint64_t per_token_evictions_seen = 0;
};

// One client's requests to one group on one I/O thread.
struct RateLimiter::Account {
  std::string client_id;     // as in Redis keys
  std::int64_t period = -2;  // the pseudonym period client_id was made in
  // Requests waiting for the next call.
  // (A deque: asio's any_completion_handler cannot be move-assigned, which erasing
  // from a vector does.)
  std::deque<asio::any_completion_handler<void(Decided)>> waiting;
  bool calling = false;  // a call on its way, or a drain lingering before the next
  // An answer whose requests [next, answer.admitted) were counted ahead of demand (a
  // lease), handed out in order until `until`.
  struct Grant {
    Answer answer;
    std::int64_t next = 0;
    std::chrono::steady_clock::time_point until{};
    std::int64_t left(std::chrono::steady_clock::time_point now) const {
      return now < until ? std::max<std::int64_t>(0, answer.admitted - next) : 0;
    }
  };
  // A refill leaves while half the lease is left, so its answer may come before the
  // older lease is used up: the older (`current`) is handed out first, then the newer
  // (`refill`). None of a lease lapses before its time.
  Grant current;
  std::optional<Grant> refill;
  std::int64_t lease = 0;        // how many the last call counted ahead
  std::uint32_t arrivals = 0;    // requests since the last call left
  std::uint32_t busy_calls = 0;  // calls in a row during which more requests arrived
  std::chrono::steady_clock::time_point previous_call{};

  const Answer& last_answer() const { return refill ? refill->answer : current.answer; }
  std::int64_t leased(std::chrono::steady_clock::time_point now) const {
    return current.left(now) + (refill ? refill->left(now) : 0);
  }
  // The next request counted ahead; leased(now) must be above 0.
  Decided take(std::chrono::steady_clock::time_point now, milliseconds decided_at) {
    if (current.left(now) == 0 && refill) {
      current = std::move(*refill);
      refill.reset();
    }
    return decide(current.answer, current.next++, decided_at);
  }
};

// What the limiter keeps per I/O thread, used only on that thread: no lock.
struct RateLimiter::Lane {
  Lane(asio::any_io_executor e, const RedisEndpoint& endpoint, RedisPipelineOptions options,
       RedisClusterMetrics* metrics)
      : executor(std::move(e)), redis(executor, endpoint, options, metrics) {}
  struct Key {
    std::string subject;
    RateGroup group;
    bool operator==(const Key&) const = default;
  };
  struct KeyHash {
    std::size_t operator()(const Key& k) const {
      return std::hash<std::string>{}(k.subject) * 31 + static_cast<std::size_t>(k.group);
    }
  };
  asio::any_io_executor executor;
  RedisClient redis;
  bool fallback = false;  // the last call was decided in-process
  // The pseudonym key read from Redis, and the period it is for (-1: none yet).
  std::string pseudonym_key;
  std::int64_t pseudonym_period = -1;
  // When to read it again: when the period ends, at once after Redis comes back (a
  // restarted Redis has lost it, and this lane puts its own back), a second after a
  // failed read, and every 10 s in any case (another pod may have put back another).
  std::chrono::steady_clock::time_point pseudonym_check{};
  std::unordered_map<Key, Account, KeyHash> accounts;
};

RateLimiter::RateLimiter(RateLimiterOptions options, RedisEndpoint endpoint,
                         std::vector<asio::any_io_executor> executors,
                         std::function<std::size_t()> queue_depth, prometheus::Registry& registry)
    : options_(std::move(options)),
      local_key_(random_key()),
      queue_depth_(std::move(queue_depth)),
      metrics_(std::make_unique<Metrics>(registry)),
      local_(std::make_unique<LocalRateLimiter>(options_.fallback_max_keys)),
      per_token_(std::make_unique<LocalRateLimiter>(options_.per_token_max_keys)),
      script_sha_(crypto::sha1_hex(kSlidingWindowScript)),
      last_sample_(std::chrono::steady_clock::now()),
      last_cpu_seconds_(util::process_cpu_seconds()),
      cpus_(util::available_cpus()) {
  for (const RateRule* r : options_.rules()) {
    if (r->limit > 0) validate_rate_limit(r->limit, r->window);
  }
  // A cluster has one database: the limiter's keys are apart by their prefix there.
  if (!endpoint.cluster()) endpoint.db = options_.redis_db;
  if (options_.enabled && endpoint.cluster()) {
    cluster_metrics_ = std::make_unique<RedisClusterMetrics>(registry, "ratelimit");
  }
  if (options_.enabled) {
    for (auto& executor : executors) {
      lanes_.push_back(
          std::make_unique<Lane>(executor, endpoint,
                                 RedisPipelineOptions{.connect_timeout = milliseconds(200),
                                                      .command_timeout = options_.redis_timeout,
                                                      .retry_backoff = milliseconds(1'000),
                                                      .max_in_flight = 10'000},
                                 cluster_metrics_.get()));
    }
  }
}

RateLimiter::~RateLimiter() = default;

RateGroup RateLimiter::group_of(std::string_view method, std::string_view route) {
  if (method == "POST" && route == "/api/v1/voting/submit") return RateGroup::submit;
  if (method == "POST" && route == "/api/v1/voting/token") return RateGroup::token;
  // A public key every voter's browser fetches: a public read, not an election's admin.
  if (route == "/api/v1/elections/{id}/token-key") return RateGroup::public_reads;
  if (route.starts_with("/api/v1/elections")) return RateGroup::elections;
  if (route.starts_with("/api/v1/public/")) return RateGroup::public_reads;
  return RateGroup::other;
}

const RateRule& RateLimiter::rule(RateGroup group) const {
  switch (group) {
    case RateGroup::submit:
      return options_.submit;
    case RateGroup::token:
      return options_.token;
    case RateGroup::elections:
      return options_.elections;
    case RateGroup::public_reads:
      return options_.public_reads;
    case RateGroup::token_per_voter:
      return options_.token_per_voter;
    case RateGroup::submit_per_token:
      return options_.submit_per_token;
    case RateGroup::other:
      break;
  }
  return options_.global;
}

RateLimiter::Lane* RateLimiter::lane(const asio::any_io_executor& executor) {
  for (auto& l : lanes_) {
    if (l->executor == executor) return l.get();
  }
  return nullptr;
}

RateLimiter::Limits RateLimiter::limits_for(RateGroup group) const {
  const unsigned factor = factor_percent();
  auto scaled = [factor](const RateRule& r) {
    RateRule s = r;
    s.limit = std::max<std::int64_t>(1, s.limit * factor / 100);
    return s;
  };
  // The group's own limit (none for `other`) and, for a client address, the global one,
  // in that order.
  Limits out;
  if (group != RateGroup::other && rule(group).limit > 0) {
    out.limit[out.count++] = {to_string(group), scaled(rule(group))};
  }
  const bool per_address =
      group != RateGroup::token_per_voter && group != RateGroup::submit_per_token;
  if (per_address && options_.global.limit > 0) {
    out.limit[out.count++] = {"global", scaled(options_.global)};
  }
  return out;
}

RateLimiter::Account& RateLimiter::account(Lane& lane, RateGroup group,
                                           const std::string& subject) {
  Lane::Key key{subject, group};
  if (auto it = lane.accounts.find(key); it != lane.accounts.end()) return it->second;
  if (lane.accounts.size() >= 10'000) {
    // Forget the idle: nothing on its way, nothing waiting, no lease left.
    const auto now = std::chrono::steady_clock::now();
    std::erase_if(lane.accounts, [now](const auto& entry) {
      const Account& a = entry.second;
      return !a.calling && a.waiting.empty() && a.leased(now) == 0;
    });
  }
  Account& fresh = lane.accounts[std::move(key)];
  fresh.client_id = client_id(&lane, subject);
  fresh.period = lane.pseudonym_period;
  return fresh;
}

std::int64_t RateLimiter::pseudonym_period() const {
  return now_since_epoch().count() / options_.pseudonym_rotation.count();
}

// A keyed hash, so that Redis never holds voters' addresses: under the lane's key from
// Redis, or this process's own while it has none.
std::string RateLimiter::client_id(const Lane* lane, std::string_view subject) const {
  const bool shared = lane != nullptr && lane->pseudonym_period >= 0;
  return keyed_client(shared ? lane->pseudonym_key : local_key_, subject);
}

asio::awaitable<void> RateLimiter::refresh_pseudonym_key(Lane& lane) {
  const std::int64_t period = pseudonym_period();
  if (lane.pseudonym_period != period) {
    // Another lane of this process may have read it already.
    const std::lock_guard lock(pseudonym_mutex_);
    if (process_period_ == period) {
      lane.pseudonym_key = process_key_;
      lane.pseudonym_period = period;
    }
  }
  const std::string name = "observernet:rl:pseudonym-key:" + std::to_string(period);
  const std::string ttl =
      std::to_string((options_.pseudonym_rotation + 2 * options_.longest_window()).count());
  // The first pod's key stays, and every pod reads the one that stayed. A lane that has
  // this period's key offers it again: after a Redis restart the pods keep theirs.
  const std::string mine = lane.pseudonym_period == period ? lane.pseudonym_key : random_key();
  const std::array<std::string_view, 6> set{"SET", name, mine, "NX", "PX", ttl};
  const std::array<std::string_view, 2> get{"GET", name};
  co_await lane.redis.call(set);
  Reply reply = co_await lane.redis.call(get);
  const auto now = std::chrono::steady_clock::now();
  if (reply && reply->type == REDIS_REPLY_STRING && reply->len == mine.size() &&
      period >= lane.pseudonym_period) {
    lane.pseudonym_key.assign(reply->str, reply->len);
    lane.pseudonym_period = period;
    {
      const std::lock_guard lock(pseudonym_mutex_);
      if (period >= process_period_) {
        process_key_ = lane.pseudonym_key;
        process_period_ = period;
      }
    }
    const auto rotation = options_.pseudonym_rotation;
    const milliseconds to_next_period = rotation - now_since_epoch() % rotation;
    lane.pseudonym_check = now + std::min<std::chrono::steady_clock::duration>(
                                     std::chrono::seconds(10), to_next_period);
  } else {
    // Redis is away: the old key (or this process's own) serves, and decisions are
    // in-process anyway.
    lane.pseudonym_check = now + std::chrono::seconds(1);
  }
}

// Request j of those an answer was about saw the counts the j before it left: those
// admitted, answer.admitted at most.
RateLimiter::Decided RateLimiter::decide(const Answer& answer, std::int64_t j, milliseconds now) {
  Decided d;
  d.limits = answer.limits;
  const std::size_t n = answer.limits.count;
  for (std::size_t i = 0; i < n; ++i) {
    const RateRule& rule = answer.limits.limit[i].rule;
    const WindowCounts counts{answer.counts[i].previous,
                              answer.counts[i].current + std::min(j, answer.admitted)};
    d.decisions[i] = decide_sliding_window(rule.limit, rule.window, now, counts);
  }
  combine_decisions(std::span(d.decisions.data(), n));
  return d;
}

asio::awaitable<RateLimiter::Answer> RateLimiter::decide_batch(Lane* lane, RateGroup group,
                                                               std::string client_id,
                                                               std::int64_t lease,
                                                               std::span<Decided> out) {
  Answer answer;
  answer.limits = limits_for(group);
  const Limits& limits = answer.limits;
  const std::size_t n = limits.count;
  const milliseconds now = now_since_epoch();
  answer.now = now;
  // Per limit: the client's key (one hash tag per client: a script's keys must share a
  // Redis Cluster slot), and in Redis one counter per window under it.
  std::array<std::string, 2> prefixes;
  std::array<SlidingWindowKeys, 2> keys;
  for (std::size_t i = 0; i < n; ++i) {
    prefixes[i]
        .append("observernet:rl:{")
        .append(client_id)
        .append("}:")
        .append(limits.limit[i].name);
    keys[i] = sliding_window_keys(prefixes[i], limits.limit[i].rule.window, now);
  }

  bool from_redis = false;
  if (lane != nullptr) {
    const auto asked = static_cast<std::int64_t>(out.size()) + lease;
    std::array<std::string, 6> numbers{std::to_string(now.count()), std::to_string(asked)};
    for (std::size_t i = 0; i < n; ++i) {
      numbers[2 + 2 * i] = std::to_string(limits.limit[i].rule.limit);
      numbers[3 + 2 * i] = std::to_string(limits.limit[i].rule.window.count());
    }
    const std::string key_count = std::to_string(2 * n);
    std::array<std::string_view, 3 + 4 + 6> args{"EVALSHA", script_sha_, key_count};
    std::size_t argc = 3;
    for (std::size_t i = 0; i < n; ++i) {
      args[argc++] = keys[i].current;
      args[argc++] = keys[i].previous;
    }
    for (std::size_t i = 0; i < 2 + 2 * n; ++i) args[argc++] = numbers[i];
    const std::span<const std::string_view> command(args.data(), argc);
    Reply reply = co_await lane->redis.call(command);
    if (reply && reply->type == REDIS_REPLY_ERROR &&
        std::string_view(reply->str, reply->len).starts_with("NOSCRIPT")) {
      // First use on this Redis (or after a restart): EVAL loads the script too.
      args[0] = "EVAL";
      args[1] = kSlidingWindowScript;
      reply = co_await lane->redis.call(command);
    }
    const auto integers = [&reply] {
      for (std::size_t i = 0; i < reply->elements; ++i) {
        if (reply->element[i]->type != REDIS_REPLY_INTEGER) return false;
      }
      return true;
    };
    if (reply && reply->type == REDIS_REPLY_ARRAY && reply->elements == 1 + 2 * n && integers()) {
      from_redis = true;
      answer.admitted = std::max<long long>(0, reply->element[0]->integer);
      for (std::size_t i = 0; i < n; ++i) {
        answer.counts[i] = {reply->element[1 + 2 * i]->integer, reply->element[2 + 2 * i]->integer};
      }
      for (std::size_t j = 0; j < out.size(); ++j) {
        out[j] = decide(answer, static_cast<std::int64_t>(j), now);
      }
    }
    set_fallback(*lane, !from_redis);
  }
  if (!from_redis) {
    answer.admitted = 0;  // nothing counted ahead
    std::array<RateLimitKey, 2> local{};
    for (std::size_t i = 0; i < n; ++i) {
      // The in-process limiter moves a key's windows on itself: one key for all of them.
      local[i] = {prefixes[i], limits.limit[i].rule.limit, limits.limit[i].rule.window};
    }
    for (auto& d : out) {
      d.limits = limits;
      local_->check(std::span(local.data(), n), now, std::span(d.decisions.data(), n));
    }
  }
  co_return answer;
}

// How many requests a call of `account` asks Redis to count ahead: none unless the
// client kept its last two calls busy; then up to twice what arrived since the last
// call left, within lease_max, a sixteenth of each limit and a quarter of what the
// client had left at the last answer.
std::int64_t RateLimiter::lease_size(const Account& a, const Limits& limits,
                                     milliseconds now) const {
  if (options_.lease_max <= 0 || a.busy_calls < 2) return 0;
  std::int64_t size = std::min<std::int64_t>(options_.lease_max, 2 * std::int64_t{a.arrivals});
  for (std::size_t i = 0; i < limits.count; ++i) {
    size = std::min(size, limits.limit[i].rule.limit / 16);
  }
  const Answer& answer = a.last_answer();
  const Decided last = decide(answer, answer.admitted, now);
  for (std::size_t i = 0; i < answer.limits.count; ++i) {
    size = std::min(size, last.decisions[i].remaining / 4);
  }
  return std::max<std::int64_t>(0, size);
}

bool RateLimiter::refill_due(const Account& a, std::chrono::steady_clock::time_point now) const {
  return a.lease > 0 && a.busy_calls >= 2 && a.leased(now) * 2 <= a.lease;
}

asio::awaitable<void> RateLimiter::call(Lane* lane, Account* a, RateGroup group,
                                        std::span<Decided> out) {
  const milliseconds now = now_since_epoch();
  const auto steady_now = std::chrono::steady_clock::now();
  // A client back after a pause starts afresh: no lease before its calls are busy again.
  if (steady_now - a->previous_call > std::chrono::seconds(1)) a->busy_calls = 0;
  const std::int64_t lease = lease_size(*a, limits_for(group), now);
  a->arrivals = 0;
  a->previous_call = steady_now;
  Answer answer = co_await decide_batch(lane, group, a->client_id, lease, out);
  a->busy_calls = a->arrivals > 0 ? a->busy_calls + 1 : 0;
  const auto n = static_cast<std::int64_t>(out.size());
  Account::Grant grant{answer, n, {}};
  a->lease = std::max<std::int64_t>(0, answer.admitted - n);
  if (a->lease > 0) {
    // Good within the windows the counts were taken in (reckoned from before the call
    // left, so never past their end), and for a second at most.
    milliseconds life(1'000);
    for (std::size_t i = 0; i < answer.limits.count; ++i) {
      const milliseconds window = answer.limits.limit[i].rule.window;
      life = std::min(life, window - window_elapsed(window, answer.now));
    }
    grant.until = steady_now + life;
    metrics_->leased.Increment(static_cast<double>(a->lease));
  }
  const auto answered = std::chrono::steady_clock::now();
  if (a->current.left(answered) == 0 && a->refill) {
    a->current = std::move(*a->refill);
    a->refill.reset();
  }
  if (a->current.left(answered) > 0) {
    a->refill = std::move(grant);
  } else {
    a->current = std::move(grant);
  }
  // Who arrived meanwhile is served from what was counted ahead, in order.
  const auto served = static_cast<std::size_t>(
      std::min<std::int64_t>(static_cast<std::int64_t>(a->waiting.size()), a->leased(answered)));
  if (served > 0) {
    const milliseconds decided_at = now_since_epoch();
    for (std::size_t j = 0; j < served; ++j) {
      util::post_result(lane->executor, std::move(a->waiting.front()),
                        a->take(answered, decided_at));
      a->waiting.pop_front();
    }
  }
}

// Calls for the requests that gathered on an account, and refills its lease, one call
// after another until neither is due; each call leaves batch_linger after the one
// before at the earliest.
asio::awaitable<void> RateLimiter::drain(Lane* lane, Account* a, RateGroup group) {
  asio::steady_timer linger(lane->executor);
  for (;;) {
    if (const auto due = a->previous_call + options_.batch_linger;
        std::chrono::steady_clock::now() < due) {
      linger.expires_at(due);
      co_await linger.async_wait(asio::as_tuple(asio::use_awaitable));
    }
    if (a->waiting.empty() && !refill_due(*a, std::chrono::steady_clock::now())) {
      a->calling = false;
      co_return;
    }
    auto waiting = std::move(a->waiting);
    a->waiting.clear();
    std::vector<Decided> decided(waiting.size());
    const std::span<Decided> out(decided);
    co_await call(lane, a, group, out);
    for (std::size_t j = 0; j < decided.size(); ++j) {
      util::post_result(lane->executor, std::move(waiting[j]), decided[j]);
    }
  }
}

asio::awaitable<RateVerdict> RateLimiter::check(RateGroup group, IpAddress client) {
  return check_key(group, client.to_string());
}

asio::awaitable<RateVerdict> RateLimiter::check_subject(RateGroup group, std::string subject) {
  if (group != RateGroup::submit_per_token) co_return co_await check_key(group, std::move(subject));
  // Kept in this process only, and decided at once: nothing to wait for.
  const auto started = std::chrono::steady_clock::now();
  Decided decided;
  decided.limits = limits_for(group);
  if (!options_.enabled || decided.limits.count == 0) co_return RateVerdict{};
  const RateRule& rule = decided.limits.limit[0].rule;
  decided.decisions[0] = per_token_->check(subject, rule.limit, rule.window, now_since_epoch());
  co_return verdict_of(group, decided, started);
}

asio::awaitable<RateVerdict> RateLimiter::check_key(RateGroup group, std::string client) {
  if (!options_.enabled || limits_for(group).count == 0) co_return RateVerdict{};
  const auto started = std::chrono::steady_clock::now();
  const auto executor = co_await asio::this_coro::executor;
  Lane* here = lane(executor);

  Decided mine;
  if (here == nullptr) {
    const std::span<Decided> out(&mine, 1);
    co_await decide_batch(nullptr, group, client_id(nullptr, client), 0, out);
  } else {
    if (started >= here->pseudonym_check) co_await refresh_pseudonym_key(*here);
    Account* a = &account(*here, group, client);
    if (a->period != here->pseudonym_period) {
      // A new period's pseudonym; what was counted ahead under the old one stands.
      a->client_id = client_id(here, client);
      a->period = here->pseudonym_period;
    }
    ++a->arrivals;
    if (a->leased(started) > 0) {
      // Counted ahead: decided here, at once.
      mine = a->take(started, now_since_epoch());
      if (!a->calling && refill_due(*a, started)) {
        a->calling = true;
        asio::co_spawn(here->executor, drain(here, a, group), asio::detached);
      }
    } else if (!a->calling) {
      a->calling = true;
      const std::span<Decided> out(&mine, 1);
      co_await call(here, a, group, out);
      // Whoever still waits goes next, without holding up this answer.
      if (!a->waiting.empty() || refill_due(*a, std::chrono::steady_clock::now())) {
        asio::co_spawn(here->executor, drain(here, a, group), asio::detached);
      } else {
        a->calling = false;
      }
    } else {
      auto join = [a](asio::any_completion_handler<void(Decided)> handler) {
        a->waiting.push_back(std::move(handler));
      };
      mine = co_await asio::async_initiate<decltype(asio::use_awaitable), void(Decided)>(
          join, asio::use_awaitable);
    }
  }

  co_return verdict_of(group, mine, started);
}

RateVerdict RateLimiter::verdict_of(RateGroup group, const Decided& mine,
                                    std::chrono::steady_clock::time_point started) {
  RateVerdict verdict;
  verdict.limited = true;
  std::chrono::seconds retry_after{0};
  for (std::size_t i = 0; i < mine.limits.count; ++i) {
    const Limit& limit = mine.limits.limit[i];
    const RateLimitDecision& d = mine.decisions[i];
    if (!d.allowed) {
      verdict.allowed = false;
      retry_after = std::max(retry_after, d.retry_after);
    }
    if (i > 0) {
      verdict.policy_field += ", ";
      verdict.limit_field += ", ";
    }
    verdict.policy_field += rate_limit_policy_field(
        limit.name, limit.rule.limit,
        std::chrono::duration_cast<std::chrono::seconds>(limit.rule.window));
    verdict.limit_field += rate_limit_field(limit.name, d.remaining, d.reset);
  }
  verdict.retry_after = retry_after;
  if (!verdict.allowed) {
    metrics_->limited_by_group[static_cast<std::size_t>(group)]->Increment();
  }
  metrics_->seconds.Observe(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  return verdict;
}

// Logged and shown when the first I/O thread falls back to in-process limits, and
// when the last one is back on Redis (each thread has a connection of its own).
void RateLimiter::set_fallback(Lane& lane, bool on) {
  if (lane.fallback == on) return;  // the common case: no lock
  lane.fallback = on;
  if (!on) lane.pseudonym_check = {};  // Redis is back, and may have lost the key
  const std::lock_guard lock(fallback_mutex_);
  lanes_in_fallback_ += on ? 1 : -1;
  if (lanes_in_fallback_ != (on ? 1u : 0u)) return;
  metrics_->fallback.Set(on ? 1 : 0);
  if (on) {
    log::warn("rate_limit_fallback",
              {{"reason", "Redis did not answer in time; limits are kept in this process"}});
  } else {
    log::info("rate_limit_redis", {{"reason", "Redis answers again; limits are shared"}});
  }
}

// A thread in fallback asks Redis again, so that it returns to shared limits (and the
// gauge to 0) without waiting for a request of its own.
asio::awaitable<void> RateLimiter::probe(Lane* lane) {
  if (!lane->fallback) co_return;
  const std::array<std::string_view, 1> ping{"PING"};
  const Reply reply = co_await lane->redis.call(ping);
  if (reply && reply->type == REDIS_REPLY_STATUS) set_fallback(*lane, false);
}

void RateLimiter::adapt() {
  const std::uint64_t evictions = local_->live_evictions();
  metrics_->fallback_evictions.Increment(
      static_cast<double>(evictions - metrics_->fallback_evictions_seen));
  metrics_->fallback_evictions_seen = evictions;
  const std::uint64_t forgotten = per_token_->live_evictions();
  metrics_->per_token_evictions.Increment(
      static_cast<double>(forgotten - metrics_->per_token_evictions_seen));
  metrics_->per_token_evictions_seen = forgotten;

  if (const std::lock_guard lock(fallback_mutex_); lanes_in_fallback_ > 0) {
    for (auto& l : lanes_) asio::co_spawn(l->executor, probe(l.get()), asio::detached);
  }

  const auto now = std::chrono::steady_clock::now();
  const double cpu = util::process_cpu_seconds();
  const double wall = std::chrono::duration<double>(now - last_sample_).count() * cpus_;
  const double busy = wall > 0 ? (cpu - last_cpu_seconds_) / wall : 0;
  last_sample_ = now;
  last_cpu_seconds_ = cpu;
  const bool overloaded = busy * 100 > options_.adaptive_cpu_percent ||
                          (queue_depth_ && queue_depth_() > options_.adaptive_queue_depth);
  const unsigned floor = std::max(1u, options_.adaptive_factor_percent);
  unsigned factor = factor_percent_.load(std::memory_order_relaxed);
  // Down at once to the floor; back up a step of the floor's size per interval.
  factor = overloaded ? floor : std::min(100u, factor + floor);
  factor_percent_.store(factor, std::memory_order_relaxed);
  metrics_->factor.Set(factor / 100.0);
}

}  // namespace observernet::cache
