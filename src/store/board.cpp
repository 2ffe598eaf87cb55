#include "observernet/store/board.hpp"

#include "stored_values.hpp"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <limits>
#include <pqxx/pqxx>
#include <stdexcept>
#include <unordered_map>
#include <utility>

#include "observernet/crypto/merkle.hpp"
#include "observernet/domain/election.hpp"
#include "observernet/store/pg_pool.hpp"
#include "observernet/store/pg_reads.hpp"

namespace observernet::store {
namespace {

using boost::asio::awaitable;
using crypto::Digest;

OBSERVERNET_SQL(kCreateLog,
                "INSERT INTO logs (election_id, tree_size, right_edge) VALUES ($1::uuid, 0, '')"
                " ON CONFLICT DO NOTHING RETURNING 1");
OBSERVERNET_SQL(kLockLog,
                "SELECT tree_size, encode(right_edge, 'hex') FROM logs"
                " WHERE election_id = $1::uuid FOR UPDATE");
OBSERVERNET_SQL(kLockLogSkipLocked,
                "SELECT tree_size, encode(right_edge, 'hex') FROM logs"
                " WHERE election_id = $1::uuid FOR UPDATE SKIP LOCKED");
OBSERVERNET_SQL(kSelectStaged,
                "SELECT encode(receipt, 'hex') FROM ballots_staged WHERE election_id = $1::uuid");
// The set moves to the board's table in its shuffled order ($2), which is then the
// table's physical order too: nothing at rest keeps the order of arrival. Each receipt
// of the slice is looked up alone, by the receipts' unique index, and its row deleted
// by ctid; the election is checked on the rows taken, where no plan can scan by it.
// Written as a join on the election's rows, the move was planned, while a new election
// looked rare to the statistics, to read every staged row of the election for each
// receipt: 286 s for a slice of 20,000 of 150,000, against 0.13 s this way
// (docs/reliability.md, The sequencer's plans). A receipt of another election (none
// can be: a receipt hashes its leaf, which names the election) would leave the count
// short, and the pass would fail whole. Prepared (store/pg_pool.hpp): planned per call,
// a slice's 20,000 receipts are parsed and planned at every call.
// The moved ballots' selections are added to the election's running tally in the same
// statement, each leaf parsed once (migration 0011): results never recount the board.
// In a slice, a contest counts each ballot once however many options it chose.
OBSERVERNET_SQL(kPublishStaged,
                "WITH taken AS (DELETE FROM ballots_staged WHERE ctid = ANY (ARRAY("
                "SELECT (SELECT s.ctid FROM ballots_staged s WHERE s.receipt = decode(r, 'hex'))"
                " FROM unnest($2::text[]) AS r))"
                " RETURNING election_id, token_message, leaf, receipt),"
                " counted AS (INSERT INTO tallies (election_id, contest_id, option_id, count)"
                " SELECT $1::uuid, c, coalesce(o, ''),"
                " CASE WHEN GROUPING(o) = 1 THEN count(DISTINCT t) ELSE count(*) END"
                " FROM (SELECT taken.token_message AS t, x ->> 'contestId' AS c,"
                " x ->> 'optionId' AS o FROM taken"
                " CROSS JOIN LATERAL jsonb_array_elements(taken.leaf::jsonb -> 'selections') x"
                " WHERE taken.election_id = $1::uuid) s"
                " GROUP BY GROUPING SETS ((c, o), (c))"
                " ON CONFLICT (election_id, contest_id, option_id)"
                " DO UPDATE SET count = tallies.count + excluded.count)"
                " INSERT INTO ballots (election_id, token_message, leaf, receipt)"
                " SELECT t.election_id, t.token_message, t.leaf, t.receipt FROM taken t"
                " JOIN unnest($2::text[]) WITH ORDINALITY AS o(r, i) ON t.receipt = decode(o.r, "
                "'hex') WHERE t.election_id = $1::uuid ORDER BY o.i");
// The voter hashes issued a token since the last set, published with this one (docs/
// security.md, Issuance transparency).
OBSERVERNET_SQL(kPublishIssuances,
                "WITH taken AS (DELETE FROM issuances_staged WHERE election_id = $1::uuid"
                " RETURNING election_id, voter_hash)"
                " INSERT INTO issued (election_id, voter_hash)"
                " SELECT election_id, voter_hash FROM taken ORDER BY voter_hash");
// The public roll and issued list, in pages: keyset order, from just after a cursor.
OBSERVERNET_SQL(
    kSelectRollPage,
    "SELECT roll_batch, encode(voter_hash, 'hex') FROM voters"
    " WHERE election_id = $1::uuid AND (roll_batch, voter_hash) > ($2, decode($3, 'hex'))"
    " ORDER BY roll_batch, voter_hash LIMIT $4");
OBSERVERNET_SQL(kSelectIssuedPage,
                "SELECT encode(voter_hash, 'hex') FROM issued"
                " WHERE election_id = $1::uuid AND voter_hash > decode($2, 'hex')"
                " ORDER BY voter_hash LIMIT $3");
OBSERVERNET_SQL(kInsertChunk,
                "INSERT INTO log_chunks (election_id, first_index, leaf_hashes)"
                " VALUES ($1::uuid, $2, decode($3, 'hex'))");
OBSERVERNET_SQL(kUpdateLog,
                "UPDATE logs SET tree_size = $2, right_edge = decode($3, 'hex'),"
                " waiting_since = NULL WHERE election_id = $1::uuid");
// To the second: when the sequencer first saw the set that waits now.
OBSERVERNET_SQL(kMarkWaiting,
                "UPDATE logs SET waiting_since = date_trunc('second', now())"
                " WHERE election_id = $1::uuid AND waiting_since IS NULL");
OBSERVERNET_SQL(kInsertTreeHead,
                "INSERT INTO tree_heads (election_id, tree_size, root_hash, signed_at, signature,"
                " log_key_id, audit_seq, audit_head) VALUES ($1::uuid, $2, decode($3, 'hex'),"
                " to_timestamp($4::bigint / 1000.0), decode($5, 'hex'), $6, $7, $8)");
OBSERVERNET_SQL(kSelectLatestTreeHead,
                "SELECT tree_size, encode(root_hash, 'hex'),"
                " (extract(epoch FROM signed_at) * 1000)::bigint, encode(signature, 'hex'),"
                " log_key_id, audit_seq, audit_head FROM tree_heads WHERE election_id = $1::uuid"
                " ORDER BY tree_size DESC LIMIT 1");
// The audit chain's head, which each new tree head commits to. Read without a lock: any
// committed head is a prefix of the chain, and the close, which holds the row, reads
// its own.
OBSERVERNET_SQL(kSelectPinnedAuditHead,
                "SELECT audit_seq, audit_head FROM elections WHERE id = $1::uuid");
// Per election with ballots staged: how many, and for how many seconds the sequencer
// has seen them waiting (null: not seen yet).
OBSERVERNET_SQL(
    kSelectWaiting,
    "SELECT s.election_id::text, s.n,"
    " extract(epoch FROM now() - l.waiting_since)::bigint"
    " FROM (SELECT election_id, count(*) AS n FROM ballots_staged GROUP BY election_id) s"
    " LEFT JOIN logs l ON l.election_id = s.election_id");
OBSERVERNET_SQL(kSelectWaitingOf,
                "SELECT (SELECT count(*) FROM ballots_staged WHERE election_id = $1::uuid),"
                " (extract(epoch FROM waiting_since) * 1000)::bigint"
                " FROM (SELECT 1) AS one LEFT JOIN logs ON logs.election_id = $1::uuid");
// Only the slice of each chunk within [$2, $2 + $3): a pass that published a million
// ballots at once (a close) wrote one chunk of 32 MB, which read whole cost 190 MB of
// buffers to load a page. PostgreSQL reads a slice of a value stored out of line without
// the rest, as long as it is not compressed (hashes do not compress).
OBSERVERNET_SQL(kSelectChunksFrom,
                "SELECT s, encode(substring(leaf_hashes FROM ((s - first_index) * 32 + 1)::int"
                " FOR ((e - s) * 32)::int), 'hex') FROM (SELECT first_index, leaf_hashes,"
                " GREATEST(first_index, $2::bigint) AS s,"
                " LEAST(first_index + length(leaf_hashes) / 32, $2::bigint + $3::bigint) AS e"
                " FROM log_chunks WHERE election_id = $1::uuid"
                " AND first_index + length(leaf_hashes) / 32 > $2::bigint"
                " AND first_index < $2::bigint + $3::bigint) AS c ORDER BY s");
OBSERVERNET_SQL_PLANNED(
    kSelectLeaves,
    "SELECT encode(receipt, 'hex'), leaf FROM ballots"
    " WHERE receipt = ANY(SELECT decode(r, 'hex') FROM unnest($1::text[]) AS r)");

// Staged ballots moved to the board's table by one statement at most.
constexpr std::size_t kMoveSlice = 20'000;

// Ballots published by this process's passes after which one vacuums the staging table:
// about once a second at 10,000 ballots a second. A vacuum costs much the same for a few
// thousand dead rows as for ten thousand, so after each pass of a few thousand it cost
// 12 µs a ballot instead of 5 (docs/benchmarks.md).
constexpr std::uint64_t kVacuumAfter = 10'000;

// Concatenated 32-byte hashes, as hex, split up.
// Straight from the result's text: no copy of the whole list on the way (a page of a log).
std::vector<Digest> digests_from_hex(std::string_view hex) {
  constexpr std::size_t kHexDigest = 2 * sizeof(Digest);
  if (hex.size() % kHexDigest != 0) {
    throw std::runtime_error("a stored hash list is not a whole number of hashes");
  }
  std::vector<Digest> out;
  out.reserve(hex.size() / kHexDigest);
  for (std::size_t at = 0; at < hex.size(); at += kHexDigest) {
    const auto digest = crypto::digest_from_hex(hex.substr(at, kHexDigest));
    if (!digest) throw std::runtime_error("a stored hash list is not hex");
    out.push_back(*digest);
  }
  return out;
}

std::string digests_to_hex(const std::vector<Digest>& digests) {
  std::string hex;
  hex.reserve(digests.size() * 2 * sizeof(Digest));
  for (const Digest& d : digests) hex += crypto::to_hex(d);
  return hex;
}

// Uniform in [0, bound), from the CSPRNG: draws above the largest multiple of bound are
// drawn again, so no index is more likely than another.
std::uint64_t random_below(std::uint64_t bound) {
  const std::uint64_t limit =
      std::numeric_limits<std::uint64_t>::max() - std::numeric_limits<std::uint64_t>::max() % bound;
  for (;;) {
    std::uint64_t draw = 0;
    crypto::random_bytes({reinterpret_cast<unsigned char*>(&draw), sizeof draw});
    if (draw < limit) return draw % bound;
  }
}

// Fisher–Yates with the CSPRNG: the public order says nothing of arrival (docs/formats.md, Merkle
// log).
void shuffle(std::vector<Digest>& leaves) {
  for (std::size_t i = leaves.size(); i > 1; --i) {
    std::swap(leaves[i - 1], leaves[random_below(i)]);
  }
}

domain::TreeHead tree_head_from(const std::string& election_id, const pqxx::row& row) {
  domain::TreeHead head;
  head.election_id = election_id;
  head.tree_size = row[0].as<std::uint64_t>();
  head.root_hash = detail::stored_digest(row[1].c_str());
  head.timestamp = domain::format_timestamp(
      domain::TimePoint(std::chrono::milliseconds(row[2].as<std::int64_t>())));
  auto signature = crypto::from_hex(row[3].as<std::string>());
  if (!signature || signature->size() != head.signature.size()) {
    throw std::runtime_error("a stored tree head signature is not 64 bytes");
  }
  std::copy(signature->begin(), signature->end(), head.signature.begin());
  head.log_key_id = row[4].as<std::string>();
  if (!row[5].is_null()) {
    head.audit = domain::AuditCommitment{row[5].as<std::uint64_t>(), row[6].as<std::string>()};
  }
  return head;
}

}  // namespace

BoardStore::BoardStore(PgReads& db, crypto::Ed25519PrivateKey log_key,
                       domain::PublicationPolicy policy)
    : pool_(db.primary()), reads_(db), log_key_(std::move(log_key)), policy_(policy) {}

std::optional<BoardStore::Sequenced> BoardStore::sequence(PgConnection& c,
                                                          pqxx::transaction_base& tx,
                                                          const std::string& election_id,
                                                          bool skip_locked) {
  // Whole seconds: a tree head's time says no more than when its set was published.
  const auto now = std::chrono::time_point_cast<std::chrono::milliseconds>(
      std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now()));
  auto store_head = [&](std::uint64_t size, const Digest& root) {
    auto chain = c.exec(tx, kSelectPinnedAuditHead, election_id);
    if (chain.empty()) throw std::runtime_error("a log's election is missing");
    domain::AuditCommitment audit{chain[0][0].as<std::uint64_t>(), chain[0][1].as<std::string>()};
    domain::TreeHead head = domain::sign_tree_head(log_key_, election_id, size, root,
                                                   domain::format_timestamp(now), audit);
    c.exec(tx, kInsertTreeHead, election_id, size, crypto::to_hex(root),
           now.time_since_epoch().count(), crypto::to_hex(head.signature), head.log_key_id,
           audit.seq, audit.head);
    return head;
  };
  // A new log is created with its empty tree head; the row is visible to others only
  // once this transaction commits, and they wait for it meanwhile.
  if (!c.exec(tx, kCreateLog, election_id).empty()) {
    store_head(0, crypto::CompactRange().root());
  }
  auto log = c.exec(tx, skip_locked ? kLockLogSkipLocked : kLockLog, election_id);
  if (log.empty()) return std::nullopt;  // another process holds it

