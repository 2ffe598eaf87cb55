#pragma once
// The elections' RSA token keys (docs/security.md, Keys). A key is generated when its
// election is created and its private half sealed there with the master key, the
// election's id as associated data, so that a sealed key moved to another election's row
// does not open. The private half is unsealed again only to sign a token: a process that
// never serves the token route never holds one in the clear, which
// token_keys_unsealed_total shows. Everything else uses the public key
// (service/voting_elections.hpp).
#include <boost/asio/awaitable.hpp>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "observernet/crypto/blind_rsa.hpp"
#include "observernet/store/voting.hpp"

namespace prometheus {
class Counter;
class Registry;
}  // namespace prometheus
namespace observernet::util {
class WorkerPool;
}

namespace observernet::service {

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

class TokenKeys final : public SigningKeys {
 public:
  TokenKeys(store::VotingStore& voting, util::WorkerPool& crypto, crypto::Bytes master_key,
            unsigned key_bits, prometheus::Registry& registry);
  ~TokenKeys() override;

  // A fresh key for the election about to be created as `election_id`, generated on the
  // crypto workers and sealed there.
  boost::asio::awaitable<store::NewTokenKey> generate(std::string election_id);

  boost::asio::awaitable<std::shared_ptr<const crypto::RsaPrivateKey>> signing_key(
      const std::string& election_id, const crypto::RsaPublicKey& expected) override;

 private:
  store::VotingStore& voting_;
  util::WorkerPool& crypto_;
  crypto::Bytes master_key_;
  const unsigned key_bits_;
  prometheus::Counter& unsealed_;
  std::mutex mutex_;
  std::unordered_map<std::string, std::shared_ptr<const crypto::RsaPrivateKey>> keys_;
};

}  // namespace observernet::service
