#pragma once
// RFC 9474 RSA blind signatures (RSABSSA-SHA384-*) over OpenSSL 3. Pure: no I/O.
//
// The server holds an RsaPrivateKey and answers blind_sign; the client runs prepare,
// blind and finalize against the server's RsaPublicKey; anyone holding the public key
// checks the final signature with verify_pss, which is plain RSASSA-PSS (RFC 8017 §8.1).
#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <variant>

#include "observernet/crypto/hash.hpp"

// OpenSSL's EVP_PKEY, named without pulling in <openssl/evp.h>.
struct evp_pkey_st;

namespace observernet::crypto {

// RFC 9474 §5. Every variant hashes with SHA-384 and masks with MGF1-SHA-384; they differ
// in the PSS salt length and in whether Prepare adds a random prefix (§4.1).
struct BlindRsaVariant {
  std::size_t salt_length;
  bool randomized_prepare;
};
inline constexpr BlindRsaVariant kSha384PssRandomized{48, true};
inline constexpr BlindRsaVariant kSha384PssZeroRandomized{0, true};
// The variant ObserverNet uses. With identity Prepare, blindness holds only for messages
// the signer cannot guess (RFC 9474 §7.3), so callers must sign high-entropy messages.
inline constexpr BlindRsaVariant kSha384PssDeterministic{48, false};
inline constexpr BlindRsaVariant kSha384PssZeroDeterministic{0, false};

// RFC 9474 §4.1, PrepareRandomize.
inline constexpr std::size_t kPreparePrefixLength = 32;

// Moduli accepted from DER or components: NIST SP 800-131A Rev. 2 disallows RSA
// signing keys under 2048 bits, and OpenSSL refuses to operate on more than 16384.
inline constexpr std::size_t kMinModulusBits = 2048;
inline constexpr std::size_t kMaxModulusBits = 16384;

class RsaPrivateKey;

// An RSA public key (rsaEncryption). Immutable; copies share one OpenSSL key, so a
// const instance may be used from any number of threads at once.
class RsaPublicKey {
 public:
  // SubjectPublicKeyInfo DER. nullopt for anything but a well-formed RSA key whose
  // modulus is within [kMinModulusBits, kMaxModulusBits] and whose exponent is odd and
  // greater than 1, and for trailing bytes.
  static std::optional<RsaPublicKey> from_spki_der(std::span<const unsigned char> der);

  // SubjectPublicKeyInfo DER with the rsaEncryption OID.
  const Bytes& spki_der() const;
  // Lowercase hex SHA-256 of spki_der().
  std::string key_id() const;

  std::size_t modulus_bits() const;
  std::size_t modulus_bytes() const;
  // Big-endian, no leading zero bytes: the JWK "n" and "e" (RFC 7518 §6.3.1) before
  // base64url.
  const Bytes& modulus() const;
  const Bytes& exponent() const;

  // RSASSA-PSS-VERIFY (RFC 8017 §8.1.2) with SHA-384, MGF1-SHA-384 and exactly
  // salt_length bytes of salt. False, never an exception, for any signature that does
  // not verify, including one of the wrong length.
  bool verify_pss(std::span<const unsigned char> msg, std::span<const unsigned char> sig,
                  std::size_t salt_length = kSha384PssDeterministic.salt_length) const;

  friend bool operator==(const RsaPublicKey& a, const RsaPublicKey& b);

 private:
  struct State;
  explicit RsaPublicKey(std::shared_ptr<const State> state);
  friend class RsaPrivateKey;

