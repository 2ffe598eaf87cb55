#include "observernet/cache/public_cache.hpp"

#include <hiredis/hiredis.h>
#include <prometheus/counter.h>
#include <prometheus/registry.h>

#include <array>
#include <unordered_map>

#include "observernet/cache/redis_lanes.hpp"
#include "observernet/crypto/hash.hpp"
#include "observernet/error.hpp"
#include "observernet/util/log.hpp"

namespace observernet::cache {
namespace {

using boost::asio::awaitable;
using Clock = std::chrono::steady_clock;

std::atomic<std::uint64_t> next_instance{1};

constexpr std::string_view kKeyPrefix = "observernet:v1:";

// Keeps the stored value when it holds the same or a newer version (first line).
constexpr const char* kPutIfNewer = R"lua(
local current = redis.call('GET', KEYS[1])
if current then
  local version = tonumber(string.match(current, '^(%d+)\n'))
  if version and version >= tonumber(ARGV[1]) then return 0 end
end
redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
return 1
)lua";

// "<version>\n<etag>\n<body>"
std::string encode(const CachedBody& c) {
  return std::to_string(c.version) + "\n" + c.etag + "\n" + c.body;
}

CachedBodyPtr decode(std::string_view raw) {
  auto first = raw.find('\n');
  auto second = first == std::string_view::npos ? first : raw.find('\n', first + 1);
  if (second == std::string_view::npos) return nullptr;
  auto value = std::make_shared<CachedBody>();
  value->version = std::strtoll(std::string(raw.substr(0, first)).c_str(), nullptr, 10);
  value->etag = std::string(raw.substr(first + 1, second - first - 1));
  value->body = std::string(raw.substr(second + 1));
  return value;
}

// Whether Redis answered, and not with an error.
bool answered(const Reply& reply) {
  return reply != nullptr && reply->type != REDIS_REPLY_ERROR;
}

struct LocalEntry {
  CachedBodyPtr value;
  Clock::time_point expires;
  std::uint64_t generation;
  bool refreshing = false;  // a request on this thread is reloading it
};

// How long past its local TTL an entry may still be served while one request refreshes
// it: the local TTL plus this stays within the one second a change may take to show.
constexpr Clock::duration kStaleGrace = std::chrono::milliseconds(500);

// Per I/O thread: no lock on the hot path. One map per cache instance (tests run several).
thread_local std::unordered_map<std::uint64_t, std::unordered_map<std::string, LocalEntry>>
    local_entries;

prometheus::Counter& lookups(prometheus::Registry& r, const char* layer, const char* result) {
  return prometheus::BuildCounter()
      .Name("cache_lookups_total")
      .Help("Public-read cache lookups by layer (local, redis) and result")
      .Register(r)
      .Add({{"layer", layer}, {"result", result}});
}

}  // namespace

PublicCache::PublicCache(RedisLanes& redis, PublicCacheOptions options,
                         prometheus::Registry& registry)
    : redis_(redis),
      options_(options),
      id_(next_instance.fetch_add(1)),

      local_misses_(lookups(registry, "local", "miss")),
      local_stale_(lookups(registry, "local", "stale")),
      redis_hits_(lookups(registry, "redis", "hit")),
      redis_misses_(lookups(registry, "redis", "miss")),
      redis_errors_(lookups(registry, "redis", "error")),
      stale_on_error_(lookups(registry, "local", "stale_on_error")) {}

std::string BodyCache::etag_of(std::string_view body) {
  auto digest = crypto::sha256(body);
  return "\"" + crypto::to_hex(std::span(digest).first(16)) + "\"";
}

CachedBodyPtr PublicCache::find_local(const std::string& key) const {
  if (options_.local_ttl.count() == 0) return nullptr;
  auto& entries = local_entries[id_];
  auto it = entries.find(key);
  if (it == entries.end()) return nullptr;
  if (it->second.generation != local_generation_.load(std::memory_order_acquire)) {
    entries.erase(it);  // a write in this process made it wrong: never served again
    return nullptr;
  }
  if (it->second.expires < Clock::now()) return nullptr;  // stale: see claim_refresh
  // Local hits are not counted: a shared counter costs a contended atomic on the
  // hottest path. They are the route's requests minus the local misses.
  return it->second.value;
}

void PublicCache::local_put(const std::string& key, CachedBodyPtr value) const {
  if (options_.local_ttl.count() == 0) return;
  auto& entries = local_entries[id_];
  if (entries.size() >= options_.local_max_entries) entries.clear();
  entries[key] = LocalEntry{std::move(value), Clock::now() + options_.local_ttl,
                            local_generation_.load(std::memory_order_acquire)};
}

CachedBodyPtr PublicCache::claim_refresh(const std::string& key) const {
  if (options_.local_ttl.count() == 0) return nullptr;
  auto& entries = local_entries[id_];
  auto it = entries.find(key);
  if (it == entries.end() || it->second.expires + kStaleGrace < Clock::now()) return nullptr;
  if (it->second.refreshing) return it->second.value;
  it->second.refreshing = true;
  return nullptr;
}

