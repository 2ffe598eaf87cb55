// The server on a Redis Cluster (docs/operations.md, Redis Cluster): scripts/test starts
// six nodes, three primaries with a replica each, with a node timeout of a second.
#include <gtest/gtest.h>
#include <hiredis/hiredis.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <future>
#include <iostream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <thread>
#include <vector>

#include "observernet/app/config.hpp"
#include "observernet/client/http_client.hpp"
#include "observernet/client/voter.hpp"
#include "support.hpp"

namespace observernet::testing {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

std::vector<std::uint16_t> cluster_ports() {
  const std::string url = required_env("OBSERVERNET_TEST_REDIS_CLUSTER_URL");
  std::vector<std::uint16_t> ports;
  std::stringstream in(url.substr(url.find("://") + 3));
  for (std::string node; std::getline(in, node, ',');) {
    ports.push_back(static_cast<std::uint16_t>(std::stoi(node.substr(node.rfind(':') + 1))));
  }
  return ports;
}

// One command to one node; its reply as text (an integer as digits, an array's elements
// one per line), or "" when the node does not answer.
std::string node_command(std::uint16_t port, const std::vector<std::string>& args) {
  timeval timeout{1, 0};
  redisContext* c = redisConnectWithTimeout("127.0.0.1", port, timeout);
  if (c == nullptr || c->err != 0) {
    if (c != nullptr) redisFree(c);
    return "";
  }
  redisSetTimeout(c, timeout);
  std::vector<const char*> argv;
  std::vector<std::size_t> lengths;
  for (const auto& a : args) {
    argv.push_back(a.data());
    lengths.push_back(a.size());
  }
  auto* reply = static_cast<redisReply*>(
      redisCommandArgv(c, static_cast<int>(argv.size()), argv.data(), lengths.data()));
  std::string out;
  if (reply != nullptr) {
    if (reply->type == REDIS_REPLY_INTEGER) {
      out = std::to_string(reply->integer);
    } else if (reply->type == REDIS_REPLY_ARRAY) {
      for (std::size_t i = 0; i < reply->elements; ++i) {
        out.append(reply->element[i]->str, reply->element[i]->len).push_back('\n');
      }
    } else if (reply->str != nullptr) {
      out.assign(reply->str, reply->len);
    }
    freeReplyObject(reply);
  }
  redisFree(c);
  return out;
}

struct ClusterNode {
  std::string id;
  std::uint16_t port = 0;
  bool primary = false;
  bool failed = false;
  std::string primary_id;                        // a replica's
  std::vector<std::pair<int, int>> slot_ranges;  // a primary's
};

// CLUSTER NODES as one node sees it.
std::vector<ClusterNode> cluster_nodes(std::uint16_t asked) {
  std::vector<ClusterNode> nodes;
  std::stringstream in(node_command(asked, {"CLUSTER", "NODES"}));
  for (std::string line; std::getline(in, line);) {
    std::stringstream fields(line);
    std::string id, address, flags, primary;
    fields >> id >> address >> flags >> primary;
    if (address.empty()) continue;
    ClusterNode n;
    n.id = id;
    n.port = static_cast<std::uint16_t>(std::stoi(address.substr(address.find(':') + 1)));
    n.primary = flags.find("master") != std::string::npos;
    n.failed = flags.find("fail") != std::string::npos;
    n.primary_id = primary == "-" ? "" : primary;
    std::string skip;
    for (int i = 0; i < 4; ++i) fields >> skip;  // ping, pong, epoch, link state
    for (std::string range; fields >> range;) {
      if (range.front() == '[') continue;  // a slot being moved
      const auto dash = range.find('-');
      const int first = std::stoi(range.substr(0, dash));
      n.slot_ranges.emplace_back(
          first, dash == std::string::npos ? first : std::stoi(range.substr(dash + 1)));
    }
    nodes.push_back(n);
  }
  return nodes;
}

std::uint16_t live_port() {
  for (auto port : cluster_ports()) {
    if (node_command(port, {"PING"}) == "PONG") return port;
  }
  return 0;
}

std::vector<ClusterNode> primaries() {
  std::vector<ClusterNode> out;
  for (const auto& n : cluster_nodes(live_port())) {
    if (n.primary && !n.failed) out.push_back(n);
  }
  return out;
}

bool cluster_ok() {
  for (auto port : cluster_ports()) {
    if (node_command(port, {"CLUSTER", "INFO"}).find("cluster_state:ok") == std::string::npos) {
      return false;
    }
  }
  return true;
}

// The server's configuration on the cluster, with the rate limits on (every client
// here is 127.0.0.1, which it trusts as a proxy: X-Forwarded-For names the client), and
// a submit limit of 10 a minute for the tests that count up to it (600 otherwise).
app::Config cluster_config(bool ten_submits = true) {
  app::RawConfig raw = test_raw_config();
  raw["redis.url"] = required_env("OBSERVERNET_TEST_REDIS_CLUSTER_URL");
  raw["ratelimit.enabled"] = "true";
  if (ten_submits) raw["ratelimit.submit"] = "10";
  raw["ratelimit.trusted_proxies"] = "127.0.0.1";
  raw["ratelimit.redis_timeout_ms"] = "250";
  return app::build_config(raw);
}

std::vector<std::string> cluster_env() {
  return {"OBSERVERNET_REDIS_URL=" + required_env("OBSERVERNET_TEST_REDIS_CLUSTER_URL"),
          "OBSERVERNET_RATELIMIT_ENABLED=true", "OBSERVERNET_RATELIMIT_SUBMIT=10",
          "OBSERVERNET_RATELIMIT_TRUSTED_PROXIES=127.0.0.1",
          "OBSERVERNET_RATELIMIT_REDIS_TIMEOUT_MS=250"};
}

std::string fresh_client() {
  static std::mt19937 random{std::random_device{}()};
  std::uniform_int_distribution<int> octet(1, 254);
  return "203.0." + std::to_string(octet(random)) + "." + std::to_string(octet(random));
}

HttpResult submit_as(std::uint16_t port, const std::string& client) {
  return http_request(port, "POST", "/api/v1/voting/submit", "{}",
                      {{"Content-Type", "application/json"}, {"X-Forwarded-For", client}});
}

// Keys of the rate limiter's clients on a node.
long client_keys(std::uint16_t port) {
  std::stringstream in(node_command(port, {"KEYS", "observernet:rl:{*"}));
  long n = 0;
  for (std::string line; std::getline(in, line);) ++n;
  return n;
}

// An admin call: its answer, which must have `status`.
json admin_call(std::uint16_t port, const std::string& target, const json& body, unsigned status) {
  auto r = http_request(port, "POST", target, body.is_null() ? "" : body.dump(), admin_headers());
  EXPECT_EQ(r.status, status) << target << ": " << r.body;
  return r.body.empty() ? json() : json::parse(r.body, nullptr, false);
}

// An election with `voters` voters (v0, v1, ...), left a draft: its id, and the
// import's credentials.
std::pair<std::string, json> draft_election(std::uint16_t port, int voters) {
  const std::string id =
      admin_call(port, "/api/v1/elections",
                 {{"title", "Cluster"}, {"contests", json::parse(kStoredContests)}}, 201)
          .value("id", "");
  json roll = json::array();
  for (int i = 0; i < voters; ++i) roll.push_back({{"voterId", "v" + std::to_string(i)}});
  json imported = admin_call(port, "/api/v1/elections/" + id + "/voters", {{"voters", roll}}, 201);
  return {id, imported["credentials"]};
}

void open_election(std::uint16_t port, const std::string& id) {
  admin_call(port, "/api/v1/elections/" + id + "/open", nullptr, 200);
}

class RedisClusterTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(eventually(cluster_ok, 30s)) << "the cluster is not up"; }
};

