#include "observernet/service/token_issuer.hpp"

#include <prometheus/counter.h>
#include <prometheus/registry.h>

#include <algorithm>

#include "observernet/domain/voters.hpp"
#include "observernet/error.hpp"
#include "observernet/service/token_keys.hpp"
#include "observernet/service/voting_elections.hpp"
#include "observernet/store/voting.hpp"
#include "observernet/util/worker_pool.hpp"

namespace observernet::service {
namespace {

using boost::asio::awaitable;

// RFC 8017 §5.2.1: a representative must be below the modulus. Both big-endian, of
// equal length (the modulus has its top byte set).
bool below_modulus(std::span<const unsigned char> value, const crypto::RsaPublicKey& key) {
  return std::ranges::lexicographical_compare(value, key.modulus());
}

Error no_election() {
  return Error(ErrorCode::not_found, "No election with this id.");
}

}  // namespace

TokenIssuer::TokenIssuer(ElectionLookup& elections, SigningKeys* keys, store::TokenLedger& ledger,
                         util::WorkerPool& crypto, std::string voter_pepper,
                         prometheus::Registry& registry)
    : elections_(elections),
      keys_(keys),
      ledger_(ledger),
      crypto_(crypto),
      pepper_(std::move(voter_pepper)),
      issued_(prometheus::BuildCounter()
                  .Name("tokens_issued_total")
                  .Help("Voting tokens issued (blind signatures made for new voters)")
                  .Register(registry)
                  .Add({})) {}

awaitable<std::shared_ptr<const VotingElection>> TokenIssuer::key_of(const std::string& id) {
  auto entry = co_await elections_.find(id);
  if (!entry || entry->election.status == domain::ElectionStatus::draft) throw no_election();
  co_return entry;
}

awaitable<TokenGrant> TokenIssuer::issue(TokenRequest request) {
  // Such a process does not route the token request here (app/app.cpp): this is a
  // second line, before the pepper or a key is asked for.
  if (keys_ == nullptr) {
    throw Error(ErrorCode::internal_error, "This server does not issue tokens.", {},
                "a token request reached a process without the master key");
  }
  const std::string& id = request.election_id;
  const crypto::Bytes& blinded = request.blinded_message;
  auto entry = co_await elections_.find(id);
  if (!entry) throw no_election();
  const auto& key = entry->public_key();
  if (blinded.size() != key.modulus_bytes()) {
    throw Error(ErrorCode::bad_request,
                "blindedMessage must be exactly " + std::to_string(key.modulus_bytes()) +
                    " bytes, the length of the election's modulus.",
                {{"blindedMessage", "wrong length"}});
  }
  if (!below_modulus(blinded, key)) {
    throw Error(ErrorCode::bad_request,
                "blindedMessage must be smaller than the election's modulus.",
                {{"blindedMessage", "not below the modulus"}});
  }

  const auto voter = domain::voter_hash(pepper_, id, request.voter_id);
  auto state = co_await ledger_.token_state(id, voter);
  if (state.status != domain::ElectionStatus::open) {
    throw Error(ErrorCode::election_not_open, "The election is not open for voting.");
  }
  // The same work whether or not the voter exists: one answer for both mistakes.
  const crypto::Digest typed = crypto::sha256(domain::normalize_credential(request.credential));
  const crypto::Digest stored = state.credential_hash.value_or(crypto::Digest{});
  if (!crypto::constant_time_equal(typed, stored) || !state.credential_hash) {
    throw Error(ErrorCode::invalid_credentials, "Unknown voterId or wrong credential.")
        .with_header("WWW-Authenticate", "Credential realm=\"voting\"");
  }
  const crypto::Digest blinded_hash = crypto::sha256(blinded);
  auto grant = [&](const store::TokenIssuance& issued) {
    if (issued.blinded_message_hash != blinded_hash) {
      throw Error(ErrorCode::token_already_issued,
                  "This voter already has a token, for another blinded message.");
    }
    return TokenGrant{issued.blind_signature, entry->key_id};
  };
  // A retry after a lost response: the same answer, nothing signed again.
  if (state.issued) co_return grant(*state.issued);

  // Only here is the private key unsealed, once per election and process.
  const auto signing_key = co_await keys_->signing_key(id, key);
  auto signed_or_error = co_await crypto_.run([&] { return signing_key->blind_sign(blinded); });
  if (auto* e = std::get_if<crypto::BlindSignError>(&signed_or_error)) {
    throw Error(
        ErrorCode::bad_request, "blindedMessage cannot be signed.",
        {{"blindedMessage",
          *e == crypto::BlindSignError::wrong_length ? "wrong length" : "not below the modulus"}});
  }
  store::TokenIssuance mine{blinded_hash, std::move(std::get<crypto::Bytes>(signed_or_error))};
  auto recorded = co_await ledger_.record_token(id, voter, mine);
  if (recorded.recorded_now) issued_.Increment();
  co_return grant(recorded);
}

}  // namespace observernet::service
