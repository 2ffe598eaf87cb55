// Ballot secrecy against those who watch the board or hold the database
// (docs/security.md): ballots are published in sets of the configured size, shuffled,
// and nothing at rest keeps the order in which they arrived. Real PostgreSQL, real HTTP,
// the real voter client.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>
#include <string>
#include <thread>
#include <vector>

#include "observernet/client/http_client.hpp"
#include "observernet/client/voter.hpp"
#include "observernet/crypto/aead.hpp"
#include "observernet/crypto/blind_rsa.hpp"
#include "observernet/crypto/hash.hpp"
#include "observernet/crypto/sealed_box.hpp"
#include "observernet/domain/election.hpp"
#include "observernet/domain/publication.hpp"
#include "observernet/service/token_keys.hpp"
#include "support.hpp"

namespace observernet::testing {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

// Spearman's rank correlation of two orders of the same n items: order_a[i] and
// order_b[i] are item i's ranks (0..n-1, no ties).
double spearman(const std::vector<std::size_t>& order_a, const std::vector<std::size_t>& order_b) {
  const double n = static_cast<double>(order_a.size());
  double d2 = 0;
  for (std::size_t i = 0; i < order_a.size(); ++i) {
    const double d = static_cast<double>(order_a[i]) - static_cast<double>(order_b[i]);
    d2 += d * d;
  }
  return 1 - 6 * d2 / (n * (n * n - 1));
}

// The ranks, within `items`, of each item's value in `position` (a map from item to a
// sortable position).
template <class Position>
std::vector<std::size_t> ranks(const std::vector<std::string>& items, const Position& position) {
  std::vector<std::size_t> by(items.size());
  for (std::size_t i = 0; i < by.size(); ++i) by[i] = i;
  std::sort(by.begin(), by.end(), [&](std::size_t a, std::size_t b) {
    return position.at(items[a]) < position.at(items[b]);
  });
  std::vector<std::size_t> rank(items.size());
  for (std::size_t r = 0; r < by.size(); ++r) rank[by[r]] = r;
  return rank;
}

// Under a uniformly random shuffle of n items, Spearman's rho has mean 0 and variance
// 1 / (n - 1), and is close to normal for n of 30 or more: five standard deviations is
// a bound a fair shuffle exceeds less than once in a million sets. Arrival order kept
// (the code before sets were shuffled whole and staged without order) gives 0.99.
double rho_bound(std::size_t n) {
  return 5.0 / std::sqrt(static_cast<double>(n) - 1);
}

pqxx::result query(const std::string& sql) {
  pqxx::connection conn(required_env("OBSERVERNET_TEST_DATABASE_URL"));
  pqxx::read_transaction tx(conn);
  return tx.exec(sql);
}

// The election's sealed token key, as stored.
crypto::Bytes stored_token_key(const std::string& id) {
  const auto rows =
      query("SELECT encode(private_key_sealed, 'hex') FROM election_keys WHERE election_id = '" +
            id + "'");
  EXPECT_EQ(rows.size(), 1u);
  return rows.empty() ? crypto::Bytes{} : *crypto::from_hex(rows[0][0].c_str());
}

class AnonymitySetTest : public ::testing::Test {
 protected:
  static app::Config policy(std::uint64_t min_batch, std::chrono::seconds max_delay,
                            std::uint64_t min_anonymity, app::Config c = test_config()) {
    c.board.sequence_interval = 100ms;
    c.board.freshness = 100ms;
    c.board.min_batch = min_batch;
    c.board.max_delay = max_delay;
    c.board.min_anonymity = min_anonymity;
    return c;
  }

  HttpResult call(const std::string& method, const std::string& target,
                  const json& body = nullptr) {
    return http_request(server->port(), method, target, body.is_null() ? "" : body.dump(),
                        admin_headers());
  }

