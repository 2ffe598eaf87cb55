#include "observernet/crypto/merkle.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cstdint>
#include <initializer_list>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace observernet::crypto {
namespace {

Digest digest(std::string_view hex) {
  const std::optional<Bytes> bytes = from_hex(hex);
  Digest out{};
  if (!bytes || bytes->size() != out.size()) throw std::invalid_argument("bad hash in test data");
  std::copy(bytes->begin(), bytes->end(), out.begin());
  return out;
}

std::vector<Digest> digests(std::initializer_list<std::string_view> hexes) {
  std::vector<Digest> out;
  for (std::string_view hex : hexes) out.push_back(digest(hex));
  return out;
}

std::vector<Digest> with_bit_flipped(std::vector<Digest> proof, std::size_t element,
                                     unsigned char mask) {
  proof.at(element)[0] ^= mask;
  return proof;
}

std::vector<Digest> appended(std::vector<Digest> proof, const Digest& extra) {
  proof.push_back(extra);
  return proof;
}

std::vector<Digest> prepended(std::vector<Digest> proof, const Digest& extra) {
  proof.insert(proof.begin(), extra);
  return proof;
}

// ---- transparency-dev/merkle test data ------------------------------------------------
// testonly/constants.go at 582a6ad190b6848f1d26f8bf08ddef29955d9db1: LeafInputs(),
// NodeHashes() (level by level) and RootHashes() (by tree size, from 0).

constexpr std::string_view kLeafInputs[] = {
    "",
    "00",
    "10",
    "2021",
    "3031",
    "40414243",
    "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
};

const std::vector<std::vector<Digest>>& node_hashes() {
  static const std::vector<std::vector<Digest>> kNodeHashes = {
      digests({
          "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
          "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
          "0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7",
          "07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7",
          "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
          "4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658",
          "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
          "46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1",
      }),
      digests({
          "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
          "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
          "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
          "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
      }),
      digests({
          "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
          "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
      }),
      digests({
          "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
      }),
  };
  return kNodeHashes;
}

const std::vector<Digest>& root_hashes() {
  static const std::vector<Digest> kRootHashes = digests({
      "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
      "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
      "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
      "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
      "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
      "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
      "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
      "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
  });
  return kRootHashes;
}

// cmd/proofgen/main.go at 0e039277d77118c07aa643920617ab865274c7c0, the generator of
// upstream's testdata/: sha256SomeHash, sha256EmptyTreeHash, inclusionProofs and
// consistencyProofs (its `roots` are RootHashes()[1:]). Its leaf numbers start at 1.

const Digest& some_hash() {
  static const Digest kSomeHash =
      digest("abacaba000000000000000000000000000000000000000000060061e00123456");
  return kSomeHash;
}

const Digest& empty_tree_hash() {
  static const Digest kEmptyTreeHash =
      digest("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  return kEmptyTreeHash;
}

struct InclusionVector {
  std::uint64_t leaf;  // 1-based
  std::uint64_t size;
  std::vector<Digest> proof;
};

const std::vector<InclusionVector>& inclusion_vectors() {
  static const std::vector<InclusionVector> kVectors = {
      {1, 1, {}},
      {1, 8,
       digests({
           "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
           "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
           "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
       })},
      {6, 8,
       digests({
           "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
           "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
           "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
       })},
      {3, 3,
       digests({
           "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
       })},
      {2, 5,
       digests({
           "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
           "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
           "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
       })},
  };
  return kVectors;
}

struct ConsistencyVector {
  std::uint64_t first;
  std::uint64_t second;
  std::vector<Digest> proof;
};

const std::vector<ConsistencyVector>& consistency_vectors() {
  static const std::vector<ConsistencyVector> kVectors = {
      {1, 1, {}},
      {1, 8,
       digests({
           "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
           "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
           "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
       })},
      {6, 8,
       digests({
           "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
           "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
           "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
       })},
      {2, 5,
       digests({
           "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
           "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
       })},
      {6, 7,
       digests({
           "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
           "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
           "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
       })},
  };
  return kVectors;
}

// Upstream's probes also use hashes of the wrong length ([]byte{}, "WrongLeaf",
// "don't care 1"), which a Digest cannot be. Each is replaced by a 32-byte value that
// plays the same part: any extra element, any wrong leaf, any root nobody cares about.
const Digest kZeroHash{};

std::vector<Digest> upstream_leaf_hashes() {
  std::vector<Digest> leaves;
  for (std::string_view input : kLeafInputs) {
    const std::optional<Bytes> bytes = from_hex(input);
    leaves.push_back(merkle_leaf_hash(std::string(bytes->begin(), bytes->end())));
  }
  return leaves;
}

MerkleTree& upstream_tree() {
  static MerkleTree* tree = [] {
    auto* built = new MerkleTree;
    for (const Digest& leaf : upstream_leaf_hashes()) built->append(leaf);
    return built;
  }();
  return *tree;
}

TEST(MerkleTest, LeafHashesAreUpstreamLevelZero) {
  EXPECT_EQ(upstream_leaf_hashes(), node_hashes()[0]);
}

TEST(MerkleTest, RootsMatchUpstreamForEverySize) {
  const std::vector<Digest> leaves = upstream_leaf_hashes();
  MerkleTree tree;
  EXPECT_EQ(tree.root(0), root_hashes()[0]);
  for (std::size_t size = 0; size <= leaves.size(); ++size) {
    EXPECT_EQ(merkle_root(std::span(leaves).first(size)), root_hashes()[size]) << size;
    if (size > 0) {
      tree.append(leaves[size - 1]);
      EXPECT_EQ(tree.root(size), root_hashes()[size]) << size;
    }
    EXPECT_EQ(upstream_tree().root(size), root_hashes()[size]) << size;
  }
}

TEST(MerkleTest, TreeKeepsUpstreamNodeHashes) {
  for (unsigned level = 0; level < node_hashes().size(); ++level) {
    for (std::uint64_t i = 0; i < node_hashes()[level].size(); ++i) {
      EXPECT_EQ(upstream_tree().subtree_hash(i << level, (i + 1) << level), node_hashes()[level][i])
          << level << ":" << i;
    }
  }
}

// proofgen's invalidInclusionProof, with kZeroHash and merkle_leaf_hash("WrongLeaf") for
// its wrongly sized values.
void expect_inclusion_probes_fail(std::uint64_t index, std::uint64_t size,
                                  const std::vector<Digest>& proof, const Digest& root,
                                  const Digest& leaf) {
  const Digest wrong_leaf = merkle_leaf_hash("WrongLeaf");
  EXPECT_FALSE(verify_inclusion(leaf, index - 1, size, proof, root)) << "leafIdx sub 1";
  EXPECT_FALSE(verify_inclusion(leaf, index + 1, size, proof, root)) << "leafIdx plus 1";
  EXPECT_FALSE(verify_inclusion(leaf, index ^ 2, size, proof, root)) << "leafIdx XOR 2";
  EXPECT_FALSE(verify_inclusion(leaf, index, size * 2, proof, root)) << "treeSize mul 2";
  EXPECT_FALSE(verify_inclusion(leaf, index, size / 2, proof, root)) << "treeSize div 2";
  EXPECT_FALSE(verify_inclusion(wrong_leaf, index, size, proof, root)) << "wrong leaf";
  EXPECT_FALSE(verify_inclusion(leaf, index, size, proof, empty_tree_hash())) << "empty root";
  EXPECT_FALSE(verify_inclusion(leaf, index, size, proof, some_hash())) << "random root";
  EXPECT_FALSE(verify_inclusion(leaf, index, size, appended(proof, kZeroHash), root))
      << "trailing garbage";
  EXPECT_FALSE(verify_inclusion(leaf, index, size, appended(proof, root), root)) << "trailing root";
  EXPECT_FALSE(verify_inclusion(leaf, index, size, prepended(proof, kZeroHash), root))
      << "preceding garbage";
  EXPECT_FALSE(verify_inclusion(leaf, index, size, prepended(proof, root), root))
      << "preceding root";
  for (std::size_t i = 0; i < proof.size(); ++i) {
    EXPECT_FALSE(verify_inclusion(leaf, index, size, with_bit_flipped(proof, i, 8), root))
        << "modified proof[" << i << "] bit 3";
  }
  if (!proof.empty()) {
    const std::vector<Digest> removed(proof.begin(), proof.end() - 1);
    EXPECT_FALSE(verify_inclusion(leaf, index, size, removed, root)) << "removed component";
  }
  if (proof.size() > 1) {
    std::vector<Digest> inserted = proof;
    inserted.insert(inserted.begin() + 1, some_hash());
    EXPECT_FALSE(verify_inclusion(leaf, index, size, inserted, root)) << "inserted component";
  }
}

TEST(MerkleTest, UpstreamInclusionProofs) {
  const std::vector<Digest> leaves = upstream_leaf_hashes();
  for (const InclusionVector& vector : inclusion_vectors()) {
    SCOPED_TRACE(testing::Message() << "leaf " << vector.leaf << " of " << vector.size);
    const std::uint64_t index = vector.leaf - 1;
    const Digest& root = root_hashes()[vector.size];
    EXPECT_TRUE(verify_inclusion(leaves[index], index, vector.size, vector.proof, root));
    EXPECT_EQ(upstream_tree().inclusion_proof(index, vector.size), vector.proof);
    expect_inclusion_probes_fail(index, vector.size, vector.proof, root, leaves[index]);
  }
}

// proofgen's singleEntryInclusionProbes and staticInclusionProbes, without the variants
// whose only fault is an empty (wrongly sized) hash.
TEST(MerkleTest, UpstreamStaticInclusionProbes) {
  const Digest data_hash = merkle_leaf_hash("data");
  EXPECT_TRUE(verify_inclusion(data_hash, 0, 1, {}, data_hash));

  const std::pair<std::uint64_t, std::uint64_t> probes[] = {{0, 0}, {0, 1}, {1, 0}, {2, 1}};
  for (auto [index, size] : probes) {
    EXPECT_FALSE(verify_inclusion(some_hash(), index, size, {}, kZeroHash)) << index << size;
    EXPECT_FALSE(verify_inclusion(kZeroHash, index, size, {}, empty_tree_hash())) << index << size;
    EXPECT_FALSE(verify_inclusion(some_hash(), index, size, {}, empty_tree_hash()))
        << index << size;
  }
}

// proofgen's invalidConsistencyProof, with kZeroHash and merkle_leaf_hash("WrongRoot")
// for its wrongly sized values.
void expect_consistency_probes_fail(std::uint64_t first, std::uint64_t second,
                                    const std::vector<Digest>& proof, const Digest& first_root,
                                    const Digest& second_root) {
  const Digest wrong_root = merkle_leaf_hash("WrongRoot");
  const Digest& root1 = first_root;
  const Digest& root2 = second_root;
  EXPECT_FALSE(verify_consistency(first - 1, second, root1, root2, proof)) << "size1 sub 1";
  EXPECT_FALSE(verify_consistency(first + 1, second, root1, root2, proof)) << "size1 plus 1";
  EXPECT_FALSE(verify_consistency(first ^ 2, second, root1, root2, proof)) << "size1 XOR 2";
  EXPECT_FALSE(verify_consistency(first, second * 2, root1, root2, proof)) << "size2 mul 2";
  EXPECT_FALSE(verify_consistency(first, second / 2, root1, root2, proof)) << "size2 div 2";
  EXPECT_FALSE(verify_consistency(first, second, wrong_root, root2, proof)) << "wrong root1";
  EXPECT_FALSE(verify_consistency(first, second, root1, wrong_root, proof)) << "wrong root2";
  EXPECT_FALSE(verify_consistency(first, second, root2, root1, proof)) << "swapped roots";
  EXPECT_FALSE(verify_consistency(first, second, root1, root2, {})) << "empty proof";
  EXPECT_FALSE(verify_consistency(first, second, root1, root2, appended(proof, kZeroHash)))
      << "trailing garbage";
  EXPECT_FALSE(verify_consistency(first, second, root1, root2, appended(proof, root1)))
      << "trailing root1";
  EXPECT_FALSE(verify_consistency(first, second, root1, root2, appended(proof, root2)))
      << "trailing root2";
  EXPECT_FALSE(verify_consistency(first, second, root1, root2, prepended(proof, kZeroHash)))
      << "preceding garbage";
  EXPECT_FALSE(verify_consistency(first, second, root1, root2, prepended(proof, root1)))
      << "preceding root1";
  EXPECT_FALSE(verify_consistency(first, second, root1, root2, prepended(proof, root2)))
      << "preceding root2";
  EXPECT_FALSE(verify_consistency(first, second, root1, root2, prepended(proof, proof.at(0))))
      << "preceding proof[0]";
  const std::vector<Digest> truncated(proof.begin(), proof.end() - 1);
  EXPECT_FALSE(verify_consistency(first, second, root1, root2, truncated)) << "truncated proof";
  for (std::size_t i = 0; i < proof.size(); ++i) {
    EXPECT_FALSE(verify_consistency(first, second, root1, root2, with_bit_flipped(proof, i, 16)))
        << "modified proof[" << i << "] bit 4";
  }
}

TEST(MerkleTest, UpstreamConsistencyProofs) {
  for (const ConsistencyVector& vector : consistency_vectors()) {
    SCOPED_TRACE(testing::Message() << vector.first << " to " << vector.second);
    const Digest& first_root = root_hashes()[vector.first];
    const Digest& second_root = root_hashes()[vector.second];
    EXPECT_TRUE(
        verify_consistency(vector.first, vector.second, first_root, second_root, vector.proof));
    EXPECT_EQ(upstream_tree().consistency_proof(vector.first, vector.second), vector.proof);
    // Upstream probes only the proofs that are not empty.
    if (!vector.proof.empty()) {
      expect_consistency_probes_fail(vector.first, vector.second, vector.proof, first_root,
                                     second_root);
    }
  }
}

// proofgen's staticConsistencyProbes: "don't care" roots become hashes of those words.
TEST(MerkleTest, UpstreamStaticConsistencyProbes) {
  const Digest root1 = sha256("don't care 1");
  const Digest root2 = sha256("don't care 2");
  const std::vector<Digest> proof1;
  const std::vector<Digest> proof2 = {empty_tree_hash()};
  const Digest& empty = empty_tree_hash();
  struct Probe {
    std::uint64_t first;
    std::uint64_t second;
    const Digest& root1;
    const Digest& root2;
    const std::vector<Digest>& proof;
    std::string_view desc;
    bool consistent;
  };
  const Probe probes[] = {
      {0, 0, root1, root2, proof1, "sizes are equal (zero) but roots are not", false},
      {1, 1, root1, root2, proof1, "sizes are equal (one) but roots are not", false},
      {0, 0, root1, root1, proof1, "sizes are equal (zero) and proof is empty", false},
      {0, 1, root1, root2, proof1, "size1 is zero and does not equal size2", false},
      {1, 1, root2, root2, proof1, "sizes are equal (one) and proof is empty", true},
      {1, 0, root1, root2, proof1, "size1 is greater than size2", false},
      {2, 1, root1, root2, proof1, "size1 is greater than size2 again", false},
      {1, 2, root1, root2, proof1, "sizes do not watch and proof is empty", false},
      {0, 0, empty, root2, proof1, "roots do not match and sizes are zero", false},
      {1, 1, empty, root2, proof1, "roots do not not match and sizes are one", false},
      {0, 0, empty, empty, proof2, "sizes match but proof is not empty and sizes are zero", false},
      {1, 1, empty, empty, proof2, "sizes match but proof is not empty and sizes are one", false},
      {0, 1, empty, root2, proof1, "size1 is zero and size2 is not zero", false},
      {0, 1, empty, empty, proof2, "consistency check on empty tree (size1 is zero) is useless",
       false},
  };
  for (const Probe& probe : probes) {
    EXPECT_EQ(verify_consistency(probe.first, probe.second, probe.root1, probe.root2, probe.proof),
              probe.consistent)
        << probe.desc;
  }
}

// proof/proof_test.go at 02a3e2029520f515596d5238c54fb0ac9e19bff4 (TestInclusion and
// TestConsistency) lists the nodes of each proof: NodeID(level, index) is leaves
// [index << level, (index + 1) << level), and a "rehash" run of nodes is the one ragged
// range they cover together.
TEST(MerkleTest, ProofRangesAreUpstreamNodes) {
  using Ranges = std::vector<LeafRange>;
  EXPECT_EQ(inclusion_proof_ranges(0, 1), Ranges{});
  EXPECT_EQ(inclusion_proof_ranges(0, 2), (Ranges{{1, 2}}));
  EXPECT_EQ(inclusion_proof_ranges(1, 2), (Ranges{{0, 1}}));
  EXPECT_EQ(inclusion_proof_ranges(1, 3), (Ranges{{0, 1}, {2, 3}}));
  EXPECT_EQ(inclusion_proof_ranges(0, 7), (Ranges{{1, 2}, {2, 4}, {4, 7}}));
  EXPECT_EQ(inclusion_proof_ranges(3, 7), (Ranges{{2, 3}, {0, 2}, {4, 7}}));
  EXPECT_EQ(inclusion_proof_ranges(4, 7), (Ranges{{5, 6}, {6, 7}, {0, 4}}));
  EXPECT_EQ(inclusion_proof_ranges(6, 7), (Ranges{{4, 6}, {0, 4}}));
  EXPECT_EQ(inclusion_proof_ranges(3, 5), (Ranges{{2, 3}, {0, 2}, {4, 5}}));
  EXPECT_EQ(inclusion_proof_ranges(4, 6), (Ranges{{5, 6}, {0, 4}}));
  EXPECT_EQ(inclusion_proof_ranges(10, 15), (Ranges{{11, 12}, {8, 10}, {12, 15}, {0, 8}}));
  EXPECT_EQ(inclusion_proof_ranges(81, 95),
            (Ranges{{80, 81}, {82, 84}, {84, 88}, {88, 95}, {64, 80}, {0, 64}}));

  EXPECT_EQ(consistency_proof_ranges(1, 2), (Ranges{{1, 2}}));
  EXPECT_EQ(consistency_proof_ranges(1, 4), (Ranges{{1, 2}, {2, 4}}));
  EXPECT_EQ(consistency_proof_ranges(1, 6), (Ranges{{1, 2}, {2, 4}, {4, 6}}));
  EXPECT_EQ(consistency_proof_ranges(2, 3), (Ranges{{2, 3}}));
  EXPECT_EQ(consistency_proof_ranges(2, 8), (Ranges{{2, 4}, {4, 8}}));
  EXPECT_EQ(consistency_proof_ranges(3, 7), (Ranges{{2, 3}, {3, 4}, {0, 2}, {4, 7}}));
  EXPECT_EQ(consistency_proof_ranges(4, 7), (Ranges{{4, 7}}));
  EXPECT_EQ(consistency_proof_ranges(5, 7), (Ranges{{4, 5}, {5, 6}, {6, 7}, {0, 4}}));
  EXPECT_EQ(consistency_proof_ranges(6, 7), (Ranges{{4, 6}, {6, 7}, {0, 4}}));
  EXPECT_EQ(consistency_proof_ranges(7, 8), (Ranges{{6, 7}, {7, 8}, {4, 6}, {0, 4}}));
  EXPECT_EQ(consistency_proof_ranges(2, 4), (Ranges{{2, 4}}));
  EXPECT_EQ(consistency_proof_ranges(3, 5), (Ranges{{2, 3}, {3, 4}, {0, 2}, {4, 5}}));
  EXPECT_EQ(consistency_proof_ranges(3, 6), (Ranges{{2, 3}, {3, 4}, {0, 2}, {4, 6}}));
  EXPECT_EQ(consistency_proof_ranges(4, 6), (Ranges{{4, 6}}));
  EXPECT_EQ(consistency_proof_ranges(1, 7), (Ranges{{1, 2}, {2, 4}, {4, 7}}));
  EXPECT_EQ(consistency_proof_ranges(10, 15), (Ranges{{8, 10}, {10, 12}, {12, 15}, {0, 8}}));
  EXPECT_EQ(consistency_proof_ranges(24, 31), (Ranges{{16, 24}, {24, 31}, {0, 16}}));
  EXPECT_EQ(consistency_proof_ranges(81, 95),
            (Ranges{{80, 81}, {81, 82}, {82, 84}, {84, 88}, {88, 95}, {64, 80}, {0, 64}}));
  for (std::uint64_t size : {1, 2, 3, 4, 5, 7, 8}) {
    EXPECT_EQ(consistency_proof_ranges(size, size), Ranges{}) << size;
  }
}

TEST(MerkleTest, ProofArgumentsOutOfRangeThrow) {
  EXPECT_THROW(inclusion_proof_ranges(0, 0), std::invalid_argument);
  EXPECT_THROW(inclusion_proof_ranges(1, 1), std::invalid_argument);
  EXPECT_THROW(inclusion_proof_ranges(8, 7), std::invalid_argument);
  EXPECT_THROW(consistency_proof_ranges(0, 0), std::invalid_argument);
  EXPECT_THROW(consistency_proof_ranges(0, 5), std::invalid_argument);
  EXPECT_THROW(consistency_proof_ranges(9, 8), std::invalid_argument);

  const MerkleTree& tree = upstream_tree();
  EXPECT_THROW(tree.root(9), std::out_of_range);
  EXPECT_THROW(tree.inclusion_proof(0, 9), std::out_of_range);
  EXPECT_THROW(tree.inclusion_proof(8, 8), std::invalid_argument);
  EXPECT_THROW(tree.consistency_proof(1, 9), std::out_of_range);
  EXPECT_THROW(tree.consistency_proof(0, 8), std::invalid_argument);
  EXPECT_THROW(tree.subtree_hash(0, 9), std::out_of_range);
  EXPECT_THROW(tree.subtree_hash(3, 3), std::invalid_argument);
  EXPECT_THROW(tree.subtree_hash(5, 3), std::invalid_argument);
  // Not subtrees of any tree: unaligned starts.
  EXPECT_THROW(tree.subtree_hash(1, 3), std::invalid_argument);
  EXPECT_THROW(tree.subtree_hash(2, 6), std::invalid_argument);
}

// ---- exhaustive -----------------------------------------------------------------------

constexpr std::uint64_t kExhaustiveSize = 64;

std::vector<Digest> numbered_leaf_hashes(std::uint64_t count) {
  std::vector<Digest> leaves;
  for (std::uint64_t i = 0; i < count; ++i) leaves.push_back(merkle_leaf_hash(std::to_string(i)));
  return leaves;
}

// roots[size] is MTH of the first `size` leaves.
std::vector<Digest> roots_of(const std::vector<Digest>& leaves) {
  std::vector<Digest> roots;
  for (std::size_t size = 0; size <= leaves.size(); ++size) {
    roots.push_back(merkle_root(std::span(leaves).first(size)));
  }
  return roots;
}

// Subtree hashes computed afresh from the leaves, as independent of MerkleTree as can be.
SubtreeHashSource recomputing_source(const std::vector<Digest>& leaves) {
  return [&leaves](std::uint64_t begin, std::uint64_t end) {
    return merkle_root(std::span(leaves).subspan(begin, end - begin));
  };
}

TEST(MerkleTest, EveryInclusionProofUpTo64Leaves) {
  const std::vector<Digest> leaves = numbered_leaf_hashes(kExhaustiveSize);
  MerkleTree tree;
  for (const Digest& leaf : leaves) tree.append(leaf);
  const SubtreeHashSource recompute = recomputing_source(leaves);
  const std::vector<Digest> roots = roots_of(leaves);

  for (std::uint64_t size = 1; size <= kExhaustiveSize; ++size) {
    const Digest& root = roots[size];
    for (std::uint64_t index = 0; index < size; ++index) {
      SCOPED_TRACE(testing::Message() << "leaf " << index << " of " << size);
      const std::vector<Digest> proof = tree.inclusion_proof(index, size);
      EXPECT_EQ(proof, inclusion_proof(index, size, recompute));
      ASSERT_TRUE(verify_inclusion(leaves[index], index, size, proof, root));

      for (std::size_t element = 0; element < proof.size(); ++element) {
        for (unsigned char mask : {0x01, 0x80}) {
          EXPECT_FALSE(verify_inclusion(leaves[index], index, size,
                                        with_bit_flipped(proof, element, mask), root))
              << "flipped " << int{mask} << " in element " << element;
        }
      }
      // A wrong size is checked against that size's own root: with this root, a path can
      // fit a bigger tree's shape too (leaf 0 of 3 reads like leaf 0 of 4). The proof
      // does not bind the size; the signed tree head, which signs both, does.
      for (std::uint64_t other = 0; other <= kExhaustiveSize; ++other) {
        if (other != index) {
          EXPECT_FALSE(verify_inclusion(leaves[index], other, size, proof, root))
              << "index " << other;
        }
        if (other != size) {
          EXPECT_FALSE(verify_inclusion(leaves[index], index, other, proof, roots[other]))
              << "size " << other;
        }
      }
      const std::uint64_t neighbour = index == 0 ? 1 : index - 1;
      if (neighbour < size) {
        EXPECT_FALSE(verify_inclusion(leaves[neighbour], index, size, proof, root));
      }
    }
  }
}

TEST(MerkleTest, EveryConsistencyProofUpTo64Leaves) {
  const std::vector<Digest> leaves = numbered_leaf_hashes(kExhaustiveSize);
  MerkleTree tree;
  for (const Digest& leaf : leaves) tree.append(leaf);
  const SubtreeHashSource recompute = recomputing_source(leaves);
  const std::vector<Digest> roots = roots_of(leaves);

  for (std::uint64_t second = 1; second <= kExhaustiveSize; ++second) {
    for (std::uint64_t first = 1; first <= second; ++first) {
      SCOPED_TRACE(testing::Message() << first << " to " << second);
      const std::vector<Digest> proof = tree.consistency_proof(first, second);
      EXPECT_EQ(proof, consistency_proof(first, second, recompute));
      EXPECT_EQ(proof.empty(), first == second);
      ASSERT_TRUE(verify_consistency(first, second, roots[first], roots[second], proof));

      for (std::size_t element = 0; element < proof.size(); ++element) {
        for (unsigned char mask : {0x01, 0x80}) {
          EXPECT_FALSE(verify_consistency(first, second, roots[first], roots[second],
                                          with_bit_flipped(proof, element, mask)))
              << "flipped " << int{mask} << " in element " << element;
        }
      }
      EXPECT_FALSE(verify_consistency(first, second, roots[first], roots[second],
                                      appended(proof, roots[second])));
      EXPECT_FALSE(verify_consistency(first, second, roots[first], roots[second],
                                      prepended(proof, roots[first])));
      if (!proof.empty()) {
        const std::vector<Digest> truncated(proof.begin(), proof.end() - 1);
        EXPECT_FALSE(verify_consistency(first, second, roots[first], roots[second], truncated));
        const std::vector<Digest> beheaded(proof.begin() + 1, proof.end());
        EXPECT_FALSE(verify_consistency(first, second, roots[first], roots[second], beheaded));
      }
      if (first != second) {
        EXPECT_FALSE(verify_consistency(first, second, roots[second], roots[first], proof));
      }
      // As for inclusion, a wrong second size is checked against its own root.
      for (std::uint64_t other = 0; other <= kExhaustiveSize; ++other) {
        if (other != first) {
          EXPECT_FALSE(verify_consistency(other, second, roots[first], roots[second], proof))
              << "first " << other;
          EXPECT_FALSE(verify_consistency(other, second, roots[other], roots[second], proof))
              << "first " << other << " with its root";
        }
        if (other != second) {
          EXPECT_FALSE(verify_consistency(first, other, roots[first], roots[other], proof))
              << "second " << other;
        }
      }
    }
  }
}

// The contract of SubtreeHashSource: whole perfect subtrees, or the right part of one
// that ends where the tree does; at most one of the latter; O(log n) calls.
TEST(MerkleTest, ProofsAskOnlyForSubtreesAndFewOfThem) {
  const auto check = [](const std::vector<LeafRange>& ranges, std::uint64_t size,
                        std::size_t max_ranges) {
    EXPECT_LE(ranges.size(), max_ranges);
    int ragged = 0;
    for (const LeafRange& range : ranges) {
      ASSERT_LT(range.begin, range.end);
      ASSERT_LE(range.end, size);
      const std::uint64_t length = range.end - range.begin;
      EXPECT_EQ(range.begin % std::bit_floor(length), 0u) << range.begin << "," << range.end;
      if (!std::has_single_bit(length)) {
        EXPECT_EQ(range.end, size) << range.begin << "," << range.end;
        ++ragged;
      }
    }
    EXPECT_LE(ragged, 1);
  };
  for (std::uint64_t size = 1; size <= 130; ++size) {
    const auto log2_ceil = static_cast<std::size_t>(std::bit_width(size - 1));
    for (std::uint64_t index = 0; index < size; ++index) {
      SCOPED_TRACE(testing::Message() << "inclusion " << index << " of " << size);
      check(inclusion_proof_ranges(index, size), size, log2_ceil);
    }
    for (std::uint64_t first = 1; first <= size; ++first) {
      SCOPED_TRACE(testing::Message() << "consistency " << first << " to " << size);
      check(consistency_proof_ranges(first, size), size, log2_ceil + 1);
    }
  }
}

// Past the chunk and directory boundaries of every level the test reaches.
TEST(MerkleTest, TreeRootsEqualRecursiveMthForEverySize) {
  constexpr std::uint64_t kSize = 1100;
  const std::vector<Digest> leaves = numbered_leaf_hashes(kSize);
  MerkleTree tree;
  EXPECT_EQ(tree.size(), 0u);
  EXPECT_EQ(tree.root(0), merkle_root({}));
  for (std::uint64_t size = 1; size <= kSize; ++size) {
    tree.append(leaves[size - 1]);
    ASSERT_EQ(tree.size(), size);
    ASSERT_EQ(tree.root(size), merkle_root(std::span(leaves).first(size))) << size;
  }
  // Earlier sizes stay answerable from the grown tree.
  for (std::uint64_t size : {1, 2, 511, 512, 513, 1023, 1024, 1025}) {
    EXPECT_EQ(tree.root(size), merkle_root(std::span(leaves).first(size))) << size;
    EXPECT_TRUE(verify_inclusion(leaves[size - 1], size - 1, kSize,
                                 tree.inclusion_proof(size - 1, kSize), tree.root(kSize)));
    EXPECT_TRUE(verify_consistency(size, kSize, tree.root(size), tree.root(kSize),
                                   tree.consistency_proof(size, kSize)));
  }
}

// The sequencer's stored right edge: every root on the way, the upstream roots, and a
// range rebuilt from its stored hashes carries on the same.
TEST(MerkleTest, CompactRangeRootsEqualRecursiveMthForEverySize) {
  CompactRange upstream;
  EXPECT_EQ(upstream.root(), root_hashes()[0]);
  for (const Digest& leaf : upstream_leaf_hashes()) {
    upstream.append(leaf);
    EXPECT_EQ(upstream.root(), root_hashes()[upstream.size()]) << upstream.size();
  }

  constexpr std::uint64_t kSize = 300;
  const std::vector<Digest> leaves = numbered_leaf_hashes(kSize);
  CompactRange range;
  for (std::uint64_t size = 1; size <= kSize; ++size) {
    range.append(leaves[size - 1]);
    ASSERT_EQ(range.size(), size);
    ASSERT_EQ(range.hashes().size(), static_cast<std::size_t>(std::popcount(size)));
    ASSERT_EQ(range.root(), merkle_root(std::span(leaves).first(size))) << size;
    auto restored = CompactRange::from_hashes(size, range.hashes());
    ASSERT_TRUE(restored.has_value());
    if (size < kSize) {
      restored->append(leaves[size]);
      ASSERT_EQ(restored->root(), merkle_root(std::span(leaves).first(size + 1))) << size;
    }
  }
  EXPECT_FALSE(CompactRange::from_hashes(3, {leaves[0]}).has_value());
  EXPECT_FALSE(CompactRange::from_hashes(0, {leaves[0]}).has_value());
}

// One appender and several readers, as the server runs it. Each reader checks whatever
// size it sees against roots computed beforehand.
TEST(MerkleTest, ReadersRunWhileOneThreadAppends) {
  constexpr std::uint64_t kSize = 2100;
  const std::vector<Digest> leaves = numbered_leaf_hashes(kSize);
  std::vector<Digest> expected_roots;
  {
    MerkleTree reference;
    expected_roots.push_back(reference.root(0));
    for (const Digest& leaf : leaves) {
      reference.append(leaf);
      expected_roots.push_back(reference.root(reference.size()));
    }
  }

  MerkleTree tree;
  std::atomic<bool> done{false};
  std::atomic<int> failures{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 3; ++t) {
    readers.emplace_back([&, t] {
      std::uint64_t step = 0;
      while (!done.load()) {
        const std::uint64_t size = tree.size();
        if (size == 0) continue;
        ++step;
        const Digest root = tree.root(size);
        if (root != expected_roots[size]) ++failures;
        const std::uint64_t index = (step * 7919 + static_cast<std::uint64_t>(t)) % size;
        if (!verify_inclusion(leaves[index], index, size, tree.inclusion_proof(index, size),
                              root)) {
          ++failures;
        }
        const std::uint64_t first = 1 + (step * 104729) % size;
        if (!verify_consistency(first, size, expected_roots[first], root,
                                tree.consistency_proof(first, size))) {
          ++failures;
        }
      }
    });
  }
  for (const Digest& leaf : leaves) tree.append(leaf);
  done = true;
  for (std::thread& reader : readers) reader.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(tree.root(kSize), expected_roots[kSize]);
}

}  // namespace
}  // namespace observernet::crypto
