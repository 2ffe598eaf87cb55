#include "observernet/crypto/blind_rsa.hpp"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <algorithm>
#include <array>
#include <climits>
#include <cstdint>
#include <stdexcept>
#include <utility>

#include "openssl_ptr.hpp"
#include "openssl_support.hpp"

namespace observernet::crypto {
namespace {

using Pkey = OpensslPtr<EVP_PKEY, EVP_PKEY_free>;
using PkeyCtx = OpensslPtr<EVP_PKEY_CTX, EVP_PKEY_CTX_free>;
using MdCtx = OpensslPtr<EVP_MD_CTX, EVP_MD_CTX_free>;
// Every BIGNUM here may hold a secret (d, p, q, r, r^-1, the encoded message), so all
// of them are wiped on release.
using Bn = OpensslPtr<BIGNUM, BN_clear_free>;
using BnCtx = OpensslPtr<BN_CTX, BN_CTX_free>;
using ParamBld = OpensslPtr<OSSL_PARAM_BLD, OSSL_PARAM_BLD_free>;
using Params = OpensslPtr<OSSL_PARAM, OSSL_PARAM_free>;
using Pkcs8 = OpensslPtr<PKCS8_PRIV_KEY_INFO, PKCS8_PRIV_KEY_INFO_free>;

constexpr std::size_t kSha384Length = 48;

// RFC 8017 §9.1.1 step 2: M' starts with eight zero bytes.
constexpr std::size_t kPssPaddingLength = 8;

// A random r fails to be invertible only if it shares a prime factor with n, which for
// an honest key happens with probability about 2^-2000 per draw.
constexpr int kMaxBlindAttempts = 16;

Bn new_bn() {
  Bn bn(BN_new());
  if (!bn) throw_openssl("BN_new");
  return bn;
}

BnCtx new_bn_ctx() {
  BnCtx ctx(BN_CTX_new());
  if (!ctx) throw_openssl("BN_CTX_new");
  return ctx;
}

// RFC 8017 §4.2 OS2IP.
Bn os2ip(std::span<const unsigned char> bytes) {
  if (bytes.size() > static_cast<std::size_t>(INT_MAX)) {
    throw std::invalid_argument("integer too long");
  }
  Bn bn(BN_bin2bn(data_or_empty(bytes), static_cast<int>(bytes.size()), nullptr));
  if (!bn) throw_openssl("BN_bin2bn");
  return bn;
}

// RFC 8017 §4.1 I2OSP; the caller has made sure that value fits.
Bytes i2osp(const BIGNUM* value, std::size_t length) {
  Bytes out(length);
  if (BN_bn2binpad(value, out.data(), static_cast<int>(length)) < 0) {
    throw_openssl("BN_bn2binpad");
  }
  return out;
}

Bytes bn_bytes(const BIGNUM* value) {
  Bytes out(static_cast<std::size_t>(BN_num_bytes(value)));
  BN_bn2bin(value, out.data());
  return out;
}

// value < modulus, both big-endian; the modulus has no leading zero bytes.
bool below(std::span<const unsigned char> value, std::span<const unsigned char> modulus) {
  if (value.size() != modulus.size()) return value.size() < modulus.size();
  return std::lexicographical_compare(value.begin(), value.end(), modulus.begin(), modulus.end());
}

std::optional<Bn> get_bn_param(const EVP_PKEY* pkey, const char* name) {
  BIGNUM* raw = nullptr;
  if (EVP_PKEY_get_bn_param(pkey, name, &raw) != 1) {
    ERR_clear_error();
    return std::nullopt;
  }
  return Bn(raw);
}

void sha384(std::span<const unsigned char> data, unsigned char* out) {
  unsigned int out_len = 0;
  if (EVP_Digest(data_or_empty(data), data.size(), out, &out_len, EVP_sha384(), nullptr) != 1 ||
      out_len != kSha384Length) {
    throw_openssl("EVP_Digest(SHA-384)");
  }
}

// RFC 8017 §B.2.1 MGF1 with SHA-384, XORed into `out` rather than returned so that the
// mask never has to be held on its own.
void mgf1_sha384_xor(std::span<const unsigned char> seed, std::span<unsigned char> out) {
  Bytes block(seed.begin(), seed.end());
  block.resize(seed.size() + 4);
  std::array<unsigned char, kSha384Length> digest{};
  std::uint32_t counter = 0;
  for (std::size_t done = 0; done < out.size(); done += kSha384Length, ++counter) {
    block[seed.size()] = static_cast<unsigned char>(counter >> 24);
    block[seed.size() + 1] = static_cast<unsigned char>(counter >> 16);
    block[seed.size() + 2] = static_cast<unsigned char>(counter >> 8);
    block[seed.size() + 3] = static_cast<unsigned char>(counter);
    sha384(block, digest.data());
    const std::size_t take = std::min(kSha384Length, out.size() - done);
    for (std::size_t i = 0; i < take; ++i) out[done + i] ^= digest[i];
  }
}

// Cheap consistency checks, so that a corrupt key is refused when it is loaded rather
// than discovered by the fault check on its first signature.
bool components_consistent(const BIGNUM* n, const BIGNUM* e, const BIGNUM* d, const BIGNUM* p,
                           const BIGNUM* q, BN_CTX* ctx) {
  Bn product = new_bn();
  if (BN_mul(product.get(), p, q, ctx) != 1) throw_openssl("BN_mul");
  if (BN_cmp(product.get(), n) != 0) return false;
  Bn ed = new_bn();
  if (BN_mul(ed.get(), e, d, ctx) != 1) throw_openssl("BN_mul");
  Bn factor_minus_one = new_bn();
  Bn remainder = new_bn();
  for (const BIGNUM* factor : {p, q}) {
    if (BN_copy(factor_minus_one.get(), factor) == nullptr ||
        BN_sub_word(factor_minus_one.get(), 1) != 1) {
      throw_openssl("BN_sub_word");
    }
    if (BN_is_zero(factor_minus_one.get())) return false;
    if (BN_mod(remainder.get(), ed.get(), factor_minus_one.get(), ctx) != 1) {
      throw_openssl("BN_mod");
    }
    if (!BN_is_one(remainder.get())) return false;
  }
  return true;
}

Pkey pkey_from_params(OSSL_PARAM_BLD* bld, int selection) {
  Params params(OSSL_PARAM_BLD_to_param(bld));
  if (!params) throw_openssl("OSSL_PARAM_BLD_to_param");
  PkeyCtx ctx(EVP_PKEY_CTX_new_from_name(nullptr, "RSA", nullptr));
  if (!ctx) throw_openssl("EVP_PKEY_CTX_new_from_name(RSA)");
  EVP_PKEY* raw = nullptr;
  if (EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &raw, selection, params.get()) != 1) {
    throw_openssl("EVP_PKEY_fromdata");
  }
  return Pkey(raw);
}

Pkey public_pkey(const BIGNUM* n, const BIGNUM* e) {
  ParamBld bld(OSSL_PARAM_BLD_new());
  if (!bld || OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, n) != 1 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, e) != 1) {
    throw_openssl("OSSL_PARAM_BLD_push_BN");
  }
  return pkey_from_params(bld.get(), EVP_PKEY_PUBLIC_KEY);
}

