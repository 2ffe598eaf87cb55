#include "observernet/cache/rate_limiter.hpp"

#include <hiredis/hiredis.h>
#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>

#include <algorithm>
#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <unordered_map>

#include "observernet/cache/local_rate_limiter.hpp"
#include "observernet/cache/rate_limit_headers.hpp"
#include "observernet/cache/redis_pipeline.hpp"
#include "observernet/crypto/hash.hpp"
#include "observernet/util/log.hpp"
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
std::string keyed_client(const std::string& secret, const IpAddress& client) {
  return crypto::to_hex(crypto::hmac_sha256(crypto::as_bytes(secret), client.to_string()))
      .substr(0, 32);
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
        factor(prometheus::BuildGauge()
                   .Name("rate_limit_factor")
                   .Help("The adaptive factor every limit is multiplied by (1: no load shedding)")
                   .Register(registry)
                   .Add({})) {
    for (RateGroup g : {RateGroup::submit, RateGroup::token, RateGroup::elections,
                        RateGroup::public_reads, RateGroup::other}) {
      limited_by_group[static_cast<std::size_t>(g)] =
          &limited.Add({{"route", std::string(to_string(g))}});
    }
    factor.Set(1);
  }
  prometheus::Family<prometheus::Counter>& limited;
  std::array<prometheus::Counter*, 5> limited_by_group{};
  prometheus::Histogram& seconds;
  prometheus::Gauge& fallback;
  prometheus::Gauge& factor;
};

// What the limiter keeps per I/O thread, used only on that thread: no lock.
struct RateLimiter::Lane {
  Lane(asio::any_io_executor e, const RedisEndpoint& endpoint, RedisPipelineOptions options)
      : executor(std::move(e)), redis(executor, endpoint, options) {}
  // Requests that arrived while their client's check for the same group was on its way.
  struct Batch {
    std::vector<asio::any_completion_handler<void(Decided)>> waiting;
  };
  asio::any_io_executor executor;
  RedisPipeline redis;
  // One entry per client and group with a check on its way; the batch that will go
  // next, once it is back (null while nobody waits).
  std::unordered_map<std::string, std::unique_ptr<Batch>> in_flight;
  // Recent clients' keyed hashes (an HMAC per request costs more than the lookup).
  std::unordered_map<IpAddress, std::string> client_ids;
};

