#pragma once
// One pipelined Redis connection for one I/O thread, for calls on the hot path (the rate
// limiter runs one per request, the public cache one per miss of its local layer):
// commands issued in one turn of the event loop leave in one write, behind any still in
// flight, and replies are matched in order. No thread hop and no lock: every member is
// used only from its executor's one thread.
//
// Redis only holds what can be lost, so every failure is an empty answer that callers
// fall back from: a connect that failed less than retry_backoff ago, a connection not
// up within command_timeout, more than max_in_flight commands waiting, no reply within
// command_timeout. A late reply holds up every reply behind it, so it closes the
// connection (the commands in flight answer empty) and the next call after
// retry_backoff connects again.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstddef>
#include <memory>
#include <span>
#include <string_view>

#include "observernet/cache/redis_endpoint.hpp"

struct redisReply;

namespace observernet::cache {

struct ReplyDeleter {
  void operator()(redisReply* r) const;
};
using Reply = std::unique_ptr<redisReply, ReplyDeleter>;

class RedisPipeline {
 public:
  RedisPipeline(boost::asio::any_io_executor executor, RedisEndpoint endpoint,
                RedisPipelineOptions options);
  // Closes the connection (on the executor's thread); calls in flight answer nullptr.
  ~RedisPipeline();
  RedisPipeline(const RedisPipeline&) = delete;
  RedisPipeline& operator=(const RedisPipeline&) = delete;

  // The reply to one command (arguments binary-safe), an error reply included; nullptr
  // when Redis did not answer (see above). Never throws for Redis's sake.
  boost::asio::awaitable<Reply> call(std::span<const std::string_view> args);
  // The same, right behind an ASKING in the same write, which no other command can come
  // between: a Redis Cluster's ASK redirection (cache/redis_client.hpp).
  boost::asio::awaitable<Reply> call_asking(std::span<const std::string_view> args);

 private:
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace observernet::cache
