#include "observernet/crypto/ed25519.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <stdexcept>
#include <string_view>
#include <thread>
#include <vector>

#include "hex_data.hpp"

namespace observernet::crypto {
namespace {

using test::hex;

Bytes flip_bit(Bytes bytes, std::size_t bit) {
  bytes.at(bit / 8) ^= static_cast<unsigned char>(1u << (bit % 8));
  return bytes;
}

Bytes bytes_of(std::span<const unsigned char> data) {
  return {data.begin(), data.end()};
}

// ---- RFC 8032 §7.1 ----------------------------------------------------------------------
// TEST 1, 2, 3 and 1024, as OpenSSL's own tests carry them:
// test/recipes/30-test_evp_data/evppkey_ecx.txt at 09eaf16771fe5b5b57cac0ddfd6bf8ca3584134b,
// "ED25519 tests from RFC8032" (keys ED25519-1 to -4; the secret and public keys are the
// raw key bytes inside its PKCS #8 and SPKI PEM blocks).

struct Rfc8032Vector {
  std::string_view name;
  std::string_view secret_key;
  std::string_view public_key;
  std::string_view message;
  std::string_view signature;
};

constexpr std::string_view kTest1024Message =
    "08b8b2b733424243760fe426a4b54908632110a66c2f6591eabd3345e3e4eb98"
    "fa6e264bf09efe12ee50f8f54e9f77b1e355f6c50544e23fb1433ddf73be84d8"
    "79de7c0046dc4996d9e773f4bc9efe5738829adb26c81b37c93a1b270b20329d"
    "658675fc6ea534e0810a4432826bf58c941efb65d57a338bbd2e26640f89ffbc"
    "1a858efcb8550ee3a5e1998bd177e93a7363c344fe6b199ee5d02e82d522c4fe"
    "ba15452f80288a821a579116ec6dad2b3b310da903401aa62100ab5d1a36553e"
    "06203b33890cc9b832f79ef80560ccb9a39ce767967ed628c6ad573cb116dbef"
    "efd75499da96bd68a8a97b928a8bbc103b6621fcde2beca1231d206be6cd9ec7"
    "aff6f6c94fcd7204ed3455c68c83f4a41da4af2b74ef5c53f1d8ac70bdcb7ed1"
    "85ce81bd84359d44254d95629e9855a94a7c1958d1f8ada5d0532ed8a5aa3fb2"
    "d17ba70eb6248e594e1a2297acbbb39d502f1a8c6eb6f1ce22b3de1a1f40cc24"
    "554119a831a9aad6079cad88425de6bde1a9187ebb6092cf67bf2b13fd65f270"
    "88d78b7e883c8759d2c4f5c65adb7553878ad575f9fad878e80a0c9ba63bcbcc"
    "2732e69485bbc9c90bfbd62481d9089beccf80cfe2df16a2cf65bd92dd597b07"
    "07e0917af48bbb75fed413d238f5555a7a569d80c3414a8d0859dc65a46128ba"
    "b27af87a71314f318c782b23ebfe808b82b0ce26401d2e22f04d83d1255dc51a"
    "ddd3b75a2b1ae0784504df543af8969be3ea7082ff7fc9888c144da2af58429e"
    "c96031dbcad3dad9af0dcbaaaf268cb8fcffead94f3c7ca495e056a9b47acdb7"
    "51fb73e666c6c655ade8297297d07ad1ba5e43f1bca32301651339e22904cc8c"
    "42f58c30c04aafdb038dda0847dd988dcda6f3bfd15c4b4c4525004aa06eeff8"
    "ca61783aacec57fb3d1f92b0fe2fd1a85f6724517b65e614ad6808d6f6ee34df"
    "f7310fdc82aebfd904b01e1dc54b2927094b2db68d6f903b68401adebf5a7e08"
    "d78ff4ef5d63653a65040cf9bfd4aca7984a74d37145986780fc0b16ac451649"
    "de6188a7dbdf191f64b5fc5e2ab47b57f7f7276cd419c17a3ca8e1b939ae49e4"
    "88acba6b965610b5480109c8b17b80e1b7b750dfc7598d5d5011fd2dcc5600a3"
    "2ef5b52a1ecc820e308aa342721aac0943bf6686b64b2579376504ccc493d97e"
    "6aed3fb0f9cd71a43dd497f01f17c0e2cb3797aa2a2f256656168e6c496afc5f"
    "b93246f6b1116398a346f1a641f3b041e989f7914f90cc2c7fff357876e506b5"
    "0d334ba77c225bc307ba537152f3f1610e4eafe595f6d9d90d11faa933a15ef1"
    "369546868a7f3a45a96768d40fd9d03412c091c6315cf4fde7cb68606937380d"
    "b2eaaa707b4c4185c32eddcdd306705e4dc1ffc872eeee475a64dfac86aba41c"
    "0618983f8741c5ef68d3a101e8a3b8cac60c905c15fc910840b94c00a0b9d0";

constexpr Rfc8032Vector kRfc8032Vectors[] = {
    {"TEST 1", "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
     "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
     "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
     "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"},
    {"TEST 2", "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
     "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
     "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
     "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"},
    {"TEST 3", "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
     "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025", "af82",
     "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac"
     "18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a"},
    {"TEST 1024", "f5e5767cf153319517630f226876b86c8160cc583bc013744c6bf255f5cc0ee5",
     "278117fc144c72340f67d0f2316e8386ceffbf2b2428c9c51fef7c597f1d426e", kTest1024Message,
     "0aab4c900501b3e24d7cdf4663326a3a87df5e4843b2cbdb67cbf6e460fec350"
     "aa5371b1508f9f4528ecea23c436d94b5e8fcd4f681e30a6ac00a9704a188a03"},
};

Ed25519PublicKey public_key_of(std::string_view public_hex) {
  std::optional<Ed25519PublicKey> key = Ed25519PublicKey::from_raw(hex(public_hex));
  if (!key) throw std::invalid_argument("bad public key in test data");
  return *key;
}

TEST(Ed25519Test, Rfc8032Vectors) {
  for (const Rfc8032Vector& vector : kRfc8032Vectors) {
    SCOPED_TRACE(vector.name);
    const Ed25519PrivateKey key = Ed25519PrivateKey::from_seed(hex(vector.secret_key));
    EXPECT_EQ(to_hex(key.public_key().raw()), vector.public_key);
    const Bytes message = hex(vector.message);
    EXPECT_EQ(to_hex(key.sign(message)), vector.signature);
    EXPECT_TRUE(public_key_of(vector.public_key).verify(message, hex(vector.signature)));
  }
}

TEST(Ed25519Test, Test1024MessageIs1023Bytes) {
  EXPECT_EQ(hex(kTest1024Message).size(), 1023u);
}

TEST(Ed25519Test, TamperedInputsDoNotVerify) {
  for (const Rfc8032Vector& vector : kRfc8032Vectors) {
    SCOPED_TRACE(vector.name);
    const Ed25519PublicKey key = public_key_of(vector.public_key);
    const Bytes message = hex(vector.message);
    const Bytes signature = hex(vector.signature);

    Bytes longer = message;
    longer.push_back(0x00);
    EXPECT_FALSE(key.verify(longer, signature));
    if (!message.empty()) {
      EXPECT_FALSE(key.verify(flip_bit(message, 0), signature));
      EXPECT_FALSE(key.verify(flip_bit(message, 8 * message.size() - 1), signature));
      EXPECT_FALSE(key.verify(Bytes(message.begin(), message.end() - 1), signature));
    }
    // R is the first 32 bytes, S the last 32 (RFC 8032 §5.1.6).
    for (std::size_t bit : {0, 7, 255, 256, 300, 511}) {
      EXPECT_FALSE(key.verify(message, flip_bit(signature, bit))) << "bit " << bit;
    }
  }
}

TEST(Ed25519Test, WrongKeyDoesNotVerify) {
  const Rfc8032Vector& test2 = kRfc8032Vectors[1];
  const Rfc8032Vector& test3 = kRfc8032Vectors[2];
  EXPECT_FALSE(public_key_of(test3.public_key).verify(hex(test2.message), hex(test2.signature)));
  EXPECT_FALSE(public_key_of(test2.public_key).verify(hex(test3.message), hex(test3.signature)));
  const Ed25519PrivateKey other = Ed25519PrivateKey::generate();
  EXPECT_FALSE(other.public_key().verify(hex(test2.message), hex(test2.signature)));
}

TEST(Ed25519Test, WrongLengthsAreRefusedWithoutThrowing) {
  const Rfc8032Vector& test1 = kRfc8032Vectors[0];
  const Ed25519PublicKey key = public_key_of(test1.public_key);
  const Bytes signature = hex(test1.signature);
  EXPECT_FALSE(key.verify({}, Bytes{}));
  EXPECT_FALSE(key.verify({}, Bytes(signature.begin(), signature.end() - 1)));
  Bytes longer = signature;
  longer.push_back(0x00);
  EXPECT_FALSE(key.verify({}, longer));
  EXPECT_FALSE(key.verify({}, Bytes(128, 0x00)));

  const Bytes public_raw = hex(test1.public_key);
  EXPECT_FALSE(Ed25519PublicKey::from_raw({}).has_value());
  EXPECT_FALSE(
      Ed25519PublicKey::from_raw(Bytes(public_raw.begin(), public_raw.end() - 1)).has_value());
  Bytes longer_key = public_raw;
  longer_key.push_back(0x00);
  EXPECT_FALSE(Ed25519PublicKey::from_raw(longer_key).has_value());

  const Bytes seed = hex(test1.secret_key);
  EXPECT_THROW(Ed25519PrivateKey::from_seed({}), std::invalid_argument);
  EXPECT_THROW(Ed25519PrivateKey::from_seed(Bytes(seed.begin(), seed.end() - 1)),
               std::invalid_argument);
  EXPECT_THROW(Ed25519PrivateKey::from_seed(Bytes(64, 0x01)), std::invalid_argument);
}

// evppkey_ecx.txt (as above), "Signature maleability test": TEST 1's signature with the
// group order L added to S. RFC 8032 §5.1.7 rejects S >= L.
TEST(Ed25519Test, NonCanonicalSIsRejected) {
  const Rfc8032Vector& test1 = kRfc8032Vectors[0];
  const Bytes malleated =
      hex("e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
          "4c8c7872aa064e049dbb3013fbf29380d25bf5f0595bbe24655141438e7a101b");
  EXPECT_FALSE(public_key_of(test1.public_key).verify({}, malleated));
}

TEST(Ed25519Test, GeneratedKeysSignAndVerify) {
  const Ed25519PrivateKey key = Ed25519PrivateKey::generate();
  const Ed25519PrivateKey other = Ed25519PrivateKey::generate();
  EXPECT_FALSE(key.public_key() == other.public_key());
  const Bytes message = bytes_of(as_bytes("tree head"));
  const Ed25519Signature signature = key.sign(message);
  EXPECT_EQ(key.sign(message), signature) << "Ed25519 signatures are deterministic";
  EXPECT_TRUE(key.public_key().verify(message, signature));
  EXPECT_FALSE(other.public_key().verify(message, signature));

  const std::optional<Ed25519PublicKey> copy = Ed25519PublicKey::from_raw(key.public_key().raw());
  ASSERT_TRUE(copy.has_value());
  EXPECT_TRUE(*copy == key.public_key());
  EXPECT_TRUE(copy->verify(message, signature));
}

TEST(Ed25519Test, KeyIdIsSha256OfRawPublicKey) {
  const Ed25519PublicKey key = public_key_of(kRfc8032Vectors[0].public_key);
  EXPECT_EQ(key.key_id(), to_hex(sha256(key.raw())));
  EXPECT_EQ(key.key_id().size(), 64u);
  EXPECT_NE(key.key_id(), public_key_of(kRfc8032Vectors[1].public_key).key_id());
}

// The server signs tree heads and observers verify them on many threads at once.
TEST(Ed25519Test, OneKeyServesManyThreads) {
  const Rfc8032Vector& test3 = kRfc8032Vectors[2];
  const Ed25519PrivateKey key = Ed25519PrivateKey::from_seed(hex(test3.secret_key));
  const Ed25519PublicKey& public_key = key.public_key();
  const Bytes message = hex(test3.message);
  const Bytes signature = hex(test3.signature);
  const Bytes tampered = flip_bit(signature, 3);
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 25; ++i) {
        if (bytes_of(key.sign(message)) != signature) ++failures;
        if (!public_key.verify(message, signature) || public_key.verify(message, tampered)) {
          ++failures;
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
}

}  // namespace
}  // namespace observernet::crypto
