#pragma once
// AES-256-GCM sealing over OpenSSL 3 (EVP only). Pure: no I/O.
#include <cstddef>
#include <optional>
#include <span>

#include "observernet/crypto/hash.hpp"

namespace observernet::crypto {

inline constexpr std::size_t kAes256GcmKeyLength = 32;
// 96 bits, the only IV length SP 800-38D §5.2.1.1 recommends implementations support.
inline constexpr std::size_t kAes256GcmNonceLength = 12;
inline constexpr std::size_t kAes256GcmTagLength = 16;
inline constexpr std::size_t kAes256GcmOverhead = kAes256GcmNonceLength + kAes256GcmTagLength;

// Encrypts and authenticates plaintext, and authenticates aad, under a fresh random
// nonce. Returns nonce || ciphertext || tag, kAes256GcmOverhead bytes longer than the
// plaintext. SP 800-38D §8.3 caps random-nonce use at 2^32 messages per key. Throws
// std::invalid_argument unless key32 is kAes256GcmKeyLength bytes.
Bytes aes256gcm_seal(std::span<const unsigned char> key32, std::span<const unsigned char> plaintext,
                     std::span<const unsigned char> aad);

// The plaintext of what aes256gcm_seal produced under the same key and aad; nullopt if
// sealed is too short or anything about it, or the aad, was altered. Throws
// std::invalid_argument unless key32 is kAes256GcmKeyLength bytes.
std::optional<Bytes> aes256gcm_open(std::span<const unsigned char> key32,
                                    std::span<const unsigned char> sealed,
                                    std::span<const unsigned char> aad);

namespace detail {

// aes256gcm_seal with a caller-chosen nonce, for known-answer tests only: a nonce used
// twice under one key reveals the XOR of the plaintexts and lets anyone forge tags.
// Throws std::invalid_argument unless nonce12 is kAes256GcmNonceLength bytes.
Bytes aes256gcm_seal_with_nonce(std::span<const unsigned char> key32,
                                std::span<const unsigned char> nonce12,
                                std::span<const unsigned char> plaintext,
                                std::span<const unsigned char> aad);

}  // namespace detail

}  // namespace observernet::crypto