  // An open election of `voters` voters; fills credentials.
  std::string open_election(std::size_t voters) {
    json definition = {
        {"title", "Secrecy"},
        {"contests",
         {{{"id", "mayor"},
           {"title", "Mayor"},
           {"options",
            {{{"id", "alice"}, {"title", "Alice"}}, {{"id", "bob"}, {"title", "Bob"}}}}}}}};
    auto r = call("POST", "/api/v1/elections", definition);
    EXPECT_EQ(r.status, 201u) << r.body;
    std::string id = json::parse(r.body)["id"];
    json list = json::array();
    for (std::size_t i = 0; i < voters; ++i)
      list.push_back({{"voterId", "voter-" + std::to_string(i)}});
    r = call("POST", "/api/v1/elections/" + id + "/voters", {{"voters", list}});
    EXPECT_EQ(r.status, 201u) << r.body;
    const json imported = json::parse(r.body);
    for (const auto& c : imported["credentials"]) credentials[c["voterId"]] = c["credential"];
    r = call("POST", "/api/v1/elections/" + id + "/open");
    EXPECT_EQ(r.status, 200u) << r.body;
    return id;
  }

  // Voter i takes a token and at once submits, as the voter client does: the receipt.
  std::string vote(const std::string& id, std::size_t i) {
    client::HttpClient http("http://127.0.0.1:" + std::to_string(server->port()), 30s);
    const std::string voter = "voter-" + std::to_string(i);
    return client::cast_vote(
               http, {id, voter, credentials.at(voter), {{"mayor", i % 2 ? "alice" : "bob"}}})
        .receipt;
  }

  std::uint64_t tree_size(const std::string& id) {
    auto r = call("GET", "/api/v1/public/elections/" + id + "/tree-head");
    EXPECT_EQ(r.status, 200u) << r.body;
    return json::parse(r.body)["treeSize"];
  }

  json receipt_state(const std::string& receipt) {
    auto r = call("GET", "/api/v1/voting/receipts/" + receipt);
    EXPECT_EQ(r.status, 200u) << r.body;
    return json::parse(r.body);
  }

  void close(const std::string& id) {
    auto r = call("POST", "/api/v1/elections/" + id + "/close");
    ASSERT_EQ(r.status, 200u) << r.body;
  }

  struct Token {
    crypto::Bytes message;
    crypto::Bytes signature;
  };
  // A voter's token, taken from the server on `port` (a signer, or the API server).
  Token take_token(std::uint16_t port, const std::string& id, const std::string& voter) {
    auto key_answer = json::parse(call("GET", "/api/v1/elections/" + id + "/token-key").body);
    auto key = crypto::RsaPublicKey::from_spki_der(
        *crypto::from_base64url(key_answer["publicKey"].get<std::string>()));
    EXPECT_TRUE(key.has_value());
    Token t{crypto::Bytes(32), {}};
    crypto::random_bytes(t.message);
    auto blinded = crypto::blind(*key, t.message, crypto::kSha384PssDeterministic);
    auto answer = http_request(port, "POST", "/api/v1/voting/token",
                               json{{"electionId", id},
                                    {"voterId", voter},
                                    {"credential", credentials.at(voter)},
                                    {"blindedMessage", crypto::to_base64url(blinded.blinded_msg)}}
                                   .dump(),
                               {{"Content-Type", "application/json"}});
    EXPECT_EQ(answer.status, 200u) << answer.body;
    auto signature = crypto::finalize(
        *key, t.message,
        *crypto::from_base64url(json::parse(answer.body)["blindSignature"].get<std::string>()),
        blinded.inv, crypto::kSha384PssDeterministic);
    EXPECT_TRUE(signature.has_value());
    t.signature = signature.value_or(crypto::Bytes{});
    return t;
  }

  HttpResult submit(const std::string& id, const Token& token, const std::string& option) {
    return call("POST", "/api/v1/voting/submit",
                {{"electionId", id},
                 {"token",
                  {{"message", crypto::to_base64url(token.message)},
                   {"signature", crypto::to_base64url(token.signature)}}},
                 {"selections", {{{"contestId", "mayor"}, {"optionId", option}}}}});
  }

