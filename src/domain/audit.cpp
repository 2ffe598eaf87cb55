#include "observernet/domain/audit.hpp"

#include "observernet/crypto/hash.hpp"
#include "observernet/crypto/jcs.hpp"

#include <stdexcept>

namespace observernet::domain {

nlohmann::json audit_event_body(const AuditEvent& event) {
  nlohmann::json body = nlohmann::json::object();
  body["seq"] = event.seq;
  body["type"] = event.type;
  body["payload"] = event.payload;
  body["at"] = event.at;
  body["prevHash"] = event.prev_hash;
  return body;
}

nlohmann::json to_json(const AuditEvent& event) {
  nlohmann::json json = audit_event_body(event);
  json["hash"] = event.hash;
  return json;
}

std::string compute_audit_hash(const AuditEvent& event) {
  // docs/api/audit-log.md, The hash: the previous hash enters as its 32 raw bytes, not as hex text,
  // so the preimage is fixed-width before the variable-length canonical body.
  const auto prev = crypto::from_hex(event.prev_hash);
  if (!prev || prev->size() != crypto::Digest{}.size()) {
    throw std::invalid_argument("audit event prevHash is not 64 hex digits");
  }
  const std::string body = crypto::canonicalize(audit_event_body(event));
  crypto::Bytes preimage(*prev);
  const auto body_bytes = crypto::as_bytes(body);
  preimage.insert(preimage.end(), body_bytes.begin(), body_bytes.end());
  return crypto::to_hex(crypto::sha256(preimage));
}

AuditEvent next_audit_event(std::int64_t prev_seq, std::string_view prev_hash, std::string type,
                            nlohmann::json payload, std::string at) {
  AuditEvent event{
      .seq = prev_seq + 1,
      .type = std::move(type),
      .payload = std::move(payload),
      .at = std::move(at),
      .prev_hash = std::string(prev_hash),
      .hash = {},
  };
  event.hash = compute_audit_hash(event);
  return event;
}

std::optional<std::int64_t> find_chain_break(std::span<const AuditEvent> events,
                                             std::int64_t prev_seq, std::string_view prev_hash) {
  std::int64_t expected_seq = prev_seq + 1;
  std::string_view expected_prev = prev_hash;
  for (const AuditEvent& event : events) {
    // Reported as the seq the chain expected here: a tampered seq must not point
    // the reader at some other, intact event.
    if (event.seq != expected_seq || event.prev_hash != expected_prev) return expected_seq;
    std::string recomputed;
    try {
      recomputed = compute_audit_hash(event);
    } catch (const std::invalid_argument&) {
      // A payload JCS cannot represent cannot have produced the stored hash.
      return expected_seq;
    }
    if (recomputed != event.hash) return expected_seq;
    ++expected_seq;
    expected_prev = event.hash;
  }
  return std::nullopt;
}

}  // namespace observernet::domain
