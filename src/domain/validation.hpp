#pragma once
// Helpers the domain parsers share. Private to src/domain: not part of the public API.
#include "observernet/error.hpp"

#include <cstddef>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

namespace observernet::domain::detail {

// Collects every invalid field of one request so that the client can fix them all in
// one round trip. `max_listed` bounds the response for bodies that can hold a million
// mistakes; the detail still counts all of them.
class FieldErrors {
 public:
  explicit FieldErrors(std::size_t max_listed = std::numeric_limits<std::size_t>::max())
      : max_listed_(max_listed) {}

  void add(std::string field, std::string message);
  bool empty() const { return total_ == 0; }
  std::size_t total() const { return total_; }
  const std::vector<FieldError>& listed() const { return listed_; }

  // Throws Error(validation_failed) listing the errors, if there are any.
  void throw_if_any();

 private:
  std::size_t max_listed_;
  std::size_t total_ = 0;
  std::vector<FieldError> listed_;
};

// Decodes the code point starting at s[pos] and moves pos past it. False on ill-formed
// UTF-8 as RFC 3629 §4 defines it (overlong forms, surrogates, > U+10FFFF, truncation).
bool decode_utf8(std::string_view s, std::size_t& pos, char32_t& cp);

bool is_valid_utf8(std::string_view s);

// C0, DEL and C1 controls: never meant to be inside a name or an identifier.
constexpr bool is_control(char32_t cp) {
  return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f);
}

}  // namespace observernet::domain::detail
