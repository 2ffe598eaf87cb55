#pragma once
// Helpers the domain parsers share. Private to src/domain: not part of the public API.
#include "observernet/error.hpp"

#include <cstddef>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

namespace observernet::domain::detail {

// Decodes the code point starting at s[pos] and moves pos past it. False on ill-formed
// UTF-8 as RFC 3629 §4 defines it (overlong forms, surrogates, > U+10FFFF, truncation).
bool decode_utf8(std::string_view s, std::size_t& pos, char32_t& cp);

bool is_valid_utf8(std::string_view s);

// C0, DEL and C1 controls: never meant to be inside a name or an identifier.
constexpr bool is_control(char32_t cp) {
  return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f);
}

}  // namespace observernet::domain::detail
