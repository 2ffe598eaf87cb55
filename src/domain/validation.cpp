#include "validation.hpp"

#include <cstdint>
#include <cstring>

namespace observernet::domain::detail {

void FieldErrors::add(std::string field, std::string message) {
  ++total_;
  if (listed_.size() < max_listed_) listed_.push_back({std::move(field), std::move(message)});
}

void FieldErrors::throw_if_any() {
  if (total_ == 0) return;
  std::string detail =
      std::to_string(total_) + (total_ == 1 ? " field is" : " fields are") + " invalid";
  if (listed_.size() < total_) {
    detail += " (the first " + std::to_string(listed_.size()) + " are listed)";
  }
  throw Error(ErrorCode::validation_failed, std::move(detail), std::move(listed_));
}

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
