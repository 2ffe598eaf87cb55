#include "observernet/service/token_keys.hpp"

#include <openssl/crypto.h>
#include <prometheus/counter.h>
#include <prometheus/registry.h>

#include "observernet/crypto/aead.hpp"
#include "observernet/error.hpp"
#include "observernet/util/worker_pool.hpp"

namespace observernet::service {
namespace {

using boost::asio::awaitable;

// Key material is wiped where the compiler cannot skip it.
void wipe(crypto::Bytes& bytes) {
  OPENSSL_cleanse(bytes.data(), bytes.size());
}

Error unusable(const std::string& id, const std::string& why) {
  return Error(ErrorCode::internal_error, "The election's token key cannot be used.", {},
               "the token key of election " + id + " " + why);
}

}  // namespace

crypto::Bytes seal_token_key(const crypto::X25519Key& sealing_key,
                             std::span<const unsigned char> pkcs8_der,
                             const std::string& election_id) {
  return crypto::seal_to(sealing_key, pkcs8_der, crypto::as_bytes(election_id));
}

std::optional<crypto::Bytes> unseal_token_key(std::span<const unsigned char> master_key,
                                              std::span<const unsigned char> sealing_private,
                                              std::span<const unsigned char> sealed,
                                              const std::string& election_id) {
  const auto aad = crypto::as_bytes(election_id);
  // Both are authenticated: a value of one format never opens as the other, so trying
  // both needs no marker in the stored value.
  if (auto der = crypto::open_sealed(sealing_private, sealed, aad)) return der;
  return crypto::aes256gcm_open(master_key, sealed, aad);
}

prometheus::Counter& unsealed_keys_counter(prometheus::Registry& registry) {
  return prometheus::BuildCounter()
      .Name("token_keys_unsealed_total")
      .Help("Election token keys this process unsealed to sign tokens")
      .Register(registry)
      .Add({});
}

TokenKeySealer::TokenKeySealer(util::WorkerPool& crypto, const crypto::X25519Key& sealing_key,
                               unsigned key_bits)
    : crypto_(crypto), sealing_key_(sealing_key), key_bits_(key_bits) {}

awaitable<store::NewTokenKey> TokenKeySealer::generate(std::string election_id) {
  co_return co_await crypto_.run([this, &election_id] {
    auto key = crypto::RsaPrivateKey::generate(key_bits_);
    store::NewTokenKey out;
    out.key_id = key.public_key().key_id();
    out.modulus_bits = static_cast<int>(key.public_key().modulus_bits());
    out.public_key = key.public_key().spki_der();
    crypto::Bytes der = key.pkcs8_der();
    out.private_key_sealed = seal_token_key(sealing_key_, der, election_id);
    wipe(der);
    return out;
  });
}

TokenKeys::TokenKeys(store::VotingStore& voting, crypto::Bytes master_key,
                     prometheus::Counter& unsealed)
    : voting_(voting),
      master_key_(std::move(master_key)),
      sealing_private_(sealing_private_key(master_key_)),
      unsealed_(unsealed) {}

TokenKeys::~TokenKeys() {
  wipe(master_key_);
  wipe(sealing_private_);
}

awaitable<std::shared_ptr<const crypto::RsaPrivateKey>> TokenKeys::signing_key(
    const std::string& election_id, const crypto::RsaPublicKey& expected) {
  {
    std::lock_guard lock(mutex_);
    if (auto it = keys_.find(election_id); it != keys_.end()) co_return it->second;
  }
  auto record = co_await voting_.token_key(election_id);
  if (!record) throw unusable(election_id, "is missing from election_keys");
  auto der =
      unseal_token_key(master_key_, sealing_private_, record->private_key_sealed, election_id);
  if (!der) throw unusable(election_id, "does not open with the configured auth.master_key");
  auto key = crypto::RsaPrivateKey::from_pkcs8_der(*der);
  wipe(*der);
  if (!key || !(key->public_key() == expected)) {
    throw unusable(election_id, "does not match its public key");
  }
  auto shared = std::make_shared<const crypto::RsaPrivateKey>(std::move(*key));
  std::lock_guard lock(mutex_);
  auto [it, added] = keys_.emplace(election_id, std::move(shared));
  if (added) unsealed_.Increment();
  co_return it->second;
}

}  // namespace observernet::service
