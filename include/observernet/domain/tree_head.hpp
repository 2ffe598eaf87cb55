#pragma once
// Signed tree heads of an election's Merkle log (docs/formats.md, Signed tree heads). Pure: no I/O.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "observernet/crypto/ed25519.hpp"
#include "observernet/crypto/hash.hpp"

namespace observernet::domain {

// The election's audit chain as a tree head saw it: its last event's seq and hash (hex;
// seq 0 and 64 zeros for an empty chain). Whoever keeps the tree head pins the audit
// history up to there (docs/formats.md, Signed tree heads).
struct AuditCommitment {
  std::uint64_t seq = 0;
  std::string head;
  bool operator==(const AuditCommitment&) const = default;
};

struct TreeHead {
  std::string election_id;
  std::uint64_t tree_size = 0;
  crypto::Digest root_hash{};
  std::string timestamp;  // RFC 3339 with milliseconds, as signed
  crypto::Ed25519Signature signature{};
  std::string log_key_id;  // hex SHA-256 of the raw Ed25519 public key
  // Absent from the tree heads signed before it was added, and then from what they sign.
  std::optional<AuditCommitment> audit;
};

// What the log key signs: the RFC 8785 text of {"electionId", "treeSize", "rootHash"
// (hex), "timestamp", "auditSeq", "auditHead"}, the last two when `audit` is given.
std::string tree_head_signing_input(std::string_view election_id, std::uint64_t tree_size,
                                    const crypto::Digest& root_hash, std::string_view timestamp,
                                    const std::optional<AuditCommitment>& audit);

// A tree head for these values, signed with the log key.
TreeHead sign_tree_head(const crypto::Ed25519PrivateKey& log_key, std::string election_id,
                        std::uint64_t tree_size, const crypto::Digest& root_hash,
                        std::string timestamp, std::optional<AuditCommitment> audit);

bool verify_tree_head(const TreeHead& head, const crypto::Ed25519PublicKey& log_key);

// {"electionId", "treeSize", "rootHash", "timestamp", "auditSeq", "auditHead" (when
// committed), "signature" (base64url), "logKeyId"}: the tree-head route's answer and the
// tree_head.published audit payload.
nlohmann::json to_json(const TreeHead& head);
// The inverse; nullopt for any member missing or of the wrong shape.
std::optional<TreeHead> tree_head_from_json(const nlohmann::json& j);

}  // namespace observernet::domain
