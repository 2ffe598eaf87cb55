#include "observernet/store/elections.hpp"

#include <chrono>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>
#include <unordered_map>
#include <unordered_set>

#include "observernet/crypto/hash.hpp"
#include "observernet/crypto/jcs.hpp"
#include "observernet/domain/ballot.hpp"
#include "observernet/domain/roll.hpp"
#include "observernet/domain/tree_head.hpp"
#include "observernet/domain/voters.hpp"
#include "observernet/error.hpp"
#include "observernet/store/board.hpp"
#include "observernet/store/pg_pool.hpp"
#include "observernet/store/pg_reads.hpp"
#include "stored_values.hpp"
#include "tally.hpp"

namespace observernet::store {
namespace {

using boost::asio::awaitable;
using domain::Election;
using domain::ElectionStatus;
using domain::TimePoint;
using nlohmann::json;

// Every read of an election selects these columns, in this order (see election_from).
#define OBSERVERNET_ELECTION_COLUMNS                                                      \
  "id::text, title, description, status, (extract(epoch FROM opens_at) * 1000)::bigint, " \
  "(extract(epoch FROM closes_at) * 1000)::bigint, results_visibility, contests::text, "  \
  "version, (extract(epoch FROM created_at) * 1000)::bigint, "                            \
  "(extract(epoch FROM updated_at) * 1000)::bigint, voters_registered"

OBSERVERNET_SQL(kInsertElection,
                "INSERT INTO elections (id, title, description, status, opens_at, closes_at,"
                " results_visibility, contests, created_at, updated_at)"
                " VALUES ($1::uuid, $2, $3, 'draft', to_timestamp($4::bigint / 1000.0),"
                " to_timestamp($5::bigint / 1000.0), $6, $7::jsonb,"
                " to_timestamp($8::bigint / 1000.0), to_timestamp($8::bigint / 1000.0))"
                " RETURNING " OBSERVERNET_ELECTION_COLUMNS);
OBSERVERNET_SQL(kInsertElectionKey,
                "INSERT INTO election_keys (election_id, key_id, modulus_bits, public_key,"
                " private_key_sealed) VALUES ($1::uuid, $2, $3, decode($4, 'hex'),"
                " decode($5, 'hex'))");
OBSERVERNET_SQL(kSelectElection,
                "SELECT " OBSERVERNET_ELECTION_COLUMNS " FROM elections WHERE id = $1::uuid");
// FOR UPDATE: what changes an election's status, or its definition, also keeps the
// ballot and token writers' batches away (store/voting.cpp).
OBSERVERNET_SQL(kLockElection, "SELECT " OBSERVERNET_ELECTION_COLUMNS
                               " FROM elections WHERE id = $1::uuid FOR UPDATE");
// FOR NO KEY UPDATE: a voter import excludes the changes above and other imports, for as
// long as its COPY takes, but not the writers, whose key-share lock it does not conflict
// with: an election takes ballots while voters are added to it.
OBSERVERNET_SQL(kLockElectionForImport, "SELECT " OBSERVERNET_ELECTION_COLUMNS
                                        " FROM elections WHERE id = $1::uuid FOR NO KEY UPDATE");
// Keyset pagination: the cursor is the last row's (created_at, id).
OBSERVERNET_SQL(kListElections, "SELECT " OBSERVERNET_ELECTION_COLUMNS
                                " FROM elections"
                                " WHERE ($1::text IS NULL OR status = $1)"
                                " AND (NOT $2::boolean OR status <> 'draft')"
                                " AND ($3::bigint IS NULL OR (created_at, id) <"
                                " (to_timestamp($3::bigint / 1000000.0), $4::uuid))"
                                " ORDER BY created_at DESC, id DESC LIMIT $5");
OBSERVERNET_SQL(kCursorOf,
                "SELECT (extract(epoch FROM created_at) * 1000000)::bigint"
                " FROM elections WHERE id = $1::uuid");
OBSERVERNET_SQL(kUpdateDefinition,
                "UPDATE elections SET title = $2, description = $3,"
                " opens_at = to_timestamp($4::bigint / 1000.0),"
                " closes_at = to_timestamp($5::bigint / 1000.0), results_visibility = $6,"
                " contests = $7::jsonb, version = version + 1,"
                " updated_at = to_timestamp($8::bigint / 1000.0)"
                " WHERE id = $1::uuid RETURNING " OBSERVERNET_ELECTION_COLUMNS);
OBSERVERNET_SQL(kUpdateStatus,
                "UPDATE elections SET status = $2, version = version + 1,"
                " updated_at = to_timestamp($3::bigint / 1000.0)"
                " WHERE id = $1::uuid RETURNING " OBSERVERNET_ELECTION_COLUMNS);
OBSERVERNET_SQL(kDeleteElection, "DELETE FROM elections WHERE id = $1::uuid");
OBSERVERNET_SQL(kSelectVoterCount, "SELECT voters_registered FROM elections WHERE id = $1::uuid");
OBSERVERNET_SQL(kSelectStats,
                "SELECT voters_registered,"
                " (SELECT count(*) FROM token_issuances WHERE election_id = $1::uuid),"
                " l.size + (SELECT count(*) FROM ballots_staged WHERE election_id = $1::uuid),"
                " l.size FROM elections, (SELECT coalesce((SELECT tree_size FROM logs"
                " WHERE election_id = $1::uuid), 0) AS size) AS l WHERE id = $1::uuid");
OBSERVERNET_SQL(kAddVoters,
                "UPDATE elections SET voters_registered = voters_registered + $2,"
                " version = version + 1, updated_at = to_timestamp($3::bigint / 1000.0)"
                " WHERE id = $1::uuid");
OBSERVERNET_SQL(kCreateImportTable,
                "CREATE TEMP TABLE voter_import (voter_hash text, credential_hash text)"
                " ON COMMIT DROP");
OBSERVERNET_SQL(kInsertImportedVoters,
                "INSERT INTO voters (election_id, voter_hash, credential_hash, roll_batch)"
                " SELECT $1::uuid, decode(voter_hash, 'hex'), decode(credential_hash, 'hex'), $2"
                " FROM voter_import ON CONFLICT DO NOTHING RETURNING encode(voter_hash, 'hex')");
// The roll's commitments (domain/roll.hpp): how many the audit chain holds, and the voter
// hashes the next one covers.
OBSERVERNET_SQL(kSelectRollCommitments,
                "SELECT roll_commitments FROM elections WHERE id = $1::uuid");
OBSERVERNET_SQL(kSetRollCommitments,
                "UPDATE elections SET roll_commitments = $2 WHERE id = $1::uuid");
// A slice of the roll, in voter hash order, from just after $2: the primary key's order.
// Planned without sorts (kNoSorts): right after a large import the table's statistics
// may still count a few rows, and the planner then sorted the whole roll for every slice
// (0.65 s a slice at 1,000,000 voters) rather than walk the key.
OBSERVERNET_SQL(kSelectRollSlice,
                "SELECT encode(voter_hash, 'hex') FROM voters"
                " WHERE election_id = $1::uuid AND voter_hash > decode($2, 'hex')"
                " ORDER BY voter_hash LIMIT $3");
OBSERVERNET_SQL(kNoSorts, "SET LOCAL enable_sort = off");
OBSERVERNET_SQL(kSortsAgain, "SET LOCAL enable_sort TO DEFAULT");
OBSERVERNET_SQL(kCountTokensIssued,
                "SELECT count(*) FROM token_issuances WHERE election_id = $1::uuid");
// Under the row's lock already (kLockElection or kLockElectionForImport), which this one
// must not strengthen.
OBSERVERNET_SQL(kSelectAuditHead,
                "SELECT audit_seq, audit_head FROM elections"
                " WHERE id = $1::uuid FOR NO KEY UPDATE");
OBSERVERNET_SQL(kInsertAuditEvent,
                "INSERT INTO audit_events (election_id, seq, type, payload, at, prev_hash, hash)"
                " VALUES ($1::uuid, $2, $3, $4, $5, $6, $7)");
OBSERVERNET_SQL(kAdvanceAuditHead,
                "UPDATE elections SET audit_seq = $2, audit_head = $3 WHERE id = $1::uuid");
OBSERVERNET_SQL(kSelectAuditEvents,
                "SELECT seq, type, payload, at, prev_hash, hash FROM audit_events"
                " WHERE election_id = $1::uuid AND seq >= $2 ORDER BY seq LIMIT $3");
OBSERVERNET_SQL(kSelectDueToOpen,
                "SELECT id::text FROM elections WHERE status = 'draft' AND opens_at <= now()"
                " AND voters_registered > 0 ORDER BY opens_at LIMIT 100 FOR UPDATE SKIP LOCKED");
OBSERVERNET_SQL(kSelectDueToClose,
                "SELECT id::text FROM elections WHERE status = 'open' AND closes_at <= now()"
                " ORDER BY closes_at LIMIT 100 FOR UPDATE SKIP LOCKED");

TimePoint now_ms() {
  return std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now());
}

std::string ms_string(TimePoint t) {
  return std::to_string(t.time_since_epoch().count());
}

// libpqxx 6.4 passes a null `const char*` as SQL NULL.
const char* optional_param(const std::optional<std::string>& value) {
  return value ? value->c_str() : nullptr;
}

std::optional<std::string> optional_ms(const std::optional<TimePoint>& t) {
  if (!t) return std::nullopt;
  return ms_string(*t);
}

TimePoint from_ms(const pqxx::field& f) {
  return TimePoint(std::chrono::milliseconds(f.as<std::int64_t>()));
}

Election election_from(const pqxx::row& row) {
  Election e;
  e.id = row[0].as<std::string>();
  e.definition.title = row[1].as<std::string>();
  e.definition.description = row[2].as<std::string>();
  e.status = *domain::parse_election_status(row[3].as<std::string>());
  if (!row[4].is_null()) e.definition.opens_at = from_ms(row[4]);
  if (!row[5].is_null()) e.definition.closes_at = from_ms(row[5]);
  e.definition.results_visibility = *domain::parse_results_visibility(row[6].as<std::string>());
  e.definition.contests = domain::contests_from_json(json::parse(row[7].as<std::string>()));
  e.version = row[8].as<std::int64_t>();
  e.created_at = from_ms(row[9]);
  e.updated_at = from_ms(row[10]);
  e.voters_registered = row[11].as<std::int64_t>();
  return e;
}

Error not_found() {
  return Error(ErrorCode::not_found, "No election with this id.");
}

// Locks the row (kLockElection, or kLockElectionForImport); throws not_found when it
// does not exist.
Election lock_election(PgConnection& c, pqxx::work& tx, const std::string& id,
                       const Sql& lock = kLockElection) {
  auto rows = c.exec(tx, lock, id);
  if (rows.empty()) throw not_found();
  return election_from(rows[0]);
}

// The one way anything is written to an election's audit chain: under the row lock,
// in the transaction of the change it records.
void append_audit(PgConnection& c, pqxx::work& tx, const std::string& election_id, std::string type,
                  json payload, TimePoint at) {
  auto head = c.exec(tx, kSelectAuditHead, election_id)[0];
  auto event =
      domain::next_audit_event(head[0].as<std::int64_t>(), head[1].as<std::string>(),
                               std::move(type), std::move(payload), domain::format_timestamp(at));
  c.exec(tx, kInsertAuditEvent, election_id, event.seq, event.type,
         crypto::canonicalize(event.payload), event.at, event.prev_hash, event.hash);
  c.exec(tx, kAdvanceAuditHead, election_id, event.seq, event.hash);
}

std::string_view trigger_name(Trigger t) {
  return t == Trigger::admin ? "admin" : "schedule";
}

std::int64_t voter_count(PgConnection& c, pqxx::work& tx, const std::string& id) {
  return c.exec(tx, kSelectVoterCount, id)[0][0].as<std::int64_t>();
}

// Voters a statement of kSelectRollSlice reads at most: about 10 ms of PostgreSQL's time.
// A roll of 10,000,000 read in one statement outlasted database.statement_timeout, and
// the election could not be opened (docs/benchmarks.md, Growth).
constexpr int kRollSlice = 20'000;

// Commitment `number` to the roll, recorded as the election's newest: it covers every voter
// whose roll_batch is at most `number` (docs/security.md, Issuance transparency), which
// is every voter on the roll: `number` is the opening's batch or the import's own, the
// newest, under the election's lock. Read in slices, in voter hash order, the order the
// commitment takes them in.
json commit_roll(PgConnection& c, pqxx::work& tx, const std::string& id, int number) {
  domain::RollCommitter committer;
  std::string after;  // hex; "" decodes to the empty bytea, below every hash
  c.exec(tx, kNoSorts);
  for (;;) {
    const auto rows = c.exec(tx, kSelectRollSlice, id, after, kRollSlice);
    for (const auto& row : rows) committer.add(detail::stored_digest(row[0].c_str()));
    if (rows.size() < static_cast<std::size_t>(kRollSlice)) break;
    after = rows.back()[0].as<std::string>();
  }
  c.exec(tx, kSortsAgain);
  c.exec(tx, kSetRollCommitments, id, number);
  return domain::to_json(committer.commitment());
}

// The opening commits to the roll; the close records how many tokens were issued, every
// one of which the close publishes (store/board.cpp).
Election set_status(PgConnection& c, pqxx::work& tx, const std::string& id, ElectionStatus to,
                    Trigger trigger) {
  TimePoint now = now_ms();
  Election updated = election_from(
      c.exec(tx, kUpdateStatus, id, std::string(domain::to_string(to)), ms_string(now))[0]);
  json payload{{"trigger", trigger_name(trigger)}, {"votersRegistered", voter_count(c, tx, id)}};
  if (to == ElectionStatus::open) {
    payload["roll"] = commit_roll(c, tx, id, 1);
  } else {
    payload["tokensIssued"] = c.exec(tx, kCountTokensIssued, id)[0][0].as<std::int64_t>();
  }
  append_audit(c, tx, id, to == ElectionStatus::open ? "election.opened" : "election.closed",
               std::move(payload), now);
  return updated;
}

// Opens a locked draft, or explains why not; the election's log starts with it.
Election open_locked(PgConnection& c, pqxx::work& tx, BoardStore& board, const Election& e,
                     Trigger trigger) {
  domain::check_openable(e, voter_count(c, tx, e.id));
  Election opened = set_status(c, tx, e.id, ElectionStatus::open, trigger);
  board.sequence_locked(c, tx, e.id);
  return opened;
}

// The row lock taken before this (FOR UPDATE) waits for every ballot batch in flight
// (they hold it FOR KEY SHARE) and keeps new ones out (they skip it, and answer 503):
// the log sequenced here, its tree head and the tally published here are the final ones.
Election close_locked(PgConnection& c, pqxx::work& tx, BoardStore& board, const Election& e,
                      Trigger trigger) {
  domain::check_closable(e);
  Election closed = set_status(c, tx, e.id, ElectionStatus::closed, trigger);
  append_audit(c, tx, e.id, "tree_head.published",
               domain::to_json(board.sequence_locked(c, tx, e.id)), now_ms());
  append_audit(c, tx, e.id, "results.published",
               domain::results_to_json(closed, detail::read_tally(c, tx, e.id)), now_ms());
  return closed;
}

// Cursor: base64url("<created_at µs>.<uuid>").
std::string make_cursor(std::int64_t created_us, const std::string& id) {
  return crypto::to_base64url(crypto::as_bytes(std::to_string(created_us) + "." + id));
}

std::pair<std::string, std::string> parse_cursor(const std::string& cursor) {
  auto bytes = crypto::from_base64url(cursor);
  std::string text = bytes ? std::string(bytes->begin(), bytes->end()) : std::string();
  auto dot = text.find('.');
  std::string micros = dot == std::string::npos ? "" : text.substr(0, dot);
  std::string id = dot == std::string::npos ? "" : text.substr(dot + 1);
  bool digits = !micros.empty() && micros.size() <= 18 &&
                micros.find_first_not_of("0123456789") == std::string::npos;
  if (!digits || !domain::is_uuid(id)) {
    throw Error(ErrorCode::bad_request, "The cursor is not one this server handed out.");
  }
  return {micros, id};
}

}  // namespace

