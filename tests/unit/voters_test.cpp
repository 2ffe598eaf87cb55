#include "observernet/domain/voters.hpp"

#include "observernet/error.hpp"

#include <gtest/gtest.h>

#include <functional>
#include <set>
#include <string>
#include <vector>

namespace observernet::domain {
namespace {

using Ids = std::vector<std::string>;

const VoterImportLimits kDefaultLimits;

Error error_of(const std::function<void()>& call) {
  try {
    call();
  } catch (const Error& e) {
    return e;
  }
  ADD_FAILURE() << "no Error thrown";
  return Error(ErrorCode::internal_error, "none");
}

std::vector<std::string> json_error_fields(std::string_view body,
                                           const VoterImportLimits& limits = kDefaultLimits) {
  Error e = error_of([&] { parse_voters_json(body, limits); });
  EXPECT_EQ(e.code(), ErrorCode::validation_failed) << e.detail();
  std::vector<std::string> fields;
  for (const auto& f : e.field_errors()) fields.push_back(f.field);
  return fields;
}

// The single CSV error as "field: message".
FieldError csv_error(std::string_view body, const VoterImportLimits& limits = kDefaultLimits) {
  Error e = error_of([&] { parse_voters_csv(body, limits); });
  EXPECT_EQ(e.code(), ErrorCode::validation_failed) << e.detail();
  EXPECT_EQ(e.field_errors().size(), 1u);
  return e.field_errors().empty() ? FieldError{} : e.field_errors().front();
}

// --- JSON -----------------------------------------------------------------------

TEST(VotersJsonTest, ParsesVotersInOrderKeepingDuplicates) {
  auto ids = parse_voters_json(
      R"({"voters": [{"voterId": "a-1"}, {"voterId": "Émile"}, {"voterId": "a-1"}]})",
      kDefaultLimits);
  EXPECT_EQ(ids, (Ids{"a-1", "Émile", "a-1"}));
}

TEST(VotersJsonTest, AcceptsAnEmptyList) {
  EXPECT_TRUE(parse_voters_json(R"({"voters": []})", kDefaultLimits).empty());
}

TEST(VotersJsonTest, KeepsSpacesAndEscapes) {
  auto ids = parse_voters_json(R"({"voters": [{"voterId": " x "}, {"voterId": "a\"b\u00e9"}]})",
                               kDefaultLimits);
  EXPECT_EQ(ids, (Ids{" x ", "a\"b\xC3\xA9"}));
}

TEST(VotersJsonTest, MalformedJsonIsABadRequest) {
  for (const char* body : {"", "{", R"({"voters": [})", R"({"voters": []} x)", "\xFF"}) {
    Error e = error_of([&] { parse_voters_json(body, kDefaultLimits); });
    EXPECT_EQ(e.code(), ErrorCode::bad_request) << body;
  }
}

TEST(VotersJsonTest, BodyMustBeAnObject) {
  EXPECT_EQ(json_error_fields(R"([{"voterId": "a"}])"), Ids{"(body)"});
  EXPECT_EQ(json_error_fields("42"), Ids{"(body)"});
}

TEST(VotersJsonTest, VotersIsRequired) {
  EXPECT_EQ(json_error_fields("{}"), Ids{"voters"});
}

TEST(VotersJsonTest, VotersMustBeAnArray) {
  EXPECT_EQ(json_error_fields(R"({"voters": {"voterId": "a"}})"), Ids{"voters"});
  EXPECT_EQ(json_error_fields(R"({"voters": "a"})"), Ids{"voters"});
}

TEST(VotersJsonTest, UnknownMembersAreErrors) {
  EXPECT_EQ(json_error_fields(R"({"voters": [], "election": {"id": 1}})"), Ids{"election"});
  EXPECT_EQ(json_error_fields(R"({"voters": [{"voterId": "a"}, {"voterId": "b", "name": ["x"]}]})"),
            Ids{"voters[1].name"});
}

TEST(VotersJsonTest, RepeatedMembersAreErrors) {
  EXPECT_EQ(json_error_fields(R"({"voters": [], "voters": []})"), Ids{"voters"});
  EXPECT_EQ(json_error_fields(R"({"voters": [{"voterId": "a", "voterId": "b"}]})"),
            Ids{"voters[0].voterId"});
}

