#pragma once
// Sliding-window counter rate limiting (docs/architecture.md, Rate limiting): the arithmetic,
// shared by the Redis script below and the in-process fallback (local_rate_limiter.hpp). Pure: no
// I/O.
//
// ## Algorithm (for docs/architecture.md)
//
// Time is cut into fixed windows of W ms aligned to the Unix epoch; window k is
// [k·W, (k+1)·W). Each client key keeps two counters: `previous`, the requests
// admitted in window k−1, and `current`, those admitted so far in window k. At
// `elapsed` ms into window k, the number of requests in the last W ms is estimated
// as
//
//     previous · (W − elapsed) / W + current
//
// that is, the previous window weighted by the fraction of it that still lies
// inside the sliding window (1 at the window's first millisecond, 1/W at its last,
// nothing once it is two windows back). A request is admitted when the estimate
// plus itself stays within the limit L, tested exactly in integers:
//
//     previous · (W − elapsed) + (current + 1) · W  ≤  L · W
//
// Only admitted requests are counted, so a client that keeps retrying while denied
// does not push its own recovery further away.
//
// Error bound. The estimate is exact when the previous window's requests were
// evenly spread over it. When they were not, it errs in both directions:
//  - Over-admission: requests bunched at the end of window k−1 are still in the
//    true sliding window but the weight has already discounted them. The worst case
//    is a client that sends its whole quota L in the last millisecond of one window
//    and then paces itself at exactly L/W through the next: some interval of length
//    W then holds close to 2·L admitted requests (at most 2·L − 1: L in the
//    earlier window and, because the weight of those L never reaches zero before
//    the window ends, at most L − 1 in the later one). That is no better than a
//    fixed window's worst case, but it needs that exact pattern; a plain burst of
//    2·L across a window edge, which a fixed window admits, is cut to about L.
//    Every fixed window still admits at most L, so the long-run rate never exceeds
//    L per W.
//  - Under-admission: requests bunched at the start of window k−1 have already left
//    the true sliding window but still weigh (W − elapsed)/W each, so a client can
//    be refused up to previous · (W − elapsed) / W ≤ L requests it was owed.
// The unit tests replay both patterns (RateLimitWindowTest.WorstCase*).
//
// Redis and the fallback share this one admission test. The script only decides
// and counts; every derived number (remaining, Retry-After, reset) is computed here
// from the counts it returns, so the two cannot round differently.
#include <chrono>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace observernet::cache {

// Bounds that keep every product of the admission test below 2^53, so that Redis
// Lua (whose numbers are doubles) computes it exactly: with counts ≤ kMaxRateLimit
// and W ≤ kMaxRateWindow, previous·(W−elapsed) + (current+1)·W ≤ (2·10^6 + 1) ·
// 6.048·10^8 ≈ 1.2·10^15 < 2^53 ≈ 9.007·10^15.
inline constexpr std::int64_t kMaxRateLimit = 1'000'000;
inline constexpr std::chrono::milliseconds kMaxRateWindow = std::chrono::hours(24 * 7);
// Clock readings must stay below 2^52 ms (the year 144,683), so that the script's
// window arithmetic on `now` is exact too.
inline constexpr std::chrono::milliseconds kMaxRateClock{std::int64_t{1} << 52};

struct WindowCounts {
  std::int64_t previous = 0;  // admitted in the previous window
  std::int64_t current = 0;   // admitted so far in the current window, before this request
};

struct RateLimitDecision {
  bool allowed = false;
  // Requests that would still be admitted now, after this one: for RateLimit r=.
  std::int64_t remaining = 0;
  // Denied: whole seconds, rounded up and at least 1, until a request would be
  // admitted if no other is; for Retry-After. Allowed: 0.
  std::chrono::seconds retry_after{0};
  // Seconds (rounded up, at least 1) within which no more than `remaining` further
  // requests will be admitted, i.e. until the available quota next grows; for
  // RateLimit t=. Equals retry_after when denied, so that Retry-After never points
  // before the end of the effective window (draft-ietf-httpapi-ratelimit-headers-11 §6).
  std::chrono::seconds reset{0};
};

// Throws std::invalid_argument unless 1 ≤ limit ≤ kMaxRateLimit and
// 1 ms ≤ window ≤ kMaxRateWindow. Call it on configured limits at start-up; the
// functions below call it too.
void validate_rate_limit(std::int64_t limit, std::chrono::milliseconds window);

// The window `now` falls in (index since the epoch) and how far into it `now` is.
// `now`: time since the Unix epoch, 0 ≤ now < kMaxRateClock, else
// std::invalid_argument.
std::int64_t window_index(std::chrono::milliseconds window, std::chrono::milliseconds now);
std::chrono::milliseconds window_elapsed(std::chrono::milliseconds window,
                                         std::chrono::milliseconds now);

// The decision for one request at `now`, given the counts before it. Counts below 0
// count as 0 and counts above kMaxRateLimit as kMaxRateLimit (the script does the
// same). Does not change `counts`: the caller counts an admitted request.
RateLimitDecision decide_sliding_window(std::int64_t limit, std::chrono::milliseconds window,
                                        std::chrono::milliseconds now, WindowCounts counts);

