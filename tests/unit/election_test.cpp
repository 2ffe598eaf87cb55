#include "observernet/domain/election.hpp"

#include "observernet/error.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <limits>
#include <string>
#include <vector>

namespace observernet::domain {
namespace {

using nlohmann::json;
using namespace std::chrono;

json valid_body() {
  return json::parse(R"({
    "title": "City council 2026",
    "description": "Annual vote",
    "opensAt": "2026-11-26T08:00:00Z",
    "closesAt": "2026-11-26T18:00:00.000Z",
    "resultsVisibility": "live",
    "contests": [
      {"id": "mayor", "title": "Mayor",
       "options": [{"id": "alice", "title": "Alice"}, {"id": "bob", "title": "Bob"}]},
      {"id": "council", "title": "Council", "minSelections": 0, "maxSelections": 2,
       "options": [{"id": "carol", "title": "Carol"}, {"id": "dave", "title": "Dave"},
                   {"id": "erin", "title": "Erin"}]}
    ]
  })");
}

// The field errors `call` throws; fails the test if it throws nothing or something else.
std::vector<FieldError> field_errors_of(const std::function<void()>& call) {
  try {
    call();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::validation_failed) << e.detail();
    EXPECT_EQ(e.detail(), std::to_string(e.field_errors().size()) +
                              (e.field_errors().size() == 1 ? " field is" : " fields are") +
                              " invalid");
    return e.field_errors();
  }
  ADD_FAILURE() << "no Error thrown";
  return {};
}

std::vector<std::string> fields_of(const std::vector<FieldError>& errors) {
  std::vector<std::string> out;
  for (const auto& e : errors) out.push_back(e.field);
  return out;
}

std::vector<std::string> invalid_fields(const json& body) {
  return fields_of(field_errors_of([&] { parse_election_definition(body); }));
}

// Exactly one error, on `field`.
void expect_single_error(const json& body, const std::string& field) {
  EXPECT_EQ(invalid_fields(body), std::vector<std::string>{field}) << body.dump();
}

// --- the baseline ---------------------------------------------------------------

TEST(ElectionDefinitionTest, ParsesAValidBody) {
  auto d = parse_election_definition(valid_body());
  EXPECT_EQ(d.title, "City council 2026");
  EXPECT_EQ(d.description, "Annual vote");
  ASSERT_TRUE(d.opens_at && d.closes_at);
  EXPECT_EQ(format_timestamp(*d.opens_at), "2026-11-26T08:00:00.000Z");
  EXPECT_EQ(format_timestamp(*d.closes_at), "2026-11-26T18:00:00.000Z");
  EXPECT_EQ(d.results_visibility, ResultsVisibility::live);
  ASSERT_EQ(d.contests.size(), 2u);
  EXPECT_EQ(d.contests[0].id, "mayor");
  EXPECT_EQ(d.contests[0].min_selections, 1);
  EXPECT_EQ(d.contests[0].max_selections, 1);
  ASSERT_EQ(d.contests[0].options.size(), 2u);
  EXPECT_EQ(d.contests[0].options[1], (Option{"bob", "Bob"}));
  EXPECT_EQ(d.contests[1].min_selections, 0);
  EXPECT_EQ(d.contests[1].max_selections, 2);
  EXPECT_EQ(d.contests[1].options.size(), 3u);
}

TEST(ElectionDefinitionTest, AppliesDefaultsForOptionalMembers) {
  auto body = valid_body();
  body.erase("description");
  body.erase("opensAt");
  body["closesAt"] = nullptr;
  body.erase("resultsVisibility");
  auto d = parse_election_definition(body);
  EXPECT_EQ(d.description, "");
  EXPECT_FALSE(d.opens_at);
  EXPECT_FALSE(d.closes_at);
  EXPECT_EQ(d.results_visibility, ResultsVisibility::after_close);
}

