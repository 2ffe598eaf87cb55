#pragma once
// The server's one way to reach Redis: a pipelined connection (RedisPipeline) per I/O
// thread, or one per node of a Redis Cluster (RedisClient), each used only from its own thread, so
// that no Redis call on a request's path hops threads or waits for a lock. Redis holds only what
// can be lost: a call that Redis does not answer in time answers nullptr, and callers carry on
// without it.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <initializer_list>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "observernet/cache/redis_client.hpp"

namespace observernet::cache {

class RedisLanes {
 public:
  // One lane per executor (one per I/O thread); the first also serves callers that run
  // on none of them (a test's own thread).
  // `registry`: where a cluster's redirections are counted (user "cache"); may be null.
  RedisLanes(const std::vector<boost::asio::any_io_executor>& executors,
             const RedisEndpoint& endpoint, RedisPipelineOptions options,
             prometheus::Registry* registry = nullptr);
  ~RedisLanes();
  RedisLanes(const RedisLanes&) = delete;
  RedisLanes& operator=(const RedisLanes&) = delete;

  // The reply to one command (an error reply included), or nullptr when Redis did not
  // answer. Never throws for Redis's sake.
  boost::asio::awaitable<Reply> call(std::span<const std::string_view> args);
  boost::asio::awaitable<Reply> call(std::initializer_list<std::string_view> args) {
    return call(std::span<const std::string_view>(args.begin(), args.size()));
  }

  // True when Redis answers PING.
  boost::asio::awaitable<bool> ping();

 private:
  struct Lane {
    boost::asio::any_io_executor executor;
    std::unique_ptr<RedisClient> redis;
  };
  std::unique_ptr<RedisClusterMetrics> metrics_;  // with a cluster only
  std::vector<Lane> lanes_;
};

}  // namespace observernet::cache
