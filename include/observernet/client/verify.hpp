#pragma once
// The observer's side of the bulletin board (docs/formats.md, What a verifier checks): download an
// election's public bulletin board and check it without trusting the server — every token
// signature, no token used twice, every ballot valid and hashed into the Merkle log, the signed
// tree head, its consistency with tree heads seen on earlier runs, the audit chain, and a recount
// against the published results.
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "observernet/client/http_client.hpp"

namespace observernet::client {

enum class CheckStatus { pass, fail, skipped };

// "PASS", "FAIL", "SKIP".
std::string_view to_string(CheckStatus status);

// The checks, in the order verify_election reports them.
inline constexpr std::string_view kTokenSignaturesCheck = "token signatures";
inline constexpr std::string_view kBallotsCheck = "ballots";
inline constexpr std::string_view kTreeHeadCheck = "tree head";
inline constexpr std::string_view kConsistencyCheck = "consistency";
inline constexpr std::string_view kAuditChainCheck = "audit chain";
inline constexpr std::string_view kRollCheck = "roll";
inline constexpr std::string_view kIssuedCheck = "issued tokens";
inline constexpr std::string_view kVoterCheck = "voter hash";
inline constexpr std::string_view kRecountCheck = "recount";
inline constexpr std::string_view kReceiptCheck = "receipt";

struct CheckResult {
  std::string name;  // one of the k*Check names
  CheckStatus status = CheckStatus::fail;
  std::string detail;  // one line, with counts; for a failure, the first thing that failed
};

struct VerifyRequest {
  std::string election_id;             // a UUID, either case
  std::optional<std::string> receipt;  // 64 hex digits, either case: check its inclusion
  // 64 hex digits, either case: the id (SHA-256 of the raw key) of the Ed25519 log key
  // the observer expects, learnt elsewhere than from this server.
  std::optional<std::string> log_key_id;
  // Tree heads seen on earlier runs (see verify_election). Its folder is created if
  // missing.
  std::filesystem::path state_file;
  // 64 hex digits, either case: a voter's own hash (from their import or booth link), to
  // learn whether a token was issued in their name.
  std::optional<std::string> voter_hash;
};

// $XDG_STATE_HOME/observernet/verify-<election>.json, or
// ~/.local/state/observernet/verify-<election>.json (XDG Base Directory Specification);
// nullopt when neither XDG_STATE_HOME nor HOME is set to an absolute path.
std::optional<std::filesystem::path> default_state_file(std::string_view election_id);

// Runs every check against the server behind `http` and returns one result per check,
// in the order of the k*Check names above (kVoterCheck is skipped without a voter hash,
// kReceiptCheck without a receipt).
// Never throws for anything the server does: a failed request or a malformed answer
// fails the checks that needed it, with the reason in their detail. Throws
// std::invalid_argument for a request that is not of the form above.
//
// The state file is JSON, {"electionId", "treeHeads": [{"treeSize", "rootHash",
// "timestamp", "auditSeq", "auditHead", "signature", "logKeyId"}, ...]} in increasing
// treeSize, one per size.
// Every tree head in it must be consistent with the newest (RFC 9162 §2.1.4); the newest
// is then added to it (written to a temporary file and renamed over it) when its
// signature verifies and nothing in the file contradicts it. A file that cannot be read
// fails kConsistencyCheck and is left as it is.
std::vector<CheckResult> verify_election(HttpClient& http, const VerifyRequest& request);

// The token key id the election's audit chain announces (its election.created event's
// payload.tokenKey.keyId), read page by page from the public audit route.
// `election_id` as the server writes it, in lowercase. Throws std::runtime_error, one
// line naming what could not be read or was missing.
std::string announced_token_key_id(HttpClient& http, const std::string& election_id);

// "PASS  token signatures: 1000 ballots, 1000 distinct tokens, ..." (status, two spaces,
// name, colon, detail).
std::string format_check(const CheckResult& result);

// True when no check failed (skipped ones do not count against).
bool all_passed(std::span<const CheckResult> results);

// "verdict: PASS (6 passed, 1 skipped)" or "verdict: FAIL (2 failed, 5 passed)".
std::string format_verdict(std::span<const CheckResult> results);

}  // namespace observernet::client
