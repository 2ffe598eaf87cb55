#include "observernet/crypto/merkle.hpp"

#include <openssl/evp.h>

#include <stdexcept>

#include "openssl_ptr.hpp"

namespace observernet::crypto {

Digest merkle_leaf_hash(std::string_view leaf) {
  static constexpr unsigned char kLeafPrefix = 0x00;
  Digest out{};
  OpensslPtr<EVP_MD_CTX, EVP_MD_CTX_free> ctx(EVP_MD_CTX_new());
  // Streamed, so the leaf is not copied behind its prefix byte.
  bool ok = ctx && EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) == 1 &&
            EVP_DigestUpdate(ctx.get(), &kLeafPrefix, 1) == 1 &&
            EVP_DigestUpdate(ctx.get(), leaf.data(), leaf.size()) == 1 &&
            EVP_DigestFinal_ex(ctx.get(), out.data(), nullptr) == 1;
  if (!ok) throw std::runtime_error("SHA-256 failed");
  return out;
}

}  // namespace observernet::crypto
