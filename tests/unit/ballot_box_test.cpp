// The ballot box's rules without PostgreSQL: an election lookup and a ballot sink of
// the test's own stand behind its interfaces (service/voting_elections.hpp,
// store/ballot_writer.hpp); the RSA work is real.
#include "observernet/service/ballot_box.hpp"

#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include "observernet/crypto/blind_rsa.hpp"
#include "observernet/crypto/merkle.hpp"
#include "observernet/error.hpp"
#include "observernet/store/ballot_writer.hpp"
#include "observernet/util/worker_pool.hpp"
#include "service_fakes.hpp"

namespace observernet::service {
namespace {

namespace asio = boost::asio;
using crypto::Bytes;

using fakes::election_key;
using fakes::kElectionId;
using fakes::OneElection;

// Accepts each token once, as the database's unique index does; the same leaf again is a
// duplicate.
class MemorySink final : public store::BallotSink {
 public:
  asio::awaitable<store::BallotWriteResult> write(store::PendingBallot ballot) override {
    store::BallotWriteResult result;
    result.accepted_at = domain::TimePoint(std::chrono::minutes(29'000'000));
    auto [it, added] = leaves.emplace(ballot.token_message, ballot.leaf);
    result.outcome = added                       ? store::BallotOutcome::accepted
                     : it->second == ballot.leaf ? store::BallotOutcome::duplicate
                                                 : store::BallotOutcome::token_already_used;
    written.push_back(std::move(ballot));
    co_return result;
  }
  std::map<Bytes, std::string> leaves;
  std::vector<store::PendingBallot> written;
};

// A token as a voter's client makes it (docs/formats.md, Tokens).
std::pair<Bytes, Bytes> token() {
  const auto variant = crypto::kSha384PssDeterministic;
  Bytes message(32);
  crypto::random_bytes(message);
  const Bytes prepared = crypto::prepare(variant, message);
  auto blinded = crypto::blind(election_key().public_key(), prepared, variant);
  auto blind_sig = std::get<Bytes>(election_key().blind_sign(blinded.blinded_msg));
  auto sig =
      crypto::finalize(election_key().public_key(), prepared, blind_sig, blinded.inv, variant);
  return {message, *sig};
}

class BallotBoxTest : public ::testing::Test {
 protected:
  // vote_submissions_total{result}.
  double submissions(std::string_view result) {
    for (const auto& family : registry.Collect()) {
      if (family.name != "vote_submissions_total") continue;
      for (const auto& metric : family.metric) {
        if (metric.label.at(0).value == result) return metric.counter.value;
      }
    }
    return -1;
  }
  CastBallot cast(ElectionLookup& lookup, BallotSubmission submission) {
    BallotBox box(lookup, sink, workers, registry);
    return fakes::run(box.cast(std::move(submission)));
  }
  ErrorCode refusal(ElectionLookup& lookup, BallotSubmission submission) {
    BallotBox box(lookup, sink, workers, registry);
    return fakes::refusal(box.cast(std::move(submission)));
  }
  static BallotSubmission submission(const std::pair<Bytes, Bytes>& t, std::string option = "ada") {
    return {kElectionId, t.first, t.second,
            nlohmann::json::array({{{"contestId", "chair"}, {"optionId", option}}})};
  }

  prometheus::Registry registry;
  util::WorkerPool workers{"test", 1, 16, registry};
  MemorySink sink;
  OneElection open{domain::ElectionStatus::open};
};

TEST_F(BallotBoxTest, AcceptsAValidBallotWithTheReceiptOfItsLeaf) {
  auto t = token();
  CastBallot cast = this->cast(open, submission(t));
  EXPECT_TRUE(cast.fresh);
  EXPECT_EQ(cast.election_id, kElectionId);
  ASSERT_EQ(sink.written.size(), 1u);
  EXPECT_EQ(cast.receipt, crypto::merkle_leaf_hash(sink.written[0].leaf));
  EXPECT_EQ(sink.written[0].token_message, t.first);
}

TEST_F(BallotBoxTest, TheSameBallotAgainIsADuplicateWithTheSameReceipt) {
  auto t = token();
  CastBallot first = cast(open, submission(t));
  CastBallot again = cast(open, submission(t));
  EXPECT_FALSE(again.fresh);
  EXPECT_EQ(again.receipt, first.receipt);
}

TEST_F(BallotBoxTest, AnotherBallotWithAUsedTokenIsRefused) {
  auto t = token();
  cast(open, submission(t));
  EXPECT_EQ(refusal(open, submission(t, "bob")), ErrorCode::token_already_used);
}

TEST_F(BallotBoxTest, ATokenSignedByAnotherKeyIsInvalid) {
  auto t = token();
  t.second.back() ^= 1;
  EXPECT_EQ(refusal(open, submission(t)), ErrorCode::invalid_token);
  auto short_signature = token();
  short_signature.second.resize(10);
  EXPECT_EQ(refusal(open, submission(short_signature)), ErrorCode::invalid_token);
  EXPECT_TRUE(sink.written.empty());
}

TEST_F(BallotBoxTest, SelectionsOutsideTheContestsAreAnInvalidBallot) {
  EXPECT_EQ(refusal(open, submission(token(), "carol")), ErrorCode::invalid_ballot);
  EXPECT_TRUE(sink.written.empty());
}

TEST_F(BallotBoxTest, OnlyAnOpenElectionOfThisIdTakesBallots) {
  OneElection closed{domain::ElectionStatus::closed};
  EXPECT_EQ(refusal(closed, submission(token())), ErrorCode::election_not_open);
  auto other = submission(token());
  other.election_id = "00000000-0000-4000-8000-000000000000";
  EXPECT_EQ(refusal(open, other), ErrorCode::not_found);
  auto short_message = submission(token());
  short_message.token_message.resize(31);
  EXPECT_EQ(refusal(open, short_message), ErrorCode::bad_request);
  EXPECT_TRUE(sink.written.empty());
}

TEST_F(BallotBoxTest, EverySubmissionIsCountedOnceByItsResult) {
  auto t = token();
  cast(open, submission(t));
  cast(open, submission(t));
  refusal(open, submission(t, "bob"));
  refusal(open, submission(token(), "carol"));
  EXPECT_EQ(submissions("accepted"), 1);
  EXPECT_EQ(submissions("duplicate"), 1);
  EXPECT_EQ(submissions("token_already_used"), 1);
  EXPECT_EQ(submissions("invalid_ballot"), 1);
  EXPECT_EQ(submissions("error"), 0);
}

}  // namespace
}  // namespace observernet::service
