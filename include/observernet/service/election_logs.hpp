#pragma once
// Each election's Merkle log in this process's memory, for the bulletin board's reads
// (docs/formats.md, Merkle log): every leaf and perfect-subtree hash (crypto::MerkleTree, about 64
// bytes a leaf) and an index from receipt to leaf index, filled from PostgreSQL's log_chunks in
// leaf order, only ever appended to. A proof or a page of ballots then costs no
// database read but the newest tree head's (at most `freshness` old) — and the leaves,
// for a page of ballots.
#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
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
  ElectionLogs(store::BoardStore& store, std::chrono::milliseconds freshness);

  struct View {
    std::shared_ptr<const ElectionLog> log;  // holds at least head.tree_size leaves
    domain::TreeHead head;                   // the newest known
  };
  // nullopt: the election has no log (a draft, or not yet opened).
  boost::asio::awaitable<std::optional<View>> current(std::string election_id);

 private:
  struct Entry {
    std::shared_ptr<ElectionLog> log = std::make_shared<ElectionLog>();
    std::mutex mutex;  // head, loaded_at
    std::optional<domain::TreeHead> head;
    std::chrono::steady_clock::time_point loaded_at;
    std::atomic<bool> refreshing{false};
  };
  std::shared_ptr<Entry> entry(const std::string& election_id);
  boost::asio::awaitable<std::optional<domain::TreeHead>> refresh(const std::string& election_id,
                                                                  Entry& entry);

  store::BoardStore& store_;
  const std::chrono::milliseconds freshness_;
  std::mutex mutex_;
  std::unordered_map<std::string, std::shared_ptr<Entry>> entries_;
};

}  // namespace observernet::service
