#include "observernet/domain/roll.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "observernet/crypto/merkle.hpp"

namespace observernet::domain {

RollCommitment commit_roll(std::vector<crypto::Digest> voter_hashes) {
  std::ranges::sort(voter_hashes);
  RollCommitter committer;
  for (const auto& hash : voter_hashes) committer.add(hash);
  return committer.commitment();
}

void RollCommitter::add(const crypto::Digest& voter_hash) {
  if (last_ && voter_hash < *last_) {
    throw std::invalid_argument("roll commitment: voter hashes must come in ascending order");
  }
  last_ = voter_hash;
  range_.append(crypto::merkle_leaf_hash(
      std::string_view(reinterpret_cast<const char*>(voter_hash.data()), voter_hash.size())));
}

RollCommitment RollCommitter::commitment() const {
  return {range_.size(), range_.root()};
}

nlohmann::json to_json(const RollCommitment& roll) {
  return {{"count", roll.count}, {"root", crypto::to_hex(roll.root)}};
}

std::optional<RollCommitment> roll_commitment_from_json(const nlohmann::json& j) {
  if (!j.is_object() || j.size() != 2) return std::nullopt;
  auto count = j.find("count");
  auto root = j.find("root");
  if (count == j.end() || !count->is_number_unsigned() || root == j.end() || !root->is_string()) {
    return std::nullopt;
  }
  auto digest = crypto::digest_from_hex(root->get<std::string>());
  if (!digest || crypto::to_hex(*digest) != root->get<std::string>()) return std::nullopt;
  return RollCommitment{count->get<std::uint64_t>(), *digest};
}

}  // namespace observernet::domain
