#pragma once
// The rate limiter's settings ([ratelimit] in the configuration), apart from the
// limiter so that the configuration does not pull in Asio's coroutines.
#include <algorithm>
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>

#include "observernet/cache/client_address.hpp"

namespace observernet::cache {

struct RateRule {
  std::int64_t limit = 0;  // requests per window; 0 turns the group's limit off
  std::chrono::milliseconds window{60'000};
};

struct RateLimiterOptions {
  bool enabled = true;
  // The limits per client address (docs/api/README.md, Conventions), each over its own
  // window. The voting routes' are ceilings against floods, generous because hundreds of
  // voters may share one address (a campus or carrier NAT, a kiosk): 10 a second, as the
  // ingress allows per address on them.
  RateRule submit{600, std::chrono::minutes(1)};
  RateRule token{600, std::chrono::minutes(1)};
  RateRule elections{100, std::chrono::minutes(1)};
  RateRule public_reads{1000, std::chrono::minutes(1)};
  RateRule global{2000, std::chrono::minutes(1)};  // every limited request of a client
  // The limits per what a voting request names, checked once its body is read: tokens
  // per voter (in Redis, shared, like the address limits: what holds a credential's
  // brute force), and ballots per token (in this process only: a token's key in Redis
  // would put each ballot's time beside it, docs/privacy.md). At most
  // per_token_max_keys tokens are remembered per pod, least recently seen forgotten.
  RateRule token_per_voter{5, std::chrono::minutes(1)};
  RateRule submit_per_token{10, std::chrono::minutes(1)};
  std::size_t per_token_max_keys = 100'000;
  CidrList trusted_proxies;
  ForwardingHeader forwarding_header = ForwardingHeader::x_forwarded_for;
  bool exempt_admin = true;
  // Adaptive limits: while process CPU is above cpu_percent of the machine's cores, or
  // the ballot queue holds more than queue_depth, every limit is multiplied by
  // factor_percent / 100; afterwards the factor climbs back by that much per interval.
  unsigned adaptive_cpu_percent = 80;
  std::size_t adaptive_queue_depth = 1'000;
  unsigned adaptive_factor_percent = 50;
  std::chrono::milliseconds adaptive_interval{1'000};
  // Clients appear in Redis as HMAC-SHA-256(k, address): k is 256 random bits that the
  // first pod to need it stores in Redis for the period, and every pod reads there. A
  // new k every pseudonym_rotation (whole periods since the epoch, at least twice the
  // longest window); it expires from Redis a rotation and two windows later. Never
  // derived from a configured secret (docs/privacy.md, Rate-limit pseudonyms).
  std::chrono::milliseconds pseudonym_rotation{3'600'000};

  // The rules, for what applies to each of them.
  std::array<const RateRule*, 7> rules() const {
    return {&submit, &token,           &elections,       &public_reads,
            &global, &token_per_voter, &submit_per_token};
  }
  std::chrono::milliseconds longest_window() const {
    std::chrono::milliseconds longest{0};
    for (const RateRule* r : rules()) longest = std::max(longest, r->window);
    return longest;
  }
  // Redis: its own database (the scaling guide's database 3), a short deadline.
  unsigned redis_db = 3;
  std::chrono::milliseconds redis_timeout{5};
  std::size_t fallback_max_keys = 100'000;  // in-process windows kept per pod
  // A client's requests that arrive while its check is on the way to Redis are decided
  // together by the next call, which leaves at least this long after the one before: a
  // busy address (a NAT, a proxy, a load test) then costs one Redis call per this much
  // time instead of one per round trip. A client's first request never waits.
  std::chrono::microseconds batch_linger{200};
  // A client that keeps requests arriving while its calls are on their way (two calls
  // in a row) has its next call count up to this many requests more than are waiting,
  // admitted ahead of demand: its next requests on this I/O thread are decided from
  // them without waiting for Redis. Never more than a sixteenth of a limit, nor a
  // quarter of what the client has left; unused ones lapse at the window's end or
  // after a second, and count as used. 0: every request waits for its call.
  std::int64_t lease_max = 64;
};

}  // namespace observernet::cache
