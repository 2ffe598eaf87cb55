#include "observernet/crypto/jcs.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string_view>
#include <vector>

namespace observernet::crypto {
namespace {

using Json = nlohmann::json;

// I-JSON (RFC 7493 §2.2): integers outside ±(2^53 − 1) cannot be exchanged exactly.
constexpr std::int64_t kMaxSafeInteger = (std::int64_t{1} << 53) - 1;

[[noreturn]] void reject(const char* why) {
  throw std::invalid_argument(std::string("JCS: ") + why);
}

// Decodes UTF-8 strictly (Unicode §3.9, Table 3-7): no overlong forms, no surrogates,
// nothing above U+10FFFF. Calls `on_code_point(cp, bytes)` for each scalar value.
template <typename F>
void for_each_code_point(std::string_view s, F&& on_code_point) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto b0 = static_cast<unsigned char>(s[i]);
    char32_t cp = 0;
    std::size_t length = 0;
    unsigned char low = 0x80;  // bounds of the second byte, per Table 3-7
    unsigned char high = 0xbf;
    if (b0 < 0x80) {
      cp = b0;
      length = 1;
    } else if (b0 >= 0xc2 && b0 <= 0xdf) {
      cp = b0 & 0x1f;
      length = 2;
    } else if (b0 >= 0xe0 && b0 <= 0xef) {
      cp = b0 & 0x0f;
      length = 3;
      if (b0 == 0xe0) low = 0xa0;   // overlong
      if (b0 == 0xed) high = 0x9f;  // surrogates U+D800..U+DFFF
    } else if (b0 >= 0xf0 && b0 <= 0xf4) {
      cp = b0 & 0x07;
      length = 4;
      if (b0 == 0xf0) low = 0x90;   // overlong
      if (b0 == 0xf4) high = 0x8f;  // above U+10FFFF
    } else {
      reject("invalid UTF-8");
    }
    if (s.size() - i < length) reject("truncated UTF-8");
    for (std::size_t k = 1; k < length; ++k) {
      const auto b = static_cast<unsigned char>(s[i + k]);
      const unsigned char lo = k == 1 ? low : 0x80;
      const unsigned char hi = k == 1 ? high : 0xbf;
      if (b < lo || b > hi) reject("invalid UTF-8");
      cp = cp << 6 | (b & 0x3f);
    }
    on_code_point(cp, s.substr(i, length));
    i += length;
  }
}

// RFC 8785 §3.2.3: property names are compared as arrays of UTF-16 code units.
std::u16string to_utf16(std::string_view s) {
  std::u16string out;
  out.reserve(s.size());
  for_each_code_point(s, [&](char32_t cp, std::string_view) {
    if (cp < 0x10000) {
      out.push_back(static_cast<char16_t>(cp));
    } else {
      cp -= 0x10000;
      out.push_back(static_cast<char16_t>(0xd800 + (cp >> 10)));
      out.push_back(static_cast<char16_t>(0xdc00 + (cp & 0x3ff)));
    }
  });
  return out;
}

// Printable ASCII but '"' and '\\': copied as it is, and valid UTF-8 by itself.
bool plain(char c) {
  const auto b = static_cast<unsigned char>(c);
  return b >= 0x20 && b < 0x80 && c != '"' && c != '\\';
}

// RFC 8785 §3.2.2.2 (ECMAScript QuoteJSONString): only '"', '\' and U+0000..U+001F are
// escaped, the five with a short form use it, the rest \u00xx in lowercase hex.
void append_escaped(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  for_each_code_point(s, [&](char32_t cp, std::string_view bytes) {
    switch (cp) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        if (cp < 0x20) {
          out += "\\u00";
          out.push_back(kHex[cp >> 4]);
          out.push_back(kHex[cp & 0x0f]);
        } else {
          out += bytes;
        }
    }
  });
}

void append_string(std::string& out, std::string_view s) {
  out.push_back('"');
  // Runs of plain characters (all of a token's base64url, say) are appended whole; the
  // rest goes through append_escaped a run at a time. A run of other bytes ends where a
  // plain one starts, which no valid multi-byte UTF-8 sequence contains, so each run
  // holds whole code points, or is invalid anyway.
  for (std::size_t i = 0; i < s.size();) {
    std::size_t end = i;
    while (end < s.size() && plain(s[end])) ++end;
    out.append(s.substr(i, end - i));
    i = end;
    while (end < s.size() && !plain(s[end])) ++end;
    if (end > i) append_escaped(out, s.substr(i, end - i));
    i = end;
  }
  out.push_back('"');
}

template <typename Integer>
void append_integer(std::string& out, Integer value) {
  std::array<char, 24> buffer{};
  const auto [end, ec] = std::to_chars(buffer.data(), buffer.data() + buffer.size(), value);
  (void)ec;  // 24 characters hold any 64-bit integer
  out.append(buffer.data(), end);
}

