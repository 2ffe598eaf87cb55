#include "observernet/crypto/hash.hpp"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <climits>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <vector>

#include "openssl_ptr.hpp"
#include "openssl_support.hpp"

namespace observernet::crypto {
namespace {

using Mac = OpensslPtr<EVP_MAC, EVP_MAC_free>;
using MacCtx = OpensslPtr<EVP_MAC_CTX, EVP_MAC_CTX_free>;
using Kdf = OpensslPtr<EVP_KDF, EVP_KDF_free>;
using KdfCtx = OpensslPtr<EVP_KDF_CTX, EVP_KDF_CTX_free>;

constexpr char kHexDigits[] = "0123456789abcdef";

// RFC 4648 §5, the URL- and filename-safe alphabet.
constexpr char kBase64UrlAlphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

// Crockford's alphabet leaves out I, L, O and U so that a code read aloud or retyped
// cannot be confused with 1, 0 or an obscenity.
constexpr char kCrockfordAlphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Each byte's base64url digit value, or -1.
constexpr std::array<std::int8_t, 256> kBase64UrlValues = [] {
  std::array<std::int8_t, 256> values{};
  values.fill(-1);
  for (int i = 0; i < 64; ++i)
    values[static_cast<unsigned char>(kBase64UrlAlphabet[i])] = static_cast<std::int8_t>(i);
  return values;
}();

}  // namespace

Digest sha256(std::string_view data) {
  return sha256(as_bytes(data));
}

Digest sha256(std::span<const unsigned char> data) {
  Digest out{};
  unsigned int out_len = 0;
  if (EVP_Digest(data.data(), data.size(), out.data(), &out_len, EVP_sha256(), nullptr) != 1 ||
      out_len != out.size()) {
    throw_openssl("EVP_Digest(SHA-256)");
  }
  return out;
}

std::string sha1_hex(std::string_view data) {
  std::array<unsigned char, 20> out{};
  unsigned int out_len = 0;
  if (EVP_Digest(data.data(), data.size(), out.data(), &out_len, EVP_sha1(), nullptr) != 1 ||
      out_len != out.size()) {
    throw_openssl("EVP_Digest(SHA-1)");
  }
  return to_hex(out);
}

Digest hmac_sha256(std::span<const unsigned char> key, std::string_view data) {
  Mac mac(EVP_MAC_fetch(nullptr, "HMAC", nullptr));
  if (!mac) throw_openssl("EVP_MAC_fetch(HMAC)");
  MacCtx ctx(EVP_MAC_CTX_new(mac.get()));
  if (!ctx) throw_openssl("EVP_MAC_CTX_new");

  char digest_name[] = "SHA256";
  const OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest_name, 0),
      OSSL_PARAM_construct_end(),
  };
  // EVP_MAC_init treats a null key as "keep the previous key", so an empty key must
  // still be passed as a non-null pointer (RFC 2104 allows keys of any length).
  static const unsigned char kNoKey = 0;
  const unsigned char* key_data = key.empty() ? &kNoKey : key.data();
  if (EVP_MAC_init(ctx.get(), key_data, key.size(), params) != 1) throw_openssl("EVP_MAC_init");
  const auto bytes = as_bytes(data);
  if (EVP_MAC_update(ctx.get(), bytes.data(), bytes.size()) != 1) {
    throw_openssl("EVP_MAC_update");
  }
  Digest out{};
  std::size_t out_len = 0;
  if (EVP_MAC_final(ctx.get(), out.data(), &out_len, out.size()) != 1 || out_len != out.size()) {
    throw_openssl("EVP_MAC_final");
  }
  return out;
}

Bytes hkdf_sha256(std::span<const unsigned char> ikm, std::span<const unsigned char> salt,
                  std::string_view info, std::size_t length) {
  if (ikm.empty()) throw std::invalid_argument("HKDF needs a non-empty secret");
  if (length == 0 || length > 255 * 32) {
    throw std::invalid_argument("HKDF-SHA256 gives 1 to 8160 bytes");
  }
  Kdf kdf(EVP_KDF_fetch(nullptr, "HKDF", nullptr));
  if (!kdf) throw_openssl("EVP_KDF_fetch(HKDF)");
  KdfCtx ctx(EVP_KDF_CTX_new(kdf.get()));
  if (!ctx) throw_openssl("EVP_KDF_CTX_new");
  // OSSL_PARAM takes non-const pointers; OpenSSL only reads them.
  char digest_name[] = "SHA256";
  std::vector<OSSL_PARAM> params = {
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest_name, 0),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, const_cast<unsigned char*>(ikm.data()),
                                        ikm.size()),
  };
  // Absent parameters are RFC 5869's defaults: a salt of zeros, an empty info.
  if (!salt.empty()) {
    params.push_back(OSSL_PARAM_construct_octet_string(
        OSSL_KDF_PARAM_SALT, const_cast<unsigned char*>(salt.data()), salt.size()));
  }
  if (!info.empty()) {
    params.push_back(OSSL_PARAM_construct_octet_string(
        OSSL_KDF_PARAM_INFO, const_cast<char*>(info.data()), info.size()));
  }
  params.push_back(OSSL_PARAM_construct_end());
  Bytes out(length);
  if (EVP_KDF_derive(ctx.get(), out.data(), out.size(), params.data()) != 1) {
    throw_openssl("EVP_KDF_derive(HKDF)");
  }
  return out;
}

