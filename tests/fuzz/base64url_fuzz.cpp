// base64url (RFC 4648 §5, no padding) and hex, as tokens and keys arrive in requests: the
// input both as text to decode and as bytes to encode.
#include <cstddef>
#include <cstdint>
#include <span>

#include "fuzz_support.hpp"
#include "observernet/crypto/hash.hpp"

using namespace observernet;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = fuzz::as_text(data, size);
  const std::span<const unsigned char> bytes(data, size);

  // Every byte string has one spelling, and it decodes back.
  const std::string encoded = crypto::to_base64url(bytes);
  FUZZ_CHECK(encoded.size() == (size * 4 + 2) / 3);
  const auto round_trip = crypto::from_base64url(encoded);
  FUZZ_CHECK(round_trip && std::ranges::equal(*round_trip, bytes));

  // Whatever decodes is that one spelling: no padding, stray bits or other characters.
  if (const auto decoded = crypto::from_base64url(text)) {
    FUZZ_CHECK(crypto::to_base64url(*decoded) == text);
  }

  const std::string hex = crypto::to_hex(bytes);
  const auto from_hex = crypto::from_hex(hex);
  FUZZ_CHECK(from_hex && std::ranges::equal(*from_hex, bytes));
  if (const auto decoded = crypto::from_hex(text)) {
    // Either case is accepted; the encoder writes lowercase.
    std::string lower(text);
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    FUZZ_CHECK(crypto::to_hex(*decoded) == lower);
  }
  return 0;
}
