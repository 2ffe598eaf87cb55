#pragma once
// The in-process sliding-window limiter: what a pod enforces on its own while Redis
// is unreachable. The same arithmetic as the Redis script (sliding_window.hpp), so
// a client sees the same limits either way, but per pod: with N pods a client
// spread over them may get up to N times its quota while Redis is down.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <list>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>

#include "observernet/cache/sliding_window.hpp"

namespace observernet::cache {

class LocalRateLimiter {
 public:
  // At most `max_keys` keys (≥ 1) are remembered, each about 170 bytes plus its key
  // text beyond 15 bytes.
  explicit LocalRateLimiter(std::size_t max_keys);

  // The decisions for one request under several limits at once (a route group's and
  // the global one), as kSlidingWindowScript makes them in Redis: the request is
  // admitted only if every limit admits it, and then counted under every key.
  // `decisions` receives one decision per limit (see combine_decisions). `now`: ms
  // since the Unix epoch, as for Redis, so that windows line up when Redis comes
  // back. Thread-safe. A key is meant to keep one window length; if it changes, the
  // key starts afresh. A `now` earlier than the key's current window (a clock stepped
  // back) is taken as that window's start, the strictest moment in it.
  //
  // Memory: keys are kept in least-recently-checked order. Each call drops up to
  // two stale keys (both windows over, so they would count nothing) from the old
  // end, so the table shrinks when traffic does. When a new key arrives and the
  // table holds max_keys, the least recently checked key is dropped even if it is
  // not stale: that client's counts are forgotten and it may be admitted up to one
  // more quota. Such drops are counted (live_evictions, which the RateLimiter exports
  // as rate_limit_fallback_evictions_total); a table that keeps hitting its cap needs a
  // larger max_keys.
  bool check(std::span<const RateLimitKey> limits, std::chrono::milliseconds now,
             std::span<RateLimitDecision> decisions);
  // One limit alone.
  RateLimitDecision check(std::string_view key, std::int64_t limit,
                          std::chrono::milliseconds window, std::chrono::milliseconds now);

  std::size_t size() const;
  std::uint64_t live_evictions() const;
  std::size_t max_keys() const { return max_keys_; }

 private:
  struct Entry {
    std::string key;
    std::int64_t window_ms = 0;
    std::int64_t window_index = 0;  // of `current`
    WindowCounts counts;
  };
  using Order = std::list<Entry>;  // most recently checked first

  bool stale(const Entry& e, std::chrono::milliseconds now) const;
  Entry& entry(const RateLimitKey& limit, std::chrono::milliseconds now);
  void drop_stale_tail(std::chrono::milliseconds now, int at_most);

  const std::size_t max_keys_;
  mutable std::mutex mutex_;
  Order order_;
  // Views into the keys held by order_'s nodes, which never move.
  std::unordered_map<std::string_view, Order::iterator> index_;
  std::uint64_t live_evictions_ = 0;
};

}  // namespace observernet::cache
