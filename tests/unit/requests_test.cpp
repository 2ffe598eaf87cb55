// Request bodies to typed requests (api/requests.hpp): every field error at once.
#include "observernet/api/requests.hpp"

#include <gtest/gtest.h>

#include "observernet/error.hpp"

namespace observernet::api {
namespace {

using nlohmann::json;

std::vector<std::string> fields_of(const std::function<void()>& parse) {
  try {
    parse();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::bad_request);
    std::vector<std::string> fields;
    for (const auto& fe : e.field_errors()) fields.push_back(fe.field);
    return fields;
  }
  ADD_FAILURE() << "parsed";
  return {};
}

TEST(RequestsTest, TokenRequestParsesAndLowerCasesTheElectionId) {
  auto r = parse_token_request({{"electionId", "0F0E0D0C-0B0A-4908-8706-050403020100"},
                                {"voterId", "alice@example.org"},
                                {"credential", "ABCD-EFGH"},
                                {"blindedMessage", "AQID"}});
  EXPECT_EQ(r.election_id, "0f0e0d0c-0b0a-4908-8706-050403020100");
  EXPECT_EQ(r.voter_id, "alice@example.org");
  EXPECT_EQ(r.credential, "ABCD-EFGH");
  EXPECT_EQ(r.blinded_message, (crypto::Bytes{1, 2, 3}));
}

TEST(RequestsTest, TokenRequestListsEveryShapeErrorTogether) {
  auto fields = fields_of([] {
    parse_token_request({{"electionId", 7}, {"voterId", "a"}, {"extra", true}});
  });
  EXPECT_EQ(fields,
            (std::vector<std::string>{"electionId", "extra", "credential", "blindedMessage"}));
}

TEST(RequestsTest, TokenRequestListsEveryValueErrorTogether) {
  auto fields = fields_of([] {
    parse_token_request({{"electionId", "not-a-uuid"},
                         {"voterId", ""},
                         {"credential", std::string(129, 'x')},
                         {"blindedMessage", "AQID="}});
  });
  EXPECT_EQ(fields,
            (std::vector<std::string>{"electionId", "voterId", "credential", "blindedMessage"}));
}

TEST(RequestsTest, BallotSubmissionKeepsSelectionsForTheBallotBox) {
  auto s = parse_ballot_submission({{"electionId", "0f0e0d0c-0b0a-4908-8706-050403020100"},
                                    {"token", {{"message", "AQID"}, {"signature", "BAUG"}}},
                                    {"selections", {{"chair", {"ada"}}}}});
  EXPECT_EQ(s.token_message, (crypto::Bytes{1, 2, 3}));
  EXPECT_EQ(s.token_signature, (crypto::Bytes{4, 5, 6}));
  EXPECT_EQ(s.selections, (json{{"chair", {"ada"}}}));
}

TEST(RequestsTest, BallotSubmissionListsEveryErrorTogether) {
  EXPECT_EQ(fields_of([] {
              parse_ballot_submission({{"token", {{"message", 1}}}, {"x", 1}});
            }),
            (std::vector<std::string>{"x", "electionId", "token.message", "token.signature",
                                      "selections"}));
  EXPECT_EQ(fields_of([] {
              parse_ballot_submission({{"electionId", "nope"},
                                       {"token", {{"message", "!!"}, {"signature", "AQ=="}}},
                                       {"selections", {}}});
            }),
            (std::vector<std::string>{"electionId", "token.message", "token.signature"}));
  EXPECT_THROW(parse_ballot_submission(json::array()), Error);
}

}  // namespace
}  // namespace observernet::api