TEST(ElectionDefinitionTest, AcceptsLimitsExactly) {
  auto body = valid_body();
  body["title"] = std::string(kMaxTitleChars, 'x');
  body["description"] = std::string(kMaxDescriptionChars, 'y');
  body["contests"][0]["id"] = std::string(64, 'a');
  json options = json::array();
  for (std::size_t i = 0; i < kMaxOptionsPerContest; ++i) {
    options.push_back({{"id", "o" + std::to_string(i)}, {"title", "Option"}});
  }
  body["contests"][1]["options"] = options;
  body["contests"][1]["maxSelections"] = kMaxOptionsPerContest;
  EXPECT_NO_THROW(parse_election_definition(body));

  json contests = json::array();
  for (std::size_t i = 0; i < kMaxContests; ++i) {
    contests.push_back({{"id", "c" + std::to_string(i)},
                        {"title", "Contest"},
                        {"options", {{{"id", "a"}, {"title", "A"}}}}});
  }
  body["contests"] = contests;
  EXPECT_NO_THROW(parse_election_definition(body));
}

TEST(ElectionDefinitionTest, CountsTitleLengthInCodePointsNotBytes) {
  auto body = valid_body();
  std::string title;
  for (std::size_t i = 0; i < kMaxTitleChars; ++i) title += "\xC3\xA9";  // é, 2 bytes
  body["title"] = title;
  EXPECT_NO_THROW(parse_election_definition(body));
  body["title"] = title + "\xC3\xA9";
  expect_single_error(body, "title");
}

TEST(ElectionDefinitionTest, AcceptsIntegralFloatsForCounts) {
  auto body = valid_body();
  body["contests"][1]["maxSelections"] = 2.0;
  EXPECT_EQ(parse_election_definition(body).contests[1].max_selections, 2);
}

TEST(ElectionDefinitionTest, DescriptionMayHoldLineBreaks) {
  auto body = valid_body();
  body["description"] = "Line one\r\nLine two\n\tindented";
  EXPECT_NO_THROW(parse_election_definition(body));
  body["description"] = "";
  EXPECT_NO_THROW(parse_election_definition(body));
}

// --- the top level ----------------------------------------------------------------

TEST(ElectionDefinitionTest, BodyMustBeAnObject) {
  expect_single_error(json::array(), "(body)");
  expect_single_error(json("text"), "(body)");
  expect_single_error(json(nullptr), "(body)");
}

TEST(ElectionDefinitionTest, TitleIsRequired) {
  auto body = valid_body();
  body.erase("title");
  expect_single_error(body, "title");
}

TEST(ElectionDefinitionTest, TitleMustBeAString) {
  auto body = valid_body();
  body["title"] = 42;
  expect_single_error(body, "title");
  body["title"] = nullptr;
  expect_single_error(body, "title");
}

TEST(ElectionDefinitionTest, TitleMustNotBeEmpty) {
  auto body = valid_body();
  body["title"] = "";
  expect_single_error(body, "title");
}

TEST(ElectionDefinitionTest, TitleMustNotBeOnlyWhitespace) {
  auto body = valid_body();
  body["title"] = "  \t ";
  expect_single_error(body, "title");
  body["title"] = "\xE3\x80\x80\xC2\xA0";  // U+3000 ideographic space, U+00A0 no-break space
  expect_single_error(body, "title");
}

TEST(ElectionDefinitionTest, TitleMustNotBeTooLong) {
  auto body = valid_body();
  body["title"] = std::string(kMaxTitleChars + 1, 'x');
  expect_single_error(body, "title");
}

TEST(ElectionDefinitionTest, TitleMustNotHoldControlCharacters) {
  auto body = valid_body();
  body["title"] = "Two\nlines";
  expect_single_error(body, "title");
}

TEST(ElectionDefinitionTest, TitleMustBeValidUtf8) {
  auto body = valid_body();
  body["title"] = "bad \xFF byte";  // only possible for a json built in code
  expect_single_error(body, "title");
}

TEST(ElectionDefinitionTest, DescriptionMustBeAString) {
  auto body = valid_body();
  body["description"] = json::array();
  expect_single_error(body, "description");
  body["description"] = nullptr;
  expect_single_error(body, "description");
}

