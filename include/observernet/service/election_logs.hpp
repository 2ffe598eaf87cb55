#pragma once
// Each election's Merkle log in this process's memory, for the bulletin board's reads
// (docs/formats.md, Merkle log): every leaf and perfect-subtree hash (crypto::MerkleTree, about 64
// bytes a leaf) and an index from receipt to leaf index, filled from PostgreSQL's log_chunks in
// leaf order, only ever appended to. A proof or a page of ballots then costs no
// database read but the newest tree head's (at most `freshness` old) — and the leaves,
// for a page of ballots.
//
// What is loaded is checked before it is served: the tree head's signature under the log
// key, and the root recomputed from the stored leaves against the one it signs. A
// mismatch (the stored log altered, or the head) is logged as an error and counted
// (board_integrity_failures_total), the election's board answers 503 for
// kIntegrityRetry, and then its log is loaded afresh; nothing unchecked is served.
// A log not yet in memory is loaded once, however many requests ask for it meanwhile
// (board_log_loads_total counts the reads of log chunks). While PostgreSQL is
// unavailable, the head already held is served on (board_stale_heads_served_total);
// every board read looks its election up first, which bounds that for an open election
// (cache.stale_if_error_s).
#include <atomic>
#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "observernet/crypto/merkle.hpp"
#include "observernet/domain/tree_head.hpp"

namespace observernet::store {
class BoardStore;
}

namespace prometheus {
class Counter;
class Registry;
}  // namespace prometheus

namespace observernet::service {

// One election's log. The tree is read without locks; the receipt index under a mutex.
class ElectionLog {
 public:
  const crypto::MerkleTree& tree() const { return tree_; }
  // The leaf index of a receipt among the first `size` leaves.
  std::optional<std::uint64_t> find(const crypto::Digest& receipt, std::uint64_t size) const;

 private:
  friend class ElectionLogs;
  void append(const crypto::Digest& leaf_hash);  // under mutex_
  // The slot holding the receipt, or the empty one where it would go.
  std::size_t slot_of(const crypto::Digest& receipt) const;

  crypto::MerkleTree tree_;
  mutable std::mutex mutex_;  // slots_, and appending to tree_
  // Open addressing: leaf index + 1 (0: empty), placed by the receipt's first bytes (a
  // hash already) and probed linearly, at most half full: 8 bytes a leaf. The receipt
  // itself is the tree's leaf hash, so it is not stored twice.
  std::vector<std::uint32_t> slots_;
};

class ElectionLogs {
 public:
  static constexpr std::chrono::seconds kIntegrityRetry{5};
  // Leaves read from PostgreSQL at a time when loading: about 0.4 MB in flight (the
  // result's hex, then the hashes), held a few times over, since each of the pool's
  // threads keeps what it freed in its own allocator arena. 16,384 held 45 MiB besides a
  // log of 22 MiB at its peak (Release), 4,096 13 MiB.
  static constexpr std::uint64_t kLoadPage = 4'096;

  ElectionLogs(store::BoardStore& store, std::chrono::milliseconds freshness,
               prometheus::Registry& registry);

  struct View {
    std::shared_ptr<const ElectionLog> log;  // holds at least head.tree_size leaves
    domain::TreeHead head;                   // the newest known
  };
  // nullopt: the election has no log (a draft, or not yet opened). Throws
  // Error(service_unavailable) while the stored log fails its check.
  boost::asio::awaitable<std::optional<View>> current(std::string election_id);

 private:
  // A request waiting for a first load, and where it goes on.
  using Handler = boost::asio::any_completion_handler<void(std::exception_ptr)>;
  struct Waiter {
    boost::asio::any_io_executor executor;
    Handler handler;
  };
  // The waiter goes on, on its own executor: with `error` rethrown, if any.
  static void wake(Waiter waiter, const std::exception_ptr& error);

  struct Entry {
    std::mutex mutex;  // everything but `refreshing`
    std::shared_ptr<ElectionLog> log = std::make_shared<ElectionLog>();
    std::optional<domain::TreeHead> head;
    std::chrono::steady_clock::time_point loaded_at;
    std::chrono::steady_clock::time_point failed_until;  // the integrity check failed
    bool loading = false;           // a first load on its way: others wait for it
    std::exception_ptr load_error;  // the last first load's
    std::vector<Waiter> waiting;
    std::atomic<bool> refreshing{false};
  };
  std::shared_ptr<Entry> entry(const std::string& election_id);
  // The first load, or a wait for the one on its way.
  boost::asio::awaitable<void> load_once(const std::string& election_id, Entry& entry);
  // Reads the newest tree head and the leaves the entry lacks, checks them, and keeps the
  // head in the entry if it is newer than the one there.
  boost::asio::awaitable<void> refresh(const std::string& election_id, Entry& entry);
  // Throws Error(service_unavailable), having dropped the entry's log, unless `head` is
  // signed by the log key and is the root of the log's first head.tree_size leaves.
  // `gap`: the stored chunks skip leaves.
  void check_integrity(const domain::TreeHead& head, const ElectionLog& log, bool gap,
                       Entry& entry);

  store::BoardStore& store_;
  const std::chrono::milliseconds freshness_;
  prometheus::Counter& loads_;
  prometheus::Counter& integrity_failures_;
  prometheus::Counter& stale_served_;
  std::mutex mutex_;
  std::unordered_map<std::string, std::shared_ptr<Entry>> entries_;
};

}  // namespace observernet::service
