#include "observernet/domain/ballot.hpp"

#include <gtest/gtest.h>

#include "observernet/crypto/merkle.hpp"
#include "observernet/error.hpp"

namespace observernet::domain {
namespace {

using nlohmann::json;

std::vector<Contest> contests() {
  return {
      {"mayor", "Mayor", 1, 1, {{"alice", "Alice"}, {"bob", "Bob"}}},
      {"council", "Council", 0, 2, {{"c1", "C1"}, {"c2", "C2"}, {"c3", "C3"}}},
  };
}

json pick(std::initializer_list<std::pair<const char*, const char*>> picks) {
  json out = json::array();
  for (auto [c, o] : picks) out.push_back({{"contestId", c}, {"optionId", o}});
  return out;
}

// The error a call throws, for checking its code and fields.
Error error_of(const json& selections) {
  try {
    parse_selections(selections, contests());
  } catch (const Error& e) {
    return e;
  }
  ADD_FAILURE() << "no error for " << selections.dump();
  return Error(ErrorCode::internal_error, "none");
}

bool lists_field(const Error& e, std::string_view field) {
  return std::ranges::any_of(e.field_errors(),
                             [&](const FieldError& f) { return f.field == field; });
}

TEST(BallotTest, ValidSelectionsComeBackSorted) {
  auto s =
      parse_selections(pick({{"mayor", "bob"}, {"council", "c3"}, {"council", "c1"}}), contests());
  ASSERT_EQ(s.size(), 3u);
  EXPECT_EQ(s[0], (Selection{"council", "c1"}));
  EXPECT_EQ(s[1], (Selection{"council", "c3"}));
  EXPECT_EQ(s[2], (Selection{"mayor", "bob"}));
}

TEST(BallotTest, AContestWithMinimumZeroMayBeLeftOut) {
  EXPECT_EQ(parse_selections(pick({{"mayor", "alice"}}), contests()).size(), 1u);
}

TEST(BallotTest, EveryBrokenRuleIsListed) {
  Error e = error_of(pick({{"mayor", "alice"},
                           {"mayor", "bob"},   // over mayor's maximum of 1
                           {"sheriff", "x"},   // unknown contest
                           {"council", "c9"},  // unknown option
                           {"council", "c1"},
                           {"council", "c1"}}));  // twice
  EXPECT_EQ(e.code(), ErrorCode::invalid_ballot);
  EXPECT_TRUE(lists_field(e, "contests.mayor"));
  EXPECT_TRUE(lists_field(e, "selections[2].contestId"));
  EXPECT_TRUE(lists_field(e, "selections[3].optionId"));
  EXPECT_TRUE(lists_field(e, "selections[5]"));
  EXPECT_FALSE(lists_field(e, "contests.council"));  // c1 once counts: within 0..2
}

TEST(BallotTest, TooFewSelectionsAreRefused) {
  Error e = error_of(pick({{"council", "c1"}}));
  EXPECT_EQ(e.code(), ErrorCode::invalid_ballot);
  EXPECT_TRUE(lists_field(e, "contests.mayor"));
  EXPECT_EQ(error_of(json::array()).code(), ErrorCode::invalid_ballot);
}

TEST(BallotTest, TooManySelectionsInOneContestAreRefused) {
  Error e =
      error_of(pick({{"mayor", "alice"}, {"council", "c1"}, {"council", "c2"}, {"council", "c3"}}));
  EXPECT_TRUE(lists_field(e, "contests.council"));
}

TEST(BallotTest, MalformedSelectionsAreBadRequests) {
  EXPECT_EQ(error_of(json::object()).code(), ErrorCode::bad_request);
  EXPECT_EQ(error_of(json::array({1})).code(), ErrorCode::bad_request);
  Error e = error_of(json::array(
      {{{"contestId", "mayor"}, {"optionId", 3}, {"extra", "x"}}, {{"contestId", "mayor"}}}));
  EXPECT_EQ(e.code(), ErrorCode::bad_request);
  EXPECT_TRUE(lists_field(e, "selections[0].optionId"));
  EXPECT_TRUE(lists_field(e, "selections[0].extra"));
  EXPECT_TRUE(lists_field(e, "selections[1].optionId"));
  json many = json::array();
  for (std::size_t i = 0; i <= kMaxSelections; ++i) many.push_back(pick({{"mayor", "alice"}})[0]);
  EXPECT_EQ(error_of(many).code(), ErrorCode::bad_request);
}

// What an observer rebuilds a published ballot's leaf from, whether or not it keeps the
// election's rules.
TEST(BallotTest, ReadingSelectionsChecksTheirShapeOnly) {
  auto s = read_selections(pick({{"mayor", "bob"}, {"sheriff", "x"}, {"mayor", "bob"}}));
  ASSERT_EQ(s.size(), 3u);
  EXPECT_EQ(s[0], (Selection{"mayor", "bob"}));
  EXPECT_EQ(s[1], (Selection{"sheriff", "x"}));
  EXPECT_TRUE(read_selections(json::array()).empty());
  EXPECT_THROW(read_selections(json::array({{{"contestId", "mayor"}}})), Error);
  EXPECT_THROW(read_selections(json::object()), Error);
}

// docs/formats.md, Ballot leaf: members sorted (RFC 8785), no whitespace, selections in the given
// order.
TEST(BallotTest, LeafIsTheCanonicalJsonOfTheBallot) {
  std::vector<Selection> s = {{"council", "c1"}, {"mayor", "bob"}};
  EXPECT_EQ(ballot_leaf("5d0c9a3e-0000-4000-8000-000000000001", s, "bXNn", "c2ln"),
            R"({"electionId":"5d0c9a3e-0000-4000-8000-000000000001","selections":[)"
            R"({"contestId":"council","optionId":"c1"},{"contestId":"mayor","optionId":"bob"}],)"
            R"("token":{"message":"bXNn","signature":"c2ln"}})");
}

// RFC 9162 §2.1.1; the empty leaf's hash is the well-known Certificate Transparency
// value SHA-256(0x00).
TEST(BallotTest, ReceiptIsTheRfc9162LeafHash) {
  EXPECT_EQ(crypto::to_hex(crypto::merkle_leaf_hash("")),
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d");
  const std::string leaf = R"({"electionId":"x"})";
  EXPECT_EQ(crypto::merkle_leaf_hash(leaf), crypto::sha256(std::string(1, '\0') + leaf));
}

TEST(BallotTest, ResultsListEveryOptionInElectionOrder) {
  Election election;
  election.id = "e";
  election.status = ElectionStatus::closed;
  election.definition.contests = contests();
  Tally tally;
  tally.votes[{"mayor", "bob"}] = 2;
  tally.votes[{"council", "c2"}] = 1;
  tally.ballots["mayor"] = 2;
  tally.ballots["council"] = 1;
  tally.ballots_cast = 2;
  json r = results_to_json(election, tally);
  EXPECT_EQ(r["final"], true);
  EXPECT_EQ(r["ballotsCast"], 2);
  EXPECT_EQ(r["contests"][0]["contestId"], "mayor");
  EXPECT_EQ(r["contests"][0]["totals"],
            json::parse(R"([{"optionId":"alice","votes":0},{"optionId":"bob","votes":2}])"));
  EXPECT_EQ(r["contests"][0]["ballots"], 2);
  EXPECT_EQ(r["contests"][1]["totals"][1]["votes"], 1);
  EXPECT_EQ(r["contests"][1]["totals"][2]["votes"], 0);
}

}  // namespace
}  // namespace observernet::domain