  std::shared_ptr<const State> state_;
};

// RFC 9474 §4.3 errors for input the client controls.
enum class BlindSignError {
  wrong_length,       // not exactly modulus_bytes() long
  not_below_modulus,  // "message representative out of range" (RFC 8017 §5.2.1)
};

// An RSA private key. Immutable; copies share one OpenSSL key, and blind_sign may run
// on several threads at once.
class RsaPrivateKey {
 public:
  // bits must be 2048, 3072 or 4096 (std::invalid_argument otherwise); e = 65537.
  static RsaPrivateKey generate(unsigned bits);
  // PKCS #8 PrivateKeyInfo DER, unencrypted. nullopt under the same conditions as
  // RsaPublicKey::from_spki_der, and for a key without its prime factors or whose n, e,
  // d, p and q disagree (see from_components).
  static std::optional<RsaPrivateKey> from_pkcs8_der(std::span<const unsigned char> der);
  // Big-endian integers, as published test vectors give them. The CRT parameters are
  // derived. Throws std::invalid_argument if n != p * q or e * d is not 1 modulo both
  // p - 1 and q - 1, or if the key is out of the range from_spki_der accepts.
  static RsaPrivateKey from_components(std::span<const unsigned char> n,
                                       std::span<const unsigned char> e,
                                       std::span<const unsigned char> d,
                                       std::span<const unsigned char> p,
                                       std::span<const unsigned char> q);

  // PKCS #8 PrivateKeyInfo DER, unencrypted.
  Bytes pkcs8_der() const;
  const RsaPublicKey& public_key() const;
  std::size_t modulus_bytes() const;

  // RFC 9474 §4.3 BlindSign: RSASP1 on blinded_msg, then the mandatory check that
  // RSAVP1 gives blinded_msg back. A failed check throws std::runtime_error rather than
  // return a faulty signature, which could reveal a factor of n (RFC 9474 §7.1).
  std::variant<Bytes, BlindSignError> blind_sign(std::span<const unsigned char> blinded_msg) const;

 private:
  struct State;
  RsaPrivateKey(std::shared_ptr<const State> state, RsaPublicKey public_key);
  // Takes ownership of pkey; nullopt for anything from_pkcs8_der would refuse.
  static std::optional<RsaPrivateKey> from_pkey(evp_pkey_st* pkey);

  std::shared_ptr<const State> state_;
  RsaPublicKey public_key_;
};

// RFC 9474 §4.1: msg itself, or kPreparePrefixLength random bytes followed by msg.
Bytes prepare(BlindRsaVariant variant, std::span<const unsigned char> msg);

// RFC 8017 §9.1.1 EMSA-PSS-ENCODE with SHA-384 and MGF1-SHA-384; the salt length is
// salt.size(). The result is ceil(em_bits / 8) bytes long. Throws std::invalid_argument
// ("encoding error") when em_bits is too small for the digest and salt.
Bytes emsa_pss_encode(std::span<const unsigned char> msg, std::size_t em_bits,
                      std::span<const unsigned char> salt);

struct BlindResult {
  Bytes blinded_msg;  // sent to the server; modulus_bytes() long
  Bytes inv;          // r^-1 mod n, kept by the client for finalize; modulus_bytes() long
};

// RFC 9474 §4.2 Blind, with the salt and the blinding factor r from the CSPRNG. A
// non-invertible r is drawn again, as the RFC recommends. Throws std::invalid_argument
// ("invalid input") if the encoded message shares a factor with n, which only a bad
// key makes possible.
BlindResult blind(const RsaPublicKey& key, std::span<const unsigned char> prepared_msg,
                  BlindRsaVariant variant);

// The deterministic core of blind, for test vectors: salt and r (big-endian) are given.
// RFC 9474 §7.4: implementations SHOULD NOT let callers choose these. Throws
// std::invalid_argument unless 1 <= r < n and r is invertible mod n, and as blind does.
BlindResult blind_with(const RsaPublicKey& key, std::span<const unsigned char> prepared_msg,
                       std::span<const unsigned char> salt, std::span<const unsigned char> r);

// RFC 9474 §4.4 Finalize: s = blind_sig * inv mod n, returned only if it verifies as an
// RSASSA-PSS signature over prepared_msg; nullopt otherwise, and when blind_sig or inv
// is not a modulus_bytes()-long integer below n.
std::optional<Bytes> finalize(const RsaPublicKey& key, std::span<const unsigned char> prepared_msg,
                              std::span<const unsigned char> blind_sig,
                              std::span<const unsigned char> inv, BlindRsaVariant variant);

}  // namespace observernet::crypto