// Uniform in [1, n) by rejection sampling (RFC 9474 §4.2 step 6): draw as many bits as n
// has, so that each draw is accepted with probability above 1/2.
Bytes random_below(std::span<const unsigned char> n, std::size_t n_bits) {
  Bytes r(n.size());
  const unsigned top_bits = n_bits % 8;
  const unsigned char top_mask =
      top_bits == 0 ? 0xff : static_cast<unsigned char>((1u << top_bits) - 1);
  for (;;) {
    random_bytes(r);
    r[0] &= top_mask;
    const bool zero = std::all_of(r.begin(), r.end(), [](unsigned char b) { return b == 0; });
    if (!zero && below(r, n)) return r;
  }
}

// RFC 9474 §4.2 steps 3–11 on an already encoded message. nullopt when r is not
// invertible mod n ("blinding error"), which blind answers by drawing again.
std::optional<BlindResult> blind_encoded(const RsaPublicKey& key,
                                         std::span<const unsigned char> encoded,
                                         std::span<const unsigned char> r_bytes) {
  const std::size_t k = key.modulus_bytes();
  BnCtx ctx = new_bn_ctx();
  Bn n = os2ip(key.modulus());
  Bn e = os2ip(key.exponent());
  Bn m = os2ip(encoded);
  BN_set_flags(m.get(), BN_FLG_CONSTTIME);

  // Steps 4–5: m must be a unit mod n, or the blinded message would reveal a factor.
  Bn gcd = new_bn();
  if (BN_gcd(gcd.get(), m.get(), n.get(), ctx.get()) != 1) throw_openssl("BN_gcd");
  if (!BN_is_one(gcd.get())) {
    throw std::invalid_argument("blind RSA: encoded message is not co-prime with n");
  }

  Bn r = os2ip(r_bytes);
  BN_set_flags(r.get(), BN_FLG_CONSTTIME);
  if (BN_is_zero(r.get()) || BN_cmp(r.get(), n.get()) >= 0) {
    throw std::invalid_argument("blind RSA: r must satisfy 1 <= r < n");
  }

  // Step 7. With BN_FLG_CONSTTIME on r, OpenSSL takes its branch-free inversion.
  Bn inv = new_bn();
  if (BN_mod_inverse(inv.get(), r.get(), n.get(), ctx.get()) == nullptr) {
    ERR_clear_error();
    return std::nullopt;
  }

  // Step 9, x = RSAVP1(pk, r) = r^e mod n: the exponent is public but the base is the
  // secret blind, hence the constant-time ladder.
  Bn x = new_bn();
  if (BN_mod_exp_mont_consttime(x.get(), r.get(), e.get(), n.get(), ctx.get(), nullptr) != 1) {
    throw_openssl("BN_mod_exp_mont_consttime");
  }
  BN_set_flags(x.get(), BN_FLG_CONSTTIME);

  // Step 10.
  Bn z = new_bn();
  if (BN_mod_mul(z.get(), m.get(), x.get(), n.get(), ctx.get()) != 1) {
    throw_openssl("BN_mod_mul");
  }
  return BlindResult{i2osp(z.get(), k), i2osp(inv.get(), k)};
}

}  // namespace

