// Three server processes behind nginx, sharing the PostgreSQL (with its streaming replica
// for the public reads) and the Redis Cluster: the local stack of scripts/cluster
// (docs/operations.md, Several instances), what one process cannot show.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <ctime>
#include <future>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>
#include <random>
#include <set>
#include <thread>
#include <vector>

#include "observernet/crypto/blind_rsa.hpp"
#include "observernet/crypto/hash.hpp"
#include "support.hpp"

namespace observernet::testing {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

std::string lib_sh(const std::string& function_call) {
  return "bash -c 'source " OBSERVERNET_SOURCE_DIR "/scripts/lib.sh && " + function_call + "'";
}

// An election's public status; "" for a problem (a draft's 404).
std::string status_of(const json& view) {
  return view.is_object() && view.contains("status") && view["status"].is_string()
             ? view["status"].get<std::string>()
             : "";
}

// RFC 3339, to the second, `from_now` from now.
std::string utc_in(std::chrono::seconds from_now) {
  const std::time_t t =
      std::chrono::system_clock::to_time_t(std::chrono::system_clock::now() + from_now);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return text;
}

class StackTest : public ::testing::Test {
 protected:
  static constexpr int kServers = 3;

  static void SetUpTestSuite() {
    for (int i = 0; i < kServers; ++i) {
      auto [child, port] = spawn_server(
          {"OBSERVERNET_REDIS_URL=" + required_env("OBSERVERNET_TEST_REDIS_CLUSTER_URL"),
           "OBSERVERNET_DATABASE_REPLICA_URLS=" + required_env("OBSERVERNET_TEST_REPLICA_URL"),
           "OBSERVERNET_RATELIMIT_ENABLED=true", "OBSERVERNET_RATELIMIT_SUBMIT=10",
           "OBSERVERNET_RATELIMIT_TRUSTED_PROXIES=127.0.0.1",
           "OBSERVERNET_RATELIMIT_REDIS_TIMEOUT_MS=250",
           "OBSERVERNET_BOARD_SEQUENCE_INTERVAL_MS=20", "OBSERVERNET_SCHEDULER_INTERVAL_MS=100"});
      servers_.push_back(std::make_unique<Child>(std::move(child)));
      ports_.push_back(port);
    }
    dir_ = std::string(OBSERVERNET_SOURCE_DIR) + "/build/stack-test-nginx-" +
           std::to_string(::getpid());
    nginx_port_ = free_port();
    std::string command = "nginx_front_start " + dir_ + " " + std::to_string(nginx_port_);
    for (auto port : ports_) command += " " + std::to_string(port);
    ASSERT_EQ(run_shell(lib_sh(command)), 0);
  }

  static void TearDownTestSuite() {
    run_shell(lib_sh("nginx_front_stop " + dir_ + "; rm -rf " + dir_));
    for (auto& s : servers_) ::kill(s->pid, SIGTERM);
    for (auto& s : servers_) EXPECT_EQ(s->wait_exit(), 0) << s->output;
    servers_.clear();
    ports_.clear();
  }

  static json call(std::uint16_t port, const std::string& method, const std::string& target,
                   const json& body = nullptr, const Headers& headers = kJsonHeaders,
                   unsigned* status = nullptr) {
    auto r = http_request(port, method, target, body.is_null() ? "" : body.dump(), headers);
    if (status != nullptr) *status = r.status;
    return json::parse(r.body, nullptr, false);
  }

  // An election with `voters` voters (v0, ...), created through nginx; opened unless a
  // schedule is given. Fills credentials_.
  std::string election(int voters, json schedule = nullptr) {
    json definition = {{"title", "Stack"}, {"contests", json::parse(kStoredContests)}};
    if (!schedule.is_null()) definition.update(schedule);
    unsigned status = 0;
    const std::string id =
        call(nginx_port_, "POST", "/api/v1/elections", definition, admin_headers(), &status)
            .value("id", "");
    EXPECT_EQ(status, 201u);
    json roll = json::array();
    for (int i = 0; i < voters; ++i) roll.push_back({{"voterId", "v" + std::to_string(i)}});
    json imported = call(nginx_port_, "POST", "/api/v1/elections/" + id + "/voters",
                         {{"voters", roll}}, admin_headers(), &status);
    EXPECT_EQ(status, 201u);
    for (const auto& c : imported["credentials"]) {
      credentials_[c["voterId"].get<std::string>()] = c["credential"];
    }
    if (schedule.is_null()) {
      call(nginx_port_, "POST", "/api/v1/elections/" + id + "/open", nullptr, admin_headers(),
           &status);
      EXPECT_EQ(status, 200u);
    }
    created_.push_back(id);
    return id;
  }

