#include "observernet/client/verify.hpp"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <stdexcept>
#include <system_error>
#include <utility>

#include "observernet/client/voter.hpp"
#include "observernet/crypto/blind_rsa.hpp"
#include "observernet/crypto/ed25519.hpp"
#include "observernet/crypto/hash.hpp"
#include "observernet/crypto/merkle.hpp"
#include "observernet/domain/audit.hpp"
#include "observernet/domain/ballot.hpp"
#include "observernet/domain/election.hpp"
#include "observernet/domain/roll.hpp"
#include "observernet/domain/tree_head.hpp"
#include "observernet/error.hpp"

namespace observernet::client {
namespace {

using nlohmann::json;

// The token nonce (docs/formats.md, Tokens).
constexpr std::size_t kTokenMessageBytes = 32;
// The most the board's paged routes hand out at once.
constexpr int kPageLimit = 1000;
// RFC 8785 §3.2.2.3 (I-JSON): integers beyond this do not survive every JSON parser.
constexpr std::int64_t kMaxJsonInteger = (std::int64_t{1} << 53) - 1;
// Hashes are shortened to this many hex digits in details, where the full value says
// nothing more to a reader.
constexpr std::size_t kShortHash = 16;

// An answer (or its absence) that leaves a check unable to pass. what() is one line.
class Unverifiable : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// What a download gave, or why it gave nothing.
template <class T>
struct Fetched {
  std::optional<T> value;
  std::string error;

