#pragma once
// The cache of public reads: a per-thread local layer (short TTL, no locks) in front of
// Redis (longer TTL, shared by every pod) in front of PostgreSQL. Redis failures only
// cost a trip to PostgreSQL.
//
// Consistency: writers store the new body after their transaction commits, through a
// script that keeps the newer version when two writers race; readers filling a miss
// only add a key that is absent (SET NX), so a reader that loaded before a change
// cannot overwrite what the writer stored. Local copies are dropped at once in the
// writing process and expire within local_ttl elsewhere.
#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace prometheus {
class Registry;
class Counter;
}  // namespace prometheus

namespace observernet::cache {

class RedisLanes;

struct CachedBody {
  std::string body;
  std::string etag;  // strong, quoted
  std::int64_t version = 0;
};
using CachedBodyPtr = std::shared_ptr<const CachedBody>;

struct LoadedBody {
  std::string body;
  std::int64_t version = 0;
  std::optional<std::chrono::seconds> redis_ttl;  // the configured one when absent
};

struct PublicCacheOptions {
  std::chrono::seconds redis_ttl{60};
  std::chrono::milliseconds local_ttl{500};
  std::size_t local_max_entries = 10'000;
  // While PostgreSQL is unavailable (a load fails with 503), a body this process served
  // before is served for up to this long past its local expiry; 0: never.
  std::chrono::seconds stale_if_error{600};
};

// What the services ask of a cache of response bodies: the seam their unit tests fill
// with a map.
class BodyCache {
 public:
  using Loader = std::function<boost::asio::awaitable<std::optional<LoadedBody>>()>;
  virtual ~BodyCache() = default;

  // The body in this thread's local layer, if fresh: the hot path, with no coroutine,
  // no allocation and no lock. Callers try it before building a loader for get().
  virtual CachedBodyPtr find_local(const std::string& key) const = 0;

  // After find_local() missed: the body cached under `key`, else load()'s (then cached);
  // null when load() finds nothing to serve (nothing is cached then).
  virtual boost::asio::awaitable<CachedBodyPtr> get(std::string key, Loader load) = 0;

  // After a committed change: store `body` unless the cache already holds a newer
  // version, and drop local copies. `ttl`: the configured one when absent.
  virtual boost::asio::awaitable<void> put(std::string key, std::string body, std::int64_t version,
                                           std::optional<std::chrono::seconds> ttl) = 0;

  // After a committed change to what a family of keys (a listing) depends on: new keys
  // for the family, so that no reader is served a listing from before the change.
  virtual boost::asio::awaitable<void> bump_generation(std::string family) = 0;
  // The family's current generation, to build its keys with.
  virtual boost::asio::awaitable<std::string> generation(std::string family) = 0;

  virtual std::chrono::seconds default_ttl() const = 0;

  // A strong, quoted ETag for `body`.
  static std::string etag_of(std::string_view body);
};

class PublicCache final : public BodyCache {
 public:
  PublicCache(RedisLanes& redis, PublicCacheOptions options, prometheus::Registry& registry);

  CachedBodyPtr find_local(const std::string& key) const override;
  boost::asio::awaitable<CachedBodyPtr> get(std::string key, Loader load) override;
  boost::asio::awaitable<void> put(std::string key, std::string body, std::int64_t version,
                                   std::optional<std::chrono::seconds> redis_ttl) override;
  boost::asio::awaitable<void> bump_generation(std::string family) override;
  boost::asio::awaitable<std::string> generation(std::string family) override;
  std::chrono::seconds default_ttl() const override { return options_.redis_ttl; }

 private:
  void local_put(const std::string& key, CachedBodyPtr value) const;
  // The expired entry to serve while another request refreshes it; else null, and the
  // caller refreshes it (release_refresh when done).
  CachedBodyPtr claim_refresh(const std::string& key) const;
  void release_refresh(const std::string& key) const;
  // The body last held locally under `key`, if within stale_if_error of its expiry.
  CachedBodyPtr find_stale_if_error(const std::string& key) const;

  RedisLanes& redis_;
  const PublicCacheOptions options_;
  const std::uint64_t id_;                          // tells instances apart in thread-local maps
  std::atomic<std::uint64_t> local_generation_{0};  // bumped by every local write

  prometheus::Counter& local_misses_;
  prometheus::Counter& local_stale_;
  prometheus::Counter& redis_hits_;
  prometheus::Counter& redis_misses_;
  prometheus::Counter& redis_errors_;
  prometheus::Counter& stale_on_error_;
};

}  // namespace observernet::cache
