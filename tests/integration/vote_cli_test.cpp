// `observernet vote` and the voter flow under it (docs/formats.md, Tokens): end to end against the
// real server, and against a scripted one for what the real server never does (lost
// answers, a key that is not the election's, a bad blind signature, a wrong receipt).
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>

#include "observernet/client/voter.hpp"
#include "observernet/crypto/blind_rsa.hpp"
#include "observernet/crypto/hash.hpp"
#include "observernet/crypto/jcs.hpp"
#include "support.hpp"

namespace observernet::testing {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

constexpr const char* kElection = "3f2b8c1e-0a4d-4c6b-9e7f-5d1a2b3c4d5e";
constexpr const char* kCredential = "Q7ZK3M9D4X2V8B1N6C5T0R7W3Y";

std::string problem(unsigned status, const std::string& code, const std::string& detail,
                    json errors = nullptr) {
  json body = {{"type", "about:blank"},
               {"title", "Problem"},
               {"status", status},
               {"detail", detail},
               {"code", code}};
  if (!errors.is_null()) body["errors"] = std::move(errors);
  return fake_response(status, body.dump(), "application/problem+json");
}

const crypto::RsaPrivateKey& election_key() {
  static const auto key = crypto::RsaPrivateKey::generate(2048);
  return key;
}

// With a larger modulus than the election's, so that it can sign any message blinded
// for the election: with a smaller one, a blinded message at or above its modulus
// (about one time in three) made the fake server refuse instead of signing wrongly.
const crypto::RsaPrivateKey& other_key() {
  static const auto key = [] {
    // Moduli of one length compare as their big-endian bytes.
    for (;;) {
      auto k = crypto::RsaPrivateKey::generate(2048);
      if (k.public_key().modulus() > election_key().public_key().modulus()) return k;
    }
  }();
  return key;
}

// The voting routes (docs/api/README.md, Voting) as a server would answer them, with knobs for
// misbehaving. Checks what it is sent as the real server does: the token's signature, one token per
// voter.
class FakeVotingServer {
 public:
  std::function<void(json&)> edit_key_answer;
  std::function<void(json&)> edit_token_answer;
  std::optional<std::string> token_problem;
  bool sign_with_other_key = false;
  bool corrupt_blind_signature = false;
  int token_answers_to_lose = 0;   // sign and record, then drop the connection
  int submit_answers_to_lose = 0;  // accept and record, then drop the connection
  std::optional<std::string> receipt_override;
  // The audit chain's election.created tokenKey.keyId (default: the election key's);
  // an empty string leaves tokenKey out. audit_problem answers the audit route instead.
  std::optional<std::string> announced_key_id;
  std::optional<std::string> audit_problem;

  std::vector<json> token_requests;
  std::vector<json> submissions;
  std::map<std::string, std::string> blinded_by_voter;
  std::map<std::string, std::string> receipt_by_token;

  std::string url() const { return "http://127.0.0.1:" + std::to_string(http.port()); }
  std::vector<FakeRequest> requests() const { return http.requests(); }

