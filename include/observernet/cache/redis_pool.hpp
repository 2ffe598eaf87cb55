#pragma once
// Redis access over hiredis with the same discipline as PostgreSQL: a strict pool on
// its own threads, short timeouts, broken connections replaced. Redis only holds
// what can be lost, so callers treat its errors as "carry on without it".
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "observernet/cache/redis_endpoint.hpp"
#include "observernet/util/pool.hpp"

struct redisContext;
struct redisReply;

namespace observernet::cache {

struct ReplyDeleter {
  void operator()(redisReply* r) const;
};
using Reply = std::unique_ptr<redisReply, ReplyDeleter>;

class RedisConnection {
 public:
  RedisConnection(const RedisEndpoint& endpoint, std::chrono::milliseconds connect_timeout,
                  std::chrono::milliseconds command_timeout);
  ~RedisConnection();
  RedisConnection(const RedisConnection&) = delete;
  RedisConnection& operator=(const RedisConnection&) = delete;

  // One command, arguments binary-safe. Throws std::runtime_error on I/O errors
  // (the connection is then broken) and on an error reply.
  Reply command(std::initializer_list<std::string_view> args);
  bool broken() const;

 private:
  redisContext* ctx_ = nullptr;
};

class RedisPool {
 public:
  RedisPool(RedisEndpoint endpoint, util::PoolOptions options,
            std::chrono::milliseconds command_timeout, prometheus::Registry& registry);

  template <class F>
  boost::asio::awaitable<std::invoke_result_t<F&, RedisConnection&>> run(F fn) {
    return pool_.run(std::move(fn));
  }

  // True when Redis answers PING; never throws.
  boost::asio::awaitable<bool> ping();
  void warm_up() { pool_.warm_up(); }
  void shutdown() { pool_.shutdown(); }

 private:
  util::BlockingPool<RedisConnection> pool_;
};

}  // namespace observernet::cache
