// RFC 8785 JCS (crypto/jcs.hpp), which ballot leaves, audit events and tree heads are
// hashed over: any JSON document, and the input's first 8 bytes as a double.
#include <bit>
#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>

#include "fuzz_support.hpp"
#include "observernet/crypto/jcs.hpp"

using namespace observernet;
using nlohmann::json;

namespace {

// UTF-8 to UTF-16 code units; the text comes from the parser, so it is valid.
std::u16string utf16(std::string_view s) {
  std::u16string out;
  for (std::size_t i = 0; i < s.size();) {
    const auto lead = static_cast<unsigned char>(s[i]);
    const std::size_t length = lead < 0x80 ? 1 : lead < 0xe0 ? 2 : lead < 0xf0 ? 3 : 4;
    char32_t cp = length == 1 ? lead : lead & (0x7f >> length);
    for (std::size_t k = 1; k < length; ++k) cp = cp << 6 | (s[i + k] & 0x3f);
    if (cp < 0x10000) {
      out.push_back(static_cast<char16_t>(cp));
    } else {
      out.push_back(static_cast<char16_t>(0xd800 + ((cp - 0x10000) >> 10)));
      out.push_back(static_cast<char16_t>(0xdc00 + ((cp - 0x10000) & 0x3ff)));
    }
    i += length;
  }
  return out;
}

// RFC 8785 §3.2.3: the members of every object in UTF-16 code unit order, each name once.
void check_member_order(const nlohmann::ordered_json& value) {
  if (value.is_object()) {
    const std::u16string* previous = nullptr;
    std::u16string last;
    for (const auto& [name, member] : value.items()) {
      std::u16string current = utf16(name);
      FUZZ_CHECK(!previous || *previous < current);
      last = std::move(current);
      previous = &last;
      check_member_order(member);
    }
  } else if (value.is_array()) {
    for (const auto& element : value) check_member_order(element);
  }
}

// ECMAScript's Number::toString (ECMA-262 §6.1.6.1.20), written from the standard over
// the shortest round-trip digits std::to_chars finds: the form RFC 8785 §3.2.2.3 requires.
std::string ecmascript_number(double value) {
  if (value == 0) return "0";
  if (value < 0) return "-" + ecmascript_number(-value);
  char buffer[64];
  auto end =
      std::to_chars(buffer, buffer + sizeof buffer, value, std::chars_format::scientific).ptr;
  const std::string_view scientific(buffer, static_cast<std::size_t>(end - buffer));
  const auto e = scientific.find('e');
  std::string digits(scientific.substr(0, e));
  digits.erase(std::remove(digits.begin(), digits.end(), '.'), digits.end());
  const int k = static_cast<int>(digits.size());
  const int n = std::stoi(std::string(scientific.substr(e + 1))) + 1;
  if (k <= n && n <= 21) return digits + std::string(static_cast<std::size_t>(n - k), '0');
  if (0 < n && n <= 21) return digits.substr(0, n) + "." + digits.substr(n);
  if (-6 < n && n <= 0) return "0." + std::string(static_cast<std::size_t>(-n), '0') + digits;
  const std::string exponent = (n - 1 < 0 ? "-" : "+") + std::to_string(std::abs(n - 1));
  if (k == 1) return digits + "e" + exponent;
  return digits.substr(0, 1) + "." + digits.substr(1) + "e" + exponent;
}

// The canonical text read as RFC 8785 reads JSON: every number an IEEE 754 double.
// (nlohmann would read 9007199254740992, the canonical form of 2^53, as an integer,
// which canonicalize refuses as beyond I-JSON's safe range.)
json read_as_doubles(const std::string& text) {
  return json::parse(text, [](int, json::parse_event_t event, json& parsed) {
    if (event == json::parse_event_t::value && parsed.is_number()) parsed = parsed.get<double>();
    return true;
  });
}

void check_number(double value) {
  std::string canonical;
  try {
    canonical = crypto::canonicalize(json(value));
  } catch (const std::invalid_argument&) {
    FUZZ_CHECK(!std::isfinite(value));
    return;
  }
  FUZZ_CHECK(std::isfinite(value));
  FUZZ_CHECK(canonical == ecmascript_number(value));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size >= sizeof(double)) {
    double value;
    std::memcpy(&value, data, sizeof value);
    check_number(value);
  }

  const json document = json::parse(fuzz::as_text(data, size), nullptr, false);
  if (document.is_discarded()) return 0;
  std::string canonical;
  try {
    canonical = crypto::canonicalize(document);
  } catch (const std::invalid_argument&) {
    return 0;  // integers beyond 2^53 - 1: I-JSON cannot carry them
  }
  // The same document, canonical already, with its members in order.
  const json again = json::parse(canonical, nullptr, false);
  FUZZ_CHECK(!again.is_discarded());
  FUZZ_CHECK(again == document);
  FUZZ_CHECK(crypto::canonicalize(read_as_doubles(canonical)) == canonical);
  check_member_order(nlohmann::ordered_json::parse(canonical));
  return 0;
}
