#include "observernet/store/group_commit.hpp"

#include "observernet/store/ballot_writer.hpp"
#include "observernet/store/issuance_writer.hpp"

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
#include <stdexcept>

#include "observernet/error.hpp"
#include "observernet/store/voting.hpp"
#include "observernet/util/log.hpp"

namespace observernet::store {

namespace asio = boost::asio;

namespace {

std::string capitalized(std::string text) {
  if (!text.empty() && text[0] >= 'a' && text[0] <= 'z')
    text[0] = static_cast<char>(text[0] - 'a' + 'A');
  return text;
}

}  // namespace

template <class Item, class Result>
GroupCommit<Item, Result>::GroupCommit(WriteBatch write, GroupCommitOptions options,
                                       const GroupCommitNames& names,
                                       prometheus::Registry& registry)
    : write_(std::move(write)),
      options_(options),
      what_(names.what),
      failure_event_(names.prefix + "_batch_failed"),
      depth_(prometheus::BuildGauge()
                 .Name(names.prefix + "_queue_depth")
                 .Help(capitalized(names.what) + " queued for the group commit or being written")
                 .Register(registry)
                 .Add({})),
      batch_size_(
          prometheus::BuildHistogram()
              .Name(names.prefix + "_batch_size")
              .Help(capitalized(names.what) + " written per transaction")
              .Register(registry)
              .Add({}, prometheus::Histogram::BucketBoundaries{1, 2, 5, 10, 20, 50, 100, 200, 500,
                                                               1000, 2000, 5000})),
      batch_seconds_(
          prometheus::BuildHistogram()
              .Name(names.prefix + "_batch_seconds")
              .Help("Time to write and commit one batch of " + names.what)
              .Register(registry)
              .Add({}, prometheus::Histogram::BucketBoundaries{0.001, 0.002, 0.005, 0.01, 0.02,
                                                               0.05, 0.1, 0.2, 0.5, 1, 2})),
      rejected_(prometheus::BuildCounter()
                    .Name(names.prefix + "_queue_rejected_total")
                    .Help(capitalized(names.what) +
                          " refused with 503 because the group-commit queue was full")
                    .Register(registry)
                    .Add({})),
      expired_(prometheus::BuildCounter()
                   .Name(names.prefix + "_queue_expired_total")
                   .Help(capitalized(names.what) +
                         " refused with 503 after waiting in the queue past its timeout")
                   .Register(registry)
                   .Add({})),
      split_(prometheus::BuildCounter()
                 .Name(names.prefix + "_batch_splits_total")
                 .Help("Failed batches of " + names.what + " written again one election at a time")
                 .Register(registry)
                 .Add({})) {
  threads_.reserve(options_.writers);
  for (std::size_t i = 0; i < std::max<std::size_t>(options_.writers, 1); ++i) {
    threads_.emplace_back([this] { run(); });
  }
}

template <class Item, class Result>
GroupCommit<Item, Result>::~GroupCommit() {
  stop();
}

template <class Item, class Result>
void GroupCommit<Item, Result>::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
}

template <class Item, class Result>
asio::awaitable<Result> GroupCommit<Item, Result>::write(Item item) {
  {
    std::lock_guard lock(mutex_);
    if (stopping_ || admitted_ >= options_.queue_depth) {
      rejected_.Increment();
      throw Error(ErrorCode::service_unavailable,
                  "Too many " + what_ + " are waiting; retry shortly.", {},
                  stopping_ ? "group commit stopped" : "group-commit queue full")
          .with_retry_after(1);
    }
    ++admitted_;
  }
  depth_.Increment();
  co_return co_await asio::async_initiate<const asio::use_awaitable_t<>,
                                          void(std::exception_ptr, Result)>(
      [this](auto handler, Item* i) {
        // The completion runs the coroutine's continuation on its own executor.
        auto executor = asio::get_associated_executor(handler);
        auto shared = std::make_shared<decltype(handler)>(std::move(handler));
        enqueue(std::move(*i), [shared, executor](std::exception_ptr e, Result r) {
          util::post_result(executor, std::move(*shared), std::move(e), std::move(r));
        });
      },
      asio::use_awaitable, &item);
}

