#pragma once
//
// "One token per voter" and "one ballot per token" are primary keys, so they hold with
// any number of pods; nothing here stores a voter next to a token or a ballot.
#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "observernet/crypto/hash.hpp"
#include "observernet/domain/ballot.hpp"
#include "observernet/domain/election.hpp"
#include "observernet/error.hpp"

namespace observernet::store {

class PgPool;
class PgReads;

struct TokenKeyRecord {
  std::string key_id;  // hex SHA-256 of public_key
  int modulus_bits = 0;
  crypto::Bytes public_key;  // SPKI DER
  crypto::Bytes private_key_sealed;
};

// The token key ElectionStore::create stores with a new election: its private key
// already sealed, with the election's id as the sealing's associated data.
struct NewTokenKey {
  std::string key_id;
  int modulus_bits = 0;
  crypto::Bytes public_key;
  crypto::Bytes private_key_sealed;
};

struct TokenIssuance {
  crypto::Digest blinded_message_hash{};
  crypto::Bytes blind_signature;
  bool recorded_now = false;  // set by record_token: this call stored it
};

// What a token request needs to know, read in one round trip.
struct TokenRequestState {
  domain::ElectionStatus status = domain::ElectionStatus::draft;
  std::optional<crypto::Digest> credential_hash;  // absent: no such voter
  std::optional<TokenIssuance> issued;            // the voter's token, if one was issued
};

// An accepted ballot on its way to the group commit.
struct PendingBallot {
  std::string election_id;  // lowercase
  crypto::Bytes token_message;
  std::string leaf;  // RFC 8785 text: selections and token signature are read from it
  crypto::Digest receipt{};
};

enum class BallotOutcome {
  accepted,            // committed now: 201
  duplicate,           // the same ballot was committed before: 200, same receipt
  token_already_used,  // another ballot holds this token: 409
  election_not_open,   // 409
  election_busy,       // being opened or closed this moment: 503, retried (election_busy())
};

// What a batch found of one of its elections, under its lock (store/voting.cpp).
enum class BatchElection {
  open,
  not_open,  // closed since the request read its state
  busy,      // being opened or closed: a transaction holds its row
};

// The answer to a request whose election was busy: 503 with Retry-After.
Error election_busy();

struct BallotWriteResult {
  BallotOutcome outcome = BallotOutcome::election_not_open;
  domain::TimePoint accepted_at{};  // the minute of this answer; nothing stores it
};

// A token signed for a voter, on its way to the group commit.
struct PendingIssuance {
  std::string election_id;  // lowercase
  crypto::Digest voter_hash{};
  TokenIssuance issuance;
};

struct IssuanceWriteResult {
  BatchElection election = BatchElection::not_open;
  TokenIssuance recorded;  // when open: this one (recorded_now) or an earlier
};

// A stored ballot's election, and whether it still waits for its set's publication.
struct ReceiptStatus {
  std::string election_id;
  bool staged = false;
};

// Where token issuance reads a voter's state and records the one token a voter gets
// (service/token_issuer.hpp). IssuanceWriter is the real one (store/issuance_writer.hpp);
// tests hold their own.
class TokenLedger {
 public:
  virtual ~TokenLedger() = default;
  // Throws Error(not_found) when the election does not exist.
  virtual boost::asio::awaitable<TokenRequestState> token_state(std::string election_id,
                                                                crypto::Digest voter_hash) = 0;
  // Records the voter's token unless one is already recorded; returns what is recorded
  // afterwards (this one, or the earlier one a concurrent request stored first). Throws
  // Error(election_not_open) when the election closed in the meantime.
  virtual boost::asio::awaitable<TokenIssuance> record_token(std::string election_id,
                                                             crypto::Digest voter_hash,
                                                             TokenIssuance issuance) = 0;
};

class VotingStore {
 public:
  // Writes, and the reads that must see them, on `db`'s primary; the public reads on a
  // fresh replica when there is one (store/pg_reads.hpp).
  explicit VotingStore(PgReads& db);

  boost::asio::awaitable<std::optional<TokenKeyRecord>> token_key(std::string election_id);
  // Throws Error(not_found) when the election does not exist.
  boost::asio::awaitable<TokenRequestState> token_state(std::string election_id,
                                                        crypto::Digest voter_hash);

  // The group commit of token issuances: one transaction for the batch, under the same
  // share locks as ballots'. Records each voter's token unless one is recorded already
  // (another request's, maybe in the same batch: the first in the batch wins), and
  // answers what is recorded afterwards. Blocking; results in the batch's order.
  std::vector<IssuanceWriteResult> write_issuances(std::span<const PendingIssuance> batch);

  // The group commit: one transaction for the whole batch, with the elections' rows
  // share-locked so that a close either waits for it or is seen by it. Blocking (runs
  // on the caller's thread with a pooled connection); results in the batch's order.
  std::vector<BallotWriteResult> write_ballots(std::span<const PendingBallot> batch);

  // On the primary: what an election's change has just made (PublicElections::publish).
  boost::asio::awaitable<std::int64_t> ballots_cast(std::string election_id);

  // Public reads from here on.
  boost::asio::awaitable<std::optional<ReceiptStatus>> find_receipt(crypto::Digest receipt);
  // Counted in a snapshot where the election is at `version` or later: the results of a
  // closed election count every ballot its close let in.
  boost::asio::awaitable<domain::Tally> tally(std::string election_id, std::int64_t version);
  // Ballots per election for a page of elections (absent: none).
  boost::asio::awaitable<std::map<std::string, std::int64_t>> ballots_cast(
      std::vector<std::string> election_ids);

 private:
  PgPool& pool_;
  PgReads& reads_;
};

}  // namespace observernet::store