  std::vector<Digest> leaves;
  for (const auto& row : c.exec(tx, kSelectStaged, election_id)) {
    leaves.push_back(detail::stored_digest(row[0].c_str()));
  }
  // Issuances go public with a set of ballots, and all of them at the close (the locked
  // pass), never one by one.
  if (!leaves.empty() || !skip_locked) c.exec(tx, kPublishIssuances, election_id);
  if (leaves.empty()) {
    auto latest = c.exec(tx, kSelectLatestTreeHead, election_id);
    if (latest.empty()) throw std::runtime_error("an election's log has no tree head");
    return Sequenced{tree_head_from(election_id, latest[0]), 0};
  }
  shuffle(leaves);
  // In slices of the shuffled order, one statement each: moving a row costs about 25 µs,
  // and a backlog of a million in one statement would outlast database.statement_timeout
  // on every pass, never to be published.
  for (std::size_t from = 0; from < leaves.size(); from += kMoveSlice) {
    const std::size_t to = std::min(leaves.size(), from + kMoveSlice);
    detail::ArrayLiteral order;
    for (std::size_t i = from; i < to; ++i) order.add(crypto::to_hex(leaves[i]));
    const auto moved = c.exec(tx, kPublishStaged, election_id, order.str()).affected_rows();
    if (moved != to - from) throw std::runtime_error("a staged ballot moved twice or not at all");
  }
  const auto first_index = log[0][0].as<std::uint64_t>();
  auto range =
      crypto::CompactRange::from_hashes(first_index, digests_from_hex(log[0][1].as<std::string>()));
  if (!range) throw std::runtime_error("an election's stored right edge does not fit its size");
  for (const Digest& leaf : leaves) range->append(leaf);
  c.exec(tx, kInsertChunk, election_id, first_index, digests_to_hex(leaves));
  c.exec(tx, kUpdateLog, election_id, range->size(), digests_to_hex(range->hashes()));
  return Sequenced{store_head(range->size(), range->root()), leaves.size()};
}

