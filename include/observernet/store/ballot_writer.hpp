#pragma once
// The group commit of accepted ballots (201 means committed: docs/api/README.md, Voting),
// with the metrics ballot_queue_depth, ballot_batch_size, ballot_batch_seconds and
// ballot_queue_rejected_total (store/group_commit.hpp).
#include <boost/asio/awaitable.hpp>
#include <cstddef>

#include "observernet/store/group_commit.hpp"
#include "observernet/store/voting.hpp"

namespace observernet::store {

// Where accepted ballots go: the group commit below, or a unit test's own sink.
class BallotSink {
 public:
  virtual ~BallotSink() = default;
  // Resumes once the ballot is durable (or refused: the error propagates).
  virtual boost::asio::awaitable<BallotWriteResult> write(PendingBallot ballot) = 0;
};

class BallotWriter final : public BallotSink {
 public:
  BallotWriter(VotingStore& store, GroupCommitOptions options, prometheus::Registry& registry);

  // Resumes once the ballot's batch has committed (or failed: the error propagates).
  // Throws Error(service_unavailable) with Retry-After when the queue is full or the
  // writer has stopped.
  boost::asio::awaitable<BallotWriteResult> write(PendingBallot ballot) override;

  // Ballots queued or being written now.
  std::size_t queued() const { return commit_.queued(); }

  // Writes everything queued, then stops; later writes are refused.
  void stop() { commit_.stop(); }

 private:
  GroupCommit<PendingBallot, BallotWriteResult> commit_;
};

}  // namespace observernet::store
