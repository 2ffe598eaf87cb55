#include "observernet/cache/redis_client.hpp"

#include <hiredis/hiredis.h>
#include <prometheus/counter.h>
#include <prometheus/registry.h>

#include <algorithm>
#include <array>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <chrono>
#include <string>
#include <vector>

#include "observernet/cache/redis_slots.hpp"

namespace observernet::cache {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

namespace {

// The map is read again at most this often, however many answers ask for it.
constexpr std::chrono::milliseconds kMapReadInterval{100};
// Redirections followed for one command: a slot moves once; more is a map in flux.
constexpr int kMaxRedirects = 5;

prometheus::Family<prometheus::Counter>& redirects_family(prometheus::Registry& r) {
  return prometheus::BuildCounter()
      .Name("redis_cluster_redirects_total")
      .Help("Redis Cluster answers that sent a command to another node (MOVED, ASK)")
      .Register(r);
}

prometheus::Family<prometheus::Counter>& map_reads_family(prometheus::Registry& r) {
  return prometheus::BuildCounter()
      .Name("redis_cluster_map_reads_total")
      .Help("Reads of the Redis Cluster's map of slots (CLUSTER SLOTS), by result")
      .Register(r);
}

}  // namespace

RedisClusterMetrics::RedisClusterMetrics(prometheus::Registry& registry, const std::string& user)
    : moved(&redirects_family(registry).Add({{"user", user}, {"kind", "moved"}})),
      ask(&redirects_family(registry).Add({{"user", user}, {"kind", "ask"}})),
      map_reads(&map_reads_family(registry).Add({{"user", user}, {"result", "ok"}})),
      map_read_failures(&map_reads_family(registry).Add({{"user", user}, {"result", "failed"}})) {}

// Every member is used only on `executor`'s one thread.
struct RedisClient::Cluster : std::enable_shared_from_this<Cluster> {
  struct Node {
    RedisNode where;
    std::unique_ptr<RedisPipeline> redis;
  };

  Cluster(asio::any_io_executor executor, const RedisEndpoint& endpoint,
          RedisPipelineOptions options, RedisClusterMetrics* metrics)
      : executor(std::move(executor)),
        seeds(endpoint.cluster_nodes),
        credentials(endpoint),
        options(options),
        metrics(metrics),
        slots(kClusterSlots, nullptr) {
    credentials.cluster_nodes.clear();
    credentials.db = 0;
  }

  asio::any_io_executor executor;
  const std::vector<RedisNode> seeds;
  RedisEndpoint credentials;  // user and password for every node
  const RedisPipelineOptions options;
  RedisClusterMetrics* const metrics;
  std::vector<std::unique_ptr<Node>> nodes;  // every node met, never removed
  std::vector<Node*> slots;                  // the node serving each slot, as last known
  Node* any = nullptr;                       // for commands without a key
  bool reading = false;
  Clock::time_point next_read{};

  Node& node(const RedisNode& where) {
    for (auto& n : nodes) {
      if (n->where == where) return *n;
    }
    RedisEndpoint endpoint = credentials;
    endpoint.host = where.host;
    endpoint.port = where.port;
    nodes.push_back(std::make_unique<Node>(
        Node{where, std::make_unique<RedisPipeline>(executor, endpoint, options)}));
    return *nodes.back();
  }

  // Counts an event when there are metrics: count(&RedisClusterMetrics::ask).
  void count(prometheus::Counter* RedisClusterMetrics::*counter) const {
    if (metrics != nullptr) (metrics->*counter)->Increment();
  }

