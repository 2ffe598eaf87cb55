// Voting and results (docs/api/README.md, Voting) over real HTTP against the real PostgreSQL and
// Redis: tokens (RFC 9474 blind signatures), ballots with exactly-once acceptance, receipts,
// results. The tests act as voters with the crypto library's client side.
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <cmath>
#include <filesystem>
#include <future>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include <pqxx/pqxx>

#include "observernet/client/verify.hpp"
#include "observernet/client/voter.hpp"
#include "observernet/crypto/blind_rsa.hpp"
#include "observernet/crypto/ed25519.hpp"
#include "observernet/crypto/hash.hpp"
#include "observernet/crypto/jcs.hpp"
#include "observernet/crypto/merkle.hpp"
#include "observernet/domain/audit.hpp"
#include "observernet/domain/ballot.hpp"
#include "observernet/domain/roll.hpp"
#include "observernet/domain/tree_head.hpp"
#include "observernet/service/election_logs.hpp"
#include "support.hpp"

namespace observernet::testing {
namespace {

using namespace std::chrono_literals;
using crypto::Bytes;
using nlohmann::json;

json mayor_election(std::string visibility = "after_close") {
  return {
      {"title", "Mayor 2026"},
      {"resultsVisibility", std::move(visibility)},
      {"contests",
       {{{"id", "mayor"},
         {"title", "Mayor"},
         {"options", {{{"id", "alice"}, {"title", "Alice"}}, {{"id", "bob"}, {"title", "Bob"}}}}},
        {{"id", "council"},
         {"title", "Council"},
         {"minSelections", 0},
         {"maxSelections", 2},
         {"options",
          {{{"id", "c1"}, {"title", "C1"}},
           {{"id", "c2"}, {"title", "C2"}},
           {{"id", "c3"}, {"title", "C3"}}}}}}}};
}

json selections(std::initializer_list<std::pair<const char*, const char*>> picks) {
  json out = json::array();
  for (auto [c, o] : picks) out.push_back({{"contestId", c}, {"optionId", o}});
  return out;
}

struct Token {
  Bytes message;
  Bytes signature;
  json to_json() const {
    return {{"message", crypto::to_base64url(message)},
            {"signature", crypto::to_base64url(signature)}};
  }
};

class VotingTest : public ::testing::Test {
 protected:
  explicit VotingTest(app::Config config = test_config()) : server(std::move(config)) {}

  HttpResult call(const std::string& method, const std::string& target, const json& body = nullptr,
                  Headers headers = kJsonHeaders) {
    headers.insert(headers.end(), client_headers_.begin(), client_headers_.end());
    return http_request(server.port(), method, target, body.is_null() ? "" : body.dump(), headers);
  }

  // An election with `voters`, opened; fills credentials_ and key_.
  std::string open_election(std::vector<std::string> voters = {"v1", "v2", "v3"},
                            json definition = mayor_election()) {
    auto r = call("POST", "/api/v1/elections", definition, admin_headers());
    EXPECT_EQ(r.status, 201u) << r.body;
    std::string id = json::parse(r.body)["id"];
    json list = json::array();
    for (auto& v : voters) list.push_back({{"voterId", v}});
    r = call("POST", "/api/v1/elections/" + id + "/voters", {{"voters", list}}, admin_headers());
    EXPECT_EQ(r.status, 201u) << r.body;
    const json imported = json::parse(r.body);  // the loop must not outlive it
    for (const auto& c : imported["credentials"]) {
      credentials_[c["voterId"].get<std::string>()] = c["credential"];
      voter_hashes_[c["voterId"].get<std::string>()] = c["voterHash"];
    }
    r = call("POST", "/api/v1/elections/" + id + "/open", nullptr, admin_headers());
    EXPECT_EQ(r.status, 200u) << r.body;
    return id;
  }

  crypto::RsaPublicKey token_key(const std::string& id) {
    auto r = call("GET", "/api/v1/elections/" + id + "/token-key");
    EXPECT_EQ(r.status, 200u) << r.body;
    auto der = crypto::from_base64url(json::parse(r.body)["publicKey"].get<std::string>());
    return *crypto::RsaPublicKey::from_spki_der(*der);
  }

  HttpResult request_token(const std::string& id, const std::string& voter,
                           const Bytes& blinded_msg, std::string credential = {}) {
    if (credential.empty()) credential = credentials_.at(voter);
    return call("POST", "/api/v1/voting/token",
                {{"electionId", id},
                 {"voterId", voter},
                 {"credential", credential},
                 {"blindedMessage", crypto::to_base64url(blinded_msg)}});
  }

  // The whole client side of docs/formats.md, Tokens: a token for `voter`.
  Token obtain_token(const std::string& id, const std::string& voter) {
    auto key = token_key(id);
    Token t;
    t.message.resize(32);
    crypto::random_bytes(t.message);
    auto blinded = crypto::blind(key, t.message, crypto::kSha384PssDeterministic);
    auto r = request_token(id, voter, blinded.blinded_msg);
    EXPECT_EQ(r.status, 200u) << r.body;
    auto blind_sig =
        crypto::from_base64url(json::parse(r.body)["blindSignature"].get<std::string>());
    auto sig =
        crypto::finalize(key, t.message, *blind_sig, blinded.inv, crypto::kSha384PssDeterministic);
    EXPECT_TRUE(sig.has_value());
    t.signature = sig.value_or(Bytes{});
    return t;
  }

  HttpResult submit(const std::string& id, const Token& token, const json& picks) {
    return call("POST", "/api/v1/voting/submit",
                {{"electionId", id}, {"token", token.to_json()}, {"selections", picks}});
  }

  json stats(const std::string& id) {
    auto r = call("GET", "/api/v1/elections/" + id + "/stats", nullptr, admin_headers());
    EXPECT_EQ(r.status, 200u) << r.body;
    return json::parse(r.body);
  }

  static std::string code_of(const HttpResult& r) {
    return json::parse(r.body).value("code", std::string());
  }

  TestServer server;
  Headers client_headers_;  // on every call: X-Forwarded-For, where a test needs a client
  std::map<std::string, std::string> credentials_;
  std::map<std::string, std::string> voter_hashes_;  // hex, as the import answered them
};

TEST_F(VotingTest, TokenKeyIsPublicAndAnnouncedOnTheAuditChain) {
  std::string id = open_election();
  auto r = call("GET", "/api/v1/elections/" + id + "/token-key");
  ASSERT_EQ(r.status, 200u) << r.body;
  json body = json::parse(r.body);
  EXPECT_EQ(body["algorithm"], "RSABSSA-SHA384-PSS-Deterministic");
  EXPECT_EQ(body["modulusBits"], 2048);
  EXPECT_EQ(body["electionId"], id);
  auto der = crypto::from_base64url(body["publicKey"].get<std::string>());
  ASSERT_TRUE(der);
  EXPECT_EQ(body["keyId"], crypto::to_hex(crypto::sha256(*der)));
  auto key = crypto::RsaPublicKey::from_spki_der(*der);
  ASSERT_TRUE(key);
  EXPECT_EQ(body["jwk"]["kty"], "RSA");
  EXPECT_EQ(body["jwk"]["n"], crypto::to_base64url(key->modulus()));
  EXPECT_EQ(body["jwk"]["e"], "AQAB");
  EXPECT_FALSE(r.header("etag").empty());

  auto audit = json::parse(call("GET", "/api/v1/public/elections/" + id + "/audit").body);
  EXPECT_EQ(audit["events"][0]["type"], "election.created");
  EXPECT_EQ(audit["events"][0]["payload"]["tokenKey"]["keyId"], body["keyId"]);

  // Each election has its own key; a draft's is not shown.
  auto draft = call("POST", "/api/v1/elections", mayor_election(), admin_headers());
  std::string draft_id = json::parse(draft.body)["id"];
  EXPECT_EQ(call("GET", "/api/v1/elections/" + draft_id + "/token-key").status, 404u);
}

TEST_F(VotingTest, AVoterVotesAndChecksTheReceipt) {
  std::string id = open_election();
  Token token = obtain_token(id, "v1");
  // A standard RSASSA-PSS signature on the nonce (docs/formats.md, Tokens).
  EXPECT_TRUE(token_key(id).verify_pss(token.message, token.signature));

  auto r = submit(id, token, selections({{"mayor", "bob"}, {"council", "c3"}, {"council", "c1"}}));
  ASSERT_EQ(r.status, 201u) << r.body;
  json body = json::parse(r.body);
  std::vector<domain::Selection> sorted = {{"council", "c1"}, {"council", "c3"}, {"mayor", "bob"}};
  const std::string leaf = domain::ballot_leaf(id, sorted, crypto::to_base64url(token.message),
                                               crypto::to_base64url(token.signature));
  EXPECT_EQ(body["receipt"], crypto::to_hex(crypto::merkle_leaf_hash(leaf)));
  EXPECT_EQ(body["electionId"], id);
  // Stored to the minute only (docs/privacy.md, Times).
  EXPECT_TRUE(body["acceptedAt"].get<std::string>().ends_with(":00.000Z")) << body["acceptedAt"];

  auto receipt = call("GET", "/api/v1/voting/receipts/" + body["receipt"].get<std::string>());
  ASSERT_EQ(receipt.status, 200u) << receipt.body;
  // The sequencer may have been quicker than this request (BoardTest has the rest).
  EXPECT_TRUE(json::parse(receipt.body)["status"] == "pending" ||
              json::parse(receipt.body)["status"] == "sequenced")
      << receipt.body;
  EXPECT_EQ(call("GET", "/api/v1/voting/receipts/" + std::string(64, '0')).status, 404u);
  EXPECT_EQ(call("GET", "/api/v1/voting/receipts/xyz").status, 400u);

  json s = stats(id);
  EXPECT_EQ(s["tokensIssued"], 1);
  EXPECT_EQ(s["ballotsCast"], 1);
  EXPECT_EQ(s["votersRegistered"], 3);
  EXPECT_TRUE(metrics_show(server.port(), R"(vote_submissions_total{result="accepted"} 1)"));
  EXPECT_TRUE(metrics_show(server.port(), "tokens_issued_total 1"));
}

TEST_F(VotingTest, RetriesGetTheSameAnswersAndReuseIsRefused) {
  std::string id = open_election();
  auto key = token_key(id);
  Bytes msg(32, 7);
  auto blinded = crypto::blind(key, msg, crypto::kSha384PssDeterministic);
  auto first = request_token(id, "v2", blinded.blinded_msg);
  ASSERT_EQ(first.status, 200u) << first.body;
  // A retry after a lost response: the same blind signature.
  auto again = request_token(id, "v2", blinded.blinded_msg);
  ASSERT_EQ(again.status, 200u) << again.body;
  EXPECT_EQ(json::parse(again.body)["blindSignature"], json::parse(first.body)["blindSignature"]);
  // Another blinded message: a second token is refused.
  auto other = crypto::blind(key, Bytes(32, 8), crypto::kSha384PssDeterministic);
  auto second = request_token(id, "v2", other.blinded_msg);
  EXPECT_EQ(second.status, 409u);
  EXPECT_EQ(code_of(second), "token_already_issued");

  auto blind_sig =
      crypto::from_base64url(json::parse(first.body)["blindSignature"].get<std::string>());
  Token token{
      msg, *crypto::finalize(key, msg, *blind_sig, blinded.inv, crypto::kSha384PssDeterministic)};
  auto accepted = submit(id, token, selections({{"mayor", "alice"}}));
  ASSERT_EQ(accepted.status, 201u) << accepted.body;
  auto identical = submit(id, token, selections({{"mayor", "alice"}}));
  EXPECT_EQ(identical.status, 200u) << identical.body;
  EXPECT_EQ(json::parse(identical.body)["receipt"], json::parse(accepted.body)["receipt"]);
  auto different = submit(id, token, selections({{"mayor", "bob"}}));
  EXPECT_EQ(different.status, 409u);
  EXPECT_EQ(code_of(different), "token_already_used");
  EXPECT_EQ(stats(id)["ballotsCast"], 1);
  EXPECT_EQ(stats(id)["tokensIssued"], 1);
}

TEST_F(VotingTest, TokenRequestsAreCheckedBeforeAnythingIsSigned) {
  std::string id = open_election();
  auto key = token_key(id);
  auto blinded = crypto::blind(key, Bytes(32, 1), crypto::kSha384PssDeterministic).blinded_msg;

  auto wrong = request_token(id, "v1", blinded, "AAAAAAAAAAAAAAAAAAAAAAAAAA");
  EXPECT_EQ(wrong.status, 401u);
  EXPECT_EQ(code_of(wrong), "invalid_credentials");
  auto unknown = request_token(id, "nobody", blinded, credentials_.at("v1"));
  EXPECT_EQ(unknown.status, 401u);
  EXPECT_EQ(json::parse(unknown.body)["detail"], json::parse(wrong.body)["detail"]);

  auto too_short = request_token(id, "v1", Bytes(255, 1));
  EXPECT_EQ(too_short.status, 400u);
  auto not_below = request_token(id, "v1", Bytes(256, 0xff));
  EXPECT_EQ(not_below.status, 400u) << not_below.body;
  auto malformed = call("POST", "/api/v1/voting/token",
                        {{"electionId", id},
                         {"voterId", "v1"},
                         {"credential", credentials_.at("v1")},
                         {"blindedMessage", "not base64url!"}});
  EXPECT_EQ(malformed.status, 400u);
  auto unknown_field = call("POST", "/api/v1/voting/token",
                            {{"electionId", id},
                             {"voterId", "v1"},
                             {"credential", "x"},
                             {"blindedMessage", "AA"},
                             {"extra", 1}});
  EXPECT_EQ(unknown_field.status, 400u);
  EXPECT_EQ(call("POST", "/api/v1/voting/token",
                 {{"electionId", "not-a-uuid"},
                  {"voterId", "v1"},
                  {"credential", "x"},
                  {"blindedMessage", "AA"}})
                .status,
            400u);
  EXPECT_EQ(stats(id)["tokensIssued"], 0);

  // Credentials as people type them: lower case, hyphens.
  std::string typed = credentials_.at("v3");
  std::ranges::transform(typed, typed.begin(), [](unsigned char c) { return std::tolower(c); });
  typed.insert(4, "-");
  EXPECT_EQ(request_token(id, "v3", blinded, typed).status, 200u);
  EXPECT_EQ(stats(id)["tokensIssued"], 1);
}

TEST_F(VotingTest, NoTokensOrBallotsOutsideTheVotingPeriod) {
  auto draft = call("POST", "/api/v1/elections", mayor_election(), admin_headers());
  std::string draft_id = json::parse(draft.body)["id"];
  call("POST", "/api/v1/elections/" + draft_id + "/voters", {{"voters", {{{"voterId", "d1"}}}}},
       admin_headers());
  auto r = call("POST", "/api/v1/voting/token",
                {{"electionId", draft_id},
                 {"voterId", "d1"},
                 {"credential", "x"},
                 {"blindedMessage", crypto::to_base64url(Bytes(256, 1))}});
  EXPECT_EQ(r.status, 409u) << r.body;
  EXPECT_EQ(code_of(r), "election_not_open");

  std::string id = open_election();
  auto draft_ballot = submit(draft_id, obtain_token(id, "v3"), selections({{"mayor", "alice"}}));
  EXPECT_EQ(draft_ballot.status, 409u) << draft_ballot.body;
  EXPECT_EQ(code_of(draft_ballot), "election_not_open");
  Token token = obtain_token(id, "v1");
  ASSERT_EQ(call("POST", "/api/v1/elections/" + id + "/close", nullptr, admin_headers()).status,
            200u);
  auto late = submit(id, token, selections({{"mayor", "alice"}}));
  EXPECT_EQ(late.status, 409u) << late.body;
  EXPECT_EQ(code_of(late), "election_not_open");
  auto key = token_key(id);
  auto late_token = request_token(
      id, "v2", crypto::blind(key, Bytes(32, 2), crypto::kSha384PssDeterministic).blinded_msg);
  EXPECT_EQ(late_token.status, 409u);
  EXPECT_EQ(stats(id)["ballotsCast"], 0);
}

TEST_F(VotingTest, BadBallotsAreRefusedAndNothingIsWritten) {
  std::string id = open_election();
  std::string other = open_election({"o1"});
  Token token = obtain_token(id, "v1");
  Token foreign = obtain_token(other, "o1");

  auto r = submit(id, foreign, selections({{"mayor", "alice"}}));
  EXPECT_EQ(r.status, 403u) << r.body;
  EXPECT_EQ(code_of(r), "invalid_token");
  Token forged = token;
  forged.signature[10] ^= 1;
  EXPECT_EQ(submit(id, forged, selections({{"mayor", "alice"}})).status, 403u);
  Token short_sig{token.message, Bytes(token.signature.begin(), token.signature.end() - 1)};
  EXPECT_EQ(submit(id, short_sig, selections({{"mayor", "alice"}})).status, 403u);
  Token short_msg{Bytes(31, 1), token.signature};
  EXPECT_EQ(submit(id, short_msg, selections({{"mayor", "alice"}})).status, 400u);

  for (const json& picks :
       {selections({{"mayor", "zed"}}), selections({{"sheriff", "x"}}),
        selections({{"mayor", "alice"}, {"mayor", "bob"}}), selections({{"council", "c1"}}),
        selections({{"mayor", "alice"}, {"council", "c1"}, {"council", "c1"}}),
        selections(
            {{"mayor", "alice"}, {"council", "c1"}, {"council", "c2"}, {"council", "c3"}})}) {
    auto bad = submit(id, token, picks);
    EXPECT_EQ(bad.status, 422u) << picks.dump() << " " << bad.body;
    EXPECT_EQ(code_of(bad), "invalid_ballot");
    EXPECT_FALSE(json::parse(bad.body)["errors"].empty());
  }
  auto malformed = call("POST", "/api/v1/voting/submit",
                        {{"electionId", id},
                         {"token", {{"message", "@@"}, {"signature", "AA"}}},
                         {"selections", json::array()}});
  EXPECT_EQ(malformed.status, 400u);
  EXPECT_EQ(call("POST", "/api/v1/voting/submit", {{"electionId", id}}).status, 400u);
  // A member twice: a proxy that keeps the first and a parser that keeps the last would
  // read two different ballots, so neither is taken. Written by hand: a json object
  // cannot hold a key twice.
  const std::string alice = selections({{"mayor", "alice"}}).dump();
  const std::string bob = selections({{"mayor", "bob"}}).dump();
  const std::string head = R"({"electionId":")" + id + R"(","token":)" + token.to_json().dump();
  for (const std::string& body :
       {head + R"(,"selections":)" + alice + R"(,"selections":)" + bob + "}",
        head + R"(,"selections":)" + alice + R"(,"selection\u0073":)" + bob + "}",
        R"({"electionId":")" + id + R"(","token":{"message":"AA","message":")" +
            crypto::to_base64url(token.message) + R"(","signature":")" +
            crypto::to_base64url(token.signature) + R"("},"selections":)" + alice + "}"}) {
    auto twice = http_request(server.port(), "POST", "/api/v1/voting/submit", body, kJsonHeaders);
    EXPECT_EQ(twice.status, 400u) << body << " " << twice.body;
    EXPECT_EQ(code_of(twice), "bad_request");
    EXPECT_NE(twice.body.find("more than once"), std::string::npos) << twice.body;
  }
  // A number no double holds is valid JSON, and a 400 (it was a 500, found by fuzzing).
  for (const std::string& number : {std::string("1e999"), std::string(400, '9')}) {
    const std::string body = head + R"(,"selections":)" + alice + R"(,"x":)" + number + "}";
    auto huge = http_request(server.port(), "POST", "/api/v1/voting/submit", body, kJsonHeaders);
    EXPECT_EQ(huge.status, 400u) << number << " " << huge.body;
    EXPECT_EQ(code_of(huge), "bad_request");
  }
  EXPECT_EQ(stats(id)["ballotsCast"], 0);
  // The token is still good for one valid ballot.
  EXPECT_EQ(submit(id, token, selections({{"mayor", "alice"}})).status, 201u);
}

