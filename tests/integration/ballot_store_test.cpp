// The group commit's transaction (VotingStore::write_ballots) against the real
// PostgreSQL, below the HTTP layer: what two writers at once must never do.
#include <gtest/gtest.h>

#include <algorithm>
#include <barrier>
#include <chrono>
#include <thread>
#include <vector>

#include <pqxx/pqxx>

#include <prometheus/registry.h>

#include "observernet/crypto/hash.hpp"
#include "observernet/crypto/merkle.hpp"
#include "observernet/store/pg_pool.hpp"
#include "observernet/store/pg_reads.hpp"
#include "observernet/store/voting.hpp"
#include "support.hpp"

namespace observernet::testing {
namespace {

using namespace std::chrono_literals;

// An open election made straight in the database, on the schema scripts/test migrated;
// removed with its ballots at the end.
class OpenElection {
 public:
  explicit OpenElection(const std::string& url) {
    pqxx::connection conn(url);
    pqxx::work tx(conn);
    id_ = tx.exec_params(
                "INSERT INTO elections (title, description, status, results_visibility,"
                " contests, created_at, updated_at)"
                " VALUES ('write_ballots test', '', 'open', 'after_close', $1, now(), now())"
                " RETURNING id::text",
                kStoredContests)[0][0]
              .as<std::string>();
    tx.commit();
  }
  ~OpenElection() { remove_election_as_owner(id_); }
  OpenElection(const OpenElection&) = delete;
  OpenElection& operator=(const OpenElection&) = delete;
  const std::string& id() const { return id_; }

 private:
  std::string id_;
};

store::PendingBallot ballot(const std::string& election_id) {
  store::PendingBallot b;
  b.election_id = election_id;
  b.token_message.resize(32);
  crypto::random_bytes(b.token_message);
  b.leaf = R"({"token":")" + crypto::to_hex(b.token_message) + R"("})";
  b.receipt = crypto::merkle_leaf_hash(b.leaf);
  return b;
}

// Two writers whose batches hold the same tokens in opposite orders: inserted in the
// order they came, each would wait for the other's row in the middle of the batch, a
// deadlock that PostgreSQL breaks by failing one batch (every ballot in it a 500).
TEST(BallotStoreTest, TwoBatchesOfTheSameTokensInOppositeOrdersBothCommit) {
  const std::string url = required_env("OBSERVERNET_TEST_DATABASE_URL");
  OpenElection election(url);
  prometheus::Registry registry;
  util::PoolOptions options;
  options.max = 2;
  store::PgPool pool(url, options, {.statement_timeout = 10'000ms}, registry);
  store::PgReads db(pool);
  store::VotingStore store(db);
  pool.warm_up();

  for (int round = 0; round < 5; ++round) {
    std::vector<store::PendingBallot> forward;
    for (int i = 0; i < 300; ++i) forward.push_back(ballot(election.id()));
    std::vector<store::PendingBallot> backward(forward.rbegin(), forward.rend());

    std::barrier start(2);
    std::vector<store::BallotWriteResult> a, b;
    std::exception_ptr error_a, error_b;
    auto write = [&](const std::vector<store::PendingBallot>& batch,
                     std::vector<store::BallotWriteResult>& out, std::exception_ptr& error) {
      start.arrive_and_wait();
      try {
        out = store.write_ballots(batch);
      } catch (...) {
        error = std::current_exception();
      }
    };
    std::thread first(write, std::cref(forward), std::ref(a), std::ref(error_a));
    std::thread second(write, std::cref(backward), std::ref(b), std::ref(error_b));
    first.join();
    second.join();
    for (auto* error : {&error_a, &error_b}) {
      if (*error) {
        try {
          std::rethrow_exception(*error);
        } catch (const std::exception& e) {
          FAIL() << "round " << round << ": a batch failed: " << e.what();
        }
      }
    }
    ASSERT_EQ(a.size(), forward.size());
    ASSERT_EQ(b.size(), backward.size());
    // Each token committed once; the other batch's copy is the same ballot again.
    for (std::size_t i = 0; i < forward.size(); ++i) {
      const auto mine = a[i].outcome;
      const auto theirs = b[forward.size() - 1 - i].outcome;
      EXPECT_TRUE(
          (mine == store::BallotOutcome::accepted && theirs == store::BallotOutcome::duplicate) ||
          (mine == store::BallotOutcome::duplicate && theirs == store::BallotOutcome::accepted))
          << "round " << round << ", ballot " << i;
    }
  }
}

}  // namespace
}  // namespace observernet::testing