ElectionStore::ElectionStore(PgReads& db, BoardStore* board, std::string voter_pepper,
                             std::size_t max_voters)
    : pool_(db.primary()),
      reads_(db),
      board_(board),
      pepper_(std::move(voter_pepper)),
      max_voters_(max_voters) {}

BoardStore& ElectionStore::board() const {
  if (board_ == nullptr) {
    throw Error(ErrorCode::internal_error, "This server does not open or close elections.", {},
                "an election transition reached a process without auth.log_key");
  }
  return *board_;
}

awaitable<Election> ElectionStore::create(std::string id, domain::ElectionDefinition d,
                                          NewTokenKey key) {
  // Lambdas handed to the pool capture by reference only: what they refer to lives in
  // this coroutine's frame until the call completes, and GCC 12 mishandles lambdas with
  // non-trivial captures inside co_await expressions (double destruction).
  co_return co_await pool_.run([&id, &d, &key](PgConnection& c) {
    pqxx::work tx(c.raw());
    TimePoint now = now_ms();
    auto opens = optional_ms(d.opens_at), closes = optional_ms(d.closes_at);
    Election e = election_from(
        c.exec(tx, kInsertElection, id, d.title, d.description, optional_param(opens),
               optional_param(closes), std::string(domain::to_string(d.results_visibility)),
               domain::contests_to_json(d.contests).dump(), ms_string(now))[0]);
    c.exec(tx, kInsertElectionKey, e.id, key.key_id, key.modulus_bits,
           crypto::to_hex(key.public_key), crypto::to_hex(key.private_key_sealed));
    // The token key's id is on the audit chain: observers can check that every token
    // they verify was signed by the key announced when the election was created.
    json created = domain::to_json(e.definition);
    created["tokenKey"] = {{"keyId", key.key_id}, {"modulusBits", key.modulus_bits}};
    append_audit(c, tx, e.id, "election.created", std::move(created), now);
    tx.commit();
    return e;
  });
}

