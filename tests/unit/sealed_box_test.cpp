#include "observernet/crypto/sealed_box.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string_view>

#include "hex_data.hpp"

namespace observernet::crypto {
namespace {

using test::hex;

Bytes random_private_key() {
  Bytes key(kX25519KeyLength);
  random_bytes(key);
  return key;
}

// RFC 7748 §5.2, the two single-iteration vectors. The second u has its top bit set,
// which X25519 masks (§5).
TEST(SealedBoxTest, X25519Rfc7748Section5Vectors) {
  EXPECT_EQ(
      to_hex(*x25519(hex("a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4"),
                     hex("e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c"))),
      "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552");
  EXPECT_EQ(
      to_hex(*x25519(hex("4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d"),
                     hex("e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493"))),
      "95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957");
}

// RFC 7748 §6.1: Alice's and Bob's key pairs and their shared secret.
TEST(SealedBoxTest, X25519Rfc7748DiffieHellman) {
  const Bytes alice = hex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
  const Bytes bob = hex("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb");
  const X25519Key alice_public = x25519_public_key(alice);
  const X25519Key bob_public = x25519_public_key(bob);
  EXPECT_EQ(to_hex(alice_public),
            "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
  EXPECT_EQ(to_hex(bob_public), "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
  const std::string shared = "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742";
  EXPECT_EQ(to_hex(*x25519(alice, bob_public)), shared);
  EXPECT_EQ(to_hex(*x25519(bob, alice_public)), shared);
}

// §6.1: a point of small order gives all zeros, which no key agreement may use.
TEST(SealedBoxTest, X25519RefusesPointsOfSmallOrder) {
  const Bytes scalar = random_private_key();
  EXPECT_FALSE(x25519(scalar, Bytes(32, 0x00)).has_value());
  EXPECT_FALSE(
      x25519(scalar, hex("0100000000000000000000000000000000000000000000000000000000000000"))
          .has_value());
  EXPECT_THROW(x25519(Bytes(31, 0x01), Bytes(32, 0x09)), std::invalid_argument);
  EXPECT_THROW(x25519(scalar, Bytes(33, 0x09)), std::invalid_argument);
  EXPECT_THROW(x25519_public_key(Bytes(16, 0x01)), std::invalid_argument);
  X25519Key small_order{};
  EXPECT_THROW(seal_to(small_order, as_bytes("x"), as_bytes("aad")), std::invalid_argument);
}

TEST(SealedBoxTest, OpensWithThePrivateKeyAndTheSameAad) {
  const Bytes private_key = random_private_key();
  const X25519Key public_key = x25519_public_key(private_key);
  const std::string_view plaintext = "a PKCS#8 DER, say";
  const Bytes sealed = seal_to(public_key, as_bytes(plaintext), as_bytes("election-1"));
  EXPECT_EQ(sealed.size(), plaintext.size() + kSealedBoxOverhead);
  EXPECT_EQ(open_sealed(private_key, sealed, as_bytes("election-1")),
            Bytes(plaintext.begin(), plaintext.end()));
  // A fresh ephemeral key and nonce each time.
  EXPECT_NE(seal_to(public_key, as_bytes(plaintext), as_bytes("election-1")), sealed);
  // The empty plaintext too.
  EXPECT_EQ(open_sealed(private_key, seal_to(public_key, {}, {}), {}), Bytes{});
}

TEST(SealedBoxTest, AnotherKeyAnotherAadOrAnyAlteredByteDoesNotOpen) {
  const Bytes private_key = random_private_key();
  const Bytes sealed =
      seal_to(x25519_public_key(private_key), as_bytes("secret"), as_bytes("election-1"));
  EXPECT_FALSE(open_sealed(random_private_key(), sealed, as_bytes("election-1")).has_value());
  EXPECT_FALSE(open_sealed(private_key, sealed, as_bytes("election-2")).has_value());
  EXPECT_FALSE(open_sealed(private_key, sealed, {}).has_value());
  for (std::size_t i = 0; i < sealed.size(); ++i) {
    Bytes altered = sealed;
    altered[i] ^= 0x80;
    // A flipped top bit of the ephemeral key's last byte is masked away by X25519 (RFC
    // 7748 §5), but the key is also the HKDF salt, so the box still does not open.
    EXPECT_FALSE(open_sealed(private_key, altered, as_bytes("election-1")).has_value()) << i;
  }
  EXPECT_FALSE(
      open_sealed(private_key, Bytes(sealed.begin(), sealed.end() - 1), as_bytes("election-1"))
          .has_value());
  EXPECT_FALSE(open_sealed(private_key, Bytes(kSealedBoxOverhead - 1, 0x01), {}).has_value());
  // An ephemeral key of small order is refused, not agreed with.
  Bytes small_order = sealed;
  std::fill(small_order.begin(), small_order.begin() + kX25519KeyLength, 0x00);
  EXPECT_FALSE(open_sealed(private_key, small_order, as_bytes("election-1")).has_value());
}

}  // namespace
}  // namespace observernet::crypto