// Twenty clients, whose keys fall on every primary, each get exactly their limit of 10
// from two processes together.
TEST_F(RedisClusterTest, LimitsAreSharedAndExactAcrossTheNodes) {
  TestServer in_process(cluster_config());
  auto [child, child_port] = spawn_server(cluster_env());
  std::vector<long> before;
  for (const auto& p : primaries()) before.push_back(client_keys(p.port));
  for (int c = 0; c < 20; ++c) {
    const std::string client = fresh_client();
    for (int i = 0; i < 10; ++i) {
      EXPECT_EQ(submit_as(i % 2 == 0 ? in_process.port() : child_port, client).status, 400u)
          << "client " << c << ", request " << i;
    }
    EXPECT_EQ(submit_as(in_process.port(), client).status, 429u) << "client " << c;
    EXPECT_EQ(submit_as(child_port, client).status, 429u) << "client " << c;
  }
  const auto after = primaries();
  ASSERT_EQ(after.size(), before.size());
  for (std::size_t i = 0; i < after.size(); ++i) {
    EXPECT_GT(client_keys(after[i].port), before[i]) << "no client's keys on " << after[i].port;
  }
  EXPECT_EQ(metric_value(in_process.port(), "rate_limit_fallback"), 0);
  EXPECT_EQ(metric_value(child_port, "rate_limit_fallback"), 0);
  ::kill(child.pid, SIGTERM);
  EXPECT_EQ(child.wait_exit(), 0) << child.output;
}