TEST(ElectionDefinitionTest, DescriptionMustNotBeTooLong) {
  auto body = valid_body();
  body["description"] = std::string(kMaxDescriptionChars + 1, 'y');
  expect_single_error(body, "description");
}

TEST(ElectionDefinitionTest, OpensAtMustBeATimestamp) {
  auto body = valid_body();
  body["opensAt"] = "tomorrow";
  expect_single_error(body, "opensAt");
  body["opensAt"] = 1700000000;
  expect_single_error(body, "opensAt");
}

TEST(ElectionDefinitionTest, ClosesAtMustBeATimestamp) {
  auto body = valid_body();
  body["closesAt"] = "2026-02-30T10:00:00Z";
  expect_single_error(body, "closesAt");
}

TEST(ElectionDefinitionTest, ClosesAtMustBeAfterOpensAt) {
  auto body = valid_body();
  body["closesAt"] = body["opensAt"];
  expect_single_error(body, "closesAt");
  body["closesAt"] = "2026-11-26T07:59:59Z";
  expect_single_error(body, "closesAt");
  // The same instant written with an offset is not "after" either.
  body["closesAt"] = "2026-11-26T09:00:00+01:00";
  expect_single_error(body, "closesAt");
}

TEST(ElectionDefinitionTest, EitherTimeAloneIsFine) {
  auto body = valid_body();
  body.erase("opensAt");
  EXPECT_NO_THROW(parse_election_definition(body));
  body = valid_body();
  body["closesAt"] = nullptr;
  EXPECT_NO_THROW(parse_election_definition(body));
}

TEST(ElectionDefinitionTest, ResultsVisibilityMustBeKnown) {
  auto body = valid_body();
  body["resultsVisibility"] = "always";
  expect_single_error(body, "resultsVisibility");
  body["resultsVisibility"] = true;
  expect_single_error(body, "resultsVisibility");
}

TEST(ElectionDefinitionTest, ContestsAreRequired) {
  auto body = valid_body();
  body.erase("contests");
  expect_single_error(body, "contests");
}

TEST(ElectionDefinitionTest, ContestsMustBeAnArray) {
  auto body = valid_body();
  body["contests"] = json::object();
  expect_single_error(body, "contests");
}

TEST(ElectionDefinitionTest, ContestsMustNotBeEmpty) {
  auto body = valid_body();
  body["contests"] = json::array();
  auto errors = field_errors_of([&] { parse_election_definition(body); });
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].field, "contests");
  EXPECT_EQ(errors[0].message, "at least one contest");
}

TEST(ElectionDefinitionTest, ContestsAreLimited) {
  auto body = valid_body();
  json contests = json::array();
  for (std::size_t i = 0; i <= kMaxContests; ++i) {
    contests.push_back({{"id", "c" + std::to_string(i)},
                        {"title", "Contest"},
                        {"options", {{{"id", "a"}, {"title", "A"}}}}});
  }
  body["contests"] = contests;
  expect_single_error(body, "contests");
}

TEST(ElectionDefinitionTest, UnknownMembersAreErrors) {
  auto body = valid_body();
  body["colour"] = "blue";
  expect_single_error(body, "colour");
}

TEST(ElectionDefinitionTest, ServerOwnedMembersAreUnknownInACreateBody) {
  auto body = valid_body();
  body["status"] = "open";
  expect_single_error(body, "status");
}

// --- contests -------------------------------------------------------------------

TEST(ContestValidationTest, ContestMustBeAnObject) {
  auto body = valid_body();
  body["contests"][1] = "council";
  expect_single_error(body, "contests[1]");
}

TEST(ContestValidationTest, IdIsRequired) {
  auto body = valid_body();
  body["contests"][0].erase("id");
  expect_single_error(body, "contests[0].id");
}

TEST(ContestValidationTest, IdMustBeASlug) {
  for (const char* bad : {"Mayor", "ma yor", "mayor_1", "", "é"}) {
    auto body = valid_body();
    body["contests"][0]["id"] = bad;
    expect_single_error(body, "contests[0].id");
  }
  auto body = valid_body();
  body["contests"][0]["id"] = std::string(65, 'a');
  expect_single_error(body, "contests[0].id");
  body["contests"][0]["id"] = 7;
  expect_single_error(body, "contests[0].id");
}

