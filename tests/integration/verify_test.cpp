// `observernet verify` (docs/formats.md, What a verifier checks) against a scripted bulletin board,
// built here with the real pure functions (blind-signed tokens, ballot leaves, RFC 9162 trees,
// Ed25519 tree heads, the audit chain, results). Honest, the board passes every check; each way of
// tampering with it fails the check meant to catch it, and only the checks it touches.
// The real server's routes are exercised end to end by their own tests.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>
#include <utility>

#include "observernet/client/verify.hpp"
#include "observernet/crypto/blind_rsa.hpp"
#include "observernet/crypto/ed25519.hpp"
#include "observernet/crypto/hash.hpp"
#include "observernet/crypto/jcs.hpp"
#include "observernet/crypto/merkle.hpp"
#include "observernet/domain/audit.hpp"
#include "observernet/domain/ballot.hpp"
#include "observernet/domain/election.hpp"
#include "observernet/domain/roll.hpp"
#include "support.hpp"

namespace observernet::testing {
namespace {

using namespace std::chrono_literals;
using client::CheckResult;
using client::CheckStatus;
using domain::Selection;
using nlohmann::json;

constexpr const char* kElection = "7c1d2e3f-4a5b-4c6d-8e9f-0a1b2c3d4e5f";
constexpr const char* kTime = "2026-11-26T18:00:00.000Z";

const crypto::RsaPrivateKey& token_key() {
  static const auto key = crypto::RsaPrivateKey::generate(2048);
  return key;
}

const crypto::Ed25519PrivateKey& log_key() {
  static const auto key = [] {
    std::array<unsigned char, crypto::kEd25519SeedLength> seed;
    seed.fill(7);
    return crypto::Ed25519PrivateKey::from_seed(seed);
  }();
  return key;
}

struct Token {
  std::string message;
  std::string signature;
};

// Tokens as voters get them (RFC 9474: blind, sign, finalize), minted once for all tests.
const std::vector<Token>& tokens() {
  static const std::vector<Token> all = [] {
    std::vector<Token> out;
    const auto& key = token_key();
    for (int i = 0; i < 8; ++i) {
      std::array<unsigned char, 32> msg;
      crypto::random_bytes(msg);
      auto blinded = crypto::blind(key.public_key(), msg, crypto::kSha384PssDeterministic);
      auto blind_sig = std::get<crypto::Bytes>(key.blind_sign(blinded.blinded_msg));
      auto sig = crypto::finalize(key.public_key(), msg, blind_sig, blinded.inv,
                                  crypto::kSha384PssDeterministic);
      out.push_back({crypto::to_base64url(msg), crypto::to_base64url(sig.value())});
    }
    return out;
  }();
  return all;
}

std::vector<domain::Contest> contests() {
  return {{"mayor", "Mayor", 1, 1, {{"alice", "Alice"}, {"bob", "Bob"}}},
          {"board", "Board", 1, 2, {{"carol", "Carol"}, {"dan", "Dan"}, {"erin", "Erin"}}}};
}

struct Cast {
  Token token;
  std::vector<Selection> selections;
};

std::vector<Cast> honest_casts() {
  const auto& t = tokens();
  return {
      {t[0], {{"mayor", "alice"}, {"board", "carol"}}},
      {t[1], {{"mayor", "alice"}, {"board", "dan"}, {"board", "carol"}}},
      {t[2], {{"mayor", "bob"}, {"board", "erin"}}},
      {t[3], {{"mayor", "alice"}, {"board", "dan"}}},
      {t[4], {{"board", "erin"}, {"mayor", "bob"}, {"board", "carol"}}},
      {t[5], {{"mayor", "alice"}, {"board", "erin"}}},
  };
}

// The count of honest_casts(), by hand. The variants below keep it: a ballot that
// reuses a token, carries a forged one or selects an unknown option still counts so.
domain::Tally honest_tally() {
  domain::Tally t;
  t.votes = {{{"mayor", "alice"}, 4},
             {{"mayor", "bob"}, 2},
             {{"board", "carol"}, 3},
             {{"board", "dan"}, 2},
             {{"board", "erin"}, 3}};
  t.ballots = {{"mayor", 6}, {"board", 6}};
  t.ballots_cast = 6;
  return t;
}

// What the fake server publishes. Tests tamper with it directly.
struct Board {
  domain::Election election;
  std::vector<json> ballots;           // the ballots route's items, in leaf order
  std::vector<crypto::Digest> leaves;  // the log's leaf hashes, for proofs
  json tree_head;
  std::vector<domain::AuditEvent> audit;
  std::optional<json> results;             // nullopt: 409 results_not_available
  std::vector<crypto::Digest> roll;        // the voter hashes, ascending, all in commitment 1
  std::vector<crypto::Digest> roll_later;  // imported after the opening: commitment 2
  // Run once, as the server answers the last page of a full read of the audit chain: what
  // changes between that read and the next ones.
  std::function<void(Board&)> after_audit_read;
  std::vector<crypto::Digest> issued;  // those issued a token, ascending
  std::size_t page_size = 4;           // ballots, audit events, voters per page, at most
  bool corrupt_inclusion_proof = false;
  std::map<std::string, FakeAnswer> overrides;  // by route: "tree-head", "ballots", ...
};

void append_audit(Board& board, std::string type, json payload) {
  const std::int64_t seq = board.audit.empty() ? 0 : board.audit.back().seq;
  const std::string prev =
      board.audit.empty() ? std::string(domain::kGenesisHash) : board.audit.back().hash;
  board.audit.push_back(
      domain::next_audit_event(seq, prev, std::move(type), std::move(payload), kTime));
}

// Signed as the server signs, pinning the audit chain when `audit` is given.
json signed_tree_head(std::int64_t size, const crypto::Digest& root,
                      const crypto::Ed25519PrivateKey& key = log_key(),
                      const std::string& timestamp = kTime,
                      const domain::AuditEvent* audit = nullptr) {
  json head = {{"electionId", kElection},
               {"treeSize", size},
               {"rootHash", crypto::to_hex(root)},
               {"timestamp", timestamp}};
  if (audit) {
    head["auditSeq"] = audit->seq;
    head["auditHead"] = audit->hash;
  }
  const std::string text = crypto::canonicalize(head);
  head["signature"] = crypto::to_base64url(key.sign(crypto::as_bytes(text)));
  head["logKeyId"] = key.public_key().key_id();
  return head;
}

crypto::Digest root_of(const std::vector<crypto::Digest>& leaves) {
  crypto::MerkleTree tree;
  for (const auto& leaf : leaves) tree.append(leaf);
  return tree.root(tree.size());
}

enum class Phase { open, closed };

// An election with `casts` sequenced, signed and, when closed, its final tree head and
// results on the audit chain.
Board make_board(const std::vector<Cast>& casts, Phase phase = Phase::closed,
                 domain::ResultsVisibility visibility = domain::ResultsVisibility::after_close) {
  Board board;
  board.election.id = kElection;
  board.election.definition.title = "Town vote";
  board.election.definition.results_visibility = visibility;
  board.election.definition.contests = contests();
  json created = domain::to_json(board.election.definition);
  created["tokenKey"] = {{"keyId", token_key().public_key().key_id()}, {"modulusBits", 2048}};
  append_audit(board, "election.created", created);
  append_audit(board, "voters.imported",
               {{"registered", 8}, {"duplicates", 0}, {"votersRegistered", 8}});
  for (int i = 0; i < 8; ++i) board.roll.push_back(crypto::sha256("voter-" + std::to_string(i)));
  std::ranges::sort(board.roll);
  append_audit(board, "election.opened",
               {{"trigger", "admin"},
                {"votersRegistered", 8},
                {"roll", domain::to_json(domain::commit_roll(board.roll))}});
  // A token for every ballot, and one for a voter who did not vote.
  board.issued.assign(board.roll.begin(), board.roll.begin() + casts.size() + 1);

  for (const Cast& cast : casts) {
    auto selections = cast.selections;
    std::ranges::sort(selections);
    const std::string leaf =
        domain::ballot_leaf(kElection, selections, cast.token.message, cast.token.signature);
    board.leaves.push_back(crypto::merkle_leaf_hash(leaf));
    board.ballots.push_back(
        {{"leafIndex", board.ballots.size()},
         {"receipt", crypto::to_hex(board.leaves.back())},
         {"token", {{"message", cast.token.message}, {"signature", cast.token.signature}}},
         {"selections", domain::selections_to_json(selections)}});
  }
  board.tree_head = signed_tree_head(board.leaves.size(), root_of(board.leaves), log_key(), kTime,
                                     &board.audit.back());

  board.election.status =
      phase == Phase::closed ? domain::ElectionStatus::closed : domain::ElectionStatus::open;
  if (phase == Phase::closed) {
    append_audit(
        board, "election.closed",
        {{"trigger", "admin"}, {"votersRegistered", 8}, {"tokensIssued", board.issued.size()}});
    board.results = domain::results_to_json(board.election, honest_tally());
    append_audit(board, "results.published", *board.results);
    json final_head = board.tree_head;
    final_head.erase("electionId");
    append_audit(board, "tree_head.published", final_head);
  } else if (visibility == domain::ResultsVisibility::live) {
    board.results = domain::results_to_json(board.election, honest_tally());
  }
  return board;
}

std::string problem(unsigned status, const std::string& code) {
  return fake_response(status,
                       json{{"title", "Problem"}, {"status", status}, {"code", code}}.dump(),
                       "application/problem+json");
}

std::map<std::string, std::string> query_of(const std::string& query) {
  std::map<std::string, std::string> out;
  std::istringstream in(query);
  for (std::string pair; std::getline(in, pair, '&');) {
    auto eq = pair.find('=');
    if (eq != std::string::npos) out[pair.substr(0, eq)] = pair.substr(eq + 1);
  }
  return out;
}

// The token key and the bulletin board's routes (docs/api/README.md) over a Board.
class FakeBoardServer {
 public:
  explicit FakeBoardServer(Board board) : board_(std::move(board)) {}

