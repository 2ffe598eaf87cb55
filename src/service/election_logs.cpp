#include "observernet/service/election_logs.hpp"

#include <algorithm>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <utility>

#include "observernet/store/board.hpp"

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

ElectionLogs::ElectionLogs(store::BoardStore& store, std::chrono::milliseconds freshness)
    : store_(store), freshness_(freshness) {}

std::shared_ptr<ElectionLogs::Entry> ElectionLogs::entry(const std::string& election_id) {
  std::lock_guard lock(mutex_);
  auto& e = entries_[election_id];
  if (!e) e = std::make_shared<Entry>();
  return e;
}

awaitable<std::optional<ElectionLogs::View>> ElectionLogs::current(std::string election_id) {
  std::shared_ptr<Entry> e = entry(election_id);
  std::optional<domain::TreeHead> head;
  bool stale = true;
  {
    std::lock_guard lock(e->mutex);
    head = e->head;
    stale = !head || Clock::now() - e->loaded_at >= freshness_;
  }
  // One request per process refreshes a stale head; the others answer from the one
  // they have meanwhile. Without any head yet, each request loads it.
  if (stale && (!head || !e->refreshing.exchange(true))) {
    try {
      auto fresh = co_await refresh(election_id, *e);
      if (head) e->refreshing = false;
      if (fresh) head = std::move(fresh);
    } catch (...) {
      if (head) e->refreshing = false;
      throw;
    }
  }
  if (!head) co_return std::nullopt;
  co_return View{e->log, std::move(*head)};
}

awaitable<std::optional<domain::TreeHead>> ElectionLogs::refresh(const std::string& election_id,
                                                                 Entry& e) {
  auto head = co_await store_.latest_tree_head(election_id);
  if (!head) co_return std::nullopt;
  ElectionLog& log = *e.log;
  if (log.tree().size() < head->tree_size) {
    auto chunks = co_await store_.chunks_from(election_id, log.tree().size());
    std::lock_guard lock(log.mutex_);
    // Another request may have appended meanwhile: only what is still missing.
    for (const auto& chunk : chunks) {
      for (std::size_t i = 0; i < chunk.leaf_hashes.size(); ++i) {
        const std::uint64_t index = chunk.first_index + i;
        if (index < log.tree_.size()) continue;
        if (index != log.tree_.size()) throw std::runtime_error("a log chunk is missing");
        log.append(chunk.leaf_hashes[i]);
      }
    }
    if (log.tree_.size() < head->tree_size) {
      throw std::runtime_error("the stored log is shorter than its tree head");
    }
  }
  std::lock_guard lock(e.mutex);
  if (!e.head || e.head->tree_size <= head->tree_size) {
    e.head = head;
    e.loaded_at = Clock::now();
  }
  co_return e.head;
}

}  // namespace observernet::service
