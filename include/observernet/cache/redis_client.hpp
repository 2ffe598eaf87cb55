#pragma once
// What the server's Redis calls go through on one I/O thread: one RedisPipeline to a
// single Redis, or, for a Redis Cluster, one per node, each command sent to the node
// that serves its key's slot (cache/redis_slots.hpp).
//
// The cluster's map of slots is read with CLUSTER SLOTS from the seed nodes, then from
// any node known. A MOVED answer moves that slot to the node it names and the command
// is sent there; an ASK answer sends it there once, behind an ASKING; either starts a
// reread of the map, as does a node that does not answer (a primary lost: its replica
// takes over within the cluster's node timeout). At most one reread at a time, and at
// most one each refresh_interval. A command without a key (PING) goes to any node.
//
// As with one Redis, a call never throws for Redis's sake: a node that does not answer,
// a slot no node serves yet, or a redirection loop answer nullptr (callers fall back),
// and a cluster's own errors (CLUSTERDOWN, TRYAGAIN) are error replies.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <memory>
#include <span>
#include <string_view>

#include "observernet/cache/redis_pipeline.hpp"

namespace prometheus {
class Counter;
class Registry;
}  // namespace prometheus

namespace observernet::cache {

// Shared by every RedisClient of one user (the cache, the rate limiter).
struct RedisClusterMetrics {
  RedisClusterMetrics(prometheus::Registry& registry, const std::string& user);
  // Never null: pointers, not references, so that they can be named by member pointer.
  prometheus::Counter* moved;
  prometheus::Counter* ask;
  prometheus::Counter* map_reads;
  prometheus::Counter* map_read_failures;
};

class RedisClient {
 public:
  // `metrics`: counted there when `endpoint` is a cluster; may be null.
  RedisClient(boost::asio::any_io_executor executor, const RedisEndpoint& endpoint,
              RedisPipelineOptions options, RedisClusterMetrics* metrics = nullptr);
  ~RedisClient();
  RedisClient(const RedisClient&) = delete;
  RedisClient& operator=(const RedisClient&) = delete;

  // As RedisPipeline::call.
  boost::asio::awaitable<Reply> call(std::span<const std::string_view> args);

 private:
  struct Cluster;
  std::unique_ptr<RedisPipeline> single_;
  std::shared_ptr<Cluster> cluster_;
};

}  // namespace observernet::cache
