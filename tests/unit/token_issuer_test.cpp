// Token issuance's rules without PostgreSQL: an election lookup and a token ledger of the
// test's own stand behind their interfaces (service/voting_elections.hpp,
// store/voting.hpp); the blind signature is real, and the voter's client finalizes it.
#include "observernet/service/token_issuer.hpp"

#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include <map>

#include "observernet/crypto/blind_rsa.hpp"
#include "observernet/domain/voters.hpp"
#include "observernet/error.hpp"
#include "observernet/store/voting.hpp"
#include "observernet/util/worker_pool.hpp"
#include "service_fakes.hpp"

namespace observernet::service {
namespace {

namespace asio = boost::asio;
using crypto::Bytes;
using fakes::election_key;
using fakes::kElectionId;
using fakes::OneElection;

constexpr const char* kPepper = "pepper";

// The roll and the issued tokens, keyed by voter hash as the database keys them; a
// voter's first recorded token stays, as the primary key keeps it.
class MemoryLedger final : public store::TokenLedger {
 public:
  explicit MemoryLedger(domain::ElectionStatus status) : status_(status) {}

  void add_voter(const std::string& voter_id, const std::string& credential) {
    voters_[domain::voter_hash(kPepper, kElectionId, voter_id)].credential =
        crypto::sha256(domain::normalize_credential(credential));
  }

  asio::awaitable<store::TokenRequestState> token_state(std::string election_id,
                                                        crypto::Digest voter) override {
    if (election_id != kElectionId) throw Error(ErrorCode::not_found, "No election.");
    store::TokenRequestState state{status_, {}, {}};
    if (auto it = voters_.find(voter); it != voters_.end()) {
      state.credential_hash = it->second.credential;
      state.issued = it->second.issued;
    }
    co_return state;
  }

  asio::awaitable<store::TokenIssuance> record_token(std::string, crypto::Digest voter,
                                                     store::TokenIssuance issuance) override {
    auto& row = voters_.at(voter);
    if (!row.issued) {
      ++records;
      row.issued = issuance;
      row.issued->recorded_now = true;
      co_return *row.issued;
    }
    store::TokenIssuance earlier = *row.issued;
    earlier.recorded_now = false;
    co_return earlier;
  }

  int records = 0;

 private:
  struct Voter {
    crypto::Digest credential{};
    std::optional<store::TokenIssuance> issued;
  };
  domain::ElectionStatus status_;
  std::map<crypto::Digest, Voter> voters_;
};

// What a voter's client sends and keeps (docs/formats.md, Tokens).
struct Blinded {
  Bytes prepared;
  crypto::BlindResult blind;
};

Blinded blinded_token() {
  Bytes message(32);
  crypto::random_bytes(message);
  Bytes prepared = crypto::prepare(crypto::kSha384PssDeterministic, message);
  auto blind =
      crypto::blind(election_key().public_key(), prepared, crypto::kSha384PssDeterministic);
  return {std::move(prepared), std::move(blind)};
}

class TokenIssuerTest : public ::testing::Test {
 protected:
  TokenIssuerTest() { ledger.add_voter("v-1", "ABCD-EFGH"); }

  TokenRequest request(const Bytes& blinded, std::string voter = "v-1",
                       std::string credential = "ABCD-EFGH") {
    return {kElectionId, std::move(voter), std::move(credential), blinded};
  }
  TokenGrant issue(ElectionLookup& lookup, TokenRequest r) {
    TokenIssuer issuer(lookup, &keys, ledger, workers, kPepper, registry);
    return fakes::run(issuer.issue(std::move(r)));
  }
  ErrorCode refusal(ElectionLookup& lookup, TokenRequest r) {
    TokenIssuer issuer(lookup, &keys, ledger, workers, kPepper, registry);
    return fakes::refusal(issuer.issue(std::move(r)));
  }

