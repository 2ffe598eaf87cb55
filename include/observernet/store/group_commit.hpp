#pragma once
// A group commit: requests wait in a bounded queue; each of `writers` threads takes up to
// `batch_size` of them (waiting at most `batch_wait` for a batch to fill), writes them in
// one transaction on its own connection, commits, then resumes every waiting request
// with its own result. With two or more writers one batch fills while another commits. A
// full queue refuses at once with 503 + Retry-After instead of growing.
//
// Ballots (store/ballot_writer.hpp) and token issuances (store/issuance_writer.hpp) use
// it, each with its metrics: <prefix>_queue_depth, <prefix>_batch_size,
// <prefix>_batch_seconds, <prefix>_queue_rejected_total, <prefix>_queue_expired_total,
// <prefix>_batch_splits_total.
// Its members are defined in group_commit.cpp, for those two kinds of request only.
//
// A batch holds requests of any election. One that fails, unless the database is
// unavailable, is written again one election at a time: one election's failure fails
// only its own requests.
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <exception>
#include <functional>
#include <mutex>
#include <span>
#include <string>
#include <thread>
#include <vector>

namespace prometheus {
class Counter;
class Gauge;
class Histogram;
class Registry;
}  // namespace prometheus

namespace observernet::store {

struct GroupCommitOptions {
  std::size_t batch_size = 500;
  std::chrono::milliseconds batch_wait{2};
  std::size_t queue_depth = 20'000;
  std::size_t writers = 1;
  // A request still queued this long after it came is answered 503 + Retry-After
  // instead of being written: with the call's own deadline (database.call_timeout_ms)
  // it bounds how long a request waits for its commit.
  std::chrono::milliseconds queue_timeout{3'000};
};

// How one group commit names itself in metrics, logs and refusals.
struct GroupCommitNames {
  std::string prefix;  // of the metrics and the failure's log event: "ballot"
  std::string what;    // plural, as a sentence names them: "ballots"
};

template <class Item, class Result>
class GroupCommit {
 public:
  // Writes one batch in one transaction, on the calling writer thread; one result per
  // item, in the batch's order. What it throws fails the batch (see above).
  using WriteBatch = std::function<std::vector<Result>(std::span<const Item>)>;

  GroupCommit(WriteBatch write, GroupCommitOptions options, const GroupCommitNames& names,
              prometheus::Registry& registry);
  ~GroupCommit();
  GroupCommit(const GroupCommit&) = delete;
  GroupCommit& operator=(const GroupCommit&) = delete;

  // Resumes once the item's batch has committed (or failed: the error propagates).
  // Throws Error(service_unavailable) with Retry-After when the queue is full or the
  // writers have stopped.
  boost::asio::awaitable<Result> write(Item item);

  // Items queued or being written now.
  std::size_t queued() const;

  // Writes everything queued, then stops the threads; later writes are refused. For
  // shutdown, after the HTTP server has stopped taking requests.
  void stop();

 private:
  using Completion = std::function<void(std::exception_ptr, Result)>;
  struct Queued {
    Item item;
    Completion complete;
    std::chrono::steady_clock::time_point queued_at;
  };
  void enqueue(Item item, Completion complete);
  void run();
  // `answered` requests left the queue and the writers.
  void release(std::size_t answered);
  // Writes `part` into results[offset…]; what it threw, logged, or null.
  std::exception_ptr write_part(std::span<const Item> part, std::vector<Result>& results,
                                std::size_t offset);
  static bool divisible(std::span<const Item> items, std::exception_ptr error);
  static void order_by_election(std::vector<Item>& items, std::vector<Completion>& completions);

  const WriteBatch write_;
  const GroupCommitOptions options_;
  const std::string what_;
  const std::string failure_event_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<Queued> queue_;
  std::size_t admitted_ = 0;  // queued or being written, under mutex_
  bool stopping_ = false;
  prometheus::Gauge& depth_;
  prometheus::Histogram& batch_size_;
  prometheus::Histogram& batch_seconds_;
  prometheus::Counter& rejected_;
  prometheus::Counter& expired_;
  prometheus::Counter& split_;
  std::vector<std::thread> threads_;
};

}  // namespace observernet::store
