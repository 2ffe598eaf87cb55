#pragma once
// RFC 9162 Merkle tree hashing (Certificate Transparency v2), SHA-256: tree heads,
// inclusion and consistency proofs, and their verification. Pure: no I/O.
#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "observernet/crypto/hash.hpp"

namespace observernet::crypto {

// RFC 9162 §2.1.1: MTH({d(0)}) = SHA-256(0x00 || d(0)). A ballot's receipt.
Digest merkle_leaf_hash(std::string_view leaf);

// RFC 9162 §2.1.1: SHA-256(0x01 || left || right), an interior node.
Digest merkle_node_hash(const Digest& left, const Digest& right);

// RFC 9162 §2.1.1: MTH over the given leaf hashes, straight from the recursive
// definition (O(n) hashes). The empty tree's root is SHA-256 of the empty string.
Digest merkle_root(std::span<const Digest> leaf_hashes);

// Leaves [begin, end) of a tree.
struct LeafRange {
  std::uint64_t begin;
  std::uint64_t end;

  friend bool operator==(const LeafRange&, const LeafRange&) = default;
};

// The ranges whose MTH, in this order, make up PATH(index, D[size]) (RFC 9162 §2.1.3.1).
// Every range is either a perfect subtree (2^k leaves starting at a multiple of 2^k) or
// the right part [begin, size) of one, with begin a multiple of the largest power of two
// not above size - begin; at most one range per proof is of the second kind. At most
// ceil(log2(size)) ranges. Throws std::invalid_argument unless index < size.
std::vector<LeafRange> inclusion_proof_ranges(std::uint64_t index, std::uint64_t size);

// The ranges whose MTH, in this order, make up PROOF(first, D[second]) (RFC 9162
// §2.1.4.1), of the same two kinds. Empty when first == second. At most
// ceil(log2(second)) + 1 ranges. Throws std::invalid_argument unless
// 0 < first <= second: RFC 9162 defines the proof for 0 < first < second only, and a
// proof from the empty tree would prove nothing.
std::vector<LeafRange> consistency_proof_ranges(std::uint64_t first, std::uint64_t second);

// MTH of leaves [begin, end), asked only for ranges of the two kinds above. A server
// answers from stored nodes: a perfect subtree is one stored hash, and the one ragged
// range of a proof folds O(log n) of them.
using SubtreeHashSource = std::function<Digest(std::uint64_t begin, std::uint64_t end)>;

// RFC 9162 §2.1.3.1 and §2.1.4.1 over a source of subtree hashes, calling it once per
// range above. Throw as the *_ranges functions do, and whatever the source throws.
std::vector<Digest> inclusion_proof(std::uint64_t index, std::uint64_t size,
                                    const SubtreeHashSource& subtree);
std::vector<Digest> consistency_proof(std::uint64_t first, std::uint64_t second,
                                      const SubtreeHashSource& subtree);

// RFC 9162 §2.1.3.2, step by step. False, never an exception, when index >= size or the
// path does not lead from leaf_hash to root.
bool verify_inclusion(const Digest& leaf_hash, std::uint64_t index, std::uint64_t size,
                      std::span<const Digest> path, const Digest& root);

// RFC 9162 §2.1.4.2, step by step, for 0 < first < second. Outside that range, as
// transparency-dev/merkle's proof.VerifyConsistency decides: first == second is
// consistent exactly when the proof is empty and the roots are equal; first == 0 and
// first > second are never consistent. False, never an exception, for any proof that
// does not verify.
bool verify_consistency(std::uint64_t first, std::uint64_t second, const Digest& first_root,
                        const Digest& second_root, std::span<const Digest> proof);

// The right edge of a tree: for a tree of `size` leaves, the MTH of each perfect subtree
// its size's binary digits name, largest (leftmost) first, at most 64 hashes. Enough to
// append leaves and compute every later root without the leaves before, so a sequencer
// can extend a log of any length from one stored row. Pure value type.
class CompactRange {
 public:
  CompactRange() = default;
  // nullopt unless hashes.size() is the number of one bits of size.
  static std::optional<CompactRange> from_hashes(std::uint64_t size, std::vector<Digest> hashes);

  void append(const Digest& leaf_hash);
  std::uint64_t size() const { return size_; }
  const std::vector<Digest>& hashes() const { return hashes_; }
  // MTH of the whole tree: SHA-256 of the empty string for size 0.
  Digest root() const;

 private:
  std::uint64_t size_ = 0;
  std::vector<Digest> hashes_;
};

// An append-only tree in memory: every leaf hash and every perfect subtree hash, level by
// level (level k, entry i: MTH of leaves [i * 2^k, (i + 1) * 2^k)), about 2 x 32 bytes a
// leaf. Roots and proofs for any size up to size() cost O(log n) hashes.
//
// One thread may append while any number of others read, without locks: a reader sees
// the tree as of the size() it loads, and stored hashes never move. Two appenders at once
// need a lock of the caller's.
class MerkleTree {
 public:
  MerkleTree();
  ~MerkleTree();
  MerkleTree(const MerkleTree&) = delete;
  MerkleTree& operator=(const MerkleTree&) = delete;

  void append(const Digest& leaf_hash);
  std::uint64_t size() const;

  // Every function below throws std::out_of_range for a size or index beyond size(), and
  // proofs throw std::invalid_argument as the free functions do.

  // MTH of the first `size` leaves; SHA-256 of the empty string for 0.
  Digest root(std::uint64_t size) const;
  // MTH of leaves [begin, end) for the ranges a SubtreeHashSource is asked for; throws
  // std::invalid_argument for any other non-empty range.
  Digest subtree_hash(std::uint64_t begin, std::uint64_t end) const;
  std::vector<Digest> inclusion_proof(std::uint64_t index, std::uint64_t size) const;
  std::vector<Digest> consistency_proof(std::uint64_t first, std::uint64_t second) const;

 private:
  class Level;
  static constexpr std::size_t kMaxLevels = 64;

  std::uint64_t checked_size(std::uint64_t size) const;
  const Digest& node(unsigned level, std::uint64_t index) const;

  // Published last by append, so that everything a reader can reach below it is written.
  std::atomic<std::uint64_t> size_{0};
  std::array<std::unique_ptr<Level>, kMaxLevels> levels_;
};

}  // namespace observernet::crypto