TEST(ContestValidationTest, DuplicateIdIsReportedAtItsSecondOccurrence) {
  auto body = valid_body();
  body["contests"].push_back(body["contests"][0]);
  auto errors = field_errors_of([&] { parse_election_definition(body); });
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].field, "contests[2].id");
  EXPECT_NE(errors[0].message.find("contests[0]"), std::string::npos) << errors[0].message;
}

TEST(ContestValidationTest, TitleIsRequiredAndBounded) {
  auto body = valid_body();
  body["contests"][1].erase("title");
  expect_single_error(body, "contests[1].title");
  body["contests"][1]["title"] = "";
  expect_single_error(body, "contests[1].title");
  body["contests"][1]["title"] = "   ";
  expect_single_error(body, "contests[1].title");
  body["contests"][1]["title"] = std::string(kMaxTitleChars + 1, 't');
  expect_single_error(body, "contests[1].title");
}

TEST(ContestValidationTest, SelectionCountsMustBeNonNegativeIntegers) {
  for (const json& bad : {json(1.5), json("1"), json(-1), json(nullptr), json(true)}) {
    auto body = valid_body();
    body["contests"][1]["minSelections"] = bad;
    expect_single_error(body, "contests[1].minSelections");
    body = valid_body();
    body["contests"][1]["maxSelections"] = bad;
    expect_single_error(body, "contests[1].maxSelections");
  }
}

TEST(ContestValidationTest, MinAboveMaxIsReportedOnMinSelections) {
  auto body = valid_body();
  body["contests"][1]["minSelections"] = 3;
  body["contests"][1]["maxSelections"] = 2;
  expect_single_error(body, "contests[1].minSelections");
  // With maxSelections left at its default of 1.
  body = valid_body();
  body["contests"][0]["minSelections"] = 2;
  expect_single_error(body, "contests[0].minSelections");
}

TEST(ContestValidationTest, MaxAboveOptionCountIsReportedOnMaxSelections) {
  auto body = valid_body();
  body["contests"][1]["maxSelections"] = 4;
  expect_single_error(body, "contests[1].maxSelections");
  body["contests"][1]["maxSelections"] = 1e300;
  expect_single_error(body, "contests[1].maxSelections");
  body["contests"][1]["maxSelections"] = std::numeric_limits<std::uint64_t>::max();
  expect_single_error(body, "contests[1].maxSelections");
}

TEST(ContestValidationTest, OptionsAreRequiredAndNonEmpty) {
  auto body = valid_body();
  body["contests"][0].erase("options");
  expect_single_error(body, "contests[0].options");
  body["contests"][0]["options"] = json::array();
  expect_single_error(body, "contests[0].options");
  body["contests"][0]["options"] = "alice,bob";
  expect_single_error(body, "contests[0].options");
}

TEST(ContestValidationTest, OptionsAreLimited) {
  auto body = valid_body();
  json options = json::array();
  for (std::size_t i = 0; i <= kMaxOptionsPerContest; ++i) {
    options.push_back({{"id", "o" + std::to_string(i)}, {"title", "Option"}});
  }
  body["contests"][0]["options"] = options;
  expect_single_error(body, "contests[0].options");
}

TEST(ContestValidationTest, UnknownContestMemberIsAnError) {
  auto body = valid_body();
  body["contests"][0]["weight"] = 2;
  expect_single_error(body, "contests[0].weight");
}

// --- options --------------------------------------------------------------------

TEST(OptionValidationTest, OptionMustBeAnObject) {
  auto body = valid_body();
  body["contests"][0]["options"][1] = "bob";
  expect_single_error(body, "contests[0].options[1]");
}

TEST(OptionValidationTest, IdIsRequiredAndASlug) {
  auto body = valid_body();
  body["contests"][1]["options"][2].erase("id");
  expect_single_error(body, "contests[1].options[2].id");
  body["contests"][1]["options"][2]["id"] = "Erin!";
  expect_single_error(body, "contests[1].options[2].id");
}