// One ballot per token (docs/formats.md, Tokens), enforced by the database under concurrent
// requests.
TEST_F(VotingTest, ConcurrentSubmissionsOfOneTokenCommitOnce) {
  std::string id = open_election();
  Token token = obtain_token(id, "v1");
  std::vector<std::future<HttpResult>> calls;
  for (int i = 0; i < 50; ++i) {
    json picks = i % 2 ? selections({{"mayor", "alice"}}) : selections({{"mayor", "bob"}});
    calls.push_back(
        std::async(std::launch::async, [&, picks] { return submit(id, token, picks); }));
  }
  int created = 0, same = 0, refused = 0;
  std::string winner;
  for (auto& c : calls) {
    HttpResult r = c.get();
    if (r.status == 201) {
      ++created;
      winner = json::parse(r.body)["receipt"];
    } else if (r.status == 200) {
      ++same;
    } else if (r.status == 409) {
      ++refused;
    } else {
      ADD_FAILURE() << r.status << " " << r.body;
    }
  }
  EXPECT_EQ(created, 1);
  EXPECT_EQ(created + same, 25) << "every copy of the winning ballot gets its receipt";
  EXPECT_EQ(refused, 25);
  EXPECT_EQ(stats(id)["ballotsCast"], 1);
}

TEST_F(VotingTest, ConcurrentTokenRequestsOfOneVoterIssueOne) {
  std::string id = open_election();
  auto key = token_key(id);
  std::vector<std::future<HttpResult>> calls;
  for (int i = 0; i < 20; ++i) {
    Bytes blinded = crypto::blind(key, Bytes(32, static_cast<unsigned char>(i)),
                                  crypto::kSha384PssDeterministic)
                        .blinded_msg;
    calls.push_back(
        std::async(std::launch::async, [&, blinded] { return request_token(id, "v1", blinded); }));
  }
  int issued = 0, refused = 0;
  for (auto& c : calls) {
    HttpResult r = c.get();
    if (r.status == 200) ++issued;
    if (r.status == 409 && code_of(r) == "token_already_issued") ++refused;
  }
  EXPECT_EQ(issued, 1);
  EXPECT_EQ(refused, 19);
  EXPECT_EQ(stats(id)["tokensIssued"], 1);
}

TEST_F(VotingTest, ResultsAreFinalAfterCloseAndLiveOnlyWhenAsked) {
  std::string id = open_election();
  EXPECT_EQ(submit(id, obtain_token(id, "v1"), selections({{"mayor", "alice"}, {"council", "c2"}}))
                .status,
            201u);
  EXPECT_EQ(submit(id, obtain_token(id, "v2"), selections({{"mayor", "bob"}})).status, 201u);
  EXPECT_EQ(submit(id, obtain_token(id, "v3"),
                   selections({{"mayor", "alice"}, {"council", "c2"}, {"council", "c3"}}))
                .status,
            201u);
  auto hidden = call("GET", "/api/v1/public/elections/" + id + "/results");
  EXPECT_EQ(hidden.status, 409u);
  EXPECT_EQ(code_of(hidden), "results_not_available");

  ASSERT_EQ(call("POST", "/api/v1/elections/" + id + "/close", nullptr, admin_headers()).status,
            200u);
  // The close publishes the election's public view with its final count, and the
  // results at once (the process that closed it forgets the status it had).
  EXPECT_EQ(json::parse(call("GET", "/api/v1/public/elections/" + id).body)["ballotsCast"], 3);
  HttpResult r = call("GET", "/api/v1/public/elections/" + id + "/results");
  ASSERT_EQ(r.status, 200u) << r.body;
  json results = json::parse(r.body);
  EXPECT_EQ(results["final"], true);
  EXPECT_EQ(results["ballotsCast"], 3);
  EXPECT_EQ(
      results["contests"],
      json::parse(R"([{"contestId":"mayor","ballots":3,"totals":[{"optionId":"alice","votes":2},
              {"optionId":"bob","votes":1}]},{"contestId":"council","ballots":2,"totals":[
              {"optionId":"c1","votes":0},{"optionId":"c2","votes":2},{"optionId":"c3","votes":1}]}])"));
  // The same results, on the audit chain, in the close's transaction.
  auto audit = json::parse(call("GET", "/api/v1/public/elections/" + id + "/audit").body);
  const json& last = audit["events"].back();
  EXPECT_EQ(last["type"], "results.published");
  EXPECT_EQ(last["payload"], results);
  auto etag = r.header("etag");
  EXPECT_EQ(
      call("GET", "/api/v1/public/elections/" + id + "/results", nullptr, {{"If-None-Match", etag}})
          .status,
      304u);

  std::string live = open_election({"l1"}, mayor_election("live"));
  auto empty = call("GET", "/api/v1/public/elections/" + live + "/results");
  ASSERT_EQ(empty.status, 200u) << empty.body;
  EXPECT_EQ(json::parse(empty.body)["final"], false);
  EXPECT_EQ(submit(live, obtain_token(live, "l1"), selections({{"mayor", "bob"}})).status, 201u);
  EXPECT_TRUE(eventually([&] {
    auto now = json::parse(call("GET", "/api/v1/public/elections/" + live + "/results").body);
    return now["ballotsCast"] == 1 && now["contests"][0]["totals"][1]["votes"] == 1;
  })) << "live results did not show the ballot within the wait";
}

// One voter's whole flow against a server process: a new election with one voter,
// opened, a token, a ballot. What the tests below look for afterwards.
struct CastVote {
  std::string voter_id;
  std::string credential;
  Bytes token_message;
  std::string receipt;
};