  // CLUSTER SLOTS: [[start, end, [host, port, id, ...], replica...], ...]. False when the
  // reply is not one.
  bool take_map(const redisReply& reply, const RedisNode& asked) {
    if (reply.type != REDIS_REPLY_ARRAY || reply.elements == 0) return false;
    std::vector<Node*> fresh(kClusterSlots, nullptr);
    for (std::size_t i = 0; i < reply.elements; ++i) {
      const redisReply& range = *reply.element[i];
      if (range.type != REDIS_REPLY_ARRAY || range.elements < 3) return false;
      const redisReply& start = *range.element[0];
      const redisReply& end = *range.element[1];
      const redisReply& primary = *range.element[2];
      if (start.type != REDIS_REPLY_INTEGER || end.type != REDIS_REPLY_INTEGER ||
          primary.type != REDIS_REPLY_ARRAY || primary.elements < 2 ||
          primary.element[0]->type != REDIS_REPLY_STRING ||
          primary.element[1]->type != REDIS_REPLY_INTEGER || start.integer < 0 ||
          end.integer < start.integer || end.integer >= static_cast<long long>(kClusterSlots) ||
          primary.element[1]->integer <= 0 || primary.element[1]->integer > 65535) {
        return false;
      }
      std::string host(primary.element[0]->str, primary.element[0]->len);
      // "" or "?": the node does not know its own address; the one asked does.
      if (host.empty() || host == "?") host = asked.host;
      Node* serving =
          &node({std::move(host), static_cast<std::uint16_t>(primary.element[1]->integer)});
      for (auto s = start.integer; s <= end.integer; ++s)
        fresh[static_cast<std::size_t>(s)] = serving;
    }
    slots = std::move(fresh);
    any = nullptr;
    for (Node* n : slots) {
      if (n != nullptr) {
        any = n;
        break;
      }
    }
    return true;
  }

  // Asks the nodes known, then the seeds, until one answers with a map.
  asio::awaitable<void> read_map() {
    if (reading) co_return;
    reading = true;
    auto self = shared_from_this();
    std::vector<RedisNode> ask;
    for (const auto& n : nodes) ask.push_back(n->where);
    for (const auto& s : seeds) {
      if (std::find(ask.begin(), ask.end(), s) == ask.end()) ask.push_back(s);
    }
    bool read = false;
    static constexpr std::array<std::string_view, 2> kSlots{"CLUSTER", "SLOTS"};
    for (const RedisNode& where : ask) {
      Reply reply = co_await node(where).redis->call(kSlots);
      if (reply && take_map(*reply, where)) {
        read = true;
        break;
      }
    }
    count(read ? &RedisClusterMetrics::map_reads : &RedisClusterMetrics::map_read_failures);
    next_read = Clock::now() + kMapReadInterval;
    reading = false;
  }

  void read_map_soon() {
    if (reading || Clock::now() < next_read) return;
    asio::co_spawn(
        executor, [self = shared_from_this()]() { return self->read_map(); }, asio::detached);
  }

  asio::awaitable<Reply> call(std::span<const std::string_view> args) {
    auto self = shared_from_this();
    if (any == nullptr) {
      co_await read_map();  // the first call, or none since the map could be read
      if (any == nullptr) co_return nullptr;
    }
    const auto key = command_key(args);
    Node* target = key ? slots[hash_slot(*key)] : any;
    bool asking = false;
    for (int hop = 0; hop <= kMaxRedirects; ++hop) {
      if (target == nullptr) break;  // a slot no node serves, as last known
      // Not one conditional expression of two co_awaits: GCC 12 destroys its result twice.
      Reply reply;
      if (asking) {
        reply = co_await target->redis->call_asking(args);
      } else {
        reply = co_await target->redis->call(args);
      }
      if (!reply) break;  // the node is away: maybe failed over
      if (reply->type != REDIS_REPLY_ERROR) co_return reply;
      const auto redirect = parse_redirect(std::string_view(reply->str, reply->len));
      if (!redirect) co_return reply;
      target =
          &node({redirect->host.empty() ? target->where.host : redirect->host, redirect->port});
      asking = redirect->ask;
      if (asking) {
        count(&RedisClusterMetrics::ask);
      } else {
        slots[redirect->slot] = target;
        count(&RedisClusterMetrics::moved);
        read_map_soon();
      }
    }
    read_map_soon();
    co_return nullptr;
  }
};

RedisClient::RedisClient(asio::any_io_executor executor, const RedisEndpoint& endpoint,
                         RedisPipelineOptions options, RedisClusterMetrics* metrics) {
  if (!endpoint.cluster()) {
    single_ = std::make_unique<RedisPipeline>(std::move(executor), endpoint, options);
    return;
  }
  cluster_ = std::make_shared<Cluster>(std::move(executor), endpoint, options, metrics);
  // Mapped before the first request needs it.
  asio::co_spawn(
      cluster_->executor, [cluster = cluster_]() { return cluster->read_map(); }, asio::detached);
}

RedisClient::~RedisClient() = default;

asio::awaitable<Reply> RedisClient::call(std::span<const std::string_view> args) {
  if (single_) return single_->call(args);
  return cluster_->call(args);
}

}  // namespace observernet::cache