  // A ballot's body with a token for `voter` (docs/formats.md, Tokens), not yet sent.
  json ballot(const std::string& id, const std::string& voter) {
    const json key = call(nginx_port_, "GET", "/api/v1/elections/" + id + "/token-key");
    auto public_key = *crypto::RsaPublicKey::from_spki_der(
        *crypto::from_base64url(key["publicKey"].get<std::string>()));
    crypto::Bytes message(32);
    crypto::random_bytes(message);
    auto blinded = crypto::blind(public_key, message, crypto::kSha384PssDeterministic);
    unsigned status = 0;
    const json signed_ = call(nginx_port_, "POST", "/api/v1/voting/token",
                              {{"electionId", id},
                               {"voterId", voter},
                               {"credential", credentials_.at(voter)},
                               {"blindedMessage", crypto::to_base64url(blinded.blinded_msg)}},
                              kJsonHeaders, &status);
    EXPECT_EQ(status, 200u) << signed_;
    auto signature = crypto::finalize(
        public_key, message, *crypto::from_base64url(signed_["blindSignature"].get<std::string>()),
        blinded.inv, crypto::kSha384PssDeterministic);
    return {{"electionId", id},
            {"token",
             {{"message", crypto::to_base64url(message)},
              {"signature", crypto::to_base64url(signature.value_or(crypto::Bytes{}))}}},
            {"selections", {{{"contestId", "mayor"}, {"optionId", "alice"}}}}};
  }

  void TearDown() override {
    for (const auto& id : created_) remove_election_as_owner(id);
  }

