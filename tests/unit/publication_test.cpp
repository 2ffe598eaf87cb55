// When the board publishes what waits (domain/publication.hpp).
#include "observernet/domain/publication.hpp"

#include <gtest/gtest.h>

namespace observernet::domain {
namespace {

using std::chrono::minutes;
using std::chrono::seconds;

const PublicationPolicy kPolicy{100, seconds(300), 10};

TEST(PublicationTest, AFullSetIsPublishedAtOnce) {
  EXPECT_TRUE(publication_due(kPolicy, 100, std::nullopt));
  EXPECT_TRUE(publication_due(kPolicy, 5000, seconds(0)));
  EXPECT_FALSE(publication_due(kPolicy, 99, seconds(299)));
  EXPECT_FALSE(publication_due(kPolicy, 0, seconds(10'000)));
}

TEST(PublicationTest, ASmallerSetWaitsForMaxDelayAndTheMinimumAnonymity) {
  EXPECT_TRUE(publication_due(kPolicy, 10, seconds(300)));
  EXPECT_FALSE(publication_due(kPolicy, 10, seconds(299)));
  EXPECT_FALSE(publication_due(kPolicy, 10, std::nullopt));
  // One or two ballots are never published before the close, however long they wait.
  EXPECT_FALSE(publication_due(kPolicy, 1, seconds(86'400)));
  EXPECT_FALSE(publication_due(kPolicy, 2, seconds(86'400)));
  EXPECT_FALSE(publication_due(kPolicy, 9, seconds(86'400)));
}

TEST(PublicationTest, TheDueTimeIsAnUpperBoundToTheMinute) {
  const TimePoint since{minutes(29'000'000) + seconds(10)};
  const auto pass = std::chrono::milliseconds(500);
  // Enough ballots: max_delay after they were first seen, plus a pass, rounded up.
  EXPECT_EQ(publication_due_by(kPolicy, 10, since, std::nullopt, pass),
            TimePoint(minutes(29'000'006)));
  // Too few: the close, if scheduled, else unknown.
  const TimePoint close{minutes(29'000'100)};
  EXPECT_EQ(publication_due_by(kPolicy, 3, since, close, pass), TimePoint(minutes(29'000'101)));
  EXPECT_EQ(publication_due_by(kPolicy, 3, since, std::nullopt, pass), std::nullopt);
  // A close sooner than max_delay is the bound.
  const TimePoint soon{minutes(29'000'002)};
  EXPECT_EQ(publication_due_by(kPolicy, 10, since, soon, pass), TimePoint(minutes(29'000'003)));
}

}  // namespace
}  // namespace observernet::domain