  explicit operator bool() const { return value.has_value(); }
  const T& operator*() const { return *value; }
  const T* operator->() const { return &*value; }
};

template <class Download>
auto fetch(Download&& download) -> Fetched<decltype(download())> {
  try {
    return {download(), {}};
  } catch (const std::exception& e) {
    return {std::nullopt, e.what()};
  }
}

std::string lowercase(std::string_view text) {
  std::string out(text);
  std::ranges::transform(out, out.begin(),
                         [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string short_hash(std::string_view hex) {
  return hex.size() > kShortHash ? std::string(hex.substr(0, kShortHash)) + "..."
                                 : std::string(hex);
}

// A SHA-256 as the API writes it: 64 lowercase hex digits.
std::optional<crypto::Digest> parse_digest(std::string_view hex) {
  auto bytes = crypto::from_hex(hex);
  crypto::Digest digest{};
  if (!bytes || bytes->size() != digest.size() || crypto::to_hex(*bytes) != hex) {
    return std::nullopt;
  }
  std::ranges::copy(*bytes, digest.begin());
  return digest;
}

// "field: message", the first of an Error's field errors, or its detail.
std::string first_problem(const Error& e) {
  if (e.field_errors().empty()) return e.detail();
  const FieldError& first = e.field_errors().front();
  std::string line = first.field + ": " + first.message;
  if (e.field_errors().size() > 1) {
    line += " (and " + std::to_string(e.field_errors().size() - 1) + " more)";
  }
  return line;
}

std::string join(const std::vector<std::string>& parts, std::string_view separator = "; ") {
  std::string out;
  for (const auto& part : parts) out += (out.empty() ? "" : std::string(separator)) + part;
  return out;
}

std::string plural(std::size_t n, std::string_view one, std::string_view many) {
  return std::to_string(n) + " " + std::string(n == 1 ? one : many);
}

// ---- answers ---------------------------------------------------------------------------

// object[name], or null when object is not an object or has no such member.
json member_or_null(const json& object, const char* name) {
  if (!object.is_object()) return nullptr;
  auto it = object.find(name);
  return it == object.end() ? json() : *it;
}

const json& member(const json& object, const char* name, std::string_view what) {
  auto it = object.find(name);
  if (it == object.end()) {
    throw Unverifiable(std::string(what) + ": no \"" + name + "\" in the answer");
  }
  return *it;
}

std::string string_member(const json& object, const char* name, std::string_view what) {
  const json& value = member(object, name, what);
  if (!value.is_string()) {
    throw Unverifiable(std::string(what) + ": \"" + name + "\" is not a string");
  }
  return value.get<std::string>();
}

std::int64_t count_of(const json& value, std::string_view what) {
  if (!value.is_number_integer() || value.get<std::int64_t>() < 0 ||
      (value.is_number_unsigned() && value.get<std::uint64_t>() > kMaxJsonInteger) ||
      value.get<std::int64_t>() > kMaxJsonInteger) {
    throw Unverifiable(std::string(what) + " is not a non-negative integer");
  }
  return value.get<std::int64_t>();
}

std::int64_t count_member(const json& object, const char* name, std::string_view what) {
  return count_of(member(object, name, what), std::string(what) + ": \"" + name + "\"");
}

crypto::Digest digest_member(const json& object, const char* name, std::string_view what) {
  auto digest = parse_digest(string_member(object, name, what));
  if (!digest) {
    throw Unverifiable(std::string(what) + ": \"" + name + "\" is not 64 lowercase hex digits");
  }
  return *digest;
}

const json& array_member(const json& object, const char* name, std::string_view what) {
  const json& value = member(object, name, what);
  if (!value.is_array()) {
    throw Unverifiable(std::string(what) + ": \"" + name + "\" is not an array");
  }
  return value;
}

std::vector<crypto::Digest> digests_member(const json& object, const char* name,
                                           std::string_view what) {
  std::vector<crypto::Digest> out;
  for (const json& item : array_member(object, name, what)) {
    auto digest = item.is_string() ? parse_digest(item.get<std::string>()) : std::nullopt;
    if (!digest) {
      throw Unverifiable(std::string(what) + ": \"" + name +
                         "\" holds something other than 64 lowercase hex digits");
    }
    out.push_back(*digest);
  }
  return out;
}

// The RFC 9457 problem code of an answer, or empty.
std::string problem_code(const Reply& reply) {
  const json body = json::parse(reply.body, nullptr, false);
  if (!body.is_object()) return {};
  auto it = body.find("code");
  return it != body.end() && it->is_string() ? it->get<std::string>() : std::string();
}

Reply get_reply(HttpClient& http, const std::string& path, std::string_view what) {
  try {
    return http.request("GET", "/api/v1" + path);
  } catch (const TransportError& e) {
    throw Unverifiable(std::string(what) + ": " + e.what());
  }
}

json json_object(const Reply& reply, std::string_view what) {
  if (reply.status != 200) {
    const std::string code = problem_code(reply);
    throw Unverifiable(std::string(what) + ": HTTP " + std::to_string(reply.status) +
                       (code.empty() ? "" : " " + code));
  }
  json body = json::parse(reply.body, nullptr, false);
  if (!body.is_object()) {
    throw Unverifiable(std::string(what) + ": the answer is not a JSON object");
  }
  return body;
}

json get_json(HttpClient& http, const std::string& path, std::string_view what) {
  return json_object(get_reply(http, path, what), what);
}

// ---- what the board publishes ----------------------------------------------------------

struct PublicElection {
  bool closed = false;
  std::vector<domain::Contest> contests;
};

std::vector<domain::Contest> contests_of(const json& contests, std::string_view what) {
  try {
    return domain::contests_from_json(contests);
  } catch (const Error& e) {
    throw Unverifiable(std::string(what) + ": the contests are malformed (" + e.log_detail() + ")");
  }
}

PublicElection fetch_election(HttpClient& http, const std::string& id) {
  constexpr std::string_view what = "election";
  const json body = get_json(http, "/public/elections/" + id, what);
  if (string_member(body, "id", what) != id) throw Unverifiable("election: another election");
  auto status = domain::parse_election_status(string_member(body, "status", what));
  if (!status || *status == domain::ElectionStatus::draft) {
    throw Unverifiable("election: status is neither open nor closed");
  }
  return {*status == domain::ElectionStatus::closed,
          contests_of(member(body, "contests", what), what)};
}

// docs/formats.md, Signed tree heads: what the log key signs, and what the audit chain and the
// state file keep of a tree head.
struct TreeHead {
  std::int64_t tree_size = 0;
  std::string root_hash;
  std::string timestamp;
  std::string signature;
  std::string log_key_id;
  crypto::Digest root{};
  std::optional<domain::AuditCommitment> audit;  // the audit chain it pins, if it pins one
};

TreeHead read_tree_head(const json& object, std::string_view what) {
  if (!object.is_object()) throw Unverifiable(std::string(what) + ": not a JSON object");
  TreeHead head;
  head.tree_size = count_member(object, "treeSize", what);
  head.root = digest_member(object, "rootHash", what);
  head.root_hash = crypto::to_hex(head.root);
  head.timestamp = string_member(object, "timestamp", what);
  if (!domain::parse_timestamp(head.timestamp)) {
    throw Unverifiable(std::string(what) + ": \"timestamp\" is not an RFC 3339 time");
  }
  head.signature = string_member(object, "signature", what);
  head.log_key_id = string_member(object, "logKeyId", what);
  const bool has_seq = object.contains("auditSeq"), has_head = object.contains("auditHead");
  if (has_seq != has_head) {
    throw Unverifiable(std::string(what) + ": \"auditSeq\" and \"auditHead\" come together");
  }
  if (has_seq) {
    head.audit =
        domain::AuditCommitment{static_cast<std::uint64_t>(count_member(object, "auditSeq", what)),
                                crypto::to_hex(digest_member(object, "auditHead", what))};
  }
  return head;
}

// {"treeSize", "rootHash", "timestamp", "signature", "logKeyId", "auditSeq",
// "auditHead"}: a tree_head.published payload, and an entry of the state file.
json to_json(const TreeHead& head) {
  json out{{"treeSize", head.tree_size},
           {"rootHash", head.root_hash},
           {"timestamp", head.timestamp},
           {"signature", head.signature},
           {"logKeyId", head.log_key_id}};
  if (head.audit) {
    out["auditSeq"] = head.audit->seq;
    out["auditHead"] = head.audit->head;
  }
  return out;
}

// Ed25519 over the RFC 8785 text of exactly the signed members (docs/formats.md).
bool signature_verifies(const TreeHead& head, std::string_view election_id,
                        const crypto::Ed25519PublicKey& key) {
  const std::string signed_text =
      domain::tree_head_signing_input(election_id, static_cast<std::uint64_t>(head.tree_size),
                                      head.root, head.timestamp, head.audit);
  auto signature = crypto::from_base64url(head.signature);
  return signature && key.verify(crypto::as_bytes(signed_text), *signature);
}

TreeHead fetch_tree_head(HttpClient& http, const std::string& id) {
  constexpr std::string_view what = "tree head";
  const json body = get_json(http, "/public/elections/" + id + "/tree-head", what);
  if (string_member(body, "electionId", what) != id) {
    throw Unverifiable("tree head: for another election");
  }
  return read_tree_head(body, what);
}

crypto::Ed25519PublicKey fetch_log_key(HttpClient& http) {
  constexpr std::string_view what = "log key";
  const json body = get_json(http, "/public/log-key", what);
  if (string_member(body, "algorithm", what) != "Ed25519") {
    throw Unverifiable("log key: the algorithm is not Ed25519");
  }
  auto raw = crypto::from_base64url(string_member(body, "publicKey", what));
  auto key = raw ? crypto::Ed25519PublicKey::from_raw(*raw) : std::nullopt;
  if (!key) throw Unverifiable("log key: publicKey is not a base64url Ed25519 key");
  if (string_member(body, "keyId", what) != key->key_id()) {
    throw Unverifiable("log key: keyId is not the SHA-256 of the published key");
  }
  return *std::move(key);
}

// A paged list ({"<items_name>": [...], "next": the next page's from, or null}), page by
// page from `from` until "next" is null or reaches `end`. `take` gets each page's items,
// and a name for the page in errors: `label` and its from.
void read_pages(HttpClient& http, const std::string& path, const char* items_name,
                std::string_view label, std::int64_t from, std::int64_t end,
                const std::function<void(const json& items, const std::string& what)>& take) {
  while (from < end) {
    const std::string what = std::string(label) + " " + std::to_string(from);
    const json page = get_json(
        http, path + "?from=" + std::to_string(from) + "&limit=" + std::to_string(kPageLimit),
        what);
    const json& items = array_member(page, items_name, what);
    take(items, what);
    const json& next = member(page, "next", what);
    if (next.is_null()) return;
    const std::int64_t next_from = count_of(next, what + ": \"next\"");
    if (items.empty() || next_from <= from) {
      throw Unverifiable(what + ": \"next\" does not move past the " + items_name + " given");
    }
    from = next_from;
  }
}

// The audit chain's events from seq `from` on (1: all of it).
std::vector<domain::AuditEvent> fetch_audit(HttpClient& http, const std::string& id,
                                            std::int64_t from = 1) {
  std::vector<domain::AuditEvent> events;
  read_pages(http, "/public/elections/" + id + "/audit", "events", "audit events from seq", from,
             kMaxJsonInteger, [&](const json& items, const std::string&) {
               for (const json& item : items) {
                 const std::string what =
                     "audit event " +
                     std::to_string(from + static_cast<std::int64_t>(events.size()));
                 if (!item.is_object()) throw Unverifiable(what + ": not a JSON object");
                 events.push_back({
                     .seq = count_member(item, "seq", what),
                     .type = string_member(item, "type", what),
                     .payload = member(item, "payload", what),
                     .at = string_member(item, "at", what),
                     .prev_hash = string_member(item, "prevHash", what),
                     .hash = string_member(item, "hash", what),
                 });
               }
             });
  return events;
}

// A list paged by cursor ({"<items_name>": [...], "next": the cursor after this page, or
// null}), page by page from the start: `take` gets each page's items and its name.
void read_cursor_pages(
    HttpClient& http, const std::string& path, const char* items_name, std::string_view label,
    const std::function<void(const json& items, const std::string& what)>& take) {
  std::optional<std::string> after;
  for (;;) {
    const std::string what = std::string(label) + (after ? " after " + *after : "");
    const json page = get_json(http,
                               path + "?limit=" + std::to_string(kPageLimit) +
                                   (after ? "&after=" + *after : std::string()),
                               what);
    const json& items = array_member(page, items_name, what);
    take(items, what);
    const json& next = member(page, "next", what);
    if (next.is_null()) return;
    if (!next.is_string() || items.empty() || (after && next.get<std::string>() == *after)) {
      throw Unverifiable(what + ": \"next\" does not move past the " + items_name + " given");
    }
    after = next.get<std::string>();
  }
}

// A voter on the public roll: the first roll commitment that covers them, and their hash.
struct RollVoter {
  std::int64_t commitment = 0;
  crypto::Digest voter_hash{};
};

std::vector<RollVoter> fetch_roll(HttpClient& http, const std::string& id) {
  std::vector<RollVoter> roll;
  read_cursor_pages(http, "/public/elections/" + id + "/roll", "voters", "roll",
                    [&](const json& items, const std::string& what) {
                      for (const json& item : items) {
                        const std::string entry = what + ": voter " + std::to_string(roll.size());
                        if (!item.is_object()) throw Unverifiable(entry + ": not a JSON object");
                        roll.push_back({count_member(item, "commitment", entry),
                                        digest_member(item, "voterHash", entry)});
                      }
                    });
  return roll;
}

std::vector<crypto::Digest> fetch_issued(HttpClient& http, const std::string& id) {
  std::vector<crypto::Digest> issued;
  read_cursor_pages(http, "/public/elections/" + id + "/issued", "voterHashes",
                    "issued voter hashes", [&](const json& items, const std::string& what) {
                      for (const json& item : items) {
                        const std::string entry =
                            what + ": voter hash " + std::to_string(issued.size());
                        if (!item.is_string()) throw Unverifiable(entry + ": not a string");
                        auto digest = crypto::digest_from_hex(item.get<std::string>());
                        if (!digest || crypto::to_hex(*digest) != item.get<std::string>()) {
                          throw Unverifiable(entry + ": not 64 lowercase hex digits");
                        }
                        issued.push_back(*digest);
                      }
                    });
  return issued;
}

// What the audit chain says about the election, event by event.
struct AuditFacts {
  std::optional<std::string> token_key_id;  // election.created's tokenKey.keyId
  std::optional<json> definition_contests;  // of the last election.created or .updated
  bool closed = false;                      // there is an election.closed
  std::optional<json> final_tree_head;      // the last tree_head.published payload
  std::optional<json> results;              // the last results.published payload
  // The "roll" members of election.opened and voters.imported, in chain order: commitment
  // k is the k-th (docs/formats.md, Roll commitments).
  std::vector<json> roll_commitments;
  std::optional<json> tokens_issued;  // election.closed's tokensIssued
};

AuditFacts audit_facts(const std::vector<domain::AuditEvent>& events) {
  AuditFacts facts;
  for (const auto& event : events) {
    if (event.type == "election.created" && !facts.token_key_id) {
      const json key_id = member_or_null(member_or_null(event.payload, "tokenKey"), "keyId");
      if (key_id.is_string()) facts.token_key_id = key_id.get<std::string>();
    }
    if (event.type == "election.created" || event.type == "election.updated") {
      facts.definition_contests = member_or_null(event.payload, "contests");
    }
    if (event.type == "election.closed") {
      facts.closed = true;
      facts.tokens_issued = member_or_null(event.payload, "tokensIssued");
    }
    if ((event.type == "election.opened" || event.type == "voters.imported") &&
        event.payload.is_object() && event.payload.contains("roll")) {
      facts.roll_commitments.push_back(event.payload["roll"]);
    }
    if (event.type == "tree_head.published") facts.final_tree_head = event.payload;
    if (event.type == "results.published") facts.results = event.payload;
  }
  return facts;
}

// One entry of the board, as listed, and what the verifier rebuilds from it.
struct BoardBallot {
  std::int64_t leaf_index = 0;
  std::string receipt;
  std::string token_message;
  std::string token_signature;

  // The selections in leaf order when their shape is right; else why not. (Their JSON is
  // not kept: for a million ballots it was 620 MB of verify's 1,680 MB peak.)
  std::optional<std::vector<domain::Selection>> read;
  std::string unreadable;
  // The RFC 9162 leaf hash of the leaf rebuilt from the above (docs/formats.md, Receipt).
  std::optional<crypto::Digest> leaf_hash;
};

BoardBallot read_ballot(const json& item, std::string_view what) {
  if (!item.is_object()) throw Unverifiable(std::string(what) + ": not a JSON object");
  BoardBallot b;
  b.leaf_index = count_member(item, "leafIndex", what);
  b.receipt = string_member(item, "receipt", what);
  const json& token = member(item, "token", what);
  if (!token.is_object()) throw Unverifiable(std::string(what) + ": \"token\" is not an object");
  b.token_message = string_member(token, "message", what);
  b.token_signature = string_member(token, "signature", what);
  return b;
}

void rebuild_leaf(BoardBallot& b, const json& listed_selections, std::string_view election_id) {
  try {
    auto selections = domain::read_selections(listed_selections);
    std::ranges::sort(selections);
    b.leaf_hash = crypto::merkle_leaf_hash(
        domain::ballot_leaf(election_id, selections, b.token_message, b.token_signature));
    b.read = std::move(selections);
  } catch (const Error& e) {
    b.unreadable = first_problem(e);
  } catch (const std::invalid_argument& e) {  // JCS: a string that is not UTF-8
    b.unreadable = e.what();
  }
}

// The ballots with leaf indexes below tree_size, in the order listed. Later ones (the
// log grew while we read) are left out.
std::vector<BoardBallot> fetch_ballots(HttpClient& http, const std::string& id,
                                       std::int64_t tree_size) {
  std::vector<BoardBallot> ballots;
  read_pages(http, "/public/elections/" + id + "/ballots", "ballots", "ballots from leaf", 0,
             tree_size, [&](const json& items, const std::string& what) {
               for (std::size_t i = 0; i < items.size(); ++i) {
                 const std::string item = what + ", item " + std::to_string(i);
                 BoardBallot b = read_ballot(items[i], item);
                 if (b.leaf_index >= tree_size) continue;
                 rebuild_leaf(b, member(items[i], "selections", item), id);
                 ballots.push_back(std::move(b));
               }
             });
  return ballots;
}

// ---- the state file --------------------------------------------------------------------

std::vector<TreeHead> read_state(const std::filesystem::path& path, const std::string& id) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::error_code ec;
    if (!std::filesystem::exists(path, ec) && !ec) return {};  // the first run
    throw Unverifiable("state file " + path.string() + ": cannot be read");
  }
  std::ostringstream text;
  text << in.rdbuf();
  const json state = json::parse(text.str(), nullptr, false);
  const std::string what = "state file " + path.string();
  if (!state.is_object()) throw Unverifiable(what + ": not a JSON object");
  if (string_member(state, "electionId", what) != id) {
    throw Unverifiable(what + ": kept for another election");
  }
  std::vector<TreeHead> heads;
  for (const json& item : array_member(state, "treeHeads", what)) {
    heads.push_back(read_tree_head(item, what));
  }
  return heads;
}

void write_state(const std::filesystem::path& path, const std::string& id,
                 const std::vector<TreeHead>& heads) {
  json entries = json::array();
  for (const auto& head : heads) entries.push_back(to_json(head));
  const std::string text = json{{"electionId", id}, {"treeHeads", std::move(entries)}}.dump(2);
  std::error_code ec;
  if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path(), ec);
  // A reader (or a crash) sees the old file or the new one, never half of one.
  std::filesystem::path temp = path;
  temp += ".tmp-" + std::to_string(::getpid());
  std::ofstream out(temp, std::ios::binary | std::ios::trunc);
  out << text << '\n';
  out.close();
  if (!out) {
    std::filesystem::remove(temp, ec);
    throw Unverifiable("state file " + path.string() + ": cannot be written");
  }
  std::filesystem::rename(temp, path, ec);
  if (ec) {
    std::filesystem::remove(temp, ec);
    throw Unverifiable("state file " + path.string() + ": cannot be replaced");
  }
}

// ---- the checks ------------------------------------------------------------------------

// Everything downloaded, once, before any check runs.
struct Board {
  std::string election_id;
  Fetched<PublicElection> election;
  Fetched<crypto::RsaPublicKey> token_key;
  Fetched<crypto::Ed25519PublicKey> log_key;
  Fetched<std::vector<domain::AuditEvent>> audit;
  AuditFacts facts;
  Fetched<TreeHead> head;
  Fetched<std::vector<TreeHead>> kept;  // the tree heads seen before, from the state file
  Fetched<std::vector<BoardBallot>> ballots;
  Fetched<std::vector<RollVoter>> roll;
  Fetched<std::vector<crypto::Digest>> issued;
  // The tree head is signed by the log key, which is the pinned one if any.
  bool head_signed = false;
  bool closed = false;  // by the election's status or by its audit chain
};

CheckResult pass(std::string_view name, std::string detail) {
  return {std::string(name), CheckStatus::pass, std::move(detail)};
}
CheckResult fail(std::string_view name, std::string detail) {
  return {std::string(name), CheckStatus::fail, std::move(detail)};
}
CheckResult skip(std::string_view name, std::string detail) {
  return {std::string(name), CheckStatus::skipped, std::move(detail)};
}

// Problems of one kind among many ballots: how many, and the first one in full.
struct FirstOf {
  std::size_t count = 0;
  std::string first;

