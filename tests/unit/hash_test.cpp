#include "observernet/crypto/hash.hpp"

#include <gtest/gtest.h>

#include <cctype>
#include <stdexcept>
#include <string>

namespace observernet::crypto {
namespace {

Bytes bytes_of(std::string_view s) {
  return {s.begin(), s.end()};
}

// FIPS 180-2 Appendix B.1, the one-block message "abc".
TEST(HashTest, Sha256OfAbc) {
  EXPECT_EQ(to_hex(sha256("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256(as_bytes("abc")), sha256("abc"));
}

TEST(HashTest, Sha256OfEmptyString) {
  EXPECT_EQ(to_hex(sha256("")), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(to_hex(sha256(std::span<const unsigned char>{})),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

// RFC 4231 §4.2, test case 1.
TEST(HashTest, HmacSha256Rfc4231Case1) {
  const Bytes key(20, 0x0b);
  EXPECT_EQ(to_hex(hmac_sha256(key, "Hi There")),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
}

// RFC 4231 §4.3, test case 2: a key shorter than the output.
TEST(HashTest, HmacSha256Rfc4231Case2) {
  EXPECT_EQ(to_hex(hmac_sha256(as_bytes("Jefe"), "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

// RFC 5869 Appendix A.1, test case 1: HKDF-SHA256 with a salt and an info.
TEST(HashTest, HkdfSha256Rfc5869Case1) {
  const Bytes ikm(22, 0x0b);
  const Bytes salt = *from_hex("000102030405060708090a0b0c");
  const Bytes info = *from_hex("f0f1f2f3f4f5f6f7f8f9");
  EXPECT_EQ(
      to_hex(hkdf_sha256(ikm, salt, {reinterpret_cast<const char*>(info.data()), info.size()}, 42)),
      "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf"
      "34007208d5b887185865");
}

// RFC 5869 Appendix A.3, test case 3: no salt (zeros) and no info.
TEST(HashTest, HkdfSha256Rfc5869Case3) {
  const Bytes ikm(22, 0x0b);
  EXPECT_EQ(to_hex(hkdf_sha256(ikm, {}, "", 42)),
            "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d"
            "9d201395faa4b61a96c8");
}

TEST(HashTest, HkdfSha256RefusesAnEmptySecretAndImpossibleLengths) {
  const Bytes ikm(32, 0x01);
  EXPECT_THROW(hkdf_sha256({}, {}, "info", 32), std::invalid_argument);
  EXPECT_THROW(hkdf_sha256(ikm, {}, "info", 0), std::invalid_argument);
  EXPECT_THROW(hkdf_sha256(ikm, {}, "info", 255 * 32 + 1), std::invalid_argument);
  EXPECT_EQ(hkdf_sha256(ikm, {}, "info", 255 * 32).size(), 255u * 32);
}

// RFC 2104 allows an empty key; value checked with Python's hmac module.
TEST(HashTest, HmacSha256EmptyKeyAndMessage) {
  EXPECT_EQ(to_hex(hmac_sha256({}, "")),
            "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
}

TEST(HashTest, HexRoundTrip) {
  const Bytes data{0x00, 0x01, 0xab, 0xcd, 0xef, 0xff};
  EXPECT_EQ(to_hex(data), "0001abcdefff");
  EXPECT_EQ(from_hex("0001abcdefff"), data);
  EXPECT_EQ(from_hex("0001ABCDEFFF"), data);
  EXPECT_EQ(to_hex({}), "");
  EXPECT_EQ(from_hex(""), Bytes{});
}

TEST(HashTest, HexRejectsOddLengthAndNonHex) {
  EXPECT_EQ(from_hex("abc"), std::nullopt);
  EXPECT_EQ(from_hex("0g"), std::nullopt);
  EXPECT_EQ(from_hex("zz"), std::nullopt);
  EXPECT_EQ(from_hex(" 0"), std::nullopt);
  EXPECT_EQ(from_hex("0x00"), std::nullopt);
}

// RFC 4648 §10 test vectors, without the padding §5 lets base64url omit.
TEST(HashTest, Base64UrlRfc4648Vectors) {
  const std::pair<std::string_view, std::string_view> vectors[] = {
      {"", ""},           {"f", "Zg"},          {"fo", "Zm8"},          {"foo", "Zm9v"},
      {"foob", "Zm9vYg"}, {"fooba", "Zm9vYmE"}, {"foobar", "Zm9vYmFy"},
  };
  for (auto [plain, encoded] : vectors) {
    EXPECT_EQ(to_base64url(as_bytes(plain)), encoded) << plain;
    EXPECT_EQ(from_base64url(encoded), bytes_of(plain)) << encoded;
  }
}

// The two characters in which base64url differs from base64 (RFC 4648 §5: '-' and '_'
// for '+' and '/').
TEST(HashTest, Base64UrlUsesUrlSafeAlphabet) {
  const Bytes data{0xfb, 0xff};
  EXPECT_EQ(to_base64url(data), "-_8");
  EXPECT_EQ(from_base64url("-_8"), data);
}

TEST(HashTest, Base64UrlRoundTripsEveryByte) {
  Bytes all(256);
  for (int i = 0; i < 256; ++i) all[i] = static_cast<unsigned char>(i);
  for (std::size_t n = 0; n <= all.size(); n += 37) {
    const Bytes prefix(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(n));
    EXPECT_EQ(from_base64url(to_base64url(prefix)), prefix) << n;
  }
}

// The FIPS 180-2 example "abc" and the empty message.
TEST(HashTest, Sha1KnownValues) {
  EXPECT_EQ(sha1_hex("abc"), "a9993e364706816aba3e25717850c26c9cd0d89d");
  EXPECT_EQ(sha1_hex(""), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
}

TEST(HashTest, Base64UrlRejectsPaddingBadCharactersAndLengths) {
  EXPECT_EQ(from_base64url("Zg=="), std::nullopt);
  EXPECT_EQ(from_base64url("Zg="), std::nullopt);
  EXPECT_EQ(from_base64url("Zm9vYmFy="), std::nullopt);
  EXPECT_EQ(from_base64url("Zm+v"), std::nullopt);
  EXPECT_EQ(from_base64url("Zm/v"), std::nullopt);
  EXPECT_EQ(from_base64url("Zm9 v"), std::nullopt);
  EXPECT_EQ(from_base64url("Zm9\nv"), std::nullopt);
  // Bytes beyond ASCII, and NUL, are not digits either.
  EXPECT_EQ(from_base64url("Zm\xc3\xa9"), std::nullopt);
  EXPECT_EQ(from_base64url("\xff\xfe\x80\x41"), std::nullopt);
  EXPECT_EQ(from_base64url(std::string_view("Zm\0v", 4)), std::nullopt);
  // One character past a whole group carries 6 bits: no byte can end there.
  EXPECT_EQ(from_base64url("Z"), std::nullopt);
  EXPECT_EQ(from_base64url("Zm9vY"), std::nullopt);
  // RFC 4648 §3.5: "Zh" has non-zero pad bits; "Zg" is the one spelling of "f".
  EXPECT_EQ(from_base64url("Zh"), std::nullopt);
  EXPECT_EQ(from_base64url("Zm9"), std::nullopt);
}

TEST(HashTest, CrockfordBase32KnownValues) {
  EXPECT_EQ(to_crockford_base32({}), "");
  EXPECT_EQ(to_crockford_base32(Bytes{0x00}), "00");
  // 11111111 -> 11111 111(00): 31 and 28.
  EXPECT_EQ(to_crockford_base32(Bytes{0xff}), "ZW");
  EXPECT_EQ(to_crockford_base32(Bytes{0xff, 0xff, 0xff, 0xff, 0xff}), "ZZZZZZZZ");
  // RFC 4648 §10 base32hex("foobar") = "CPNMUOJ1E8" maps, value for value, onto
  // Crockford's alphabet as below.
  EXPECT_EQ(to_crockford_base32(as_bytes("foobar")), "CSQPYRK1E8");
}

TEST(HashTest, CrockfordBase32LengthIsCeilEightNOverFive) {
  for (std::size_t n = 0; n <= 20; ++n) {
    const std::string text = to_crockford_base32(Bytes(n, 0xa5));
    EXPECT_EQ(text.size(), (8 * n + 4) / 5) << n;
    EXPECT_EQ(text.find_first_of("ILOU"), std::string::npos);
  }
}

TEST(HashTest, ConstantTimeEqual) {
  const Bytes a{1, 2, 3};
  EXPECT_TRUE(constant_time_equal(a, Bytes{1, 2, 3}));
  EXPECT_FALSE(constant_time_equal(a, Bytes{1, 2, 4}));
  EXPECT_FALSE(constant_time_equal(a, Bytes{1, 2}));
  EXPECT_FALSE(constant_time_equal(a, Bytes{1, 2, 3, 0}));
  EXPECT_TRUE(constant_time_equal({}, {}));
  EXPECT_FALSE(constant_time_equal({}, a));
}

TEST(HashTest, RandomBytesFillsAndDiffers) {
  Bytes first(32);
  Bytes second(32);
  random_bytes(first);
  random_bytes(second);
  // 2^-256 chance of a false failure.
  EXPECT_NE(first, second);
  random_bytes({});
}

}  // namespace
}  // namespace observernet::crypto

namespace observernet::crypto {
namespace {

TEST(HashTest, DigestFromHexTakesExactly64HexDigits) {
  const Digest d = sha256(std::string_view("abc"));
  EXPECT_EQ(digest_from_hex(to_hex(d)), d);
  std::string upper = to_hex(d);
  for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_EQ(digest_from_hex(upper), d);
  EXPECT_FALSE(digest_from_hex(to_hex(d).substr(2)).has_value());
  EXPECT_FALSE(digest_from_hex(to_hex(d) + "00").has_value());
  EXPECT_FALSE(digest_from_hex(std::string(64, 'g')).has_value());
  EXPECT_FALSE(digest_from_hex("").has_value());
}

}  // namespace
}  // namespace observernet::crypto