CastVote cast_one_vote(std::uint16_t port, const std::string& voter_id) {
  auto call = [port](const std::string& method, const std::string& target, const json& body,
                     Headers headers) {
    return http_request(port, method, target, body.is_null() ? "" : body.dump(), headers);
  };
  CastVote vote{voter_id, {}, Bytes(32), {}};
  crypto::random_bytes(vote.token_message);
  auto r = call("POST", "/api/v1/elections", mayor_election(), admin_headers());
  std::string id = json::parse(r.body)["id"];
  r = call("POST", "/api/v1/elections/" + id + "/voters", {{"voters", {{{"voterId", voter_id}}}}},
           admin_headers());
  vote.credential = json::parse(r.body)["credentials"][0]["credential"];
  call("POST", "/api/v1/elections/" + id + "/open", nullptr, admin_headers());
  r = call("GET", "/api/v1/elections/" + id + "/token-key", nullptr, {});
  auto key = *crypto::RsaPublicKey::from_spki_der(
      *crypto::from_base64url(json::parse(r.body)["publicKey"].get<std::string>()));
  auto blinded = crypto::blind(key, vote.token_message, crypto::kSha384PssDeterministic);
  r = call("POST", "/api/v1/voting/token",
           {{"electionId", id},
            {"voterId", voter_id},
            {"credential", vote.credential},
            {"blindedMessage", crypto::to_base64url(blinded.blinded_msg)}},
           kJsonHeaders);
  EXPECT_EQ(r.status, 200u) << r.body;
  auto sig = crypto::finalize(
      key, vote.token_message,
      *crypto::from_base64url(json::parse(r.body)["blindSignature"].get<std::string>()),
      blinded.inv, crypto::kSha384PssDeterministic);
  r = call("POST", "/api/v1/voting/submit",
           {{"electionId", id},
            {"token", Token{vote.token_message, sig.value_or(Bytes{})}.to_json()},
            {"selections", selections({{"mayor", "alice"}})}},
           kJsonHeaders);
  EXPECT_EQ(r.status, 201u) << r.body;
  vote.receipt = json::parse(r.body).value("receipt", "");
  return vote;
}

// Secrecy: the server writes down neither voter ids nor credentials, and no client
// address on the voting routes.
TEST(VotingLogTest, VotingLeavesNoVoterOrAddressInTheLog) {
  auto [child, port] = spawn_server();
  CastVote vote = cast_one_vote(port, "secret-voter-42");
  ::kill(child.pid, SIGTERM);
  EXPECT_EQ(child.wait_exit(), 0);
  EXPECT_EQ(child.output.find(vote.voter_id), std::string::npos);
  EXPECT_EQ(child.output.find(vote.credential), std::string::npos);
  EXPECT_EQ(child.output.find(vote.receipt), std::string::npos);
  EXPECT_EQ(child.output.find(crypto::to_base64url(vote.token_message)), std::string::npos);
  std::size_t voting_lines = 0;
  std::istringstream lines(child.output);
  for (std::string line; std::getline(lines, line);) {
    if (line.find("/api/v1/voting") == std::string::npos) continue;
    ++voting_lines;
    EXPECT_NE(line.find("client=hidden"), std::string::npos) << line;
    EXPECT_EQ(line.find("127.0.0.1"), std::string::npos) << line;
  }
  EXPECT_EQ(voting_lines, 2u);
}

// 201 means committed (docs/api/README.md, Voting). A ballot acknowledged just before the process
// is killed (no drain, no flush) is still there after a restart.
TEST(VotingDurabilityTest, AnAcknowledgedBallotSurvivesSigkill) {
  auto [first, port] = spawn_server();
  CastVote vote = cast_one_vote(port, "k");
  ASSERT_FALSE(vote.receipt.empty());
  ::kill(first.pid, SIGKILL);
  first.wait_exit();

  auto [second, port2] = spawn_server();
  auto found = http_request(port2, "GET", "/api/v1/voting/receipts/" + vote.receipt);
  EXPECT_EQ(found.status, 200u) << found.body;
  ::kill(second.pid, SIGTERM);
  EXPECT_EQ(second.wait_exit(), 0);
}

// PostgreSQL frozen: SIGSTOP to the postmaster and every process of it, which is what a
// partition looks like from here (nothing answers, no connection breaks, the kernel even
// takes what is sent). Sent again and again, each answer bounded.
class FrozenPostgres {
 public:
  FrozenPostgres() {
    const std::string pidfile = required_env("OBSERVERNET_TEST_PG_DATA") + "/postmaster.pid";
    postmaster_ = std::stol(read_file(pidfile));
  }
  ~FrozenPostgres() { thaw(); }
  void freeze() { signal("STOP"); }
  void thaw() { signal("CONT"); }

 private:
  void signal(const std::string& name) {
    const std::string pid = std::to_string(postmaster_);
    // Children first, so that none is left running while its postmaster stops.
    run_shell("kill -" + name + " $(pgrep -P " + pid + ") " + pid);
  }
  long postmaster_ = 0;
};

// Ballots, tokens and reads while PostgreSQL is frozen for 10 s: every request gets an
// answer within the database's call timeout (plus a connect attempt): ballots and tokens
// 503 with Retry-After, readiness 503, a cached public read 200. When it thaws the server
// serves again without a restart, and every ballot that was acknowledged is there once,
// the 503ed ones after their retries.
class FrozenPostgresTest : public VotingTest {
 protected:
  // Calls cut after 3 s, so that a cut answer (3 s, and 2 s for a reconnect that times
  // out) cannot be mistaken for one that waited for the thaw (10 s).
  static app::Config short_calls() {
    app::Config c = test_config();
    c.database.statement_timeout = 2s;
    c.database.call_timeout = 3s;
    return c;
  }
  FrozenPostgresTest() : VotingTest(short_calls()) {}
};

TEST_F(FrozenPostgresTest, BallotsGet503sInTimeAndNoneIsLost) {
  std::vector<std::string> voters;
  for (int i = 0; i < 30; ++i) voters.push_back("f" + std::to_string(i));
  const std::string id = open_election(voters);
  std::vector<Token> tokens;
  for (int i = 0; i < 20; ++i) tokens.push_back(obtain_token(id, voters[i]));
  const std::string election = "/api/v1/public/elections/" + id;
  ASSERT_EQ(call("GET", election).status, 200u);  // cached from here
  const json picks = selections({{"mayor", "alice"}});

  struct Answer {
    HttpResult result;
    double seconds = 0;
  };
  auto timed = [](auto request) {
    return std::async(std::launch::async, [request] {
      const auto started = std::chrono::steady_clock::now();
      Answer a{request()};
      a.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
      return a;
    });
  };
  FrozenPostgres postgres;
  postgres.freeze();
  const auto frozen_at = std::chrono::steady_clock::now();
  std::vector<std::future<Answer>> ballots;
  for (const Token& token : tokens) {
    ballots.push_back(timed([&, token] { return submit(id, token, picks); }));
  }
  std::vector<std::future<Answer>> others;
  Bytes blinded =
      crypto::blind(token_key(id), Bytes(32, 5), crypto::kSha384PssDeterministic).blinded_msg;
  others.push_back(timed([&] { return request_token(id, voters[25], blinded); }));
  others.push_back(timed([&] { return call("GET", "/readyz"); }));
  others.push_back(timed([&] { return call("GET", election); }));

  double slowest = 0;
  std::vector<Token> retry;
  for (std::size_t i = 0; i < ballots.size(); ++i) {
    const Answer a = ballots[i].get();
    slowest = std::max(slowest, a.seconds);
    if (a.result.status == 503u) {
      EXPECT_EQ(a.result.header("retry-after"), "1");
      retry.push_back(tokens[i]);
    } else {
      EXPECT_EQ(a.result.status, 201u) << a.result.body;  // committed before the freeze bit
    }
  }
  const Answer token = others[0].get();
  const Answer ready = others[1].get();
  const Answer cached = others[2].get();
  EXPECT_EQ(token.result.status, 503u) << token.result.body;
  EXPECT_EQ(ready.result.status, 503u) << ready.result.body;
  EXPECT_EQ(cached.result.status, 200u);
  for (const Answer* a : {&token, &ready, &cached}) slowest = std::max(slowest, a->seconds);
  // The call timeout (3 s), a reconnect's connect timeout (2 s), and room for a
  // sanitized build; before calls had a deadline, every answer waited for the thaw.
  EXPECT_LT(slowest, 8.0);

  std::this_thread::sleep_until(frozen_at + 10s);
  postgres.thaw();
  const auto thawed_at = std::chrono::steady_clock::now();
  EXPECT_TRUE(eventually([&] { return call("GET", "/readyz").status == 200u; }, 15s));
  const double recovery =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - thawed_at).count();
  EXPECT_LE(recovery, 10.0);

  // The 503ed ballots again, until answered: each is taken once, whether its first try
  // committed after all (200, the same receipt) or not (201).
  for (const Token& t : retry) {
    HttpResult r;
    EXPECT_TRUE(eventually(
        [&] {
          r = submit(id, t, picks);
          return r.status == 200u || r.status == 201u;
        },
        15s))
        << r.status << " " << r.body;
  }
  const auto cast = stats(id)["ballotsCast"].get<int>();
  EXPECT_EQ(cast, 20) << "lost or duplicated";
  std::cout << "PostgreSQL frozen 10 s: " << ballots.size() << " ballots, " << retry.size()
            << " answered 503 and retried; slowest answer " << slowest << " s; ready again "
            << recovery << " s after the thaw; ballots stored " << cast << " (lost "
            << std::max(0, 20 - cast) << ", duplicated " << std::max(0, cast - 20) << ")\n";
}

// ---- One election's trouble is its own (store/group_commit.hpp, store/voting.cpp) ----------

// A batch long enough to hold both elections' ballots sent at once.
class MixedBatchTest : public VotingTest {
 protected:
  static app::Config long_batches() {
    app::Config c = test_config();
    c.ballots.batch_size = 100;
    c.ballots.batch_wait = 300ms;
    c.tokens.commit.batch_wait = 300ms;
    return c;
  }
  MixedBatchTest() : VotingTest(long_batches()) {}

  // Sends each ballot at once, one thread each; the answers in the same order.
  std::vector<HttpResult> submit_together(
      const std::vector<std::pair<std::string, Token>>& ballots) {
    std::vector<std::future<HttpResult>> pending;
    for (const auto& [id, token] : ballots) {
      pending.push_back(std::async(std::launch::async, [this, id, token] {
        return submit(id, token, selections({{"mayor", "alice"}}));
      }));
    }
    std::vector<HttpResult> answers;
    for (auto& p : pending) answers.push_back(p.get());
    return answers;
  }
};

// An election whose ballots the database refuses (a constraint, as the schema owner) shares
// a batch with another's: before, every ballot of the batch got a 500; now the batch is
// written again election by election, and only the refused election's ballots fail.
TEST_F(MixedBatchTest, OneElectionsFailureFailsOnlyItsOwnBallots) {
  const std::string refused = open_election({"r1", "r2"});
  const std::string other = open_election({"o1", "o2"});
  const std::vector<std::pair<std::string, Token>> ballots = {
      {refused, obtain_token(refused, "r1")},
      {other, obtain_token(other, "o1")},
      {refused, obtain_token(refused, "r2")},
      {other, obtain_token(other, "o2")}};

  pqxx::connection owner(owner_database_url());
  auto ddl = [&](const std::string& sql) {
    pqxx::work tx(owner);
    tx.exec0(sql);
    tx.commit();
  };
  // Refused by a constraint the schema owner adds (a member of the staging table's owner).
  ddl("ALTER TABLE ballots_staged ADD CONSTRAINT test_refuse_election CHECK (election_id <> '" +
      refused + "'::uuid) NOT VALID");
  const auto restore = [&] {
    ddl("ALTER TABLE ballots_staged DROP CONSTRAINT test_refuse_election");
  };
  std::vector<HttpResult> answers;
  try {
    answers = submit_together(ballots);
  } catch (...) {
    restore();
    throw;
  }
  restore();

  EXPECT_EQ(answers[0].status, 500u) << answers[0].body;
  EXPECT_EQ(answers[2].status, 500u) << answers[2].body;
  EXPECT_EQ(answers[1].status, 201u) << answers[1].body;
  EXPECT_EQ(answers[3].status, 201u) << answers[3].body;
  // One batch of four (batch_wait holds it open), written again as two.
  EXPECT_TRUE(metrics_show(server.port(), "ballot_batch_size_count 1"));
  EXPECT_TRUE(metrics_show(server.port(), "ballot_batch_splits_total 1"));
  EXPECT_EQ(stats(other)["ballotsCast"], 2);
  EXPECT_EQ(stats(refused)["ballotsCast"], 0);
  // The refused ones, sent again once the database takes them.
  EXPECT_EQ(submit(refused, ballots[0].second, selections({{"mayor", "alice"}})).status, 201u);
}