domain::TreeHead BoardStore::sequence_locked(PgConnection& c, pqxx::transaction_base& tx,
                                             const std::string& election_id) {
  return sequence(c, tx, election_id, false)->head;
}

awaitable<SequencerPass> BoardStore::sequence_pending() {
  co_return co_await pool_.run([this](PgConnection& c) {
    SequencerPass pass;
    std::vector<std::string> due;
    std::vector<std::string> newly_waiting;
    {
      pqxx::read_transaction tx(c.raw());
      for (const auto& row : c.exec(tx, kSelectWaiting)) {
        const auto waiting = row[1].as<std::uint64_t>();
        std::optional<std::chrono::seconds> waited;
        if (!row[2].is_null()) waited = std::chrono::seconds(row[2].as<std::int64_t>());
        pass.pending += waiting;
        if (waited) pass.lag_seconds = std::max(pass.lag_seconds, double(waited->count()));
        if (domain::publication_due(policy_, waiting, waited)) {
          due.push_back(row[0].as<std::string>());
        } else if (!waited) {
          newly_waiting.push_back(row[0].as<std::string>());
        }
      }
    }
    if (!newly_waiting.empty()) {
      pqxx::work tx(c.raw());
      for (const auto& id : newly_waiting) c.exec(tx, kMarkWaiting, id);
      tx.commit();
    }
    for (const auto& id : due) {
      pqxx::work tx(c.raw());
      auto done = sequence(c, tx, id, true);
      tx.commit();
      if (done) pass.sequenced += done->added;
    }
    // Every published ballot leaves a dead row in the staging table, and autovacuum
    // looks at a table once a minute at most: at 10,000 ballots a second the passes'
    // scans and the writers' index probes would wade through hundreds of thousands of
    // dead rows. The table is small once vacuumed (what waits), so vacuuming it here
    // is quick (docs/benchmarks.md).
    published_since_vacuum_ += pass.sequenced;
    if (published_since_vacuum_ >= kVacuumAfter) {
      pqxx::nontransaction vacuum(c.raw());
      vacuum.exec0("VACUUM (SKIP_LOCKED) ballots_staged, issuances_staged");
      published_since_vacuum_ = 0;
    }
    return pass;
  });
}

