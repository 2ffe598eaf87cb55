#include "observernet/cache/local_rate_limiter.hpp"

#include <algorithm>
#include <stdexcept>
#include <vector>

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

// The key's entry, most recently checked now, its windows moved on to `now`'s.
LocalRateLimiter::Entry& LocalRateLimiter::entry(const RateLimitKey& limit, milliseconds now) {
  const std::int64_t now_index = window_index(limit.window, now);
  Order::iterator it;
  if (auto found = index_.find(limit.key); found != index_.end()) {
    it = found->second;
    order_.splice(order_.begin(), order_, it);  // moves the node; `it` stays valid
  } else {
    if (order_.size() >= max_keys_) {
      if (!stale(order_.back(), now)) ++live_evictions_;
      index_.erase(order_.back().key);
      order_.pop_back();
    }
    order_.push_front(Entry{std::string(limit.key), limit.window.count(), now_index, {}});
    it = order_.begin();
    index_.emplace(it->key, it);
  }

  Entry& e = *it;
  if (e.window_ms != limit.window.count()) {
    e.window_ms = limit.window.count();
    e.window_index = now_index;
    e.counts = {};
  }
  if (now_index == e.window_index + 1) {
    e.counts = {e.counts.current, 0};
    e.window_index = now_index;
  } else if (now_index > e.window_index + 1) {
    e.counts = {};
    e.window_index = now_index;
  }
  return e;
}

bool LocalRateLimiter::check(std::span<const RateLimitKey> limits, milliseconds now,
                             std::span<RateLimitDecision> decisions) {
  if (decisions.size() != limits.size()) {
    throw std::invalid_argument("one rate limit decision per limit");
  }
  // Each call's entries sit at the front of the order, so eviction cannot reach them.
  if (limits.size() > max_keys_) {
    throw std::invalid_argument("more limits in one call than the local limiter keeps keys");
  }
  for (const auto& limit : limits) validate_rate_limit(limit.limit, limit.window);
  std::lock_guard lock(mutex_);
  drop_stale_tail(now, 2);
  // At most a few limits per request: their entries, found once.
  std::vector<Entry*> entries;
  entries.reserve(limits.size());
  for (std::size_t i = 0; i < limits.size(); ++i) {
    Entry& e = entry(limits[i], now);
    entries.push_back(&e);
    // A clock stepped back is held at the start of the key's window.
    const milliseconds at = std::max(now, limits[i].window * e.window_index);
    decisions[i] = decide_sliding_window(limits[i].limit, limits[i].window, at, e.counts);
  }
  const bool admitted = combine_decisions(decisions);
  if (admitted) {
    for (Entry* e : entries) ++e->counts.current;
  }
  return admitted;
}

RateLimitDecision LocalRateLimiter::check(std::string_view key, std::int64_t limit,
                                          milliseconds window, milliseconds now) {
  const RateLimitKey one{key, limit, window};
  RateLimitDecision decision;
  check(std::span(&one, 1), now, std::span(&decision, 1));
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
