#pragma once
// The bulletin board's reads (docs/api/README.md, Bulletin board): the newest signed tree
// head, ballots in leaf order, inclusion and consistency proofs (docs/formats.md), and a
// receipt's status. Everything comes from this process's copy of each log
// (service/election_logs.hpp) but the leaves' text and the receipt lookup.
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "observernet/crypto/ed25519.hpp"
#include "observernet/crypto/hash.hpp"
#include "observernet/domain/election.hpp"
#include "observernet/domain/tree_head.hpp"
#include "observernet/store/board.hpp"

namespace observernet::store {
class VotingStore;
}  // namespace observernet::store

namespace observernet::service {

class ElectionLookup;
class ElectionLogs;

struct InclusionProof {
  std::uint64_t leaf_index = 0;
  std::uint64_t tree_size = 0;
  std::vector<crypto::Digest> audit_path;
};

struct ConsistencyProof {
  std::uint64_t first = 0;
  std::uint64_t second = 0;
  std::vector<crypto::Digest> proof;
};

struct BoardBallot {
  std::uint64_t leaf_index = 0;
  crypto::Digest receipt{};
  std::string leaf;  // the JCS text (docs/formats.md, Ballot leaf)
};

struct BallotPage {
  std::vector<BoardBallot> ballots;
  std::uint64_t tree_size = 0;
  std::optional<std::uint64_t> next;  // absent on the last page
};

// A page of the public roll (docs/security.md, Issuance transparency).
struct RollPage {
  std::vector<store::RollEntry> voters;
  std::optional<store::RollEntry> next;  // the cursor of the next page; absent on the last
};

// A page of the published voter hashes that were issued a token.
struct IssuedPage {
  std::vector<crypto::Digest> voter_hashes;
  std::optional<crypto::Digest> next;  // the cursor of the next page; absent on the last
};

struct ReceiptState {
  std::string election_id;
  std::optional<InclusionProof> proof;  // absent while the ballot waits for its set
  // While it waits: a time by which it will be on the board, to the minute (an upper
  // bound, domain/publication.hpp); absent when that is the close, unscheduled.
  std::optional<domain::TimePoint> due_by;
};

class Board {
 public:
  static constexpr std::uint64_t kMaxBallotsPerPage = 1000;

  // `pass_interval`: how often the sequencer looks at what waits.
  Board(ElectionLookup& elections, ElectionLogs& logs, store::BoardStore& store,
        store::VotingStore& voting, std::chrono::milliseconds pass_interval);

  const crypto::Ed25519PublicKey& log_key() const;

  // Each throws Error(not_found) for a draft, an unknown election or one with no tree
  // head yet, and Error(bad_request) for a size beyond the newest tree head.
  boost::asio::awaitable<domain::TreeHead> tree_head(const std::string& id);
  // `tree_size`: the newest when absent.
  boost::asio::awaitable<InclusionProof> inclusion(const std::string& id,
                                                   const crypto::Digest& receipt,
                                                   std::optional<std::uint64_t> tree_size);
  boost::asio::awaitable<ConsistencyProof> consistency(const std::string& id, std::uint64_t first,
                                                       std::uint64_t second);
  boost::asio::awaitable<BallotPage> ballots(const std::string& id, std::uint64_t from,
                                             std::uint64_t limit);
  static constexpr std::uint64_t kMaxVotersPerPage = 10000;
  // Each from just after its cursor (the start when absent); not_found for a draft.
  boost::asio::awaitable<RollPage> roll(const std::string& id,
                                        std::optional<store::RollEntry> after, std::uint64_t limit);
  boost::asio::awaitable<IssuedPage> issued(const std::string& id,
                                            std::optional<crypto::Digest> after,
                                            std::uint64_t limit);
  // Throws Error(not_found) when no ballot has this receipt.
  boost::asio::awaitable<ReceiptState> receipt(const crypto::Digest& receipt);

 private:
  struct View;
  boost::asio::awaitable<View> view_of(const std::string& id);
  // not_found for drafts and unknown elections.
  boost::asio::awaitable<void> check_public(const std::string& id);

  ElectionLookup& elections_;
  ElectionLogs& logs_;
  store::BoardStore& store_;
  store::VotingStore& voting_;
  const std::chrono::milliseconds pass_interval_;
};

}  // namespace observernet::service