// The public cache on the cluster: an election opened by one process is served from
// Redis by another.
TEST_F(RedisClusterTest, ThePublicCacheIsShared) {
  TestServer in_process(cluster_config());
  auto [child, child_port] = spawn_server(cluster_env());
  const std::string id = draft_election(in_process.port(), 1).first;
  open_election(in_process.port(), id);
  const double hits_before =
      metric_value(child_port, R"(cache_lookups_total{layer="redis",result="hit"})");
  auto view = http_request(child_port, "GET", "/api/v1/public/elections/" + id);
  ASSERT_EQ(view.status, 200u) << view.body;
  EXPECT_EQ(json::parse(view.body)["status"], "open");
  EXPECT_EQ(metric_value(child_port, R"(cache_lookups_total{layer="redis",result="hit"})"),
            std::max(hits_before, 0.0) + 1);
  ::kill(child.pid, SIGTERM);
  EXPECT_EQ(child.wait_exit(), 0) << child.output;
  remove_election_as_owner(id);
}

// Load on the rate limiter: clients in turn from a pool of 60 (their keys on every
// primary), each request's status counted, until stopped.
class LimiterLoad {
 public:
  explicit LimiterLoad(std::uint16_t port) {
    for (int i = 0; i < 60; ++i) clients_.push_back(fresh_client());
    thread_ = std::thread([this, port] {
      for (std::size_t i = 0; !stop_; ++i) {
        const unsigned status = submit_as(port, clients_[i % clients_.size()]).status;
        std::lock_guard lock(mutex_);
        ++statuses_[status];
      }
    });
  }
  ~LimiterLoad() { stop(); }
  std::map<unsigned, int> stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    std::lock_guard lock(mutex_);
    return statuses_;
  }

 private:
  std::vector<std::string> clients_;
  std::atomic<bool> stop_{false};
  std::mutex mutex_;
  std::map<unsigned, int> statuses_;
  std::thread thread_;
};

std::string describe(const std::map<unsigned, int>& statuses) {
  std::string out;
  for (const auto& [status, n] : statuses) {
    out += std::to_string(status) + ": " + std::to_string(n) + "  ";
  }
  return out;
}

