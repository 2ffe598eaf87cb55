#include "observernet/crypto/merkle.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <bit>
#include <limits>
#include <stdexcept>
#include <utility>

#include "openssl_ptr.hpp"

namespace observernet::crypto {
namespace {

// RFC 9162 §2.1.1, the domain separation between leaves and interior nodes.
constexpr unsigned char kLeafPrefix = 0x00;
constexpr unsigned char kNodePrefix = 0x01;

// RFC 9162 §2.1.1: "k is the largest power of two smaller than n", for n > 1.
std::uint64_t largest_power_of_two_below(std::uint64_t n) {
  return std::bit_floor(n - 1);
}

// LSB(x) of RFC 9162 §2.1.3.2 and §2.1.4.2.
bool lsb(std::uint64_t x) {
  return (x & 1) != 0;
}

std::vector<Digest> hashes_of(const std::vector<LeafRange>& ranges,
                              const SubtreeHashSource& subtree) {
  std::vector<Digest> hashes;
  hashes.reserve(ranges.size());
  for (const LeafRange& range : ranges) hashes.push_back(subtree(range.begin, range.end));
  return hashes;
}

}  // namespace

Digest merkle_leaf_hash(std::string_view leaf) {
  Digest out{};
  OpensslPtr<EVP_MD_CTX, EVP_MD_CTX_free> ctx(EVP_MD_CTX_new());
  // Streamed, so the leaf is not copied behind its prefix byte.
  bool ok = ctx && EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) == 1 &&
            EVP_DigestUpdate(ctx.get(), &kLeafPrefix, 1) == 1 &&
            EVP_DigestUpdate(ctx.get(), leaf.data(), leaf.size()) == 1 &&
            EVP_DigestFinal_ex(ctx.get(), out.data(), nullptr) == 1;
  if (!ok) throw std::runtime_error("SHA-256 failed");
  return out;
}

Digest merkle_node_hash(const Digest& left, const Digest& right) {
  std::array<unsigned char, 1 + 2 * sizeof(Digest)> input{};
  input[0] = kNodePrefix;
  std::copy(left.begin(), left.end(), input.begin() + 1);
  std::copy(right.begin(), right.end(), input.begin() + 1 + left.size());
  return sha256(input);
}

Digest merkle_root(std::span<const Digest> leaf_hashes) {
  // RFC 9162 §2.1.1: MTH({}) = HASH().
  if (leaf_hashes.empty()) return sha256(std::string_view{});
  if (leaf_hashes.size() == 1) return leaf_hashes[0];
  const std::uint64_t k = largest_power_of_two_below(leaf_hashes.size());
  return merkle_node_hash(merkle_root(leaf_hashes.first(k)), merkle_root(leaf_hashes.subspan(k)));
}

// RFC 9162 §2.1.3.1, PATH(m, D[n]), unrolled from the root down: each step appends the
// sibling subtree of the half that holds m, and the path lists them from the leaf up.
std::vector<LeafRange> inclusion_proof_ranges(std::uint64_t index, std::uint64_t size) {
  if (index >= size) throw std::invalid_argument("inclusion proof: index must be below size");
  std::vector<LeafRange> path;
  std::uint64_t begin = 0;
  std::uint64_t end = size;
  while (end - begin > 1) {
    const std::uint64_t middle = begin + largest_power_of_two_below(end - begin);
    if (index < middle) {
      path.push_back({middle, end});
      end = middle;
    } else {
      path.push_back({begin, middle});
      begin = middle;
    }
  }
  std::reverse(path.begin(), path.end());
  return path;
}

