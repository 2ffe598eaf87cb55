#pragma once
// Voting tokens (docs/formats.md, Tokens): the election's public token key, and one
// blind signature per registered voter, issued while the election is open. A retry
// with the same blinded message gets the same signature; another is refused. The
// voter's credential is compared in constant time, and an unknown voter costs the same
// work as a wrong credential.
#include <boost/asio/awaitable.hpp>
#include <memory>
#include <string>

#include "observernet/crypto/hash.hpp"

namespace prometheus {
class Counter;
class Registry;
}  // namespace prometheus
namespace observernet::store {
class TokenLedger;
}
namespace observernet::util {
class WorkerPool;
}

namespace observernet::service {

class ElectionLookup;
class SigningKeys;
struct VotingElection;

// A token request as parsed from its body (api/requests.hpp).
struct TokenRequest {
  std::string election_id;  // lower-case UUID
  std::string voter_id;
  std::string credential;
  crypto::Bytes blinded_message;
};

struct TokenGrant {
  crypto::Bytes blind_signature;
  std::string key_id;
};

class TokenIssuer {
 public:
  // `keys` and `voter_pepper`: null and empty in a process that signs no tokens
  // (http.routes = api), which serves the token key but never issue().
  TokenIssuer(ElectionLookup& elections, SigningKeys* keys, store::TokenLedger& ledger,
              util::WorkerPool& crypto, std::string voter_pepper, prometheus::Registry& registry);

  // The election whose token key is public: any but a draft. Throws Error(not_found).
  boost::asio::awaitable<std::shared_ptr<const VotingElection>> key_of(const std::string& id);

  // Throws Error: not_found, bad_request (a blinded message that is not one for this
  // key), election_not_open, invalid_credentials, token_already_issued; internal_error
  // in a process without signing keys.
  boost::asio::awaitable<TokenGrant> issue(TokenRequest request);

 private:
  ElectionLookup& elections_;
  SigningKeys* const keys_;
  store::TokenLedger& ledger_;
  util::WorkerPool& crypto_;
  const std::string pepper_;
  prometheus::Counter& issued_;
};

}  // namespace observernet::service