// A primary killed while voters vote and other clients hit the limiter: its replica takes
// over, no vote fails, the limiter decides in-process while the slots have no primary and
// in Redis again once the replica serves them.
TEST_F(RedisClusterTest, APrimaryKilledUnderLoadFailsNoVote) {
  TestServer server(cluster_config(false));
  constexpr int kVoters = 60;
  const auto [id, credentials] = draft_election(server.port(), kVoters);
  ASSERT_EQ(credentials.size(), static_cast<std::size_t>(kVoters));
  open_election(server.port(), id);

  LimiterLoad load(server.port());
  std::atomic<int> voted{0};
  std::vector<std::string> failures;
  std::thread voting([&] {
    client::HttpClient client("http://127.0.0.1:" + std::to_string(server.port()));
    for (const auto& c : credentials) {
      try {
        client::cast_vote(client, {id, c["voterId"], c["credential"], {{"mayor", "alice"}}});
        ++voted;
      } catch (const std::exception& e) {
        failures.push_back(e.what());
      }
      std::this_thread::sleep_for(50ms);
    }
  });
  std::this_thread::sleep_for(500ms);
  // The primary with the most clients' keys, killed outright.
  auto before = primaries();
  ASSERT_EQ(before.size(), 3u);
  const auto victim = *std::max_element(before.begin(), before.end(), [](auto& a, auto& b) {
    return client_keys(a.port) < client_keys(b.port);
  });
  std::string replica_id;
  for (const auto& n : cluster_nodes(victim.port)) {
    if (n.primary_id == victim.id) replica_id = n.id;
  }
  ASSERT_FALSE(replica_id.empty()) << "the primary on " << victim.port << " has no replica";
  const auto replica_is_primary = [&] {
    for (const auto& n : cluster_nodes(live_port())) {
      if (n.id == replica_id) return n.primary;
    }
    return false;
  };
  const std::string dir = required_env("OBSERVERNET_TEST_REDIS_CLUSTER_DIR");
  const std::string pid = read_file(dir + "/" + std::to_string(victim.port) + "/redis.pid");
  ASSERT_FALSE(pid.empty());
  const auto killed = Clock::now();
  ASSERT_EQ(::kill(std::stoi(pid), SIGKILL), 0);

  // In-process decisions while its slots have no primary, then Redis again: after the
  // promotion, no in-process decision for 25 looks in a row (half a second).
  bool fell_back = false;
  int in_redis = 0;
  std::optional<Clock::duration> promoted, resumed;
  while (Clock::now() - killed < 20s && !resumed) {
    const bool fallback = metric_value(server.port(), "rate_limit_fallback") == 1;
    fell_back = fell_back || fallback;
    if (!promoted && replica_is_primary()) promoted = Clock::now() - killed;
    in_redis = fallback || !promoted ? 0 : in_redis + 1;
    if (in_redis == 25) resumed = Clock::now() - killed;
    std::this_thread::sleep_for(20ms);
  }
  voting.join();
  const auto statuses = load.stop();
  const auto ms = [](std::optional<Clock::duration> d) {
    return d ? std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(*d).count())
             : std::string("never");
  };
  std::cout << "primary on port " << victim.port << " killed; replica promoted after "
            << ms(promoted) << " ms; limiter back in Redis after " << ms(resumed) << " ms; votes "
            << voted << " of " << kVoters << ", failed " << failures.size() << "; limiter load "
            << describe(statuses) << "\n";
  EXPECT_TRUE(failures.empty()) << failures.front();
  EXPECT_EQ(voted, kVoters);
  EXPECT_TRUE(fell_back) << "the limiter never decided in-process";
  EXPECT_TRUE(promoted.has_value()) << "no replica took over";
  EXPECT_TRUE(resumed.has_value()) << "the limiter did not come back to Redis";
  for (const auto& [status, n] : statuses) {
    EXPECT_TRUE(status == 400 || status == 429) << status << " x " << n;
  }

  // The killed node comes back as a replica of the node that took over.
  ASSERT_EQ(run_shell("sh " + dir + "/" + std::to_string(victim.port) + "/start"), 0);
  EXPECT_TRUE(eventually(cluster_ok, 30s));
  remove_election_as_owner(id);
}