// RFC 9162 §2.1.4.1, PROOF(m, D[n]) = SUBPROOF(m, D[n], true), unrolled the same way.
// SUBPROOF's b stays true exactly while the subtree at hand starts at leaf 0.
std::vector<LeafRange> consistency_proof_ranges(std::uint64_t first, std::uint64_t second) {
  if (first == 0 || first > second) {
    throw std::invalid_argument("consistency proof: sizes must satisfy 0 < first <= second");
  }
  std::vector<LeafRange> proof;
  std::uint64_t begin = 0;
  std::uint64_t end = second;
  while (first < end) {
    const std::uint64_t middle = begin + largest_power_of_two_below(end - begin);
    if (first <= middle) {
      proof.push_back({middle, end});
      end = middle;
    } else {
      proof.push_back({begin, middle});
      begin = middle;
    }
  }
  // Here first == end: SUBPROOF(m, D[m], true) = {}, as the verifier knows MTH(D[0:m]),
  // and SUBPROOF(m, D[m], false) = {MTH(D[m])}.
  if (begin != 0) proof.push_back({begin, end});
  std::reverse(proof.begin(), proof.end());
  return proof;
}

std::vector<Digest> inclusion_proof(std::uint64_t index, std::uint64_t size,
                                    const SubtreeHashSource& subtree) {
  return hashes_of(inclusion_proof_ranges(index, size), subtree);
}

std::vector<Digest> consistency_proof(std::uint64_t first, std::uint64_t second,
                                      const SubtreeHashSource& subtree) {
  return hashes_of(consistency_proof_ranges(first, second), subtree);
}

// RFC 9162 §2.1.3.2; the numbers are the RFC's steps.
bool verify_inclusion(const Digest& leaf_hash, std::uint64_t index, std::uint64_t size,
                      std::span<const Digest> path, const Digest& root) {
  // 1.
  if (index >= size) return false;
  // 2.
  std::uint64_t fn = index;
  std::uint64_t sn = size - 1;
  // 3.
  Digest r = leaf_hash;
  // 4.
  for (const Digest& p : path) {
    // 4a.
    if (sn == 0) return false;
    // 4b.
    if (lsb(fn) || fn == sn) {
      r = merkle_node_hash(p, r);
      // 4b.ii: does nothing when LSB(fn) is set.
      while (!lsb(fn) && fn != 0) {
        fn >>= 1;
        sn >>= 1;
      }
    } else {
      r = merkle_node_hash(r, p);
    }
    // 4c.
    fn >>= 1;
    sn >>= 1;
  }
  // 5.
  return sn == 0 && r == root;
}

// RFC 9162 §2.1.4.2 for 0 < first < second; the numbers are the RFC's steps.
bool verify_consistency(std::uint64_t first, std::uint64_t second, const Digest& first_root,
                        const Digest& second_root, std::span<const Digest> proof) {
  // The RFC defines proofs for 0 < first < second only; these edges follow
  // transparency-dev/merkle (proof.RootFromConsistencyProof).
  if (first == 0 || first > second) return false;
  if (first == second) return proof.empty() && first_root == second_root;
  // 1.
  if (proof.empty()) return false;
  // 2. The path is first_hash followed by the proof, or the proof alone; it is walked
  // in place rather than copied to prepend.
  const bool prepended = std::has_single_bit(first);
  const Digest& head = prepended ? first_root : proof[0];
  const std::span<const Digest> tail = prepended ? proof : proof.subspan(1);
  // 3.
  std::uint64_t fn = first - 1;
  std::uint64_t sn = second - 1;
  // 4.
  while (lsb(fn)) {
    fn >>= 1;
    sn >>= 1;
  }
  // 5.
  Digest fr = head;
  Digest sr = head;
  // 6.
  for (const Digest& c : tail) {
    // 6a.
    if (sn == 0) return false;
    // 6b.
    if (lsb(fn) || fn == sn) {
      fr = merkle_node_hash(c, fr);
      sr = merkle_node_hash(c, sr);
      // Does nothing when LSB(fn) is set.
      while (!lsb(fn) && fn != 0) {
        fn >>= 1;
        sn >>= 1;
      }
    } else {
      sr = merkle_node_hash(sr, c);
    }
    // 6c.
    fn >>= 1;
    sn >>= 1;
  }
  // 7.
  return fr == first_root && sr == second_root && sn == 0;
}