std::string to_hex(std::span<const unsigned char> bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char b : bytes) {
    out.push_back(kHexDigits[b >> 4]);
    out.push_back(kHexDigits[b & 0x0f]);
  }
  return out;
}

std::optional<Digest> digest_from_hex(std::string_view hex) {
  auto bytes = from_hex(hex);
  Digest digest{};
  if (!bytes || bytes->size() != digest.size()) return std::nullopt;
  std::copy(bytes->begin(), bytes->end(), digest.begin());
  return digest;
}

std::optional<Bytes> from_hex(std::string_view hex) {
  if (hex.size() % 2 != 0) return std::nullopt;
  Bytes out;
  out.reserve(hex.size() / 2);
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    const int high = hex_value(hex[i]);
    const int low = hex_value(hex[i + 1]);
    if (high < 0 || low < 0) return std::nullopt;
    out.push_back(static_cast<unsigned char>(high << 4 | low));
  }
  return out;
}

std::string to_base64url(std::span<const unsigned char> bytes) {
  std::string out;
  out.reserve((bytes.size() * 4 + 2) / 3);
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const unsigned group = unsigned(bytes[i]) << 16 | unsigned(bytes[i + 1]) << 8 | bytes[i + 2];
    out.push_back(kBase64UrlAlphabet[group >> 18 & 0x3f]);
    out.push_back(kBase64UrlAlphabet[group >> 12 & 0x3f]);
    out.push_back(kBase64UrlAlphabet[group >> 6 & 0x3f]);
    out.push_back(kBase64UrlAlphabet[group & 0x3f]);
  }
  // RFC 4648 §4: a final 8-bit quantum gives 2 characters, a 16-bit one 3; the
  // padding that would follow is omitted per §5 / RFC 7515 §2.
  const std::size_t rest = bytes.size() - i;
  if (rest == 1) {
    const unsigned group = unsigned(bytes[i]) << 16;
    out.push_back(kBase64UrlAlphabet[group >> 18 & 0x3f]);
    out.push_back(kBase64UrlAlphabet[group >> 12 & 0x3f]);
  } else if (rest == 2) {
    const unsigned group = unsigned(bytes[i]) << 16 | unsigned(bytes[i + 1]) << 8;
    out.push_back(kBase64UrlAlphabet[group >> 18 & 0x3f]);
    out.push_back(kBase64UrlAlphabet[group >> 12 & 0x3f]);
    out.push_back(kBase64UrlAlphabet[group >> 6 & 0x3f]);
  }
  return out;
}

std::optional<Bytes> from_base64url(std::string_view text) {
  // A lone trailing character carries 6 bits, not enough for a byte.
  if (text.size() % 4 == 1) return std::nullopt;
  Bytes out(text.size() * 3 / 4);
  std::size_t written = 0;
  unsigned buffer = 0;
  int bits = 0;
  for (char c : text) {
    const int value = kBase64UrlValues[static_cast<unsigned char>(c)];
    if (value < 0) return std::nullopt;
    buffer = (buffer << 6 | unsigned(value)) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[written++] = static_cast<unsigned char>(buffer >> bits & 0xff);
    }
  }
  // RFC 4648 §3.5: decoders may reject non-zero pad bits. We do, so that every byte
  // string has exactly one accepted spelling and tokens cannot be varied in transit.
  if ((buffer & ((1u << bits) - 1)) != 0) return std::nullopt;
  return out;
}

std::string to_crockford_base32(std::span<const unsigned char> bytes) {
  std::string out;
  out.reserve((bytes.size() * 8 + 4) / 5);
  unsigned buffer = 0;
  int bits = 0;
  for (unsigned char b : bytes) {
    buffer = (buffer << 8 | b) & 0xfff;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out.push_back(kCrockfordAlphabet[buffer >> bits & 0x1f]);
    }
  }
  if (bits > 0) out.push_back(kCrockfordAlphabet[buffer << (5 - bits) & 0x1f]);
  return out;
}

bool constant_time_equal(std::span<const unsigned char> a, std::span<const unsigned char> b) {
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

void random_bytes(std::span<unsigned char> out) {
  while (!out.empty()) {
    // RAND_bytes takes an int length.
    const std::size_t chunk = std::min<std::size_t>(out.size(), INT_MAX);
    if (RAND_bytes(out.data(), static_cast<int>(chunk)) != 1) throw_openssl("RAND_bytes");
    out = out.subspan(chunk);
  }
}

}  // namespace observernet::crypto
