#include "observernet/crypto/merkle.hpp"

#include <openssl/evp.h>

#include <stdexcept>

namespace observernet::crypto {

Digest merkle_leaf_hash(std::string_view leaf) {
  static constexpr unsigned char kLeafPrefix = 0x00;
  Digest out{};
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  bool ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr) == 1 &&
            EVP_DigestUpdate(ctx, &kLeafPrefix, 1) == 1 &&
            EVP_DigestUpdate(ctx, leaf.data(), leaf.size()) == 1 &&
            EVP_DigestFinal_ex(ctx, out.data(), nullptr) == 1;
  EVP_MD_CTX_free(ctx);
  if (!ok) throw std::runtime_error("SHA-256 failed");
  return out;
}

}  // namespace observernet::crypto