// ---- CompactRange ---------------------------------------------------------------------

std::optional<CompactRange> CompactRange::from_hashes(std::uint64_t size,
                                                      std::vector<Digest> hashes) {
  if (hashes.size() != static_cast<std::size_t>(std::popcount(size))) return std::nullopt;
  CompactRange range;
  range.size_ = size;
  range.hashes_ = std::move(hashes);
  return range;
}

void CompactRange::append(const Digest& leaf_hash) {
  if (size_ == std::numeric_limits<std::uint64_t>::max()) {
    throw std::length_error("Merkle tree is full");
  }
  // The new leaf is a perfect subtree of one leaf; it merges with its left neighbour once
  // per trailing one bit of the old size, as in binary addition.
  Digest carry = leaf_hash;
  for (std::uint64_t bits = size_; (bits & 1) != 0; bits >>= 1) {
    carry = merkle_node_hash(hashes_.back(), carry);
    hashes_.pop_back();
  }
  hashes_.push_back(carry);
  ++size_;
}

// RFC 9162 §2.1.1 splits at the largest power of two below the size, so the root folds
// the perfect subtrees from the right.
Digest CompactRange::root() const {
  if (hashes_.empty()) return merkle_root({});
  Digest root = hashes_.back();
  for (auto it = hashes_.rbegin() + 1; it != hashes_.rend(); ++it) {
    root = merkle_node_hash(*it, root);
  }
  return root;
}

// ---- MerkleTree -----------------------------------------------------------------------

// One level of a MerkleTree. Hashes live in fixed-size chunks that never move; readers
// find a chunk through a directory of chunk addresses. When the directory is full the
// appender publishes a copy twice its size and keeps the old ones (together smaller than
// the new one) until the tree goes, so a reader holding one still reads valid addresses.
class MerkleTree::Level {
 public:
  // 16 KiB: a small tree wastes little, a large one needs few chunks.
  static constexpr std::size_t kChunkLength = 512;

  // For an index below the count published with the tree's size.
  const Digest& at(std::uint64_t index) const {
    const Directory* directory = directory_.load(std::memory_order_acquire);
    return directory->chunks[index / kChunkLength][index % kChunkLength];
  }

  // The appender only: room for one more hash. Everything that can throw comes before
  // the one step that publishes, so a throw leaves what readers see unchanged.
  void reserve_one() {
    if (count_ < chunk_count_ * kChunkLength) return;
    auto chunk = std::make_unique_for_overwrite<Digest[]>(kChunkLength);
    if (directories_.empty() || chunk_count_ == directories_.back()->capacity) {
      const std::size_t capacity = directories_.empty() ? 1 : 2 * chunk_count_;
      auto grown = std::make_unique<Directory>(capacity);
      if (!directories_.empty()) {
        std::copy_n(directories_.back()->chunks.get(), chunk_count_, grown->chunks.get());
      }
      // Not published yet: if the next step throws, the next call fills this one.
      directories_.push_back(std::move(grown));
    }
    owned_chunks_.push_back(std::move(chunk));
    Directory& current = *directories_.back();
    // No reader looks at this slot before the tree's size says it may.
    current.chunks[chunk_count_] = owned_chunks_.back().get();
    directory_.store(&current, std::memory_order_release);
    ++chunk_count_;
  }

  // The appender only, after reserve_one.
  void push_back(const Digest& hash) noexcept {
    owned_chunks_[count_ / kChunkLength][count_ % kChunkLength] = hash;
    ++count_;
  }

 private:
  struct Directory {
    explicit Directory(std::size_t capacity)
        : chunks(std::make_unique<Digest*[]>(capacity)), capacity(capacity) {}
    std::unique_ptr<Digest*[]> chunks;
    std::size_t capacity;
  };

