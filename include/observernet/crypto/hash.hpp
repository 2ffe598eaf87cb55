#pragma once
// Hashes, MACs, encodings and randomness over OpenSSL 3 (EVP only). Pure: no I/O.
#include <array>
#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace observernet::crypto {

using Bytes = std::vector<unsigned char>;
using Digest = std::array<unsigned char, 32>;

Digest sha256(std::string_view data);
Digest sha256(std::span<const unsigned char> data);
Digest hmac_sha256(std::span<const unsigned char> key, std::string_view data);
// RFC 5869 HKDF with SHA-256: `length` bytes (at most 255 * 32) of key from the secret
// `ikm`, bound to `salt` (empty: RFC 5869's zeros) and `info`. Throws
// std::invalid_argument for an empty ikm or a length out of range.
Bytes hkdf_sha256(std::span<const unsigned char> ikm, std::span<const unsigned char> salt,
                  std::string_view info, std::size_t length);
// Lowercase hex SHA-1. Only for names others chose it for (Redis names a script by it);
// never for integrity or security.
std::string sha1_hex(std::string_view data);

// Lowercase hex.
std::string to_hex(std::span<const unsigned char> bytes);
// Accepts upper or lower case; nullopt on odd length or a non-hex character.
std::optional<Bytes> from_hex(std::string_view hex);
// 64 hex digits, either case, as a digest; nullopt for anything else.
std::optional<Digest> digest_from_hex(std::string_view hex);

// RFC 4648 §5 base64url without padding.
std::string to_base64url(std::span<const unsigned char> bytes);
// Rejects padding, characters outside the alphabet and impossible lengths.
std::optional<Bytes> from_base64url(std::string_view text);

// Crockford's base32 (0-9, A-Z without I, L, O, U), most significant bit first, no
// padding: ceil(8n / 5) characters.
std::string to_crockford_base32(std::span<const unsigned char> bytes);

// Constant time in the length of the inputs; false when the lengths differ.
bool constant_time_equal(std::span<const unsigned char> a, std::span<const unsigned char> b);

// From OpenSSL's CSPRNG; throws std::runtime_error if it fails.
void random_bytes(std::span<unsigned char> out);

inline std::span<const unsigned char> as_bytes(std::string_view s) {
  return {reinterpret_cast<const unsigned char*>(s.data()), s.size()};
}

}  // namespace observernet::crypto