  std::string url() const { return "http://127.0.0.1:" + std::to_string(http_.port()); }
  std::vector<FakeRequest> requests() const { return http_.requests(); }
  void edit(const std::function<void(Board&)>& change) {
    std::lock_guard lock(mutex_);
    change(board_);
  }

 private:
  FakeAnswer handle(const FakeRequest& r) {
    std::lock_guard lock(mutex_);
    const auto question = r.target.find('?');
    const std::string path = r.target.substr(0, question);
    auto query = query_of(question == std::string::npos ? "" : r.target.substr(question + 1));
    const std::string election = std::string("/api/v1/public/elections/") + kElection;
    std::string route;
    if (path == election) route = "election";
    if (path == std::string("/api/v1/elections/") + kElection + "/token-key") route = "token-key";
    if (path == "/api/v1/public/log-key") route = "log-key";
    for (const char* sub : {"audit", "tree-head", "ballots", "results", "proofs/consistency",
                            "proofs/inclusion", "roll", "issued"}) {
      if (path == election + "/" + sub) route = sub;
    }
    if (r.method != "GET" || route.empty()) return {problem(404, "not_found")};
    if (auto it = board_.overrides.find(route); it != board_.overrides.end()) return it->second;
    return answer(route, query);
  }

  static FakeAnswer ok(const json& body) { return {fake_response(200, body.dump())}; }

  static json hexes(const std::vector<crypto::Digest>& digests) {
    json out = json::array();
    for (const auto& d : digests) out.push_back(crypto::to_hex(d));
    return out;
  }

  // Items of `items` (each with a `key` member) from `from` on, at most a page of them,
  // and the `from` of the next page.
  static json page(const std::vector<json>& items, const char* key, const char* name,
                   std::int64_t from, std::size_t limit) {
    json out = json::array();
    json next = nullptr;
    for (const auto& item : items) {
      if (item[key].get<std::int64_t>() < from) continue;
      if (out.size() == limit) {
        next = item[key];
        break;
      }
      out.push_back(item);
    }
    return {{name, out}, {"next", next}};
  }

