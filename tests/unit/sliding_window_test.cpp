// Sliding-window counter arithmetic (docs/architecture.md, Rate limiting) and the in-process
// fallback limiter.
#include "observernet/cache/sliding_window.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "observernet/cache/local_rate_limiter.hpp"

namespace observernet::cache {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr std::int64_t kLimit = 10;
constexpr milliseconds kMinute{60'000};
// The start of some window, far from the epoch like real clocks.
constexpr milliseconds kStart = kMinute * 29'000'000;

RateLimitDecision decide(milliseconds now, std::int64_t previous, std::int64_t current,
                         std::int64_t limit = kLimit, milliseconds window = kMinute) {
  return decide_sliding_window(limit, window, now, {previous, current});
}

// Whether a request at `later` is admitted when the counts at `now` were these and
// nothing was admitted in between: the counts move one window back per window.
bool admitted_at(milliseconds later, milliseconds now, std::int64_t previous, std::int64_t current,
                 std::int64_t limit, milliseconds window) {
  const std::int64_t shift = window_index(window, later) - window_index(window, now);
  WindowCounts counts{previous, current};
  if (shift == 1) counts = {current, 0};
  if (shift >= 2) counts = {0, 0};
  return decide_sliding_window(limit, window, later, counts).allowed;
}

TEST(RateLimitWindowTest, WindowsAreAlignedToTheEpoch) {
  EXPECT_EQ(window_index(kMinute, milliseconds(0)), 0);
  EXPECT_EQ(window_index(kMinute, milliseconds(59'999)), 0);
  EXPECT_EQ(window_index(kMinute, milliseconds(60'000)), 1);
  EXPECT_EQ(window_elapsed(kMinute, kStart), milliseconds(0));
  EXPECT_EQ(window_elapsed(kMinute, kStart + milliseconds(59'999)), milliseconds(59'999));
  EXPECT_EQ(window_elapsed(kMinute, kStart + kMinute), milliseconds(0));
}

TEST(RateLimitWindowTest, AnEmptyHistoryAdmitsAndCountsDown) {
  const auto d = decide(kStart + milliseconds(30'000), 0, 0);
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.remaining, 9);
  EXPECT_EQ(d.retry_after, seconds(0));
}

TEST(RateLimitWindowTest, AtTheWindowEdgeThePreviousWindowWeighsFully) {
  // elapsed = 0: previous · (W − 0) / W = previous.
  EXPECT_TRUE(decide(kStart, 9, 0).allowed);
  EXPECT_EQ(decide(kStart, 9, 0).remaining, 0);
  const auto full = decide(kStart, 10, 0);
  EXPECT_FALSE(full.allowed);
  EXPECT_EQ(full.remaining, 0);
  // Admitted once previous · (W − e) ≤ 9 · W, i.e. at e = W / 10 = 6 s.
  EXPECT_EQ(full.retry_after, seconds(6));
  EXPECT_EQ(full.reset, seconds(6));
  EXPECT_FALSE(decide(kStart + milliseconds(5'999), 10, 0).allowed);
  EXPECT_TRUE(decide(kStart + milliseconds(6'000), 10, 0).allowed);
}

TEST(RateLimitWindowTest, AtTheWindowsLastMillisecondThePreviousWeighsOneWth) {
  const milliseconds last = kStart + milliseconds(59'999);
  // 10 · 1 + 9 · 60000 ≤ 600000: the ninth current request fits...
  const auto ninth = decide(last, 10, 8);
  EXPECT_TRUE(ninth.allowed);
  EXPECT_EQ(ninth.remaining, 0);
  // ...a tenth does not (10 · 1 + 10 · 60000 > 600000) while the previous window
  // weighs anything at all,
  EXPECT_FALSE(decide(last, 10, 9).allowed);
  EXPECT_FALSE(decide(last, 1, 9).allowed);
  // and a millisecond later it weighs nothing: the current window became the
  // previous one.
  EXPECT_TRUE(admitted_at(last + milliseconds(1), last, 10, 9, kLimit, kMinute));
  EXPECT_TRUE(decide(last + milliseconds(1), 9, 0).allowed);
}

TEST(RateLimitWindowTest, TheLimitIsReachedExactly) {
  const milliseconds mid = kStart + milliseconds(30'000);
  const auto last_one = decide(mid, 0, 9);
  EXPECT_TRUE(last_one.allowed);
  EXPECT_EQ(last_one.remaining, 0);
  const auto refused = decide(mid, 0, 10);
  EXPECT_FALSE(refused.allowed);
  EXPECT_EQ(refused.remaining, 0);
  // The full current window must become the previous one and decay to 9 · W:
  // 30 s to the edge, then W / 10 = 6 s.
  EXPECT_EQ(refused.retry_after, seconds(36));
  // Half-weighted previous: 4 · 1/2 + 7 + 1 ≤ 10.
  EXPECT_TRUE(decide(mid, 4, 7).allowed);
  EXPECT_FALSE(decide(mid, 4, 8).allowed);
  EXPECT_FALSE(decide(mid, 5, 8).allowed);
}

TEST(RateLimitWindowTest, RemainingIsNeverNegative) {
  // Counts above the limit happen when the limit shrinks (adaptive limiting).
  for (std::int64_t previous : {0, 5, 10, 11, 100, 5'000'000}) {
    for (std::int64_t current : {0, 9, 10, 11, 100, 5'000'000}) {
      for (std::int64_t e : {0, 1, 30'000, 59'999}) {
        const auto d = decide(kStart + milliseconds(e), previous, current);
        EXPECT_GE(d.remaining, 0);
        EXPECT_GE(d.reset, seconds(1));
        if (!d.allowed) {
          EXPECT_EQ(d.remaining, 0);
        }
      }
    }
  }
  EXPECT_EQ(decide(kStart, -3, -1).remaining, 9);  // garbage counts read as 0
}

TEST(RateLimitWindowTest, RetryAfterRoundsUpToWholeSeconds) {
  const milliseconds window{10'000};
  const milliseconds start = window * 100;
  // previous 10 fits again at e = 1000 (10 · 9000 + 1 · 10000 ≤ 100000).
  EXPECT_EQ(decide(start + milliseconds(999), 10, 0, 10, window).retry_after, seconds(1));  // 1 ms
  EXPECT_EQ(decide(start, 10, 0, 10, window).retry_after, seconds(1));  // exactly 1000 ms
  EXPECT_TRUE(decide(start + milliseconds(1'000), 10, 0, 10, window).allowed);
  // 1001 ms: 1 to the window edge, then a whole window until the full one is two back.
  const milliseconds second{1'000};
  EXPECT_EQ(decide(second * 7 + milliseconds(999), 0, 1, 1, second).retry_after, seconds(2));
}

// What the rounded values promise, checked against the admission test itself for
// every combination of small counts at many points of a window.
TEST(RateLimitWindowTest, RetryAfterResetAndRemainingKeepTheirPromises) {
  const milliseconds window = kMinute;
  for (std::int64_t limit : {1, 2, 3, 10}) {
    for (std::int64_t previous = 0; previous <= 12; ++previous) {
      for (std::int64_t current = 0; current <= 12; ++current) {
        for (std::int64_t e : {0, 1, 999, 1'000, 6'000, 29'999, 30'000, 54'001, 59'000, 59'999}) {
          SCOPED_TRACE("limit " + std::to_string(limit) + " previous " + std::to_string(previous) +
                       " current " + std::to_string(current) + " elapsed " + std::to_string(e));
          const milliseconds now = kStart + milliseconds(e);
          const auto d = decide(now, previous, current, limit, window);
          const std::int64_t counted = current + (d.allowed ? 1 : 0);
          // `remaining` more fit right now, and not one more.
          for (std::int64_t n = 0; n < d.remaining; ++n) {
            ASSERT_TRUE(decide(now, previous, counted + n, limit, window).allowed);
          }
          ASSERT_FALSE(decide(now, previous, counted + d.remaining, limit, window).allowed);
          if (!d.allowed) {
            ASSERT_GE(d.retry_after, seconds(1));
            ASSERT_EQ(d.reset, d.retry_after);
            // Refused until the second before, admitted at the second given.
            ASSERT_FALSE(admitted_at(now + d.retry_after - seconds(1), now, previous, current,
                                     limit, window));
            ASSERT_TRUE(admitted_at(now + d.retry_after, now, previous, current, limit, window));
          }
          // With the remaining quota used, the next request waits `reset`.
          const std::int64_t used = counted + d.remaining;
          ASSERT_FALSE(admitted_at(now + d.reset - seconds(1), now, previous, used, limit, window));
          ASSERT_TRUE(admitted_at(now + d.reset, now, previous, used, limit, window));
        }
      }
    }
  }
}

// Replays one client sending at the given times; returns the times admitted.
std::vector<std::int64_t> replay(const std::vector<std::int64_t>& times, std::int64_t limit,
                                 milliseconds window) {
  LocalRateLimiter limiter(16);
  std::vector<std::int64_t> admitted;
  for (std::int64_t t : times) {
    if (limiter.check("client", limit, window, milliseconds(t)).allowed) admitted.push_back(t);
  }
  return admitted;
}

std::int64_t busiest_interval(const std::vector<std::int64_t>& admitted, std::int64_t width) {
  std::size_t best = 0;
  for (std::size_t i = 0; i < admitted.size(); ++i) {
    const auto end = std::lower_bound(admitted.begin(), admitted.end(), admitted[i] + width);
    best = std::max(best, static_cast<std::size_t>(end - admitted.begin()) - i);
  }
  return static_cast<std::int64_t>(best);
}

TEST(RateLimitWindowTest, WorstCaseOverAdmissionIsTwiceTheLimitLessOne) {
  // The whole quota in the last millisecond of window 0, then a request every
  // millisecond through window 1: the sliding window [999, 1999) admits 2·L − 1.
  const milliseconds window{1'000};
  std::vector<std::int64_t> times(kLimit, 999);
  for (std::int64_t t = 1'000; t < 2'000; ++t) times.push_back(t);
  const auto admitted = replay(times, kLimit, window);
  EXPECT_EQ(busiest_interval(admitted, window.count()), 2 * kLimit - 1);

  // No sending pattern does worse: a request every millisecond, or bursts, over
  // many windows, never more than 2·L − 1 in any W and never more than L in a
  // fixed window.
  std::vector<std::int64_t> greedy;
  for (std::int64_t t = 0; t < 8'000; ++t) {
    greedy.push_back(t);
    if (t % 997 == 0) greedy.insert(greedy.end(), 2 * kLimit, t);
  }
  const auto admitted_greedy = replay(greedy, kLimit, window);
  EXPECT_LE(busiest_interval(admitted_greedy, window.count()), 2 * kLimit - 1);
  for (std::int64_t k = 0; k < 8; ++k) {
    EXPECT_LE(std::count_if(admitted_greedy.begin(), admitted_greedy.end(),
                            [&](std::int64_t t) { return t / window.count() == k; }),
              kLimit);
  }
}

TEST(RateLimitWindowTest, WorstCaseUnderAdmissionIsThePreviousWindowsStaleWeight) {
  // The whole quota at the start of window 0. Halfway through window 1 none of it
  // is in the true sliding window, but it still weighs L / 2, so a burst gets L / 2.
  const milliseconds window{1'000};
  std::vector<std::int64_t> times(kLimit, 0);
  times.insert(times.end(), 2 * kLimit, 1'500);
  const auto admitted = replay(times, kLimit, window);
  EXPECT_EQ(std::count(admitted.begin(), admitted.end(), 1'500), kLimit / 2);
}

TEST(RateLimitWindowTest, OutOfRangePoliciesAreRefused) {
  EXPECT_THROW(decide(kStart, 0, 0, 0), std::invalid_argument);
  EXPECT_THROW(decide(kStart, 0, 0, kMaxRateLimit + 1), std::invalid_argument);
  EXPECT_THROW(decide(kStart, 0, 0, kLimit, milliseconds(0)), std::invalid_argument);
  EXPECT_THROW(decide(kStart, 0, 0, kLimit, kMaxRateWindow + milliseconds(1)),
               std::invalid_argument);
  EXPECT_THROW(decide(milliseconds(-1), 0, 0), std::invalid_argument);
  EXPECT_THROW(decide(kMaxRateClock, 0, 0), std::invalid_argument);
  EXPECT_NO_THROW(decide(kMaxRateClock - milliseconds(1), 0, 0));
  EXPECT_NO_THROW(decide(kStart, 0, 0, kMaxRateLimit, kMaxRateWindow));
}

TEST(RateLimitWindowTest, KeysNameTheWindowLengthAndIndex) {
  const auto keys = sliding_window_keys("rl:{submit|203.0.113.7}", kMinute, milliseconds(125'000));
  EXPECT_EQ(keys.current, "rl:{submit|203.0.113.7}:60000:2");
  EXPECT_EQ(keys.previous, "rl:{submit|203.0.113.7}:60000:1");
}

TEST(RateLimitWindowTest, TheScriptUsesTheSameCountBound) {
  // The script cannot include the constant, so this keeps the two in step.
  EXPECT_NE(kSlidingWindowScript.find("local max_count = " + std::to_string(kMaxRateLimit) + "\n"),
            std::string_view::npos);
}

TEST(RateLimitLocalTest, CountsAdmittedRequestsOnly) {
  LocalRateLimiter limiter(100);
  const milliseconds now = kStart + milliseconds(1'000);
  for (std::int64_t i = 0; i < kLimit; ++i) {
    const auto d = limiter.check("a", kLimit, kMinute, now);
    EXPECT_TRUE(d.allowed);
    EXPECT_EQ(d.remaining, kLimit - 1 - i);
  }
  for (int i = 0; i < 5; ++i) EXPECT_FALSE(limiter.check("a", kLimit, kMinute, now).allowed);
  // Refusals were not counted: the full window decays as if they never happened.
  EXPECT_EQ(limiter.check("a", kLimit, kMinute, now).retry_after, seconds(59 + 6));
  EXPECT_TRUE(limiter.check("b", kLimit, kMinute, now).allowed);  // keys are independent
}

TEST(RateLimitWindowTest, ARequestRefusedByOneLimitIsCountedByNone) {
  // A group limit with one request left and a global one with five.
  std::array<RateLimitDecision, 2> d{decide(kStart, 0, kLimit - 1), decide(kStart, 0, kLimit - 5)};
  ASSERT_TRUE(d[0].allowed);
  EXPECT_EQ(d[0].remaining, 0);
  EXPECT_TRUE(combine_decisions(d));
  // Now the group is full: the global limit would admit, but its count does not move.
  d = {decide(kStart, 0, kLimit), decide(kStart, 0, kLimit - 4)};
  ASSERT_TRUE(d[1].allowed);
  EXPECT_EQ(d[1].remaining, 3);
  EXPECT_FALSE(combine_decisions(d));
  EXPECT_FALSE(d[0].allowed);
  EXPECT_EQ(d[1].remaining, 4);
}

TEST(RateLimitLocalTest, SeveralLimitsAdmitTogetherOrNotAtAll) {
  LocalRateLimiter limiter(100);
  auto check = [&](std::string_view group, std::array<RateLimitDecision, 2>& d) {
    const std::array<RateLimitKey, 2> limits{RateLimitKey{group, 2, kMinute},
                                             RateLimitKey{"global", 3, kMinute}};
    return limiter.check(limits, kStart, d);
  };
  std::array<RateLimitDecision, 2> d{};
  EXPECT_TRUE(check("submit", d));
  EXPECT_TRUE(check("submit", d));
  EXPECT_EQ(d[1].remaining, 1);
  EXPECT_FALSE(check("submit", d));  // the group is full; the global count stays at 2
  EXPECT_FALSE(d[0].allowed);
  EXPECT_EQ(d[1].remaining, 1);
  EXPECT_TRUE(check("token", d));  // so another group still gets the global's last one
  EXPECT_EQ(d[1].remaining, 0);
  EXPECT_FALSE(check("public", d));
  EXPECT_TRUE(d[0].allowed);
  EXPECT_EQ(d[0].remaining, 2);  // refused by the global limit, so not counted here
  // More limits in one call than keys kept could evict one of them mid-call.
  LocalRateLimiter tiny(1);
  std::array<RateLimitDecision, 2> out{};
  const std::array<RateLimitKey, 2> two{RateLimitKey{"a", 1, kMinute},
                                        RateLimitKey{"b", 1, kMinute}};
  EXPECT_THROW(tiny.check(two, kStart, out), std::invalid_argument);
}

TEST(RateLimitLocalTest, WindowsRollOverAsTheyDoInRedis) {
  LocalRateLimiter limiter(100);
  for (int i = 0; i < kLimit; ++i) limiter.check("a", kLimit, kMinute, kStart);
  // Next window, first millisecond: the full window weighs fully.
  EXPECT_FALSE(limiter.check("a", kLimit, kMinute, kStart + kMinute).allowed);
  EXPECT_TRUE(limiter.check("a", kLimit, kMinute, kStart + kMinute + milliseconds(6'000)).allowed);
  // Two windows on, nothing weighs.
  LocalRateLimiter other(100);
  for (int i = 0; i < kLimit; ++i) other.check("a", kLimit, kMinute, kStart);
  EXPECT_EQ(other.check("a", kLimit, kMinute, kStart + 2 * kMinute).remaining, kLimit - 1);
}

TEST(RateLimitLocalTest, AClockSteppedBackCountsAsTheWindowsStart) {
  LocalRateLimiter limiter(100);
  for (int i = 0; i < kLimit; ++i) limiter.check("a", kLimit, kMinute, kStart + kMinute);
  EXPECT_FALSE(limiter.check("a", kLimit, kMinute, kStart + milliseconds(59'000)).allowed);
  EXPECT_FALSE(limiter.check("a", kLimit, kMinute, kStart).allowed);
}

TEST(RateLimitLocalTest, AChangedWindowStartsTheKeyAfresh) {
  LocalRateLimiter limiter(100);
  for (int i = 0; i < kLimit; ++i) limiter.check("a", kLimit, kMinute, kStart);
  EXPECT_TRUE(limiter.check("a", kLimit, 2 * kMinute, kStart).allowed);
}

TEST(RateLimitLocalTest, StaleKeysAreDroppedAsTrafficMovesOn) {
  LocalRateLimiter limiter(100);
  limiter.check("a", kLimit, kMinute, kStart);
  limiter.check("b", kLimit, kMinute, kStart);
  limiter.check("c", kLimit, kMinute, kStart + kMinute);
  EXPECT_EQ(limiter.size(), 3U);
  // Two windows after theirs, a and b count nothing and go; c is still a previous window.
  limiter.check("d", kLimit, kMinute, kStart + 2 * kMinute);
  EXPECT_EQ(limiter.size(), 2U);
  EXPECT_EQ(limiter.live_evictions(), 0U);
}

TEST(RateLimitLocalTest, AtTheCapTheLeastRecentlyCheckedKeyIsForgotten) {
  LocalRateLimiter limiter(2);
  for (int i = 0; i < kLimit; ++i) limiter.check("a", kLimit, kMinute, kStart);
  limiter.check("b", kLimit, kMinute, kStart);
  limiter.check("a", kLimit, kMinute, kStart);  // a is now the most recent
  limiter.check("c", kLimit, kMinute, kStart);  // evicts b, which was live
  EXPECT_EQ(limiter.size(), 2U);
  EXPECT_EQ(limiter.live_evictions(), 1U);
  EXPECT_FALSE(limiter.check("a", kLimit, kMinute, kStart).allowed);  // a kept its counts
  limiter.check("d", kLimit, kMinute, kStart);                        // evicts c
  limiter.check("e", kLimit, kMinute, kStart);                        // evicts a
  EXPECT_EQ(limiter.live_evictions(), 3U);
  // a was forgotten: a fresh quota, the price of the cap.
  EXPECT_EQ(limiter.check("a", kLimit, kMinute, kStart).remaining, kLimit - 1);
  // A stale key at the cap is replaced without counting as a live eviction.
  LocalRateLimiter small(1);
  small.check("x", kLimit, kMinute, kStart);
  small.check("y", kLimit, kMinute, kStart + 5 * kMinute);
  EXPECT_EQ(small.live_evictions(), 0U);
  EXPECT_THROW(LocalRateLimiter(0), std::invalid_argument);
}

TEST(RateLimitLocalTest, TwoThreadsShareOneQuotaExactly) {
  constexpr std::int64_t limit = 500;
  LocalRateLimiter limiter(128);
  std::atomic<int> admitted{0};
  auto hammer = [&](const std::string& own_key) {
    for (int i = 0; i < 1'000; ++i) {
      if (limiter.check("shared", limit, kMinute, kStart).allowed) ++admitted;
      limiter.check(own_key + std::to_string(i % 40), limit, kMinute, kStart);
    }
  };
  std::thread first(hammer, "one-");
  std::thread second(hammer, "two-");
  first.join();
  second.join();
  EXPECT_EQ(admitted.load(), limit);
  EXPECT_EQ(limiter.size(), 1U + 40 + 40);
  EXPECT_EQ(limiter.check("one-0", limit, kMinute, kStart).remaining, limit - 26);
}

}  // namespace
}  // namespace observernet::cache