awaitable<std::optional<Election>> ElectionStore::find(std::string id) {
  co_return co_await pool_.run([&id](PgConnection& c) -> std::optional<Election> {
    pqxx::read_transaction tx(c.raw());
    auto rows = c.exec(tx, kSelectElection, id);
    if (rows.empty()) return std::nullopt;
    return election_from(rows[0]);
  });
}

awaitable<std::optional<PublicElection>> ElectionStore::find_public(std::string id) {
  co_return co_await reads_.read([&id](PgConnection& c) -> std::optional<PublicElection> {
    pqxx::read_transaction tx(c.raw());
    auto rows = c.exec(tx, kSelectElection, id);
    if (rows.empty() || rows[0][3].as<std::string>() == "draft") {
      if (c.replica()) throw ReplicaBehind();  // created or opened a moment ago, maybe
      return std::nullopt;
    }
    return PublicElection{election_from(rows[0]), detail::ballots_cast(c, tx, id)};
  });
}

awaitable<ElectionPage> ElectionStore::list(std::optional<ElectionStatus> status, bool public_only,
                                            int limit, std::optional<std::string> cursor) {
  std::optional<std::pair<std::string, std::string>> after;
  if (cursor) after = parse_cursor(*cursor);
  auto read = [&](PgConnection& c) {
    pqxx::read_transaction tx(c.raw());
    std::optional<std::string> status_text;
    if (status) status_text = std::string(domain::to_string(*status));
    std::optional<std::string> micros, id;
    if (after) {
      micros = after->first;
      id = after->second;
    }
    // One row more than asked tells whether there is a next page.
    auto rows = c.exec(tx, kListElections, optional_param(status_text), public_only,
                       optional_param(micros), optional_param(id), limit + 1);
    ElectionPage page;
    for (std::size_t i = 0; i < rows.size() && i < static_cast<std::size_t>(limit); ++i) {
      page.elections.push_back(election_from(rows[i]));
    }
    if (rows.size() > static_cast<std::size_t>(limit)) {
      const auto& last = page.elections.back();
      auto us = c.exec(tx, kCursorOf, last.id)[0][0].as<std::int64_t>();
      page.next_cursor = make_cursor(us, last.id);
    }
    return page;
  };
  if (public_only) co_return co_await reads_.read(read);
  co_return co_await pool_.run(read);
}

