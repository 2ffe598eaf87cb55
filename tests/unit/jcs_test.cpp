#include "observernet/crypto/jcs.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <bit>
#include <cstdint>
#include <limits>
#include <stdexcept>

namespace observernet::crypto {
namespace {

using nlohmann::json;

double from_ieee754(std::uint64_t bits) {
  return std::bit_cast<double>(bits);
}

// RFC 8785 Appendix B: IEEE 754 bit patterns and the JSON text each must produce.
// Built from the bits rather than parsed, since text such as "9007199254740992" would
// reach nlohmann as an integer, not as the double the table means.
TEST(JcsTest, Rfc8785AppendixBNumbers) {
  const std::pair<std::uint64_t, std::string_view> rows[] = {
      {0x0000000000000000, "0"},
      {0x8000000000000000, "0"},  // minus zero
      {0x0000000000000001, "5e-324"},
      {0x8000000000000001, "-5e-324"},
      {0x7fefffffffffffff, "1.7976931348623157e+308"},
      {0xffefffffffffffff, "-1.7976931348623157e+308"},
      {0x4340000000000000, "9007199254740992"},
      {0xc340000000000000, "-9007199254740992"},
      {0x4430000000000000, "295147905179352830000"},
      {0x44b52d02c7e14af5, "9.999999999999997e+22"},
      {0x44b52d02c7e14af6, "1e+23"},
      {0x44b52d02c7e14af7, "1.0000000000000001e+23"},
      {0x444b1ae4d6e2ef4e, "999999999999999700000"},
      {0x444b1ae4d6e2ef4f, "999999999999999900000"},
      {0x444b1ae4d6e2ef50, "1e+21"},
      {0x3eb0c6f7a0b5ed8c, "9.999999999999997e-7"},
      {0x3eb0c6f7a0b5ed8d, "0.000001"},
      {0x41b3de4355555553, "333333333.3333332"},
      {0x41b3de4355555554, "333333333.33333325"},
      {0x41b3de4355555555, "333333333.3333333"},
      {0x41b3de4355555556, "333333333.3333334"},
      {0x41b3de4355555557, "333333333.33333343"},
      {0xbecbf647612f3696, "-0.0000033333333333333333"},
      {0x43143ff3c1cb0959, "1424953923781206.2"},  // exactly ...206.25: ties to even
  };
  for (auto [bits, expected] : rows) {
    EXPECT_EQ(canonicalize(json(from_ieee754(bits))), expected) << std::hex << bits;
  }
}

// RFC 8785 Appendix B: NaN and Infinity are errors.
TEST(JcsTest, Rfc8785AppendixBNonFiniteNumbersAreRejected) {
  EXPECT_THROW(canonicalize(json(from_ieee754(0x7fffffffffffffff))), std::invalid_argument);
  EXPECT_THROW(canonicalize(json(from_ieee754(0x7ff0000000000000))), std::invalid_argument);
  EXPECT_THROW(canonicalize(json(-std::numeric_limits<double>::infinity())), std::invalid_argument);
  EXPECT_THROW(canonicalize(json::array({1, json(std::nan(""))})), std::invalid_argument);
}

// The boundaries of ECMAScript's layout (ECMA-262 6th ed. §7.1.12.1 steps 6-10).
TEST(JcsTest, NumberLayoutBoundaries) {
  EXPECT_EQ(canonicalize(json(1e21)), "1e+21");
  EXPECT_EQ(canonicalize(json(1e20)), "100000000000000000000");
  EXPECT_EQ(canonicalize(json(1e-7)), "1e-7");
  EXPECT_EQ(canonicalize(json(1.5e-7)), "1.5e-7");
  EXPECT_EQ(canonicalize(json(0.000001)), "0.000001");
  EXPECT_EQ(canonicalize(json(1e30)), "1e+30");
  EXPECT_EQ(canonicalize(json(-1.5)), "-1.5");
  EXPECT_EQ(canonicalize(json(4.5)), "4.5");
  EXPECT_EQ(canonicalize(json(100.0)), "100");
  EXPECT_EQ(canonicalize(json(-0.0)), "0");
  EXPECT_EQ(canonicalize(json(0.1)), "0.1");
  EXPECT_EQ(canonicalize(json(123.456e-10)), "1.23456e-8");
}

// nlohmann keeps integers as int64 / uint64; I-JSON (RFC 7493 §2.2) only admits those
// a double holds exactly, ±(2^53 − 1).
TEST(JcsTest, IntegersWithinTheSafeRange) {
  EXPECT_EQ(canonicalize(json(0)), "0");
  EXPECT_EQ(canonicalize(json(-1)), "-1");
  EXPECT_EQ(canonicalize(json::parse("9007199254740991")), "9007199254740991");
  EXPECT_EQ(canonicalize(json::parse("-9007199254740991")), "-9007199254740991");
  EXPECT_EQ(canonicalize(json(std::uint64_t{42})), "42");
  EXPECT_EQ(canonicalize(json::parse("-0")), "0");
}

TEST(JcsTest, IntegersBeyondTheSafeRangeAreRejected) {
  EXPECT_THROW(canonicalize(json::parse("9007199254740992")), std::invalid_argument);
  EXPECT_THROW(canonicalize(json::parse("-9007199254740992")), std::invalid_argument);
  EXPECT_THROW(canonicalize(json(std::numeric_limits<std::uint64_t>::max())),
               std::invalid_argument);
  EXPECT_THROW(canonicalize(json(std::numeric_limits<std::int64_t>::min())), std::invalid_argument);
  EXPECT_THROW(canonicalize(json{{"a", {{"b", std::int64_t{1} << 60}}}}), std::invalid_argument);
}

// RFC 8785 §3.2.2: the sample input and its canonical form.
TEST(JcsTest, Rfc8785Section322Example) {
  const json input = json::parse(R"({
    "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
    "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
    "literals": [null, true, false]
  })");
  EXPECT_EQ(canonicalize(input),
            "{\"literals\":[null,true,false],"
            "\"numbers\":[333333333.3333333,1e+30,4.5,0.002,1e-27],"
            "\"string\":\"\xe2\x82\xac$\\u000f\\nA'B\\\"\\\\\\\\\\\"/\"}");
}

// RFC 8785 §3.2.3: members sorted by UTF-16 code units. U+1F600 (surrogates D83D DE00)
// sorts before U+FB33 although its UTF-8 form (F0 ...) sorts after (EF ...).
TEST(JcsTest, Rfc8785Section323SortingExample) {
  const json input = json::parse(R"({
    "\u20ac": "Euro Sign",
    "\r": "Carriage Return",
    "\ufb33": "Hebrew Letter Dalet With Dagesh",
    "1": "One",
    "\ud83d\ude00": "Emoji: Grinning Face",
    "\u0080": "Control",
    "\u00f6": "Latin Small Letter O With Diaeresis"
  })");
  EXPECT_EQ(canonicalize(input),
            "{\"\\r\":\"Carriage Return\","
            "\"1\":\"One\","
            "\"\xc2\x80\":\"Control\","
            "\"\xc3\xb6\":\"Latin Small Letter O With Diaeresis\","
            "\"\xe2\x82\xac\":\"Euro Sign\","
            "\"\xf0\x9f\x98\x80\":\"Emoji: Grinning Face\","
            "\"\xef\xac\xb3\":\"Hebrew Letter Dalet With Dagesh\"}");
}

