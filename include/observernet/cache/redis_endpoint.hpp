#pragma once
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace observernet::cache {

// Where Redis is, parsed from redis.url = redis://[[user]:password@]host[:port][/db].
// An empty host is no Redis (http.routes = web): nothing connects, and every command
// answers nullptr at once, as a Redis that is down does.
struct RedisNode {
  std::string host;
  std::uint16_t port = 6379;
  bool operator==(const RedisNode&) const = default;
};

struct RedisEndpoint {
  std::string host = "127.0.0.1";
  std::uint16_t port = 6379;
  std::string username;  // Redis 6 ACL user; empty: the default user
  std::string password;  // secret
  unsigned db = 0;
  // A Redis Cluster's seed nodes (redis+cluster://host:port,host:port, or
  // redis.cluster_nodes): the cluster's map of slots is read from them, and every
  // command goes to the node of its key's slot (cache/redis_client.hpp). Empty: one
  // Redis at host:port. A cluster has one database: `db` is 0.
  std::vector<RedisNode> cluster_nodes;
  bool cluster() const { return !cluster_nodes.empty(); }
  bool operator==(const RedisEndpoint&) const = default;
};

// How the server's pipelined connections to Redis (one per I/O thread) behave:
// redis.connect_timeout_ms, redis.command_timeout_ms, redis.retry_backoff_ms and
// redis.max_in_flight for the public cache; the rate limiter sets its own.
struct RedisPipelineOptions {
  std::chrono::milliseconds connect_timeout{200};
  std::chrono::milliseconds command_timeout{5};
  std::chrono::milliseconds retry_backoff{1'000};
  std::size_t max_in_flight = 1'000;
};

}  // namespace observernet::cache