// ---- RsaPublicKey ---------------------------------------------------------------------

namespace {

// A context set up for RSASSA-PSS verification (SHA-384, MGF1-SHA-384, the given salt
// length) under pkey.
MdCtx pss_verify_context(EVP_PKEY* pkey, std::size_t salt_length) {
  MdCtx ctx(EVP_MD_CTX_new());
  if (!ctx) throw_openssl("EVP_MD_CTX_new");
  EVP_PKEY_CTX* pkey_ctx = nullptr;  // owned by ctx
  if (EVP_DigestVerifyInit(ctx.get(), &pkey_ctx, EVP_sha384(), nullptr, pkey) != 1 ||
      EVP_PKEY_CTX_set_rsa_padding(pkey_ctx, RSA_PKCS1_PSS_PADDING) != 1 ||
      EVP_PKEY_CTX_set_rsa_pss_saltlen(pkey_ctx, static_cast<int>(salt_length)) != 1 ||
      EVP_PKEY_CTX_set_rsa_mgf1_md(pkey_ctx, EVP_sha384()) != 1) {
    throw_openssl("EVP_DigestVerifyInit(RSASSA-PSS)");
  }
  return ctx;
}

}  // namespace

struct RsaPublicKey::State {
  Pkey pkey;
  Bytes spki_der;
  Bytes n;
  Bytes e;
  std::size_t bits = 0;
  // Set up once for the two salt lengths of RFC 9474's variants (the hash's length and
  // zero) and copied for each verification: a copy skips OpenSSL 3's algorithm fetches
  // and parameter setting, about a quarter of a fresh context's cost. Never used
  // directly, so every thread can copy them at once.
  MdCtx verify_salted;
  MdCtx verify_unsalted;
};

