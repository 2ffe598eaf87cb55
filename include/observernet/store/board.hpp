#pragma once
// The bulletin board's Merkle logs in PostgreSQL (docs/architecture.md, The bulletin
// board). The group commit stages accepted ballots in ballots_staged; a sequencing pass
// whose set is due (domain/publication.hpp) takes them all, shuffles them with the
// CSPRNG, moves them to ballots in that order, gives them the next leaf indexes, extends
// the tree from its stored right edge (crypto::CompactRange) and stores the leaves, the
// new edge and a signed tree head, all in one transaction, under the lock of the
// election's `logs` row, so a crash leaves the old state or the new one and no leaf
// index is given twice. See migrations 0005 and 0006.
#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "observernet/crypto/ed25519.hpp"
#include "observernet/crypto/hash.hpp"
#include "observernet/domain/publication.hpp"
#include "observernet/domain/tree_head.hpp"

namespace pqxx {
class transaction_base;
}

namespace observernet::store {

class PgPool;
class PgReads;
class PgConnection;

// Leaf hashes [first_index, first_index + leaf_hashes.size()) of a log.
struct LogChunk {
  std::uint64_t first_index = 0;
  std::vector<crypto::Digest> leaf_hashes;
};

struct SequencerPass {
  std::uint64_t sequenced = 0;  // ballots given leaf indexes by this pass
  std::uint64_t pending = 0;    // ballots waiting when the pass began
  double lag_seconds = 0;       // how long the oldest of them had been seen waiting
};

// A voter on the public roll: the first roll commitment that covers them (1: the opening's)
// and their voter hash.
struct RollEntry {
  int commitment = 0;
  crypto::Digest voter_hash{};
};

// An election's ballots waiting for publication.
struct Waiting {
  std::uint64_t ballots = 0;
  std::optional<domain::TimePoint> since;  // when the sequencer first saw them, to the second
};

class BoardStore {
 public:
  // Sequencing on `db`'s primary; the public reads (waiting, and from latest_tree_head on)
  // on a fresh replica when there is one (store/pg_reads.hpp).
  BoardStore(PgReads& db, crypto::Ed25519PrivateKey log_key, domain::PublicationPolicy policy);

  const crypto::Ed25519PublicKey& log_key() const { return log_key_.public_key(); }
  const domain::PublicationPolicy& policy() const { return policy_; }

  // In the caller's transaction, which holds the election's row lock (open, close):
  // creates the election's log with a signed empty tree head if it has none, sequences
  // every ballot waiting, and returns the newest tree head. Waits for a sequencer pass
  // holding the log.
  domain::TreeHead sequence_locked(PgConnection& c, pqxx::transaction_base& tx,
                                   const std::string& election_id);

  // One sequencer pass: each election whose waiting ballots the policy says are due
  // (domain/publication.hpp) is published in a transaction of its own; an election
  // whose log another process is extending is left to that process. For the others,
  // the pass notes when it first saw their ballots waiting.
  boost::asio::awaitable<SequencerPass> sequence_pending();
  boost::asio::awaitable<Waiting> waiting(std::string election_id);

  boost::asio::awaitable<std::optional<domain::TreeHead>> latest_tree_head(std::string election_id);
  // The leaves [from, from + leaves) of the log, as the parts of its chunks that hold
  // them, in leaf order: a page of a log, at most `leaves` hashes however large the
  // chunks stored, so that loading a log never holds more than a page besides it.
  // `tree_size`: a tree head's, read before: a replica holding fewer of the leaves below
  // it than the page asks for is behind, and the page is read on the primary.
  boost::asio::awaitable<std::vector<LogChunk>> chunks_from(std::string election_id,
                                                            std::uint64_t from,
                                                            std::uint64_t leaves,
                                                            std::uint64_t tree_size);
  // The stored leaf (RFC 8785 text) of each receipt, in the same order; throws if one
  // is missing.
  boost::asio::awaitable<std::vector<std::string>> leaves(std::vector<crypto::Digest> receipts);

  // The election's roll in (commitment, voter hash) order, from just after `after`
  // (docs/security.md, Issuance transparency); drafts are the caller's to refuse.
  boost::asio::awaitable<std::vector<RollEntry>> roll_page(std::string election_id, RollEntry after,
                                                           std::uint64_t limit);
  // The published voter hashes issued a token, ascending, from just after `after`.
  boost::asio::awaitable<std::vector<crypto::Digest>> issued_page(std::string election_id,
                                                                  crypto::Digest after,
                                                                  std::uint64_t limit);

 private:
  struct Sequenced {
    domain::TreeHead head;    // the newest
    std::uint64_t added = 0;  // leaves this call appended
  };
  // nullopt: skip_locked, and another transaction holds the log.
  std::optional<Sequenced> sequence(PgConnection& c, pqxx::transaction_base& tx,
                                    const std::string& election_id, bool skip_locked);

  PgPool& pool_;
  PgReads& reads_;
  crypto::Ed25519PrivateKey log_key_;
  const domain::PublicationPolicy policy_;
  std::uint64_t published_since_vacuum_ = 0;  // sequence_pending's, one pass at a time
};

}  // namespace observernet::store
