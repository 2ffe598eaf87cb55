#include "observernet/crypto/ed25519.hpp"

#include <openssl/err.h>
#include <openssl/evp.h>

#include <algorithm>
#include <stdexcept>
#include <string>
#include <utility>

#include "openssl_ptr.hpp"
#include "openssl_support.hpp"

namespace observernet::crypto {
namespace {

using Pkey = OpensslPtr<EVP_PKEY, EVP_PKEY_free>;
using MdCtx = OpensslPtr<EVP_MD_CTX, EVP_MD_CTX_free>;

// A fresh context per call is what lets one EVP_PKEY serve every thread.
MdCtx new_md_ctx() {
  MdCtx ctx(EVP_MD_CTX_new());
  if (!ctx) throw_openssl("EVP_MD_CTX_new");
  return ctx;
}

}  // namespace

// ---- Ed25519PublicKey -----------------------------------------------------------------

struct Ed25519PublicKey::State {
  Pkey pkey;
  Ed25519RawPublicKey raw{};
};

Ed25519PublicKey::Ed25519PublicKey(std::shared_ptr<const State> state) : state_(std::move(state)) {}

std::optional<Ed25519PublicKey> Ed25519PublicKey::from_raw(std::span<const unsigned char> raw) {
  if (raw.size() != kEd25519PublicKeyLength) return std::nullopt;
  Pkey pkey(EVP_PKEY_new_raw_public_key_ex(nullptr, "ED25519", nullptr, raw.data(), raw.size()));
  if (!pkey) {
    ERR_clear_error();
    return std::nullopt;
  }
  auto state = std::make_shared<State>();
  std::copy(raw.begin(), raw.end(), state->raw.begin());
  state->pkey = std::move(pkey);
  return Ed25519PublicKey(std::move(state));
}

const Ed25519RawPublicKey& Ed25519PublicKey::raw() const {
  return state_->raw;
}

std::string Ed25519PublicKey::key_id() const {
  return to_hex(sha256(state_->raw));
}

bool Ed25519PublicKey::verify(std::span<const unsigned char> message,
                              std::span<const unsigned char> signature) const {
  if (signature.size() != kEd25519SignatureLength) return false;
  MdCtx ctx = new_md_ctx();
  // PureEdDSA hashes the message itself (RFC 8032 §5.1.7), so no digest is named.
  if (EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, state_->pkey.get()) != 1) {
    throw_openssl("EVP_DigestVerifyInit(Ed25519)");
  }
  const int verified = EVP_DigestVerify(ctx.get(), signature.data(), signature.size(),
                                        data_or_empty(message), message.size());
  if (verified != 1) ERR_clear_error();
  return verified == 1;
}

bool operator==(const Ed25519PublicKey& a, const Ed25519PublicKey& b) {
  return a.state_->raw == b.state_->raw;
}

// ---- Ed25519PrivateKey ----------------------------------------------------------------

struct Ed25519PrivateKey::State {
  Pkey pkey;
};

Ed25519PrivateKey::Ed25519PrivateKey(std::shared_ptr<const State> state,
                                     Ed25519PublicKey public_key)
    : state_(std::move(state)), public_key_(std::move(public_key)) {}

Ed25519PrivateKey Ed25519PrivateKey::from_pkey(evp_pkey_st* raw_pkey) {
  Pkey pkey(raw_pkey);
  Ed25519RawPublicKey public_raw{};
  std::size_t public_length = public_raw.size();
  if (EVP_PKEY_get_raw_public_key(pkey.get(), public_raw.data(), &public_length) != 1 ||
      public_length != public_raw.size()) {
    throw_openssl("EVP_PKEY_get_raw_public_key(Ed25519)");
  }
  std::optional<Ed25519PublicKey> public_key = Ed25519PublicKey::from_raw(public_raw);
  if (!public_key) throw_openssl("EVP_PKEY_new_raw_public_key_ex(Ed25519)");
  auto state = std::make_shared<State>();
  state->pkey = std::move(pkey);
  return Ed25519PrivateKey(std::move(state), std::move(*public_key));
}

Ed25519PrivateKey Ed25519PrivateKey::generate() {
  // Generated inside OpenSSL, so the seed is never in memory of ours to be wiped.
  EVP_PKEY* pkey = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
  if (pkey == nullptr) throw_openssl("EVP_PKEY_Q_keygen(Ed25519)");
  return from_pkey(pkey);
}

Ed25519PrivateKey Ed25519PrivateKey::from_seed(std::span<const unsigned char> seed) {
  if (seed.size() != kEd25519SeedLength) {
    throw std::invalid_argument("Ed25519 private key must be 32 bytes");
  }
  EVP_PKEY* pkey =
      EVP_PKEY_new_raw_private_key_ex(nullptr, "ED25519", nullptr, seed.data(), seed.size());
  if (pkey == nullptr) throw_openssl("EVP_PKEY_new_raw_private_key_ex(Ed25519)");
  return from_pkey(pkey);
}

const Ed25519PublicKey& Ed25519PrivateKey::public_key() const {
  return public_key_;
}

Ed25519Signature Ed25519PrivateKey::sign(std::span<const unsigned char> message) const {
  MdCtx ctx = new_md_ctx();
  // PureEdDSA hashes the message itself (RFC 8032 §5.1.6), so no digest is named.
  if (EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, state_->pkey.get()) != 1) {
    throw_openssl("EVP_DigestSignInit(Ed25519)");
  }
  Ed25519Signature signature{};
  std::size_t signature_length = signature.size();
  if (EVP_DigestSign(ctx.get(), signature.data(), &signature_length, data_or_empty(message),
                     message.size()) != 1 ||
      signature_length != signature.size()) {
    throw_openssl("EVP_DigestSign(Ed25519)");
  }
  return signature;
}

}  // namespace observernet::crypto
