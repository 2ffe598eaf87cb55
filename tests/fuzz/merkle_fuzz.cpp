// RFC 9162 Merkle proofs (crypto/merkle.hpp), as observers check the board: a tree of up
// to 100 leaves and a proof from it that must verify, the same proof altered that must
// not, and proof shapes and verifications for sizes up to 2^64 - 1.
#include <fuzzer/FuzzedDataProvider.h>

#include <bit>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "fuzz_support.hpp"
#include "observernet/crypto/merkle.hpp"

using namespace observernet;
using crypto::Digest;

namespace {

Digest digest(FuzzedDataProvider& in) {
  Digest d{};
  const auto bytes = in.ConsumeBytes<unsigned char>(d.size());
  std::copy(bytes.begin(), bytes.end(), d.begin());
  return d;
}

void flip_bit(Digest& d, FuzzedDataProvider& in) {
  d[in.ConsumeIntegralInRange<std::size_t>(0, d.size() - 1)] ^=
      static_cast<unsigned char>(1u << in.ConsumeIntegralInRange(0, 7));
}

// Each range a perfect subtree, or the right part of one that ends at `size`.
void check_range_shape(const crypto::LeafRange& range, std::uint64_t size) {
  FUZZ_CHECK(range.begin < range.end && range.end <= size);
  const std::uint64_t width = range.end - range.begin;
  if (std::has_single_bit(width) && range.begin % width == 0) return;
  FUZZ_CHECK(range.end == size);
  FUZZ_CHECK(range.begin % std::bit_floor(width) == 0);
}

// Proof shapes for any size: an inclusion proof's ranges are the leaves but `index`,
// each once.
void check_ranges(FuzzedDataProvider& in) {
  const auto size = in.ConsumeIntegralInRange<std::uint64_t>(1, UINT64_MAX);
  const auto index = in.ConsumeIntegralInRange<std::uint64_t>(0, size - 1);
  const auto ranges = crypto::inclusion_proof_ranges(index, size);
  FUZZ_CHECK(ranges.size() <= static_cast<std::size_t>(std::bit_width(size - 1)));
  std::uint64_t covered = 0;
  for (const auto& range : ranges) {
    check_range_shape(range, size);
    FUZZ_CHECK(index < range.begin || index >= range.end);
    for (const auto& other : ranges) {
      FUZZ_CHECK(&other == &range || other.end <= range.begin || range.end <= other.begin);
    }
    covered += range.end - range.begin;
  }
  FUZZ_CHECK(covered == size - 1);

  const auto second = in.ConsumeIntegralInRange<std::uint64_t>(1, UINT64_MAX);
  const auto first = in.ConsumeIntegralInRange<std::uint64_t>(1, second);
  const auto consistency = crypto::consistency_proof_ranges(first, second);
  FUZZ_CHECK(consistency.size() <= static_cast<std::size_t>(std::bit_width(second - 1)) + 1);
  for (const auto& range : consistency) check_range_shape(range, second);

  // Verifying arbitrary proofs never throws.
  std::vector<Digest> path(in.ConsumeIntegralInRange<std::size_t>(0, 70));
  for (auto& d : path) d = digest(in);
  const Digest a = digest(in), b = digest(in);
  crypto::verify_inclusion(a, in.ConsumeIntegral<std::uint64_t>(),
                           in.ConsumeIntegral<std::uint64_t>(), path, b);
  crypto::verify_consistency(in.ConsumeIntegral<std::uint64_t>(),
                             in.ConsumeIntegral<std::uint64_t>(), a, b, path);
  std::vector<Digest> hashes(in.ConsumeIntegralInRange<std::size_t>(0, 64));
  for (auto& d : hashes) d = digest(in);
  const auto compact_size = in.ConsumeIntegral<std::uint64_t>();
  const auto compact = crypto::CompactRange::from_hashes(compact_size, hashes);
  FUZZ_CHECK(compact.has_value() ==
             (static_cast<std::size_t>(std::popcount(compact_size)) == hashes.size()));
  if (compact && compact_size < UINT64_MAX) {
    auto grown = *compact;
    grown.append(a);
    grown.root();
  }
}

// A real tree: roots agree three ways, proofs verify, and fail once altered.
void check_tree(FuzzedDataProvider& in) {
  const auto n = in.ConsumeIntegralInRange<std::uint64_t>(1, 100);
  crypto::MerkleTree tree;
  crypto::CompactRange compact;
  std::vector<Digest> leaves;
  for (std::uint64_t i = 0; i < n; ++i) {
    // Distinct leaves: equal siblings would let some altered proofs verify honestly.
    leaves.push_back(
        crypto::merkle_leaf_hash(std::to_string(i) + ":" + in.ConsumeRandomLengthString(8)));
    tree.append(leaves.back());
    compact.append(leaves.back());
  }
  FUZZ_CHECK(tree.root(n) == crypto::merkle_root(leaves));
  FUZZ_CHECK(compact.root() == crypto::merkle_root(leaves));
  const auto subtree = [&tree](std::uint64_t begin, std::uint64_t end) {
    return tree.subtree_hash(begin, end);
  };

  const auto size = in.ConsumeIntegralInRange<std::uint64_t>(1, n);
  const auto index = in.ConsumeIntegralInRange<std::uint64_t>(0, size - 1);
  const Digest root = tree.root(size);
  FUZZ_CHECK(root == crypto::merkle_root(std::span(leaves).first(size)));
  auto path = tree.inclusion_proof(index, size);
  FUZZ_CHECK(path == crypto::inclusion_proof(index, size, subtree));
  FUZZ_CHECK(crypto::verify_inclusion(leaves[index], index, size, path, root));

  Digest leaf = leaves[index], altered_root = root;
  switch (in.ConsumeIntegralInRange(0, 4)) {
    case 0:
      if (path.empty()) return;
      flip_bit(path[in.ConsumeIntegralInRange<std::size_t>(0, path.size() - 1)], in);
      break;
    case 1:
      flip_bit(leaf, in);
      break;
    case 2:
      flip_bit(altered_root, in);
      break;
    case 3:
      if (path.empty()) return;
      path.pop_back();
      break;
    default:
      path.push_back(digest(in));
  }
  FUZZ_CHECK(!crypto::verify_inclusion(leaf, index, size, path, altered_root));

  const auto second = in.ConsumeIntegralInRange<std::uint64_t>(1, n);
  const auto first = in.ConsumeIntegralInRange<std::uint64_t>(1, second);
  Digest first_root = tree.root(first), second_root = tree.root(second);
  auto proof = tree.consistency_proof(first, second);
  FUZZ_CHECK(proof == crypto::consistency_proof(first, second, subtree));
  FUZZ_CHECK(crypto::verify_consistency(first, second, first_root, second_root, proof));
  switch (in.ConsumeIntegralInRange(0, 3)) {
    case 0:
      if (proof.empty()) return;
      flip_bit(proof[in.ConsumeIntegralInRange<std::size_t>(0, proof.size() - 1)], in);
      break;
    case 1:
      flip_bit(first_root, in);
      break;
    case 2:
      flip_bit(second_root, in);
      break;
    default:
      proof.push_back(digest(in));
  }
  FUZZ_CHECK(!crypto::verify_consistency(first, second, first_root, second_root, proof));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider in(data, size);
  if (in.ConsumeBool()) {
    check_ranges(in);
  } else {
    check_tree(in);
  }
  return 0;
}