awaitable<Waiting> BoardStore::waiting(std::string election_id) {
  co_return co_await reads_.read([&election_id](PgConnection& c) {
    pqxx::read_transaction tx(c.raw());
    auto row = c.exec(tx, kSelectWaitingOf, election_id).at(0);
    Waiting w;
    w.ballots = row[0].as<std::uint64_t>();
    if (!row[1].is_null()) {
      w.since = domain::TimePoint(std::chrono::milliseconds(row[1].as<std::int64_t>()));
    }
    return w;
  });
}

awaitable<std::optional<domain::TreeHead>> BoardStore::latest_tree_head(std::string election_id) {
  co_return co_await reads_.read(
      [&election_id](PgConnection& c) -> std::optional<domain::TreeHead> {
        pqxx::read_transaction tx(c.raw());
        auto rows = c.exec(tx, kSelectLatestTreeHead, election_id);
        if (rows.empty()) {
          if (c.replica()) throw ReplicaBehind();  // opened a moment ago, maybe
          return std::nullopt;
        }
        return tree_head_from(election_id, rows[0]);
      });
}

awaitable<std::vector<LogChunk>> BoardStore::chunks_from(std::string election_id,
                                                         std::uint64_t from, std::uint64_t leaves,
                                                         std::uint64_t tree_size) {
  co_return co_await reads_.read([&](PgConnection& c) {
    pqxx::read_transaction tx(c.raw());
    std::vector<LogChunk> chunks;
    for (const auto& row : c.exec(tx, kSelectChunksFrom, election_id, from, leaves)) {
      chunks.push_back({row[0].as<std::uint64_t>(),
                        digests_from_hex(std::string_view(row[1].c_str(), row[1].size()))});
    }
    const std::uint64_t end =
        chunks.empty() ? from : chunks.back().first_index + chunks.back().leaf_hashes.size();
    if (c.replica() && end < std::min(from + leaves, tree_size)) throw ReplicaBehind();
    return chunks;
  });
}