// An election whose row another transaction holds FOR UPDATE, as an opening or a close
// does while it runs: its ballots and tokens are answered 503 at once, to be retried,
// and the other election's ballots in the same batch are taken. Before, the whole batch
// waited for the lock (and failed at the statement timeout).
TEST_F(MixedBatchTest, ABusyElectionHoldsUpNoOtherElectionsBallots) {
  const std::string busy = open_election({"b1", "b2", "b3"});
  const std::string other = open_election({"o1"});
  const std::vector<std::pair<std::string, Token>> ballots = {{busy, obtain_token(busy, "b1")},
                                                              {other, obtain_token(other, "o1")}};
  const Bytes blinded =
      crypto::blind(token_key(busy), Bytes(32, 7), crypto::kSha384PssDeterministic).blinded_msg;

  pqxx::connection holder(required_env("OBSERVERNET_TEST_DATABASE_URL"));
  auto lock = std::make_unique<pqxx::work>(holder);
  lock->exec_params("SELECT 1 FROM elections WHERE id = $1::uuid FOR UPDATE", busy);
  const auto answers = submit_together(ballots);
  const HttpResult token = request_token(busy, "b2", blinded);
  lock->commit();  // the lock held until every answer above came

  EXPECT_EQ(answers[0].status, 503u) << answers[0].body;
  EXPECT_EQ(answers[0].header("retry-after"), "1");
  EXPECT_EQ(answers[1].status, 201u) << answers[1].body;
  EXPECT_EQ(token.status, 503u) << token.body;
  EXPECT_EQ(token.header("retry-after"), "1");
  // Nothing of the busy election was written; once free, both go through.
  EXPECT_EQ(stats(busy)["ballotsCast"], 0);
  EXPECT_EQ(stats(busy)["tokensIssued"], 1);  // b1's, before the lock
  EXPECT_EQ(submit(busy, ballots[0].second, selections({{"mayor", "alice"}})).status, 201u);
  EXPECT_EQ(request_token(busy, "b2", blinded).status, 200u);
}

// A large voter import into an open election while it and another election take ballots
// (mixed batches): before, the import held the row FOR UPDATE for its whole COPY, and
// every batch holding one of its ballots waited for it, then failed.
TEST_F(MixedBatchTest, BallotsAreTakenWhileVotersAreImported) {
  constexpr int kImported = 50'000;
  constexpr int kBallots = 20;              // per election
  std::vector<std::string> voters, others;  // credentials_ is keyed by voter id
  for (int i = 0; i < kBallots; ++i) {
    voters.push_back("w" + std::to_string(i));
    others.push_back("x" + std::to_string(i));
  }
  const std::string importing = open_election(voters);
  const std::string other = open_election(others);
  std::vector<std::pair<std::string, Token>> ballots;
  for (int i = 0; i < kBallots; ++i) {
    ballots.push_back({importing, obtain_token(importing, voters[i])});
    ballots.push_back({other, obtain_token(other, others[i])});
  }

  std::string roll = "voterId\n";
  for (int i = 0; i < kImported; ++i) roll += "imported-" + std::to_string(i) + "\n";
  auto import = std::async(std::launch::async, [&] {
    RawConnection conn(server.port());  // longer than http_request waits, when sanitized
    conn.send("POST /api/v1/elections/" + importing +
              "/voters HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + kTestAdminKey +
              "\r\nContent-Type: text/csv\r\nContent-Length: " + std::to_string(roll.size()) +
              "\r\nConnection: close\r\n\r\n" + roll);
    return conn.read_response(120s);
  });
  // Its transaction holds the row from before the COPY until it commits.
  pqxx::connection watcher(required_env("OBSERVERNET_TEST_DATABASE_URL"));
  ASSERT_TRUE(eventually([&] {
    pqxx::nontransaction tx(watcher);
    return tx.exec1(
                 "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%voter_import%'"
                 " AND state <> 'idle' AND pid <> pg_backend_pid()")[0]
               .as<int>() > 0;
  }));
  const auto started = std::chrono::steady_clock::now();
  std::vector<HttpResult> answers;
  std::vector<bool> during;           // answered while the import ran
  constexpr std::size_t kRound = 10;  // ballots sent together: one batch, both elections
  for (std::size_t i = 0; i < ballots.size(); i += kRound) {
    for (auto& a : submit_together({ballots.begin() + i, ballots.begin() + i + kRound})) {
      answers.push_back(std::move(a));
      during.push_back(import.wait_for(0s) != std::future_status::ready);
    }
  }
  const double ballots_took =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  const HttpResult imported = import.get();
  ASSERT_EQ(imported.status, 201u) << imported.body.substr(0, 500);
  EXPECT_EQ(json::parse(imported.body)["registered"], kImported);
  int in_time = 0;
  for (std::size_t i = 0; i < answers.size(); ++i) {
    EXPECT_EQ(answers[i].status, 201u) << answers[i].body;
    if (answers[i].status == 201u && during[i]) ++in_time;
  }
  // Four batches of 300 ms: the import, many seconds long, must not have held any back.
  EXPECT_EQ(in_time, 2 * kBallots) << "ballots answered only after the import";
  EXPECT_EQ(stats(importing)["ballotsCast"], kBallots);
  EXPECT_EQ(stats(other)["ballotsCast"], kBallots);
  EXPECT_EQ(stats(importing)["votersRegistered"], kImported + kBallots);
  std::cout << "Import of " << kImported << " voters during voting: " << 2 * kBallots
            << " ballots in mixed batches, " << in_time << " answered 201 while it ran ("
            << ballots_took << " s)\n";
}

// The master key seals every election's token key: a server given another one must
// refuse to sign (a logged 500), never sign with whatever it decrypted.
TEST_F(VotingTest, AWrongMasterKeyFailsLoudlyAndSignsNothing) {
  std::string id = open_election();
  app::Config other = test_config();
  other.auth.master_key = std::string(64, 'f');
  TestServer wrong(other);
  // The public key needs no master key: only signing unseals the private one.
  auto r = http_request(wrong.port(), "GET", "/api/v1/elections/" + id + "/token-key");
  EXPECT_EQ(r.status, 200u) << r.body;
  auto key = token_key(id);  // from the right server
  EXPECT_EQ(json::parse(r.body)["keyId"], key.key_id());
  Bytes blinded = crypto::blind(key, Bytes(32, 4), crypto::kSha384PssDeterministic).blinded_msg;
  auto token = http_request(wrong.port(), "POST", "/api/v1/voting/token",
                            json{{"electionId", id},
                                 {"voterId", "v1"},
                                 {"credential", credentials_.at("v1")},
                                 {"blindedMessage", crypto::to_base64url(blinded)}}
                                .dump(),
                            kJsonHeaders);
  EXPECT_EQ(token.status, 500u) << token.body;
  EXPECT_EQ(stats(id)["tokensIssued"], 0);
  // The right key still works.
  EXPECT_EQ(request_token(id, "v1", blinded).status, 200u);
}

class VotingQueueTest : public VotingTest {
 protected:
  static app::Config small_queue() {
    app::Config c = test_config();
    c.ballots.queue_depth = 2;
    c.ballots.batch_size = 100;
    c.ballots.batch_wait = 1500ms;  // two ballots wait for a batch that does not fill
    return c;
  }
  VotingQueueTest() : VotingTest(small_queue()) {}
};

TEST_F(VotingQueueTest, AFullQueueAnswers503WithRetryAfter) {
  std::string id = open_election();
  std::vector<Token> tokens = {obtain_token(id, "v1"), obtain_token(id, "v2"),
                               obtain_token(id, "v3")};
  auto first = std::async(std::launch::async, [&] {
    return submit(id, tokens[0], selections({{"mayor", "alice"}}));
  });
  auto second = std::async(std::launch::async, [&] {
    return submit(id, tokens[1], selections({{"mayor", "alice"}}));
  });
  EXPECT_TRUE(eventually([&] { return metrics_show(server.port(), "ballot_queue_depth 2"); }));
  auto third = submit(id, tokens[2], selections({{"mayor", "bob"}}));
  EXPECT_EQ(third.status, 503u) << third.body;
  EXPECT_EQ(third.header("retry-after"), "1");
  EXPECT_EQ(first.get().status, 201u);
  EXPECT_EQ(second.get().status, 201u);
  EXPECT_TRUE(metrics_show(server.port(), "ballot_queue_rejected_total 1"));
  // Retried once there is room: accepted.
  EXPECT_EQ(submit(id, tokens[2], selections({{"mayor", "bob"}})).status, 201u);
}

// Ballots queued behind a batch that cannot commit (a table lock held for 3 s) wait no
// longer than ballots.queue_timeout_ms: answered 503 with Retry-After, nothing written,
// instead of an answer as late as the database makes it.
class QueueTimeoutTest : public VotingTest {
 protected:
  static app::Config small_batches() {
    app::Config c = test_config();
    c.ballots.batch_size = 5;
    c.ballots.batch_wait = 200ms;  // the first five sent fill the first batch
    c.ballots.queue_timeout = 1s;
    return c;
  }
  QueueTimeoutTest() : VotingTest(small_batches()) {}
};

TEST_F(QueueTimeoutTest, AQueuedBallotIsAnswered503AtItsQueueTimeout) {
  std::vector<std::string> voters;
  for (int i = 0; i < 30; ++i) voters.push_back("q" + std::to_string(i));
  const std::string id = open_election(voters);
  std::vector<Token> tokens;
  for (const auto& v : voters) tokens.push_back(obtain_token(id, v));
  const json picks = selections({{"mayor", "bob"}});

  pqxx::connection holder(required_env("OBSERVERNET_TEST_DATABASE_URL"));
  auto lock = std::make_unique<pqxx::work>(holder);
  lock->exec0("LOCK TABLE ballots_staged IN SHARE MODE");  // no batch can stage meanwhile
  const auto locked_at = std::chrono::steady_clock::now();
  std::vector<std::future<std::pair<HttpResult, double>>> answers;
  for (const Token& t : tokens) {
    answers.push_back(std::async(std::launch::async, [&, t] {
      const auto sent = std::chrono::steady_clock::now();
      HttpResult r = submit(id, t, picks);
      return std::pair{
          r, std::chrono::duration<double>(std::chrono::steady_clock::now() - sent).count()};
    }));
  }
  std::this_thread::sleep_until(locked_at + 3s);
  lock->commit();

  int accepted = 0, expired = 0;
  double slowest = 0;
  std::vector<Token> again;
  for (std::size_t i = 0; i < answers.size(); ++i) {
    const auto [r, seconds] = answers[i].get();
    slowest = std::max(slowest, seconds);
    if (r.status == 201u) {
      ++accepted;
    } else {
      EXPECT_EQ(r.status, 503u) << r.body;
      EXPECT_EQ(r.header("retry-after"), "1");
      ++expired;
      again.push_back(tokens[i]);
    }
  }
  // The batch that waited for the lock was taken before the others' second in the queue
  // was over; at the lock's end the rest were past it. Before, all 30 were accepted.
  EXPECT_EQ(accepted, 5);
  EXPECT_EQ(expired, 25);
  EXPECT_LT(slowest, 10.0);  // the lock's 3 s, and room for a sanitized build
  EXPECT_TRUE(metrics_show(server.port(), "ballot_queue_expired_total " + std::to_string(expired)));
  EXPECT_EQ(stats(id)["ballotsCast"], accepted) << "an expired ballot was written";
  for (const Token& t : again) EXPECT_EQ(submit(id, t, picks).status, 201u);
  EXPECT_EQ(stats(id)["ballotsCast"], 30);
  std::cout << "Queue timeout 1 s behind a 3 s lock: " << accepted << " accepted, " << expired
            << " answered 503 (then accepted on retry); slowest answer " << slowest << " s\n";
}

// The default limits, with Redis, behind a proxy the server trusts (127.0.0.1), which
// names each test's client in X-Forwarded-For: an address no other run used.
class SharedAddressTest : public VotingTest {
 protected:
  static app::Config default_limits() {
    app::Config c = test_config();
    c.ratelimit = {};
    c.ratelimit.trusted_proxies = cache::CidrList::parse("127.0.0.1");
    c.ratelimit.redis_timeout = 250ms;  // a sanitized build on a busy machine is slow
    return c;
  }
  SharedAddressTest() : VotingTest(default_limits()) {
    client_headers_ = {{"X-Forwarded-For", fresh_address()}};
  }
  static std::string fresh_address() {
    std::array<unsigned char, 2> b;
    crypto::random_bytes(b);
    return "203.0." + std::to_string(b[0]) + "." + std::to_string(b[1] % 254 + 1);
  }
};

