// The store's array literals (src/store/stored_values.hpp): every element quoted, quotes
// and backslashes escaped (PostgreSQL manual §8.15.6), whatever else the text holds.
#include "../../src/store/stored_values.hpp"

#include <gtest/gtest.h>

namespace observernet::store::detail {
namespace {

TEST(ArrayLiteralTest, QuotesEveryElementAndEscapesQuotesAndBackslashes) {
  ArrayLiteral empty;
  EXPECT_TRUE(empty.empty());
  EXPECT_EQ(empty.str(), "{}");

  ArrayLiteral a;
  a.add(R"({"contestId":"a\"b","x":"c\\d"})");
  a.add("");
  a.add("plain, {braces} and NULL");
  a.add(R"(\\"")");
  EXPECT_FALSE(a.empty());
  EXPECT_EQ(a.str(),
            R"({"{\"contestId\":\"a\\\"b\",\"x\":\"c\\\\d\"}","","plain, {braces} and NULL",)"
            R"("\\\\\"\""})");
}

TEST(ArrayLiteralTest, LongElementsGrowTheTextWithoutLosingAnything) {
  ArrayLiteral a;
  std::string expected = "{";
  for (int i = 0; i < 500; ++i) {
    const std::string leaf(560 + i, i % 7 == 0 ? '"' : 'x');
    a.add(leaf);
    std::string quoted = "\"";
    for (char c : leaf) {
      if (c == '"') quoted += '\\';
      quoted += c;
    }
    expected += (i ? "," : "") + quoted + "\"";
  }
  EXPECT_EQ(a.str(), expected + "}");
}

}  // namespace
}  // namespace observernet::store::detail