 private:
  FakeAnswer handle(const FakeRequest& r) {
    if (r.method == "GET" &&
        r.target == std::string("/api/v1/elections/") + kElection + "/token-key") {
      const auto& pk = election_key().public_key();
      json answer = {{"electionId", kElection},
                     {"keyId", pk.key_id()},
                     {"algorithm", "RSABSSA-SHA384-PSS-Deterministic"},
                     {"modulusBits", pk.modulus_bits()},
                     {"publicKey", crypto::to_base64url(pk.spki_der())}};
      if (edit_key_answer) edit_key_answer(answer);
      return {fake_response(200, answer.dump())};
    }
    if (r.method == "GET" && r.target.starts_with(std::string("/api/v1/public/elections/") +
                                                  kElection + "/audit?from=1&")) {
      if (audit_problem) return {*audit_problem};
      const std::string key_id = announced_key_id.value_or(election_key().public_key().key_id());
      json payload = {{"title", "Fake"}};
      if (!key_id.empty()) payload["tokenKey"] = {{"keyId", key_id}};
      json event = {{"seq", 1},
                    {"type", "election.created"},
                    {"payload", payload},
                    {"at", "2026-11-26T17:00:00.000Z"},
                    {"prevHash", std::string(64, '0')},
                    {"hash", std::string(64, '1')}};
      return {fake_response(200, json{{"events", {event}}, {"next", nullptr}}.dump())};
    }
    json body = json::parse(r.body, nullptr, false);
    if (r.method == "POST" && r.target == "/api/v1/voting/token" && body.is_object()) {
      token_requests.push_back(body);
      if (token_problem) return {*token_problem};
      std::string voter = body["voterId"];
      std::string blinded = body["blindedMessage"];
      if (body["credential"] != kCredential) {
        return {problem(401, "invalid_credentials", "unknown voter or wrong credential")};
      }
      auto [it, first] = blinded_by_voter.emplace(voter, blinded);
      if (!first && it->second != blinded) {
        return {problem(409, "token_already_issued", "this voter already has a token")};
      }
      const auto& key = sign_with_other_key ? other_key() : election_key();
      auto signed_msg = key.blind_sign(*crypto::from_base64url(blinded));
      if (!std::holds_alternative<crypto::Bytes>(signed_msg)) {
        return {problem(400, "bad_request", "blindedMessage is not a modulus-length integer")};
      }
      auto blind_sig = std::get<crypto::Bytes>(signed_msg);
      if (corrupt_blind_signature) blind_sig.back() ^= 1;
      json answer = {{"blindSignature", crypto::to_base64url(blind_sig)},
                     {"keyId", election_key().public_key().key_id()}};
      if (edit_token_answer) edit_token_answer(answer);
      if (token_answers_to_lose > 0) {
        --token_answers_to_lose;
        return {"", true};
      }
      return {fake_response(200, answer.dump())};
    }
    if (r.method == "POST" && r.target == "/api/v1/voting/submit" && body.is_object()) {
      submissions.push_back(body);
      auto msg = crypto::from_base64url(body["token"]["message"].get<std::string>());
      auto sig = crypto::from_base64url(body["token"]["signature"].get<std::string>());
      if (!msg || !sig || !election_key().public_key().verify_pss(*msg, *sig)) {
        return {problem(403, "invalid_token", "the token's signature does not verify")};
      }
      // docs/formats.md, Ballot leaf, computed apart from the client's code.
      json selections = body["selections"];
      std::sort(selections.begin(), selections.end(), [](const json& a, const json& b) {
        return std::tie(a["contestId"].get_ref<const std::string&>(),
                        a["optionId"].get_ref<const std::string&>()) <
               std::tie(b["contestId"].get_ref<const std::string&>(),
                        b["optionId"].get_ref<const std::string&>());
      });
      std::string leaf = crypto::canonicalize({{"electionId", body["electionId"]},
                                               {"selections", selections},
                                               {"token", body["token"]}});
      std::string receipt = crypto::to_hex(crypto::sha256(std::string(1, '\0') + leaf));
      auto [it, first] = receipt_by_token.emplace(body["token"]["message"], receipt);
      if (!first && it->second != receipt) {
        return {problem(409, "token_already_used", "this token has cast another ballot")};
      }
      json answer = {{"receipt", receipt_override.value_or(receipt)},
                     {"electionId", body["electionId"]},
                     {"acceptedAt", "2026-11-26T18:00:00.000Z"}};
      if (submit_answers_to_lose > 0) {
        --submit_answers_to_lose;
        return {"", true};
      }
      return {fake_response(first ? 201 : 200, answer.dump())};
    }
    return {problem(404, "not_found", "no such route")};
  }