// RFC 8785 §3.2.2.3: ECMAScript Number::toString (ECMA-262 §7.1.12.1). std::to_chars
// in scientific form gives the shortest digits that round-trip, nearest to the value
// with ties to even, which is the s, k and n the algorithm asks for; what remains is
// where the decimal point goes.
void append_double(std::string& out, double value) {
  if (!std::isfinite(value)) reject("NaN and Infinity have no JSON form");
  // Step 2: +0 and -0 both print as "0".
  if (value == 0) {
    out.push_back('0');
    return;
  }
  std::array<char, 32> buffer{};
  const auto [end, ec] = std::to_chars(buffer.data(), buffer.data() + buffer.size(), value,
                                       std::chars_format::scientific);
  (void)ec;  // "-d.dddddddddddddddde-ddd" is at most 24 characters
  std::string_view text(buffer.data(), end - buffer.data());

  if (text.front() == '-') {
    out.push_back('-');
    text.remove_prefix(1);
  }
  const auto e_at = text.find('e');
  std::string digits;
  for (char c : text.substr(0, e_at)) {
    if (c != '.') digits.push_back(c);
  }
  int exponent = 0;
  std::string_view exponent_text = text.substr(e_at + 1);
  if (exponent_text.front() == '+') exponent_text.remove_prefix(1);
  std::from_chars(exponent_text.data(), exponent_text.data() + exponent_text.size(), exponent);

  // In the standard's terms: value = 0.digits × 10^n with k digits.
  const int k = static_cast<int>(digits.size());
  const int n = exponent + 1;
  if (k <= n && n <= 21) {
    // Step 6: an integer below 10^21, written out in full.
    out += digits;
    out.append(static_cast<std::size_t>(n - k), '0');
  } else if (0 < n && n <= 21) {
    // Step 7: the decimal point falls inside the digits.
    out.append(digits, 0, static_cast<std::size_t>(n));
    out.push_back('.');
    out.append(digits, static_cast<std::size_t>(n));
  } else if (-6 < n && n <= 0) {
    // Step 8: a small fraction, "0." and up to five leading zeros.
    out += "0.";
    out.append(static_cast<std::size_t>(-n), '0');
    out += digits;
  } else {
    // Steps 9 and 10: exponential form, the exponent always signed.
    out.push_back(digits.front());
    if (k > 1) {
      out.push_back('.');
      out.append(digits, 1);
    }
    out.push_back('e');
    out.push_back(n - 1 < 0 ? '-' : '+');
    append_integer(out, n - 1 < 0 ? 1 - n : n - 1);
  }
}

void append_value(std::string& out, const Json& value) {
  switch (value.type()) {
    case Json::value_t::null:
      out += "null";
      return;
    case Json::value_t::boolean:
      out += value.get<bool>() ? "true" : "false";
      return;
    case Json::value_t::number_integer: {
      const auto i = value.get<std::int64_t>();
      if (i > kMaxSafeInteger || i < -kMaxSafeInteger) reject("integer beyond ±(2^53 − 1)");
      append_integer(out, i);
      return;
    }
    case Json::value_t::number_unsigned: {
      const auto u = value.get<std::uint64_t>();
      if (u > static_cast<std::uint64_t>(kMaxSafeInteger)) reject("integer beyond 2^53 − 1");
      append_integer(out, u);
      return;
    }
    case Json::value_t::number_float:
      append_double(out, value.get<double>());
      return;
    case Json::value_t::string:
      append_string(out, value.get_ref<const std::string&>());
      return;
    case Json::value_t::array: {
      out.push_back('[');
      bool first = true;
      for (const auto& element : value) {
        if (!first) out.push_back(',');
        first = false;
        append_value(out, element);
      }
      out.push_back(']');
      return;
    }
    case Json::value_t::object: {
      // nlohmann keeps members in UTF-8 byte order, which differs from UTF-16 order
      // once characters above U+FFFF meet U+E000..U+FFFF.
      struct Member {
        std::u16string sort_key;
        const std::string* name;
        const Json* value;
      };
      const auto& object = value.get_ref<const Json::object_t&>();
      std::vector<Member> members;
      members.reserve(object.size());
      for (const auto& [name, member] : object) {
        members.push_back({to_utf16(name), &name, &member});
      }
      std::sort(members.begin(), members.end(),
                [](const Member& a, const Member& b) { return a.sort_key < b.sort_key; });
      out.push_back('{');
      bool first = true;
      for (const Member& m : members) {
        if (!first) out.push_back(',');
        first = false;
        append_string(out, *m.name);
        out.push_back(':');
        append_value(out, *m.value);
      }
      out.push_back('}');
      return;
    }
    case Json::value_t::binary:
      reject("binary values have no JSON form");
    case Json::value_t::discarded:
      reject("discarded value");
  }
  reject("unknown value type");
}

}  // namespace

std::string canonicalize(const nlohmann::json& value) {
  std::string out;
  append_value(out, value);
  return out;
}

}  // namespace observernet::crypto