  static inline std::vector<std::unique_ptr<Child>> servers_;
  static inline std::vector<std::uint16_t> ports_;
  static inline std::uint16_t nginx_port_ = 0;
  static inline std::string dir_;
  std::map<std::string, std::string> credentials_;
  std::vector<std::string> created_;
};

// Each ballot sent to the three servers at once is stored once: one 201, and the same
// receipt in the other answers; the three sequencers give each ballot one leaf.
TEST_F(StackTest, ABallotSentToEveryServerAtOnceIsCastOnceAndSequencedOnce) {
  constexpr int kVoters = 20;
  const std::string id = election(kVoters);
  std::set<std::string> receipts;
  std::mt19937 random{std::random_device{}()};
  const std::string clients = "198.18." + std::to_string(random() % 256) + ".";
  for (int v = 0; v < kVoters; ++v) {
    const std::string body = ballot(id, "v" + std::to_string(v)).dump();
    // A client of its own per voter: the servers here allow 10 submits a minute each.
    const Headers headers = {{"Content-Type", "application/json"},
                             {"X-Forwarded-For", clients + std::to_string(v + 1)}};
    std::vector<std::future<HttpResult>> answers;
    for (auto port : ports_) {
      answers.push_back(std::async(std::launch::async, [port, &body, &headers] {
        return http_request(port, "POST", "/api/v1/voting/submit", body, headers);
      }));
    }
    std::multiset<unsigned> statuses;
    std::set<std::string> these;
    for (auto& a : answers) {
      const HttpResult r = a.get();
      statuses.insert(r.status);
      these.insert(json::parse(r.body, nullptr, false).value("receipt", ""));
    }
    EXPECT_EQ(statuses, (std::multiset<unsigned>{200, 200, 201})) << "voter " << v;
    EXPECT_EQ(these.size(), 1u) << "voter " << v;
    receipts.insert(*these.begin());
  }
  pqxx::connection conn(required_env("OBSERVERNET_TEST_DATABASE_URL"));
  const auto stored = [&] {
    pqxx::read_transaction tx(conn);
    return tx
        .exec_params1(
            "SELECT (SELECT count(*) FROM ballots WHERE election_id = $1::uuid)"
            " + (SELECT count(*) FROM ballots_staged WHERE election_id = $1::uuid)",
            id)[0]
        .as<int>();
  };
  EXPECT_EQ(stored(), kVoters);

  // Sequenced by the three servers every 20 ms: the log's chunks tile [0, 20) exactly.
  ASSERT_TRUE(eventually([&] {
    return call(nginx_port_, "GET", "/api/v1/public/elections/" + id + "/tree-head")
               .value("treeSize", 0) == kVoters;
  }));
  const std::vector<std::string> leaves = stored_log_leaves(id);
  EXPECT_EQ(std::set<std::string>(leaves.begin(), leaves.end()), receipts);
  EXPECT_EQ(leaves.size(), static_cast<std::size_t>(kVoters));
}

// The three schedulers look every 100 ms; the election opens once and closes once.
TEST_F(StackTest, TheSchedulersOpenAndCloseAnElectionOnce) {
  const std::string id = election(1, {{"opensAt", utc_in(2s)}, {"closesAt", utc_in(4s)}});
  ASSERT_TRUE(eventually(
      [&] {
        return status_of(call(nginx_port_, "GET", "/api/v1/public/elections/" + id)) == "closed";
      },
      15s));
  const json events =
      call(nginx_port_, "GET", "/api/v1/public/elections/" + id + "/audit")["events"];
  std::map<std::string, int> count;
  for (const auto& e : events) {
    const std::string type = e["type"];
    ++count[type];
    if (type == "election.opened" || type == "election.closed") {
      EXPECT_EQ(e["payload"].value("trigger", ""), "schedule") << e;
    }
  }
  EXPECT_EQ(count["election.opened"], 1) << events;
  EXPECT_EQ(count["election.closed"], 1) << events;
}

// One client's requests, spread by nginx over the three servers, get its limit of 10.
TEST_F(StackTest, AClientSpreadOverTheServersGetsItsLimitOnce) {
  std::mt19937 random{std::random_device{}()};
  const std::string client = "192.0.2." + std::to_string(1 + random() % 254);
  std::map<unsigned, int> statuses;
  for (int i = 0; i < 15; ++i) {
    auto r = http_request(nginx_port_, "POST", "/api/v1/voting/submit", "{}",
                          {{"Content-Type", "application/json"}, {"X-Forwarded-For", client}});
    ++statuses[r.status];
  }
  EXPECT_EQ(statuses[400], 10);  // admitted ("{}" is no ballot)
  EXPECT_EQ(statuses[429], 5);
  // Each server took some: nginx spreads them round robin.
  for (auto port : ports_) {
    EXPECT_GT(
        metric_value(
            port,
            R"(http_requests_total{method="POST",route="/api/v1/voting/submit",status="429"})") +
            metric_value(
                port,
                R"(http_requests_total{method="POST",route="/api/v1/voting/submit",status="400"})"),
        0)
        << "server on port " << port;
  }
}

// A change made on one server shows on the others within the second the documentation
// promises (docs/architecture.md, Scheduling: local caches of 500 ms, Redis refreshed at
// once).
TEST_F(StackTest, PublicCachesConvergeWithinASecond) {
  const std::string id = election(1);
  const std::string target = "/api/v1/public/elections/" + id;
  for (auto port : ports_) EXPECT_EQ(status_of(call(port, "GET", target)), "open");
  unsigned status = 0;
  call(ports_[0], "POST", "/api/v1/elections/" + id + "/close", nullptr, admin_headers(), &status);
  ASSERT_EQ(status, 200u);
  const auto closed = Clock::now();
  std::vector<Clock::duration> seen(ports_.size());
  for (std::size_t i = 0; i < ports_.size(); ++i) {
    while (status_of(call(ports_[i], "GET", target)) != "closed" && Clock::now() - closed < 5s) {
      std::this_thread::sleep_for(10ms);
    }
    seen[i] = Clock::now() - closed;
  }
  std::cout << "the close shown by the three servers after";
  for (auto d : seen) {
    std::cout << " " << std::chrono::duration_cast<std::chrono::milliseconds>(d).count() << " ms";
  }
  std::cout << "\n";
  for (auto d : seen) EXPECT_LT(d, 1s);
}

}  // namespace
}  // namespace observernet::testing
