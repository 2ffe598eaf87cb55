#include "observernet/domain/tree_head.hpp"

#include <algorithm>

#include "observernet/crypto/jcs.hpp"

namespace observernet::domain {

using nlohmann::json;

std::string tree_head_signing_input(std::string_view election_id, std::uint64_t tree_size,
                                    const crypto::Digest& root_hash, std::string_view timestamp) {
  return crypto::canonicalize(json{{"electionId", election_id},
                                   {"treeSize", tree_size},
                                   {"rootHash", crypto::to_hex(root_hash)},
                                   {"timestamp", timestamp}});
}

TreeHead sign_tree_head(const crypto::Ed25519PrivateKey& log_key, std::string election_id,
                        std::uint64_t tree_size, const crypto::Digest& root_hash,
                        std::string timestamp) {
  TreeHead head{std::move(election_id), tree_size, root_hash,
                std::move(timestamp),   {},        log_key.public_key().key_id()};
  head.signature = log_key.sign(crypto::as_bytes(
      tree_head_signing_input(head.election_id, head.tree_size, head.root_hash, head.timestamp)));
  return head;
}

bool verify_tree_head(const TreeHead& head, const crypto::Ed25519PublicKey& log_key) {
  return head.log_key_id == log_key.key_id() &&
         log_key.verify(crypto::as_bytes(tree_head_signing_input(head.election_id, head.tree_size,
                                                                 head.root_hash, head.timestamp)),
                        head.signature);
}

json to_json(const TreeHead& head) {
  return {{"electionId", head.election_id},
          {"treeSize", head.tree_size},
          {"rootHash", crypto::to_hex(head.root_hash)},
          {"timestamp", head.timestamp},
          {"signature", crypto::to_base64url(head.signature)},
          {"logKeyId", head.log_key_id}};
}

std::optional<TreeHead> tree_head_from_json(const json& j) {
  if (!j.is_object()) return std::nullopt;
  auto text = [&](const char* name) -> const std::string* {
    auto it = j.find(name);
    return it != j.end() && it->is_string() ? it->get_ptr<const std::string*>() : nullptr;
  };
  const std::string *id = text("electionId"), *root = text("rootHash"), *at = text("timestamp"),
                    *signature = text("signature"), *key_id = text("logKeyId");
  auto size = j.find("treeSize");
  if (!id || !root || !at || !signature || !key_id || size == j.end() ||
      !size->is_number_unsigned()) {
    return std::nullopt;
  }
  auto root_hash = crypto::digest_from_hex(*root);
  auto signature_bytes = crypto::from_base64url(*signature);
  if (!root_hash || !signature_bytes ||
      signature_bytes->size() != crypto::kEd25519SignatureLength) {
    return std::nullopt;
  }
  TreeHead head{*id, size->get<std::uint64_t>(), *root_hash, *at, {}, *key_id};
  std::copy(signature_bytes->begin(), signature_bytes->end(), head.signature.begin());
  return head;
}

}  // namespace observernet::domain
