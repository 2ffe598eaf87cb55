#include "observernet/service/election_logs.hpp"

#include <prometheus/counter.h>
#include <prometheus/registry.h>

#include <algorithm>
#include <boost/asio/async_result.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <utility>

#include "observernet/error.hpp"
#include "observernet/store/board.hpp"
#include "observernet/util/log.hpp"
#include "observernet/util/post_result.hpp"

namespace observernet::service {

using boost::asio::awaitable;
using Clock = std::chrono::steady_clock;

namespace {

std::size_t home_slot(const crypto::Digest& receipt, std::size_t mask) {
  // A hash already: any 8 of its bytes are uniform.
  std::uint64_t h = 0;
  std::memcpy(&h, receipt.data(), sizeof h);
  return static_cast<std::size_t>(h) & mask;
}

}  // namespace

std::size_t ElectionLog::slot_of(const crypto::Digest& receipt) const {
  const std::size_t mask = slots_.size() - 1;
  for (std::size_t at = home_slot(receipt, mask);; at = (at + 1) & mask) {
    const std::uint32_t slot = slots_[at];
    if (slot == 0 || tree_.subtree_hash(slot - 1, slot) == receipt) return at;
  }
}

void ElectionLog::append(const crypto::Digest& leaf_hash) {
  const std::uint64_t index = tree_.size();
  if (index >= std::numeric_limits<std::uint32_t>::max()) {
    throw std::length_error("an election's log is full");
  }
  if (2 * (index + 1) > slots_.size()) {
    std::vector<std::uint32_t> old = std::exchange(slots_, {});
    slots_.assign(std::max<std::size_t>(1024, 2 * old.size()), 0);
    for (std::uint32_t entry : old) {
      if (entry != 0) slots_[slot_of(tree_.subtree_hash(entry - 1, entry))] = entry;
    }
  }
  tree_.append(leaf_hash);
  std::uint32_t& slot = slots_[slot_of(leaf_hash)];
  // A receipt seen before keeps its first index (a ballot is logged once).
  if (slot == 0) slot = static_cast<std::uint32_t>(index + 1);
}

std::optional<std::uint64_t> ElectionLog::find(const crypto::Digest& receipt,
                                               std::uint64_t size) const {
  std::lock_guard lock(mutex_);
  if (slots_.empty()) return std::nullopt;
  const std::uint32_t slot = slots_[slot_of(receipt)];
  if (slot == 0 || slot - 1 >= size) return std::nullopt;
  return slot - 1;
}

ElectionLogs::ElectionLogs(store::BoardStore& store, std::chrono::milliseconds freshness,
                           prometheus::Registry& registry)
    : store_(store),
      freshness_(freshness),
      loads_(prometheus::BuildCounter()
                 .Name("board_log_loads_total")
                 .Help("Reads of an election's log chunks from PostgreSQL: a first load, or a "
                       "refresh that found new leaves")
                 .Register(registry)
                 .Add({})),
      integrity_failures_(
          prometheus::BuildCounter()
              .Name("board_integrity_failures_total")
              .Help("Logs loaded from PostgreSQL that did not match their signed tree head "
                    "(the election's board answers 503 meanwhile): alert on any")
              .Register(registry)
              .Add({})),
      stale_served_(prometheus::BuildCounter()
                        .Name("board_stale_heads_served_total")
                        .Help("Refreshes of a tree head that failed because PostgreSQL was "
                              "unavailable, after which the head held was served on")
                        .Register(registry)
                        .Add({})) {}

std::shared_ptr<ElectionLogs::Entry> ElectionLogs::entry(const std::string& election_id) {
  std::lock_guard lock(mutex_);
  auto& e = entries_[election_id];
  if (!e) e = std::make_shared<Entry>();
  return e;
}

namespace {

Error unavailable() {
  return Error(ErrorCode::service_unavailable,
               "This election's stored log does not match its signed tree head; its board is "
               "not served until it does.")
      .with_retry_after(static_cast<int>(ElectionLogs::kIntegrityRetry.count()));
}

}  // namespace

awaitable<std::optional<ElectionLogs::View>> ElectionLogs::current(std::string election_id) {
  std::shared_ptr<Entry> e = entry(election_id);
  std::optional<domain::TreeHead> head;
  std::shared_ptr<const ElectionLog> log;
  auto take = [&] {
    std::lock_guard lock(e->mutex);
    if (Clock::now() < e->failed_until) throw unavailable();
    head = e->head;
    log = e->log;
    return !head || Clock::now() - e->loaded_at >= freshness_;
  };
  const bool stale = take();
  if (!head) {
    co_await load_once(election_id, *e);
    take();
  } else if (stale && !e->refreshing.exchange(true)) {
    // One request per process refreshes a stale head; the others answer from the one
    // they have meanwhile.
    bool unavailable_now = false;
    try {
      co_await refresh(election_id, *e);
    } catch (const std::exception& error) {
      e->refreshing = false;
      if (!is_unavailable(error)) throw;
      unavailable_now = true;
    } catch (...) {
      e->refreshing = false;
      throw;
    }
    e->refreshing = false;
    if (unavailable_now) {
      // PostgreSQL is unavailable: the head this process holds, checked and signed, is
      // served on (an older head is as valid, only shorter, and carries its own time),
      // and the next refresh is tried a freshness later rather than by every request.
      // How long, the election's lookup decides (cache.stale_if_error_s; a closed
      // election's final head, for good). A log that failed its check is not: take()
      // throws for it.
      std::lock_guard lock(e->mutex);
      e->loaded_at = Clock::now();
      stale_served_.Increment();
    }
    take();
  }
  if (!head) co_return std::nullopt;
  co_return View{std::move(log), std::move(*head)};
}

void ElectionLogs::wake(Waiter waiter, const std::exception_ptr& error) {
  // Each waiter its own copy of a shared error (error.hpp, copy_of).
  util::post_result(waiter.executor, std::move(waiter.handler),
                    error ? copy_of(error) : std::exception_ptr());
}

awaitable<void> ElectionLogs::load_once(const std::string& election_id, Entry& e) {
  bool wait = false;
  {
    std::lock_guard lock(e.mutex);
    if (e.head) co_return;
    wait = e.loading;
    if (!wait) {
      e.loading = true;
      e.load_error = nullptr;
    }
  }
  if (wait) {
    // The load on its way serves this request too (a cold start's many requests cost one
    // load, and one log's memory).
    const auto executor = co_await boost::asio::this_coro::executor;
    auto join = [&e, &executor](Handler handler) {
      Waiter waiter{executor, std::move(handler)};
      std::unique_lock lock(e.mutex);
      if (e.loading) {
        e.waiting.push_back(std::move(waiter));
        return;
      }
      const std::exception_ptr error = e.load_error;  // done meanwhile
      lock.unlock();
      wake(std::move(waiter), error);
    };
    co_await boost::asio::async_initiate<decltype(boost::asio::use_awaitable),
                                         void(std::exception_ptr)>(join,
                                                                   boost::asio::use_awaitable);
    co_return;
  }
  std::exception_ptr error;
  try {
    co_await refresh(election_id, e);
  } catch (...) {
    error = std::current_exception();
  }
  std::vector<Waiter> waiting;
  {
    std::lock_guard lock(e.mutex);
    e.loading = false;
    e.load_error = error;
    waiting.swap(e.waiting);
  }
  for (auto& waiter : waiting) wake(std::move(waiter), error);
  if (error) std::rethrow_exception(error);
}

void ElectionLogs::check_integrity(const domain::TreeHead& head, const ElectionLog& loaded,
                                   bool gap, Entry& e) {
  std::string_view wrong;
  if (gap) {
    wrong = "a log chunk is missing";
  } else if (loaded.tree().size() < head.tree_size) {
    wrong = "the stored log is shorter than its tree head";
  } else if (loaded.tree().root(head.tree_size) != head.root_hash) {
    wrong = "the root of the stored leaves is not the tree head's";
  } else if (!domain::verify_tree_head(head, store_.log_key())) {
    wrong = "the tree head's signature does not verify under the log key";
  } else {
    return;
  }
  integrity_failures_.Increment();
  log::error("board_integrity_failed", {{"election_id", head.election_id},
                                        {"tree_size", std::to_string(head.tree_size)},
                                        {"reason", std::string(wrong)}});
  {
    std::lock_guard lock(e.mutex);
    e.log = std::make_shared<ElectionLog>();  // loaded afresh after kIntegrityRetry
    e.head.reset();
    e.failed_until = Clock::now() + kIntegrityRetry;
  }
  throw unavailable();
}

awaitable<void> ElectionLogs::refresh(const std::string& election_id, Entry& e) {
  auto head = co_await store_.latest_tree_head(election_id);
  if (!head) co_return;
  std::shared_ptr<ElectionLog> held;
  bool known = false;  // checked before: the head this entry serves
  {
    std::lock_guard lock(e.mutex);
    held = e.log;
    known = e.head && e.head->tree_size == head->tree_size &&
            e.head->root_hash == head->root_hash && e.head->signature == head->signature;
  }
  ElectionLog& log = *held;
  bool gap = false;
  if (log.tree().size() < head->tree_size) loads_.Increment();
  // A page at a time, until the head's leaves are in, a page adds none (the stored log is
  // short) or skips some.
  for (std::uint64_t size = log.tree().size(); size < head->tree_size && !gap;) {
    auto chunks = co_await store_.chunks_from(election_id, size, kLoadPage, head->tree_size);
    std::lock_guard lock(log.mutex_);
    // Another request may have appended meanwhile: only what is still missing.
    for (const auto& chunk : chunks) {
      for (std::size_t i = 0; i < chunk.leaf_hashes.size() && !gap; ++i) {
        const std::uint64_t index = chunk.first_index + i;
        if (index < log.tree_.size()) continue;
        gap = index != log.tree_.size();
        if (!gap) log.append(chunk.leaf_hashes[i]);
      }
    }
    if (log.tree_.size() == size) break;
    size = log.tree_.size();
  }
  if (!known) check_integrity(*head, log, gap, e);
  std::lock_guard lock(e.mutex);
  if (e.log == held && (!e.head || e.head->tree_size <= head->tree_size)) {
    e.head = std::move(head);
    e.loaded_at = Clock::now();
  }
}

}  // namespace observernet::service
