#include "observernet/client/voter.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace observernet::client {
namespace {

TEST(SelectionTest, ParsesContestEqualsOption) {
  EXPECT_EQ(parse_selection("mayor=alice"), (Selection{"mayor", "alice"}));
  EXPECT_EQ(parse_selection("city-council-2=option-7"), (Selection{"city-council-2", "option-7"}));
  EXPECT_EQ(parse_selection(std::string(64, 'c') + "=" + std::string(64, 'o')),
            (Selection{std::string(64, 'c'), std::string(64, 'o')}));
}

TEST(SelectionTest, RejectsWhatIsNotTwoSlugs) {
  for (const char* text :
       {"", "mayor", "=alice", "mayor=", "=", "mayor=alice=bob", "Mayor=alice", "mayor=Alice",
        "mayor =alice", "mayor= alice", "mayor:alice", "may_or=alice", "mayor=al/ice"}) {
    EXPECT_FALSE(parse_selection(text)) << text;
  }
  EXPECT_FALSE(parse_selection(std::string(65, 'c') + "=alice"));
}

// docs/formats.md, Ballot leaf, computed by hand: members in JCS order (electionId, selections,
// token; contestId before optionId; message before signature), selections sorted by contestId then
// optionId whatever order the voter gave them in.
TEST(BallotReceiptTest, LeafAndReceiptOfAFixedBallot) {
  const std::string election = "6f0e1c2a-3b4d-4e5f-8a9b-0c1d2e3f4a5b";
  // base64url of the bytes 0..31, and of "sig" followed by 0xfb 0xfc.
  const BallotToken token{"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8", "c2ln-_w"};
  const std::vector<Selection> given = {{"mayor", "bob"}, {"board", "carol"}, {"board", "alice"}};

  const std::string leaf = ballot_leaf(election, token, given);
  EXPECT_EQ(leaf,
            R"({"electionId":"6f0e1c2a-3b4d-4e5f-8a9b-0c1d2e3f4a5b","selections":[)"
            R"({"contestId":"board","optionId":"alice"},{"contestId":"board","optionId":"carol"},)"
            R"({"contestId":"mayor","optionId":"bob"}],)"
            R"("token":{"message":"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8",)"
            R"("signature":"c2ln-_w"}})");
  // hashlib.sha256(b"\x00" + leaf).hexdigest(); without the 0x00 prefix it would be
  // 40996bfc73180f6157372c0252e60fb2946be34378c9df82a026b20dd94a93dc.
  EXPECT_EQ(ballot_receipt(leaf),
            "c71b587bc7be22c498347aef362992b2628c0f62e248cb1a6eb8a168ba1eb96c");

  const std::vector<Selection> reordered = {given[2], given[0], given[1]};
  EXPECT_EQ(ballot_leaf(election, token, reordered), leaf);
  EXPECT_NE(ballot_leaf(election, token, {given[0], given[1]}), leaf);
}

TEST(BallotReceiptTest, EmptyBallot) {
  EXPECT_EQ(ballot_leaf("e", {"m", "s"}, {}),
            R"({"electionId":"e","selections":[],"token":{"message":"m","signature":"s"}})");
}

TEST(VoteErrorTest, OneLineWithStatusAndCode) {
  EXPECT_STREQ(VoteError(409, "token_already_issued", "this voter already has a token").what(),
               "409 token_already_issued: this voter already has a token");
  EXPECT_STREQ(VoteError(0, "network_error", "connecting to h:1: refused").what(),
               "network_error: connecting to h:1: refused");
  EXPECT_STREQ(VoteError(502, "", "the server gave no problem details").what(),
               "502: the server gave no problem details");
  EXPECT_STREQ(VoteError(400, "bad_request", "two\nlines\r").what(), "400 bad_request: two lines ");
  EXPECT_EQ(VoteError(400, "bad_request", "two\nlines").detail(), "two\nlines");
}

TEST(CastVoteTest, RefusesAnElectionIdThatIsNotAUuid) {
  HttpClient client("http://127.0.0.1:1");
  VoteRequest request{"../elections", "v1", "secret", {{"mayor", "alice"}}};
  EXPECT_THROW(cast_vote(client, request), std::invalid_argument);
}

}  // namespace
}  // namespace observernet::client