  FakeAnswer answer(const std::string& route, std::map<std::string, std::string>& query) {
    const Board& b = board_;
    if (route == "election") return ok(domain::to_public_json(b.election, b.ballots.size()));
    if (route == "token-key") {
      const auto& pk = token_key().public_key();
      return ok({{"electionId", kElection},
                 {"keyId", pk.key_id()},
                 {"algorithm", "RSABSSA-SHA384-PSS-Deterministic"},
                 {"modulusBits", pk.modulus_bits()},
                 {"publicKey", crypto::to_base64url(pk.spki_der())},
                 {"jwk",
                  {{"kty", "RSA"},
                   {"n", crypto::to_base64url(pk.modulus())},
                   {"e", crypto::to_base64url(pk.exponent())}}}});
    }
    if (route == "log-key") {
      const auto& pk = log_key().public_key();
      return ok({{"algorithm", "Ed25519"},
                 {"keyId", pk.key_id()},
                 {"publicKey", crypto::to_base64url(pk.raw())}});
    }
    if (route == "tree-head") return ok(b.tree_head);
    if (route == "results") {
      return b.results ? ok(*b.results) : FakeAnswer{problem(409, "results_not_available")};
    }
    auto limit = [&] { return std::min<std::size_t>(b.page_size, std::stoul(query["limit"])); };
    if (route == "audit") {
      std::vector<json> events;
      for (const auto& e : b.audit) events.push_back(domain::to_json(e));
      FakeAnswer answer = ok(page(events, "seq", "events", std::stoll(query["from"]), limit()));
      if (query["from"] == "1" && events.size() <= limit() && board_.after_audit_read) {
        std::exchange(board_.after_audit_read, nullptr)(board_);
      }
      return answer;
    }
    if (route == "ballots") {
      return ok(page(b.ballots, "leafIndex", "ballots", std::stoll(query["from"]), limit()));
    }
    // Keyset pages: the items after the cursor `after`, and the last one's cursor.
    auto cursor_page = [&](const std::vector<crypto::Digest>& hashes, const char* name, auto item,
                           auto cursor) {
      json out = json::array();
      json next = nullptr;
      const crypto::Digest* last = nullptr;
      for (const auto& h : hashes) {
        if (query.contains("after") && cursor(h) <= query["after"]) continue;
        if (out.size() == limit()) {
          next = cursor(*last);
          break;
        }
        out.push_back(item(h));
        last = &h;
      }
      return ok({{name, out}, {"next", next}});
    };
    if (route == "roll") {
      std::vector<crypto::Digest> all = b.roll;
      all.insert(all.end(), b.roll_later.begin(), b.roll_later.end());
      auto commitment = [&](const crypto::Digest& h) {
        return std::ranges::binary_search(b.roll_later, h) ? 2 : 1;
      };
      return cursor_page(
          all, "voters",
          [&](const crypto::Digest& h) {
            return json{{"voterHash", crypto::to_hex(h)}, {"commitment", commitment(h)}};
          },
          [&](const crypto::Digest& h) {
            return std::to_string(commitment(h)) + "." + crypto::to_hex(h);
          });
    }
    if (route == "issued") {
      auto hex = [](const crypto::Digest& h) { return crypto::to_hex(h); };
      return cursor_page(b.issued, "voterHashes", hex, hex);
    }
    crypto::MerkleTree tree;
    for (const auto& leaf : b.leaves) tree.append(leaf);
    if (route == "proofs/consistency") {
      const std::uint64_t first = std::stoull(query["first"]);
      const std::uint64_t second = std::stoull(query["second"]);
      if (first == 0 || first > second || second > tree.size()) {
        return {problem(400, "bad_request")};
      }
      return ok({{"first", first},
                 {"second", second},
                 {"proof", hexes(tree.consistency_proof(first, second))}});
    }
    const std::uint64_t size = std::stoull(query["treeSize"]);
    std::optional<std::uint64_t> index;
    for (std::size_t i = 0; i < b.leaves.size(); ++i) {
      if (crypto::to_hex(b.leaves[i]) == query["receipt"]) index = i;
    }
    if (!index || *index >= size || size > tree.size()) return {problem(404, "not_found")};
    auto path = tree.inclusion_proof(*index, size);
    if (b.corrupt_inclusion_proof && !path.empty()) path[0][0] ^= 1;
    return ok({{"leafIndex", *index}, {"treeSize", size}, {"auditPath", hexes(path)}});
  }