  std::unique_ptr<TestServer> server;
  std::map<std::string, std::string> credentials;
};

// 200 voters one after another, each taking a token and then submitting, under the
// default policy (sets of 100): every set but the close's holds at least 100 ballots, and
// within each set neither the leaf order nor the table's physical order follows the
// order of voting.
TEST_F(AnonymitySetTest, TwoHundredVotersOneAfterAnotherLeaveNoOrderOnTheBoardOrAtRest) {
  const domain::PublicationPolicy defaults;
  server = std::make_unique<TestServer>(
      policy(defaults.min_batch, defaults.max_delay, defaults.min_anonymity));
  constexpr std::size_t kVoters = 200;
  const std::string id = open_election(kVoters);
  std::vector<std::string> voting_order;
  for (std::size_t i = 0; i < kVoters; ++i) voting_order.push_back(vote(id, i));

  // A few passes later: whatever is still waiting is less than a set, and stays.
  std::this_thread::sleep_for(500ms);
  const std::uint64_t before_close = tree_size(id);
  EXPECT_GE(before_close, defaults.min_batch);
  EXPECT_LT(kVoters - before_close, defaults.min_batch) << "a whole set waits after many passes";
  close(id);
  ASSERT_TRUE(eventually([&] { return tree_size(id) == kVoters; }));

  // The sets, as published: one log chunk per sequencing transaction.
  std::vector<std::vector<std::string>> sets;
  for (const auto& row : query("SELECT first_index, encode(leaf_hashes, 'hex') FROM log_chunks"
                               " WHERE election_id = '" +
                               id + "' ORDER BY first_index")) {
    const std::string hex = row[1].as<std::string>();
    std::vector<std::string> set;
    for (std::size_t at = 0; at < hex.size(); at += 64) set.push_back(hex.substr(at, 64));
    sets.push_back(std::move(set));
  }
  std::map<std::string, std::size_t> voted_at, leaf_at, row_at;
  for (std::size_t i = 0; i < voting_order.size(); ++i) voted_at[voting_order[i]] = i;
  std::size_t index = 0;
  for (const auto& set : sets)
    for (const auto& receipt : set) leaf_at[receipt] = index++;
  index = 0;
  for (const auto& row : query("SELECT encode(receipt, 'hex') FROM ballots WHERE election_id = '" +
                               id + "' ORDER BY ctid")) {
    row_at[row[0].as<std::string>()] = index++;
  }
  ASSERT_EQ(leaf_at.size(), kVoters);
  ASSERT_EQ(row_at.size(), kVoters) << "every ballot is in the board's table, none staged";
  EXPECT_EQ(
      query("SELECT count(*) FROM ballots_staged WHERE election_id = '" + id + "'")[0][0].as<int>(),
      0);

  std::uint64_t published = 0;
  for (const auto& set : sets) {
    if (published < before_close) {
      EXPECT_GE(set.size(), defaults.min_batch) << "a set published before the close";
    }
    published += set.size();
    const auto by_vote = ranks(set, voted_at);
    const double leaf_rho = spearman(by_vote, ranks(set, leaf_at));
    const double row_rho = spearman(by_vote, ranks(set, row_at));
    std::cout << "set of " << set.size() << ": rho(voting, leaf) = " << leaf_rho
              << ", rho(voting, ctid) = " << row_rho << " (bound " << rho_bound(set.size())
              << ")\n";
    EXPECT_LT(std::abs(leaf_rho), rho_bound(set.size()));
    EXPECT_LT(std::abs(row_rho), rho_bound(set.size()));
  }
  // The whole board: the sets follow each other in time, which is public anyway.
  std::cout << "whole board of " << kVoters << ": rho(voting, leaf) = "
            << spearman(ranks(voting_order, voted_at), ranks(voting_order, leaf_at)) << "\n";
}

// A set too small waits: two ballots stay off the board however long they wait, the
// third makes a set of min_anonymity that has waited max_delay, and it is published.
TEST_F(AnonymitySetTest, ASmallSetWaitsForTheMinimumAnonymityAndMaxDelay) {
  server = std::make_unique<TestServer>(policy(100, 1s, 3));
  const std::string id = open_election(3);
  const std::string first = vote(id, 0);
  vote(id, 1);
  std::this_thread::sleep_for(2500ms);  // max_delay and many passes
  EXPECT_EQ(tree_size(id), 0u);
  json waiting = receipt_state(first);
  EXPECT_EQ(waiting["status"], "pending");
  EXPECT_TRUE(waiting["dueBy"].is_null()) << "too few to publish before the close, unscheduled";
  vote(id, 2);
  ASSERT_TRUE(eventually([&] { return tree_size(id) == 3; }, 10s));
  EXPECT_EQ(receipt_state(first)["status"], "sequenced");
  // Whole seconds: a tree head says when its set was published, no more.
  auto head = json::parse(call("GET", "/api/v1/public/elections/" + id + "/tree-head").body);
  EXPECT_TRUE(head["timestamp"].get<std::string>().ends_with(".000Z")) << head;
}

// While a set large enough waits for max_delay, a voter is told when it is due: to the
// minute, and no later than max_delay after it began to wait.
TEST_F(AnonymitySetTest, APendingVoterIsToldWhenTheirSetIsDue) {
  server = std::make_unique<TestServer>(policy(100, 300s, 2));
  const std::string id = open_election(2);
  const auto before = std::chrono::system_clock::now();
  const std::string receipt = vote(id, 0);
  vote(id, 1);
  std::this_thread::sleep_for(300ms);  // a pass has seen them
  json state = receipt_state(receipt);
  ASSERT_EQ(state["status"], "pending") << state;
  const std::string due = state["dueBy"];
  EXPECT_TRUE(due.ends_with(":00.000Z")) << due;
  auto due_at = domain::parse_timestamp(due);
  ASSERT_TRUE(due_at.has_value()) << due;
  EXPECT_GE(*due_at, before + 300s);
  EXPECT_LE(*due_at, before + 300s + 2min);
  close(id);
  ASSERT_TRUE(eventually([&] { return receipt_state(receipt)["status"] == "sequenced"; }));
}

// Nothing stored beside a receipt, a token or a voter hash says when: no table holding
// one of those has a time column.
TEST_F(AnonymitySetTest, NoTableWithReceiptsTokensOrVoterHashesHasATime) {
  server = std::make_unique<TestServer>(policy(1, 1s, 1));  // migrated
  auto rows = query(
      "SELECT c.table_name, c.column_name FROM information_schema.columns c"
      " WHERE c.table_schema = 'public' AND c.data_type LIKE 'timestamp%'"
      " AND c.table_name IN (SELECT table_name FROM information_schema.columns"
      " WHERE table_schema = 'public'"
      " AND column_name IN ('receipt', 'receipts', 'token_message', 'voter_hash', 'leaf'))");
  for (const auto& row : rows) {
    ADD_FAILURE() << row[0].as<std::string>() << "." << row[1].as<std::string>();
  }
}

// `n` ballots staged straight into the database, as if accepted while no pass ran: their
// tokens are not real, which no test of the sequencer needs. Receipts and tokens are the
// election's own, so that no two tests' backlogs collide. Remove the election after the
// test (remove_election_as_owner): a backlog left behind would keep every later test's
// sequencer busy.
// n ballots waiting to be published, written as the group commit writes them: ballot k
// chose alice when k % 3 = 1, bob when k % 3 = 2, and no one when k % 3 = 0. Their
// tokens and receipts are stand-ins (the sequencer checks neither).
void stage_backlog(const std::string& election_id, int n) {
  pqxx::connection conn(required_env("OBSERVERNET_TEST_DATABASE_URL"));
  pqxx::work tx(conn);
  tx.exec("INSERT INTO ballots_staged (election_id, token_message, leaf, receipt) SELECT '" +
          election_id + "', sha256(('t" + election_id + "' || k)::bytea), '{\"electionId\":\"" +
          election_id +
          "\",\"selections\":[' || CASE k % 3 WHEN 0 THEN '' ELSE"
          " '{\"contestId\":\"mayor\",\"optionId\":\"' || CASE k % 3 WHEN 1 THEN 'alice'"
          " ELSE 'bob' END || '\"}' END || '],\"token\":{\"message\":\"m\",\"signature\":\"' ||"
          " repeat('x', 440) || '\"}}', sha256(('r" +
          election_id + "' || k)::bytea) FROM generate_series(1, " + std::to_string(n) + ") AS k");
  tx.commit();
}

// A backlog far larger than a set (a sequencer that was stopped, an outage) is published
// in one pass, its moves in slices that each stay within database.statement_timeout: in
// one statement it would time out on every pass and never be published. The running
// tally, added to slice by slice, counts every ballot once.
TEST_F(AnonymitySetTest, ALargeBacklogIsPublishedWithinTheStatementTimeout) {
  app::Config config = policy(1, 1s, 1);
  set_statement_timeout(config, 2s);
  server = std::make_unique<TestServer>(config);
  const std::string id = open_election(1);
  constexpr int kBacklog = 150'000;  // about 4 s to move in one statement here
  stage_backlog(id, kBacklog);
  // Under ASan a pass whose slice outlasts the 2 s timeout is retried: up to a minute here.
  EXPECT_TRUE(eventually([&] { return tree_size(id) == kBacklog; }, 120s));
  EXPECT_EQ(query("SELECT count(*) FROM ballots WHERE election_id = '" + id + "'")[0][0].as<int>(),
            kBacklog);
  close(id);
  const json results = json::parse(call("GET", "/api/v1/public/elections/" + id + "/results").body);
  EXPECT_EQ(results["ballotsCast"], kBacklog);
  EXPECT_EQ(results["contests"][0]["ballots"], kBacklog / 3 * 2);
  EXPECT_EQ(
      results["contests"][0]["totals"],
      json::parse(R"([{"optionId":"alice","votes":50000},{"optionId":"bob","votes":50000}])"));
  server.reset();
  remove_election_as_owner(id);
}

// The move's plan does not depend on the statistics. Analysed while the staging table held
// other elections' ballots only, a new election looks rare, and the move written as a
// join was planned to read all the election's staged rows for each receipt of a slice:
// minutes for a slice, cancelled at the timeout on every pass, never published (seen in
// the pass through PgBouncer, where every statement is planned per call). Planned per
// call here too, so that the statistics of this moment count.
TEST_F(AnonymitySetTest, ABacklogIsPublishedWhateverTheStatisticsSay) {
  app::Config config = policy(1, 1s, 1);
  set_statement_timeout(config, 2s);
  config.database.prepared_statements = false;
  const std::string runtime = required_env("OBSERVERNET_TEST_DATABASE_URL");
  struct Statistics {  // kept as analysed for the test, and brought up to date after it
    Statistics() {
      exec_on(owner_database_url(), "ALTER TABLE ballots_staged SET (autovacuum_enabled = off)");
    }
    ~Statistics() {
      exec_on(owner_database_url(), "ALTER TABLE ballots_staged RESET (autovacuum_enabled)");
      exec_on(owner_database_url(), "ANALYZE ballots_staged");
    }
  } statistics;
  exec_on(runtime,
          "INSERT INTO ballots_staged (election_id, token_message, leaf, receipt) SELECT"
          " gen_random_uuid(), sha256(('other' || k)::bytea), '{}', sha256(('o' || k)::bytea)"
          " FROM generate_series(1, 10000) AS k");
  exec_on(owner_database_url(), "ANALYZE ballots_staged");
  exec_on(runtime, "DELETE FROM ballots_staged WHERE leaf = '{}'");
  server = std::make_unique<TestServer>(config);
  const std::string id = open_election(1);
  constexpr int kBacklog = 30'000;  // two slices
  stage_backlog(id, kBacklog);
  EXPECT_TRUE(eventually([&] { return tree_size(id) == kBacklog; }, 30s));
  server.reset();
  remove_election_as_owner(id);
}

// Scans of the ballots table so far, by every session whose statistics are in: a session's
// reach PostgreSQL's views by its end at the latest, so the servers' sessions are waited
// out first (this one, the test's, never reads the table). Not run through PgBouncer,
// whose server connections outlive the servers (scripts/test).
std::int64_t ballot_table_scans() {
  EXPECT_TRUE(eventually([] {
    return query(
               "SELECT count(*) FROM pg_stat_activity WHERE usename = current_user"
               " AND pid <> pg_backend_pid()")[0][0]
               .as<int>() == 0;
  }));
  return query(
             "SELECT seq_scan + coalesce(idx_scan, 0) FROM pg_stat_user_tables"
             " WHERE relname = 'ballots'")[0][0]
      .as<std::int64_t>();
}

// Results, the close, turnout and the admin's stats read the running tally and the log's
// size, never the ballots: their cost does not grow with the election. Recounting the
// leaves took 32 s at 10,000,000 ballots, far beyond database.statement_timeout, so the
// close would have failed (docs/benchmarks.md, Growth).
TEST_F(AnonymitySetTest, ResultsAndTheCloseReadNoBallot) {
  server = std::make_unique<TestServer>(policy(1, 1s, 1));
  const std::string id = open_election(3);
  for (std::size_t i = 0; i < 3; ++i) vote(id, i);
  ASSERT_TRUE(eventually([&] { return tree_size(id) == 3; }));
  server.reset();
  const std::int64_t scans = ballot_table_scans();

  server = std::make_unique<TestServer>(policy(1, 1s, 1));
  const std::string election = "/api/v1/public/elections/" + id;
  // (The view may come from the shared cache first, filled before the ballots.)
  EXPECT_TRUE(
      eventually([&] { return json::parse(call("GET", election).body)["ballotsCast"] == 3; }, 10s));
  close(id);
  const json results = json::parse(call("GET", election + "/results").body);
  EXPECT_EQ(results["ballotsCast"], 3);
  EXPECT_EQ(results["contests"][0]["ballots"], 3);
  EXPECT_EQ(results["contests"][0]["totals"],
            json::parse(R"([{"optionId":"alice","votes":1},{"optionId":"bob","votes":2}])"));
  const json stats = json::parse(call("GET", "/api/v1/elections/" + id + "/stats").body);
  EXPECT_EQ(stats["ballotsCast"], 3) << stats;
  server.reset();
  EXPECT_EQ(ballot_table_scans(), scans);
  remove_election_as_owner(id);
}

// A server stopped while a sequencer pass outlives shutdown.timeout: the pass's coroutine
// is destroyed with the event loop, after the sequencer object itself, and must not touch
// it then (UBSan and ASan watch). The set is published whole or not at all.
TEST_F(AnonymitySetTest, AServerStoppedMidPassLeavesTheSetWholeAndNothingDangling) {
  app::Config config = policy(1, 1s, 1);
  set_statement_timeout(config, 20s);
  config.shutdown.timeout = 50ms;
  server = std::make_unique<TestServer>(config);
  const std::string id = open_election(1);
  constexpr int kBacklog = 150'000;  // a pass of a few seconds
  stage_backlog(id, kBacklog);
  ASSERT_TRUE(eventually(
      [&] {
        return query(
                   "SELECT count(*) FROM pg_stat_activity WHERE state = 'active'"
                   " AND query LIKE 'WITH taken AS (DELETE FROM ballots_staged%'")[0][0]
                   .as<int>() > 0;
      },
      10s))
      << "no pass moved the backlog";
  server.reset();
  const int published =
      query("SELECT count(*) FROM ballots WHERE election_id = '" + id + "'")[0][0].as<int>();
  EXPECT_TRUE(published == 0 || published == kBacklog) << published;
  remove_election_as_owner(id);
}

// The private half of an election's token key is unsealed only where tokens are signed:
// an API server that takes ballots and serves every public read never holds it. Here a
// signer (http.routes = token) and an API server share the database, as in Kubernetes.
TEST_F(AnonymitySetTest, OnlyTheTokenRouteUnsealsASigningKey) {
  server = std::make_unique<TestServer>(policy(1, 1s, 1));
  app::Config signer_config = policy(1, 1s, 1);
  signer_config.routes = app::RouteSet::token;
  TestServer signer(std::move(signer_config));
  const std::string id = open_election(1);

  // The voter's client, split as the Ingress splits it: the key and the ballot from the
  // API server, the token from the signer.
  const Token token = take_token(signer.port(), id, "voter-0");
  ASSERT_EQ(submit(id, token, "alice").status, 201u);
  ASSERT_TRUE(eventually([&] { return tree_size(id) == 1; }));
  EXPECT_EQ(call("GET", "/api/v1/public/elections/" + id).status, 200u);
  close(id);

  EXPECT_EQ(metric_value(signer.port(), "token_keys_unsealed_total"), 1);
  EXPECT_EQ(metric_value(server->port(), "token_keys_unsealed_total"), 0)
      << "the API server unsealed a signing key it never needs";
}

// docs/security.md, Keys: the API's processes create elections without the master key.
// Configured as the Deployments are (only the sealing key's public half, printed by
// `observernet sealing-key`, on the API; the master key and no log key on the signer),
// the API seals a new election's key, the signer unseals it and signs the tokens, and
// the ballot is accepted and published. The API process never unsealed a key, and does
// not serve the token route.
TEST_F(AnonymitySetTest, TheApiCreatesElectionsWithoutTheMasterKeyAndOnlyTheSignerUnseals) {
  const std::string master_file = ::testing::TempDir() + "observernet-master-key";
  { std::ofstream(master_file) << kTestMasterKey << "\n"; }
  Child print = spawn({"sealing-key", "--master-key-file", master_file});
  ASSERT_EQ(print.wait_exit(), 0) << print.output;
  std::remove(master_file.c_str());
  const std::string sealing_key = print.output.substr(0, print.output.find('\n'));
  ASSERT_EQ(sealing_key.size(), 64u) << print.output;

  app::RawConfig api = test_raw_config();
  api["http.routes"] = "api";
  api.erase("auth.master_key");
  api["auth.sealing_public_key"] = sealing_key;
  server = std::make_unique<TestServer>(policy(1, 1s, 1, app::build_config(api)));
  app::RawConfig signer = test_raw_config();
  signer["http.routes"] = "token";
  signer.erase("auth.log_key");
  signer.erase("auth.admin_key_hashes");
  signer["auth.sealing_public_key"] = sealing_key;  // the shared ConfigMap's: it must match
  TestServer signer_server(policy(1, 1s, 1, app::build_config(signer)));

  const std::string id = open_election(2);
  const Token token = take_token(signer_server.port(), id, "voter-0");
  ASSERT_EQ(submit(id, token, "alice").status, 201u);
  ASSERT_TRUE(eventually([&] { return tree_size(id) == 1; }));
  // The API process refuses to sign: it has no token route, and no key to sign with.
  const auto refused =
      http_request(server->port(), "POST", "/api/v1/voting/token",
                   json{{"electionId", id},
                        {"voterId", "voter-1"},
                        {"credential", credentials.at("voter-1")},
                        {"blindedMessage", crypto::to_base64url(crypto::Bytes(256, 1))}}
                       .dump(),
                   {{"Content-Type", "application/json"}});
  EXPECT_EQ(refused.status, 404u) << refused.body;
  close(id);
  EXPECT_EQ(tree_size(id), 1u);

  EXPECT_EQ(metric_value(signer_server.port(), "token_keys_unsealed_total"), 1);
  EXPECT_EQ(metric_value(server->port(), "token_keys_unsealed_total"), 0)
      << "the API process unsealed a signing key without the master key";
  // The election's key is stored sealed to the sealing key, not under the master key.
  const crypto::Bytes sealed = stored_token_key(id);
  const crypto::Bytes master = *crypto::from_hex(kTestMasterKey);
  EXPECT_FALSE(crypto::aes256gcm_open(master, sealed, crypto::as_bytes(id)).has_value());
  EXPECT_TRUE(
      crypto::open_sealed(service::sealing_private_key(master), sealed, crypto::as_bytes(id))
          .has_value());
}

// Elections created before the sealing key hold their token key as AES-256-GCM directly
// under the master key: a signer still signs with such a key.
TEST_F(AnonymitySetTest, ATokenKeySealedInTheOldFormatStillSigns) {
  server = std::make_unique<TestServer>(policy(1, 1s, 1));
  const std::string id = open_election(1);
  const crypto::Bytes master = *crypto::from_hex(kTestMasterKey);
  auto der = crypto::open_sealed(service::sealing_private_key(master), stored_token_key(id),
                                 crypto::as_bytes(id));
  ASSERT_TRUE(der.has_value());
  const crypto::Bytes old = crypto::aes256gcm_seal(master, *der, crypto::as_bytes(id));
  {
    // As the owner: the runtime role cannot rewrite a stored key.
    pqxx::connection conn(owner_database_url());
    pqxx::work tx(conn);
    tx.exec_params(
        "UPDATE election_keys SET private_key_sealed = decode($1, 'hex') "
        "WHERE election_id = $2::uuid",
        crypto::to_hex(old), id);
    tx.commit();
  }
  // A signer started now has unsealed nothing yet: it reads the old format from the row.
  app::Config signer_config = policy(1, 1s, 1);
  signer_config.routes = app::RouteSet::token;
  TestServer signer(std::move(signer_config));
  const Token token = take_token(signer.port(), id, "voter-0");
  EXPECT_EQ(submit(id, token, "bob").status, 201u);
  EXPECT_EQ(metric_value(signer.port(), "token_keys_unsealed_total"), 1);
}

// One ballot per token, whether the first ballot still waits in the staging table or is
// already on the board: the same ballot again is 200 with the same receipt, another 409,
// and nothing is staged twice.
TEST_F(AnonymitySetTest, OneBallotPerTokenHoldsWhileStagedAndOnceOnTheBoard) {
  server = std::make_unique<TestServer>(policy(2, 1s, 2));
  const std::string id = open_election(2);
  const Token first = take_token(server->port(), id, "voter-0");
  auto accepted = submit(id, first, "alice");
  ASSERT_EQ(accepted.status, 201u) << accepted.body;
  const std::string receipt = json::parse(accepted.body)["receipt"];
  // Staged (a set of two is due; one waits):
  auto again = submit(id, first, "alice");
  EXPECT_EQ(again.status, 200u) << again.body;
  EXPECT_EQ(json::parse(again.body)["receipt"], receipt);
  EXPECT_EQ(submit(id, first, "bob").status, 409u);
  // On the board:
  ASSERT_EQ(submit(id, take_token(server->port(), id, "voter-1"), "bob").status, 201u);
  ASSERT_TRUE(eventually([&] { return tree_size(id) == 2; }));
  again = submit(id, first, "alice");
  EXPECT_EQ(again.status, 200u) << again.body;
  EXPECT_EQ(json::parse(again.body)["receipt"], receipt);
  auto other = submit(id, first, "bob");
  EXPECT_EQ(other.status, 409u) << other.body;
  EXPECT_EQ(json::parse(other.body)["code"], "token_already_used");
  EXPECT_EQ(
      query("SELECT count(*) FROM ballots_staged WHERE election_id = '" + id + "'")[0][0].as<int>(),
      0);
  close(id);
  EXPECT_EQ(tree_size(id), 2u);
}

}  // namespace
}  // namespace observernet::testing