// A campus NAT, a carrier's or a union hall's kiosk: three hundred voters from one address
// all vote within a minute. Tokens are limited per voter and ballots per token; the address
// has only a ceiling against floods, which still holds, as does the limit on guessing one
// voter's credential from anywhere.
TEST_F(SharedAddressTest, ThreeHundredVotersBehindOneAddressAllVote) {
  std::vector<std::string> voters;
  for (int i = 0; i < 301; ++i) voters.push_back("nat-" + std::to_string(i));
  const std::string id = open_election(voters);
  const auto started = std::chrono::steady_clock::now();
  for (int i = 0; i < 300; ++i) {
    const Token token = obtain_token(id, voters[i]);  // the token key, then the token
    const HttpResult r = submit(id, token, selections({{"mayor", i % 3 ? "alice" : "bob"}}));
    ASSERT_EQ(r.status, 201u) << "voter " << i << ": " << r.body;
    if (i == 0) {
      EXPECT_EQ(r.header("ratelimit-policy"),
                R"("submit";q=600;w=60, "global";q=2000;w=60, "submit-per-token";q=10;w=60)");
    }
  }
  std::cout << "300 voters from one address voted in "
            << std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count()
            << " s\n";
  EXPECT_EQ(stats(id)["ballotsCast"], 300);

  // A flood from that address is still capped: its submit ceiling is 600 a minute, 300 of
  // which the voters used (more if the minute turned meanwhile, the older window weighing
  // less as the new one goes on).
  int admitted = 0;
  HttpResult refused;
  for (int i = 0; i < 700; ++i) {
    refused = call("POST", "/api/v1/voting/submit", json::object());
    if (refused.status != 400u) break;
    ++admitted;
  }
  EXPECT_EQ(refused.status, 429u) << refused.body;
  EXPECT_GE(admitted, 300);
  EXPECT_LT(admitted, 600);
  EXPECT_NE(refused.body.find("Too many requests from this client"), std::string::npos);

  // Guessing voter nat-300's credential from a new address each time: five tries a minute,
  // then even the right credential waits (the price of the limit: a guesser can hold a
  // voter back for a minute, never take their vote).
  auto key = token_key(id);
  auto blinded = crypto::blind(key, Bytes(32, 7), crypto::kSha384PssDeterministic).blinded_msg;
  for (int i = 0; i < 5; ++i) {
    client_headers_ = {{"X-Forwarded-For", fresh_address()}};
    const HttpResult r = request_token(id, "nat-300", blinded, "AAAAAAAAAAAAAAAAAAAAAAAAAA");
    EXPECT_EQ(r.status, 401u) << r.body;
  }
  client_headers_ = {{"X-Forwarded-For", fresh_address()}};
  const HttpResult guessed = request_token(id, "nat-300", blinded);
  EXPECT_EQ(guessed.status, 429u) << guessed.body;
  EXPECT_NE(guessed.body.find("Too many token requests for this voter"), std::string::npos);
  EXPECT_EQ(guessed.header("ratelimit-policy"),
            R"("token";q=600;w=60, "global";q=2000;w=60, "token-per-voter";q=5;w=60)");
  EXPECT_FALSE(guessed.header("retry-after").empty());
  EXPECT_TRUE(metrics_show(server.port(), R"(rate_limited_total{route="token-per-voter"} 1)"));
}

// One token sent again and again (from anywhere): ten times a minute, then 429; the
// count is this process's only, never in Redis.
TEST_F(SharedAddressTest, OneTokenIsSubmittedTenTimesAMinute) {
  const std::string id = open_election();
  const Token token = obtain_token(id, "v1");
  const json picks = selections({{"mayor", "alice"}});
  for (int i = 0; i < 10; ++i) {
    client_headers_ = {{"X-Forwarded-For", fresh_address()}};
    const HttpResult r = submit(id, token, picks);
    EXPECT_EQ(r.status, i == 0 ? 201u : 200u) << r.body;
    EXPECT_NE(r.header("ratelimit").find("\"submit-per-token\";r=" + std::to_string(9 - i)),
              std::string::npos)
        << r.header("ratelimit");
  }
  const HttpResult refused = submit(id, token, picks);
  EXPECT_EQ(refused.status, 429u) << refused.body;
  EXPECT_NE(refused.body.find("Too many submissions of this token"), std::string::npos);
  // Another token is not held back.
  EXPECT_EQ(submit(id, obtain_token(id, "v2"), picks).status, 201u);
  EXPECT_TRUE(metrics_show(server.port(), R"(rate_limited_total{route="submit-per-token"} 1)"));
}

// Signed tokens wait for their group commit (store/issuance_writer.hpp): here for 1.5 s,
// so that the tests can see a batch gather, fill the queue, or meet a close.
class TokenQueueTest : public VotingTest {
 protected:
  static app::Config small_queue() {
    app::Config c = test_config();
    c.tokens.commit = {.batch_size = 100, .batch_wait = 1500ms, .queue_depth = 2, .writers = 1};
    return c;
  }
  TokenQueueTest() : VotingTest(small_queue()) {}
  std::future<Token> token_later(const std::string& id, const std::string& voter) {
    return std::async(std::launch::async, [this, id, voter] { return obtain_token(id, voter); });
  }
};

TEST_F(TokenQueueTest, TokensAreRecordedInBatchesAndAFullQueueAnswers503) {
  std::string id = open_election();
  auto key = token_key(id);
  auto first = token_later(id, "v1");
  auto second = token_later(id, "v2");
  EXPECT_TRUE(eventually([&] { return metrics_show(server.port(), "token_queue_depth 2"); }));
  Bytes blinded = crypto::blind(key, Bytes(32, 3), crypto::kSha384PssDeterministic).blinded_msg;
  auto third = request_token(id, "v3", blinded);
  EXPECT_EQ(third.status, 503u) << third.body;
  EXPECT_EQ(third.header("retry-after"), "1");
  // Both signatures finalize into valid tokens (obtain_token checks), from one transaction.
  EXPECT_FALSE(first.get().signature.empty());
  EXPECT_FALSE(second.get().signature.empty());
  EXPECT_TRUE(metrics_show(server.port(), "token_batch_size_count 1"));
  EXPECT_TRUE(metrics_show(server.port(), "token_batch_size_sum 2"));
  EXPECT_TRUE(metrics_show(server.port(), "token_queue_rejected_total 1"));
  EXPECT_EQ(stats(id)["tokensIssued"], 2);
  // Retried once there is room: issued, and nothing of the refusal was recorded.
  EXPECT_EQ(request_token(id, "v3", blinded).status, 200u);
  EXPECT_EQ(stats(id)["tokensIssued"], 3);
}

TEST_F(TokenQueueTest, ATokenSignedAsTheElectionClosesIsNeitherRecordedNorAnswered) {
  std::string id = open_election();
  auto key = token_key(id);
  Bytes blinded = crypto::blind(key, Bytes(32, 1), crypto::kSha384PssDeterministic).blinded_msg;
  auto late = std::async(std::launch::async, [&] { return request_token(id, "v1", blinded); });
  // Signed, and waiting for its batch: the close commits first.
  EXPECT_TRUE(eventually([&] { return metrics_show(server.port(), "token_queue_depth 1"); }));
  ASSERT_EQ(call("POST", "/api/v1/elections/" + id + "/close", nullptr, admin_headers()).status,
            200u);
  HttpResult r = late.get();
  EXPECT_EQ(r.status, 409u) << r.body;
  EXPECT_EQ(code_of(r), "election_not_open");
  EXPECT_EQ(r.body.find("blindSignature"), std::string::npos);
  EXPECT_EQ(stats(id)["tokensIssued"], 0);
  auto issued = call("GET", "/api/v1/public/elections/" + id + "/issued");
  EXPECT_EQ(issued.status, 200u) << issued.body;
  EXPECT_TRUE(json::parse(issued.body)["voterHashes"].empty()) << issued.body;
}

// ---- The bulletin board (docs/formats.md, Merkle log) --------------------------------------

std::vector<crypto::Digest> digests(const json& hex_list) {
  std::vector<crypto::Digest> out;
  for (const auto& h : hex_list) {
    auto bytes = crypto::from_hex(h.get<std::string>());
    crypto::Digest d{};
    if (bytes && bytes->size() == d.size()) std::copy(bytes->begin(), bytes->end(), d.begin());
    out.push_back(d);
  }
  return out;
}

crypto::Digest digest(const json& hex) {
  return digests(json::array({hex}))[0];
}

class BoardTest : public VotingTest {
 protected:
  explicit BoardTest(app::Config config = test_config()) : VotingTest(std::move(config)) {}

  crypto::Ed25519PublicKey log_key() {
    auto r = call("GET", "/api/v1/public/log-key");
    EXPECT_EQ(r.status, 200u) << r.body;
    json body = json::parse(r.body);
    EXPECT_EQ(body["algorithm"], "Ed25519");
    auto raw = crypto::from_base64url(body["publicKey"].get<std::string>());
    auto key = crypto::Ed25519PublicKey::from_raw(raw.value_or(Bytes{}));
    EXPECT_TRUE(key.has_value());
    EXPECT_EQ(body["keyId"], key->key_id());
    return *key;
  }

  // The newest tree head, its signature checked.
  domain::TreeHead tree_head(const std::string& id) {
    auto r = call("GET", "/api/v1/public/elections/" + id + "/tree-head");
    EXPECT_EQ(r.status, 200u) << r.body;
    auto head = domain::tree_head_from_json(json::parse(r.body));
    EXPECT_TRUE(head.has_value()) << r.body;
    EXPECT_EQ(head->election_id, id);
    EXPECT_TRUE(domain::verify_tree_head(*head, log_key())) << r.body;
    return *head;
  }

  // Casts one ballot per voter, all for `picks`; returns the receipts.
  std::vector<crypto::Digest> cast(const std::string& id, const std::vector<std::string>& voters,
                                   const json& picks) {
    std::vector<crypto::Digest> receipts;
    for (const auto& v : voters) {
      auto r = submit(id, obtain_token(id, v), picks);
      EXPECT_EQ(r.status, 201u) << r.body;
      receipts.push_back(digest(json::parse(r.body)["receipt"]));
    }
    return receipts;
  }
};

TEST_F(BoardTest, BallotsAreSequencedSignedAndProvable) {
  std::string id = open_election({"v1", "v2", "v3", "v4"});
  // Opening starts the log: an empty, signed tree.
  domain::TreeHead empty = tree_head(id);
  EXPECT_EQ(empty.tree_size, 0u);
  EXPECT_EQ(empty.root_hash, crypto::merkle_root({}));

  auto receipts = cast(id, {"v1"}, selections({{"mayor", "alice"}}));
  ASSERT_TRUE(eventually([&] { return tree_head(id).tree_size == 1; }));
  domain::TreeHead one = tree_head(id);
  auto more = cast(id, {"v2", "v3", "v4"}, selections({{"mayor", "bob"}, {"council", "c2"}}));
  receipts.insert(receipts.end(), more.begin(), more.end());
  ASSERT_TRUE(eventually([&] { return tree_head(id).tree_size == 4; }));
  domain::TreeHead four = tree_head(id);

  // The ballots in leaf order rebuild the signed root, and each is one we cast.
  auto page = call("GET", "/api/v1/public/elections/" + id + "/ballots?from=0&limit=3");
  ASSERT_EQ(page.status, 200u) << page.body;
  json first_page = json::parse(page.body);
  EXPECT_EQ(first_page["next"], 3);
  auto rest = call("GET", "/api/v1/public/elections/" + id + "/ballots?from=3");
  ASSERT_EQ(rest.status, 200u) << rest.body;
  json ballots = first_page["ballots"];
  const json second_page = json::parse(rest.body);  // the loop must not outlive it
  for (const auto& b : second_page["ballots"]) ballots.push_back(b);
  EXPECT_TRUE(second_page["next"].is_null());
  ASSERT_EQ(ballots.size(), 4u);
  std::vector<crypto::Digest> leaves;
  for (std::size_t i = 0; i < ballots.size(); ++i) {
    const json& b = ballots[i];
    EXPECT_EQ(b["leafIndex"], i);
    std::vector<domain::Selection> picks;
    for (const auto& s : b["selections"]) picks.push_back({s["contestId"], s["optionId"]});
    const crypto::Digest leaf = crypto::merkle_leaf_hash(
        domain::ballot_leaf(id, picks, b["token"]["message"].get<std::string>(),
                            b["token"]["signature"].get<std::string>()));
    EXPECT_EQ(leaf, digest(b["receipt"]));
    EXPECT_NE(std::find(receipts.begin(), receipts.end(), leaf), receipts.end());
    leaves.push_back(leaf);
  }
  EXPECT_EQ(crypto::merkle_root(leaves), four.root_hash);
  EXPECT_EQ(crypto::merkle_root(std::span(leaves).first(1)), one.root_hash);

  // Every receipt's inclusion proof, from both routes, against the signed root.
  for (const auto& receipt : receipts) {
    auto proof = call("GET", "/api/v1/public/elections/" + id +
                                 "/proofs/inclusion?receipt=" + crypto::to_hex(receipt));
    ASSERT_EQ(proof.status, 200u) << proof.body;
    json p = json::parse(proof.body);
    EXPECT_EQ(p["treeSize"], 4);
    EXPECT_TRUE(crypto::verify_inclusion(receipt, p["leafIndex"], 4, digests(p["auditPath"]),
                                         four.root_hash));
    auto status = call("GET", "/api/v1/voting/receipts/" + crypto::to_hex(receipt));
    json st = json::parse(status.body);
    EXPECT_EQ(st["status"], "sequenced") << status.body;
    EXPECT_EQ(st["leafIndex"], p["leafIndex"]);
    EXPECT_TRUE(crypto::verify_inclusion(receipt, st["leafIndex"], st["treeSize"],
                                         digests(st["inclusionProof"]), four.root_hash));
  }
  // The log only grew: the first tree head is consistent with the newest.
  auto consistency =
      call("GET", "/api/v1/public/elections/" + id + "/proofs/consistency?first=1&second=4");
  ASSERT_EQ(consistency.status, 200u) << consistency.body;
  EXPECT_TRUE(crypto::verify_consistency(1, 4, one.root_hash, four.root_hash,
                                         digests(json::parse(consistency.body)["proof"])));
  EXPECT_EQ(stats(id)["ballotsSequenced"], 4);
  EXPECT_TRUE(metrics_show(server.port(), "ballots_pending_sequencing 0"));
}

