#pragma once
// Ed25519 signatures (RFC 8032 §5.1, PureEdDSA) over OpenSSL 3 (EVP only). Pure: no I/O.
// The server's log key signs tree heads with them (docs/formats.md, Signed tree heads).
#include <array>
#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "observernet/crypto/hash.hpp"

// OpenSSL's EVP_PKEY, named without pulling in <openssl/evp.h>.
struct evp_pkey_st;

namespace observernet::crypto {

inline constexpr std::size_t kEd25519SeedLength = 32;
inline constexpr std::size_t kEd25519PublicKeyLength = 32;
inline constexpr std::size_t kEd25519SignatureLength = 64;

using Ed25519RawPublicKey = std::array<unsigned char, kEd25519PublicKeyLength>;
using Ed25519Signature = std::array<unsigned char, kEd25519SignatureLength>;

class Ed25519PrivateKey;

// An Ed25519 public key. Immutable; copies share one OpenSSL key, so a const instance
// may be used from any number of threads at once.
class Ed25519PublicKey {
 public:
  // The 32-byte encoding of RFC 8032 §5.1.5. nullopt for any other length or for bytes
  // OpenSSL refuses.
  static std::optional<Ed25519PublicKey> from_raw(std::span<const unsigned char> raw);

  const Ed25519RawPublicKey& raw() const;
  // Lowercase hex SHA-256 of raw(), as the token key's keyId hashes its encoding.
  std::string key_id() const;

  // RFC 8032 §5.1.7. False, never an exception, for any signature that does not verify,
  // including one that is not kEd25519SignatureLength bytes long.
  bool verify(std::span<const unsigned char> message,
              std::span<const unsigned char> signature) const;

  friend bool operator==(const Ed25519PublicKey& a, const Ed25519PublicKey& b);

 private:
  struct State;
  explicit Ed25519PublicKey(std::shared_ptr<const State> state);
  friend class Ed25519PrivateKey;

  std::shared_ptr<const State> state_;
};

// An Ed25519 private key. Immutable; copies share one OpenSSL key, and sign may run on
// several threads at once.
class Ed25519PrivateKey {
 public:
  // A fresh key from OpenSSL's CSPRNG.
  static Ed25519PrivateKey generate();
  // The 32-byte private key of RFC 8032 §5.1.5 (the seed that is hashed into the scalar
  // and the nonce prefix). Throws std::invalid_argument for any other length.
  static Ed25519PrivateKey from_seed(std::span<const unsigned char> seed);

  const Ed25519PublicKey& public_key() const;

  // RFC 8032 §5.1.6. Deterministic: the same key and message give the same signature.
  Ed25519Signature sign(std::span<const unsigned char> message) const;

 private:
  struct State;
  Ed25519PrivateKey(std::shared_ptr<const State> state, Ed25519PublicKey public_key);
  // Takes ownership of pkey, an Ed25519 private key.
  static Ed25519PrivateKey from_pkey(evp_pkey_st* pkey);

  std::shared_ptr<const State> state_;
  Ed25519PublicKey public_key_;
};

}  // namespace observernet::crypto