awaitable<Election> ElectionStore::patch(std::string id, json patch,
                                         std::optional<std::int64_t> expected_version) {
  co_return co_await pool_.run([&](PgConnection& c) {
    pqxx::work tx(c.raw());
    Election current = lock_election(c, tx, id);
    if (expected_version && *expected_version != current.version) {
      throw Error(ErrorCode::precondition_failed,
                  "The election changed since it was read (If-Match does not match its ETag).");
    }
    domain::check_editable(current);
    domain::ElectionDefinition d = domain::apply_election_patch(current.definition, patch);
    TimePoint now = now_ms();
    auto opens = optional_ms(d.opens_at), closes = optional_ms(d.closes_at);
    Election updated = election_from(
        c.exec(tx, kUpdateDefinition, id, d.title, d.description, optional_param(opens),
               optional_param(closes), std::string(domain::to_string(d.results_visibility)),
               domain::contests_to_json(d.contests).dump(), ms_string(now))[0]);
    append_audit(c, tx, id, "election.updated", domain::to_json(updated.definition), now);
    tx.commit();
    return updated;
  });
}

awaitable<void> ElectionStore::remove(std::string id) {
  co_await pool_.run([&](PgConnection& c) {
    pqxx::work tx(c.raw());
    Election current = lock_election(c, tx, id);
    domain::check_deletable(current);
    c.exec(tx, kDeleteElection, id);
    tx.commit();
  });
}