  // Last: its thread starts once everything it reads is built, and stops first.
  FakeHttpServer http{[this](const FakeRequest& r) { return handle(r); }};
};

client::VoteRequest ballot(std::string voter = "v1") {
  return {kElection, std::move(voter), kCredential, {{"mayor", "alice"}, {"board", "carol"}}};
}

client::VoteError vote_error(FakeVotingServer& server, client::VoteRequest request = ballot()) {
  client::HttpClient http(server.url(), 5s);
  try {
    client::cast_vote(http, request);
  } catch (const client::VoteError& e) {
    return e;
  }
  ADD_FAILURE() << "the vote went through";
  return {0, "", ""};
}

TEST(VoterClientTest, CastsABallotWithATokenStockRsaPssAccepts) {
  FakeVotingServer server;
  client::HttpClient http(server.url());
  const auto outcome = client::cast_vote(http, ballot());
  EXPECT_EQ(outcome.election_id, kElection);
  EXPECT_EQ(outcome.key_id, election_key().public_key().key_id());
  EXPECT_EQ(outcome.accepted_at, "2026-11-26T18:00:00.000Z");
  ASSERT_EQ(server.submissions.size(), 1u);
  EXPECT_EQ(outcome.receipt, server.receipt_by_token.begin()->second);

  const json& token_request = server.token_requests.at(0);
  EXPECT_EQ(token_request["electionId"], kElection);
  EXPECT_EQ(token_request["voterId"], "v1");
  EXPECT_EQ(token_request["credential"], kCredential);
  EXPECT_EQ(crypto::from_base64url(token_request["blindedMessage"].get<std::string>())->size(),
            election_key().modulus_bytes());

  const json& submission = server.submissions[0];
  EXPECT_EQ(crypto::from_base64url(submission["token"]["message"].get<std::string>())->size(), 32u);
  EXPECT_EQ(submission["selections"], json::parse(R"([{"contestId":"mayor","optionId":"alice"},)"
                                                  R"({"contestId":"board","optionId":"carol"}])"));
  EXPECT_FALSE(submission.contains("voterId"));
  EXPECT_EQ(submission.dump().find(kCredential), std::string::npos);

  ASSERT_EQ(server.requests().size(), 4u);
  EXPECT_EQ(server.requests()[0].method, "GET");
  EXPECT_EQ(server.requests()[1].target,
            std::string("/api/v1/public/elections/") + kElection + "/audit?from=1&limit=1000");

  // A second voter's token is a fresh nonce.
  client::cast_vote(http, ballot("v2"));
  ASSERT_EQ(server.submissions.size(), 2u);
  EXPECT_NE(server.submissions[0]["token"]["message"], server.submissions[1]["token"]["message"]);
}

TEST(VoterClientTest, WritesTheElectionIdInLowerCase) {
  FakeVotingServer server;
  client::HttpClient http(server.url());
  auto request = ballot();
  std::ranges::transform(request.election_id, request.election_id.begin(),
                         [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  EXPECT_EQ(client::cast_vote(http, request).election_id, kElection);
  EXPECT_EQ(server.submissions.at(0)["electionId"], kElection);
}

TEST(VoterClientTest, RepeatsALostTokenRequestWithTheSameBlindedMessage) {
  FakeVotingServer server;
  server.token_answers_to_lose = 1;
  client::HttpClient http(server.url());
  client::cast_vote(http, ballot());
  ASSERT_EQ(server.token_requests.size(), 2u);
  EXPECT_EQ(server.token_requests[0], server.token_requests[1]);
  EXPECT_EQ(server.submissions.size(), 1u);
}

TEST(VoterClientTest, GivesUpAfterASecondLostTokenAnswer) {
  FakeVotingServer server;
  server.token_answers_to_lose = 2;
  auto e = vote_error(server);
  EXPECT_EQ(e.code(), client::kNetworkError);
  EXPECT_EQ(e.status(), 0u);
  EXPECT_EQ(server.token_requests.size(), 2u);
  EXPECT_TRUE(server.submissions.empty());
}

TEST(VoterClientTest, RepeatsALostSubmissionAndTakesTheSameReceipt) {
  FakeVotingServer server;
  server.submit_answers_to_lose = 1;
  client::HttpClient http(server.url());
  const auto outcome = client::cast_vote(http, ballot());
  ASSERT_EQ(server.submissions.size(), 2u);
  EXPECT_EQ(server.submissions[0], server.submissions[1]);
  EXPECT_EQ(outcome.receipt, server.receipt_by_token.begin()->second);
}

// The fake server's handler uses other_key(): made here, not there, since under ASan
// its key generation can outlast the client's 5 s timeout.
TEST(VoterClientTest, RefusesAKeyThatIsNotTheElectionsOrNotItsKeyId) {
  other_key();
  const std::vector<std::function<void(json&)>> edits = {
      [](json& a) { a["keyId"] = std::string(64, '0'); },
      [](json& a) { a["keyId"] = other_key().public_key().key_id(); },
      [](json& a) { a["algorithm"] = "RSABSSA-SHA384-PSS-Randomized"; },
      [](json& a) { a["electionId"] = "00000000-0000-4000-8000-000000000000"; },
      [](json& a) { a["publicKey"] = "AAAA"; },
  };
  for (std::size_t i = 0; i < edits.size(); ++i) {
    FakeVotingServer server;
    server.edit_key_answer = edits[i];
    auto e = vote_error(server);
    EXPECT_EQ(e.code(), client::kUntrustedKey) << i << ": " << e.what();
    EXPECT_EQ(server.requests().size(), 1u) << i << ": asked for a token after all";
  }
}

// As `observernet verify` does: the key must be the one the audit chain announced when
// the election was created, else no token is asked for.
TEST(VoterClientTest, RefusesAKeyTheAuditChainDidNotAnnounce) {
  other_key();  // see RefusesAKeyThatIsNotTheElectionsOrNotItsKeyId
  {
    FakeVotingServer server;
    server.announced_key_id = other_key().public_key().key_id();
    auto e = vote_error(server);
    EXPECT_EQ(e.code(), client::kUntrustedKey) << e.what();
    EXPECT_NE(e.detail().find("is not the one announced on the election's audit chain"),
              std::string::npos)
        << e.what();
    EXPECT_TRUE(server.token_requests.empty());
  }
  {
    FakeVotingServer server;
    server.announced_key_id = "";
    auto e = vote_error(server);
    EXPECT_EQ(e.code(), client::kUntrustedKey) << e.what();
    EXPECT_NE(e.detail().find("announces no token key"), std::string::npos) << e.what();
    EXPECT_TRUE(server.token_requests.empty());
  }
  {
    FakeVotingServer server;
    server.audit_problem = problem(503, "service_unavailable", "try later");
    auto e = vote_error(server);
    EXPECT_EQ(e.code(), client::kUntrustedKey) << e.what();
    EXPECT_NE(e.detail().find("cannot check the token key against the audit chain"),
              std::string::npos)
        << e.what();
    EXPECT_TRUE(server.token_requests.empty());
  }
}

TEST(VoterClientTest, NeverSubmitsATokenThatDoesNotFinalize) {
  other_key();  // see RefusesAKeyThatIsNotTheElectionsOrNotItsKeyId
  for (int variant = 0; variant < 2; ++variant) {
    FakeVotingServer server;
    (variant == 0 ? server.corrupt_blind_signature : server.sign_with_other_key) = true;
    auto e = vote_error(server);
    EXPECT_EQ(e.code(), client::kInvalidBlindSignature) << e.what();
    EXPECT_TRUE(server.submissions.empty());
  }
  FakeVotingServer other_id;
  other_id.edit_token_answer = [](json& a) { a["keyId"] = other_key().public_key().key_id(); };
  EXPECT_EQ(vote_error(other_id).code(), client::kUntrustedKey);
  EXPECT_TRUE(other_id.submissions.empty());
}

TEST(VoterClientTest, CarriesTheProblemDetailsOfARefusal) {
  FakeVotingServer server;
  client::HttpClient http(server.url());
  client::cast_vote(http, ballot("v1"));
  auto again = vote_error(server, ballot("v1"));  // a fresh nonce: a second token
  EXPECT_EQ(again.status(), 409u);
  EXPECT_EQ(again.code(), "token_already_issued");
  EXPECT_EQ(again.detail(), "this voter already has a token");
  EXPECT_STREQ(again.what(), "409 token_already_issued: this voter already has a token");

  auto wrong = ballot("v2");
  wrong.credential = "WRONG";
  EXPECT_STREQ(vote_error(server, wrong).what(),
               "401 invalid_credentials: unknown voter or wrong credential");

  FakeVotingServer invalid;
  json errors = json::array();
  for (int i = 0; i < 5; ++i) {
    errors.push_back({{"field", "selections[" + std::to_string(i) + "]"}, {"message", "bad"}});
  }
  invalid.token_problem = problem(422, "invalid_ballot", "the ballot breaks the rules", errors);
  EXPECT_STREQ(vote_error(invalid).what(),
               "422 invalid_ballot: the ballot breaks the rules (selections[0]: bad; "
               "selections[1]: bad; selections[2]: bad; 2 more)");

  FakeVotingServer proxy;
  proxy.token_problem = fake_response(502, "<html>Bad Gateway</html>", "text/html");
  auto e = vote_error(proxy);
  EXPECT_EQ(e.status(), 502u);
  EXPECT_EQ(e.code(), "");
  EXPECT_STREQ(e.what(), "502: the server gave no problem details");
}

TEST(VoterClientTest, DetectsAReceiptThatIsNotTheBallots) {
  FakeVotingServer server;
  server.receipt_override = std::string(64, 'a');
  auto e = vote_error(server);
  EXPECT_EQ(e.code(), client::kReceiptMismatch);
  EXPECT_NE(std::string(e.what()).find(std::string(64, 'a')), std::string::npos) << e.what();

  FakeVotingServer garbled;
  garbled.receipt_override = "not a hash";
  EXPECT_EQ(vote_error(garbled).code(), client::kBadResponse);
}

// ---- the command ------------------------------------------------------------------------

struct Run {
  int code;
  std::string output;  // stdout and stderr
};

// No wait between token and ballot unless the test gives its own --max-delay.
Run run_vote(std::vector<std::string> args) {
  if (std::find(args.begin(), args.end(), "--max-delay") == args.end()) {
    args.insert(args.begin(), {"--max-delay", "0"});
  }
  args.insert(args.begin(), "vote");
  Child c = spawn(std::move(args));
  int code = c.wait_exit();
  return {code, c.output};
}

std::string temp_file(const std::string& name, const std::string& content) {
  std::string path = ::testing::TempDir() + "/" + name;
  std::ofstream(path) << content;
  return path;
}

// Then the ballot's status, when the server answers the receipt route (the fake does not).
const std::regex kSuccess(
    R"(^keyId [0-9a-f]{64}\nreceipt [0-9a-f]{64}\nacceptedAt \d{4}-\d\d-\d\dT[^\n]+Z\n)"
    R"((status sequenced\n|status pending\ndueBy (close|\d{4}-\d\d-\d\dT\d\d:\d\d:00\.000Z)\n)?$)");

TEST(VoteCliTest, PrintsTheCheckedReceipt) {
  FakeVotingServer server;
  auto run =
      run_vote({"--url", server.url() + "/", "--election", kElection, "--voter-id", "v1",
                "--credential", kCredential, "--select", "mayor=alice", "--select=board=carol"});
  EXPECT_EQ(run.code, 0) << run.output;
  EXPECT_TRUE(std::regex_match(run.output, kSuccess)) << run.output;
  ASSERT_EQ(server.receipt_by_token.size(), 1u);
  EXPECT_NE(run.output.find("receipt " + server.receipt_by_token.begin()->second + "\n"),
            std::string::npos);
  EXPECT_NE(run.output.find("keyId " + election_key().public_key().key_id()), std::string::npos);
  EXPECT_EQ(server.submissions.at(0)["selections"].size(), 2u);

  // From a file, with the line ending an editor leaves.
  auto file = temp_file("vote-cli-credential", std::string(kCredential) + "\r\n");
  auto from_file = run_vote({"--url", server.url(), "--election", kElection, "--voter-id", "v2",
                             "--credential-file", file, "--select", "mayor=bob"});
  EXPECT_EQ(from_file.code, 0) << from_file.output;
  EXPECT_TRUE(std::regex_match(from_file.output, kSuccess)) << from_file.output;
}

// The ballot leaves a random time after the token, at most --max-delay, and the voter is
// told how long it waits.
TEST(VoteCliTest, TheBallotWaitsARandomTimeAfterTheToken) {
  FakeVotingServer server;
  const auto started = std::chrono::steady_clock::now();
  auto run = run_vote({"--url", server.url(), "--election", kElection, "--voter-id", "v1",
                       "--credential", kCredential, "--select", "mayor=alice", "--max-delay", "1"});
  const auto took = std::chrono::steady_clock::now() - started;
  EXPECT_EQ(run.code, 0) << run.output;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(
      run.output, m,
      std::regex(R"(observernet: token received; sending the ballot in (\d\.\d) s\n)")))
      << run.output;
  const double announced = std::stod(m[1]);
  EXPECT_LE(announced, 1.0);
  EXPECT_GE(std::chrono::duration<double>(took).count(), announced - 0.1);
  EXPECT_EQ(server.submissions.size(), 1u);
}

TEST(VoteCliTest, ARefusalExitsOneWithOneLine) {
  FakeVotingServer server;
  std::vector<std::string> args = {"--url",      server.url(), "--election",   kElection,
                                   "--voter-id", "v1",         "--credential", kCredential,
                                   "--select",   "mayor=alice"};
  ASSERT_EQ(run_vote(args).code, 0);
  args.back() = "mayor=bob";
  auto again = run_vote(args);
  EXPECT_EQ(again.code, 1);
  EXPECT_EQ(again.output,
            "observernet: vote failed: 409 token_already_issued: this voter already has a token\n");

  server.corrupt_blind_signature = true;
  args[5] = "v2";
  auto bad = run_vote(args);
  EXPECT_EQ(bad.code, 1);
  EXPECT_TRUE(bad.output.starts_with("observernet: vote failed: invalid_blind_signature: "))
      << bad.output;
  EXPECT_EQ(std::count(bad.output.begin(), bad.output.end(), '\n'), 1) << bad.output;
  EXPECT_EQ(server.submissions.size(), 1u);

  std::uint16_t closed_port;
  {
    FakeHttpServer gone([](const FakeRequest&) { return FakeAnswer{}; });
    closed_port = gone.port();
  }
  args[1] = "http://127.0.0.1:" + std::to_string(closed_port);
  auto unreachable = run_vote(args);
  EXPECT_EQ(unreachable.code, 1);
  EXPECT_TRUE(unreachable.output.starts_with("observernet: vote failed: network_error: connecting"))
      << unreachable.output;
  for (const auto& r : {again, bad, unreachable}) {
    EXPECT_EQ(r.output.find(kCredential), std::string::npos) << r.output;
  }
}

TEST(VoteCliTest, UsageErrorsExitTwo) {
  const std::vector<std::string> good = {
      "--url", "http://127.0.0.1:1", "--election", kElection,  "--voter-id",
      "v1",    "--credential",       kCredential,  "--select", "mayor=alice"};
  auto without = [&](const std::string& flag) {
    std::vector<std::string> args;
    for (std::size_t i = 0; i < good.size(); i += 2) {
      if (good[i] != flag) args.insert(args.end(), {good[i], good[i + 1]});
    }
    return args;
  };
  auto with = [&](std::vector<std::string> extra) {
    auto args = good;
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  };
  auto replaced = [&](const std::string& flag, const std::string& value) {
    auto args = without(flag);
    args.insert(args.end(), {flag, value});
    return args;
  };
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{}, "--url is required"},
      {without("--url"), "--url is required"},
      {without("--election"), "--election is required"},
      {without("--voter-id"), "--voter-id is required"},
      {without("--credential"), "give one of --credential and --credential-file"},
      {with({"--credential-file", "/dev/null"}), "give one of --credential and --credential-file"},
      {replaced("--election", "not-a-uuid"), "--election must be a UUID"},
      {replaced("--select", "mayor"), "--select takes CONTEST=OPTION"},
      {replaced("--select", "Mayor=Alice"), "--select takes CONTEST=OPTION"},
      {replaced("--url", "https://vote.example.org"), "TLS-terminating proxy"},
      {replaced("--url", "vote.example.org"), "--url: expected http://host[:port][/path]"},
      {with({"--bogus"}), "unknown option '--bogus'"},
      {with({"--select"}), "--select needs a value"},
      {with({"--max-delay", "soon"}), "--max-delay takes whole seconds from 0 to 3600"},
      {with({"--max-delay", "3601"}), "--max-delay takes whole seconds from 0 to 3600"},
  };
  for (const auto& [args, message] : cases) {
    auto run = run_vote(args);
    EXPECT_EQ(run.code, 2) << run.output;
    EXPECT_NE(run.output.find(message), std::string::npos) << run.output;
    EXPECT_NE(run.output.find("(see 'observernet vote --help')"), std::string::npos) << run.output;
    EXPECT_EQ(run.output.find(kCredential), std::string::npos) << run.output;
  }
  auto missing_file = without("--credential");
  missing_file.insert(missing_file.end(), {"--credential-file", "/nonexistent/credential"});
  EXPECT_EQ(run_vote(missing_file).code, 2);