TEST(OptionValidationTest, DuplicateIdIsReportedAtItsSecondOccurrence) {
  auto body = valid_body();
  body["contests"][1]["options"][2]["id"] = "carol";
  expect_single_error(body, "contests[1].options[2].id");
}

TEST(OptionValidationTest, SameOptionIdInTwoContestsIsFine) {
  auto body = valid_body();
  body["contests"][1]["options"][0]["id"] = "alice";
  EXPECT_NO_THROW(parse_election_definition(body));
}

TEST(OptionValidationTest, TitleIsRequiredAndBounded) {
  auto body = valid_body();
  body["contests"][0]["options"][0].erase("title");
  expect_single_error(body, "contests[0].options[0].title");
  body["contests"][0]["options"][0]["title"] = "";
  expect_single_error(body, "contests[0].options[0].title");
  body["contests"][0]["options"][0]["title"] = std::string(201, 'a');
  expect_single_error(body, "contests[0].options[0].title");
  body["contests"][0]["options"][0]["title"] = 5;
  expect_single_error(body, "contests[0].options[0].title");
}

TEST(OptionValidationTest, UnknownOptionMemberIsAnError) {
  auto body = valid_body();
  body["contests"][0]["options"][0]["party"] = "Green";
  expect_single_error(body, "contests[0].options[0].party");
}

TEST(ElectionDefinitionTest, ReportsEveryViolationAtOnce) {
  auto body = valid_body();
  body["title"] = "";
  body["opensAt"] = "soon";
  body["resultsVisibility"] = "never";
  body["extra"] = 1;
  body["contests"][0]["id"] = "BAD";
  body["contests"][0]["options"][1]["title"] = 3;
  body["contests"][1]["minSelections"] = 3;
  body["contests"][1]["maxSelections"] = 2;
  body["contests"][1]["options"][1]["id"] = "carol";
  auto fields = invalid_fields(body);
  std::vector<std::string> expected = {
      "title",
      "opensAt",
      "resultsVisibility",
      "contests[0].id",
      "contests[0].options[1].title",
      "contests[1].options[1].id",
      "contests[1].minSelections",
      "extra",
  };
  EXPECT_EQ(fields, expected);
}

// --- JSON forms -----------------------------------------------------------------

TEST(ElectionJsonTest, DefinitionRoundTrips) {
  auto d = parse_election_definition(valid_body());
  EXPECT_EQ(parse_election_definition(to_json(d)), d);

  auto body = valid_body();
  body.erase("opensAt");
  body.erase("closesAt");
  auto without_times = parse_election_definition(body);
  auto j = to_json(without_times);
  EXPECT_TRUE(j["opensAt"].is_null());
  EXPECT_TRUE(j["closesAt"].is_null());
  EXPECT_EQ(parse_election_definition(j), without_times);
}

TEST(ElectionJsonTest, ContestsRoundTrip) {
  auto d = parse_election_definition(valid_body());
  auto j = contests_to_json(d.contests);
  EXPECT_EQ(j[1]["minSelections"], 0);
  EXPECT_EQ(j[1]["options"][2]["id"], "erin");
  EXPECT_EQ(contests_from_json(j), d.contests);
}

TEST(ElectionJsonTest, ContestsFromJsonThrowsOnMalformed) {
  try {
    contests_from_json(json::parse(R"([{"id": "x"}])"));
    FAIL() << "no throw";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::internal_error);
  }
}

Election sample_election() {
  Election e;
  e.id = "0b8e4a9e-7c1f-4d2a-9a51-3f4f0c2b1d6e";
  e.status = ElectionStatus::open;
  e.definition = parse_election_definition(valid_body());
  e.created_at = TimePoint{sys_days{2026y / 11 / 1} + 9h + 30min + 1500ms};
  e.updated_at = TimePoint{sys_days{2026y / 11 / 2}};
  return e;
}