RsaPublicKey::RsaPublicKey(std::shared_ptr<const State> state) : state_(std::move(state)) {}

std::optional<RsaPublicKey> RsaPublicKey::from_spki_der(std::span<const unsigned char> der) {
  if (der.empty() || der.size() > static_cast<std::size_t>(LONG_MAX)) return std::nullopt;
  const unsigned char* cursor = der.data();
  Pkey parsed(d2i_PUBKEY(nullptr, &cursor, static_cast<long>(der.size())));
  if (!parsed) {
    ERR_clear_error();
    return std::nullopt;
  }
  // DER has one encoding per value; bytes after it would let two distinct strings name
  // the same key.
  if (cursor != der.data() + der.size()) return std::nullopt;
  if (EVP_PKEY_is_a(parsed.get(), "RSA") != 1) return std::nullopt;

  std::optional<Bn> n = get_bn_param(parsed.get(), OSSL_PKEY_PARAM_RSA_N);
  std::optional<Bn> e = get_bn_param(parsed.get(), OSSL_PKEY_PARAM_RSA_E);
  if (!n || !e) return std::nullopt;
  const auto bits = static_cast<std::size_t>(BN_num_bits(n->get()));
  if (bits < kMinModulusBits || bits > kMaxModulusBits || !BN_is_odd(n->get()) ||
      !BN_is_odd(e->get()) || BN_is_one(e->get())) {
    return std::nullopt;
  }

  auto state = std::make_shared<State>();
  const int der_len = i2d_PUBKEY(parsed.get(), nullptr);
  if (der_len <= 0) throw_openssl("i2d_PUBKEY");
  state->spki_der.resize(static_cast<std::size_t>(der_len));
  unsigned char* out = state->spki_der.data();
  if (i2d_PUBKEY(parsed.get(), &out) != der_len) throw_openssl("i2d_PUBKEY");
  state->n = bn_bytes(n->get());
  state->e = bn_bytes(e->get());
  state->bits = bits;
  state->verify_salted = pss_verify_context(parsed.get(), kSha384Length);
  state->verify_unsalted = pss_verify_context(parsed.get(), 0);
  state->pkey = std::move(parsed);
  return RsaPublicKey(std::move(state));
}

const Bytes& RsaPublicKey::spki_der() const {
  return state_->spki_der;
}

std::string RsaPublicKey::key_id() const {
  return to_hex(sha256(state_->spki_der));
}

std::size_t RsaPublicKey::modulus_bits() const {
  return state_->bits;
}

std::size_t RsaPublicKey::modulus_bytes() const {
  return (state_->bits + 7) / 8;
}

const Bytes& RsaPublicKey::modulus() const {
  return state_->n;
}

const Bytes& RsaPublicKey::exponent() const {
  return state_->e;
}

bool RsaPublicKey::verify_pss(std::span<const unsigned char> msg,
                              std::span<const unsigned char> sig, std::size_t salt_length) const {
  const std::size_t k = modulus_bytes();
  if (sig.size() != k) return false;
  // RFC 8017 §9.1.2 step 3 can never pass with a longer salt; refusing it here also keeps
  // OpenSSL's negative salt-length sentinels out of reach of the int conversion below.
  if (salt_length > k || salt_length + kSha384Length + 2 > k) return false;

  // A context per call is what lets one key serve every thread.
  MdCtx ctx;
  const EVP_MD_CTX* prepared = salt_length == kSha384Length ? state_->verify_salted.get()
                               : salt_length == 0           ? state_->verify_unsalted.get()
                                                            : nullptr;
  if (prepared) {
    ctx.reset(EVP_MD_CTX_new());
    if (!ctx || EVP_MD_CTX_copy_ex(ctx.get(), prepared) != 1) throw_openssl("EVP_MD_CTX_copy_ex");
  } else {
    ctx = pss_verify_context(state_->pkey.get(), salt_length);
  }
  const int verified =
      EVP_DigestVerify(ctx.get(), sig.data(), sig.size(), data_or_empty(msg), msg.size());
  if (verified != 1) ERR_clear_error();
  return verified == 1;
}

