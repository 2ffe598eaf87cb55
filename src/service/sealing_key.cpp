#include "observernet/service/token_keys.hpp"

#include <openssl/crypto.h>

// The sealing key's derivation, apart from TokenKeys and the store it reads: the
// configuration derives the public half too, and needs nothing else of this module.
namespace observernet::service {

crypto::Bytes sealing_private_key(std::span<const unsigned char> master_key) {
  return crypto::hkdf_sha256(master_key, {}, kSealingKeyInfo, crypto::kX25519KeyLength);
}

crypto::X25519Key sealing_public_key(std::span<const unsigned char> master_key) {
  crypto::Bytes private_key = sealing_private_key(master_key);
  const crypto::X25519Key public_key = crypto::x25519_public_key(private_key);
  OPENSSL_cleanse(private_key.data(), private_key.size());
  return public_key;
}

}  // namespace observernet::service
