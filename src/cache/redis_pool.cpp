#include "observernet/cache/redis_pool.hpp"

#include <hiredis/hiredis.h>

#include <stdexcept>

namespace observernet::cache {
namespace {

timeval to_timeval(std::chrono::milliseconds ms) {
  return timeval{static_cast<time_t>(ms.count() / 1000),
                 static_cast<suseconds_t>((ms.count() % 1000) * 1000)};
}

}  // namespace

void ReplyDeleter::operator()(redisReply* r) const {
  freeReplyObject(r);
}

RedisConnection::RedisConnection(const RedisEndpoint& endpoint,
                                 std::chrono::milliseconds connect_timeout,
                                 std::chrono::milliseconds command_timeout) {
  ctx_ = redisConnectWithTimeout(endpoint.host.c_str(), endpoint.port, to_timeval(connect_timeout));
  if (!ctx_) throw std::runtime_error("redis: cannot allocate a context");
  if (ctx_->err) {
    std::string why = ctx_->errstr;
    redisFree(ctx_);
    ctx_ = nullptr;
    throw std::runtime_error("redis: " + why);
  }
  redisSetTimeout(ctx_, to_timeval(command_timeout));
  redisEnableKeepAlive(ctx_);
  try {
    if (!endpoint.username.empty()) {
      command({"AUTH", endpoint.username, endpoint.password});
    } else if (!endpoint.password.empty()) {
      command({"AUTH", endpoint.password});
    }
    if (endpoint.db != 0) command({"SELECT", std::to_string(endpoint.db)});
  } catch (...) {
    redisFree(ctx_);
    ctx_ = nullptr;
    throw;
  }
}

RedisConnection::~RedisConnection() {
  if (ctx_) redisFree(ctx_);
}

bool RedisConnection::broken() const {
  return !ctx_ || ctx_->err != 0;
}

Reply RedisConnection::command(std::initializer_list<std::string_view> args) {
  std::vector<const char*> argv;
  std::vector<size_t> lengths;
  argv.reserve(args.size());
  lengths.reserve(args.size());
  for (auto a : args) {
    argv.push_back(a.data());
    lengths.push_back(a.size());
  }
  Reply reply(static_cast<redisReply*>(
      redisCommandArgv(ctx_, static_cast<int>(argv.size()), argv.data(), lengths.data())));
  if (!reply) throw std::runtime_error(std::string("redis: ") + ctx_->errstr);
  if (reply->type == REDIS_REPLY_ERROR) {
    throw std::runtime_error("redis: " + std::string(reply->str, reply->len));
  }
  return reply;
}

RedisPool::RedisPool(RedisEndpoint endpoint, util::PoolOptions options,
                     std::chrono::milliseconds command_timeout, prometheus::Registry& registry)
    : pool_(
          "redis", options,
          [endpoint = std::move(endpoint), connect = options.connect_timeout, command_timeout] {
            return std::make_unique<RedisConnection>(endpoint, connect, command_timeout);
          },
          nullptr, registry) {}

boost::asio::awaitable<bool> RedisPool::ping() {
  try {
    co_return co_await pool_.run([](RedisConnection& c) {
      Reply r = c.command({"PING"});
      return r->type == REDIS_REPLY_STATUS;
    });
  } catch (const std::exception&) {
    co_return false;
  }
}

}  // namespace observernet::cache