bool operator==(const RsaPublicKey& a, const RsaPublicKey& b) {
  return a.state_->spki_der == b.state_->spki_der;
}

// ---- RsaPrivateKey --------------------------------------------------------------------

struct RsaPrivateKey::State {
  Pkey pkey;
};

RsaPrivateKey::RsaPrivateKey(std::shared_ptr<const State> state, RsaPublicKey public_key)
    : state_(std::move(state)), public_key_(std::move(public_key)) {}

namespace {

// The public half of a private key, through the same checks as a key read from SPKI.
std::optional<RsaPublicKey> public_half(const BIGNUM* n, const BIGNUM* e) {
  Pkey pub = public_pkey(n, e);
  const int der_len = i2d_PUBKEY(pub.get(), nullptr);
  if (der_len <= 0) throw_openssl("i2d_PUBKEY");
  Bytes der(static_cast<std::size_t>(der_len));
  unsigned char* out = der.data();
  if (i2d_PUBKEY(pub.get(), &out) != der_len) throw_openssl("i2d_PUBKEY");
  return RsaPublicKey::from_spki_der(der);
}

}  // namespace

std::optional<RsaPrivateKey> RsaPrivateKey::from_pkey(evp_pkey_st* owned) {
  Pkey pkey(owned);
  if (EVP_PKEY_is_a(pkey.get(), "RSA") != 1) return std::nullopt;
  std::optional<Bn> n = get_bn_param(pkey.get(), OSSL_PKEY_PARAM_RSA_N);
  std::optional<Bn> e = get_bn_param(pkey.get(), OSSL_PKEY_PARAM_RSA_E);
  std::optional<Bn> d = get_bn_param(pkey.get(), OSSL_PKEY_PARAM_RSA_D);
  std::optional<Bn> p = get_bn_param(pkey.get(), OSSL_PKEY_PARAM_RSA_FACTOR1);
  std::optional<Bn> q = get_bn_param(pkey.get(), OSSL_PKEY_PARAM_RSA_FACTOR2);
  if (!n || !e || !d || !p || !q) return std::nullopt;
  BnCtx ctx = new_bn_ctx();
  if (!components_consistent(n->get(), e->get(), d->get(), p->get(), q->get(), ctx.get())) {
    return std::nullopt;
  }
  std::optional<RsaPublicKey> public_key = public_half(n->get(), e->get());
  if (!public_key) return std::nullopt;
  auto state = std::make_shared<State>();
  state->pkey = std::move(pkey);
  return RsaPrivateKey(std::move(state), std::move(*public_key));
}

RsaPrivateKey RsaPrivateKey::generate(unsigned bits) {
  if (bits != 2048 && bits != 3072 && bits != 4096) {
    throw std::invalid_argument("RSA key size must be 2048, 3072 or 4096 bits");
  }
  PkeyCtx ctx(EVP_PKEY_CTX_new_from_name(nullptr, "RSA", nullptr));
  if (!ctx) throw_openssl("EVP_PKEY_CTX_new_from_name(RSA)");
  Bn e = new_bn();
  if (BN_set_word(e.get(), RSA_F4) != 1) throw_openssl("BN_set_word");
  if (EVP_PKEY_keygen_init(ctx.get()) != 1 ||
      EVP_PKEY_CTX_set_rsa_keygen_bits(ctx.get(), static_cast<int>(bits)) != 1 ||
      EVP_PKEY_CTX_set1_rsa_keygen_pubexp(ctx.get(), e.get()) != 1) {
    throw_openssl("EVP_PKEY_keygen_init(RSA)");
  }
  EVP_PKEY* raw = nullptr;
  if (EVP_PKEY_generate(ctx.get(), &raw) != 1) throw_openssl("EVP_PKEY_generate(RSA)");
  std::optional<RsaPrivateKey> key = from_pkey(raw);
  if (!key) throw std::runtime_error("OpenSSL generated an inconsistent RSA key");
  return std::move(*key);
}