TEST(ElectionJsonTest, AdminFormHasTheSpecMembers) {
  auto j = to_admin_json(sample_election());
  std::vector<std::string> keys;
  for (const auto& [k, v] : j.items()) keys.push_back(k);
  std::vector<std::string> expected = {"closesAt", "contests", "createdAt",         "description",
                                       "id",       "opensAt",  "resultsVisibility", "status",
                                       "title",    "updatedAt"};
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(keys, expected);
  EXPECT_EQ(j["id"], "0b8e4a9e-7c1f-4d2a-9a51-3f4f0c2b1d6e");
  EXPECT_EQ(j["status"], "open");
  EXPECT_EQ(j["resultsVisibility"], "live");
  EXPECT_EQ(j["createdAt"], "2026-11-01T09:30:01.500Z");
  EXPECT_EQ(j["updatedAt"], "2026-11-02T00:00:00.000Z");
  EXPECT_EQ(j["opensAt"], "2026-11-26T08:00:00.000Z");
  EXPECT_EQ(j["contests"][0]["options"][0]["title"], "Alice");
}

TEST(ElectionJsonTest, PublicFormAddsBallotsCastAndVotersRegistered) {
  auto e = sample_election();
  e.voters_registered = 5000;
  auto j = to_public_json(e, 1234);
  EXPECT_EQ(j["ballotsCast"], 1234);
  EXPECT_EQ(j["votersRegistered"], 5000);
  j.erase("ballotsCast");
  j.erase("votersRegistered");
  EXPECT_EQ(j, to_admin_json(e));
}

TEST(ElectionJsonTest, StatusAndVisibilityNames) {
  for (auto s : {ElectionStatus::draft, ElectionStatus::open, ElectionStatus::closed}) {
    EXPECT_EQ(parse_election_status(to_string(s)), s);
  }
  EXPECT_FALSE(parse_election_status("Draft"));
  for (auto v : {ResultsVisibility::after_close, ResultsVisibility::live}) {
    EXPECT_EQ(parse_results_visibility(to_string(v)), v);
  }
  EXPECT_FALSE(parse_results_visibility("afterclose"));
}

// --- merge patch ----------------------------------------------------------------

ElectionDefinition current_definition() {
  return parse_election_definition(valid_body());
}

std::vector<std::string> patch_errors(const json& patch) {
  return fields_of(field_errors_of([&] { apply_election_patch(current_definition(), patch); }));
}

TEST(ElectionPatchTest, ChangesTheTitleAndKeepsTheRest) {
  auto before = current_definition();
  auto after = apply_election_patch(before, {{"title", "New title"}});
  EXPECT_EQ(after.title, "New title");
  after.title = before.title;
  EXPECT_EQ(after, before);
}

TEST(ElectionPatchTest, NullRemovesAMember) {
  auto after = apply_election_patch(current_definition(),
                                    json::parse(R"({"description": null, "opensAt": null})"));
  EXPECT_EQ(after.description, "");
  EXPECT_FALSE(after.opens_at);
  EXPECT_TRUE(after.closes_at);
}

TEST(ElectionPatchTest, EmptyPatchChangesNothing) {
  EXPECT_EQ(apply_election_patch(current_definition(), json::object()), current_definition());
}

TEST(ElectionPatchTest, ReplacesContestsWholesale) {
  auto patch = json::parse(R"({"contests": [
      {"id": "referendum", "title": "Referendum",
       "options": [{"id": "yes", "title": "Yes"}, {"id": "no", "title": "No"}]}]})");
  auto after = apply_election_patch(current_definition(), patch);
  ASSERT_EQ(after.contests.size(), 1u);
  EXPECT_EQ(after.contests[0].id, "referendum");
  EXPECT_EQ(after.contests[0].options.size(), 2u);
}

TEST(ElectionPatchTest, ReadOnlyMembersAreErrors) {
  auto fields = patch_errors(json::parse(
      R"({"id": "x", "status": "open", "createdAt": "2026-01-01T00:00:00Z",
          "updatedAt": "2026-01-01T00:00:00Z", "ballotsCast": 3})"));
  std::sort(fields.begin(), fields.end());
  EXPECT_EQ(fields,
            (std::vector<std::string>{"ballotsCast", "createdAt", "id", "status", "updatedAt"}));
  auto errors = field_errors_of([&] {
    apply_election_patch(current_definition(), {{"status", "closed"}});
  });
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].message, "is read-only");
}

