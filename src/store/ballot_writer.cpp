#include "observernet/store/ballot_writer.hpp"

#include "observernet/util/post_result.hpp"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <algorithm>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <memory>

#include "observernet/error.hpp"
#include "observernet/util/log.hpp"

namespace observernet::store {

namespace asio = boost::asio;

BallotWriter::BallotWriter(VotingStore& store, BallotWriterOptions options,
                           prometheus::Registry& registry)
    : store_(store),
      options_(options),
      depth_(prometheus::BuildGauge()
                 .Name("ballot_queue_depth")
                 .Help("Accepted ballots queued for the group commit or being written")
                 .Register(registry)
                 .Add({})),
      batch_size_(
          prometheus::BuildHistogram()
              .Name("ballot_batch_size")
              .Help("Ballots written per transaction")
              .Register(registry)
              .Add({}, prometheus::Histogram::BucketBoundaries{1, 2, 5, 10, 20, 50, 100, 200, 500,
                                                               1000, 2000, 5000})),
      batch_seconds_(
          prometheus::BuildHistogram()
              .Name("ballot_batch_seconds")
              .Help("Time to write and commit one batch of ballots")
              .Register(registry)
              .Add({}, prometheus::Histogram::BucketBoundaries{0.001, 0.002, 0.005, 0.01, 0.02,
                                                               0.05, 0.1, 0.2, 0.5, 1, 2})),
      rejected_(prometheus::BuildCounter()
                    .Name("ballot_queue_rejected_total")
                    .Help("Ballots refused with 503 because the group-commit queue was full")
                    .Register(registry)
                    .Add({})) {
  threads_.reserve(options_.writers);
  for (std::size_t i = 0; i < std::max<std::size_t>(options_.writers, 1); ++i) {
    threads_.emplace_back([this] { run(); });
  }
}

BallotWriter::~BallotWriter() {
  stop();
}

void BallotWriter::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
}

asio::awaitable<BallotWriteResult> BallotWriter::write(PendingBallot ballot) {
  {
    std::lock_guard lock(mutex_);
    if (stopping_ || admitted_ >= options_.queue_depth) {
      rejected_.Increment();
      throw Error(ErrorCode::service_unavailable, "Too many ballots are waiting; retry shortly.",
                  {}, stopping_ ? "ballot writer stopped" : "ballot queue full")
          .with_retry_after(1);
    }
    ++admitted_;
  }
  depth_.Increment();
  co_return co_await asio::async_initiate<const asio::use_awaitable_t<>,
                                          void(std::exception_ptr, BallotWriteResult)>(
      [this](auto handler, PendingBallot* b) {
        // The completion runs the coroutine's continuation on its own executor.
        auto executor = asio::get_associated_executor(handler);
        auto shared = std::make_shared<decltype(handler)>(std::move(handler));
        enqueue(std::move(*b), [shared, executor](std::exception_ptr e, BallotWriteResult r) {
          util::post_result(executor, std::move(*shared), e, r);
        });
      },
      asio::use_awaitable, &ballot);
}

void BallotWriter::enqueue(PendingBallot ballot, Completion complete) {
  bool wake;
  {
    std::lock_guard lock(mutex_);
    queue_.push_back(Item{std::move(ballot), std::move(complete)});
    // A writer waits for a first ballot, then for a full batch: wake one for those.
    wake = queue_.size() == 1 || queue_.size() >= options_.batch_size;
  }
  if (wake) cv_.notify_one();
}

void BallotWriter::run() {
  std::vector<PendingBallot> ballots;
  std::vector<Completion> completions;
  for (;;) {
    {
      std::unique_lock lock(mutex_);
      cv_.wait(lock, [&] { return !queue_.empty() || stopping_; });
      if (queue_.empty()) return;  // stopping, and everything is written
      if (queue_.size() < options_.batch_size && !stopping_ && options_.batch_wait.count() > 0) {
        cv_.wait_for(lock, options_.batch_wait,
                     [&] { return queue_.size() >= options_.batch_size || stopping_; });
      }
      // Another writer may have taken the ballots meanwhile.
      if (queue_.empty()) continue;
      const std::size_t n = std::min(queue_.size(), options_.batch_size);
      ballots.clear();
      completions.clear();
      for (std::size_t i = 0; i < n; ++i) {
        ballots.push_back(std::move(queue_.front().ballot));
        completions.push_back(std::move(queue_.front().complete));
        queue_.pop_front();
      }
      // What is left is the next writer's batch.
      if (!queue_.empty()) cv_.notify_one();
    }
    const auto started = std::chrono::steady_clock::now();
    std::vector<BallotWriteResult> results;
    std::exception_ptr error;
    try {
      results = store_.write_ballots(ballots);
    } catch (const std::exception& e) {
      error = std::current_exception();
      log::error("ballot_batch_failed",
                 {{"ballots", static_cast<std::uint64_t>(ballots.size())}, {"error", e.what()}});
    }
    batch_size_.Observe(static_cast<double>(ballots.size()));
    batch_seconds_.Observe(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    for (std::size_t i = 0; i < completions.size(); ++i) {
      completions[i](error, error ? BallotWriteResult{} : results[i]);
    }
    {
      std::lock_guard lock(mutex_);
      admitted_ -= completions.size();
    }
    depth_.Decrement(static_cast<double>(completions.size()));
  }
}

std::size_t BallotWriter::queued() const {
  return static_cast<std::size_t>(depth_.Value());
}

}  // namespace observernet::store
