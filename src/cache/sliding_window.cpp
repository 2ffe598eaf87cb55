#include "observernet/cache/sliding_window.hpp"

#include <algorithm>
#include <stdexcept>

namespace observernet::cache {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

std::int64_t clamp_count(std::int64_t n) {
  return std::clamp<std::int64_t>(n, 0, kMaxRateLimit);
}

// Whether one more request fits: the script's test, term for term.
bool admits(std::int64_t limit, std::int64_t w, std::int64_t elapsed, std::int64_t previous,
            std::int64_t current) {
  return previous * (w - elapsed) + (current + 1) * w <= limit * w;
}

// Milliseconds from `elapsed` into the current window until admits() holds, if no
// request is admitted meanwhile; 0 if it holds now. The weight of `previous` falls
// by one per millisecond (in units of 1/W), so the first millisecond that fits is
// found by one exact integer division rather than by stepping.
std::int64_t ms_until_admitted(std::int64_t limit, std::int64_t w, std::int64_t elapsed,
                               std::int64_t previous, std::int64_t current) {
  if (admits(limit, w, elapsed, previous, current)) return 0;
  if (current + 1 <= limit) {
    // Refused only for the previous window's weight (so previous > 0): the first
    // e' with previous·(W − e') ≤ (L − current − 1)·W. At most W, where the
    // previous window drops out and current + 1 ≤ L fits.
    const std::int64_t fits_at = w - (limit - current - 1) * w / previous;
    return fits_at - elapsed;
  }
  // The current window is full: wait for the next, where it weighs current·(W − e'')
  // against a fresh count of 0. current ≥ L ≥ 1, and e'' ≤ W.
  const std::int64_t fits_at_next = w - (limit - 1) * w / current;
  return (w - elapsed) + fits_at_next;
}

seconds ceil_seconds(std::int64_t ms) {
  return seconds((ms + 999) / 1000);
}

}  // namespace

void validate_rate_limit(std::int64_t limit, milliseconds window) {
  if (limit < 1 || limit > kMaxRateLimit) {
    throw std::invalid_argument("rate limit must be between 1 and " +
                                std::to_string(kMaxRateLimit) + ", got " + std::to_string(limit));
  }
  if (window < milliseconds(1) || window > kMaxRateWindow) {
    throw std::invalid_argument("rate limit window must be between 1 ms and " +
                                std::to_string(kMaxRateWindow.count()) + " ms, got " +
                                std::to_string(window.count()) + " ms");
  }
}

std::int64_t window_index(milliseconds window, milliseconds now) {
  if (window <= milliseconds(0)) throw std::invalid_argument("window must be positive");
  if (now < milliseconds(0) || now >= kMaxRateClock) {
    throw std::invalid_argument(
        "rate limit clock reading out of range: " + std::to_string(now.count()) + " ms");
  }
  return now.count() / window.count();
}

milliseconds window_elapsed(milliseconds window, milliseconds now) {
  return now - window * window_index(window, now);
}

RateLimitDecision decide_sliding_window(std::int64_t limit, milliseconds window, milliseconds now,
                                        WindowCounts counts) {
  validate_rate_limit(limit, window);
  const std::int64_t w = window.count();
  const std::int64_t elapsed = window_elapsed(window, now).count();
  const std::int64_t previous = clamp_count(counts.previous);
  const std::int64_t current = clamp_count(counts.current);

  RateLimitDecision d;
  d.allowed = admits(limit, w, elapsed, previous, current);
  const std::int64_t counted = current + (d.allowed ? 1 : 0);

  // The largest n with previous·(W − elapsed) + (counted + n)·W ≤ L·W.
  const std::int64_t room = limit * w - previous * (w - elapsed);
  d.remaining = room < 0 ? 0 : std::max<std::int64_t>(0, room / w - counted);

  if (!d.allowed) {
    d.retry_after =
        std::max(seconds(1), ceil_seconds(ms_until_admitted(limit, w, elapsed, previous, current)));
  }
  // With `remaining` more used now the next would be refused, so this wait is > 0.
  d.reset =
      std::max(seconds(1),
               ceil_seconds(ms_until_admitted(limit, w, elapsed, previous, counted + d.remaining)));
  return d;
}

bool combine_decisions(std::span<RateLimitDecision> decisions) {
  const bool admitted = std::all_of(decisions.begin(), decisions.end(),
                                    [](const RateLimitDecision& d) { return d.allowed; });
  if (!admitted) {
    // decide_sliding_window counted an allowed request in `remaining`; nothing was.
    for (auto& d : decisions) {
      if (d.allowed) ++d.remaining;
    }
  }
  return admitted;
}

SlidingWindowKeys sliding_window_keys(std::string_view prefix, milliseconds window,
                                      milliseconds now) {
  const std::int64_t index = window_index(window, now);
  std::string base(prefix);
  base += ':';
  base += std::to_string(window.count());
  base += ':';
  return {base + std::to_string(index), base + std::to_string(index - 1)};
}

}  // namespace observernet::cache
