// SPEC §5, §6 and the results of §7 over real HTTP against the real PostgreSQL and Redis:
// tokens (RFC 9474 blind signatures), ballots with exactly-once acceptance, receipts,
// results. The tests act as voters with the crypto library's client side.
#include <gtest/gtest.h>
#include <signal.h>

#include <future>
#include <nlohmann/json.hpp>
#include <thread>

#include "observernet/crypto/blind_rsa.hpp"
#include "observernet/crypto/hash.hpp"
#include "observernet/crypto/merkle.hpp"
#include "observernet/domain/ballot.hpp"
#include "support.hpp"

namespace observernet::testing {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using Headers = std::vector<std::pair<std::string, std::string>>;
using crypto::Bytes;

const Headers kJson = {{"Content-Type", "application/json"}};

Headers admin() {
  return {{"Authorization", std::string("Bearer ") + kTestAdminKey},
          {"Content-Type", "application/json"}};
}

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
                  Headers headers = kJson) {
    return http_request(server.port(), method, target, body.is_null() ? "" : body.dump(), headers);
  }

  // An election with `voters`, opened; fills credentials_ and key_.
  std::string open_election(std::vector<std::string> voters = {"v1", "v2", "v3"},
                            json definition = mayor_election()) {
    auto r = call("POST", "/api/v1/elections", definition, admin());
    EXPECT_EQ(r.status, 201u) << r.body;
    std::string id = json::parse(r.body)["id"];
    json list = json::array();
    for (auto& v : voters) list.push_back({{"voterId", v}});
    r = call("POST", "/api/v1/elections/" + id + "/voters", {{"voters", list}}, admin());
    EXPECT_EQ(r.status, 201u) << r.body;
    const json imported = json::parse(r.body);  // the loop must not outlive it
    for (const auto& c : imported["credentials"]) {
      credentials_[c["voterId"].get<std::string>()] = c["credential"];
    }
    r = call("POST", "/api/v1/elections/" + id + "/open", nullptr, admin());
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

  // The whole client side of SPEC §5: a token for `voter`.
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
    auto r = call("GET", "/api/v1/elections/" + id + "/stats", nullptr, admin());
    EXPECT_EQ(r.status, 200u) << r.body;
    return json::parse(r.body);
  }

  static std::string code_of(const HttpResult& r) {
    return json::parse(r.body).value("code", std::string());
  }

  TestServer server;
  std::map<std::string, std::string> credentials_;
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
  auto draft = call("POST", "/api/v1/elections", mayor_election(), admin());
  std::string draft_id = json::parse(draft.body)["id"];
  EXPECT_EQ(call("GET", "/api/v1/elections/" + draft_id + "/token-key").status, 404u);
}

TEST_F(VotingTest, AVoterVotesAndChecksTheReceipt) {
  std::string id = open_election();
  Token token = obtain_token(id, "v1");
  // A standard RSASSA-PSS signature on the nonce (SPEC §5).
  EXPECT_TRUE(token_key(id).verify_pss(token.message, token.signature));

  auto r = submit(id, token, selections({{"mayor", "bob"}, {"council", "c3"}, {"council", "c1"}}));
  ASSERT_EQ(r.status, 201u) << r.body;
  json body = json::parse(r.body);
  std::vector<domain::Selection> sorted = {{"council", "c1"}, {"council", "c3"}, {"mayor", "bob"}};
  const std::string leaf = domain::ballot_leaf(id, sorted, crypto::to_base64url(token.message),
                                               crypto::to_base64url(token.signature));
  EXPECT_EQ(body["receipt"], crypto::to_hex(crypto::merkle_leaf_hash(leaf)));
  EXPECT_EQ(body["electionId"], id);
  // Stored to the minute only (SPEC §1.3).
  EXPECT_TRUE(body["acceptedAt"].get<std::string>().ends_with(":00.000Z")) << body["acceptedAt"];

  auto receipt = call("GET", "/api/v1/voting/receipts/" + body["receipt"].get<std::string>());
  ASSERT_EQ(receipt.status, 200u) << receipt.body;
  EXPECT_EQ(json::parse(receipt.body)["status"], "pending");
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
  auto draft = call("POST", "/api/v1/elections", mayor_election(), admin());
  std::string draft_id = json::parse(draft.body)["id"];
  call("POST", "/api/v1/elections/" + draft_id + "/voters", {{"voters", {{{"voterId", "d1"}}}}},
       admin());
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
  ASSERT_EQ(call("POST", "/api/v1/elections/" + id + "/close", nullptr, admin()).status, 200u);
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
  EXPECT_EQ(stats(id)["ballotsCast"], 0);
  // The token is still good for one valid ballot.
  EXPECT_EQ(submit(id, token, selections({{"mayor", "alice"}})).status, 201u);
}