  void add(const std::function<std::string()>& describe) {
    if (count++ == 0) first = describe();
  }
  void report(std::vector<std::string>& problems, std::string_view kind_one,
              std::string_view kind_many) const {
    if (count > 0) problems.push_back(first + " (" + plural(count, kind_one, kind_many) + ")");
  }
};

std::string leaf_name(const BoardBallot& b) {
  return "leaf " + std::to_string(b.leaf_index);
}

CheckResult check_tokens(const Board& board) {
  constexpr auto name = kTokenSignaturesCheck;
  if (!board.token_key) return fail(name, board.token_key.error);
  if (!board.audit)
    return fail(name, "cannot compare the token key with the audit chain: " + board.audit.error);
  const std::string key_id = board.token_key->key_id();
  if (!board.facts.token_key_id) {
    return fail(name, "the audit chain announces no token key (election.created tokenKey.keyId)");
  }
  if (*board.facts.token_key_id != key_id) {
    return fail(name, "the election's token key " + short_hash(key_id) +
                          " is not the one announced on the audit chain, " +
                          short_hash(*board.facts.token_key_id));
  }
  if (!board.ballots) return fail(name, board.ballots.error);

  FirstOf malformed, forged, reused;
  std::map<crypto::Bytes, std::int64_t> first_use;
  for (const auto& b : *board.ballots) {
    auto message = crypto::from_base64url(b.token_message);
    auto signature = crypto::from_base64url(b.token_signature);
    if (!message || message->size() != kTokenMessageBytes || !signature) {
      malformed.add([&] {
        return leaf_name(b) + ": the token is not a base64url 32-byte message and a signature";
      });
      continue;
    }
    if (!board.token_key->verify_pss(*message, *signature)) {
      forged.add([&] { return leaf_name(b) + ": the token's signature does not verify"; });
    }
    const auto used = first_use.emplace(std::move(*message), b.leaf_index);
    if (!used.second) {
      reused.add([&] {
        return leaf_name(b) + " reuses the token of leaf " + std::to_string(used.first->second);
      });
    }
  }
  std::vector<std::string> problems;
  malformed.report(problems, "malformed token", "malformed tokens");
  forged.report(problems, "bad signature", "bad signatures");
  reused.report(problems, "token used twice", "tokens used twice");
  if (!problems.empty()) return fail(name, join(problems));
  return pass(name, plural(board.ballots->size(), "ballot", "ballots") + ", " +
                        plural(first_use.size(), "distinct token", "distinct tokens") +
                        ", signed with token key " + short_hash(key_id) +
                        " as announced on the audit chain");
}

CheckResult check_ballots(const Board& board) {
  constexpr auto name = kBallotsCheck;
  if (!board.election) return fail(name, board.election.error);
  const auto& contests = board.election->contests;
  if (!board.audit) {
    return fail(name, "cannot compare the contests with the audit chain: " + board.audit.error);
  }
  if (!board.facts.definition_contests) {
    return fail(name, "the audit chain holds no definition of the election");
  }
  const auto audited = fetch([&] {
    return contests_of(*board.facts.definition_contests, "the audit chain's definition");
  });
  if (!audited) return fail(name, audited.error);
  if (*audited != contests) {
    return fail(name, "the election's contests are not the ones defined on its audit chain");
  }
  if (!board.ballots) return fail(name, board.ballots.error);

  FirstOf invalid, mismatched;
  for (const auto& b : *board.ballots) {
    if (!b.read) {
      invalid.add([&] { return leaf_name(b) + ": " + b.unreadable; });
    } else {
      try {
        domain::check_selections(*b.read, contests);
      } catch (const Error& e) {
        invalid.add([&] { return leaf_name(b) + ": " + first_problem(e); });
      }
    }
    if (b.leaf_hash && b.receipt != crypto::to_hex(*b.leaf_hash)) {
      mismatched.add([&] {
        return leaf_name(b) + ": the receipt " + short_hash(b.receipt) +
               " is not the hash of the ballot's leaf, " + short_hash(crypto::to_hex(*b.leaf_hash));
      });
    }
  }
  std::vector<std::string> problems;
  invalid.report(problems, "invalid ballot", "invalid ballots");
  mismatched.report(problems, "wrong receipt", "wrong receipts");
  if (!problems.empty()) return fail(name, join(problems));
  return pass(name, plural(board.ballots->size(), "ballot", "ballots") + " valid for " +
                        plural(contests.size(), "contest", "contests") +
                        ", every receipt the hash of its leaf");
}

// The leaf hashes of leaves 0..tree_size-1, from the rebuilt leaves; a ballot that could
// not be rebuilt (the ballots check says why) counts with its listed receipt.
std::vector<crypto::Digest> leaf_hashes(const std::vector<BoardBallot>& ballots,
                                        std::vector<std::string>& problems) {
  std::vector<crypto::Digest> hashes;
  hashes.reserve(ballots.size());
  for (std::size_t i = 0; i < ballots.size(); ++i) {
    const BoardBallot& b = ballots[i];
    if (b.leaf_index != static_cast<std::int64_t>(i)) {
      problems.push_back("leaf " + std::to_string(i) + " is missing: the board lists leaf " +
                         std::to_string(b.leaf_index) + " in its place");
      return {};
    }
    if (b.leaf_hash) {
      hashes.push_back(*b.leaf_hash);
    } else if (auto receipt = parse_digest(b.receipt)) {
      hashes.push_back(*receipt);
    } else {
      problems.push_back(leaf_name(b) + " has neither a well-formed ballot nor a receipt");
      return {};
    }
  }
  return hashes;
}

CheckResult check_tree_head(const Board& board, const std::optional<std::string>& pinned) {
  constexpr auto name = kTreeHeadCheck;
  if (!board.head) return fail(name, board.head.error);
  if (!board.log_key) return fail(name, board.log_key.error);
  const TreeHead& head = *board.head;
  const std::string log_key_id = board.log_key->key_id();

  std::vector<std::string> problems;
  if (pinned && *pinned != log_key_id) {
    problems.push_back("the log key " + short_hash(log_key_id) + " is not the pinned one, " +
                       short_hash(*pinned));
  }
  if (head.log_key_id != log_key_id) {
    problems.push_back("the tree head names log key " + short_hash(head.log_key_id) +
                       ", the server's is " + short_hash(log_key_id));
  }
  if (!signature_verifies(head, board.election_id, *board.log_key)) {
    problems.push_back("the signature does not verify under the log key");
  }
  if (!board.ballots) {
    problems.push_back(board.ballots.error);
  } else if (static_cast<std::int64_t>(board.ballots->size()) > head.tree_size) {
    problems.push_back("the board lists " + std::to_string(board.ballots->size()) +
                       " ballots below leaf " + std::to_string(head.tree_size));
  } else {
    std::vector<crypto::Digest> hashes = leaf_hashes(*board.ballots, problems);
    if (problems.empty() && static_cast<std::int64_t>(hashes.size()) < head.tree_size) {
      problems.push_back("leaf " + std::to_string(hashes.size()) + " is missing: the board lists " +
                         plural(hashes.size(), "leaf", "leaves") + " of " +
                         std::to_string(head.tree_size));
    } else if (problems.empty()) {
      const std::string root = crypto::to_hex(crypto::merkle_root(hashes));
      if (root != head.root_hash) {
        problems.push_back("the root of the " + plural(hashes.size(), "leaf", "leaves") + " is " +
                           short_hash(root) + ", the tree head says " + short_hash(head.root_hash));
      }
    }
  }
  std::string final_note;
  if (board.closed) {
    const auto& published = board.facts.final_tree_head;
    if (!board.audit) {
      problems.push_back("cannot compare with the final tree head on the audit chain: " +
                         board.audit.error);
    } else if (!published) {
      problems.push_back("the election is closed, but its audit chain has no tree_head.published");
    } else {
      const json ours = to_json(head);
      for (const auto& [member_name, value] : ours.items()) {
        if (member_or_null(*published, member_name.c_str()) != value) {
          problems.push_back("it is not the final tree head on the audit chain (" + member_name +
                             " differs)");
          break;
        }
      }
      final_note = ", the final one on the audit chain";
    }
  }
  if (!problems.empty()) return fail(name, join(problems));
  return pass(name, "size " + std::to_string(head.tree_size) + ", root " +
                        short_hash(head.root_hash) + " recomputed from the ballots" + final_note +
                        ", signed with log key " + log_key_id +
                        (pinned ? " (pinned)" : " (not pinned: see --log-key-id)"));
}

CheckResult check_consistency(HttpClient& http, const Board& board,
                              const std::filesystem::path& state_file) {
  constexpr auto name = kConsistencyCheck;
  if (!board.head) return fail(name, board.head.error);
  const TreeHead& newest = *board.head;
  const auto& kept = board.kept;
  if (!kept) return fail(name, kept.error + "; left as it is");

  std::vector<std::string> problems;
  std::size_t proofs = 0;
  for (const TreeHead& earlier : *kept) {
    const std::string seen =
        "the tree head of size " + std::to_string(earlier.tree_size) + " from " + earlier.timestamp;
    if (earlier.tree_size > newest.tree_size) {
      problems.push_back("the log shrank: " + seen + ", now size " +
                         std::to_string(newest.tree_size));
    } else if (earlier.tree_size == newest.tree_size) {
      if (earlier.root != newest.root) {
        problems.push_back("fork: " + seen + " had root " + short_hash(earlier.root_hash) +
                           ", now " + short_hash(newest.root_hash));
      }
    } else if (earlier.tree_size == 0) {
      if (earlier.root != crypto::merkle_root({})) {
        problems.push_back(seen + " has a root other than the empty tree's");
      }
    } else {
      const std::string what = "consistency proof from size " + std::to_string(earlier.tree_size) +
                               " to " + std::to_string(newest.tree_size);
      auto proof = fetch([&] {
        const json body =
            get_json(http,
                     "/public/elections/" + board.election_id +
                         "/proofs/consistency?first=" + std::to_string(earlier.tree_size) +
                         "&second=" + std::to_string(newest.tree_size),
                     what);
        if (count_member(body, "first", what) != earlier.tree_size ||
            count_member(body, "second", what) != newest.tree_size) {
          throw Unverifiable(what + ": for other sizes");
        }
        return digests_member(body, "proof", what);
      });
      ++proofs;
      if (!proof) {
        problems.push_back(proof.error);
      } else if (!crypto::verify_consistency(static_cast<std::uint64_t>(earlier.tree_size),
                                             static_cast<std::uint64_t>(newest.tree_size),
                                             earlier.root, newest.root, *proof)) {
        problems.push_back("fork: " + seen + " is not a prefix of the newest (size " +
                           std::to_string(newest.tree_size) + "): its consistency proof fails");
      }
    }
  }
  if (!problems.empty()) return fail(name, join(problems) + "; state file left as it is");

  const std::string earlier_heads =
      kept->empty() ? std::string("no tree head seen before (first run)")
                    : "consistent with " + plural(kept->size(), "tree head", "tree heads") +
                          " seen before (" + plural(proofs, "proof", "proofs") + ")";
  if (!board.head_signed) {
    return pass(name, earlier_heads +
                          "; the newest is not kept: it is not signed with the log key (see the "
                          "tree head check)");
  }
  std::vector<TreeHead> heads = *kept;
  if (std::ranges::find(heads, newest.tree_size, &TreeHead::tree_size) == heads.end()) {
    heads.push_back(newest);
    std::ranges::sort(heads, {}, &TreeHead::tree_size);
    try {
      write_state(state_file, board.election_id, heads);
    } catch (const Unverifiable& e) {
      return fail(name, earlier_heads + "; " + e.what());
    }
  }
  return pass(name, earlier_heads + "; size " + std::to_string(newest.tree_size) + " kept in " +
                        state_file.string());
}

// Each signed tree head pins the audit chain up to the event it names (docs/formats.md,
// Signed tree heads): the chain served now must still hold that event with that hash.
// The newest head was read after the chain, which may have grown in between; a head seen
// on an earlier run names an event the chain must have.
std::optional<std::string> audit_pin_problem(const std::vector<domain::AuditEvent>& events,
                                             const TreeHead& head, bool newest) {
  const auto& pin = *head.audit;
  const std::string seen =
      "the tree head of size " + std::to_string(head.tree_size) + " from " + head.timestamp;
  if (pin.seq == 0) {
    if (pin.head == std::string(64, '0')) return std::nullopt;
    return seen + " pins an empty audit chain with a hash other than zeros";
  }
  // The chain is unbroken (checked first), so seq n is the n-th event.
  if (pin.seq > events.size()) {
    if (newest) return std::nullopt;
    return "the audit chain lost events: " + seen + " pins seq " + std::to_string(pin.seq) +
           ", the chain now ends at seq " + std::to_string(events.size());
  }
  const auto& event = events[pin.seq - 1];
  if (event.hash == pin.head) return std::nullopt;
  return "the audit history was rewritten after " + seen + ": it pins seq " +
         std::to_string(pin.seq) + " with hash " + short_hash(pin.head) + ", the chain has " +
         short_hash(event.hash);
}

CheckResult check_audit_chain(const Board& board) {
  constexpr auto name = kAuditChainCheck;
  if (!board.audit) return fail(name, board.audit.error);
  const auto& events = *board.audit;
  if (events.empty()) return fail(name, "the audit chain is empty");
  if (auto broken = domain::find_chain_break(events)) {
    return fail(name, "the chain breaks at seq " + std::to_string(*broken) + " (of " +
                          plural(events.size(), "event", "events") + ")");
  }
  if (board.election && board.election->closed && !board.facts.closed) {
    return fail(name, "the election is closed, but its audit chain has no election.closed");
  }
  // Only signed heads pin anything: those kept were signed when they were kept.
  std::vector<std::pair<const TreeHead*, bool>> heads;
  if (board.kept) {
    for (const auto& head : *board.kept) heads.emplace_back(&head, false);
  }
  if (board.head && board.head_signed) heads.emplace_back(&*board.head, true);
  std::vector<std::string> problems;
  std::size_t pins = 0;
  for (const auto& [head, newest] : heads) {
    if (!head->audit) continue;
    ++pins;
    if (auto problem = audit_pin_problem(events, *head, newest)) problems.push_back(*problem);
  }
  if (!problems.empty()) return fail(name, join(problems));
  return pass(name, plural(events.size(), "event", "events") + ", seq 1 to " +
                        std::to_string(events.back().seq) + ", unbroken; head " +
                        short_hash(events.back().hash) +
                        "; signed tree heads pinning it: " + std::to_string(pins));
}

// The roll served is the one the audit chain committed to, commitment by commitment: the
// k-th covers the voters whose commitment is at most k, so each extends the one before
// (docs/formats.md, Roll commitments).
CheckResult check_roll(const Board& board) {
  constexpr auto name = kRollCheck;
  if (!board.audit) return fail(name, "cannot compare with the audit chain: " + board.audit.error);
  const auto& chain = board.facts.roll_commitments;
  if (chain.empty()) {
    return fail(name, "the audit chain holds no roll commitment (election.opened roll)");
  }
  std::vector<domain::RollCommitment> commitments;
  for (const json& j : chain) {
    auto commitment = domain::roll_commitment_from_json(j);
    if (!commitment) {
      return fail(name, "roll commitment " + std::to_string(commitments.size() + 1) +
                            " on the audit chain is not {\"count\", \"root\"}");
    }
    commitments.push_back(*commitment);
  }
  if (!board.roll) return fail(name, board.roll.error);
  const auto& roll = *board.roll;
  std::set<crypto::Digest> seen;
  for (std::size_t i = 0; i < roll.size(); ++i) {
    const auto& v = roll[i];
    const std::string which =
        "roll entry " + std::to_string(i) + " (" + short_hash(crypto::to_hex(v.voter_hash)) + ")";
    if (v.commitment < 1 || v.commitment > static_cast<std::int64_t>(commitments.size())) {
      return fail(name, which + " names commitment " + std::to_string(v.commitment) +
                            ", the audit chain holds " + std::to_string(commitments.size()));
    }
    if (i > 0 && std::tie(roll[i - 1].commitment, roll[i - 1].voter_hash) >=
                     std::tie(v.commitment, v.voter_hash)) {
      return fail(name, which + " is out of order");
    }
    if (!seen.insert(v.voter_hash).second) return fail(name, which + " is on the roll twice");
  }
  for (std::size_t k = 1; k <= commitments.size(); ++k) {
    std::vector<crypto::Digest> covered;
    for (const auto& v : roll) {
      if (v.commitment <= static_cast<std::int64_t>(k)) covered.push_back(v.voter_hash);
    }
    const auto recomputed = domain::commit_roll(std::move(covered));
    const auto& committed = commitments[k - 1];
    if (recomputed != committed) {
      return fail(name, "roll commitment " + std::to_string(k) + " on the audit chain is " +
                            std::to_string(committed.count) + " voters, root " +
                            short_hash(crypto::to_hex(committed.root)) +
                            "; the roll served gives " + std::to_string(recomputed.count) +
                            ", root " + short_hash(crypto::to_hex(recomputed.root)));
    }
  }
  return pass(name, plural(roll.size(), "voter", "voters") + ", as committed on the audit chain (" +
                        plural(commitments.size(), "commitment", "commitments") + ", root " +
                        short_hash(crypto::to_hex(commitments.back().root)) + ")");
}

// Every voter hash issued a token is on the roll, and ballots <= issued <= roll; once
// closed, the list holds every token the close counted (docs/security.md, Issuance
// transparency).
CheckResult check_issued(const Board& board) {
  constexpr auto name = kIssuedCheck;
  if (!board.issued) return fail(name, board.issued.error);
  if (!board.roll) return fail(name, "cannot compare with the roll: " + board.roll.error);
  const auto& issued = *board.issued;
  std::set<crypto::Digest> roll;
  for (const auto& v : *board.roll) roll.insert(v.voter_hash);
  std::vector<std::string> problems;
  FirstOf unlisted;
  for (std::size_t i = 0; i < issued.size(); ++i) {
    if (i > 0 && issued[i - 1] >= issued[i]) {
      problems.push_back("voter hash " + std::to_string(i) + " of the list is out of order");
      break;
    }
    if (!roll.contains(issued[i])) {
      unlisted.add([&] {
        return "voter hash " + short_hash(crypto::to_hex(issued[i])) +
               " was issued a token but is not on the roll";
      });
    }
  }
  unlisted.report(problems, "voter hash", "voter hashes");
  if (issued.size() > roll.size()) {
    problems.push_back(plural(issued.size(), "token", "tokens") + " issued for a roll of " +
                       plural(roll.size(), "voter", "voters"));
  }
  if (board.head && board.head->tree_size > static_cast<std::int64_t>(issued.size())) {
    problems.push_back(
        plural(static_cast<std::size_t>(board.head->tree_size), "ballot", "ballots") +
        " on the board, but only " + std::to_string(issued.size()) +
        " voter hashes issued a token");
  }
  std::string closed_note;
  if (board.facts.closed) {
    const auto& counted = board.facts.tokens_issued;
    if (!counted || !counted->is_number_unsigned()) {
      problems.push_back("the audit chain's election.closed holds no tokensIssued");
    } else if (counted->get<std::size_t>() != issued.size()) {
      problems.push_back("the close counted " + std::to_string(counted->get<std::size_t>()) +
                         " tokens issued, the list holds " + std::to_string(issued.size()));
    } else {
      closed_note = ", every token the close counted";
    }
  }
  if (!problems.empty()) return fail(name, join(problems));
  const std::size_t ballots = board.head ? static_cast<std::size_t>(board.head->tree_size) : 0;
  return pass(name, plural(issued.size(), "voter hash", "voter hashes") +
                        " issued a token, all on the roll" + closed_note + ": " +
                        plural(ballots, "ballot", "ballots") +
                        " <= " + std::to_string(issued.size()) +
                        " issued <= " + std::to_string(roll.size()) + " on the roll");
}

// A voter's own question: was a token issued in my name? (docs/security.md, Issuance
// transparency). Only the voter knows whether they asked for one.
CheckResult check_voter(const Board& board, const std::optional<crypto::Digest>& voter_hash) {
  constexpr auto name = kVoterCheck;
  if (!voter_hash) return skip(name, "no --voter-hash given");
  if (!board.roll) return fail(name, "cannot look for it on the roll: " + board.roll.error);
  const std::string hash = short_hash(crypto::to_hex(*voter_hash));
  auto on_roll = std::ranges::find(*board.roll, *voter_hash, &RollVoter::voter_hash);
  if (on_roll == board.roll->end()) return fail(name, "voter hash " + hash + " is not on the roll");
  const std::string where = "voter hash " + hash + " is on the roll (commitment " +
                            std::to_string(on_roll->commitment) + ")";
  if (!board.issued)
    return fail(name, where + "; cannot read the issued list: " + board.issued.error);
  if (std::ranges::binary_search(*board.issued, *voter_hash)) {
    return pass(name, where +
                          "; a token WAS issued in this name: if you did not ask for one, "
                          "someone else did");
  }
  return pass(name, where + "; no token was issued in this name (as of the last published set)");
}

domain::Tally recount(const std::vector<BoardBallot>& ballots) {
  domain::Tally tally;
  for (const auto& b : ballots) {
    ++tally.ballots_cast;
    if (!b.read) continue;
    std::set<std::string_view> contests;
    for (const auto& s : *b.read) {
      ++tally.votes[{s.contest_id, s.option_id}];
      contests.insert(s.contest_id);
    }
    for (auto contest : contests) ++tally.ballots[std::string(contest)];
  }
  return tally;
}

// The first member in which published results differ from the recount, for a reader.
std::string first_difference(const json& published, const json& recounted) {
  if (!published.is_object()) return "they are not a JSON object";
  for (const char* top : {"electionId", "status", "final", "ballotsCast"}) {
    const json value = member_or_null(published, top);
    if (value != recounted[top]) {
      return std::string(top) + " is " + value.dump() + ", recounted " + recounted[top].dump();
    }
  }
  const json contests = member_or_null(published, "contests");
  if (!contests.is_array() || contests.size() != recounted["contests"].size()) {
    return "they list other contests";
  }
  for (std::size_t i = 0; i < contests.size(); ++i) {
    const json& ours = recounted["contests"][i];
    const std::string contest_id = ours["contestId"];
    const json& theirs = contests[i];
    if (member_or_null(theirs, "contestId") != ours["contestId"]) {
      return "contest " + std::to_string(i) + " is not " + contest_id;
    }
    if (member_or_null(theirs, "ballots") != ours["ballots"]) {
      return contest_id + " has " + member_or_null(theirs, "ballots").dump() +
             " ballots, recounted " + ours["ballots"].dump();
    }
    const json totals = member_or_null(theirs, "totals");
    if (!totals.is_array() || totals.size() != ours["totals"].size()) {
      return contest_id + " lists other options";
    }
    for (std::size_t j = 0; j < totals.size(); ++j) {
      const json& option = ours["totals"][j];
      if (totals[j] != option) {
        return contest_id + "/" + option["optionId"].get<std::string>() + " is published as " +
               totals[j].dump() + ", recounted " + option["votes"].dump() + " votes";
      }
    }
  }
  return "they differ in a member the recount does not have";
}

CheckResult check_recount(HttpClient& http, const Board& board) {
  constexpr auto name = kRecountCheck;
  if (!board.election) return fail(name, board.election.error);
  if (!board.ballots) return fail(name, board.ballots.error);
  constexpr std::string_view what = "results";
  auto reply = fetch(
      [&] { return get_reply(http, "/public/elections/" + board.election_id + "/results", what); });
  if (!reply) return fail(name, reply.error);
  if (reply->status == 409 && problem_code(*reply) == "results_not_available" && !board.closed) {
    return skip(name, "the results are not published before the election closes");
  }
  auto published = fetch([&] { return json_object(*reply, what); });
  if (!published) return fail(name, published.error);

  domain::Election election;
  election.id = board.election_id;
  election.status = board.closed ? domain::ElectionStatus::closed : domain::ElectionStatus::open;
  election.definition.contests = board.election->contests;
  const domain::Tally tally = recount(*board.ballots);
  const json recounted = domain::results_to_json(election, tally);
  const std::string counted = "recounted " + plural(board.ballots->size(), "ballot", "ballots");

  if (!board.closed) {
    // Live results count ballots not yet sequenced, and the log may have grown since the
    // tree head: only a count of the same ballots can be compared.
    const json cast = member_or_null(*published, "ballotsCast");
    if (cast != recounted["ballotsCast"]) {
      return skip(name, "the live results count " + cast.dump() + " ballots, the tree head " +
                            std::to_string(board.ballots->size()) +
                            ": run again once the election is closed");
    }
  }
  if (*published != recounted) {
    return fail(name, "the published results differ from the " + counted + ": " +
                          first_difference(*published, recounted));
  }
  if (!board.closed) return pass(name, counted + ": the live results match");
  if (!board.audit) {
    return fail(name, "cannot compare with the results on the audit chain: " + board.audit.error);
  }
  if (!board.facts.results) {
    return fail(name, "the election is closed, but its audit chain has no results.published");
  }
  if (*board.facts.results != recounted) {
    return fail(name, "the results on the audit chain differ from the " + counted + ": " +
                          first_difference(*board.facts.results, recounted));
  }
  return pass(name, counted + ": the final results and those on the audit chain match");
}

CheckResult check_receipt(HttpClient& http, const Board& board,
                          const std::optional<std::string>& receipt) {
  constexpr auto name = kReceiptCheck;
  if (!receipt) return skip(name, "no --receipt given");
  if (!board.head) return fail(name, board.head.error);
  const TreeHead& head = *board.head;
  const crypto::Digest leaf_hash = *parse_digest(*receipt);
  const std::string what = "inclusion proof";
  auto proof = fetch([&] {
    const json body = get_json(http,
                               "/public/elections/" + board.election_id +
                                   "/proofs/inclusion?receipt=" + *receipt +
                                   "&treeSize=" + std::to_string(head.tree_size),
                               what);
    if (count_member(body, "treeSize", what) != head.tree_size) {
      throw Unverifiable(what + ": for another tree size");
    }
    return std::pair{count_member(body, "leafIndex", what),
                     digests_member(body, "auditPath", what)};
  });
  if (!proof) {
    return fail(name,
                proof.error + " (a ballot cast in the last seconds may not be in the log yet)");
  }
  const std::int64_t leaf_index = proof->first;
  const std::vector<crypto::Digest>& path = proof->second;
  if (!crypto::verify_inclusion(leaf_hash, static_cast<std::uint64_t>(leaf_index),
                                static_cast<std::uint64_t>(head.tree_size), path, head.root)) {
    return fail(name, "the inclusion proof for leaf " + std::to_string(leaf_index) + " of " +
                          std::to_string(head.tree_size) +
                          " does not lead to the tree head's root");
  }
  if (!board.ballots) return fail(name, board.ballots.error);
  auto listed = std::ranges::find_if(*board.ballots, [&](const BoardBallot& b) {
    return b.leaf_index == leaf_index && b.leaf_hash == leaf_hash;
  });
  if (listed == board.ballots->end()) {
    return fail(name, "leaf " + std::to_string(leaf_index) +
                          " is in the log, but the board lists no ballot with this receipt there");
  }
  return pass(name, short_hash(*receipt) + " is leaf " + std::to_string(leaf_index) + " of " +
                        std::to_string(head.tree_size) + ": listed, and its inclusion proof (" +
                        plural(path.size(), "hash", "hashes") + ") leads to the signed root");
}

// A check that throws (it should not) fails instead of taking the others with it.
CheckResult guarded(std::string_view name, const std::function<CheckResult()>& check) {
  try {
    return check();
  } catch (const std::exception& e) {
    return fail(name, std::string("the check stopped: ") + e.what());
  }
}

std::optional<std::string> normalized_digest(const std::optional<std::string>& hex,
                                             const char* what) {
  if (!hex) return std::nullopt;
  std::string lower = lowercase(*hex);
  if (!parse_digest(lower))
    throw std::invalid_argument(std::string(what) + " is not 64 hex digits");
  return lower;
}

}  // namespace

std::string_view to_string(CheckStatus status) {
  switch (status) {
    case CheckStatus::pass:
      return "PASS";
    case CheckStatus::fail:
      return "FAIL";
    case CheckStatus::skipped:
      return "SKIP";
  }
  return "FAIL";
}

std::optional<std::filesystem::path> default_state_file(std::string_view election_id) {
  if (!domain::is_uuid(election_id)) return std::nullopt;
  const std::string file = "verify-" + lowercase(election_id) + ".json";
  // XDG Base Directory Specification: a relative path in the variable is to be ignored.
  const char* state_home = std::getenv("XDG_STATE_HOME");
  if (state_home && std::filesystem::path(state_home).is_absolute()) {
    return std::filesystem::path(state_home) / "observernet" / file;
  }
  const char* home = std::getenv("HOME");
  if (home && std::filesystem::path(home).is_absolute()) {
    return std::filesystem::path(home) / ".local" / "state" / "observernet" / file;
  }
  return std::nullopt;
}

// The roll and the issued list, read after the audit chain. An import into the open
// election between the chain's read and the roll's puts voters on the roll under a
// commitment the chain read does not hold yet. The chain is append-only: its events
// since are read, and if they are imports alone, they join the chain read and the roll
// and issued list are read again; a few times at most, while imports keep coming.
// Anything else since (a close) leaves the board as it was read, to be checked as it is.
void read_roll_and_issued(HttpClient& http, Board& board) {
  constexpr int kMaxRereads = 3;
  for (int round = 0;; ++round) {
    board.roll = fetch([&] { return fetch_roll(http, board.election_id); });
    board.issued = fetch([&] { return fetch_issued(http, board.election_id); });
    if (round == kMaxRereads || !board.audit || board.audit->empty() || !board.roll) return;
    const auto held = static_cast<std::int64_t>(board.facts.roll_commitments.size());
    if (std::ranges::none_of(*board.roll,
                             [&](const RollVoter& v) { return v.commitment > held; })) {
      return;
    }
    const auto newer =
        fetch([&] { return fetch_audit(http, board.election_id, board.audit->back().seq + 1); });
    if (!newer || newer->empty() ||
        !std::ranges::all_of(*newer, [](const auto& e) { return e.type == "voters.imported"; })) {
      return;
    }
    board.audit.value->insert(board.audit.value->end(), newer->begin(), newer->end());
    board.facts = audit_facts(*board.audit);
  }
}

std::vector<CheckResult> verify_election(HttpClient& http, const VerifyRequest& request) {
  if (!domain::is_uuid(request.election_id)) {
    throw std::invalid_argument("the election id is not a UUID");
  }
  const auto receipt = normalized_digest(request.receipt, "the receipt");
  const auto pinned = normalized_digest(request.log_key_id, "the log key id");
  const auto voter_hash_hex = normalized_digest(request.voter_hash, "the voter hash");
  std::optional<crypto::Digest> voter_hash;
  if (voter_hash_hex) voter_hash = crypto::digest_from_hex(*voter_hash_hex);

  // The server writes UUIDs in lowercase (docs/formats.md, Encodings), and leaves and tree heads
  // hold the id as written.
  Board board;
  board.election_id = lowercase(request.election_id);
  const std::string& id = board.election_id;
  board.election = fetch([&] { return fetch_election(http, id); });
  board.token_key = fetch([&] {
    try {
      return fetch_token_key(http, id);
    } catch (const VoteError& e) {
      throw Unverifiable(std::string("token key: ") + e.what());
    }
  });
  board.log_key = fetch([&] { return fetch_log_key(http); });
  // After the election: a status of closed seen there must be on the chain by now.
  board.audit = fetch([&] { return fetch_audit(http, id); });
  if (board.audit) board.facts = audit_facts(*board.audit);
  board.closed = board.facts.closed || (board.election && board.election->closed);
  // After the audit chain: once it records the close, the tree head is the final one.
  board.head = fetch([&] { return fetch_tree_head(http, id); });
  if (board.head) {
    board.ballots = fetch([&] { return fetch_ballots(http, id, board.head->tree_size); });
    board.head_signed = board.log_key && (!pinned || *pinned == board.log_key->key_id()) &&
                        board.head->log_key_id == board.log_key->key_id() &&
                        signature_verifies(*board.head, id, *board.log_key);
  } else {
    board.ballots.error = "no ballots read without a tree head (" + board.head.error + ")";
  }
  board.kept = fetch([&] { return read_state(request.state_file, id); });
  // After the tree head: the issued list only grows, and holds every ballot's token by then.
  read_roll_and_issued(http, board);

  return {
      guarded(kTokenSignaturesCheck, [&] { return check_tokens(board); }),
      guarded(kBallotsCheck, [&] { return check_ballots(board); }),
      guarded(kTreeHeadCheck, [&] { return check_tree_head(board, pinned); }),
      guarded(kConsistencyCheck,
              [&] { return check_consistency(http, board, request.state_file); }),
      guarded(kAuditChainCheck, [&] { return check_audit_chain(board); }),
      guarded(kRollCheck, [&] { return check_roll(board); }),
      guarded(kIssuedCheck, [&] { return check_issued(board); }),
      guarded(kVoterCheck, [&] { return check_voter(board, voter_hash); }),
      guarded(kRecountCheck, [&] { return check_recount(http, board); }),
      guarded(kReceiptCheck, [&] { return check_receipt(http, board, receipt); }),
  };
}

std::string announced_token_key_id(HttpClient& http, const std::string& election_id) {
  const AuditFacts facts = audit_facts(fetch_audit(http, election_id));
  if (!facts.token_key_id) {
    throw Unverifiable("the audit chain announces no token key (election.created tokenKey.keyId)");
  }
  return *facts.token_key_id;
}

std::string format_check(const CheckResult& result) {
  std::string line =
      std::string(to_string(result.status)) + "  " + result.name + ": " + result.detail;
  // Details quote what the server sent: it must not break the one-line format.
  std::ranges::replace_if(
      line, [](char c) { return (c >= 0 && c < 0x20) || c == 0x7f; }, ' ');
  return line;
}

bool all_passed(std::span<const CheckResult> results) {
  return std::ranges::none_of(results,
                              [](const CheckResult& r) { return r.status == CheckStatus::fail; });
}

std::string format_verdict(std::span<const CheckResult> results) {
  auto count = [&](CheckStatus status) {
    return std::ranges::count(results, status, &CheckResult::status);
  };
  std::vector<std::string> counts;
  if (auto n = count(CheckStatus::fail)) counts.push_back(std::to_string(n) + " failed");
  counts.push_back(std::to_string(count(CheckStatus::pass)) + " passed");
  if (auto n = count(CheckStatus::skipped)) counts.push_back(std::to_string(n) + " skipped");
  return std::string("verdict: ") + (all_passed(results) ? "PASS" : "FAIL") + " (" +
         join(counts, ", ") + ")";
}

}  // namespace observernet::client
