#include "observernet/client/voter.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <thread>

#include "observernet/client/verify.hpp"
#include "observernet/crypto/blind_rsa.hpp"
#include "observernet/crypto/hash.hpp"
#include "observernet/crypto/merkle.hpp"
#include "observernet/domain/election.hpp"

namespace observernet::client {
namespace {

using nlohmann::json;

constexpr std::string_view kTokenAlgorithm = "RSABSSA-SHA384-PSS-Deterministic";
// The token nonce (docs/formats.md, Tokens).
constexpr std::size_t kTokenMessageBytes = 32;
// Field errors of a 422 shown in the one-line message; the rest are counted.
constexpr std::size_t kFieldErrorsShown = 3;

// One line whatever the server put in its problem details.
std::string error_line(unsigned status, const std::string& code, const std::string& detail) {
  std::string line = status ? std::to_string(status) : std::string();
  if (!code.empty()) line += (line.empty() ? "" : " ") + code;
  line += ": " + detail;
  std::replace_if(
      line.begin(), line.end(), [](char c) { return c >= 0 && c < 0x20; }, ' ');
  return line;
}

std::string string_or_empty(const json& object, const char* name) {
  auto it = object.find(name);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// RFC 9457 problem details from a non-2xx answer, reduced to one line.
[[noreturn]] void throw_problem(const Reply& reply) {
  const json body = json::parse(reply.body, nullptr, false);
  std::string code, detail;
  if (body.is_object()) {
    code = string_or_empty(body, "code");
    detail = string_or_empty(body, "detail");
    if (detail.empty()) detail = string_or_empty(body, "title");
    if (auto it = body.find("errors"); it != body.end() && it->is_array() && !it->empty()) {
      std::string fields;
      std::size_t shown = 0;
      for (const auto& e : *it) {
        if (shown == kFieldErrorsShown) break;
        if (!e.is_object()) continue;
        fields += (shown++ ? "; " : "") + string_or_empty(e, "field") + ": " +
                  string_or_empty(e, "message");
      }
      if (shown > 0) {
        if (it->size() > shown) fields += "; " + std::to_string(it->size() - shown) + " more";
        detail += " (" + fields + ")";
      }
    }
  }
  if (detail.empty()) detail = "the server gave no problem details";
  throw VoteError(reply.status, code, detail);
}

// The parsed body of a successful answer, or VoteError for any other answer.
json expect_json(const Reply& reply, std::initializer_list<unsigned> statuses,
                 std::string_view what) {
  if (reply.status < 200 || reply.status > 299) throw_problem(reply);
  if (std::find(statuses.begin(), statuses.end(), reply.status) == statuses.end()) {
    throw VoteError(reply.status, std::string(kBadResponse),
                    std::string(what) + ": unexpected status");
  }
  json body = json::parse(reply.body, nullptr, false);
  if (!body.is_object()) {
    throw VoteError(reply.status, std::string(kBadResponse),
                    std::string(what) + ": the body is not a JSON object");
  }
  return body;
}

std::string string_member(const json& body, const char* name, std::string_view what) {
  auto it = body.find(name);
  if (it == body.end() || !it->is_string()) {
    throw VoteError(0, std::string(kBadResponse),
                    std::string(what) + ": no string \"" + name + "\" in the answer");
  }
  return *it;
}

crypto::Bytes base64url_member(const json& body, const char* name, std::string_view what) {
  auto bytes = crypto::from_base64url(string_member(body, name, what));
  if (!bytes) {
    throw VoteError(0, std::string(kBadResponse),
                    std::string(what) + ": \"" + name + "\" is not base64url");
  }
  return std::move(*bytes);
}

Reply send(HttpClient& client, std::string_view method, const std::string& path,
           const std::optional<json>& body = std::nullopt) {
  try {
    return client.request(method, path, body);
  } catch (const TransportError& e) {
    throw VoteError(0, std::string(kNetworkError), e.what());
  }
}

// A repeated token request or submission is answered as the first was (docs/api/README.md,
// Voting), so a POST whose answer was lost is sent once more, byte for byte.
Reply post_with_one_retry(HttpClient& client, const std::string& path, const json& body) {
  try {
    return client.request("POST", path, body);
  } catch (const TransportError&) {
    return send(client, "POST", path, body);
  }
}

// The key must be the one the election's audit chain announced at its creation, as
// `observernet verify` checks: a key made for this voter alone would differ from it.
void check_announced_key(HttpClient& client, const std::string& election_id,
                         const std::string& key_id) {
  std::string announced;
  try {
    announced = announced_token_key_id(client, election_id);
  } catch (const std::runtime_error& e) {
    throw VoteError(0, std::string(kUntrustedKey),
                    std::string("cannot check the token key against the audit chain (") + e.what() +
                        "); no token was requested");
  }
  if (announced != key_id) {
    throw VoteError(0, std::string(kUntrustedKey),
                    "the token key " + key_id +
                        " is not the one announced on the election's audit chain, " + announced +
                        "; no token was requested");
  }
}

}  // namespace

// docs/formats.md, Token key: the election's key, under the one algorithm we implement, with a
// keyId that names exactly these bytes. The keyId is what a voter can compare with what others were
// served (a key per voter would let the server tell tokens apart), so it must be the key the token
// is blinded under.
crypto::RsaPublicKey fetch_token_key(HttpClient& client, const std::string& election_id) {
  constexpr std::string_view what = "token key";
  const json body = expect_json(
      send(client, "GET", "/api/v1/elections/" + election_id + "/token-key"), {200}, what);
  if (string_member(body, "electionId", what) != election_id) {
    throw VoteError(0, std::string(kUntrustedKey), "the token key is for another election");
  }
  if (std::string algorithm = string_member(body, "algorithm", what);
      algorithm != kTokenAlgorithm) {
    throw VoteError(0, std::string(kUntrustedKey),
                    "unsupported token algorithm '" + algorithm + "'");
  }
  const crypto::Bytes der = base64url_member(body, "publicKey", what);
  auto key = crypto::RsaPublicKey::from_spki_der(der);
  if (!key) {
    throw VoteError(0, std::string(kUntrustedKey),
                    "the token key is not an RSA key of 2048 to 16384 bits in SPKI DER form");
  }
  if (string_member(body, "keyId", what) != key->key_id()) {
    throw VoteError(0, std::string(kUntrustedKey), "keyId is not the SHA-256 of the published key");
  }
  return *std::move(key);
}

VoteError::VoteError(unsigned status, std::string code, std::string detail)
    : std::runtime_error(error_line(status, code, detail)),
      status_(status),
      code_(std::move(code)),
      detail_(std::move(detail)) {}

std::optional<Selection> parse_selection(std::string_view text) {
  auto eq = text.find('=');
  if (eq == std::string_view::npos) return std::nullopt;
  Selection s{std::string(text.substr(0, eq)), std::string(text.substr(eq + 1))};
  if (!domain::is_slug(s.contest_id) || !domain::is_slug(s.option_id)) return std::nullopt;
  return s;
}

// The leaf and receipt the server computes (docs/formats.md, Ballot leaf), from the same code; the
// tests check both against values worked out independently.
std::string ballot_leaf(std::string_view election_id, const BallotToken& token,
                        std::vector<Selection> selections) {
  std::sort(selections.begin(), selections.end());
  return domain::ballot_leaf(election_id, selections, token.message, token.signature);
}

std::string ballot_receipt(std::string_view leaf) {
  return crypto::to_hex(crypto::merkle_leaf_hash(leaf));
}

VoteOutcome cast_vote(HttpClient& client, const VoteRequest& request) {
  if (!domain::is_uuid(request.election_id)) {
    throw std::invalid_argument("the election id must be a UUID");
  }
  // The server writes UUIDs in lowercase (docs/formats.md, Encodings), and the ballot leaf holds
  // the id as written.
  std::string election_id = *domain::canonical_uuid(request.election_id);
  VoteOutcome outcome;
  outcome.election_id = election_id;
  const crypto::RsaPublicKey key = fetch_token_key(client, election_id);
  outcome.key_id = key.key_id();
  check_announced_key(client, election_id, outcome.key_id);

  // docs/formats.md, Tokens: a high-entropy nonce, which the deterministic variant needs for
  // blindness (RFC 9474 §7.3); Prepare is then the identity.
  std::array<unsigned char, kTokenMessageBytes> msg;
  crypto::random_bytes(msg);
  const crypto::Bytes prepared = crypto::prepare(crypto::kSha384PssDeterministic, msg);
  crypto::BlindResult blinded;
  try {
    blinded = crypto::blind(key, prepared, crypto::kSha384PssDeterministic);
  } catch (const std::invalid_argument& e) {
    throw VoteError(0, std::string(kUntrustedKey), std::string("blinding failed: ") + e.what());
  }

  constexpr std::string_view token_what = "token";
  const json token_body = expect_json(
      post_with_one_retry(client, "/api/v1/voting/token",
                          {{"electionId", election_id},
                           {"voterId", request.voter_id},
                           {"credential", request.credential},
                           {"blindedMessage", crypto::to_base64url(blinded.blinded_msg)}}),
      {200}, token_what);
  if (string_member(token_body, "keyId", token_what) != outcome.key_id) {
    throw VoteError(0, std::string(kUntrustedKey), "the token was signed with another key");
  }
  const crypto::Bytes blind_sig = base64url_member(token_body, "blindSignature", token_what);
  // RFC 9474 §4.4: Finalize checks the unblinded signature against the published key. A
  // token that fails is useless at best, and at worst signed under a key meant to single
  // this voter out.
  auto sig =
      crypto::finalize(key, prepared, blind_sig, blinded.inv, crypto::kSha384PssDeterministic);
  if (!sig) {
    throw VoteError(0, std::string(kInvalidBlindSignature),
                    "the server's blind signature does not finalize to a valid signature; "
                    "no ballot was sent");
  }

  if (request.max_delay.count() > 0) {
    // Uniform enough: the bias of a 64-bit draw reduced modulo a count of milliseconds is
    // below 2^-40.
    std::uint64_t draw = 0;
    crypto::random_bytes({reinterpret_cast<unsigned char*>(&draw), sizeof draw});
    const std::chrono::milliseconds delay(
        draw % (static_cast<std::uint64_t>(request.max_delay.count()) + 1));
    if (request.on_delay) request.on_delay(delay);
    std::this_thread::sleep_for(delay);
  }

  const BallotToken token{crypto::to_base64url(msg), crypto::to_base64url(*sig)};
  json selections = json::array();
  for (const auto& s : request.selections) {
    selections.push_back({{"contestId", s.contest_id}, {"optionId", s.option_id}});
  }
  constexpr std::string_view submit_what = "submission";
  const json receipt_body = expect_json(
      post_with_one_retry(client, "/api/v1/voting/submit",
                          {{"electionId", election_id},
                           {"token", {{"message", token.message}, {"signature", token.signature}}},
                           {"selections", std::move(selections)}}),
      {201, 200}, submit_what);

  outcome.receipt = string_member(receipt_body, "receipt", submit_what);
  if (auto digest = crypto::from_hex(outcome.receipt);
      !digest || digest->size() != 32 || crypto::to_hex(*digest) != outcome.receipt) {
    throw VoteError(0, std::string(kBadResponse), "the receipt is not a lowercase hex SHA-256");
  }
  outcome.accepted_at = string_member(receipt_body, "acceptedAt", submit_what);
  if (string_member(receipt_body, "electionId", submit_what) != election_id) {
    throw VoteError(0, std::string(kBadResponse), "the receipt is for another election");
  }
  const std::string expected = ballot_receipt(ballot_leaf(election_id, token, request.selections));
  if (outcome.receipt != expected) {
    throw VoteError(0, std::string(kReceiptMismatch),
                    "the server's receipt " + outcome.receipt +
                        " is not the hash of the ballot sent, " + expected);
  }
  return outcome;
}

std::optional<ReceiptState> receipt_state(HttpClient& client, const std::string& receipt) {
  try {
    const Reply reply = client.request("GET", "/api/v1/voting/receipts/" + receipt);
    if (reply.status != 200) return std::nullopt;
    const json body = json::parse(reply.body, nullptr, false);
    if (!body.is_object() || !body.contains("status") || !body["status"].is_string()) {
      return std::nullopt;
    }
    ReceiptState state{body["status"], std::nullopt};
    if (auto due = body.find("dueBy"); due != body.end() && due->is_string()) state.due_by = *due;
    return state;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

}  // namespace observernet::client
