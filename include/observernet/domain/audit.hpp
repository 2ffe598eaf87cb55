#pragma once
//
//   hash = SHA-256(prevHash || JCS(event without hash))
// where prevHash is the previous event's hash as 32 raw bytes (32 zero bytes before
// the first event) and the event without hash is {"seq","type","payload","at","prevHash"}.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace observernet::domain {

inline constexpr std::string_view kGenesisHash =
    "0000000000000000000000000000000000000000000000000000000000000000";

struct AuditEvent {
  std::int64_t seq = 0;    // 1, 2, 3, … per election
  std::string type;        // "election.created", …
  nlohmann::json payload;  // an object
  std::string at;          // RFC 3339 UTC with milliseconds
  std::string prev_hash;   // lowercase hex
  std::string hash;        // lowercase hex
};

// {"seq","type","payload","at","prevHash"}: what the hash covers.
nlohmann::json audit_event_body(const AuditEvent& event);
// The API form: the body plus "hash".
nlohmann::json to_json(const AuditEvent& event);
std::string compute_audit_hash(const AuditEvent& event);

// The event following one with `prev_seq` and `prev_hash` (0 and kGenesisHash for
// the first), with its hash computed.
AuditEvent next_audit_event(std::int64_t prev_seq, std::string_view prev_hash, std::string type,
                            nlohmann::json payload, std::string at);

// Checks seq continuity, prevHash links and every hash, starting after an event with
// `prev_seq` / `prev_hash`. Returns the seq of the first event that breaks the chain.
std::optional<std::int64_t> find_chain_break(std::span<const AuditEvent> events,
                                             std::int64_t prev_seq = 0,
                                             std::string_view prev_hash = kGenesisHash);

}  // namespace observernet::domain