// SPEC §1.2: one ballot per token, enforced by the database under concurrent requests.
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

  ASSERT_EQ(call("POST", "/api/v1/elections/" + id + "/close", nullptr, admin()).status, 200u);
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
  auto r = call("POST", "/api/v1/elections", mayor_election(), admin());
  std::string id = json::parse(r.body)["id"];
  r = call("POST", "/api/v1/elections/" + id + "/voters", {{"voters", {{{"voterId", voter_id}}}}},
           admin());
  vote.credential = json::parse(r.body)["credentials"][0]["credential"];
  call("POST", "/api/v1/elections/" + id + "/open", nullptr, admin());
  r = call("GET", "/api/v1/elections/" + id + "/token-key", nullptr, {});
  auto key = *crypto::RsaPublicKey::from_spki_der(
      *crypto::from_base64url(json::parse(r.body)["publicKey"].get<std::string>()));
  auto blinded = crypto::blind(key, vote.token_message, crypto::kSha384PssDeterministic);
  r = call("POST", "/api/v1/voting/token",
           {{"electionId", id},
            {"voterId", voter_id},
            {"credential", vote.credential},
            {"blindedMessage", crypto::to_base64url(blinded.blinded_msg)}},
           kJson);
  EXPECT_EQ(r.status, 200u) << r.body;
  auto sig = crypto::finalize(
      key, vote.token_message,
      *crypto::from_base64url(json::parse(r.body)["blindSignature"].get<std::string>()),
      blinded.inv, crypto::kSha384PssDeterministic);
  r = call("POST", "/api/v1/voting/submit",
           {{"electionId", id},
            {"token", Token{vote.token_message, sig.value_or(Bytes{})}.to_json()},
            {"selections", selections({{"mayor", "alice"}})}},
           kJson);
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

// SPEC §1.1: 201 means committed. A ballot acknowledged just before the process is
// killed (no drain, no flush) is still there after a restart.
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

// The master key seals every election's token key: a server given another one must
// refuse to sign (a logged 500), never sign with whatever it decrypted.
TEST_F(VotingTest, AWrongMasterKeyFailsLoudlyAndSignsNothing) {
  std::string id = open_election();
  app::Config other = test_config();
  other.auth.master_key = std::string(64, 'f');
  TestServer wrong(other);
  auto r = http_request(wrong.port(), "GET", "/api/v1/elections/" + id + "/token-key");
  EXPECT_EQ(r.status, 500u) << r.body;
  auto key = token_key(id);  // from the right server
  Bytes blinded = crypto::blind(key, Bytes(32, 4), crypto::kSha384PssDeterministic).blinded_msg;
  auto token = http_request(wrong.port(), "POST", "/api/v1/voting/token",
                            json{{"electionId", id},
                                 {"voterId", "v1"},
                                 {"credential", credentials_.at("v1")},
                                 {"blindedMessage", crypto::to_base64url(blinded)}}
                                .dump(),
                            kJson);
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

}  // namespace
}  // namespace observernet::testing
