#include "observernet/cache/rate_limiter.hpp"

#include <hiredis/hiredis.h>
#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <sys/resource.h>

#include <algorithm>
#include <boost/asio/this_coro.hpp>
#include <thread>

#include "observernet/cache/local_rate_limiter.hpp"
#include "observernet/cache/rate_limit_headers.hpp"
#include "observernet/cache/redis_pipeline.hpp"
#include "observernet/crypto/hash.hpp"
#include "observernet/util/log.hpp"

namespace observernet::cache {

namespace asio = boost::asio;
using std::chrono::milliseconds;

namespace {

milliseconds now_since_epoch() {
  return std::chrono::duration_cast<milliseconds>(
      std::chrono::system_clock::now().time_since_epoch());
}

std::uint64_t process_cpu_ns() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  auto ns = [](const timeval& t) {
    return static_cast<std::uint64_t>(t.tv_sec) * 1'000'000'000u +
           static_cast<std::uint64_t>(t.tv_usec) * 1'000u;
  };
  return ns(usage.ru_utime) + ns(usage.ru_stime);
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
      last_cpu_ns_(process_cpu_ns()) {
  for (RateRule* r : {&options_.submit, &options_.token, &options_.elections,
                      &options_.public_reads, &options_.global}) {
    if (r->limit > 0) validate_rate_limit(r->limit, r->window);
  }
  endpoint.db = options_.redis_db;
  if (options_.enabled) {
    for (auto& executor : executors) {
      pipelines_.push_back(std::make_unique<RedisPipeline>(
          executor, endpoint,
          RedisPipelineOptions{.connect_timeout = milliseconds(200),
                               .command_timeout = options_.redis_timeout,
                               .retry_backoff = milliseconds(1'000),
                               .max_in_flight = 10'000}));
      executors_.push_back(executor);
    }
  }
}

RateLimiter::~RateLimiter() = default;

std::optional<RateGroup> RateLimiter::group_of(std::string_view method, std::string_view route) {
  if (route == "/livez" || route == "/healthz" || route == "/readyz" || route == "/metrics") {
    return std::nullopt;
  }
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

RedisPipeline* RateLimiter::pipeline(const asio::any_io_executor& executor) {
  for (std::size_t i = 0; i < executors_.size(); ++i) {
    if (executors_[i] == executor) return pipelines_[i].get();
  }
  return nullptr;
}

asio::awaitable<RateVerdict> RateLimiter::check(RateGroup group, IpAddress client) {
  RateVerdict verdict;
  if (!options_.enabled) co_return verdict;
  const auto started = std::chrono::steady_clock::now();
  const unsigned factor = factor_percent();
  auto scaled = [factor](const RateRule& r) {
    RateRule s = r;
    if (s.limit > 0) s.limit = std::max<std::int64_t>(1, s.limit * factor / 100);
    return s;
  };
  // The group's own limit (none for `other`) and the global one, in that order.
  struct Limit {
    std::string_view name;
    RateRule rule;
  };
  std::array<Limit, 2> limits{};
  std::size_t n = 0;
  if (group != RateGroup::other && rule(group).limit > 0) {
    limits[n++] = {to_string(group), scaled(rule(group))};
  }
  if (options_.global.limit > 0) limits[n++] = {"global", scaled(options_.global)};
  if (n == 0) co_return verdict;
  verdict.limited = true;

  // The client in keys: a keyed hash, so that Redis never holds voters' addresses.
  const std::string client_text = client.to_string();
  const std::string client_id =
      crypto::to_hex(crypto::hmac_sha256(crypto::as_bytes(key_secret_), client_text)).substr(0, 32);
  const milliseconds now = now_since_epoch();
  std::array<SlidingWindowKeys, 2> keys;
  for (std::size_t i = 0; i < n; ++i) {
    // One hash tag per client: a script's keys must share a Redis Cluster slot.
    keys[i] =
        sliding_window_keys("observernet:rl:{" + client_id + "}:" + std::string(limits[i].name),
                            limits[i].rule.window, now);
  }

  std::array<RateLimitDecision, 2> decisions{};
  bool from_redis = false;
  const auto executor = co_await asio::this_coro::executor;
  if (RedisPipeline* redis = pipeline(executor)) {
    std::array<std::string, 5> numbers{std::to_string(now.count())};
    for (std::size_t i = 0; i < n; ++i) {
      numbers[1 + 2 * i] = std::to_string(limits[i].rule.limit);
      numbers[2 + 2 * i] = std::to_string(limits[i].rule.window.count());
    }
    const std::string key_count = std::to_string(2 * n);
    std::array<std::string_view, 3 + 4 + 5> args{"EVALSHA", script_sha_, key_count};
    std::size_t argc = 3;
    for (std::size_t i = 0; i < n; ++i) {
      args[argc++] = keys[i].current;
      args[argc++] = keys[i].previous;
    }
    for (std::size_t i = 0; i < 1 + 2 * n; ++i) args[argc++] = numbers[i];
    const std::span<const std::string_view> command(args.data(), argc);
    Reply reply = co_await redis->call(command);
    if (reply && reply->type == REDIS_REPLY_ERROR &&
        std::string_view(reply->str, reply->len).starts_with("NOSCRIPT")) {
      // First use on this Redis (or after a restart): EVAL loads the script too.
      args[0] = "EVAL";
      args[1] = kSlidingWindowScript;
      reply = co_await redis->call(command);
    }
    const auto integers = [&reply] {
      for (std::size_t i = 0; i < reply->elements; ++i) {
        if (reply->element[i]->type != REDIS_REPLY_INTEGER) return false;
      }
      return true;
    };
    if (reply && reply->type == REDIS_REPLY_ARRAY && reply->elements == 1 + 2 * n && integers()) {
      from_redis = true;
      for (std::size_t i = 0; i < n; ++i) {
        const WindowCounts counts{reply->element[1 + 2 * i]->integer,
                                  reply->element[2 + 2 * i]->integer};
        decisions[i] =
            decide_sliding_window(limits[i].rule.limit, limits[i].rule.window, now, counts);
      }
      combine_decisions(std::span(decisions.data(), n));
    }
  }
  set_fallback(!from_redis);
  if (!from_redis) {
    std::array<RateLimitKey, 2> local{};
    for (std::size_t i = 0; i < n; ++i) {
      local[i] = {keys[i].current, limits[i].rule.limit, limits[i].rule.window};
    }
    local_->check(std::span(local.data(), n), now, std::span(decisions.data(), n));
  }

  std::chrono::seconds retry_after{0};
  for (std::size_t i = 0; i < n; ++i) {
    const RateLimitDecision& d = decisions[i];
    if (!d.allowed) {
      verdict.allowed = false;
      retry_after = std::max(retry_after, d.retry_after);
    }
    if (i > 0) {
      verdict.policy_field += ", ";
      verdict.limit_field += ", ";
    }
    verdict.policy_field += rate_limit_policy_field(
        limits[i].name, limits[i].rule.limit,
        std::chrono::duration_cast<std::chrono::seconds>(limits[i].rule.window));
    verdict.limit_field += rate_limit_field(limits[i].name, d.remaining, d.reset);
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
  const std::uint64_t cpu = process_cpu_ns();
  const double wall_ns = std::chrono::duration<double, std::nano>(now - last_sample_).count() *
                         std::max(1u, std::thread::hardware_concurrency());
  const double busy = wall_ns > 0 ? static_cast<double>(cpu - last_cpu_ns_) / wall_ns : 0;
  last_sample_ = now;
  last_cpu_ns_ = cpu;
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
