#include "observernet/crypto/aead.hpp"

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <climits>
#include <memory>
#include <stdexcept>
#include <string>

#include "openssl_ptr.hpp"
#include "openssl_support.hpp"

namespace observernet::crypto {
namespace {

using CipherCtx = OpensslPtr<EVP_CIPHER_CTX, EVP_CIPHER_CTX_free>;

void require_key(std::span<const unsigned char> key) {
  if (key.size() != kAes256GcmKeyLength) {
    throw std::invalid_argument("AES-256-GCM key must be 32 bytes");
  }
}

CipherCtx new_cipher_ctx() {
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  if (!ctx) throw_openssl("EVP_CIPHER_CTX_new");
  return ctx;
}

// EVP_EncryptUpdate and EVP_DecryptUpdate take int lengths, so longer input goes in
// pieces. GCM is a stream mode: every piece produces exactly as many bytes as it
// consumes. With out == nullptr the input is additional authenticated data.
template <typename Update>
bool update_in_pieces(Update update, EVP_CIPHER_CTX* ctx, unsigned char* out,
                      std::span<const unsigned char> in) {
  while (!in.empty()) {
    const std::size_t piece = std::min<std::size_t>(in.size(), INT_MAX);
    int written = 0;
    if (update(ctx, out, &written, in.data(), static_cast<int>(piece)) != 1) return false;
    if (out != nullptr) {
      if (static_cast<std::size_t>(written) != piece) return false;
      out += piece;
    }
    in = in.subspan(piece);
  }
  return true;
}

}  // namespace

namespace detail {

Bytes aes256gcm_seal_with_nonce(std::span<const unsigned char> key32,
                                std::span<const unsigned char> nonce12,
                                std::span<const unsigned char> plaintext,
                                std::span<const unsigned char> aad) {
  require_key(key32);
  if (nonce12.size() != kAes256GcmNonceLength) {
    throw std::invalid_argument("AES-256-GCM nonce must be 12 bytes");
  }
  Bytes sealed(kAes256GcmNonceLength + plaintext.size() + kAes256GcmTagLength);
  std::copy(nonce12.begin(), nonce12.end(), sealed.begin());
  unsigned char* ciphertext = sealed.data() + kAes256GcmNonceLength;
  unsigned char* tag = ciphertext + plaintext.size();

  // The default IV length of EVP_aes_256_gcm() is already 12 bytes, the length that
  // GCM uses directly as the counter's prefix (SP 800-38D §7.1 step 2).
  CipherCtx ctx = new_cipher_ctx();
  if (EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key32.data(), nonce12.data()) !=
      1) {
    throw_openssl("EVP_EncryptInit_ex(AES-256-GCM)");
  }
  if (!update_in_pieces(EVP_EncryptUpdate, ctx.get(), nullptr, aad) ||
      !update_in_pieces(EVP_EncryptUpdate, ctx.get(), ciphertext, plaintext)) {
    throw_openssl("EVP_EncryptUpdate");
  }
  int final_len = 0;
  if (EVP_EncryptFinal_ex(ctx.get(), tag, &final_len) != 1 || final_len != 0) {
    throw_openssl("EVP_EncryptFinal_ex");
  }
  if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, static_cast<int>(kAes256GcmTagLength),
                          tag) != 1) {
    throw_openssl("EVP_CTRL_GCM_GET_TAG");
  }
  return sealed;
}

}  // namespace detail

Bytes aes256gcm_seal(std::span<const unsigned char> key32, std::span<const unsigned char> plaintext,
                     std::span<const unsigned char> aad) {
  require_key(key32);
  std::array<unsigned char, kAes256GcmNonceLength> nonce{};
  random_bytes(nonce);
  return detail::aes256gcm_seal_with_nonce(key32, nonce, plaintext, aad);
}

std::optional<Bytes> aes256gcm_open(std::span<const unsigned char> key32,
                                    std::span<const unsigned char> sealed,
                                    std::span<const unsigned char> aad) {
  require_key(key32);
  if (sealed.size() < kAes256GcmOverhead) return std::nullopt;
  const auto nonce = sealed.first(kAes256GcmNonceLength);
  const auto ciphertext = sealed.subspan(kAes256GcmNonceLength, sealed.size() - kAes256GcmOverhead);
  // EVP_CTRL_GCM_SET_TAG takes a non-const pointer.
  std::array<unsigned char, kAes256GcmTagLength> tag{};
  std::copy(sealed.end() - kAes256GcmTagLength, sealed.end(), tag.begin());

  CipherCtx ctx = new_cipher_ctx();
  if (EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key32.data(), nonce.data()) != 1) {
    throw_openssl("EVP_DecryptInit_ex(AES-256-GCM)");
  }
  Bytes plaintext(ciphertext.size());
  if (!update_in_pieces(EVP_DecryptUpdate, ctx.get(), nullptr, aad) ||
      !update_in_pieces(EVP_DecryptUpdate, ctx.get(), plaintext.data(), ciphertext)) {
    throw_openssl("EVP_DecryptUpdate");
  }
  if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, static_cast<int>(tag.size()),
                          tag.data()) != 1) {
    throw_openssl("EVP_CTRL_GCM_SET_TAG");
  }
  // The tag is checked only here, after the whole ciphertext has been decrypted, so the
  // decrypted bytes must not outlive a failed check.
  int final_len = 0;
  if (EVP_DecryptFinal_ex(ctx.get(), plaintext.data() + plaintext.size(), &final_len) != 1) {
    OPENSSL_cleanse(plaintext.data(), plaintext.size());
    ERR_clear_error();
    return std::nullopt;
  }
  return plaintext;
}

}  // namespace observernet::crypto
