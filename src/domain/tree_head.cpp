#include "observernet/domain/tree_head.hpp"

#include <algorithm>

#include "observernet/crypto/jcs.hpp"

namespace observernet::domain {

using nlohmann::json;

std::string tree_head_signing_input(std::string_view election_id, std::uint64_t tree_size,
                                    const crypto::Digest& root_hash, std::string_view timestamp,
                                    const std::optional<AuditCommitment>& audit) {
  json signed_members{{"electionId", election_id},
                      {"treeSize", tree_size},
                      {"rootHash", crypto::to_hex(root_hash)},
                      {"timestamp", timestamp}};
  if (audit) {
    signed_members["auditSeq"] = audit->seq;
    signed_members["auditHead"] = audit->head;
  }
  return crypto::canonicalize(signed_members);
}

TreeHead sign_tree_head(const crypto::Ed25519PrivateKey& log_key, std::string election_id,
                        std::uint64_t tree_size, const crypto::Digest& root_hash,
                        std::string timestamp, std::optional<AuditCommitment> audit) {
  TreeHead head{std::move(election_id),        tree_size,       root_hash, std::move(timestamp), {},
                log_key.public_key().key_id(), std::move(audit)};
  head.signature = log_key.sign(crypto::as_bytes(tree_head_signing_input(
      head.election_id, head.tree_size, head.root_hash, head.timestamp, head.audit)));
  return head;
}

bool verify_tree_head(const TreeHead& head, const crypto::Ed25519PublicKey& log_key) {
  return head.log_key_id == log_key.key_id() &&
         log_key.verify(
             crypto::as_bytes(tree_head_signing_input(head.election_id, head.tree_size,
                                                      head.root_hash, head.timestamp, head.audit)),
             head.signature);
}

json to_json(const TreeHead& head) {
  json out{{"electionId", head.election_id},
           {"treeSize", head.tree_size},
           {"rootHash", crypto::to_hex(head.root_hash)},
           {"timestamp", head.timestamp},
           {"signature", crypto::to_base64url(head.signature)},
           {"logKeyId", head.log_key_id}};
  if (head.audit) {
    out["auditSeq"] = head.audit->seq;
    out["auditHead"] = head.audit->head;
  }
  return out;
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
  TreeHead head{*id, size->get<std::uint64_t>(), *root_hash, *at, {}, *key_id, std::nullopt};
  auto audit_seq = j.find("auditSeq");
  const std::string* audit_head = text("auditHead");
  if ((audit_seq != j.end()) != (audit_head != nullptr)) return std::nullopt;
  if (audit_head) {
    if (!audit_seq->is_number_unsigned() || !crypto::digest_from_hex(*audit_head)) {
      return std::nullopt;
    }
    head.audit = AuditCommitment{audit_seq->get<std::uint64_t>(), *audit_head};
  }
  std::copy(signature_bytes->begin(), signature_bytes->end(), head.signature.begin());
  return head;
}

}  // namespace observernet::domain
