#include "validation.hpp"

#include <cstdint>
#include <cstring>

namespace observernet::domain::detail {

bool decode_utf8(std::string_view s, std::size_t& pos, char32_t& cp) {
  auto byte = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
  const unsigned char lead = byte(pos);
  if (lead < 0x80) {
    cp = lead;
    ++pos;
    return true;
  }
  std::size_t length;
  char32_t min;
  if (lead >= 0xc2 && lead <= 0xdf) {
    length = 2;
    min = 0x80;
    cp = lead & 0x1f;
  } else if (lead >= 0xe0 && lead <= 0xef) {
    length = 3;
    min = 0x800;
    cp = lead & 0x0f;
  } else if (lead >= 0xf0 && lead <= 0xf4) {
    length = 4;
    min = 0x10000;
    cp = lead & 0x07;
  } else {
    return false;  // a continuation byte, an overlong 2-byte lead (C0/C1) or F5..FF
  }
  if (s.size() - pos < length) return false;
  for (std::size_t i = 1; i < length; ++i) {
    const unsigned char c = byte(pos + i);
    if ((c & 0xc0) != 0x80) return false;
    cp = (cp << 6) | (c & 0x3f);
  }
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
  pos += length;
  return true;
}

bool is_valid_utf8(std::string_view s) {
  std::size_t pos = 0;
  while (pos < s.size()) {
    // Imports are mostly ASCII: skip it eight bytes at a time.
    while (s.size() - pos >= 8) {
      std::uint64_t chunk;
      std::memcpy(&chunk, s.data() + pos, sizeof chunk);
      if (chunk & 0x8080808080808080ull) break;
      pos += 8;
    }
    if (pos >= s.size()) break;
    char32_t cp;
    if (!decode_utf8(s, pos, cp)) return false;
  }
  return true;
}

}  // namespace observernet::domain::detail