// One request under several limits (a route group's and the global one) is admitted
// only if every limit admits it, and counted under each only then. Given each limit's
// decide_sliding_window, returns whether the request is admitted; when it is not, a
// limit that would have admitted it did not count it either, so its `remaining` gets
// back the one its decision had already taken off.
bool combine_decisions(std::span<RateLimitDecision> decisions);

// A limit and the key its counts are kept under, for a check of several at once.
struct RateLimitKey {
  std::string_view key;
  std::int64_t limit = 0;
  std::chrono::milliseconds window{0};
};

// Redis keys of the two windows around `now`: "<prefix>:<W in ms>:<window index>".
// The window length is part of the key so that a changed configuration never reads
// counts kept for another window length. Put a hash tag in the prefix
// ("observernet:v1:rl:{submit|203.0.113.7}") so that Redis Cluster stores both keys
// in one slot, which a script touching both requires.
struct SlidingWindowKeys {
  std::string current;
  std::string previous;
};
SlidingWindowKeys sliding_window_keys(std::string_view prefix, std::chrono::milliseconds window,
                                      std::chrono::milliseconds now);

// The admission test of decide_sliding_window for n requests of one client under
// several limits at once (a route group's and the global one), atomically in Redis:
// of n requests checked together (requests that arrived while the client's previous
// check was on its way), the first k are admitted, k being the most that every limit
// admits one after the other, and those k are counted under each limit.
//   KEYS[2i-1], KEYS[2i]  limit i's current and previous window's counters
//                         (sliding_window_keys(...).current and .previous)
//   ARGV[1]               now, in ms since the epoch, below kMaxRateClock
//   ARGV[2]               n, from 1 to kMaxRateLimit
//   ARGV[2i+1], ARGV[2i+2] limit i and its window in ms, within validate_rate_limit's
//                         bounds
//   reply                 {k, previous_1, current_1, previous_2, ...}: how many were
//                         admitted, and each limit's counts before them
// Request j (from 0) then has counts {previous_i, current_i + min(j, k)}: pass those,
// with the same limit, window and now, to decide_sliding_window and combine_decisions
// for the rest of its decision, which admits it exactly when j < k. With n = 1 this is
// the single request's test, term for term.
//
// k for one limit: previous·(W − elapsed) + (current + k)·W ≤ L·W, so
// k ≤ floor((L·W − previous·(W − elapsed)) / W) − current.
//
// Exactness: Redis Lua numbers are doubles, exact for integers below 2^53, which
// the bounds above guarantee for every product and sum. The two divisions (inside
// `now % window`, and the floor above) are corrected by one rather than trusted, and
// every value returned is an integer, so Redis's truncation of Lua numbers in replies
// never changes one. The count is written back with SET rather than INCRBY so that a
// stored value the script reads as 0 (not a number) is replaced, not an error;
// Lua writes integers below 10^14 in full ("%.14g"). The counter expires 2·W after
// its window starts, when it stops being the previous window of anything. Written for
// Redis's cost: one MGET for every key and no closures (each redis.call and each
// closure a call creates cost microseconds; this script takes about half the time of
// one with two MGETs and helper functions).
inline constexpr std::string_view kSlidingWindowScript = R"lua(
local now = tonumber(ARGV[1])
local k = tonumber(ARGV[2])
local max_count = 1000000
local floor = math.floor
local counts = redis.call('MGET', unpack(KEYS))
local reply = {0}
local elapsed = {}
for i = 1, #KEYS / 2 do
  local limit = tonumber(ARGV[2 * i + 1])
  local window = tonumber(ARGV[2 * i + 2])
  -- now mod window, exactly: Lua's % rounds now / window, so correct by one window.
  local e = now % window
  if e < 0 then e = e + window elseif e >= window then e = e - window end
  elapsed[i] = e
  local current = tonumber(counts[2 * i - 1]) or 0
  if current ~= current or current < 0 then current = 0 end
  if current > max_count then current = max_count end
  current = floor(current)
  local previous = tonumber(counts[2 * i]) or 0
  if previous ~= previous or previous < 0 then previous = 0 end
  if previous > max_count then previous = max_count end
  previous = floor(previous)
  local room = limit * window - previous * (window - e)
  local fits = -1
  if room >= 0 then
    fits = floor(room / window)
    if fits * window > room then fits = fits - 1 elseif (fits + 1) * window <= room then fits = fits + 1 end
    fits = fits - current
  end
  if fits < k then k = fits end
  reply[2 * i] = previous
  reply[2 * i + 1] = current
end
if k > 0 then
  for i = 1, #KEYS / 2 do
    local window = tonumber(ARGV[2 * i + 2])
    redis.call('SET', KEYS[2 * i - 1], reply[2 * i + 1] + k, 'PX', 2 * window - elapsed[i])
  end
else
  k = 0
end
reply[1] = k
return reply
)lua";

}  // namespace observernet::cache