TEST(ElectionPatchTest, UnknownMembersAreErrors) {
  EXPECT_EQ(patch_errors({{"colour", "blue"}}), std::vector<std::string>{"colour"});
}

TEST(ElectionPatchTest, PatchThatMakesMinAboveMaxIsRejected) {
  auto patch = json::parse(R"({"contests": [
      {"id": "mayor", "title": "Mayor", "minSelections": 2, "maxSelections": 1,
       "options": [{"id": "alice", "title": "Alice"}, {"id": "bob", "title": "Bob"}]}]})");
  EXPECT_EQ(patch_errors(patch), std::vector<std::string>{"contests[0].minSelections"});
}

TEST(ElectionPatchTest, MergedResultIsFullyValidated) {
  EXPECT_EQ(patch_errors({{"title", nullptr}}), std::vector<std::string>{"title"});
  EXPECT_EQ(patch_errors({{"contests", nullptr}}), std::vector<std::string>{"contests"});
  EXPECT_EQ(patch_errors({{"closesAt", "2026-11-26T07:00:00Z"}}),
            std::vector<std::string>{"closesAt"});
  EXPECT_EQ(patch_errors({{"contests", json::array()}}), std::vector<std::string>{"contests"});
}

TEST(ElectionPatchTest, ReportsPatchAndMergedErrorsTogether) {
  auto fields = patch_errors({{"status", "open"}, {"title", ""}});
  EXPECT_EQ(fields, (std::vector<std::string>{"status", "title"}));
}

TEST(ElectionPatchTest, PatchMustBeAnObject) {
  EXPECT_EQ(patch_errors(json::array()), std::vector<std::string>{"(body)"});
  EXPECT_EQ(patch_errors(json("title")), std::vector<std::string>{"(body)"});
}

// --- timestamps -----------------------------------------------------------------