  prometheus::Registry registry;
  util::WorkerPool workers{"test", 1, 16, registry};
  MemoryLedger ledger{domain::ElectionStatus::open};
  OneElection open{domain::ElectionStatus::open};
  fakes::OneSigningKey keys;
};

TEST_F(TokenIssuerTest, ARegisteredVoterGetsASignatureTheirClientFinalizes) {
  Blinded t = blinded_token();
  TokenGrant grant = issue(open, request(t.blind.blinded_msg));
  EXPECT_EQ(grant.key_id, "key-1");
  EXPECT_EQ(ledger.records, 1);
  auto signature = crypto::finalize(election_key().public_key(), t.prepared, grant.blind_signature,
                                    t.blind.inv, crypto::kSha384PssDeterministic);
  EXPECT_TRUE(signature.has_value());
}

TEST_F(TokenIssuerTest, ARetryGetsTheSameSignatureAndAnotherMessageIsRefused) {
  Blinded t = blinded_token();
  TokenGrant first = issue(open, request(t.blind.blinded_msg));
  TokenGrant again = issue(open, request(t.blind.blinded_msg));
  EXPECT_EQ(again.blind_signature, first.blind_signature);
  EXPECT_EQ(ledger.records, 1);
  EXPECT_EQ(keys.asked, 1) << "a retry is answered from the ledger, with no signing";
  EXPECT_EQ(refusal(open, request(blinded_token().blind.blinded_msg)),
            ErrorCode::token_already_issued);
}

TEST_F(TokenIssuerTest, AnUnknownVoterAndAWrongCredentialGetTheSameAnswer) {
  Blinded t = blinded_token();
  EXPECT_EQ(refusal(open, request(t.blind.blinded_msg, "v-2")), ErrorCode::invalid_credentials);
  EXPECT_EQ(refusal(open, request(t.blind.blinded_msg, "v-1", "ABCD-EFGX")),
            ErrorCode::invalid_credentials);
  EXPECT_EQ(ledger.records, 0);
  EXPECT_EQ(keys.asked, 0) << "no key is unsealed for a refused request";
}

TEST_F(TokenIssuerTest, TheCredentialIsComparedAsNormalized) {
  Blinded t = blinded_token();
  EXPECT_NO_THROW(issue(open, request(t.blind.blinded_msg, "v-1", "abcd efgh")));
}

TEST_F(TokenIssuerTest, OnlyAnOpenElectionIssuesTokens) {
  MemoryLedger closed{domain::ElectionStatus::closed};
  closed.add_voter("v-1", "ABCD-EFGH");
  TokenIssuer issuer(open, &keys, closed, workers, kPepper, registry);
  EXPECT_EQ(fakes::refusal(issuer.issue(request(blinded_token().blind.blinded_msg))),
            ErrorCode::election_not_open);
  auto other = request(blinded_token().blind.blinded_msg);
  other.election_id = "00000000-0000-4000-8000-000000000000";
  EXPECT_EQ(refusal(open, other), ErrorCode::not_found);
}

TEST_F(TokenIssuerTest, ABlindedMessageOutsideTheModulusIsABadRequest) {
  Bytes too_short(election_key().public_key().modulus_bytes() - 1, 0x01);
  EXPECT_EQ(refusal(open, request(too_short)), ErrorCode::bad_request);
  Bytes at_modulus = election_key().public_key().modulus();
  EXPECT_EQ(refusal(open, request(at_modulus)), ErrorCode::bad_request);
  EXPECT_EQ(ledger.records, 0);
}

TEST_F(TokenIssuerTest, ADraftHasNoPublicKey) {
  OneElection draft{domain::ElectionStatus::draft};
  TokenIssuer drafts(draft, &keys, ledger, workers, kPepper, registry);
  EXPECT_EQ(fakes::refusal(drafts.key_of(kElectionId)), ErrorCode::not_found);
  TokenIssuer opens(open, &keys, ledger, workers, kPepper, registry);
  EXPECT_EQ(fakes::run(opens.key_of(kElectionId))->key_id, "key-1");
}

// A process without the master key (http.routes = api) serves the token key but signs
// nothing: issue() refuses before the ledger or a key is asked for.
TEST_F(TokenIssuerTest, WithoutSigningKeysTheKeyIsServedAndNoTokenIssued) {
  TokenIssuer api(open, nullptr, ledger, workers, "", registry);
  EXPECT_EQ(fakes::run(api.key_of(kElectionId))->key_id, "key-1");
  EXPECT_EQ(fakes::refusal(api.issue(request(blinded_token().blind.blinded_msg))),
            ErrorCode::internal_error);
  EXPECT_EQ(ledger.records, 0);
  EXPECT_EQ(keys.asked, 0);
}

}  // namespace
}  // namespace observernet::service
