#pragma once
// The voter's side of voting (docs/formats.md, Tokens; Ballot leaf): fetch and check the election's
// token key, get a blind signature on a random nonce, unblind it, cast the ballot with the token,
// and check the receipt against the ballot we sent.
#include <chrono>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "observernet/client/http_client.hpp"
#include "observernet/crypto/blind_rsa.hpp"
#include "observernet/domain/ballot.hpp"

namespace observernet::client {

using Selection = domain::Selection;

// "contest=option", both slugs ([a-z0-9-]{1,64}, docs/formats.md, Ballot leaf); nullopt otherwise.
std::optional<Selection> parse_selection(std::string_view text);

struct VoteRequest {
  std::string election_id;  // a UUID, either case; else cast_vote throws invalid_argument
  std::string voter_id;
  std::string credential;
  std::vector<Selection> selections;
  // The ballot is sent a random time after the token arrives, uniform in [0, max_delay]
  // (drawn from the CSPRNG), so that the two requests are apart in time (docs/security.md).
  std::chrono::milliseconds max_delay{0};
  // Called with the drawn delay before the wait, whenever max_delay is above 0.
  std::function<void(std::chrono::milliseconds)> on_delay = nullptr;
};

struct VoteOutcome {
  std::string election_id;
  std::string key_id;       // hex SHA-256 of the token key's SPKI DER
  std::string receipt;      // checked: the leaf hash of the ballot we sent
  std::string accepted_at;  // RFC 3339, as the server gave it
};

// Codes of our own, for failures the server did not describe in problem details.
inline constexpr std::string_view kNetworkError = "network_error";
inline constexpr std::string_view kBadResponse = "bad_response";
inline constexpr std::string_view kUntrustedKey = "untrusted_key";
inline constexpr std::string_view kInvalidBlindSignature = "invalid_blind_signature";
inline constexpr std::string_view kReceiptMismatch = "receipt_mismatch";

// A vote that did not go through, or whose receipt cannot be trusted. what() is one
// line: "409 token_already_issued: <detail>", or "<code>: <detail>" without a status.
// Nothing in it comes from the credential.
class VoteError : public std::runtime_error {
 public:
  // status: the HTTP status when the error is an answer's, else 0. code: the problem's
  // `code` (RFC 9457 extension member, docs/api/errors.md), one of the k* codes above, or empty
  // when a non-2xx answer carried no problem details.
  VoteError(unsigned status, std::string code, std::string detail);

  unsigned status() const noexcept { return status_; }
  const std::string& code() const noexcept { return code_; }
  const std::string& detail() const noexcept { return detail_; }

 private:
  unsigned status_;
  std::string code_;
  std::string detail_;
};

// The token as the ballot carries it: base64url without padding.
struct BallotToken {
  std::string message;
  std::string signature;
};

// docs/formats.md, Ballot leaf: the RFC 8785 canonical JSON of {"electionId", "selections" (sorted
// by contestId, then optionId), "token": {"message", "signature"}}.
std::string ballot_leaf(std::string_view election_id, const BallotToken& token,
                        std::vector<Selection> selections);

// docs/formats.md, Receipt: lowercase hex SHA-256(0x00 || leaf), the RFC 9162 §2.1.1 leaf hash.
std::string ballot_receipt(std::string_view leaf);

// docs/formats.md, Token key: GET the election's token key and check it (the algorithm we
// implement, a keyId that names exactly the published bytes). `election_id` as the server writes
// it, in lowercase. Throws VoteError.
crypto::RsaPublicKey fetch_token_key(HttpClient& client, const std::string& election_id);

// Runs the whole flow on `client`: the token key must also be the one the election's
// audit chain announced (election.created), checked before any token request (a
// mismatch is kUntrustedKey). Throws VoteError for every failure, after one retry
// of the token request and one of the submission when their answers are lost (the
// server answers an identical repeat as it did the first: docs/api/README.md, Voting). A token
// whose blind signature does not finalize to a valid signature is never submitted.
VoteOutcome cast_vote(HttpClient& client, const VoteRequest& request);

// A receipt's state on the board (GET /api/v1/voting/receipts/{receipt}).
struct ReceiptState {
  std::string status;  // "pending" or "sequenced"
  std::optional<std::string>
      due_by;  // while pending: RFC 3339, to the minute; absent: at the close
};

// nullopt when the server gives no well-formed answer; the vote itself is not in doubt.
std::optional<ReceiptState> receipt_state(HttpClient& client, const std::string& receipt);

}  // namespace observernet::client
