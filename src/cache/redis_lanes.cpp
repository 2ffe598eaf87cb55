#include "observernet/cache/redis_lanes.hpp"

#include <hiredis/hiredis.h>

#include <array>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <stdexcept>

namespace observernet::cache {

namespace asio = boost::asio;

RedisLanes::RedisLanes(const std::vector<asio::any_io_executor>& executors,
                       const RedisEndpoint& endpoint, RedisPipelineOptions options,
                       prometheus::Registry* registry) {
  if (executors.empty()) throw std::invalid_argument("RedisLanes: no executor");
  if (endpoint.cluster() && registry != nullptr) {
    metrics_ = std::make_unique<RedisClusterMetrics>(*registry, "cache");
  }
  for (const auto& executor : executors) {
    lanes_.push_back(
        {executor, std::make_unique<RedisClient>(executor, endpoint, options, metrics_.get())});
  }
}

RedisLanes::~RedisLanes() = default;

asio::awaitable<Reply> RedisLanes::call(std::span<const std::string_view> args) {
  const auto executor = co_await asio::this_coro::executor;
  for (auto& lane : lanes_) {
    if (lane.executor == executor) co_return co_await lane.redis->call(args);
  }
  // Off every lane's thread: the first lane makes the call on its own thread, and this
  // coroutine resumes on its own executor.
  RedisClient& first = *lanes_.front().redis;
  co_return co_await asio::co_spawn(
      lanes_.front().executor, [&first, args]() { return first.call(args); }, asio::use_awaitable);
}

asio::awaitable<bool> RedisLanes::ping() {
  static constexpr std::array<std::string_view, 1> kPing{"PING"};
  Reply reply = co_await call(kPing);
  co_return reply != nullptr && reply->type == REDIS_REPLY_STATUS;
}

}  // namespace observernet::cache
