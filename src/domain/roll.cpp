#include "observernet/domain/roll.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "observernet/crypto/merkle.hpp"

namespace observernet::domain {

RollCommitment commit_roll(std::vector<crypto::Digest> voter_hashes) {
  std::ranges::sort(voter_hashes);
  for (auto& hash : voter_hashes) {
    hash = crypto::merkle_leaf_hash(
        std::string_view(reinterpret_cast<const char*>(hash.data()), hash.size()));
  }
  return {voter_hashes.size(), crypto::merkle_root(voter_hashes)};
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