template <class Item, class Result>
void GroupCommit<Item, Result>::enqueue(Item item, Completion complete) {
  bool wake;
  {
    std::lock_guard lock(mutex_);
    queue_.push_back(
        Queued{std::move(item), std::move(complete), std::chrono::steady_clock::now()});
    // A writer waits for a first item, then for a full batch: wake one for those.
    wake = queue_.size() == 1 || queue_.size() >= options_.batch_size;
  }
  if (wake) cv_.notify_one();
}

template <class Item, class Result>
void GroupCommit<Item, Result>::run() {
  std::vector<Item> items;
  std::vector<Completion> completions;
  std::vector<Completion> expired;  // waited in the queue past queue_timeout
  for (;;) {
    {
      std::unique_lock lock(mutex_);
      cv_.wait(lock, [&] { return !queue_.empty() || stopping_; });
      if (queue_.empty()) return;  // stopping, and everything is written
      if (queue_.size() < options_.batch_size && !stopping_ && options_.batch_wait.count() > 0) {
        cv_.wait_for(lock, options_.batch_wait,
                     [&] { return queue_.size() >= options_.batch_size || stopping_; });
      }
      // Another writer may have taken the items meanwhile.
      if (queue_.empty()) continue;
      items.clear();
      completions.clear();
      expired.clear();
      const auto now = std::chrono::steady_clock::now();
      while (!queue_.empty() && items.size() < options_.batch_size) {
        Queued& next = queue_.front();
        if (now - next.queued_at > options_.queue_timeout) {
          expired.push_back(std::move(next.complete));
        } else {
          items.push_back(std::move(next.item));
          completions.push_back(std::move(next.complete));
        }
        queue_.pop_front();
      }
      // What is left is the next writer's batch.
      if (!queue_.empty()) cv_.notify_one();
    }
    if (!expired.empty()) {
      // Their clients were told nothing yet and nothing of theirs is written: a 503 to
      // retry, rather than an answer later than anyone waits for.
      expired_.Increment(static_cast<double>(expired.size()));
      const auto error =
          std::make_exception_ptr(Error(ErrorCode::service_unavailable,
                                        "Too many " + what_ + " are waiting; retry shortly.", {},
                                        "waited in the group-commit queue past its timeout")
                                      .with_retry_after(1));
      for (auto& complete : expired) complete(copy_of(error), Result{});
      release(expired.size());
    }
    if (items.empty()) continue;
    const auto started = std::chrono::steady_clock::now();
    std::vector<Result> results(items.size());
    std::vector<std::exception_ptr> errors(items.size());
    if (std::exception_ptr error = write_part(items, results, 0); error) {
      if (divisible(items, error)) {
        // Each election's items on their own, so that what fails one election's fails
        // only its requests: the batch in election order, its completions alike.
        split_.Increment();
        order_by_election(items, completions);
        for (std::size_t from = 0; from < items.size();) {
          std::size_t to = from + 1;
          while (to < items.size() && items[to].election_id == items[from].election_id) ++to;
          error = write_part(std::span(items).subspan(from, to - from), results, from);
          std::fill(errors.begin() + static_cast<std::ptrdiff_t>(from),
                    errors.begin() + static_cast<std::ptrdiff_t>(to), error);
          from = to;
        }
      } else {
        std::fill(errors.begin(), errors.end(), error);
      }
    }
    batch_size_.Observe(static_cast<double>(items.size()));
    batch_seconds_.Observe(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    for (std::size_t i = 0; i < completions.size(); ++i) {
      if (errors[i]) {
        completions[i](copy_of(errors[i]), Result{});
      } else {
        completions[i](nullptr, std::move(results[i]));
      }
    }
    release(completions.size());
  }
}

template <class Item, class Result>
void GroupCommit<Item, Result>::release(std::size_t answered) {
  {
    std::lock_guard lock(mutex_);
    admitted_ -= answered;
  }
  depth_.Decrement(static_cast<double>(answered));
}

template <class Item, class Result>
std::exception_ptr GroupCommit<Item, Result>::write_part(std::span<const Item> part,
                                                         std::vector<Result>& results,
                                                         std::size_t offset) {
  try {
    std::vector<Result> written = write_(part);
    std::move(written.begin(), written.end(),
              results.begin() + static_cast<std::ptrdiff_t>(offset));
    return nullptr;
  } catch (const std::exception& e) {
    // The database away is a warning (each request gets its 503); anything else an error.
    log::write(is_unavailable(e) ? log::Level::warn : log::Level::error, failure_event_,
               {{"requests", static_cast<std::uint64_t>(part.size())}, {"error", e.what()}});
    return std::current_exception();
  }
}

// Worth writing again election by election: a batch of more than one election that
// failed for another reason than the database's availability (a 503, which would only
// be met again, each time after the call's deadline).
template <class Item, class Result>
bool GroupCommit<Item, Result>::divisible(std::span<const Item> items, std::exception_ptr error) {
  if (is_unavailable(error)) return false;
  return std::ranges::any_of(
      items, [&](const Item& i) { return i.election_id != items.front().election_id; });
}

template <class Item, class Result>
void GroupCommit<Item, Result>::order_by_election(std::vector<Item>& items,
                                                  std::vector<Completion>& completions) {
  std::vector<std::size_t> order(items.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::ranges::stable_sort(order, [&](std::size_t a, std::size_t b) {
    return items[a].election_id < items[b].election_id;
  });
  std::vector<Item> sorted_items;
  std::vector<Completion> sorted_completions;
  sorted_items.reserve(items.size());
  sorted_completions.reserve(items.size());
  for (std::size_t i : order) {
    sorted_items.push_back(std::move(items[i]));
    sorted_completions.push_back(std::move(completions[i]));
  }
  items = std::move(sorted_items);
  completions = std::move(sorted_completions);
}

template <class Item, class Result>
std::size_t GroupCommit<Item, Result>::queued() const {
  return static_cast<std::size_t>(depth_.Value());
}

// The two group commits there are; a third is one more line here.
template class GroupCommit<PendingBallot, BallotWriteResult>;
template class GroupCommit<PendingIssuance, IssuanceWriteResult>;

BallotWriter::BallotWriter(VotingStore& store, GroupCommitOptions options,
                           prometheus::Registry& registry)
    : commit_([&store](std::span<const PendingBallot> b) { return store.write_ballots(b); },
              options, {"ballot", "ballots"}, registry) {}

asio::awaitable<BallotWriteResult> BallotWriter::write(PendingBallot ballot) {
  return commit_.write(std::move(ballot));
}

IssuanceWriter::IssuanceWriter(VotingStore& store, GroupCommitOptions options,
                               prometheus::Registry& registry)
    : store_(store),
      commit_([&store](std::span<const PendingIssuance> b) { return store.write_issuances(b); },
              options, {"token", "token issuances"}, registry) {}

asio::awaitable<TokenRequestState> IssuanceWriter::token_state(std::string election_id,
                                                               crypto::Digest voter_hash) {
  return store_.token_state(std::move(election_id), voter_hash);
}

asio::awaitable<TokenIssuance> IssuanceWriter::record_token(std::string election_id,
                                                            crypto::Digest voter_hash,
                                                            TokenIssuance issuance) {
  // A named item: GCC 12 destroys a braced temporary in a co_await's operand twice.
  PendingIssuance pending{std::move(election_id), voter_hash, std::move(issuance)};
  auto result = co_await commit_.write(std::move(pending));
  if (result.election == BatchElection::busy) throw election_busy();
  if (result.election == BatchElection::not_open) {
    throw Error(ErrorCode::election_not_open, "The election is not open for voting.");
  }
  co_return std::move(result.recorded);
}

}  // namespace observernet::store