TEST_F(BoardTest, BadParametersAreProblemsAndChangeNothing) {
  std::string id = open_election({"v1"});
  auto receipts = cast(id, {"v1"}, selections({{"mayor", "alice"}}));
  ASSERT_TRUE(eventually([&] { return tree_head(id).tree_size == 1; }));
  const std::string base = "/api/v1/public/elections/" + id;
  const std::string receipt = crypto::to_hex(receipts[0]);
  for (const std::string& target :
       {base + "/proofs/inclusion?receipt=" + receipt + "&treeSize=2",
        base + "/proofs/inclusion?receipt=" + receipt + "&treeSize=0",
        base + "/proofs/inclusion?receipt=" + receipt + "&treeSize=-1",
        base + "/proofs/inclusion?receipt=" + receipt + "&treeSize=one",
        base + "/proofs/inclusion?receipt=zz", base + "/proofs/inclusion",
        base + "/proofs/consistency?first=1", base + "/proofs/consistency?first=2&second=1",
        base + "/proofs/consistency?first=1&second=2",
        base + "/proofs/consistency?first=x&second=1", base + "/ballots?from=2",
        base + "/ballots?from=-1", base + "/ballots?limit=1001", base + "/ballots?limit=0"}) {
    auto r = call("GET", target);
    EXPECT_EQ(r.status, 400u) << target << ": " << r.body;
    EXPECT_EQ(r.header("content-type"), "application/problem+json") << target;
  }
  EXPECT_EQ(call("GET", base + "/proofs/inclusion?receipt=" + std::string(64, '0')).status, 404u);
  auto draft = call("POST", "/api/v1/elections", mayor_election(), admin_headers());
  const std::string draft_id = json::parse(draft.body)["id"];
  EXPECT_EQ(call("GET", "/api/v1/public/elections/" + draft_id + "/tree-head").status, 404u);
  EXPECT_EQ(tree_head(id).tree_size, 1u);
}

// What a process loads from PostgreSQL is checked before it is served: a log whose leaves
// or tree head were altered in the database is an alert and a 503, never a proof; once
// the stored log is right again, it is served again.
TEST_F(BoardTest, AnAlteredStoredLogIsNeverServed) {
  std::string id = open_election({"v1", "v2", "v3"});
  auto receipts = cast(id, {"v1", "v2", "v3"}, selections({{"mayor", "alice"}}));
  ASSERT_TRUE(eventually([&] { return tree_head(id).tree_size == 3; }));
  const std::string inclusion =
      "/api/v1/public/elections/" + id + "/proofs/inclusion?receipt=" + crypto::to_hex(receipts[0]);
  pqxx::connection owner(owner_database_url());
  auto sql = [&owner](const std::string& statement) {
    pqxx::work tx(owner);
    tx.exec(statement);
    tx.commit();
  };
  // Flips the first byte of the first leaf, or of the newest tree head's signature.
  const std::string flip_leaf =
      "UPDATE log_chunks SET leaf_hashes = set_byte(leaf_hashes, 0, "
      "get_byte(leaf_hashes, 0) # 1) WHERE election_id = '" +
      id + "' AND first_index = 0";
  const std::string flip_signature =
      "UPDATE tree_heads SET signature = set_byte(signature, 0, get_byte(signature, 0) # 1)"
      " WHERE election_id = '" +
      id + "' AND tree_size = 3";

  for (const std::string& flip : {flip_leaf, flip_signature}) {
    sql(flip);
    // A process that loads it now (a fresh one: this one checked its log before).
    TestServer fresh(test_config());
    for (const std::string& target : {inclusion, "/api/v1/public/elections/" + id + "/tree-head"}) {
      const HttpResult r = http_request(fresh.port(), "GET", target);
      EXPECT_EQ(r.status, 503u) << flip << ": " << r.body;
      EXPECT_EQ(r.header("retry-after"), "5");
      EXPECT_NE(r.body.find("does not match its signed tree head"), std::string::npos) << r.body;
    }
    EXPECT_TRUE(metrics_show(fresh.port(), "board_integrity_failures_total 1")) << flip;
    // The process that checked the leaves before serves what it checked; a tree head that
    // changed it checks again when it next reads the newest.
    if (flip == flip_leaf) {
      EXPECT_EQ(call("GET", inclusion).status, 200u);
    }

    sql(flip);  // put back
    const auto repaired = std::chrono::steady_clock::now();
    EXPECT_TRUE(eventually(
        [&] { return http_request(fresh.port(), "GET", inclusion).status == 200u; }, 15s))
        << flip;
    std::cout << "served again "
              << std::chrono::duration<double>(std::chrono::steady_clock::now() - repaired).count()
              << " s after the repair (a retry every "
              << service::ElectionLogs::kIntegrityRetry.count() << " s)\n";
  }
}

// A process that has not loaded an election's log yet (a cold start) loads it once,
// however many requests for its proofs and its board arrive meanwhile, and holds one copy
// of it at a time. The log is made in the database directly: 300,000 leaves (random
// hashes, as receipts are) and a tree head over them signed with the tests' log key. The
// leaves in one chunk, as the pass at a close writes them all: read a page at a time.
TEST_F(BoardTest, AColdLogIsLoadedOnceForManyRequests) {
  const std::string id = open_election({"v1"});
  constexpr std::size_t kLeaves = 300'000;
  constexpr std::size_t kPerChunk = kLeaves;
  std::vector<crypto::Digest> leaves(kLeaves);
  for (auto& leaf : leaves) crypto::random_bytes(leaf);
  {
    pqxx::connection owner(owner_database_url());
    pqxx::work tx(owner);
    for (std::size_t first = 0; first < kLeaves; first += kPerChunk) {
      Bytes chunk;
      for (std::size_t i = first; i < first + kPerChunk; ++i) {
        chunk.insert(chunk.end(), leaves[i].begin(), leaves[i].end());
      }
      tx.exec_params(
          "INSERT INTO log_chunks (election_id, first_index, leaf_hashes)"
          " VALUES ($1::uuid, $2, decode($3, 'hex'))",
          id, first, crypto::to_hex(chunk));
    }
    const auto signed_at =
        std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now());
    const auto key = crypto::Ed25519PrivateKey::from_seed(*crypto::from_hex(kTestLogKey));
    const auto head = domain::sign_tree_head(key, id, kLeaves, crypto::merkle_root(leaves),
                                             domain::format_timestamp(signed_at), std::nullopt);
    tx.exec_params(
        "INSERT INTO tree_heads (election_id, tree_size, root_hash, signed_at,"
        " signature, log_key_id) VALUES ($1::uuid, $2, decode($3, 'hex'),"
        " to_timestamp($4::bigint / 1000.0), decode($5, 'hex'), $6)",
        id, kLeaves, crypto::to_hex(head.root_hash), signed_at.time_since_epoch().count(),
        crypto::to_hex(head.signature), head.log_key_id);
    tx.commit();
  }

  // A fresh process of its own, to read its memory (freed memory is not held back by the
  // sanitizer's quarantine), warmed on another route (the election's cache, a connection
  // to PostgreSQL); then `requests` at once, half of them proofs of inclusion, the others
  // the tree head and proofs of consistency. What its peak memory grew by.
  const std::string base = "/api/v1/public/elections/" + id;
  auto cold_start = [&](std::size_t requests) {
    const char* asan = std::getenv("ASAN_OPTIONS");
    auto [fresh, port] = spawn_server(
        {"ASAN_OPTIONS=" + std::string(asan != nullptr ? asan : "") + ":quarantine_size_mb=0"});
    EXPECT_EQ(http_request(port, "GET", base).status, 200u);
    const long before = std::max(proc_status_kb(fresh.pid, "VmRSS"), 0L);
    std::vector<std::future<unsigned>> answers;
    for (std::size_t i = 0; i < requests; ++i) {
      const std::string target =
          i % 2 == 0   ? base + "/proofs/inclusion?receipt=" + crypto::to_hex(leaves[i * 499])
          : i % 4 == 1 ? base + "/tree-head"
                       : base + "/proofs/consistency?first=" + std::to_string(i) +
                             "&second=" + std::to_string(kLeaves);
      answers.push_back(std::async(
          std::launch::async, [port, target] { return http_request(port, "GET", target).status; }));
    }
    std::size_t ok = 0;
    for (auto& a : answers) ok += a.get() == 200u ? 1 : 0;
    EXPECT_EQ(ok, requests);
    EXPECT_TRUE(metrics_show(port, "board_log_loads_total 1"));
    const long grew = proc_status_kb(fresh.pid, "VmHWM") - before;
    ::kill(fresh.pid, SIGTERM);
    EXPECT_EQ(fresh.wait_exit(), 0);
    return grew;
  };
  const long one = cold_start(1);
  const long many = cold_start(200);
  // What the log takes in memory: about 2 x 32 bytes a leaf for the tree, and the receipt
  // index (4 bytes a slot, a power of two at least twice the leaves).
  std::size_t slots = 1;
  while (slots < 2 * kLeaves) slots *= 2;
  const double log_mib = static_cast<double>(kLeaves * 64 + 4 * slots) / 1048576.0;
  std::cout << "cold start, " << kLeaves << " leaves (the log: " << log_mib
            << " MiB): peak memory grew by " << one / 1024.0 << " MiB for one request, "
            << many / 1024.0 << " MiB for 200 at once\n";
  // One load, and its memory, for them all (each loading its own was 200 times one), and
  // no more than a page of the log's chunks held besides the log (reading its one chunk
  // whole cost 3 copies of it in buffers: 77 MiB for one request under the sanitizers).
  // A Release build holds under twice the log's size either way (docs/reliability.md).
  // Under the sanitizers, whose shadow memory and redzones come on top, 46-49 MiB for one
  // request and 54-68 MiB for 200: their allocator keeps what one thread freed in that
  // thread's cache, while the next page of the log is read on another.
  const long log_kb = static_cast<long>(log_mib * 1024);
  if (spawned_server_is_sanitized()) {
#if !defined(__SANITIZE_THREAD__)  // ThreadSanitizer's shadow: 145 MiB for one request
    EXPECT_LT(one, 3 * log_kb);
#endif
    EXPECT_LT(many, 3 * one);
  } else {
    EXPECT_LT(one, 2 * log_kb);
    EXPECT_LT(many, 2 * log_kb);
  }
}

class BoardCloseTest : public BoardTest {
 protected:
  // No sequencer pass during the test: only the close sequences.
  static app::Config no_sequencer() {
    app::Config c = test_config();
    c.board.sequence_interval = std::chrono::hours(1);
    return c;
  }
  BoardCloseTest() : BoardTest(no_sequencer()) {}
};

TEST_F(BoardCloseTest, TheCloseSequencesTheLastBallotsAndPublishesTheFinalTreeHead) {
  std::string id = open_election();
  cast(id, {"v1", "v2", "v3"}, selections({{"mayor", "alice"}}));
  EXPECT_EQ(tree_head(id).tree_size, 0u);
  EXPECT_EQ(stats(id)["ballotsSequenced"], 0);

  auto closed = call("POST", "/api/v1/elections/" + id + "/close", nullptr, admin_headers());
  ASSERT_EQ(closed.status, 200u) << closed.body;
  // Served within board.freshness_ms; the close itself sequenced the ballots.
  ASSERT_TRUE(eventually([&] { return tree_head(id).tree_size == 3; }));
  domain::TreeHead final_head = tree_head(id);
  EXPECT_EQ(stats(id)["ballotsSequenced"], 3);

  json events =
      json::parse(call("GET", "/api/v1/public/elections/" + id + "/audit").body)["events"];
  ASSERT_GE(events.size(), 3u);
  const json& tree_event = events[events.size() - 2];
  const json& results_event = events[events.size() - 1];
  EXPECT_EQ(tree_event["type"], "tree_head.published");
  EXPECT_EQ(tree_event["payload"], domain::to_json(final_head));
  EXPECT_EQ(results_event["type"], "results.published");
  EXPECT_EQ(results_event["payload"]["ballotsCast"], 3);
}

class BoardTwoProcessTest : public BoardTest {
 protected:
  static app::Config fast_sequencer() {
    app::Config c = test_config();
    c.board.sequence_interval = 20ms;
    return c;
  }
  BoardTwoProcessTest() : BoardTest(fast_sequencer()) {}
};

