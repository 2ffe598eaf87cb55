#pragma once
// The group commit of accepted ballots (201 means committed: docs/api/README.md, Voting).
// Submissions wait in a bounded queue; each of `writers` threads takes up to `batch_size` of them
// (waiting at most `batch_wait` for a batch to fill), writes them in one transaction on
// its own connection, commits, then resumes every waiting request with its own outcome.
// With two or more writers one batch fills while another commits. A full queue refuses at once
// with 503 + Retry-After instead of growing. Metrics: ballot_queue_depth,
// ballot_batch_size, ballot_batch_seconds, ballot_queue_rejected_total.
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "observernet/store/voting.hpp"

namespace prometheus {
class Counter;
class Gauge;
class Histogram;
class Registry;
}  // namespace prometheus

namespace observernet::store {

struct BallotWriterOptions {
  std::size_t batch_size = 500;
  std::chrono::milliseconds batch_wait{2};
  std::size_t queue_depth = 20'000;
  std::size_t writers = 2;
};

// Where accepted ballots go: the group commit below, or a unit test's own sink.
class BallotSink {
 public:
  virtual ~BallotSink() = default;
  // Resumes once the ballot is durable (or refused: the error propagates).
  virtual boost::asio::awaitable<BallotWriteResult> write(PendingBallot ballot) = 0;
};

class BallotWriter final : public BallotSink {
 public:
  BallotWriter(VotingStore& store, BallotWriterOptions options, prometheus::Registry& registry);
  ~BallotWriter();
  BallotWriter(const BallotWriter&) = delete;
  BallotWriter& operator=(const BallotWriter&) = delete;

  // Resumes once the ballot's batch has committed (or failed: the error propagates).
  // Throws Error(service_unavailable) with Retry-After when the queue is full or the
  // writer has stopped.
  boost::asio::awaitable<BallotWriteResult> write(PendingBallot ballot) override;

  // Ballots queued or being written now.
  std::size_t queued() const;

  // Writes everything queued, then stops the threads; later writes are refused. For
  // shutdown, after the HTTP server has stopped taking requests.
  void stop();

 private:
  using Completion = std::function<void(std::exception_ptr, BallotWriteResult)>;
  struct Item {
    PendingBallot ballot;
    Completion complete;
  };
  void enqueue(PendingBallot ballot, Completion complete);
  void run();

  VotingStore& store_;
  const BallotWriterOptions options_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<Item> queue_;
  std::size_t admitted_ = 0;  // queued or being written, under mutex_
  bool stopping_ = false;
  prometheus::Gauge& depth_;
  prometheus::Histogram& batch_size_;
  prometheus::Histogram& batch_seconds_;
  prometheus::Counter& rejected_;
  std::vector<std::thread> threads_;
};

}  // namespace observernet::store