awaitable<Election> ElectionStore::open(std::string id, Trigger trigger) {
  co_return co_await pool_.run([&](PgConnection& c) {
    pqxx::work tx(c.raw());
    Election updated = open_locked(c, tx, board(), lock_election(c, tx, id), trigger);
    tx.commit();
    return updated;
  });
}

awaitable<Election> ElectionStore::close(std::string id, Trigger trigger) {
  co_return co_await pool_.run([&](PgConnection& c) {
    pqxx::work tx(c.raw());
    Election updated = close_locked(c, tx, board(), lock_election(c, tx, id), trigger);
    tx.commit();
    return updated;
  });
}

// The import's statement timeout (300 s, above) and time for its round trips.
constexpr std::chrono::seconds kImportBudget{310};

awaitable<VoterImport> ElectionStore::import_voters(std::string id,
                                                    std::vector<std::string> voter_ids) {
  if (pepper_.empty()) {
    throw Error(ErrorCode::internal_error, "This server does not import voters.", {},
                "a voter import reached a process without auth.voter_pepper");
  }
  // A million voters take longer than an ordinary statement (and call) may.
  co_return co_await pool_.run(
      [&](PgConnection& c) {
        pqxx::work tx(c.raw());
        tx.exec("SET LOCAL statement_timeout = '300s'");
        Election e = lock_election(c, tx, id, kLockElectionForImport);
        domain::check_voters_addable(e);
        VoterImport result;
        // hex voterHash -> index into voter_ids, for the voters this request brings first.
        std::unordered_map<std::string, std::size_t> candidates;
        candidates.reserve(voter_ids.size());
        std::vector<std::string> credentials(voter_ids.size());
        c.exec(tx, kCreateImportTable);
        {
          pqxx::stream_to copy(tx, "voter_import",
                               std::vector<std::string>{"voter_hash", "credential_hash"});
          for (std::size_t i = 0; i < voter_ids.size(); ++i) {
            std::string voter_hash =
                crypto::to_hex(domain::voter_hash(pepper_, e.id, voter_ids[i]));
            if (!candidates.emplace(voter_hash, i).second) {
              ++result.duplicates;  // repeated within this request
              continue;
            }
            credentials[i] = domain::new_credential();
            copy << std::make_tuple(voter_hash, crypto::to_hex(crypto::sha256(credentials[i])));
          }
          copy.complete();
        }
        // Into a draft: covered by the opening's commitment. Into an open election: by the
        // next one, which this import appends.
        const bool open = e.status == ElectionStatus::open;
        const int batch = open ? c.exec(tx, kSelectRollCommitments, id)[0][0].as<int>() + 1 : 1;
        auto inserted = c.exec(tx, kInsertImportedVoters, id, batch);
        result.registered = static_cast<std::int64_t>(inserted.size());
        result.duplicates += static_cast<std::int64_t>(candidates.size()) - result.registered;
        std::int64_t total = voter_count(c, tx, id) + result.registered;
        domain::check_roll_size(total, max_voters_);
        // (index in the request, voterHash) of each new voter, in request order.
        std::vector<std::pair<std::size_t, std::string>> added;
        added.reserve(inserted.size());
        for (const auto& row : inserted) {
          std::string hash = row[0].as<std::string>();
          added.emplace_back(candidates.at(hash), std::move(hash));
        }
        std::sort(added.begin(), added.end());
        result.credentials.reserve(added.size());
        for (auto& [i, hash] : added) {
          result.credentials.push_back(
              {std::move(voter_ids[i]), std::move(credentials[i]), std::move(hash)});
        }
        TimePoint now = now_ms();
        c.exec(tx, kAddVoters, id, result.registered, ms_string(now));
        json payload{{"registered", result.registered},
                     {"duplicates", result.duplicates},
                     {"votersRegistered", total}};
        if (open) payload["roll"] = commit_roll(c, tx, id, batch);
        append_audit(c, tx, id, "voters.imported", std::move(payload), now);
        tx.commit();
        return result;
      },
      kImportBudget);
}