TEST(VotersJsonTest, EachVoterMustBeAnObject) {
  EXPECT_EQ(json_error_fields(R"({"voters": [{"voterId": "a"}, "b", ["c"]]})"),
            (Ids{"voters[1]", "voters[2]"}));
}

TEST(VotersJsonTest, VoterIdIsRequired) {
  EXPECT_EQ(json_error_fields(R"({"voters": [{"voterId": "a"}, {}]})"), Ids{"voters[1].voterId"});
}

TEST(VotersJsonTest, VoterIdMustBeAString) {
  EXPECT_EQ(json_error_fields(R"({"voters": [{"voterId": 12}, {"voterId": {"a": 1}}]})"),
            (Ids{"voters[0].voterId", "voters[1].voterId"}));
}

TEST(VotersJsonTest, VoterIdMustNotBeEmpty) {
  EXPECT_EQ(json_error_fields(R"({"voters": [{"voterId": ""}]})"), Ids{"voters[0].voterId"});
}

TEST(VotersJsonTest, VoterIdIsBoundedInBytes) {
  std::string ok(256, 'a');
  EXPECT_EQ(parse_voters_json(R"({"voters": [{"voterId": ")" + ok + R"("}]})", kDefaultLimits),
            Ids{ok});
  // 129 two-byte characters: 258 bytes.
  std::string long_id;
  for (int i = 0; i < 129; ++i) long_id += "\xC3\xA9";
  EXPECT_EQ(json_error_fields(R"({"voters": [{"voterId": ")" + long_id + R"("}]})"),
            Ids{"voters[0].voterId"});
}

TEST(VotersJsonTest, VoterIdMustNotHoldControlCharacters) {
  EXPECT_EQ(json_error_fields(R"({"voters": [{"voterId": "a\tb"}, {"voterId": "c\u0085"}]})"),
            (Ids{"voters[0].voterId", "voters[1].voterId"}));
}

TEST(VotersJsonTest, TooManyVoters) {
  VoterImportLimits limits;
  limits.max_voters = 2;
  EXPECT_EQ(parse_voters_json(R"({"voters": [{"voterId": "a"}, {"voterId": "b"}]})", limits).size(),
            2u);
  EXPECT_EQ(json_error_fields(
                R"({"voters": [{"voterId": "a"}, {"voterId": "b"}, {"voterId": "c"}]})", limits),
            Ids{"voters"});
}

TEST(VotersJsonTest, ListsAtMostTwentyErrorsButCountsAll) {
  std::string body = R"({"voters": [)";
  for (int i = 0; i < 30; ++i) body += std::string(i ? "," : "") + R"({"voterId": ""})";
  body += "]}";
  Error e = error_of([&] { parse_voters_json(body, kDefaultLimits); });
  EXPECT_EQ(e.code(), ErrorCode::validation_failed);
  ASSERT_EQ(e.field_errors().size(), 20u);
  EXPECT_EQ(e.field_errors()[19].field, "voters[19].voterId");
  EXPECT_NE(e.detail().find("30"), std::string::npos) << e.detail();
}

// --- CSV ------------------------------------------------------------------------

TEST(VotersCsvTest, ParsesASimpleFile) {
  EXPECT_EQ(parse_voters_csv("voterId\nv1\nv2\nv1\n", kDefaultLimits), (Ids{"v1", "v2", "v1"}));
  // No line end after the last row.
  EXPECT_EQ(parse_voters_csv("voterId\nv1\nv2", kDefaultLimits), (Ids{"v1", "v2"}));
}

TEST(VotersCsvTest, HeaderOnlyGivesNoVoters) {
  EXPECT_TRUE(parse_voters_csv("voterId\n", kDefaultLimits).empty());
  EXPECT_TRUE(parse_voters_csv("voterId", kDefaultLimits).empty());
}

TEST(VotersCsvTest, IgnoresOtherColumns) {
  auto ids = parse_voters_csv("name,voterId,email\nAnn,v1,a@x\nBob,v2,\n", kDefaultLimits);
  EXPECT_EQ(ids, (Ids{"v1", "v2"}));
}