std::optional<RsaPrivateKey> RsaPrivateKey::from_pkcs8_der(std::span<const unsigned char> der) {
  if (der.empty() || der.size() > static_cast<std::size_t>(LONG_MAX)) return std::nullopt;
  const unsigned char* cursor = der.data();
  Pkcs8 p8(d2i_PKCS8_PRIV_KEY_INFO(nullptr, &cursor, static_cast<long>(der.size())));
  if (!p8) {
    ERR_clear_error();
    return std::nullopt;
  }
  if (cursor != der.data() + der.size()) return std::nullopt;
  EVP_PKEY* raw = EVP_PKCS82PKEY(p8.get());
  if (raw == nullptr) {
    ERR_clear_error();
    return std::nullopt;
  }
  return from_pkey(raw);
}

RsaPrivateKey RsaPrivateKey::from_components(std::span<const unsigned char> n_bytes,
                                             std::span<const unsigned char> e_bytes,
                                             std::span<const unsigned char> d_bytes,
                                             std::span<const unsigned char> p_bytes,
                                             std::span<const unsigned char> q_bytes) {
  Bn n = os2ip(n_bytes);
  Bn e = os2ip(e_bytes);
  Bn d = os2ip(d_bytes);
  Bn p = os2ip(p_bytes);
  Bn q = os2ip(q_bytes);
  BN_set_flags(d.get(), BN_FLG_CONSTTIME);
  BN_set_flags(p.get(), BN_FLG_CONSTTIME);
  BN_set_flags(q.get(), BN_FLG_CONSTTIME);
  BnCtx ctx = new_bn_ctx();
  if (!components_consistent(n.get(), e.get(), d.get(), p.get(), q.get(), ctx.get())) {
    throw std::invalid_argument("RSA components are inconsistent");
  }

  // RFC 8017 §3.2: dP = d mod (p - 1), dQ = d mod (q - 1), qInv = q^-1 mod p.
  Bn p_minus_one = new_bn();
  Bn q_minus_one = new_bn();
  Bn dp = new_bn();
  Bn dq = new_bn();
  Bn qinv = new_bn();
  if (BN_sub(p_minus_one.get(), p.get(), BN_value_one()) != 1 ||
      BN_sub(q_minus_one.get(), q.get(), BN_value_one()) != 1 ||
      BN_mod(dp.get(), d.get(), p_minus_one.get(), ctx.get()) != 1 ||
      BN_mod(dq.get(), d.get(), q_minus_one.get(), ctx.get()) != 1) {
    throw_openssl("BN_mod");
  }
  if (BN_mod_inverse(qinv.get(), q.get(), p.get(), ctx.get()) == nullptr) {
    ERR_clear_error();
    throw std::invalid_argument("RSA components are inconsistent");
  }

  ParamBld bld(OSSL_PARAM_BLD_new());
  if (!bld || OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, n.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, e.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_D, d.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_FACTOR1, p.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_FACTOR2, q.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_EXPONENT1, dp.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_EXPONENT2, dq.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_COEFFICIENT1, qinv.get()) != 1) {
    throw_openssl("OSSL_PARAM_BLD_push_BN");
  }
  Pkey pkey = pkey_from_params(bld.get(), EVP_PKEY_KEYPAIR);
  std::optional<RsaPrivateKey> key = from_pkey(pkey.release());
  if (!key) throw std::invalid_argument("RSA key outside the accepted sizes and exponents");
  return std::move(*key);
}

Bytes RsaPrivateKey::pkcs8_der() const {
  Pkcs8 p8(EVP_PKEY2PKCS8(state_->pkey.get()));
  if (!p8) throw_openssl("EVP_PKEY2PKCS8");
  const int der_len = i2d_PKCS8_PRIV_KEY_INFO(p8.get(), nullptr);
  if (der_len <= 0) throw_openssl("i2d_PKCS8_PRIV_KEY_INFO");
  Bytes der(static_cast<std::size_t>(der_len));
  unsigned char* out = der.data();
  if (i2d_PKCS8_PRIV_KEY_INFO(p8.get(), &out) != der_len) {
    OPENSSL_cleanse(der.data(), der.size());
    throw_openssl("i2d_PKCS8_PRIV_KEY_INFO");
  }
  return der;
}