// Both processes sequence the same election every 20 ms while ballots arrive at both.
TEST_F(BoardTwoProcessTest, NoLeafIndexIsGivenTwiceAndNoneIsSkipped) {
  auto [other, other_port] = spawn_server({"OBSERVERNET_BOARD_SEQUENCE_INTERVAL_MS=20"});
  constexpr std::size_t kBallots = 40;
  std::vector<std::string> voters;
  for (std::size_t i = 0; i < kBallots; ++i) voters.push_back("v" + std::to_string(i));
  std::string id = open_election(voters);
  std::set<std::string> receipts;
  for (std::size_t i = 0; i < kBallots; ++i) {
    json body = {{"electionId", id},
                 {"token", obtain_token(id, voters[i]).to_json()},
                 {"selections", selections({{"mayor", i % 3 ? "alice" : "bob"}})}};
    auto r = http_request(i % 2 ? other_port : server.port(), "POST", "/api/v1/voting/submit",
                          body.dump(), kJsonHeaders);
    ASSERT_EQ(r.status, 201u) << r.body;
    receipts.insert(json::parse(r.body)["receipt"].get<std::string>());
  }
  ASSERT_TRUE(eventually([&] { return tree_head(id).tree_size == kBallots; }));

  // The log's chunks tile [0, kBallots) exactly, and hold each ballot once.
  const std::vector<std::string> leaves = stored_log_leaves(id);
  EXPECT_EQ(leaves.size(), kBallots);
  EXPECT_EQ(std::set<std::string>(leaves.begin(), leaves.end()), receipts);
  // The other process serves the same log.
  auto theirs = http_request(other_port, "GET", "/api/v1/public/elections/" + id + "/tree-head");
  EXPECT_TRUE(eventually([&] {
    theirs = http_request(other_port, "GET", "/api/v1/public/elections/" + id + "/tree-head");
    return json::parse(theirs.body)["treeSize"] == kBallots;
  }));
  EXPECT_EQ(json::parse(theirs.body), domain::to_json(tree_head(id)));
  ::kill(other.pid, SIGTERM);
  EXPECT_EQ(other.wait_exit(), 0);
}

// ---- observernet verify against the real board -----------------------------------------

class VerifyBoardTest : public BoardTest {
 protected:
  std::vector<client::CheckResult> verify(const std::string& id,
                                          std::optional<std::string> receipt = std::nullopt) {
    client::HttpClient http("http://127.0.0.1:" + std::to_string(server.port()));
    return client::verify_election(
        http,
        {id, std::move(receipt), log_key().key_id(),
         std::filesystem::path(::testing::TempDir()) / ("verify-" + id + ".json"), std::nullopt});
  }

  static const client::CheckResult& check(const std::vector<client::CheckResult>& results,
                                          std::string_view name) {
    auto it =
        std::find_if(results.begin(), results.end(), [&](const auto& r) { return r.name == name; });
    if (it == results.end()) throw std::runtime_error("no check named " + std::string(name));
    return *it;
  }

  static std::string report(const std::vector<client::CheckResult>& results) {
    std::string out;
    for (const auto& r : results) out += client::format_check(r) + "\n";
    return out;
  }

  // An election of `voters` who all vote, closed: the receipts, in voter order.
  std::vector<std::string> closed_election(std::string& id, std::size_t voters,
                                           unsigned threads = 1) {
    std::vector<std::string> ids;
    for (std::size_t i = 0; i < voters; ++i) ids.push_back("voter-" + std::to_string(i));
    id = open_election(ids);
    std::vector<std::string> receipts(voters);
    std::vector<std::thread> workers;
    std::atomic<std::size_t> failures{0};
    for (unsigned t = 0; t < threads; ++t) {
      workers.emplace_back([&, t] {
        client::HttpClient http("http://127.0.0.1:" + std::to_string(server.port()), 30s);
        for (std::size_t i = t; i < voters; i += threads) {
          client::VoteRequest vote{
              id, ids[i], credentials_.at(ids[i]), {{"mayor", i % 3 ? "alice" : "bob"}}};
          if (i % 4 == 0) vote.selections.push_back({"council", "c2"});
          try {
            receipts[i] = client::cast_vote(http, vote).receipt;
          } catch (const std::exception&) {
            ++failures;
          }
        }
      });
    }
    for (auto& w : workers) w.join();
    EXPECT_EQ(failures, 0u);
    auto closed = call("POST", "/api/v1/elections/" + id + "/close", nullptr, admin_headers());
    EXPECT_EQ(closed.status, 200u) << closed.body;
    // Served within board.freshness_ms.
    EXPECT_TRUE(eventually([&] { return tree_head(id).tree_size == voters; }));
    return receipts;
  }

  // As the schema's owner: the runtime role cannot rewrite what these tests tamper with.
  static void sql(const std::string& statement) { exec_on(owner_database_url(), statement); }
};

// An end-to-end run: 1,000 voters, each with the voter client, then the close.
TEST_F(VerifyBoardTest, AThousandBallotsVerifyAndEveryReceiptIsOnTheBoard) {
  std::string id;
  auto receipts = closed_election(id, 1000, 4);
  auto results = verify(id, receipts[123]);
  EXPECT_TRUE(client::all_passed(results)) << report(results);
  EXPECT_NE(check(results, client::kTokenSignaturesCheck).detail.find("1000 ballots"),
            std::string::npos)
      << report(results);
  EXPECT_EQ(check(results, client::kReceiptCheck).status, client::CheckStatus::pass);

  json tally = json::parse(call("GET", "/api/v1/public/elections/" + id + "/results").body);
  EXPECT_EQ(tally["ballotsCast"], 1000);
  EXPECT_EQ(tally["contests"][0]["totals"][0]["votes"], 666);  // alice: i % 3 != 0
  EXPECT_EQ(tally["contests"][0]["totals"][1]["votes"], 334);

  // Each voter's receipt: sequenced, with a proof to the final signed root.
  const domain::TreeHead head = tree_head(id);
  std::set<std::uint64_t> indexes;
  for (const auto& receipt : receipts) {
    auto r = call("GET", "/api/v1/voting/receipts/" + receipt);
    ASSERT_EQ(r.status, 200u) << r.body;
    json st = json::parse(r.body);
    ASSERT_EQ(st["status"], "sequenced") << r.body;
    EXPECT_TRUE(crypto::verify_inclusion(digest(receipt), st["leafIndex"], st["treeSize"],
                                         digests(st["inclusionProof"]), head.root_hash));
    indexes.insert(st["leafIndex"].get<std::uint64_t>());
  }
  EXPECT_EQ(indexes.size(), 1000u);
}

TEST_F(VerifyBoardTest, AnAlteredSelectionIsCaught) {
  std::string id;
  auto receipts = closed_election(id, 4);
  ASSERT_TRUE(client::all_passed(verify(id)));
  sql("UPDATE ballots SET leaf = replace(leaf, '\"alice\"', '\"bob\"')"
      " WHERE receipt = decode('" +
      receipts[1] + "', 'hex')");
  auto results = verify(id);
  EXPECT_EQ(check(results, client::kBallotsCheck).status, client::CheckStatus::fail)
      << report(results);
  EXPECT_FALSE(client::all_passed(results));
}

TEST_F(VerifyBoardTest, ADeletedBallotIsCaught) {
  std::string id;
  auto receipts = closed_election(id, 4);
  ASSERT_TRUE(client::all_passed(verify(id)));
  sql("DELETE FROM ballots WHERE receipt = decode('" + receipts[2] + "', 'hex')");
  auto results = verify(id);
  EXPECT_FALSE(client::all_passed(results)) << report(results);
}

TEST_F(VerifyBoardTest, ABallotWithAForgedTokenIsCaught) {
  std::string id = open_election({"v1", "v2"});
  cast(id, {"v1", "v2"}, selections({{"mayor", "alice"}}));
  // Written past the API, as if by someone with the database's password: a token the
  // election's key never signed, queued for the sequencer like an accepted ballot.
  Bytes message(32), signature(256);
  crypto::random_bytes(message);
  crypto::random_bytes(signature);
  const std::string leaf = domain::ballot_leaf(
      id, {{"mayor", "bob"}}, crypto::to_base64url(message), crypto::to_base64url(signature));
  const std::string receipt = crypto::to_hex(crypto::merkle_leaf_hash(leaf));
  sql("INSERT INTO ballots_staged (election_id, token_message, leaf, receipt) VALUES ('" + id +
      "', decode('" + crypto::to_hex(message) + "', 'hex'), '" + leaf + "', decode('" + receipt +
      "', 'hex'))");
  ASSERT_EQ(call("POST", "/api/v1/elections/" + id + "/close", nullptr, admin_headers()).status,
            200u);
  ASSERT_TRUE(eventually([&] { return tree_head(id).tree_size == 3; }));
  auto results = verify(id);
  EXPECT_EQ(check(results, client::kTokenSignaturesCheck).status, client::CheckStatus::fail)
      << report(results);
  EXPECT_FALSE(client::all_passed(results));
}

TEST_F(VerifyBoardTest, AnEditedAuditEventIsCaught) {
  std::string id;
  closed_election(id, 3);
  ASSERT_TRUE(client::all_passed(verify(id)));
  sql("UPDATE audit_events SET payload = replace(payload, '\"votersRegistered\":3',"
      " '\"votersRegistered\":4') WHERE election_id = '" +
      id + "' AND type = 'election.opened'");
  auto results = verify(id);
  EXPECT_EQ(check(results, client::kAuditChainCheck).status, client::CheckStatus::fail)
      << report(results);
}

// Issuance transparency (docs/security.md): the roll committed at the opening and by an
// import into the open election, the voter hashes issued a token published with the
// ballot sets and all of them at the close, and a voter told whether a token was issued
// in their name.
TEST_F(VerifyBoardTest, TheRollAndTheIssuedTokensArePublicAndChecked) {
  const std::string id = open_election({"v1", "v2", "v3", "v4"});
  auto public_json = [&](const std::string& route) {
    auto r = call("GET", "/api/v1/public/elections/" + id + route);
    EXPECT_EQ(r.status, 200u) << route << " " << r.body;
    return json::parse(r.body);
  };
  auto hashes = [&](std::initializer_list<const char*> voters) {
    std::vector<crypto::Digest> out;
    for (const char* v : voters) out.push_back(digest(voter_hashes_.at(v)));
    std::ranges::sort(out);
    return out;
  };
  auto issued = [&] {
    std::vector<crypto::Digest> out;
    const json page = public_json("/issued");
    for (const auto& h : page["voterHashes"]) out.push_back(digest(h));
    return out;
  };
  auto event = [&](const std::string& type) {
    json found;
    const json page = public_json("/audit?from=1&limit=1000");
    for (const auto& e : page["events"]) {
      if (e["type"] == type) found = e;
    }
    return found;
  };
  EXPECT_EQ(voter_hashes_.at("v1"),
            crypto::to_hex(
                crypto::hmac_sha256(crypto::as_bytes(std::string(kTestVoterPepper)), id + "v1")));
  EXPECT_EQ(event("election.opened")["payload"]["roll"],
            domain::to_json(domain::commit_roll(hashes({"v1", "v2", "v3", "v4"}))));

  // A token alone waits: it goes public with the next set of ballots.
  obtain_token(id, "v1");
  std::this_thread::sleep_for(300ms);  // several sequencer passes
  EXPECT_TRUE(issued().empty());
  cast(id, {"v2"}, selections({{"mayor", "alice"}}));
  EXPECT_TRUE(eventually([&] { return tree_head(id).tree_size == 1; }));
  EXPECT_EQ(issued(), hashes({"v1", "v2"}));

  // An import into the open election: a second commitment, extending the first.
  auto r = call("POST", "/api/v1/elections/" + id + "/voters",
                {{"voters", json::array({{{"voterId", "v5"}}})}}, admin_headers());
  ASSERT_EQ(r.status, 201u) << r.body;
  voter_hashes_["v5"] = json::parse(r.body)["credentials"][0]["voterHash"];
  EXPECT_EQ(event("voters.imported")["payload"]["roll"],
            domain::to_json(domain::commit_roll(hashes({"v1", "v2", "v3", "v4", "v5"}))));
  json roll = public_json("/roll");
  ASSERT_EQ(roll["voters"].size(), 5u) << roll;
  EXPECT_EQ(roll["voters"][4], json({{"voterHash", voter_hashes_["v5"]}, {"commitment", 2}}));

  // The close publishes every token, and counts them on the audit chain.
  obtain_token(id, "v3");
  ASSERT_EQ(call("POST", "/api/v1/elections/" + id + "/close", nullptr, admin_headers()).status,
            200u);
  EXPECT_EQ(issued(), hashes({"v1", "v2", "v3"}));
  EXPECT_EQ(event("election.closed")["payload"]["tokensIssued"], 3);

  auto ask = [&](const std::string& voter) {
    client::HttpClient http("http://127.0.0.1:" + std::to_string(server.port()));
    return client::verify_election(
        http, {id, std::nullopt, log_key().key_id(),
               std::filesystem::path(::testing::TempDir()) / ("verify-issued-" + id + ".json"),
               voter_hashes_.at(voter)});
  };
  auto results = ask("v3");  // took a token and never voted
  EXPECT_TRUE(client::all_passed(results)) << report(results);
  EXPECT_NE(
      check(results, client::kIssuedCheck).detail.find("1 ballot <= 3 issued <= 5 on the roll"),
      std::string::npos)
      << report(results);
  EXPECT_NE(check(results, client::kVoterCheck).detail.find("a token WAS issued in this name"),
            std::string::npos)
      << report(results);
  results = ask("v4");
  EXPECT_NE(check(results, client::kVoterCheck).detail.find("no token was issued in this name"),
            std::string::npos)
      << report(results);
}