TEST(VotersCsvTest, UnquotesQuotedFields) {
  auto ids = parse_voters_csv(
      "\"voterId\",\"note\"\n"
      "\"v1\",\"plain\"\n"
      "\"say \"\"hi\"\"\",\"a, b\"\n"
      "\"\"\"\",x\n",
      kDefaultLimits);
  EXPECT_EQ(ids, (Ids{"v1", "say \"hi\"", "\""}));
}

TEST(VotersCsvTest, KeepsEmbeddedCommaAndNewline) {
  auto ids = parse_voters_csv("voterId,note\n\"a,b\",\"line1\nline2\"\n\"c\",\"x\r\ny,z\"\n",
                              kDefaultLimits);
  EXPECT_EQ(ids, (Ids{"a,b", "c"}));
  // A line break inside a voterId is a control character: rejected on the row's first line.
  EXPECT_EQ(csv_error("voterId,note\n\"a,b\",\"line1\nline2\"\n\"c\nd\",n\n").field, "line 4");
}

TEST(VotersCsvTest, EscapedQuotesInSeveralFieldsOfOneRow) {
  auto ids =
      parse_voters_csv("note,voterId,other\n\"x\"\"\",\"v\"\"1\",\"y\"\"\"\n", kDefaultLimits);
  EXPECT_EQ(ids, Ids{"v\"1"});
}

TEST(VotersCsvTest, AcceptsCrlf) {
  EXPECT_EQ(parse_voters_csv("voterId,name\r\nv1,Ann\r\n\"v2\",\"Bob\"\r\n", kDefaultLimits),
            (Ids{"v1", "v2"}));
}

TEST(VotersCsvTest, SkipsTheBom) {
  EXPECT_EQ(parse_voters_csv("\xEF\xBB\xBFvoterId\nv1\n", kDefaultLimits), Ids{"v1"});
}

TEST(VotersCsvTest, SkipsBlankLines) {
  EXPECT_EQ(parse_voters_csv("\n\r\nvoterId\n\nv1\r\n\r\n\nv2\n\n", kDefaultLimits),
            (Ids{"v1", "v2"}));
}

TEST(VotersCsvTest, KeepsSurroundingSpaces) {
  EXPECT_EQ(parse_voters_csv("voterId,x\n v1 ,y\n", kDefaultLimits), Ids{" v1 "});
}

TEST(VotersCsvTest, MissingVoterIdColumnIsAHeaderError) {
  EXPECT_EQ(csv_error("id,name\n1,Ann\n").field, "header");
  EXPECT_EQ(csv_error("voterid\nv1\n").field, "header");  // the name is case-sensitive
  EXPECT_EQ(csv_error(" voterId\nv1\n").field, "header");
  EXPECT_EQ(csv_error("").field, "header");
  EXPECT_EQ(csv_error("\n\n").field, "header");
  EXPECT_EQ(csv_error("voterId,voterId\na,b\n").field, "header");
}

TEST(VotersCsvTest, UnterminatedQuoteIsReportedWhereTheRowStarts) {
  auto e = csv_error("voterId,note\nv1,x\nv2,\"never\nclosed\n");
  EXPECT_EQ(e.field, "line 3");
  EXPECT_NE(e.message.find("unterminated"), std::string::npos) << e.message;
}

TEST(VotersCsvTest, LineNumbersCountLinesInsideQuotes) {
  auto e = csv_error("voterId,note\nv1,\"a\nb\nc\"\nv2\n");
  EXPECT_EQ(e.field, "line 5");
  EXPECT_EQ(csv_error("\xEF\xBB\xBF\r\nvoterId,n\r\n\r\nv1,\"a\r\nb\"\r\nv2,x,y\r\n").field,
            "line 6");
}

TEST(VotersCsvTest, WrongFieldCountIsReportedWithItsLine) {
  auto e = csv_error("voterId,name\nv1,Ann\nv2\nv3,Cy\n");
  EXPECT_EQ(e.field, "line 3");
  EXPECT_NE(e.message.find("expected 2 fields, found 1"), std::string::npos) << e.message;
  EXPECT_EQ(csv_error("voterId,name\nv1,Ann\nv2,Bob,x\n").field, "line 3");
  EXPECT_EQ(csv_error("voterId\nv1\nv2,\n").field, "line 3");
}