const RsaPublicKey& RsaPrivateKey::public_key() const {
  return public_key_;
}

std::size_t RsaPrivateKey::modulus_bytes() const {
  return public_key_.modulus_bytes();
}

std::variant<Bytes, BlindSignError> RsaPrivateKey::blind_sign(
    std::span<const unsigned char> blinded_msg) const {
  const std::size_t k = modulus_bytes();
  if (blinded_msg.size() != k) return BlindSignError::wrong_length;
  // RFC 8017 §5.2.1 step 1. OpenSSL would refuse too, but only as an opaque error.
  if (!below(blinded_msg, public_key_.modulus())) return BlindSignError::not_below_modulus;

  // RSASP1: raw RSA, no padding. OpenSSL applies its own base blinding to the private
  // operation, the timing mitigation RFC 9474 §7.1 asks for.
  PkeyCtx sign_ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, state_->pkey.get(), nullptr));
  if (!sign_ctx) throw_openssl("EVP_PKEY_CTX_new_from_pkey");
  if (EVP_PKEY_sign_init(sign_ctx.get()) != 1 ||
      EVP_PKEY_CTX_set_rsa_padding(sign_ctx.get(), RSA_NO_PADDING) != 1) {
    throw_openssl("EVP_PKEY_sign_init(RSA_NO_PADDING)");
  }
  Bytes blind_sig(k);
  std::size_t sig_len = blind_sig.size();
  if (EVP_PKEY_sign(sign_ctx.get(), blind_sig.data(), &sig_len, blinded_msg.data(), k) != 1 ||
      sig_len != k) {
    throw_openssl("EVP_PKEY_sign(RSASP1)");
  }

  // RFC 9474 §4.3 steps 3–4: RSAVP1 must give the input back. A fault in the CRT
  // computation would otherwise hand the client a value that factors n.
  PkeyCtx verify_ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, public_key_.state_->pkey.get(), nullptr));
  if (!verify_ctx) throw_openssl("EVP_PKEY_CTX_new_from_pkey");
  if (EVP_PKEY_verify_recover_init(verify_ctx.get()) != 1 ||
      EVP_PKEY_CTX_set_rsa_padding(verify_ctx.get(), RSA_NO_PADDING) != 1) {
    throw_openssl("EVP_PKEY_verify_recover_init(RSA_NO_PADDING)");
  }
  Bytes recovered(k);
  std::size_t recovered_len = recovered.size();
  if (EVP_PKEY_verify_recover(verify_ctx.get(), recovered.data(), &recovered_len, blind_sig.data(),
                              blind_sig.size()) != 1 ||
      recovered_len != k || !constant_time_equal(recovered, blinded_msg)) {
    OPENSSL_cleanse(blind_sig.data(), blind_sig.size());
    ERR_clear_error();
    throw std::runtime_error("blind RSA: signing failure (RSAVP1 check)");
  }
  return blind_sig;
}

// ---- client side ----------------------------------------------------------------------

Bytes prepare(BlindRsaVariant variant, std::span<const unsigned char> msg) {
  if (!variant.randomized_prepare) return Bytes(msg.begin(), msg.end());
  Bytes prepared(kPreparePrefixLength + msg.size());
  random_bytes(std::span(prepared).first(kPreparePrefixLength));
  std::copy(msg.begin(), msg.end(), prepared.begin() + kPreparePrefixLength);
  return prepared;
}