  auto help = run_vote({"--help"});
  EXPECT_EQ(help.code, 0);
  EXPECT_NE(help.output.find("Usage: observernet vote"), std::string::npos);
}

// ---- end to end, against the real server --------------------------------------------------

TEST(VoteCliTest, ThreeVotersVoteAndTheResultsCountThem) {
  TestServer server;
  auto call = [&](const std::string& method, const std::string& target,
                  const json& body = nullptr) {
    return http_request(server.port(), method, target, body.is_null() ? "" : body.dump(),
                        admin_headers());
  };
  const json definition = {
      {"title", "Town vote"},
      {"contests",
       {{{"id", "mayor"},
         {"title", "Mayor"},
         {"options", {{{"id", "alice"}, {"title", "Alice"}}, {{"id", "bob"}, {"title", "Bob"}}}}},
        {{"id", "board"},
         {"title", "Board"},
         {"minSelections", 1},
         {"maxSelections", 2},
         {"options",
          {{{"id", "carol"}, {"title", "Carol"}},
           {{"id", "dan"}, {"title", "Dan"}},
           {{"id", "erin"}, {"title", "Erin"}}}}}}}};
  auto created = call("POST", "/api/v1/elections", definition);
  ASSERT_EQ(created.status, 201u) << created.body;
  const std::string id = json::parse(created.body)["id"];
  auto imported =
      call("POST", "/api/v1/elections/" + id + "/voters",
           {{"voters", {{{"voterId", "v1"}}, {{"voterId", "v2"}}, {{"voterId", "v3"}}}}});
  ASSERT_EQ(imported.status, 201u) << imported.body;
  std::map<std::string, std::string> credentials;
  const json imported_body = json::parse(imported.body);  // outlives the loop
  for (const auto& c : imported_body["credentials"]) {
    credentials[c["voterId"]] = c["credential"];
  }
  ASSERT_EQ(credentials.size(), 3u);
  auto opened = call("POST", "/api/v1/elections/" + id + "/open");
  ASSERT_EQ(opened.status, 200u) << opened.body;

  const std::string url = "http://127.0.0.1:" + std::to_string(server.port());
  const std::map<std::string, std::vector<std::string>> choices = {
      {"v1", {"mayor=alice", "board=carol", "board=dan"}},
      {"v2", {"mayor=alice", "board=erin"}},
      {"v3", {"mayor=bob", "board=carol"}},
  };
  std::vector<std::string> receipts;
  for (const auto& [voter, selections] : choices) {
    std::vector<std::string> args = {"--url", url, "--election", id, "--voter-id", voter};
    if (voter == "v2") {
      args.insert(args.end(),
                  {"--credential-file", temp_file("vote-cli-" + id, credentials[voter] + "\n")});
    } else {
      args.insert(args.end(), {"--credential", credentials[voter]});
    }
    for (const auto& s : selections) args.insert(args.end(), {"--select", s});
    auto run = run_vote(args);
    EXPECT_EQ(run.code, 0) << voter << ": " << run.output;
    std::smatch m;
    ASSERT_TRUE(std::regex_search(run.output, m, std::regex("receipt ([0-9a-f]{64})\n")))
        << voter << ": " << run.output;
    receipts.push_back(m[1]);
    EXPECT_TRUE(std::regex_match(run.output, kSuccess)) << run.output;
    EXPECT_EQ(run.output.find(credentials[voter]), std::string::npos) << run.output;
  }

  // One token per voter: v1 again, with other choices, gets no second token.
  auto again = run_vote({"--url", url, "--election", id, "--voter-id", "v1", "--credential",
                         credentials["v1"], "--select", "mayor=bob", "--select", "board=erin"});
  EXPECT_EQ(again.code, 1) << again.output;
  EXPECT_NE(again.output.find("observernet: vote failed: 409 token_already_issued"),
            std::string::npos)
      << again.output;

  auto closed = call("POST", "/api/v1/elections/" + id + "/close");
  ASSERT_EQ(closed.status, 200u) << closed.body;

  // Every receipt names a stored ballot (sequencing comes with the bulletin board).
  for (const auto& receipt : receipts) {
    auto r = http_request(server.port(), "GET", "/api/v1/voting/receipts/" + receipt);
    EXPECT_EQ(r.status, 200u) << receipt << " " << r.body;
  }

  HttpResult results;
  ASSERT_TRUE(eventually([&] {
    results = http_request(server.port(), "GET", "/api/v1/public/elections/" + id + "/results");
    return results.status == 200;
  })) << results.status
      << " " << results.body;
  const std::map<std::string, std::map<std::string, int>> expected = {
      {"mayor", {{"alice", 2}, {"bob", 1}}},
      {"board", {{"carol", 2}, {"dan", 1}, {"erin", 1}}},
  };
  std::map<std::string, std::map<std::string, int>> counted;
  const json results_body = json::parse(results.body);  // outlives the loop
  for (const auto& contest : results_body["contests"]) {
    const std::string contest_id = contest["contestId"];
    EXPECT_EQ(contest["ballots"], 3) << contest_id;
    auto& totals = counted[contest_id];
    for (const auto& [option, votes] : expected.at(contest_id)) totals[option] = 0;
    for (const auto& t : contest["totals"]) totals[t["optionId"]] = t["votes"].get<int>();
  }
  EXPECT_EQ(counted, expected) << results.body;
}

}  // namespace
}  // namespace observernet::testing
