#pragma once
// Elections, the voter roll and the audit chain in PostgreSQL. Every state change and
// its audit event commit in one transaction, under the election row's lock.
#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "observernet/domain/audit.hpp"
#include "observernet/domain/election.hpp"
#include "observernet/store/voting.hpp"

namespace observernet::store {

class PgPool;
class PgReads;
class BoardStore;

struct PublicElection {
  domain::Election election;
  std::int64_t ballots_cast = 0;
};

struct ElectionPage {
  std::vector<domain::Election> elections;
  std::optional<std::string> next_cursor;  // opaque; absent on the last page
};

struct ElectionStats {
  std::int64_t voters_registered = 0;
  std::int64_t tokens_issued = 0;
  std::int64_t ballots_cast = 0;
  std::int64_t ballots_sequenced = 0;
};

struct NewVoter {
  std::string voter_id;
  std::string credential;  // shown once, never stored
  std::string voter_hash;  // hex: how the public roll and issued list name this voter
};

struct VoterImport {
  std::int64_t registered = 0;        // new voters
  std::int64_t duplicates = 0;        // already on the roll, or repeated in this request
  std::vector<NewVoter> credentials;  // each new voter, in request order
};

// Who made a transition happen, recorded in the audit event.
enum class Trigger { admin, schedule };

class ElectionStore {
 public:
  // `board`: opening creates the election's log, closing sequences its last ballots and
  // publishes the final tree head, each in the transition's transaction. Null, and
  // `voter_pepper` empty, in a process that holds no log key or pepper (http.routes =
  // token or web, docs/security.md, Keys): it reads elections, and opening, closing or
  // importing voters there is an internal error.
  // Writes, and the reads that must see them, on `db`'s primary; the public reads on a
  // fresh replica when there is one (store/pg_reads.hpp).
  ElectionStore(PgReads& db, BoardStore* board, std::string voter_pepper, std::size_t max_voters);

  // Stores the election, under the id its token key was sealed for, and the key, in one
  // transaction.
  boost::asio::awaitable<domain::Election> create(std::string id,
                                                  domain::ElectionDefinition definition,
                                                  NewTokenKey key);
  boost::asio::awaitable<std::optional<domain::Election>> find(std::string id);
  // A public read: the election, unless a draft, and its ballots cast, in one snapshot.
  boost::asio::awaitable<std::optional<PublicElection>> find_public(std::string id);
  // Newest first. `public_only` hides drafts, and is a public read. Throws
  // Error(bad_request) for a bad cursor.
  boost::asio::awaitable<ElectionPage> list(std::optional<domain::ElectionStatus> status,
                                            bool public_only, int limit,
                                            std::optional<std::string> cursor);
  // Applies `patch` (RFC 7396) to a draft. `expected_version`: from If-Match; a stale one
  // throws Error(precondition_failed).
  boost::asio::awaitable<domain::Election> patch(std::string id, nlohmann::json patch,
                                                 std::optional<std::int64_t> expected_version);
  boost::asio::awaitable<void> remove(std::string id);  // drafts only
  boost::asio::awaitable<domain::Election> open(std::string id, Trigger trigger);
  boost::asio::awaitable<domain::Election> close(std::string id, Trigger trigger);
  boost::asio::awaitable<VoterImport> import_voters(std::string id,
                                                    std::vector<std::string> voter_ids);
  boost::asio::awaitable<ElectionStats> stats(std::string id);
  // Events with seq >= from, in order. `public_only`: nothing for drafts (not found), and
  // a public read.
  boost::asio::awaitable<std::vector<domain::AuditEvent>> audit(std::string id, std::int64_t from,
                                                                int limit, bool public_only);
  // Opens drafts whose opensAt has passed (and that have voters) and closes open
  // elections whose closesAt has passed; SKIP LOCKED makes each transition happen in
  // exactly one process. Returns the elections changed.
  boost::asio::awaitable<std::vector<domain::Election>> run_schedule();

 private:
  // The board, or Error(internal_error) in a process without one.
  BoardStore& board() const;

  PgPool& pool_;
  PgReads& reads_;
  BoardStore* const board_;
  std::string pepper_;
  std::size_t max_voters_;
};

}  // namespace observernet::store