Bytes emsa_pss_encode(std::span<const unsigned char> msg, std::size_t em_bits,
                      std::span<const unsigned char> salt) {
  // RFC 8017 §9.1.1 step 3.
  const std::size_t em_len = (em_bits + 7) / 8;
  if (em_len < kSha384Length + salt.size() + 2) {
    throw std::invalid_argument("EMSA-PSS: encoding error (modulus too small for salt)");
  }

  // Steps 2, 4–6: H = Hash(0x00 * 8 || Hash(M) || salt).
  Bytes m_prime(kPssPaddingLength + kSha384Length + salt.size(), 0);
  sha384(msg, m_prime.data() + kPssPaddingLength);
  std::copy(salt.begin(), salt.end(), m_prime.begin() + kPssPaddingLength + kSha384Length);
  Bytes em(em_len, 0);
  const std::size_t db_len = em_len - kSha384Length - 1;
  unsigned char* h = em.data() + db_len;
  sha384(m_prime, h);

  // Steps 7–10: DB = PS || 0x01 || salt, masked with MGF(H). PS is already zero.
  em[db_len - salt.size() - 1] = 0x01;
  std::copy(salt.begin(), salt.end(),
            em.begin() + static_cast<std::ptrdiff_t>(db_len - salt.size()));
  mgf1_sha384_xor(std::span<const unsigned char>(h, kSha384Length), std::span(em).first(db_len));

  // Step 11: clear the bits above em_bits so that EM, as an integer, stays below n.
  const std::size_t unused_bits = 8 * em_len - em_bits;
  em[0] &= static_cast<unsigned char>(0xff >> unused_bits);

  // Step 12.
  em[em_len - 1] = 0xbc;
  return em;
}

BlindResult blind(const RsaPublicKey& key, std::span<const unsigned char> prepared_msg,
                  BlindRsaVariant variant) {
  Bytes salt(variant.salt_length);
  random_bytes(salt);
  // RFC 8017 §8.1.1 step 1: emBits = modBits - 1, so a modulus of 8k + 1 bits gives an
  // encoded message one byte shorter than n.
  const Bytes encoded = emsa_pss_encode(prepared_msg, key.modulus_bits() - 1, salt);
  for (int attempt = 0; attempt < kMaxBlindAttempts; ++attempt) {
    Bytes r = random_below(key.modulus(), key.modulus_bits());
    std::optional<BlindResult> result = blind_encoded(key, encoded, r);
    OPENSSL_cleanse(r.data(), r.size());
    if (result) return std::move(*result);
  }
  throw std::runtime_error("blind RSA: no invertible blind found; the key is likely bad");
}

BlindResult blind_with(const RsaPublicKey& key, std::span<const unsigned char> prepared_msg,
                       std::span<const unsigned char> salt, std::span<const unsigned char> r) {
  const Bytes encoded = emsa_pss_encode(prepared_msg, key.modulus_bits() - 1, salt);
  std::optional<BlindResult> result = blind_encoded(key, encoded, r);
  if (!result) throw std::invalid_argument("blind RSA: r is not invertible mod n");
  return std::move(*result);
}

std::optional<Bytes> finalize(const RsaPublicKey& key, std::span<const unsigned char> prepared_msg,
                              std::span<const unsigned char> blind_sig,
                              std::span<const unsigned char> inv, BlindRsaVariant variant) {
  // RFC 9474 §4.4 step 1.
  const std::size_t k = key.modulus_bytes();
  if (blind_sig.size() != k || inv.size() != k) return std::nullopt;
  if (!below(blind_sig, key.modulus()) || !below(inv, key.modulus())) return std::nullopt;

  BnCtx ctx = new_bn_ctx();
  Bn n = os2ip(key.modulus());
  Bn z = os2ip(blind_sig);
  Bn inverse = os2ip(inv);
  BN_set_flags(inverse.get(), BN_FLG_CONSTTIME);
  Bn s = new_bn();
  // Step 3.
  if (BN_mod_mul(s.get(), z.get(), inverse.get(), n.get(), ctx.get()) != 1) {
    throw_openssl("BN_mod_mul");
  }
  Bytes sig = i2osp(s.get(), k);
  // Steps 5–6: a server that signed with another key, or not at all, is caught here.
  if (!key.verify_pss(prepared_msg, sig, variant.salt_length)) return std::nullopt;
  return sig;
}

}  // namespace observernet::crypto
