#pragma once
#include <chrono>
#include <cstddef>

namespace observernet::util {

// Limits of one connection pool (PostgreSQL or Redis); all configurable.
struct PoolOptions {
  std::size_t min = 1;             // opened at start when the server is reachable
  std::size_t max = 16;            // connections, and the threads that use them
  std::size_t max_waiters = 1024;  // calls queued beyond `max`; more get 503 at once
  std::chrono::milliseconds acquire_timeout{2'000};  // queued longer: 503
  std::chrono::milliseconds connect_timeout{3'000};
  std::chrono::milliseconds retry_backoff{1'000};  // after a failed connect, fail fast this long
};

}  // namespace observernet::util