// RFC 8785 §3.2.2.2: only '"', '\' and U+0000..U+001F are escaped.
TEST(JcsTest, StringEscaping) {
  EXPECT_EQ(canonicalize(json(std::string("\0\x01\x1f", 3))), R"("\u0000\u0001\u001f")");
  EXPECT_EQ(canonicalize(json("\b\t\n\f\r")), R"("\b\t\n\f\r")");
  EXPECT_EQ(canonicalize(json("\"\\")), R"("\"\\")");
  // DEL, '/', U+2028 and U+FFFF are literal.
  EXPECT_EQ(canonicalize(json("\x7f/\xe2\x80\xa8\xef\xbf\xbf")),
            "\"\x7f/\xe2\x80\xa8\xef\xbf\xbf\"");
}

// Runs of plain characters are copied whole and the rest escaped a run at a time: strings
// that mix them come out as character by character.
TEST(JcsTest, MixedPlainAndEscapedRuns) {
  const std::string euro = "\xe2\x82\xac";
  EXPECT_EQ(canonicalize(json("ab\"cd\\ef\n" + euro + "gh")), R"("ab\"cd\\ef\n)" + euro + R"(gh")");
  const std::string controls{'a', '\x01', '\x02', 'b', '\0'};
  EXPECT_EQ(canonicalize(json(controls)), R"("a\u0001\u0002b\u0000")");
  EXPECT_EQ(canonicalize(json("\xc3\xa9t\xc3\xa9")), "\"\xc3\xa9t\xc3\xa9\"");
  // A multi-byte sequence cut short by a plain character is still invalid.
  const std::string cut = std::string("\xe2\x82") + 'a';
  EXPECT_THROW(canonicalize(json(cut)), std::invalid_argument);
}

TEST(JcsTest, NestedStructuresAndLiterals) {
  const json input = json::parse(R"({
    "z": [3, {"b": [], "a": {}}, "x", null],
    "a": {"d": true, "c": false, "e": [[1.5], [0.25, -2]]},
    "": "empty key"
  })");
  EXPECT_EQ(canonicalize(input),
            R"({"":"empty key","a":{"c":false,"d":true,"e":[[1.5],[0.25,-2]]},)"
            R"("z":[3,{"a":{},"b":[]},"x",null]})");
  EXPECT_EQ(canonicalize(json::object()), "{}");
  EXPECT_EQ(canonicalize(json::array()), "[]");
  EXPECT_EQ(canonicalize(json(nullptr)), "null");
  EXPECT_EQ(canonicalize(json(true)), "true");
}

TEST(JcsTest, InvalidUtf8IsRejected) {
  const std::string bad[] = {
      "\xff",              // never valid
      "\x80",              // lone continuation byte
      "\xc0\x80",          // overlong NUL
      "\xe0\x80\xaf",      // overlong '/'
      "\xed\xa0\x80",      // surrogate U+D800
      "\xf4\x90\x80\x80",  // above U+10FFFF
      "\xe2\x82",          // truncated
      "a\xc3",             // truncated at the end
  };
  for (const std::string& s : bad) {
    EXPECT_THROW(canonicalize(json(s)), std::invalid_argument) << json(s).dump(-1, ' ', true);
    EXPECT_THROW(canonicalize(json{{s, 1}}), std::invalid_argument);
  }
  // The largest scalar value is fine.
  EXPECT_EQ(canonicalize(json("\xf4\x8f\xbf\xbf")), "\"\xf4\x8f\xbf\xbf\"");
}

TEST(JcsTest, BinaryValuesAreRejected) {
  EXPECT_THROW(canonicalize(json::binary({1, 2, 3})), std::invalid_argument);
}

}  // namespace
}  // namespace observernet::crypto
