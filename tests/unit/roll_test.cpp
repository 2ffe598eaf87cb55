// Roll commitments (docs/formats.md, Roll commitments): the RFC 9162 root of the sorted
// voter hashes, whatever order they come in.
#include "observernet/domain/roll.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "observernet/crypto/merkle.hpp"

namespace observernet::domain {
namespace {

crypto::Digest hash_of(unsigned char first) {
  crypto::Digest d{};
  d[0] = first;
  return d;
}

// The leaf hash computed here from RFC 9162 §2.1.1 itself: SHA-256(0x00 || 32 bytes).
crypto::Digest leaf(const crypto::Digest& voter_hash) {
  crypto::Bytes input{0x00};
  input.insert(input.end(), voter_hash.begin(), voter_hash.end());
  return crypto::sha256(input);
}

TEST(RollTest, TheRootIsOverTheSortedVoterHashes) {
  EXPECT_EQ(commit_roll({}).count, 0u);
  EXPECT_EQ(crypto::to_hex(commit_roll({}).root),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");  // SHA-256("")
  EXPECT_EQ(commit_roll({hash_of(7)}).root, leaf(hash_of(7)));

  const auto a = hash_of(1), b = hash_of(2), c = hash_of(3);
  crypto::Bytes ab{0x01};
  for (const auto& d : {leaf(a), leaf(b)}) ab.insert(ab.end(), d.begin(), d.end());
  crypto::Bytes root_input{0x01};
  const auto left = crypto::sha256(ab);
  const auto right = leaf(c);
  root_input.insert(root_input.end(), left.begin(), left.end());
  root_input.insert(root_input.end(), right.begin(), right.end());
  const RollCommitment expected{3, crypto::sha256(root_input)};
  EXPECT_EQ(commit_roll({a, b, c}), expected);
  EXPECT_EQ(commit_roll({c, a, b}), expected) << "the import order never shows";
}

// Built a slice at a time from sorted hashes, the commitment is the one of them all: the
// root is checked above against RFC 9162 computed by hand, and crypto::merkle_root
// (checked against the RFC's vectors) checks every size up to 70 here.
TEST(RollTest, ACommitterFedInOrderGivesTheSameCommitment) {
  std::vector<crypto::Digest> hashes;
  for (unsigned char i = 0; i < 70; ++i) {
    RollCommitter committer;
    std::vector<crypto::Digest> leaves;
    for (const auto& h : hashes) {
      committer.add(h);
      leaves.push_back(leaf(h));
    }
    EXPECT_EQ(committer.commitment(), commit_roll(hashes)) << hashes.size();
    EXPECT_EQ(committer.commitment().root, crypto::merkle_root(leaves)) << hashes.size();
    hashes.push_back(hash_of(i));
  }
  RollCommitter committer;
  committer.add(hash_of(5));
  EXPECT_THROW(committer.add(hash_of(4)), std::invalid_argument);
}

TEST(RollTest, JsonRoundTripsAndRefusesTheMalformed) {
  const RollCommitment roll = commit_roll({hash_of(1), hash_of(2)});
  EXPECT_EQ(roll_commitment_from_json(to_json(roll)), roll);
  for (const char* bad :
       {R"({"count":2})", R"({"count":-1,"root":"00"})", R"({"count":2,"root":"AB"})", R"([])",
        R"({"count":2,"root":"x","extra":1})"}) {
    EXPECT_FALSE(roll_commitment_from_json(nlohmann::json::parse(bad)).has_value()) << bad;
  }
  nlohmann::json upper = to_json(roll);
  std::string root = upper["root"];
  for (auto& ch : root) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  upper["root"] = root;
  EXPECT_FALSE(roll_commitment_from_json(upper).has_value()) << "lowercase hex only";
}

}  // namespace
}  // namespace observernet::domain
