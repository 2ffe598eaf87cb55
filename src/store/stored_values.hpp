#pragma once
// Values as the store writes them to PostgreSQL and reads them back: hashes and keys as
// hex text, lists as array literals. Private to src/store.
#include <stdexcept>
#include <string>
#include <string_view>

#include "observernet/crypto/hash.hpp"

namespace observernet::store::detail {

// Hex text from a column this store wrote; anything else is a corrupt row.
inline crypto::Bytes stored_bytes(std::string_view hex) {
  auto bytes = crypto::from_hex(hex);
  if (!bytes) throw std::runtime_error("malformed hex from the database");
  return std::move(*bytes);
}

inline crypto::Digest stored_digest(std::string_view hex) {
  auto digest = crypto::digest_from_hex(hex);
  if (!digest) throw std::runtime_error("a stored hash is not 32 bytes of hex");
  return *digest;
}

// A PostgreSQL array literal of text elements, each quoted (PostgreSQL manual §8.15.6),
// so that JSON text with commas, braces and quotes passes intact.
class ArrayLiteral {
 public:
  // Written in place, with room for every character escaped: a ballot's leaf is added
  // per ballot on the group commit's thread, and a character at a time cost more.
  void add(std::string_view element) {
    const std::size_t at = text_.size();
    text_.resize(at + 2 * element.size() + 3);
    char* out = text_.data() + at;
    *out++ = at == 0 ? '{' : ',';
    *out++ = '"';
    for (char c : element) {
      if (c == '"' || c == '\\') *out++ = '\\';
      *out++ = c;
    }
    *out++ = '"';
    text_.resize(static_cast<std::size_t>(out - text_.data()));
  }
  std::string str() const { return text_.empty() ? "{}" : text_ + "}"; }
  bool empty() const { return text_.empty(); }

 private:
  std::string text_;
};

}  // namespace observernet::store::detail