awaitable<std::vector<RollEntry>> BoardStore::roll_page(std::string election_id, RollEntry after,
                                                        std::uint64_t limit) {
  co_return co_await reads_.read([&](PgConnection& c) {
    pqxx::read_transaction tx(c.raw());
    std::vector<RollEntry> page;
    for (const auto& row : c.exec(tx, kSelectRollPage, election_id, after.commitment,
                                  crypto::to_hex(after.voter_hash), limit)) {
      page.push_back({row[0].as<int>(), detail::stored_digest(row[1].c_str())});
    }
    return page;
  });
}

awaitable<std::vector<Digest>> BoardStore::issued_page(std::string election_id, Digest after,
                                                       std::uint64_t limit) {
  co_return co_await reads_.read([&](PgConnection& c) {
    pqxx::read_transaction tx(c.raw());
    std::vector<Digest> page;
    for (const auto& row :
         c.exec(tx, kSelectIssuedPage, election_id, crypto::to_hex(after), limit)) {
      page.push_back(detail::stored_digest(row[0].c_str()));
    }
    return page;
  });
}

awaitable<std::vector<std::string>> BoardStore::leaves(std::vector<Digest> receipts) {
  co_return co_await reads_.read([&receipts](PgConnection& c) {
    detail::ArrayLiteral array;
    for (const Digest& r : receipts) array.add(crypto::to_hex(r));
    pqxx::read_transaction tx(c.raw());
    std::unordered_map<std::string, std::string> by_receipt;
    for (const auto& row : c.exec(tx, kSelectLeaves, array.str())) {
      by_receipt.emplace(row[0].as<std::string>(), row[1].as<std::string>());
    }
    std::vector<std::string> out;
    out.reserve(receipts.size());
    for (const Digest& r : receipts) {
      auto it = by_receipt.find(crypto::to_hex(r));
      if (it == by_receipt.end()) {
        if (c.replica()) throw ReplicaBehind();  // sequenced after its last replay
        throw std::runtime_error("a sequenced ballot is missing");
      }
      out.push_back(std::move(it->second));
    }
    return out;
  });
}

}  // namespace observernet::store
