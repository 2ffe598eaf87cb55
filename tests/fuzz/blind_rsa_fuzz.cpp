// RFC 9474 blind RSA (crypto/blind_rsa.hpp) on what a client controls: keys in DER, the
// blinded message the server signs, and the client's own steps against a fixed
// 2048-bit key. The first byte picks the operation.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <variant>

#include "fuzz_support.hpp"
#include "observernet/crypto/blind_rsa.hpp"

using namespace observernet;
using crypto::Bytes;

namespace {

const crypto::RsaPrivateKey& server_key() {
  static const crypto::RsaPrivateKey key = crypto::RsaPrivateKey::generate(2048);
  return key;
}

constexpr crypto::BlindRsaVariant kVariants[] = {
    crypto::kSha384PssRandomized, crypto::kSha384PssZeroRandomized, crypto::kSha384PssDeterministic,
    crypto::kSha384PssZeroDeterministic};

// Big-endian integers of equal length.
bool below(const Bytes& a, const Bytes& b) {
  return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end());
}

Bytes padded_modulus(const crypto::RsaPublicKey& key) {
  Bytes n(key.modulus_bytes() - key.modulus().size(), 0);
  n.insert(n.end(), key.modulus().begin(), key.modulus().end());
  return n;
}

void public_key_der(std::span<const unsigned char> der) {
  const auto key = crypto::RsaPublicKey::from_spki_der(der);
  if (!key) return;
  FUZZ_CHECK(key->modulus_bits() >= crypto::kMinModulusBits &&
             key->modulus_bits() <= crypto::kMaxModulusBits);
  FUZZ_CHECK(key->exponent().size() > 0 && (key->exponent().back() & 1) == 1);
  FUZZ_CHECK(!(key->exponent().size() == 1 && key->exponent()[0] == 1));
  const auto again = crypto::RsaPublicKey::from_spki_der(key->spki_der());
  FUZZ_CHECK(again && *again == *key && again->key_id() == key->key_id());
  FUZZ_CHECK(key->key_id() == crypto::to_hex(crypto::sha256(key->spki_der())));
}

void private_key_der(std::span<const unsigned char> der) {
  const auto key = crypto::RsaPrivateKey::from_pkcs8_der(der);
  if (!key) return;
  const auto again = crypto::RsaPrivateKey::from_pkcs8_der(key->pkcs8_der());
  FUZZ_CHECK(again && again->public_key() == key->public_key());
}

// What the token route does with a client's blinded message.
void blind_sign(const Bytes& blinded) {
  const auto& key = server_key();
  const auto result = key.blind_sign(blinded);
  if (blinded.size() != key.modulus_bytes()) {
    FUZZ_CHECK(std::get<crypto::BlindSignError>(result) == crypto::BlindSignError::wrong_length);
  } else if (!below(blinded, padded_modulus(key.public_key()))) {
    FUZZ_CHECK(std::get<crypto::BlindSignError>(result) ==
               crypto::BlindSignError::not_below_modulus);
  } else {
    FUZZ_CHECK(std::get<Bytes>(result).size() == key.modulus_bytes());
  }
}

// Without the private key, nothing the client sends makes a signature.
void forge(FuzzedDataProvider& in, const crypto::BlindRsaVariant& variant) {
  const auto& key = server_key().public_key();
  const auto k = key.modulus_bytes();
  const Bytes blind_sig = in.ConsumeBytes<unsigned char>(in.ConsumeBool() ? k : k - 1);
  const Bytes inv = in.ConsumeBytes<unsigned char>(k);
  const Bytes sig = in.ConsumeBytes<unsigned char>(k);
  const Bytes msg = in.ConsumeRemainingBytes<unsigned char>();
  FUZZ_CHECK(!crypto::finalize(key, msg, blind_sig, inv, variant));
  FUZZ_CHECK(!key.verify_pss(msg, sig, variant.salt_length));
}

// The whole protocol on a message of the client's: it must end in a valid signature.
void protocol(FuzzedDataProvider& in, const crypto::BlindRsaVariant& variant) {
  const auto& key = server_key();
  Bytes msg = in.ConsumeRemainingBytes<unsigned char>();
  const Bytes prepared = crypto::prepare(variant, msg);
  FUZZ_CHECK(prepared.size() == msg.size() + (variant.randomized_prepare ? 32 : 0));
  const auto blinded = crypto::blind(key.public_key(), prepared, variant);
  const auto blind_sig = std::get<Bytes>(key.blind_sign(blinded.blinded_msg));
  const auto sig = crypto::finalize(key.public_key(), prepared, blind_sig, blinded.inv, variant);
  FUZZ_CHECK(sig.has_value());
  FUZZ_CHECK(key.public_key().verify_pss(prepared, *sig, variant.salt_length));
  Bytes other = prepared;
  other.push_back(0);
  FUZZ_CHECK(!key.public_key().verify_pss(other, *sig, variant.salt_length));
}

// The deterministic core with a salt and a blinding factor of the input's choosing.
void blind_with(FuzzedDataProvider& in) {
  const auto& key = server_key().public_key();
  const Bytes salt = in.ConsumeBytes<unsigned char>(in.ConsumeIntegralInRange(0, 64));
  const Bytes r = in.ConsumeBytes<unsigned char>(in.ConsumeIntegralInRange<std::size_t>(0, 300));
  const auto em_bits = in.ConsumeIntegralInRange<std::size_t>(0, 4200);
  const Bytes msg = in.ConsumeRemainingBytes<unsigned char>();
  try {
    const auto encoded = crypto::emsa_pss_encode(msg, em_bits, salt);
    FUZZ_CHECK(encoded.size() == (em_bits + 7) / 8);
  } catch (const std::invalid_argument&) {
  }
  try {
    const auto blinded = crypto::blind_with(key, msg, salt, r);
    FUZZ_CHECK(blinded.blinded_msg.size() == key.modulus_bytes());
    FUZZ_CHECK(blinded.inv.size() == key.modulus_bytes());
  } catch (const std::invalid_argument&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider in(data, size);
  const auto operation = in.ConsumeIntegralInRange(0, 5);
  const auto& variant = kVariants[in.ConsumeIntegralInRange(0, 3)];
  switch (operation) {
    case 0:
      public_key_der(in.ConsumeRemainingBytes<unsigned char>());
      break;
    case 1:
      private_key_der(in.ConsumeRemainingBytes<unsigned char>());
      break;
    case 2:
      blind_sign(in.ConsumeRemainingBytes<unsigned char>());
      break;
    case 3:
      forge(in, variant);
      break;
    case 4:
      protocol(in, variant);
      break;
    default:
      blind_with(in);
  }
  return 0;
}
