#pragma once
// The elections' RSA token keys (docs/security.md, Keys). A key is generated when its
// election is created, on the API pods, and its private half sealed there to the sealing
// key, an X25519 public key (crypto/sealed_box.hpp), the election's id as associated
// data, so that a sealed key moved to another election's row does not open. The API
// pods hold only the public half of the sealing key. Its private half is derived from
// the master key, which only the processes that sign tokens hold: they unseal a key
// again only to sign a token, which token_keys_unsealed_total shows. Everything else
// uses the public key (service/voting_elections.hpp).
#include <boost/asio/awaitable.hpp>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>

#include "observernet/crypto/blind_rsa.hpp"
#include "observernet/crypto/sealed_box.hpp"
#include "observernet/store/voting.hpp"

namespace prometheus {
class Counter;
class Registry;
}  // namespace prometheus
namespace observernet::util {
class WorkerPool;
}

namespace observernet::service {

// HKDF's info deriving the sealing key's private half from the master key: the X25519
// private key is HKDF-SHA256(IKM = master key, no salt, info = this, 32 bytes). Fixed:
// changing it would leave every sealed key unopenable (docs/formats.md, Sealed token
// keys).
inline constexpr std::string_view kSealingKeyInfo = "observernet token key sealing v1";

// The sealing key's private half, from the 32-byte master key. The caller wipes it.
crypto::Bytes sealing_private_key(std::span<const unsigned char> master_key);
// Its public half: what `observernet sealing-key` prints and auth.sealing_public_key holds.
crypto::X25519Key sealing_public_key(std::span<const unsigned char> master_key);

// The private key's PKCS#8 DER sealed to `sealing_key` for the election `election_id`.
crypto::Bytes seal_token_key(const crypto::X25519Key& sealing_key,
                             std::span<const unsigned char> pkcs8_der,
                             const std::string& election_id);
// The PKCS#8 DER of a sealed token key, or nullopt if it does not open for `election_id`.
// Two formats open: sealed to the sealing key, and the one this server wrote before
// there was a sealing key, AES-256-GCM directly under the master key, which elections
// created then still hold.
std::optional<crypto::Bytes> unseal_token_key(std::span<const unsigned char> master_key,
                                              std::span<const unsigned char> sealing_private,
                                              std::span<const unsigned char> sealed,
                                              const std::string& election_id);

// token_keys_unsealed_total, in every process that serves the API: 0 where no key can
// be unsealed.
prometheus::Counter& unsealed_keys_counter(prometheus::Registry& registry);

// What the election's creation asks for: a fresh key, its private half sealed. Holds no
// secret, only the sealing key's public half.
class TokenKeySealer {
 public:
  TokenKeySealer(util::WorkerPool& crypto, const crypto::X25519Key& sealing_key, unsigned key_bits);

  // A fresh key for the election about to be created as `election_id`, generated on the
  // crypto workers and sealed there.
  boost::asio::awaitable<store::NewTokenKey> generate(std::string election_id);

 private:
  util::WorkerPool& crypto_;
  const crypto::X25519Key sealing_key_;
  const unsigned key_bits_;
};

// What token issuance asks for: the private key behind an election's published key. The
// seam its unit tests fill with a key of their own.
class SigningKeys {
 public:
  virtual ~SigningKeys() = default;
  // The private key of `election_id`, whose public half is `expected`. Throws
  // Error(internal_error) when it cannot be had (no key, a wrong master key, a key
  // that does not match).
  virtual boost::asio::awaitable<std::shared_ptr<const crypto::RsaPrivateKey>> signing_key(
      const std::string& election_id, const crypto::RsaPublicKey& expected) = 0;
};

// The unsealing side, built only in processes that sign tokens: it holds the master key.
class TokenKeys final : public SigningKeys {
 public:
  // `unsealed`: unsealed_keys_counter's.
  TokenKeys(store::VotingStore& voting, crypto::Bytes master_key, prometheus::Counter& unsealed);
  ~TokenKeys() override;

  boost::asio::awaitable<std::shared_ptr<const crypto::RsaPrivateKey>> signing_key(
      const std::string& election_id, const crypto::RsaPublicKey& expected) override;

 private:
  store::VotingStore& voting_;
  crypto::Bytes master_key_;
  crypto::Bytes sealing_private_;
  prometheus::Counter& unsealed_;
  std::mutex mutex_;
  std::unordered_map<std::string, std::shared_ptr<const crypto::RsaPrivateKey>> keys_;
};

}  // namespace observernet::service
