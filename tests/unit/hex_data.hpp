#pragma once
// Test vectors are written in hex: their bytes, for the crypto unit tests.
#include <optional>
#include <stdexcept>
#include <string_view>

#include "observernet/crypto/hash.hpp"

namespace observernet::crypto::test {

// Throws std::invalid_argument on a typo in the test data, so that a test never runs on
// less than it says.
inline Bytes hex(std::string_view text) {
  std::optional<Bytes> bytes = from_hex(text);
  if (!bytes) throw std::invalid_argument("bad hex in test data");
  return *bytes;
}

}  // namespace observernet::crypto::test
