#include "observernet/crypto/sealed_box.hpp"

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include <algorithm>
#include <stdexcept>
#include <string>

#include "openssl_ptr.hpp"
#include "openssl_support.hpp"

namespace observernet::crypto {
namespace {

using Pkey = OpensslPtr<EVP_PKEY, EVP_PKEY_free>;
using PkeyCtx = OpensslPtr<EVP_PKEY_CTX, EVP_PKEY_CTX_free>;

void require_key_length(std::span<const unsigned char> key, const char* what) {
  if (key.size() != kX25519KeyLength) {
    throw std::invalid_argument(std::string("X25519 ") + what + " must be 32 bytes");
  }
}

Pkey private_pkey(std::span<const unsigned char> private_key) {
  require_key_length(private_key, "private key");
  Pkey pkey(EVP_PKEY_new_raw_private_key_ex(nullptr, "X25519", nullptr, private_key.data(),
                                            private_key.size()));
  if (!pkey) throw_openssl("EVP_PKEY_new_raw_private_key_ex(X25519)");
  return pkey;
}

X25519Key public_of(const Pkey& pkey) {
  X25519Key out{};
  std::size_t length = out.size();
  if (EVP_PKEY_get_raw_public_key(pkey.get(), out.data(), &length) != 1 || length != out.size()) {
    throw_openssl("EVP_PKEY_get_raw_public_key(X25519)");
  }
  return out;
}

// X25519(own, peer). OpenSSL refuses a result of all zeros (RFC 7748 §6.1): nullopt.
std::optional<X25519Key> agree(const Pkey& own, std::span<const unsigned char> peer) {
  require_key_length(peer, "public key");
  Pkey peer_key(
      EVP_PKEY_new_raw_public_key_ex(nullptr, "X25519", nullptr, peer.data(), peer.size()));
  if (!peer_key) throw_openssl("EVP_PKEY_new_raw_public_key_ex(X25519)");
  PkeyCtx ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, own.get(), nullptr));
  if (!ctx) throw_openssl("EVP_PKEY_CTX_new_from_pkey(X25519)");
  if (EVP_PKEY_derive_init(ctx.get()) != 1) throw_openssl("EVP_PKEY_derive_init(X25519)");
  X25519Key shared{};
  std::size_t length = shared.size();
  if (EVP_PKEY_derive_set_peer(ctx.get(), peer_key.get()) != 1 ||
      EVP_PKEY_derive(ctx.get(), shared.data(), &length) != 1 || length != shared.size()) {
    OPENSSL_cleanse(shared.data(), shared.size());
    ERR_clear_error();
    return std::nullopt;
  }
  return shared;
}

// The box's AES-256-GCM key, from the shared secret and both public keys. The secret is
// wiped here; the caller wipes the key.
Bytes box_key(X25519Key& shared, std::span<const unsigned char> ephemeral_public,
              std::span<const unsigned char> recipient_public) {
  Bytes salt(ephemeral_public.begin(), ephemeral_public.end());
  salt.insert(salt.end(), recipient_public.begin(), recipient_public.end());
  Bytes key = hkdf_sha256(shared, salt, kSealedBoxInfo, kAes256GcmKeyLength);
  OPENSSL_cleanse(shared.data(), shared.size());
  return key;
}

}  // namespace

std::optional<X25519Key> x25519(std::span<const unsigned char> scalar,
                                std::span<const unsigned char> u) {
  return agree(private_pkey(scalar), u);
}

X25519Key x25519_public_key(std::span<const unsigned char> private_key) {
  return public_of(private_pkey(private_key));
}

Bytes seal_to(const X25519Key& recipient, std::span<const unsigned char> plaintext,
              std::span<const unsigned char> aad) {
  // Generated inside OpenSSL, so the ephemeral private key is never in memory of ours;
  // it is freed, and with it forgotten, when this call returns.
  Pkey ephemeral(EVP_PKEY_Q_keygen(nullptr, nullptr, "X25519"));
  if (!ephemeral) throw_openssl("EVP_PKEY_Q_keygen(X25519)");
  const X25519Key ephemeral_public = public_of(ephemeral);
  std::optional<X25519Key> shared = agree(ephemeral, recipient);
  if (!shared) throw std::invalid_argument("the X25519 public key to seal to is of small order");
  Bytes key = box_key(*shared, ephemeral_public, recipient);
  Bytes box = aes256gcm_seal(key, plaintext, aad);
  OPENSSL_cleanse(key.data(), key.size());
  Bytes sealed(ephemeral_public.begin(), ephemeral_public.end());
  sealed.insert(sealed.end(), box.begin(), box.end());
  return sealed;
}

std::optional<Bytes> open_sealed(std::span<const unsigned char> private_key,
                                 std::span<const unsigned char> sealed,
                                 std::span<const unsigned char> aad) {
  const Pkey own = private_pkey(private_key);
  if (sealed.size() < kSealedBoxOverhead) return std::nullopt;
  const auto ephemeral_public = sealed.first(kX25519KeyLength);
  std::optional<X25519Key> shared = agree(own, ephemeral_public);
  if (!shared) return std::nullopt;
  Bytes key = box_key(*shared, ephemeral_public, public_of(own));
  std::optional<Bytes> plaintext = aes256gcm_open(key, sealed.subspan(kX25519KeyLength), aad);
  OPENSSL_cleanse(key.data(), key.size());
  return plaintext;
}

}  // namespace observernet::crypto