TEST(VotersCsvTest, QuoteInsideAnUnquotedFieldIsAnError) {
  EXPECT_EQ(csv_error("voterId,size\nv1,5\"\n").field, "line 2");
}

TEST(VotersCsvTest, TextAfterAClosingQuoteIsAnError) {
  EXPECT_EQ(csv_error("voterId\nv1\n\"v2\"x\n").field, "line 3");
}

TEST(VotersCsvTest, EmptyVoterIdIsAnError) {
  EXPECT_EQ(csv_error("voterId,name\nv1,Ann\n,Bob\n").field, "line 3");
  EXPECT_EQ(csv_error("voterId\n\"\"\n").field, "line 2");
}

TEST(VotersCsvTest, OverlongVoterIdIsAnError) {
  std::string ok(256, 'v');
  EXPECT_EQ(parse_voters_csv("voterId\n" + ok + "\n", kDefaultLimits), Ids{ok});
  auto e = csv_error("voterId\nv1\n" + ok + "v\n");
  EXPECT_EQ(e.field, "line 3");
  EXPECT_NE(e.message.find("256"), std::string::npos) << e.message;
}

TEST(VotersCsvTest, ControlCharacterInVoterIdIsAnError) {
  EXPECT_EQ(csv_error("voterId\nv\x01"
                      "1\n")
                .field,
            "line 2");
  // A lone CR is data, not a line end.
  EXPECT_EQ(csv_error("voterId\nv1\rv2\n").field, "line 2");
}

TEST(VotersCsvTest, InvalidUtf8IsAnErrorWithItsLine) {
  EXPECT_EQ(csv_error("voterId,name\nv1,Ann\nv2,B\xFFob\n").field, "line 3");
  EXPECT_EQ(csv_error("voterId\nv1\n\xC3\n").field, "line 3");      // truncated
  EXPECT_EQ(csv_error("voterId\n\xC0\xAF\n").field, "line 2");      // overlong
  EXPECT_EQ(csv_error("voterId\n\xED\xA0\x80\n").field, "line 2");  // surrogate
  EXPECT_EQ(csv_error("voterId,n\xFF\nv1,x\n").field, "line 1");    // in the header
  EXPECT_EQ(parse_voters_csv("voterId\n\xF0\x9F\x97\xB3\xEF\xB8\x8F\n", kDefaultLimits).size(),
            1u);  // a four-byte character is fine
}

TEST(VotersCsvTest, TooManyRows) {
  VoterImportLimits limits;
  limits.max_voters = 3;
  EXPECT_EQ(parse_voters_csv("voterId\na\nb\nc\n", limits).size(), 3u);
  auto e = csv_error("voterId\na\nb\n\nc\nd\n", limits);
  EXPECT_EQ(e.field, "line 6");
}

TEST(VotersCsvTest, ParsesALargeFile) {
  constexpr std::size_t kRows = 200'000;
  std::string body = "voterId,name\r\n";
  body.reserve(kRows * 24);
  for (std::size_t i = 0; i < kRows; ++i) {
    body += "voter-" + std::to_string(i) + ",\"Name " + std::to_string(i) + "\"\r\n";
  }
  auto ids = parse_voters_csv(body, kDefaultLimits);
  ASSERT_EQ(ids.size(), kRows);
  EXPECT_EQ(ids.back(), "voter-199999");
}

// --- credentials ----------------------------------------------------------------

TEST(CredentialTest, Is26CrockfordCharacters) {
  const std::string alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
  for (int i = 0; i < 100; ++i) {
    auto c = new_credential();
    ASSERT_EQ(c.size(), 26u);
    for (char ch : c) EXPECT_NE(alphabet.find(ch), std::string::npos) << c;
    // 128 bits in 26 characters leave the last one with 2 zero bits.
    EXPECT_EQ(alphabet.find(c.back()) % 4, 0u) << c;
  }
}

TEST(CredentialTest, ThousandDrawsAreDistinct) {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) seen.insert(new_credential());
  EXPECT_EQ(seen.size(), 1000u);
}

}  // namespace
}  // namespace observernet::domain
