#pragma once
// Sealing to a public key: X25519 (RFC 7748) with a fresh ephemeral key for every message,
// HKDF-SHA256 (RFC 5869) and AES-256-GCM, over OpenSSL 3 (EVP only). Pure: no I/O.
// Whoever holds the public key can seal; only the private key's holder can open. The API
// pods seal each election's token key this way, so that only the signers can unseal it
// (docs/security.md, Keys; docs/formats.md, Sealed token keys). HPKE (RFC 9180) would
// be the standard construction, but OpenSSL 3.0, Debian 12's, has no API for it.
#include <array>
#include <cstddef>
#include <optional>
#include <span>
#include <string_view>

#include "observernet/crypto/aead.hpp"
#include "observernet/crypto/hash.hpp"

namespace observernet::crypto {

inline constexpr std::size_t kX25519KeyLength = 32;
using X25519Key = std::array<unsigned char, kX25519KeyLength>;

// ephemeral public key || AES-256-GCM nonce || ciphertext || tag.
inline constexpr std::size_t kSealedBoxOverhead = kX25519KeyLength + kAes256GcmOverhead;

// RFC 7748 §5: X25519(scalar, u), with the scalar clamped and u's top bit masked as the
// RFC says. nullopt when the result is all zero (u of small order, §6.1), which no key
// agreement may use. Throws std::invalid_argument unless both are 32 bytes.
std::optional<X25519Key> x25519(std::span<const unsigned char> scalar,
                                std::span<const unsigned char> u);

// X25519(private_key, 9): the public key of a 32-byte private key. Throws
// std::invalid_argument for any other length.
X25519Key x25519_public_key(std::span<const unsigned char> private_key);

// HKDF's info for the box's AES key: a version, so that a later format cannot be
// confused with this one.
inline constexpr std::string_view kSealedBoxInfo = "observernet sealed box v1";

// Encrypts plaintext to `recipient` and authenticates aad: a fresh ephemeral key pair e,
// k = HKDF-SHA256(IKM = X25519(e, recipient), salt = e's public key || recipient,
// info = kSealedBoxInfo, 32 bytes), then AES-256-GCM under k. kSealedBoxOverhead bytes
// longer than the plaintext. Throws std::invalid_argument if `recipient` is of small
// order (no key agreement with it is secret).
Bytes seal_to(const X25519Key& recipient, std::span<const unsigned char> plaintext,
              std::span<const unsigned char> aad);

// The plaintext of what seal_to sealed to private_key's public key with the same aad;
// nullopt if sealed is too short or anything about it, or the aad, was altered. Throws
// std::invalid_argument unless private_key is 32 bytes.
std::optional<Bytes> open_sealed(std::span<const unsigned char> private_key,
                                 std::span<const unsigned char> sealed,
                                 std::span<const unsigned char> aad);

}  // namespace observernet::crypto