  mutable std::mutex mutex_;
  Board board_;
  // Last: its thread starts once everything it reads is built, and stops first.
  FakeHttpServer http_{[this](const FakeRequest& r) { return handle(r); }};
};

// After tampering with an event: the chain recomputed from `from` on, as a server that
// rewrites its own history would.
void rechain(Board& board, std::size_t from) {
  for (std::size_t i = from; i < board.audit.size(); ++i) {
    board.audit[i].prev_hash = i == 0 ? std::string(domain::kGenesisHash) : board.audit[i - 1].hash;
    board.audit[i].hash = domain::compute_audit_hash(board.audit[i]);
  }
}

std::string fresh_state_file() {
  const std::string name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
  auto path = std::filesystem::path(::testing::TempDir()) / ("verify-state-" + name + ".json");
  std::filesystem::remove(path);
  return path.string();
}

client::VerifyRequest request(std::optional<std::string> receipt = std::nullopt) {
  return {kElection, std::move(receipt), std::nullopt, fresh_state_file(), std::nullopt};
}

std::vector<CheckResult> verify(FakeBoardServer& server, const client::VerifyRequest& request) {
  client::HttpClient http(server.url(), 5s);
  return client::verify_election(http, request);
}

std::vector<CheckResult> verify(const Board& board, const client::VerifyRequest& req = request()) {
  FakeBoardServer server(board);
  return verify(server, req);
}

std::string report(const std::vector<CheckResult>& results) {
  std::string out;
  for (const auto& r : results) out += client::format_check(r) + "\n";
  return out;
}

std::set<std::string> failed(const std::vector<CheckResult>& results) {
  std::set<std::string> out;
  for (const auto& r : results) {
    if (r.status == CheckStatus::fail) out.insert(r.name);
  }
  return out;
}

const CheckResult& result_of(const std::vector<CheckResult>& results, std::string_view name) {
  for (const auto& r : results) {
    if (r.name == name) return r;
  }
  throw std::logic_error("no check " + std::string(name));
}

// The check fails, and its detail says `words`.
void expect_failure(const std::vector<CheckResult>& results, std::string_view name,
                    const std::string& words) {
  const CheckResult& r = result_of(results, name);
  EXPECT_EQ(r.status, CheckStatus::fail) << report(results);
  EXPECT_NE(r.detail.find(words), std::string::npos) << report(results);
}

std::set<std::string> checks(std::initializer_list<std::string_view> names) {
  std::set<std::string> out;
  for (auto name : names) out.emplace(name);
  return out;
}

json kept_tree_heads(const std::string& state_file) {
  const json state = json::parse(read_file(state_file));
  EXPECT_EQ(state["electionId"], kElection);
  return state["treeHeads"];
}

json without_election_id(json head) {
  head.erase("electionId");
  return head;
}

// ---- honest boards ---------------------------------------------------------------------

TEST(VerifyTest, AnHonestClosedBoardPassesEveryCheck) {
  const Board board = make_board(honest_casts());
  FakeBoardServer server(board);
  const auto req = request(board.ballots[2]["receipt"].get<std::string>());
  const auto results = verify(server, req);

  const std::vector<std::string_view> order = {
      client::kTokenSignaturesCheck, client::kBallotsCheck,    client::kTreeHeadCheck,
      client::kConsistencyCheck,     client::kAuditChainCheck, client::kRollCheck,
      client::kIssuedCheck,          client::kVoterCheck,      client::kRecountCheck,
      client::kReceiptCheck};
  ASSERT_EQ(results.size(), order.size()) << report(results);
  for (std::size_t i = 0; i < order.size(); ++i) {
    EXPECT_EQ(results[i].name, order[i]);
    EXPECT_EQ(results[i].status,
              order[i] == client::kVoterCheck ? CheckStatus::skipped : CheckStatus::pass)
        << report(results);
  }
  EXPECT_TRUE(client::all_passed(results));
  EXPECT_EQ(client::format_verdict(results), "verdict: PASS (9 passed, 1 skipped)");
  const std::string text = report(results);
  const std::string receipt = board.ballots[2]["receipt"];
  const std::string root = board.tree_head["rootHash"];
  for (const std::string& words : std::vector<std::string>{
           "PASS  token signatures: 6 ballots, 6 distinct tokens",
           "PASS  ballots: 6 ballots valid for 2 contests",
           "PASS  tree head: size 6, root " + root.substr(0, 16) + "... recomputed",
           "the final one on the audit chain", log_key().public_key().key_id() + " (not pinned",
           "PASS  consistency: no tree head seen before (first run)",
           "PASS  audit chain: 6 events, seq 1 to 6, unbroken", "; signed tree heads pinning it: 1",
           "PASS  roll: 8 voters, as committed on the audit chain (1 commitment, root ",
           "PASS  issued tokens: 7 voter hashes issued a token, all on the roll, every token the "
           "close counted: 6 ballots <= 7 issued <= 8 on the roll",
           "PASS  recount: recounted 6 ballots: the final results and those on the audit chain",
           "PASS  receipt: " + receipt.substr(0, 16) + "... is leaf 2 of 6"}) {
    EXPECT_NE(text.find(words), std::string::npos) << words << "\n" << text;
  }

  // Pages of 4: the ballots and the audit chain are read in two requests each.
  std::vector<std::string> targets;
  for (const auto& r : server.requests()) targets.push_back(r.target);
  const std::string base = std::string("/api/v1/public/elections/") + kElection;
  for (const std::string& target :
       {base + "/ballots?from=0&limit=1000", base + "/ballots?from=4&limit=1000",
        base + "/audit?from=1&limit=1000", base + "/audit?from=5&limit=1000"}) {
    EXPECT_EQ(std::ranges::count(targets, target), 1) << target;
  }

  const json kept = kept_tree_heads(req.state_file);
  ASSERT_EQ(kept.size(), 1u);
  EXPECT_EQ(kept[0], without_election_id(board.tree_head));
}

TEST(VerifyTest, AnOpenBoardPassesAndLeavesTheRecountForLater) {
  const auto results = verify(make_board(honest_casts(), Phase::open));
  EXPECT_TRUE(failed(results).empty()) << report(results);
  EXPECT_EQ(result_of(results, client::kRecountCheck).status, CheckStatus::skipped);
  EXPECT_EQ(result_of(results, client::kReceiptCheck).detail, "no --receipt given");
  EXPECT_EQ(client::format_verdict(results), "verdict: PASS (7 passed, 3 skipped)");
}

TEST(VerifyTest, LiveResultsAreRecountedWhenTheyCountTheSameBallots) {
  Board board = make_board(honest_casts(), Phase::open, domain::ResultsVisibility::live);
  auto results = verify(board);
  EXPECT_TRUE(client::all_passed(results)) << report(results);
  EXPECT_EQ(result_of(results, client::kRecountCheck).status, CheckStatus::pass);

  // One more ballot counted than sequenced: not comparable yet.
  (*board.results)["ballotsCast"] = 7;
  results = verify(board);
  EXPECT_EQ(result_of(results, client::kRecountCheck).status, CheckStatus::skipped)
      << report(results);
}

TEST(VerifyTest, AnEmptyLogVerifies) {
  const auto results = verify(make_board({}, Phase::open));
  EXPECT_TRUE(failed(results).empty()) << report(results);
  EXPECT_NE(report(results).find("tree head: size 0, root "), std::string::npos) << report(results);
}

TEST(VerifyTest, TreeHeadsOfEarlierRunsAreProvedPrefixesOfTheNewest) {
  auto casts = honest_casts();
  FakeBoardServer server(make_board({casts.begin(), casts.begin() + 3}, Phase::open));
  const auto req = request();
  auto results = verify(server, req);
  EXPECT_TRUE(failed(results).empty()) << report(results);

  server.edit([&](Board& b) { b = make_board(casts, Phase::open); });
  results = verify(server, req);
  EXPECT_TRUE(failed(results).empty()) << report(results);
  EXPECT_EQ(result_of(results, client::kConsistencyCheck).detail,
            "consistent with 1 tree head seen before (1 proof); size 6 kept in " +
                req.state_file.string());
  json kept = kept_tree_heads(req.state_file);
  ASSERT_EQ(kept.size(), 2u);
  EXPECT_EQ(kept[0]["treeSize"], 3);
  EXPECT_EQ(kept[1]["treeSize"], 6);

  // The same size again needs no proof, only the same root; nothing new to keep.
  server.edit([&](Board& b) { b = make_board(casts, Phase::closed); });
  results = verify(server, req);
  EXPECT_TRUE(client::all_passed(results)) << report(results);
  EXPECT_EQ(result_of(results, client::kConsistencyCheck).detail,
            "consistent with 2 tree heads seen before (1 proof); size 6 kept in " +
                req.state_file.string());
  EXPECT_EQ(kept_tree_heads(req.state_file).size(), 2u);
}

// ---- tampering -------------------------------------------------------------------------

TEST(VerifyTest, AnAlteredSelectionBreaksItsReceiptAndTheRoot) {
  Board board = make_board(honest_casts());
  json& mayor = board.ballots[1]["selections"][2];  // sorted: board/carol, board/dan, mayor
  ASSERT_EQ(mayor["contestId"], "mayor");
  mayor["optionId"] = "bob";
  auto results = verify(board);
  EXPECT_EQ(failed(results),
            checks({client::kBallotsCheck, client::kTreeHeadCheck, client::kRecountCheck}))
      << report(results);
  expect_failure(
      results, client::kBallotsCheck,
      "leaf 1: the receipt " + board.ballots[1]["receipt"].get<std::string>().substr(0, 16));
  expect_failure(results, client::kTreeHeadCheck, "the root of the 6 leaves is ");
  expect_failure(results, client::kRecountCheck, "mayor/alice is published as");

  // With a receipt made to match, the root still tells.
  board.ballots[1]["receipt"] = crypto::to_hex(crypto::merkle_leaf_hash(
      domain::ballot_leaf(kElection, {{"board", "carol"}, {"board", "dan"}, {"mayor", "bob"}},
                          tokens()[1].message, tokens()[1].signature)));
  results = verify(board);
  EXPECT_EQ(failed(results), checks({client::kTreeHeadCheck, client::kRecountCheck}))
      << report(results);
}

TEST(VerifyTest, ADeletedBallotIsAMissingLeaf) {
  Board board = make_board(honest_casts());
  board.ballots.erase(board.ballots.begin() + 3);
  auto results = verify(board);
  EXPECT_EQ(failed(results), checks({client::kTreeHeadCheck, client::kRecountCheck}))
      << report(results);
  expect_failure(results, client::kTreeHeadCheck,
                 "leaf 3 is missing: the board lists leaf 4 in its place");
  expect_failure(results, client::kRecountCheck, "ballotsCast is 6, recounted 5");

  Board last = make_board(honest_casts());
  last.ballots.pop_back();
  expect_failure(verify(last), client::kTreeHeadCheck,
                 "leaf 5 is missing: the board lists 5 leaves of 6");
}

TEST(VerifyTest, AForgedTokenSignatureIsCaught) {
  auto casts = honest_casts();
  casts[3].token.signature = tokens()[7].signature;  // a real signature, on another message
  const auto results = verify(make_board(casts));
  EXPECT_EQ(failed(results), checks({client::kTokenSignaturesCheck})) << report(results);
  expect_failure(results, client::kTokenSignaturesCheck,
                 "leaf 3: the token's signature does not verify (1 bad signature)");
}

TEST(VerifyTest, ATokenUsedTwiceIsCaught) {
  auto casts = honest_casts();
  casts[5].token = casts[0].token;
  const auto results = verify(make_board(casts));
  EXPECT_EQ(failed(results), checks({client::kTokenSignaturesCheck})) << report(results);
  expect_failure(results, client::kTokenSignaturesCheck,
                 "leaf 5 reuses the token of leaf 0 (1 token used twice)");
}

TEST(VerifyTest, ATokenKeyOtherThanTheAnnouncedOneIsCaught) {
  Board board = make_board(honest_casts());
  board.audit[0].payload["tokenKey"]["keyId"] = std::string(64, 'b');
  rechain(board, 0);
  const auto results = verify(board);
  // The chain rewritten under the signed tree head, which pins the one it saw.
  EXPECT_EQ(failed(results), checks({client::kTokenSignaturesCheck, client::kAuditChainCheck}))
      << report(results);
  expect_failure(results, client::kTokenSignaturesCheck,
                 "is not the one announced on the audit chain, bbbbbbbbbbbbbbbb");
}

TEST(VerifyTest, AnInvalidSelectionIsCaught) {
  auto casts = honest_casts();
  casts[5].selections.push_back({"board", "zed"});
  const auto results = verify(make_board(casts));
  EXPECT_EQ(failed(results), checks({client::kBallotsCheck})) << report(results);
  expect_failure(results, client::kBallotsCheck,
                 "leaf 5: selections[1].optionId: no such option in contest board (1 invalid "
                 "ballot)");
}

TEST(VerifyTest, ContestsOtherThanTheAuditedOnesAreCaught) {
  Board board = make_board(honest_casts());
  board.election.definition.contests[1].max_selections = 3;
  const auto results = verify(board);
  EXPECT_EQ(failed(results), checks({client::kBallotsCheck})) << report(results);
  expect_failure(results, client::kBallotsCheck, "not the ones defined on its audit chain");
}

TEST(VerifyTest, ATreeHeadSignedWithAnotherKeyIsCaughtAndNotKept) {
  Board board = make_board(honest_casts(), Phase::open);
  const auto impostor = crypto::Ed25519PrivateKey::generate();
  board.tree_head["signature"] = signed_tree_head(6, root_of(board.leaves), impostor)["signature"];
  const auto req = request();
  const auto results = verify(board, req);
  EXPECT_EQ(failed(results), checks({client::kTreeHeadCheck})) << report(results);
  expect_failure(results, client::kTreeHeadCheck,
                 "the signature does not verify under the log key");
  EXPECT_NE(result_of(results, client::kConsistencyCheck).detail.find("the newest is not kept"),
            std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(req.state_file));
}

TEST(VerifyTest, ATreeHeadWhoseRootIsNotTheBallotsIsCaught) {
  Board board = make_board(honest_casts(), Phase::open);
  auto other = board.leaves;
  other.back() = crypto::merkle_leaf_hash("a ballot nobody cast");
  board.tree_head = signed_tree_head(6, root_of(other));
  auto results = verify(board);
  EXPECT_EQ(failed(results), checks({client::kTreeHeadCheck})) << report(results);
  expect_failure(results, client::kTreeHeadCheck,
                 "the root of the 6 leaves is " +
                     crypto::to_hex(root_of(board.leaves)).substr(0, 16) +
                     "..., the tree head says " + crypto::to_hex(root_of(other)).substr(0, 16));

  // Closed: the tree head served must be the final one on the audit chain.
  Board closed = make_board(honest_casts());
  closed.tree_head =
      signed_tree_head(6, root_of(closed.leaves), log_key(), "2026-11-26T18:00:01.000Z");
  results = verify(closed);
  EXPECT_EQ(failed(results), checks({client::kTreeHeadCheck})) << report(results);
  expect_failure(results, client::kTreeHeadCheck,
                 "it is not the final tree head on the audit chain");
}

TEST(VerifyTest, AnEarlierTreeHeadThatIsNotAPrefixIsAFork) {
  const Board board = make_board(honest_casts());
  auto write_state = [](const std::string& path, std::int64_t size, const crypto::Digest& root) {
    const json head = signed_tree_head(size, root, log_key(), "2026-11-26T17:00:00.000Z");
    std::ofstream(path)
        << json{{"electionId", kElection}, {"treeHeads", {without_election_id(head)}}}.dump();
  };
  std::vector<crypto::Digest> forked(board.leaves.begin(), board.leaves.begin() + 3);
  forked[2] = crypto::merkle_leaf_hash("a ballot shown to some observers only");

  // An honest earlier head is proved a prefix, and the newest joins it.
  auto req = request();
  write_state(req.state_file, 3, root_of({board.leaves.begin(), board.leaves.begin() + 3}));
  auto results = verify(board, req);
  EXPECT_TRUE(client::all_passed(results)) << report(results);
  EXPECT_EQ(kept_tree_heads(req.state_file).size(), 2u);

  const std::vector<std::tuple<std::int64_t, crypto::Digest, std::string>> cases = {
      {3, root_of(forked),
       "fork: the tree head of size 3 from 2026-11-26T17:00:00.000Z is "
       "not a prefix of the newest (size 6): its consistency proof fails"},
      {6, root_of(forked), "fork: the tree head of size 6 from 2026-11-26T17:00:00.000Z had root"},
      {9, root_of(forked), "the log shrank: the tree head of size 9 from"},
  };
  for (const auto& [size, root, words] : cases) {
    req = request();
    write_state(req.state_file, size, root);
    const std::string before = read_file(req.state_file);
    results = verify(board, req);
    EXPECT_EQ(failed(results), checks({client::kConsistencyCheck})) << report(results);
    expect_failure(results, client::kConsistencyCheck, words);
    expect_failure(results, client::kConsistencyCheck, "; state file left as it is");
    EXPECT_EQ(read_file(req.state_file), before);
  }

  req = request();
  std::ofstream(req.state_file) << "{not json";
  results = verify(board, req);
  EXPECT_EQ(failed(results), checks({client::kConsistencyCheck})) << report(results);
  expect_failure(results, client::kConsistencyCheck, ": not a JSON object; left as it is");
  EXPECT_EQ(read_file(req.state_file), "{not json");
}

TEST(VerifyTest, AnEditedAuditEventBreaksTheChain) {
  Board board = make_board(honest_casts());
  board.audit[1].payload["registered"] = 9;
  auto results = verify(board);
  EXPECT_EQ(failed(results), checks({client::kAuditChainCheck})) << report(results);
  expect_failure(results, client::kAuditChainCheck, "the chain breaks at seq 2 (of 6 events)");

  Board dropped = make_board(honest_casts());
  dropped.audit.erase(dropped.audit.begin() + 2);
  expect_failure(verify(dropped), client::kAuditChainCheck, "the chain breaks at seq 3");
}

// Rewritten whole and re-signed by whoever holds the log key, the chain is sound again:
// the tree head kept from an earlier run still pins the old history.
TEST(VerifyTest, AnAuditChainRewrittenAfterAKeptTreeHeadIsCaught) {
  FakeBoardServer server(make_board(honest_casts()));
  const auto req = request();
  auto results = verify(server, req);
  ASSERT_TRUE(failed(results).empty()) << report(results);

  server.edit([](Board& b) {
    b.audit[1].payload["registered"] = 9;
    rechain(b, 1);
    b.tree_head = signed_tree_head(6, root_of(b.leaves), log_key(), kTime, &b.audit[2]);
    json final_head = b.tree_head;
    final_head.erase("electionId");
    b.audit.back().payload = final_head;
    rechain(b, b.audit.size() - 1);
  });
  results = verify(server, req);
  expect_failure(results, client::kAuditChainCheck,
                 "the audit history was rewritten after the tree head of size 6 from " +
                     std::string(kTime) + ": it pins seq 3");
}

TEST(VerifyTest, ARollOtherThanTheCommittedOneIsCaught) {
  Board board = make_board(honest_casts());
  board.roll.back() = crypto::sha256("someone else");
  std::ranges::sort(board.roll);
  board.issued.assign(board.roll.begin(), board.roll.begin() + 7);
  auto results = verify(board);
  EXPECT_EQ(failed(results), checks({client::kRollCheck})) << report(results);
  expect_failure(results, client::kRollCheck,
                 "roll commitment 1 on the audit chain is 8 voters, root ");
}

// An import into the open election lands between verify's read of the audit chain and
// its read of the roll: the roll then names a commitment the chain read did not hold.
TEST(VerifyTest, AnImportDuringTheRunIsReadAgainNotCaughtAsTampering) {
  Board board = make_board(honest_casts(), Phase::open);
  board.after_audit_read = [](Board& b) {
    for (int i = 0; i < 3; ++i) b.roll_later.push_back(crypto::sha256("late-" + std::to_string(i)));
    std::ranges::sort(b.roll_later);
    std::vector<crypto::Digest> all = b.roll;
    all.insert(all.end(), b.roll_later.begin(), b.roll_later.end());
    append_audit(b, "voters.imported",
                 {{"registered", 3},
                  {"duplicates", 0},
                  {"votersRegistered", 11},
                  {"roll", domain::to_json(domain::commit_roll(all))}});
    b.issued.push_back(b.roll_later[0]);  // one of them has a token already
    std::ranges::sort(b.issued);
  };
  auto results = verify(board);
  EXPECT_TRUE(failed(results).empty()) << report(results);
  EXPECT_TRUE(result_of(results, client::kRollCheck)
                  .detail.starts_with("11 voters, as committed on the audit chain (2 commitments"))
      << report(results);

  // An import that the chain never commits stays caught, however often it is read.
  Board uncommitted = make_board(honest_casts(), Phase::open);
  uncommitted.roll_later = {crypto::sha256("never committed")};
  expect_failure(verify(uncommitted), client::kRollCheck,
                 "names commitment 2, the audit chain holds 1");
}

TEST(VerifyTest, ATokenIssuedOffTheRollIsCaught) {
  Board board = make_board(honest_casts());
  board.issued.push_back(crypto::sha256("not on the roll"));
  std::ranges::sort(board.issued);
  auto results = verify(board);
  EXPECT_EQ(failed(results), checks({client::kIssuedCheck})) << report(results);
  expect_failure(results, client::kIssuedCheck, "was issued a token but is not on the roll");
  expect_failure(results, client::kIssuedCheck,
                 "the close counted 7 tokens issued, the list holds 8");
}

TEST(VerifyTest, MoreTokensThanVotersOrFewerThanBallotsAreCaught) {
  Board more = make_board(honest_casts());
  more.issued = more.roll;
  for (int i = 0; i < 3; ++i) more.issued.push_back(crypto::sha256("extra " + std::to_string(i)));
  std::ranges::sort(more.issued);
  expect_failure(verify(more), client::kIssuedCheck, "11 tokens issued for a roll of 8 voters");

  Board fewer = make_board(honest_casts(), Phase::open);
  fewer.issued.resize(3);
  expect_failure(verify(fewer), client::kIssuedCheck,
                 "6 ballots on the board, but only 3 voter hashes issued a token");
}

TEST(VerifyTest, AVoterLearnsWhetherATokenWasIssuedInTheirName) {
  const Board board = make_board(honest_casts());
  auto ask = [&](const crypto::Digest& voter_hash) {
    auto req = request();
    req.voter_hash = crypto::to_hex(voter_hash);
    return result_of(verify(board, req), client::kVoterCheck);
  };
  const auto issued = ask(board.issued.back());
  EXPECT_EQ(issued.status, CheckStatus::pass) << issued.detail;
  EXPECT_NE(issued.detail.find("a token WAS issued in this name"), std::string::npos)
      << issued.detail;
  const auto abstainer = ask(board.roll.back());
  EXPECT_EQ(abstainer.status, CheckStatus::pass) << abstainer.detail;
  EXPECT_NE(abstainer.detail.find("no token was issued in this name"), std::string::npos)
      << abstainer.detail;
  const auto stranger = ask(crypto::sha256("not on the roll"));
  EXPECT_EQ(stranger.status, CheckStatus::fail) << stranger.detail;
  EXPECT_NE(stranger.detail.find("is not on the roll"), std::string::npos) << stranger.detail;
  EXPECT_EQ(result_of(verify(board), client::kVoterCheck).status, CheckStatus::skipped);
}

TEST(VerifyTest, ResultsThatDifferFromTheRecountAreCaught) {
  Board board = make_board(honest_casts());
  (*board.results)["contests"][0]["totals"][1]["votes"] = 3;
  auto results = verify(board);
  EXPECT_EQ(failed(results), checks({client::kRecountCheck})) << report(results);
  expect_failure(results, client::kRecountCheck,
                 R"(the published results differ from the recounted 6 ballots: mayor/bob is )"
                 R"(published as {"optionId":"bob","votes":3}, recounted 2 votes)");

  // The same lie on a rewritten audit chain: the chain holds, the recount does not.
  Board rewritten = make_board(honest_casts());
  rewritten.audit[4].payload["contests"][0]["totals"][0]["votes"] = 5;
  rewritten.audit[4].payload["ballotsCast"] = 7;
  rechain(rewritten, 4);
  results = verify(rewritten);
  EXPECT_EQ(failed(results), checks({client::kRecountCheck})) << report(results);
  expect_failure(results, client::kRecountCheck,
                 "the results on the audit chain differ from the recounted 6 ballots: "
                 "ballotsCast is 7, recounted 6");

  // Closed, yet no results: not a reason to skip.
  Board hidden = make_board(honest_casts());
  hidden.results.reset();
  expect_failure(verify(hidden), client::kRecountCheck, "results: HTTP 409 results_not_available");
}

TEST(VerifyTest, AReceiptWithABadInclusionProofIsCaught) {
  Board board = make_board(honest_casts());
  const std::string receipt = board.ballots[4]["receipt"];
  board.corrupt_inclusion_proof = true;
  auto results = verify(board, request(receipt));
  EXPECT_EQ(failed(results), checks({client::kReceiptCheck})) << report(results);
  expect_failure(results, client::kReceiptCheck,
                 "the inclusion proof for leaf 4 of 6 does not lead to the tree head's root");

  // A receipt the log does not hold.
  board.corrupt_inclusion_proof = false;
  results = verify(board, request(std::string(64, 'A')));
  EXPECT_EQ(failed(results), checks({client::kReceiptCheck})) << report(results);
  expect_failure(results, client::kReceiptCheck, "inclusion proof: HTTP 404 not_found");

  // In the log, but not on the board.
  Board unlisted = make_board(honest_casts());
  unlisted.ballots[4]["selections"][0]["optionId"] = "dan";
  results = verify(unlisted, request(receipt));
  expect_failure(results, client::kReceiptCheck,
                 "leaf 4 is in the log, but the board lists no ballot with this receipt there");
}

TEST(VerifyTest, APinnedLogKeyMustSignTheTreeHead) {
  const Board board = make_board(honest_casts());
  auto req = request();
  req.log_key_id = std::string(64, 'c');
  auto results = verify(board, req);
  EXPECT_EQ(failed(results), checks({client::kTreeHeadCheck})) << report(results);
  expect_failure(results, client::kTreeHeadCheck,
                 "the log key " + log_key().public_key().key_id().substr(0, 16) +
                     "... is not the pinned one, cccccccccccccccc");
  EXPECT_FALSE(std::filesystem::exists(req.state_file));

  std::string pinned = log_key().public_key().key_id();
  std::ranges::transform(pinned, pinned.begin(),
                         [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  req.log_key_id = pinned;
  results = verify(board, req);
  EXPECT_TRUE(client::all_passed(results)) << report(results);
  EXPECT_NE(result_of(results, client::kTreeHeadCheck).detail.find(" (pinned)"), std::string::npos);
}

// ---- a server that cannot be trusted to answer at all ----------------------------------

TEST(VerifyTest, AnUnreachableServerFailsTheChecksWithoutThrowing) {
  std::uint16_t closed_port;
  {
    FakeHttpServer gone([](const FakeRequest&) { return FakeAnswer{}; });
    closed_port = gone.port();
  }
  client::HttpClient http("http://127.0.0.1:" + std::to_string(closed_port), 2s);
  const auto results = client::verify_election(http, request(std::string(64, 'a')));
  ASSERT_EQ(results.size(), 10u);
  for (const auto& r : results) {
    EXPECT_EQ(r.status, r.name == client::kVoterCheck ? CheckStatus::skipped : CheckStatus::fail)
        << report(results);
    EXPECT_FALSE(r.detail.empty());
  }
  expect_failure(results, client::kAuditChainCheck, "audit events from seq 1: connecting");
  EXPECT_EQ(client::format_verdict(results), "verdict: FAIL (9 failed, 0 passed, 1 skipped)");
}

TEST(VerifyTest, MalformedAnswersFailTheChecksThatNeedThem) {
  struct Case {
    std::string route;
    FakeAnswer answer;
    std::set<std::string> failing;
    std::string_view check;  // one of them, whose detail says `words`
    std::string words;
  };
  const auto without_ballots = checks({client::kTokenSignaturesCheck, client::kBallotsCheck,
                                       client::kTreeHeadCheck, client::kRecountCheck});
  auto without_head = without_ballots;
  without_head.emplace(client::kConsistencyCheck);
  const json no_token = {{"ballots", {{{"leafIndex", 0}, {"receipt", "00"}}}}, {"next", nullptr}};
  const std::string negative_size = json{{"electionId", kElection}, {"treeSize", -1}}.dump();
  const std::vector<Case> cases = {
      {"tree-head",
       {fake_response(200, "not json")},
       without_head,
       client::kTreeHeadCheck,
       "tree head: the answer is not a JSON object"},
      {"tree-head",
       {fake_response(200, negative_size)},
       without_head,
       client::kTreeHeadCheck,
       "tree head: \"treeSize\" is not a non-negative integer"},
      {"ballots",
       {fake_response(200, no_token.dump())},
       without_ballots,
       client::kBallotsCheck,
       "ballots from leaf 0, item 0: no \"token\" in the answer"},
      {"ballots",
       {fake_response(200, R"({"ballots":[],"next":0})")},
       without_ballots,
       client::kTreeHeadCheck,
       "\"next\" does not move past the ballots given"},
      {"audit",
       {problem(503, "service_unavailable")},
       checks({client::kTokenSignaturesCheck, client::kBallotsCheck, client::kTreeHeadCheck,
               client::kAuditChainCheck, client::kRollCheck, client::kRecountCheck}),
       client::kAuditChainCheck,
       "audit events from seq 1: HTTP 503 service_unavailable"},
      {"log-key",
       {fake_response(200, R"({"algorithm":"Ed25519","keyId":"00","publicKey":"AA"})")},
       checks({client::kTreeHeadCheck}),
       client::kTreeHeadCheck,
       "log key: publicKey is not a base64url Ed25519 key"},
      {"token-key",
       {"", true},
       checks({client::kTokenSignaturesCheck}),
       client::kTokenSignaturesCheck,
       "token key: network_error: "},
      {"election",
       {fake_response(200, "[]")},
       checks({client::kBallotsCheck, client::kRecountCheck}),
       client::kBallotsCheck,
       "election: the answer is not a JSON object"},
      {"results",
       {fake_response(500, "")},
       checks({client::kRecountCheck}),
       client::kRecountCheck,
       "results: HTTP 500"},
  };
  for (const auto& c : cases) {
    Board board = make_board(honest_casts());
    board.overrides[c.route] = c.answer;
    const auto results = verify(board);
    EXPECT_EQ(failed(results), c.failing) << c.route << "\n" << report(results);
    expect_failure(results, c.check, c.words);
  }
}

TEST(VerifyTest, RefusesARequestThatIsNotWellFormed) {
  client::HttpClient http("http://127.0.0.1:1");
  EXPECT_THROW(client::verify_election(http, {"not-a-uuid", {}, {}, "state.json", {}}),
               std::invalid_argument);
  EXPECT_THROW(client::verify_election(http, {kElection, "abc", {}, "state.json", {}}),
               std::invalid_argument);
  EXPECT_THROW(
      client::verify_election(http, {kElection, {}, std::string(63, 'a'), "state.json", {}}),
      std::invalid_argument);
  EXPECT_FALSE(client::default_state_file("not-a-uuid"));
}

// ---- the command ------------------------------------------------------------------------

struct Run {
  int code;
  std::string output;  // stdout and stderr
};

Run run_verify(std::vector<std::string> args, std::vector<std::string> env = {}) {
  args.insert(args.begin(), "verify");
  Child c = spawn(std::move(args), std::move(env));
  int code = c.wait_exit();
  return {code, c.output};
}

TEST(VerifyCliTest, PrintsALinePerCheckAndTheVerdict) {
  const Board board = make_board(honest_casts());
  FakeBoardServer server(board);
  auto run =
      run_verify({"--url", server.url(), "--election", kElection, "--state", fresh_state_file(),
                  "--receipt", board.ballots[0]["receipt"].get<std::string>()});
  EXPECT_EQ(run.code, 0) << run.output;
  EXPECT_TRUE(std::regex_match(run.output,
                               std::regex("(PASS  (token signatures|ballots|tree head|consistency|"
                                          "audit chain|roll|issued tokens): [^\n]+\n){7}"
                                          "SKIP  voter hash: no --voter-hash given\n"
                                          "(PASS  (recount|receipt): [^\n]+\n){2}"
                                          "verdict: PASS \\(9 passed, 1 skipped\\)\n")))
      << run.output;

  server.edit([](Board& b) { (*b.results)["ballotsCast"] = 5; });
  run = run_verify({"--url", server.url(), "--election", kElection, "--state", fresh_state_file()});
  EXPECT_EQ(run.code, 1) << run.output;
  EXPECT_NE(run.output.find("\nFAIL  recount: the published results differ from the recounted 6 "
                            "ballots: ballotsCast is 5, recounted 6\n"),
            std::string::npos)
      << run.output;
  EXPECT_NE(run.output.find("\nSKIP  receipt: no --receipt given\n"), std::string::npos);
  EXPECT_TRUE(run.output.ends_with("\nverdict: FAIL (1 failed, 7 passed, 2 skipped)\n"))
      << run.output;
}

// What verify read can be kept (--save) and checked again with no server (--offline):
// the same verdict; an archive altered afterwards fails as an altered board would.
TEST(VerifyCliTest, ASavedBoardVerifiesOfflineAndAnAlteredOneDoesNot) {
  const auto dir = std::filesystem::path(::testing::TempDir()) / "verify-saved-board";
  std::filesystem::remove_all(dir);
  const std::regex all_pass(
      "(PASS  [^\n]+\n){7}SKIP  voter hash: [^\n]+\nPASS  recount: [^\n]+\nSKIP  receipt: "
      "[^\n]+\nverdict: PASS [^\n]+\n");
  {
    FakeBoardServer server(make_board(honest_casts()));
    auto saved = run_verify({"--url", server.url(), "--election", kElection, "--state",
                             fresh_state_file(), "--save", dir.string()});
    EXPECT_EQ(saved.code, 0) << saved.output;
  }  // the server is gone
  auto offline = run_verify(
      {"--offline", dir.string(), "--election", kElection, "--state", fresh_state_file()});
  EXPECT_EQ(offline.code, 0) << offline.output;
  EXPECT_TRUE(std::regex_match(offline.output, all_pass)) << offline.output;

  // One ballot's choice changed in the saved page of ballots.
  std::filesystem::path page;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().filename().string().find("ballots") != std::string::npos) page = entry.path();
  }
  ASSERT_FALSE(page.empty());
  std::string text = read_file(page.string());
  const auto at = text.find("\"alice\"");
  ASSERT_NE(at, std::string::npos);
  text.replace(at, 7, "\"bob\"");
  std::ofstream(page, std::ios::trunc) << text;
  auto altered = run_verify(
      {"--offline", dir.string(), "--election", kElection, "--state", fresh_state_file()});
  EXPECT_EQ(altered.code, 1) << altered.output;
  EXPECT_NE(altered.output.find("verdict: FAIL"), std::string::npos) << altered.output;
}

TEST(VerifyCliTest, KeepsTreeHeadsUnderXdgStateHome) {
  FakeBoardServer server(make_board(honest_casts()));
  const auto home = std::filesystem::path(::testing::TempDir()) / "verify-xdg-state";
  std::filesystem::remove_all(home);
  auto run = run_verify({"--url", server.url(), "--election", kElection},
                        {"XDG_STATE_HOME=" + home.string()});
  EXPECT_EQ(run.code, 0) << run.output;
  const auto state = home / "observernet" / (std::string("verify-") + kElection + ".json");
  EXPECT_EQ(kept_tree_heads(state.string()).size(), 1u);
  EXPECT_NE(run.output.find("kept in " + state.string()), std::string::npos) << run.output;
}

TEST(VerifyCliTest, UsageErrorsExitTwo) {
  const std::vector<std::string> good = {"--url", "http://127.0.0.1:1", "--election", kElection};
  auto with = [&](std::vector<std::string> extra) {
    auto args = good;
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  };
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{}, "give one of --url and --offline"},
      {with({"--offline", "/tmp"}), "give one of --url and --offline"},
      {{"--offline", "/tmp", "--save", "/tmp", "--election", kElection},
       "--save reads from a server: not with --offline"},
      {{"--offline", "/nonexistent", "--election", kElection}, "is not a directory"},
      {{"--url", "http://127.0.0.1:1"}, "--election is required"},
      {{"--url", "http://127.0.0.1:1", "--election", "nope"}, "--election must be a UUID"},
      {with({"--receipt", "abc"}), "--receipt must be 64 hex digits"},
      {with({"--log-key-id", std::string(65, 'a')}), "--log-key-id must be 64 hex digits"},
      {with({"--state"}), "--state needs a value"},
      {with({"--bogus"}), "unknown option '--bogus'"},
      {{"--url", "https://vote.example.org", "--election", kElection}, "TLS-terminating proxy"},
  };
  for (const auto& [args, message] : cases) {
    auto run = run_verify(args);
    EXPECT_EQ(run.code, 2) << run.output;
    EXPECT_NE(run.output.find(message), std::string::npos) << run.output;
    EXPECT_NE(run.output.find("(see 'observernet verify --help')"), std::string::npos)
        << run.output;
  }
  auto no_home = run_verify(good, {"HOME=", "XDG_STATE_HOME="});
  EXPECT_EQ(no_home.code, 2) << no_home.output;
  EXPECT_NE(no_home.output.find("no state directory"), std::string::npos) << no_home.output;

  auto help = run_verify({"--help"});
  EXPECT_EQ(help.code, 0);
  EXPECT_NE(help.output.find("Usage: observernet verify"), std::string::npos);
}

}  // namespace
}  // namespace observernet::testing
