#include "observernet/crypto/aead.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string_view>

#include "hex_data.hpp"

namespace observernet::crypto {
namespace {

using test::hex;

Bytes concat(std::span<const unsigned char> a, std::span<const unsigned char> b) {
  Bytes out(a.begin(), a.end());
  out.insert(out.end(), b.begin(), b.end());
  return out;
}

Bytes flip_bit(Bytes bytes, std::size_t index) {
  bytes.at(index) ^= 0x01;
  return bytes;
}

Bytes random_key() {
  Bytes key(kAes256GcmKeyLength);
  random_bytes(key);
  return key;
}

// McGrew and Viega, "The Galois/Counter Mode of Operation (GCM)", Appendix B, test case
// 16: AES-256, a 60-byte plaintext (a partial final block) and 20 bytes of AAD.
constexpr std::string_view kCase16Key =
    "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308";
constexpr std::string_view kCase16Nonce = "cafebabefacedbaddecaf888";
constexpr std::string_view kCase16Plaintext =
    "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
    "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39";
constexpr std::string_view kCase16Aad = "feedfacedeadbeeffeedfacedeadbeefabaddad2";
constexpr std::string_view kCase16Ciphertext =
    "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
    "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662";
constexpr std::string_view kCase16Tag = "76fc6ece0f4e1768cddf8853bb2d551b";

TEST(AeadTest, GcmSpecCase16) {
  const Bytes sealed = detail::aes256gcm_seal_with_nonce(hex(kCase16Key), hex(kCase16Nonce),
                                                         hex(kCase16Plaintext), hex(kCase16Aad));
  EXPECT_EQ(to_hex(sealed),
            std::string(kCase16Nonce) + std::string(kCase16Ciphertext) + std::string(kCase16Tag));
  EXPECT_EQ(aes256gcm_open(hex(kCase16Key), sealed, hex(kCase16Aad)), hex(kCase16Plaintext));
}

// The same document, test case 13: the zero key and nonce, no plaintext, no AAD; the
// sealed value is the nonce and the tag alone.
TEST(AeadTest, GcmSpecCase13) {
  const Bytes key(32, 0x00);
  const Bytes nonce(12, 0x00);
  const Bytes sealed = detail::aes256gcm_seal_with_nonce(key, nonce, {}, {});
  EXPECT_EQ(to_hex(sealed), "000000000000000000000000530f8afbc74536b9a963b4f1c4cb738b");
  EXPECT_EQ(aes256gcm_open(key, sealed, {}), Bytes{});
}

// Test case 14: one block of zeros under the zero key and nonce.
TEST(AeadTest, GcmSpecCase14) {
  const Bytes key(32, 0x00);
  const Bytes nonce(12, 0x00);
  const Bytes sealed = detail::aes256gcm_seal_with_nonce(key, nonce, Bytes(16, 0x00), {});
  EXPECT_EQ(to_hex(sealed),
            "000000000000000000000000"
            "cea7403d4d606b6e074ec5d3baf39d18"
            "d0d1c8a799996bf0265b98b5d48ab919");
  EXPECT_EQ(aes256gcm_open(key, sealed, {}), Bytes(16, 0x00));
}

TEST(AeadTest, RoundTrip) {
  const Bytes key = random_key();
  const auto plaintext = as_bytes("a sealed ballot");
  const auto aad = as_bytes("election 42");
  const Bytes sealed = aes256gcm_seal(key, plaintext, aad);
  EXPECT_EQ(sealed.size(), plaintext.size() + kAes256GcmOverhead);
  EXPECT_EQ(aes256gcm_open(key, sealed, aad), Bytes(plaintext.begin(), plaintext.end()));
}

TEST(AeadTest, RoundTripEmptyPlaintextAndAad) {
  const Bytes key = random_key();
  const Bytes sealed = aes256gcm_seal(key, {}, {});
  EXPECT_EQ(sealed.size(), kAes256GcmOverhead);
  EXPECT_EQ(aes256gcm_open(key, sealed, {}), Bytes{});
}

TEST(AeadTest, RoundTripSpansManyBlocks) {
  const Bytes key = random_key();
  Bytes plaintext(4099);
  random_bytes(plaintext);
  const Bytes sealed = aes256gcm_seal(key, plaintext, {});
  EXPECT_EQ(aes256gcm_open(key, sealed, {}), plaintext);
}

TEST(AeadTest, EachSealUsesAFreshNonce) {
  const Bytes key = random_key();
  const auto plaintext = as_bytes("same message");
  const Bytes a = aes256gcm_seal(key, plaintext, {});
  const Bytes b = aes256gcm_seal(key, plaintext, {});
  EXPECT_NE(Bytes(a.begin(), a.begin() + kAes256GcmNonceLength),
            Bytes(b.begin(), b.begin() + kAes256GcmNonceLength));
  EXPECT_NE(a, b);
}

// Every bit of the nonce, ciphertext and tag is covered by the tag.
TEST(AeadTest, AnyTamperedByteFailsToOpen) {
  const Bytes key = random_key();
  const auto aad = as_bytes("context");
  const Bytes sealed = aes256gcm_seal(key, as_bytes("short text"), aad);
  for (std::size_t i = 0; i < sealed.size(); ++i) {
    EXPECT_EQ(aes256gcm_open(key, flip_bit(sealed, i), aad), std::nullopt) << "byte " << i;
  }
}

TEST(AeadTest, WrongAadFailsToOpen) {
  const Bytes key = random_key();
  const Bytes aad = hex(kCase16Aad);
  const Bytes sealed = aes256gcm_seal(key, as_bytes("text"), aad);
  EXPECT_EQ(aes256gcm_open(key, sealed, flip_bit(aad, 0)), std::nullopt);
  EXPECT_EQ(aes256gcm_open(key, sealed, {}), std::nullopt);
  EXPECT_EQ(aes256gcm_open(key, sealed, concat(aad, Bytes{0x00})), std::nullopt);
}

TEST(AeadTest, WrongKeyFailsToOpen) {
  const Bytes key = random_key();
  const Bytes sealed = aes256gcm_seal(key, as_bytes("text"), {});
  EXPECT_EQ(aes256gcm_open(random_key(), sealed, {}), std::nullopt);
  EXPECT_EQ(aes256gcm_open(flip_bit(key, 31), sealed, {}), std::nullopt);
}

TEST(AeadTest, ShortOrTruncatedInputFailsToOpen) {
  const Bytes key = random_key();
  EXPECT_EQ(aes256gcm_open(key, {}, {}), std::nullopt);
  EXPECT_EQ(aes256gcm_open(key, Bytes(kAes256GcmOverhead - 1, 0x00), {}), std::nullopt);
  EXPECT_EQ(aes256gcm_open(key, Bytes(kAes256GcmOverhead, 0x00), {}), std::nullopt);
  const Bytes sealed = aes256gcm_seal(key, as_bytes("text"), {});
  EXPECT_EQ(aes256gcm_open(key, Bytes(sealed.begin(), sealed.end() - 1), {}), std::nullopt);
  EXPECT_EQ(aes256gcm_open(key, concat(sealed, Bytes{0x00}), {}), std::nullopt);
}

TEST(AeadTest, RejectsKeysOfTheWrongLength) {
  const Bytes sealed = aes256gcm_seal(random_key(), as_bytes("text"), {});
  for (const std::size_t size :
       {std::size_t{0}, std::size_t{16}, std::size_t{31}, std::size_t{33}}) {
    const Bytes key(size, 0x01);
    EXPECT_THROW(aes256gcm_seal(key, as_bytes("text"), {}), std::invalid_argument) << size;
    EXPECT_THROW(aes256gcm_open(key, sealed, {}), std::invalid_argument) << size;
  }
}

TEST(AeadTest, RejectsNoncesOfTheWrongLength) {
  const Bytes key = random_key();
  EXPECT_THROW(detail::aes256gcm_seal_with_nonce(key, Bytes(8, 0x00), {}, {}),
               std::invalid_argument);
  EXPECT_THROW(detail::aes256gcm_seal_with_nonce(key, Bytes(16, 0x00), {}, {}),
               std::invalid_argument);
}

}  // namespace
}  // namespace observernet::crypto