  std::atomic<const Directory*> directory_{nullptr};
  // The appender's alone.
  std::vector<std::unique_ptr<Directory>> directories_;
  std::vector<std::unique_ptr<Digest[]>> owned_chunks_;
  std::size_t chunk_count_ = 0;
  std::uint64_t count_ = 0;
};

MerkleTree::MerkleTree() = default;
MerkleTree::~MerkleTree() = default;

void MerkleTree::append(const Digest& leaf_hash) {
  // Only the appender stores size_, so its own last store is what it reads.
  const std::uint64_t size = size_.load(std::memory_order_relaxed);
  if (size == std::numeric_limits<std::uint64_t>::max()) {
    throw std::length_error("Merkle tree is full");
  }
  // Leaf `size` completes one parent per trailing one bit of its index: new_nodes[k] is
  // the entry it adds at level k. All are hashed and all room is made before anything is
  // stored, so a throw (out of memory, an OpenSSL failure) leaves the tree as it was.
  const auto added_levels = static_cast<unsigned>(std::countr_one(size)) + 1;
  std::array<Digest, kMaxLevels> new_nodes;
  new_nodes[0] = leaf_hash;
  for (unsigned level = 1; level < added_levels; ++level) {
    const std::uint64_t left_sibling = (size >> (level - 1)) - 1;
    new_nodes[level] = merkle_node_hash(node(level - 1, left_sibling), new_nodes[level - 1]);
  }
  for (unsigned level = 0; level < added_levels; ++level) {
    if (!levels_[level]) levels_[level] = std::make_unique<Level>();
    levels_[level]->reserve_one();
  }
  for (unsigned level = 0; level < added_levels; ++level) {
    levels_[level]->push_back(new_nodes[level]);
  }
  size_.store(size + 1, std::memory_order_release);
}

std::uint64_t MerkleTree::size() const {
  return size_.load(std::memory_order_acquire);
}

std::uint64_t MerkleTree::checked_size(std::uint64_t size) const {
  if (size > this->size()) throw std::out_of_range("Merkle tree is smaller than requested");
  return size;
}

const Digest& MerkleTree::node(unsigned level, std::uint64_t index) const {
  return levels_[level]->at(index);
}

Digest MerkleTree::root(std::uint64_t size) const {
  if (checked_size(size) == 0) return merkle_root({});
  return subtree_hash(0, size);
}

// RFC 9162 §2.1.1 splits a range at the largest power of two below its length, so its
// MTH is a fold of perfect subtrees, largest on the left: the binary digits of the
// length, from the right end folded leftwards.
Digest MerkleTree::subtree_hash(std::uint64_t begin, std::uint64_t end) const {
  checked_size(end);
  if (begin >= end) throw std::invalid_argument("Merkle subtree: empty range");
  std::uint64_t rest = end - begin;
  if (begin % std::bit_floor(rest) != 0) {
    throw std::invalid_argument("Merkle subtree: range is not a subtree of the tree");
  }
  unsigned level = static_cast<unsigned>(std::countr_zero(rest));
  std::uint64_t piece_begin = end - (std::uint64_t{1} << level);
  Digest hash = node(level, piece_begin >> level);
  rest &= rest - 1;
  while (rest != 0) {
    level = static_cast<unsigned>(std::countr_zero(rest));
    piece_begin -= std::uint64_t{1} << level;
    hash = merkle_node_hash(node(level, piece_begin >> level), hash);
    rest &= rest - 1;
  }
  return hash;
}

std::vector<Digest> MerkleTree::inclusion_proof(std::uint64_t index, std::uint64_t size) const {
  return crypto::inclusion_proof(
      index, checked_size(size),
      [this](std::uint64_t begin, std::uint64_t end) { return subtree_hash(begin, end); });
}

std::vector<Digest> MerkleTree::consistency_proof(std::uint64_t first, std::uint64_t second) const {
  return crypto::consistency_proof(
      first, checked_size(second),
      [this](std::uint64_t begin, std::uint64_t end) { return subtree_hash(begin, end); });
}

}  // namespace observernet::crypto