// Written past the API by whoever holds the database: a token issued in the name of a
// voter hash that is not on the roll, then more issued than the roll holds.
TEST_F(VerifyBoardTest, IssuedTokensOffTheRollAreCaught) {
  std::string id;
  closed_election(id, 3);
  ASSERT_TRUE(client::all_passed(verify(id)));
  sql("INSERT INTO issued (election_id, voter_hash) VALUES ('" + id +
      "', sha256('not on the roll'::bytea))");
  auto results = verify(id);
  EXPECT_EQ(check(results, client::kIssuedCheck).status, client::CheckStatus::fail)
      << report(results);
  EXPECT_NE(check(results, client::kIssuedCheck).detail.find("is not on the roll"),
            std::string::npos)
      << report(results);
  sql("INSERT INTO issued (election_id, voter_hash) SELECT '" + id +
      "', sha256(('extra ' || k)::bytea) FROM generate_series(1, 3) AS k");
  results = verify(id);
  EXPECT_NE(check(results, client::kIssuedCheck).detail.find("7 tokens issued for a roll of 3"),
            std::string::npos)
      << report(results);
}

// Rewritten whole, with every hash recomputed, the chain itself is sound again: what
// gives it away is a tree head kept from before, which pins the old history
// (docs/formats.md, Signed tree heads).
TEST_F(VerifyBoardTest, AnAuditHistoryRewrittenAfterASavedTreeHeadIsCaught) {
  std::string id;
  closed_election(id, 3);
  auto first = verify(id);  // keeps the final tree head in the state file
  ASSERT_TRUE(client::all_passed(first)) << report(first);

  pqxx::connection conn(owner_database_url());
  pqxx::work tx(conn);
  std::vector<domain::AuditEvent> events;
  for (const auto& row : tx.exec_params("SELECT seq, type, payload, at FROM audit_events"
                                        " WHERE election_id = $1::uuid ORDER BY seq",
                                        id)) {
    std::string payload = row[2].as<std::string>();
    if (row[1].as<std::string>() == "election.opened") {
      const std::string three = "\"votersRegistered\":3";
      const auto at = payload.find(three);
      ASSERT_NE(at, std::string::npos) << payload;
      payload.replace(at, three.size(), "\"votersRegistered\":4");
    }
    events.push_back(domain::next_audit_event(
        events.empty() ? 0 : events.back().seq,
        events.empty() ? domain::kGenesisHash : events.back().hash, row[1].as<std::string>(),
        json::parse(payload), row[3].as<std::string>()));
    const auto& e = events.back();
    tx.exec_params(
        "UPDATE audit_events SET payload = $3, prev_hash = $4, hash = $5"
        " WHERE election_id = $1::uuid AND seq = $2",
        id, e.seq, crypto::canonicalize(e.payload), e.prev_hash, e.hash);
  }
  tx.exec_params("UPDATE elections SET audit_head = $2 WHERE id = $1::uuid", id,
                 events.back().hash);
  tx.commit();
  ASSERT_FALSE(domain::find_chain_break(events).has_value()) << "the rewrite is consistent";

  auto results = verify(id);
  const auto& audit = check(results, client::kAuditChainCheck);
  EXPECT_EQ(audit.status, client::CheckStatus::fail) << report(results);
  EXPECT_NE(audit.detail.find("the audit history was rewritten after the tree head of size 3"),
            std::string::npos)
      << report(results);
}

// Public reads on a streaming replica (docs/operations.md, Read replicas): scripts/test
// starts one of the throw-away PostgreSQL with pg_basebackup -R.
class ReplicaTest : public BoardTest {
 protected:
  static app::Config with_replica(std::chrono::milliseconds max_lag = 100ms,
                                  std::chrono::milliseconds check_interval = 20ms) {
    app::Config c = test_config();
    c.database.replica_urls = {required_env("OBSERVERNET_TEST_REPLICA_URL")};
    c.database.max_replica_lag = max_lag;
    c.database.replica_check_interval = check_interval;
    c.board.sequence_interval = 20ms;
    return c;
  }
  explicit ReplicaTest(app::Config config = with_replica()) : BoardTest(std::move(config)) {}
  ~ReplicaTest() override {
    try {
      replay(true);  // whatever a failed test left paused
    } catch (const std::exception&) {
      // a failed test left it down: scripts/test's next start of it replays again
    }
  }

  // Pauses or resumes the replica's replay of the primary's WAL.
  static void replay(bool on) {
    pqxx::connection conn(required_env("OBSERVERNET_TEST_REPLICA_URL"));
    pqxx::nontransaction tx(conn);
    tx.exec(on ? "SELECT pg_wal_replay_resume()" : "SELECT pg_wal_replay_pause()");
  }

  // The replica's host:port, as the metrics name it.
  static std::string replica_label() {
    const std::string url = required_env("OBSERVERNET_TEST_REPLICA_URL");
    const auto at = url.rfind('@') + 1;
    return url.substr(at, url.find('/', at) - at);
  }
  double reads_on_replica() {
    return metric_value(server.port(), "db_public_reads_total{reason=\"fresh\",server=\"" +
                                           replica_label() + "\"}");
  }
  double reads_on_primary(const std::string& reason) {
    return metric_value(server.port(),
                        "db_public_reads_total{reason=\"" + reason + "\",server=\"primary\"}");
  }
  double lag() {
    return metric_value(server.port(),
                        "db_replica_lag_seconds{replica=\"" + replica_label() + "\"}");
  }
  bool replica_fresh() {
    return eventually([&] {
      const double l = lag();
      return l >= 0 && l < 0.1;
    });
  }

  // The public reads of election `id` that go to the database at every request (no
  // cache before them), by route, with their status.
  std::map<std::string, std::string> uncached_reads(const std::string& id,
                                                    const std::vector<crypto::Digest>& receipts) {
    std::vector<std::string> targets = {
        "/api/v1/public/elections/" + id + "/audit",
        "/api/v1/public/elections/" + id + "/ballots?from=0",
        "/api/v1/public/elections/" + id + "/roll",
        "/api/v1/public/elections/" + id + "/issued",
    };
    for (const auto& r : receipts)
      targets.push_back("/api/v1/voting/receipts/" + crypto::to_hex(r));
    std::map<std::string, std::string> out;
    for (const auto& target : targets) {
      auto r = call("GET", target);
      out[target] = std::to_string(r.status) + " " + r.body;
    }
    return out;
  }
};

TEST_F(ReplicaTest, PublicReadsGoToAFreshReplicaAndMatchThePrimarys) {
  std::string id = open_election({"v1", "v2", "v3"});
  auto receipts = cast(id, {"v1", "v2", "v3"}, selections({{"mayor", "alice"}}));
  ASSERT_TRUE(eventually([&] { return tree_head(id).tree_size == 3; }));
  ASSERT_TRUE(replica_fresh()) << "lag " << lag();

  // One round of the reads all on the replica. On a busy machine its measured lag may
  // pass 100 ms for a moment and a read go to the primary: that round is read again.
  std::map<std::string, std::string> on_replica;
  EXPECT_TRUE(eventually(
      [&] {
        const double before = reads_on_replica();
        on_replica = uncached_reads(id, receipts);
        return reads_on_replica() - before >= static_cast<double>(on_replica.size());
      },
      10s))
      << "read on the primary: " << reads_on_primary("no_fresh_replica")
      << " with no fresh replica, " << reads_on_primary("replica_behind") << " behind";
  // The same bodies from a server that reads the primary only.
  TestServer primary_only(test_config());
  for (const auto& [target, answer] : on_replica) {
    EXPECT_EQ(answer.substr(0, 4), "200 ") << target << ": " << answer;
    auto r = http_request(primary_only.port(), "GET", target);
    EXPECT_EQ(std::to_string(r.status) + " " + r.body, answer) << target;
  }

  // The final results, counted on the replica once it has replayed the close.
  ASSERT_EQ(call("POST", "/api/v1/elections/" + id + "/close", nullptr, admin_headers()).status,
            200u);
  auto results = call("GET", "/api/v1/public/elections/" + id + "/results");
  ASSERT_EQ(results.status, 200u) << results.body;
  EXPECT_EQ(json::parse(results.body)["ballotsCast"], 3);
  EXPECT_EQ(json::parse(results.body)["final"], true);
}

TEST_F(ReplicaTest, ReadsFallBackToThePrimaryWhileTheReplicaLagsOrIsDown) {
  std::string id = open_election({"v1", "v2", "v3", "v4"});
  auto receipts = cast(id, {"v1", "v2"}, selections({{"mayor", "alice"}}));
  ASSERT_TRUE(eventually([&] { return tree_head(id).tree_size == 2; }));
  ASSERT_TRUE(replica_fresh());

  // Replay paused: the primary moves on, the replica's lag passes 100 ms, and every read
  // goes to the primary, which has the new ballots.
  replay(false);
  auto more = cast(id, {"v3", "v4"}, selections({{"mayor", "bob"}}));
  receipts.insert(receipts.end(), more.begin(), more.end());
  ASSERT_TRUE(eventually([&] { return tree_head(id).tree_size == 4; }));
  ASSERT_TRUE(eventually([&] { return lag() > 0.1; })) << "lag " << lag();
  const double replica_before = reads_on_replica();
  const double primary_before = reads_on_primary("no_fresh_replica");
  auto lagging = uncached_reads(id, receipts);
  EXPECT_EQ(reads_on_replica(), replica_before);
  EXPECT_GE(reads_on_primary("no_fresh_replica") - primary_before,
            static_cast<double>(lagging.size()));
  EXPECT_EQ(
      json::parse(
          lagging.at("/api/v1/public/elections/" + id + "/ballots?from=0").substr(4))["ballots"]
          .size(),
      4u);

  // Resumed, it catches up and takes the reads again, with the same answers.
  replay(true);
  ASSERT_TRUE(replica_fresh()) << "lag " << lag();
  const double caught_up = reads_on_replica();
  EXPECT_EQ(uncached_reads(id, receipts), lagging);
  EXPECT_GT(reads_on_replica(), caught_up);

  // Down: the reads go to the primary, answered the same; back up, to the replica again.
  ASSERT_EQ(run_shell(required_env("OBSERVERNET_TEST_REPLICA_STOP")), 0);
  ASSERT_TRUE(eventually([&] { return std::isinf(lag()); })) << "lag " << lag();
  EXPECT_EQ(uncached_reads(id, receipts), lagging);
  ASSERT_EQ(run_shell(required_env("OBSERVERNET_TEST_REPLICA_START")), 0);
  const auto restarted = std::chrono::steady_clock::now();
  ASSERT_TRUE(eventually([&] { return lag() >= 0 && lag() < 0.1; }, 30s));
  std::cout << "replica taking reads again "
            << std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::steady_clock::now() - restarted)
                   .count()
            << " ms after its restart\n";
  const double back = reads_on_replica();
  EXPECT_EQ(uncached_reads(id, receipts), lagging);
  EXPECT_GT(reads_on_replica(), back);
}

// A replica measured fresh may still lack the newest writes: its lag is allowed up to
// database.max_replica_lag_ms. What a voter or observer has just been told exists is
// never denied for that, and results are never counted short: such reads are made again
// on the primary. The lag allowed is an hour here, so that a paused replica stays "fresh".
class BehindReplicaTest : public ReplicaTest {
 protected:
  BehindReplicaTest() : ReplicaTest(with_replica(std::chrono::hours(1), 100ms)) {}
};

TEST_F(BehindReplicaTest, WhatWasJustWrittenIsReadOnThePrimary) {
  std::string id = open_election({"v1", "v2"}, mayor_election("live"));
  cast(id, {"v1"}, selections({{"mayor", "alice"}}));
  ASSERT_TRUE(eventually([&] { return tree_head(id).tree_size == 1; }));
  ASSERT_TRUE(replica_fresh());
  replay(false);

  const double behind_before = reads_on_primary("replica_behind");
  // A ballot cast now: its receipt is found.
  auto receipt = cast(id, {"v2"}, selections({{"mayor", "bob"}})).at(0);
  auto status = call("GET", "/api/v1/voting/receipts/" + crypto::to_hex(receipt));
  EXPECT_EQ(status.status, 200u) << status.body;
  // The election closed now: the final results count both ballots.
  ASSERT_EQ(call("POST", "/api/v1/elections/" + id + "/close", nullptr, admin_headers()).status,
            200u);
  auto results = call("GET", "/api/v1/public/elections/" + id + "/results");
  ASSERT_EQ(results.status, 200u) << results.body;
  EXPECT_EQ(json::parse(results.body)["final"], true);
  EXPECT_EQ(json::parse(results.body)["ballotsCast"], 2);
  // An election opened now: public, with its audit chain.
  std::string later = open_election({"w1"});
  auto view = call("GET", "/api/v1/public/elections/" + later);
  EXPECT_EQ(view.status, 200u) << view.body;
  auto audit = call("GET", "/api/v1/public/elections/" + later + "/audit");
  EXPECT_EQ(audit.status, 200u) << audit.body;
  EXPECT_EQ(tree_head(later).tree_size, 0u);
  EXPECT_GE(reads_on_primary("replica_behind") - behind_before, 4.0);
  EXPECT_LT(lag(), 3600.0) << "the replica stayed within the lag allowed";
}
}  // namespace
}  // namespace observernet::testing