// Slots moved between primaries while clients hit the limiter: the server follows MOVED
// and ASK, and no request falls back or fails.
TEST_F(RedisClusterTest, AReshardUnderLoadIsFollowed) {
  TestServer server(cluster_config(false));
  LimiterLoad load(server.port());
  std::this_thread::sleep_for(300ms);
  const auto nodes = primaries();
  ASSERT_EQ(nodes.size(), 3u);
  const auto started = Clock::now();
  auto reshard = std::async(std::launch::async, [&] {
    return run_shell("redis-cli --cluster reshard 127.0.0.1:" + std::to_string(nodes[0].port) +
                     " --cluster-from " + nodes[0].id + " --cluster-to " + nodes[1].id +
                     " --cluster-slots 1000 --cluster-yes --cluster-pipeline 10 >/dev/null 2>&1");
  });
  int looks = 0, in_process = 0;
  while (reshard.wait_for(20ms) != std::future_status::ready) {
    ++looks;
    if (metric_value(server.port(), "rate_limit_fallback") == 1) ++in_process;
  }
  const auto took = Clock::now() - started;
  std::this_thread::sleep_for(300ms);
  const auto statuses = load.stop();
  const double moved = metric_value(
      server.port(), R"(redis_cluster_redirects_total{kind="moved",user="ratelimit"})");
  const double ask =
      metric_value(server.port(), R"(redis_cluster_redirects_total{kind="ask",user="ratelimit"})");
  std::cout << "1000 slots moved in "
            << std::chrono::duration_cast<std::chrono::milliseconds>(took).count()
            << " ms; redirections followed: MOVED " << moved << ", ASK " << ask << "; requests "
            << describe(statuses) << "; the limiter in-process at " << in_process << " of " << looks
            << " looks\n";
  ASSERT_EQ(reshard.get(), 0);
  EXPECT_GT(moved, 0) << "the server never met a moved slot";
  for (const auto& [status, n] : statuses) {
    EXPECT_TRUE(status == 400 || status == 429) << status << " x " << n;
  }
  EXPECT_EQ(metric_value(server.port(), "rate_limit_fallback"), 0);
  EXPECT_TRUE(eventually(cluster_ok, 10s));
}

// A slot being migrated, set up by hand: the node it leaves answers ASK for a key it does
// not hold, and the server sends the command to the importing node behind an ASKING.
TEST_F(RedisClusterTest, AMigratingSlotIsFollowedThroughAsk) {
  TestServer server(cluster_config(false));
  const std::string id = draft_election(server.port(), 1).first;
  ASSERT_FALSE(id.empty());
  // The key the opening's publication writes, and its slot's node and another.
  const std::string key = "observernet:v1:public:election:" + id;
  const int slot = std::stoi(node_command(live_port(), {"CLUSTER", "KEYSLOT", key}));
  const auto nodes = primaries();
  ASSERT_EQ(nodes.size(), 3u);
  const auto owner = std::find_if(nodes.begin(), nodes.end(), [&](const ClusterNode& n) {
    return std::ranges::any_of(
        n.slot_ranges, [&](auto range) { return range.first <= slot && slot <= range.second; });
  });
  ASSERT_NE(owner, nodes.end());
  const ClusterNode& to = nodes[(owner - nodes.begin() + 1) % nodes.size()];
  const std::string s = std::to_string(slot);
  ASSERT_EQ(node_command(to.port, {"CLUSTER", "SETSLOT", s, "IMPORTING", owner->id}), "OK");
  ASSERT_EQ(node_command(owner->port, {"CLUSTER", "SETSLOT", s, "MIGRATING", to.id}), "OK");

  const double ask_before =
      metric_value(server.port(), R"(redis_cluster_redirects_total{kind="ask",user="cache"})");
  open_election(server.port(), id);
  EXPECT_EQ(
      metric_value(server.port(), R"(redis_cluster_redirects_total{kind="ask",user="cache"})"),
      ask_before + 1);
  // The migration ended: the slot is the importing node's, and the key is there.
  for (const auto& n : nodes) {
    EXPECT_EQ(node_command(n.port, {"CLUSTER", "SETSLOT", s, "NODE", to.id}), "OK");
  }
  EXPECT_NE(node_command(to.port, {"GET", key}).find("\"status\":\"open\""), std::string::npos);
  EXPECT_TRUE(eventually(cluster_ok, 10s));
  remove_election_as_owner(id);
}
}  // namespace
}  // namespace observernet::testing
