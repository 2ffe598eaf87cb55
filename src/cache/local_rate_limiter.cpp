#include "observernet/cache/local_rate_limiter.hpp"

#include <stdexcept>

namespace observernet::cache {

using std::chrono::milliseconds;

LocalRateLimiter::LocalRateLimiter(std::size_t max_keys) : max_keys_(max_keys) {
  if (max_keys == 0) throw std::invalid_argument("the local rate limiter needs max_keys >= 1");
  index_.reserve(max_keys);
}

bool LocalRateLimiter::stale(const Entry& e, milliseconds now) const {
  return window_index(milliseconds(e.window_ms), now) >= e.window_index + 2;
}

void LocalRateLimiter::drop_stale_tail(milliseconds now, int at_most) {
  for (; at_most > 0 && !order_.empty() && stale(order_.back(), now); --at_most) {
    index_.erase(order_.back().key);
    order_.pop_back();
  }
}

RateLimitDecision LocalRateLimiter::check(std::string_view key, std::int64_t limit,
                                          milliseconds window, milliseconds now) {
  validate_rate_limit(limit, window);
  const std::int64_t now_index = window_index(window, now);

  std::lock_guard lock(mutex_);
  drop_stale_tail(now, 2);
  Order::iterator it;
  if (auto found = index_.find(key); found != index_.end()) {
    it = found->second;
    order_.splice(order_.begin(), order_, it);  // moves the node; `it` stays valid
  } else {
    if (order_.size() >= max_keys_) {
      if (!stale(order_.back(), now)) ++live_evictions_;
      index_.erase(order_.back().key);
      order_.pop_back();
    }
    order_.push_front(Entry{std::string(key), window.count(), now_index, {}});
    it = order_.begin();
    index_.emplace(it->key, it);
  }

  Entry& entry = *it;
  if (entry.window_ms != window.count()) {
    entry.window_ms = window.count();
    entry.window_index = now_index;
    entry.counts = {};
  }
  milliseconds at = now;
  if (now_index == entry.window_index + 1) {
    entry.counts = {entry.counts.current, 0};
    entry.window_index = now_index;
  } else if (now_index > entry.window_index + 1) {
    entry.counts = {};
    entry.window_index = now_index;
  } else if (now_index < entry.window_index) {
    at = window * entry.window_index;
  }

  const RateLimitDecision decision = decide_sliding_window(limit, window, at, entry.counts);
  if (decision.allowed) ++entry.counts.current;
  return decision;
}

std::size_t LocalRateLimiter::size() const {
  std::lock_guard lock(mutex_);
  return order_.size();
}

std::uint64_t LocalRateLimiter::live_evictions() const {
  std::lock_guard lock(mutex_);
  return live_evictions_;
}

}  // namespace observernet::cache