RateLimiter::RateLimiter(RateLimiterOptions options, RedisEndpoint endpoint,
                         std::vector<asio::any_io_executor> executors, std::string key_secret,
                         std::function<std::size_t()> queue_depth, prometheus::Registry& registry)
    : options_(std::move(options)),
      key_secret_(std::move(key_secret)),
      queue_depth_(std::move(queue_depth)),
      metrics_(std::make_unique<Metrics>(registry)),
      local_(std::make_unique<LocalRateLimiter>(options_.fallback_max_keys)),
      script_sha_(crypto::sha1_hex(kSlidingWindowScript)),
      last_sample_(std::chrono::steady_clock::now()),
      last_cpu_seconds_(util::process_cpu_seconds()),
      cpus_(util::available_cpus()) {
  for (RateRule* r : {&options_.submit, &options_.token, &options_.elections,
                      &options_.public_reads, &options_.global}) {
    if (r->limit > 0) validate_rate_limit(r->limit, r->window);
  }
  endpoint.db = options_.redis_db;
  if (options_.enabled) {
    for (auto& executor : executors) {
      lanes_.push_back(
          std::make_unique<Lane>(executor, endpoint,
                                 RedisPipelineOptions{.connect_timeout = milliseconds(200),
                                                      .command_timeout = options_.redis_timeout,
                                                      .retry_backoff = milliseconds(1'000),
                                                      .max_in_flight = 10'000}));
    }
  }
}

RateLimiter::~RateLimiter() = default;

RateGroup RateLimiter::group_of(std::string_view method, std::string_view route) {
  if (method == "POST" && route == "/api/v1/voting/submit") return RateGroup::submit;
  if (method == "POST" && route == "/api/v1/voting/token") return RateGroup::token;
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
  // The group's own limit (none for `other`) and the global one, in that order.
  Limits out;
  if (group != RateGroup::other && rule(group).limit > 0) {
    out.limit[out.count++] = {to_string(group), scaled(rule(group))};
  }
  if (options_.global.limit > 0) out.limit[out.count++] = {"global", scaled(options_.global)};
  return out;
}

const std::string& RateLimiter::client_id(Lane& lane, const IpAddress& client) {
  if (auto it = lane.client_ids.find(client); it != lane.client_ids.end()) return it->second;
  if (lane.client_ids.size() >= 10'000) lane.client_ids.clear();
  return lane.client_ids.emplace(client, keyed_client(key_secret_, client)).first->second;
}

// Decides out.size() requests of one client to one group, one after the other: in one
// script call when Redis answers, else in-process.
asio::awaitable<void> RateLimiter::decide_batch(Lane* lane, RateGroup group, std::string client_id,
                                                std::span<Decided> out) {
  const Limits limits = limits_for(group);
  const std::size_t n = limits.count;
  const milliseconds now = now_since_epoch();
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
  for (auto& d : out) d.limits = limits;

  bool from_redis = false;
  if (lane != nullptr) {
    std::array<std::string, 6> numbers{std::to_string(now.count()), std::to_string(out.size())};
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
      // Request j saw the counts the j before it left: those admitted, k at most.
      const auto admitted =
          static_cast<std::size_t>(std::max<long long>(0, reply->element[0]->integer));
      for (std::size_t j = 0; j < out.size(); ++j) {
        for (std::size_t i = 0; i < n; ++i) {
          const WindowCounts counts{reply->element[1 + 2 * i]->integer,
                                    reply->element[2 + 2 * i]->integer +
                                        static_cast<std::int64_t>(std::min(j, admitted))};
          out[j].decisions[i] = decide_sliding_window(limits.limit[i].rule.limit,
                                                      limits.limit[i].rule.window, now, counts);
        }
        combine_decisions(std::span(out[j].decisions.data(), n));
      }
    }
  }
  set_fallback(!from_redis);
  if (!from_redis) {
    std::array<RateLimitKey, 2> local{};
    for (std::size_t i = 0; i < n; ++i) {
      // The in-process limiter moves a key's windows on itself: one key for all of them.
      local[i] = {prefixes[i], limits.limit[i].rule.limit, limits.limit[i].rule.window};
    }
    for (auto& d : out)
      local_->check(std::span(local.data(), n), now, std::span(d.decisions.data(), n));
  }
}

// Checks the batches that gathered behind a client's check, one after another, until
// nobody waits; each call leaves batch_linger after the one before at the earliest.
asio::awaitable<void> RateLimiter::drain(Lane* lane, RateGroup group, std::string client_id,
                                         std::string batch_key,
                                         std::chrono::steady_clock::time_point previous_call) {
  asio::steady_timer linger(lane->executor);
  for (;;) {
    if (const auto due = previous_call + options_.batch_linger;
        std::chrono::steady_clock::now() < due) {
      linger.expires_at(due);
      co_await linger.async_wait(asio::as_tuple(asio::use_awaitable));
    }
    previous_call = std::chrono::steady_clock::now();
    auto it = lane->in_flight.find(batch_key);
    std::unique_ptr<Lane::Batch> batch = std::move(it->second);
    if (!batch) {
      lane->in_flight.erase(it);
      co_return;
    }
    std::vector<Decided> decided(batch->waiting.size());
    const std::span<Decided> out(decided);
    co_await decide_batch(lane, group, client_id, out);
    for (std::size_t j = 0; j < decided.size(); ++j) {
      asio::post(lane->executor, [handler = std::move(batch->waiting[j]),
                                  d = decided[j]]() mutable { std::move(handler)(d); });
    }
  }
}

asio::awaitable<RateVerdict> RateLimiter::check(RateGroup group, IpAddress client) {
  RateVerdict verdict;
  if (!options_.enabled || limits_for(group).count == 0) co_return verdict;
  verdict.limited = true;
  const auto started = std::chrono::steady_clock::now();
  const auto executor = co_await asio::this_coro::executor;
  Lane* here = lane(executor);

  Decided mine;
  if (here == nullptr) {
    const std::span<Decided> out(&mine, 1);
    co_await decide_batch(nullptr, group, keyed_client(key_secret_, client), out);
  } else {
    const std::string id = client_id(*here, client);
    std::string batch_key = id;
    batch_key.append(":").append(to_string(group));
    auto it = here->in_flight.find(batch_key);
    if (it == here->in_flight.end()) {
      here->in_flight.emplace(batch_key, nullptr);
      const std::span<Decided> out(&mine, 1);
      co_await decide_batch(here, group, id, out);
      // Whoever arrived meanwhile goes next, without holding up this answer.
      auto after = here->in_flight.find(batch_key);
      if (after->second) {
        asio::co_spawn(here->executor, drain(here, group, id, std::move(batch_key), started),
                       asio::detached);
      } else {
        here->in_flight.erase(after);
      }
    } else {
      auto& batch = it->second;
      if (!batch) batch = std::make_unique<Lane::Batch>();
      auto join = [&batch](asio::any_completion_handler<void(Decided)> handler) {
        batch->waiting.push_back(std::move(handler));
      };
      mine = co_await asio::async_initiate<decltype(asio::use_awaitable), void(Decided)>(
          join, asio::use_awaitable);
    }
  }

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
  co_return verdict;
}

void RateLimiter::set_fallback(bool on) {
  if (fallback_.exchange(on, std::memory_order_relaxed) == on) return;
  metrics_->fallback.Set(on ? 1 : 0);
  if (on) {
    log::warn("rate_limit_fallback",
              {{"reason", "Redis did not answer in time; limits are kept in this process"}});
  } else {
    log::info("rate_limit_redis", {{"reason", "Redis answers again; limits are shared"}});
  }
}

void RateLimiter::adapt() {
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