awaitable<ElectionStats> ElectionStore::stats(std::string id) {
  co_return co_await pool_.run([&](PgConnection& c) {
    pqxx::read_transaction tx(c.raw());
    auto rows = c.exec(tx, kSelectStats, id);
    if (rows.empty()) throw not_found();
    ElectionStats s;
    s.voters_registered = rows[0][0].as<std::int64_t>();
    s.tokens_issued = rows[0][1].as<std::int64_t>();
    s.ballots_cast = rows[0][2].as<std::int64_t>();
    s.ballots_sequenced = rows[0][3].as<std::int64_t>();
    return s;
  });
}

awaitable<std::vector<domain::AuditEvent>> ElectionStore::audit(std::string id, std::int64_t from,
                                                                int limit, bool public_only) {
  auto read = [&](PgConnection& c) {
    pqxx::read_transaction tx(c.raw());
    auto election = c.exec(tx, kSelectElection, id);
    if (election.empty() || (public_only && election[0][3].as<std::string>() == "draft")) {
      if (c.replica()) throw ReplicaBehind();  // created or opened a moment ago, maybe
      throw not_found();
    }
    std::vector<domain::AuditEvent> events;
    for (const auto& row : c.exec(tx, kSelectAuditEvents, id, from, limit)) {
      domain::AuditEvent e;
      e.seq = row[0].as<std::int64_t>();
      e.type = row[1].as<std::string>();
      e.payload = json::parse(row[2].as<std::string>());
      e.at = row[3].as<std::string>();
      e.prev_hash = row[4].as<std::string>();
      e.hash = row[5].as<std::string>();
      events.push_back(std::move(e));
    }
    return events;
  };
  if (public_only) co_return co_await reads_.read(read);
  co_return co_await pool_.run(read);
}

awaitable<std::vector<Election>> ElectionStore::run_schedule() {
  co_return co_await pool_.run([this](PgConnection& c) {
    std::vector<Election> changed;
    pqxx::work tx(c.raw());
    for (const auto& row : c.exec(tx, kSelectDueToOpen)) {
      changed.push_back(open_locked(c, tx, board(), lock_election(c, tx, row[0].as<std::string>()),
                                    Trigger::schedule));
    }
    for (const auto& row : c.exec(tx, kSelectDueToClose)) {
      changed.push_back(close_locked(c, tx, board(), lock_election(c, tx, row[0].as<std::string>()),
                                     Trigger::schedule));
    }
    tx.commit();
    return changed;
  });
}

}  // namespace observernet::store
