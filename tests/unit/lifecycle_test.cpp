// The election lifecycle's rules (domain/election.hpp): draft -> open -> closed.
#include <gtest/gtest.h>

#include <set>

#include "observernet/domain/election.hpp"
#include "observernet/error.hpp"

namespace observernet::domain {
namespace {

Election in(ElectionStatus status) {
  Election e;
  e.status = status;
  return e;
}

template <class Check>
std::optional<ErrorCode> refusal(Check check) {
  try {
    check();
  } catch (const Error& e) {
    return e.code();
  }
  return std::nullopt;
}

constexpr ElectionStatus kDraft = ElectionStatus::draft;
constexpr ElectionStatus kOpen = ElectionStatus::open;
constexpr ElectionStatus kClosed = ElectionStatus::closed;

TEST(LifecycleTest, OnlyADraftIsEditedOrDeleted) {
  EXPECT_EQ(refusal([] { check_editable(in(kDraft)); }), std::nullopt);
  EXPECT_EQ(refusal([] { check_deletable(in(kDraft)); }), std::nullopt);
  for (auto status : {kOpen, kClosed}) {
    EXPECT_EQ(refusal([&] { check_editable(in(status)); }), ErrorCode::election_not_draft);
    EXPECT_EQ(refusal([&] { check_deletable(in(status)); }), ErrorCode::election_not_draft);
  }
}

TEST(LifecycleTest, ADraftOpensOnceItHasVoters) {
  EXPECT_EQ(refusal([] { check_openable(in(kDraft), 1); }), std::nullopt);
  EXPECT_EQ(refusal([] { check_openable(in(kDraft), 0); }), ErrorCode::no_voters);
  EXPECT_EQ(refusal([] { check_openable(in(kOpen), 5); }), ErrorCode::election_not_draft);
  EXPECT_EQ(refusal([] { check_openable(in(kClosed), 5); }), ErrorCode::election_not_draft);
}

TEST(LifecycleTest, OnlyAnOpenElectionCloses) {
  EXPECT_EQ(refusal([] { check_closable(in(kOpen)); }), std::nullopt);
  EXPECT_EQ(refusal([] { check_closable(in(kDraft)); }), ErrorCode::election_not_open);
  EXPECT_EQ(refusal([] { check_closable(in(kClosed)); }), ErrorCode::election_not_open);
}

TEST(LifecycleTest, ResultsShowAfterTheCloseOrLiveWhenTheElectionSaysSo) {
  Election after_close = in(kOpen);
  after_close.definition.results_visibility = ResultsVisibility::after_close;
  EXPECT_EQ(refusal([&] { check_results_shown(after_close); }), ErrorCode::results_not_available);
  Election live = after_close;
  live.definition.results_visibility = ResultsVisibility::live;
  EXPECT_EQ(refusal([&] { check_results_shown(live); }), std::nullopt);
  after_close.status = kClosed;
  EXPECT_EQ(refusal([&] { check_results_shown(after_close); }), std::nullopt);
  live.status = kDraft;
  EXPECT_EQ(refusal([&] { check_results_shown(live); }), ErrorCode::not_found);
}

TEST(LifecycleTest, VotersAreAddedUntilTheCloseWithinTheLimit) {
  EXPECT_EQ(refusal([] { check_voters_addable(in(kDraft)); }), std::nullopt);
  EXPECT_EQ(refusal([] { check_voters_addable(in(kOpen)); }), std::nullopt);
  EXPECT_EQ(refusal([] { check_voters_addable(in(kClosed)); }), ErrorCode::election_closed);
  EXPECT_EQ(refusal([] { check_roll_size(10, 10); }), std::nullopt);
  EXPECT_EQ(refusal([] { check_roll_size(11, 10); }), ErrorCode::validation_failed);
}

TEST(LifecycleTest, NewElectionIdsAreDistinctVersion4Uuids) {
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    std::string id = new_election_id();
    EXPECT_TRUE(is_uuid(id)) << id;
    EXPECT_EQ(id[14], '4') << id;
    EXPECT_NE(std::string("89ab").find(id[19]), std::string::npos) << id;
    EXPECT_EQ(id, [&] {
      std::string lower = id;
      for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      return lower;
    }());
    seen.insert(id);
  }
  EXPECT_EQ(seen.size(), 100u);
}

}  // namespace
}  // namespace observernet::domain