CachedBodyPtr PublicCache::find_stale_if_error(const std::string& key) const {
  if (options_.local_ttl.count() == 0 || options_.stale_if_error.count() == 0) return nullptr;
  auto& entries = local_entries[id_];
  auto it = entries.find(key);
  if (it == entries.end() ||
      it->second.generation != local_generation_.load(std::memory_order_acquire) ||
      it->second.expires + options_.stale_if_error < Clock::now()) {
    return nullptr;
  }
  return it->second.value;
}

void PublicCache::release_refresh(const std::string& key) const {
  auto& entries = local_entries[id_];
  auto it = entries.find(key);
  if (it != entries.end()) it->second.refreshing = false;
}

awaitable<CachedBodyPtr> PublicCache::get(std::string key, Loader load) {
  // Stale-while-revalidate, per thread: when an entry expires, one request reloads it
  // and the others on this thread keep getting the entry they had, instead of all of
  // them going to Redis (and, when Redis has expired too, PostgreSQL) at once.
  if (auto stale = claim_refresh(key)) {
    local_stale_.Increment();
    co_return stale;
  }
  struct Release {
    const PublicCache& cache;
    const std::string& key;
    ~Release() { cache.release_refresh(key); }
  } release{*this, key};
  local_misses_.Increment();
  const std::string redis_key = std::string(kKeyPrefix) + key;
  CachedBodyPtr value;
  const std::array<std::string_view, 2> get_args{"GET", redis_key};
  Reply found = co_await redis_.call(get_args);
  const bool redis_up = answered(found);
  if (!redis_up) {
    redis_errors_.Increment();
  } else if (found->type == REDIS_REPLY_STRING) {
    value = decode(std::string_view(found->str, found->len));
  }
  if (value) {
    redis_hits_.Increment();
  } else {
    if (redis_up) redis_misses_.Increment();
    std::optional<LoadedBody> loaded;
    std::exception_ptr failed;
    try {
      loaded = co_await load();
    } catch (const std::exception& e) {
      if (!is_unavailable(e)) throw;
      failed = std::current_exception();
    }
    if (failed) {
      // PostgreSQL is unavailable: what this thread served last, if not too old, rather
      // than a 503. Not stored again: it stays as stale as it is.
      auto stale = find_stale_if_error(key);
      if (!stale) std::rethrow_exception(failed);
      stale_on_error_.Increment();
      co_return stale;
    }
    if (!loaded) co_return nullptr;
    auto fresh = std::make_shared<CachedBody>();
    fresh->etag = etag_of(loaded->body);
    fresh->body = std::move(loaded->body);
    fresh->version = loaded->version;
    value = fresh;
    const std::string ttl = std::to_string(loaded->redis_ttl.value_or(options_.redis_ttl).count());
    if (redis_up) {
      const std::string encoded = encode(*fresh);
      const std::array<std::string_view, 6> set_args{"SET", redis_key, encoded, "EX", ttl, "NX"};
      if (!answered(co_await redis_.call(set_args))) redis_errors_.Increment();
    }
  }
  local_put(key, value);
  co_return value;
}

awaitable<void> PublicCache::put(std::string key, std::string body, std::int64_t version,
                                 std::optional<std::chrono::seconds> redis_ttl) {
  const std::string ttl = std::to_string(redis_ttl.value_or(options_.redis_ttl).count());
  local_generation_.fetch_add(1, std::memory_order_acq_rel);
  CachedBody value{std::move(body), {}, version};
  value.etag = etag_of(value.body);
  const std::string redis_key = std::string(kKeyPrefix) + key;
  const std::string version_text = std::to_string(version), encoded = encode(value);
  const std::array<std::string_view, 7> args{"EVAL",       kPutIfNewer, "1", redis_key,
                                             version_text, encoded,     ttl};
  if (!answered(co_await redis_.call(args))) {
    // Redis missed a change: other pods may serve the previous body until its TTL ends.
    redis_errors_.Increment();
    log::warn("cache_put_failed", {{"key", key}});
  }
}

awaitable<void> PublicCache::bump_generation(std::string family) {
  local_generation_.fetch_add(1, std::memory_order_acq_rel);
  const std::string redis_key = std::string(kKeyPrefix) + family + ":generation";
  const std::array<std::string_view, 2> args{"INCR", redis_key};
  if (!answered(co_await redis_.call(args))) {
    redis_errors_.Increment();
    log::warn("cache_generation_bump_failed", {{"family", family}});
  }
}

awaitable<std::string> PublicCache::generation(std::string family) {
  const std::string local_key = family + ":generation";
  if (auto hit = find_local(local_key)) co_return hit->body;
  const std::string redis_key = std::string(kKeyPrefix) + local_key;
  const std::array<std::string_view, 2> args{"GET", redis_key};
  Reply r = co_await redis_.call(args);
  if (!answered(r)) {
    // Without Redis there is no shared listing to keep apart: any generation will do.
    redis_errors_.Increment();
    co_return "local";
  }
  std::string value = r->type == REDIS_REPLY_STRING ? std::string(r->str, r->len) : "0";
  local_put(local_key, std::make_shared<CachedBody>(CachedBody{value, {}, 0}));
  co_return value;
}

}  // namespace observernet::cache
