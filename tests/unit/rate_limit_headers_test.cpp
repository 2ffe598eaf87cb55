// RateLimit-Policy and RateLimit fields (draft-ietf-httpapi-ratelimit-headers-11).
#include "observernet/cache/rate_limit_headers.hpp"

#include <gtest/gtest.h>

#include <stdexcept>

namespace observernet::cache {
namespace {

using std::chrono::seconds;

TEST(RateLimitHeadersTest, FieldsAreStructuredFieldItemsWithParameters) {
  EXPECT_EQ(rate_limit_policy_field("submit", 10, seconds(60)), "\"submit\";q=10;w=60");
  EXPECT_EQ(rate_limit_field("submit", 3, seconds(42)), "\"submit\";r=3;t=42");
  EXPECT_EQ(rate_limit_field("public", 0, seconds(1)), "\"public\";r=0;t=1");
  EXPECT_EQ(rate_limit_policy_field("per client", 0, seconds(86'400)),
            "\"per client\";q=0;w=86400");
}

TEST(RateLimitHeadersTest, NamesAreEscapedAsSfStrings) {
  EXPECT_EQ(rate_limit_field("a\"b\\c", 1, seconds(2)), "\"a\\\"b\\\\c\";r=1;t=2");
}

TEST(RateLimitHeadersTest, ValuesStayWithinWhatTheFieldsAllow) {
  EXPECT_EQ(rate_limit_field("x", -4, seconds(-1)), "\"x\";r=0;t=0");
  EXPECT_EQ(rate_limit_field("x", 1'000'000'000'000'000, seconds(5)),
            "\"x\";r=999999999999999;t=5");
  EXPECT_THROW(rate_limit_policy_field("x", -1, seconds(60)), std::invalid_argument);
  EXPECT_THROW(rate_limit_policy_field("x", 10, seconds(0)), std::invalid_argument);
}

TEST(RateLimitHeadersTest, NamesMustBePrintableAscii) {
  EXPECT_NO_THROW(validate_policy_name("submit"));
  EXPECT_THROW(validate_policy_name(""), std::invalid_argument);
  EXPECT_THROW(validate_policy_name("tab\there"), std::invalid_argument);
  EXPECT_THROW(validate_policy_name("caf\xc3\xa9"), std::invalid_argument);
  EXPECT_THROW(rate_limit_field("new\nline", 1, seconds(1)), std::invalid_argument);
}

}  // namespace
}  // namespace observernet::cache