TEST(TimestampTest, FormatsWithMilliseconds) {
  EXPECT_EQ(format_timestamp(TimePoint{}), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(format_timestamp(TimePoint{sys_days{2026y / 11 / 26} + 18h + 7ms}),
            "2026-11-26T18:00:00.007Z");
  EXPECT_EQ(format_timestamp(TimePoint{sys_days{9999y / 12 / 31} + 23h + 59min + 59s + 999ms}),
            "9999-12-31T23:59:59.999Z");
}

TEST(TimestampTest, ParsesUtc) {
  auto t = parse_timestamp("2026-11-26T18:00:00Z");
  ASSERT_TRUE(t);
  EXPECT_EQ(*t, TimePoint{sys_days{2026y / 11 / 26} + 18h});
  EXPECT_EQ(parse_timestamp("2026-11-26t18:00:00z"), t);
}

TEST(TimestampTest, AppliesOffsets) {
  auto utc = TimePoint{sys_days{2026y / 11 / 26} + 18h};
  EXPECT_EQ(parse_timestamp("2026-11-26T20:00:00+02:00"), utc);
  EXPECT_EQ(parse_timestamp("2026-11-26T12:30:00-05:30"), utc);
  EXPECT_EQ(parse_timestamp("2026-11-26T18:00:00+00:00"), utc);
  EXPECT_EQ(parse_timestamp("2026-11-26T18:00:00-00:00"), utc);
  // Crossing midnight and a month end.
  EXPECT_EQ(parse_timestamp("2026-12-01T01:00:00+02:00"),
            TimePoint{sys_days{2026y / 11 / 30} + 23h});
}

TEST(TimestampTest, TruncatesFractionsToMilliseconds) {
  auto base = TimePoint{sys_days{2026y / 1 / 2} + 3h + 4min + 5s};
  EXPECT_EQ(parse_timestamp("2026-01-02T03:04:05.1Z"), base + 100ms);
  EXPECT_EQ(parse_timestamp("2026-01-02T03:04:05.12Z"), base + 120ms);
  EXPECT_EQ(parse_timestamp("2026-01-02T03:04:05.123Z"), base + 123ms);
  EXPECT_EQ(parse_timestamp("2026-01-02T03:04:05.123999999Z"), base + 123ms);
}

TEST(TimestampTest, RoundTripsThroughFormat) {
  for (const char* text : {"2026-11-26T18:00:00.000Z", "1970-01-01T00:00:00.000Z",
                           "2024-02-29T12:34:56.789Z", "9999-12-31T23:59:59.999Z"}) {
    auto t = parse_timestamp(text);
    ASSERT_TRUE(t) << text;
    EXPECT_EQ(format_timestamp(*t), text);
  }
}

TEST(TimestampTest, KnowsLeapDays) {
  EXPECT_TRUE(parse_timestamp("2024-02-29T00:00:00Z"));
  EXPECT_TRUE(parse_timestamp("2000-02-29T00:00:00Z"));
  EXPECT_FALSE(parse_timestamp("2023-02-29T00:00:00Z"));
  EXPECT_FALSE(parse_timestamp("2100-02-29T00:00:00Z"));
}

TEST(TimestampTest, RejectsMalformedAndOutOfRange) {
  for (const char* bad : {
           "",
           "2026-11-26",
           "2026-11-26T18:00Z",          // seconds are required
           "2026-11-26 18:00:00Z",       // RFC 3339 needs T
           "2026-11-26T18:00:00",        // no offset
           "2026-11-26T18:00:00.Z",      // empty fraction
           "2026-11-26T18:00:00+0200",   // offset needs a colon
           "2026-11-26T18:00:00+24:00",  // offset hour
           "2026-11-26T18:00:00+02:60",  // offset minute
           "2026-13-01T00:00:00Z",
           "2026-00-01T00:00:00Z",
           "2026-04-31T00:00:00Z",
           "2026-01-00T00:00:00Z",
           "2026-01-01T24:00:00Z",
           "2026-01-01T23:60:00Z",
           "2026-12-31T23:59:60Z",  // leap seconds are not representable
           "1969-12-31T23:59:59Z",
           "1970-01-01T00:30:00+01:00",  // before 1970 in UTC
           "10000-01-01T00:00:00Z",
           "9999-12-31T23:00:00-02:00",  // after 9999 in UTC
           "2026-11-26T18:00:00Z ",
           "+2026-11-26T18:00:00Z",
           "2026-1-26T18:00:00Z",
           "2026-11-26T18:00:00ZZ",
       }) {
    EXPECT_FALSE(parse_timestamp(bad)) << bad;
  }
}

// --- UUIDs ----------------------------------------------------------------------

TEST(UuidTest, AcceptsCanonicalForm) {
  EXPECT_TRUE(is_uuid("0b8e4a9e-7c1f-4d2a-9a51-3f4f0c2b1d6e"));
  EXPECT_TRUE(is_uuid("0B8E4A9E-7C1F-4D2A-9A51-3F4F0C2B1D6E"));
  EXPECT_TRUE(is_uuid("00000000-0000-0000-0000-000000000000"));
}

TEST(UuidTest, RejectsOtherForms) {
  for (const char* bad : {
           "",
           "0b8e4a9e7c1f4d2a9a513f4f0c2b1d6e",
           "{0b8e4a9e-7c1f-4d2a-9a51-3f4f0c2b1d6e}",
           "0b8e4a9e-7c1f-4d2a-9a51-3f4f0c2b1d6",
           "0b8e4a9e-7c1f-4d2a-9a51-3f4f0c2b1d6e0",
           "0b8e4a9e-7c1f-4d2a-9a513f4f-0c2b1d6e",
           "0b8e4a9g-7c1f-4d2a-9a51-3f4f0c2b1d6e",
           "0b8e4a9e_7c1f_4d2a_9a51_3f4f0c2b1d6e",
       }) {
    EXPECT_FALSE(is_uuid(bad)) << bad;
  }
}

}  // namespace
}  // namespace observernet::domain
