#include "observernet/store/voting.hpp"

#include "stored_values.hpp"

#include <chrono>
#include <map>
#include <pqxx/pqxx>
#include <set>
#include <stdexcept>
#include <unordered_map>
#include <unordered_set>

#include "observernet/error.hpp"
#include "observernet/store/pg_pool.hpp"
#include "observernet/store/pg_reads.hpp"
#include "tally.hpp"

namespace observernet::store {
namespace {

using boost::asio::awaitable;
using crypto::Bytes;
using crypto::Digest;

OBSERVERNET_SQL(kSelectTokenKey,
                "SELECT key_id, modulus_bits, encode(public_key, 'hex'),"
                " encode(private_key_sealed, 'hex') FROM election_keys"
                " WHERE election_id = $1::uuid");
OBSERVERNET_SQL(kSelectTokenState,
                "SELECT e.status, encode(v.credential_hash, 'hex'),"
                " encode(t.blinded_message_hash, 'hex'), encode(t.blind_signature, 'hex')"
                " FROM elections e"
                " LEFT JOIN voters v ON v.election_id = e.id AND v.voter_hash = decode($2, 'hex')"
                " LEFT JOIN token_issuances t"
                " ON t.election_id = e.id AND t.voter_hash = decode($2, 'hex')"
                " WHERE e.id = $1::uuid");
// No time of issuance is kept (docs/privacy.md, Times). The voter's hash waits in
// issuances_staged for the next published set (docs/security.md, Issuance transparency).
// A batch is inserted in the order of its voter hashes, not of its requests.
OBSERVERNET_SQL(kInsertTokenIssuances,
                "WITH issued AS (INSERT INTO token_issuances (election_id, voter_hash,"
                " blinded_message_hash, blind_signature)"
                " SELECT e, decode(v, 'hex'), decode(b, 'hex'), decode(s, 'hex')"
                " FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[]) AS t(e, v, b, s)"
                " ON CONFLICT DO NOTHING RETURNING election_id, voter_hash),"
                " staged AS (INSERT INTO issuances_staged (election_id, voter_hash)"
                " SELECT election_id, voter_hash FROM issued)"
                " SELECT election_id::text, encode(voter_hash, 'hex') FROM issued");
OBSERVERNET_SQL_PLANNED(kSelectTokenIssuances,
                        "SELECT t.election_id::text, encode(t.voter_hash, 'hex'),"
                        " encode(t.blinded_message_hash, 'hex'), encode(t.blind_signature, 'hex')"
                        " FROM token_issuances t JOIN unnest($1::uuid[], $2::text[]) AS u(e, v)"
                        " ON t.election_id = u.e AND t.voter_hash = decode(u.v, 'hex')");
// Key-share locks: a close (FOR UPDATE on the row) waits for this batch, or this batch
// sees the election closed; no ballot or token is recorded after the close that decides
// the result and counts the tokens issued (store/elections.cpp). A row held FOR UPDATE
// (an opening or a close under way) is skipped, not waited for: its requests are answered
// 503 and retried, and the batch's other elections go on. A voter import holds its row
// FOR NO KEY UPDATE, which this lock does not wait for.
OBSERVERNET_SQL(kLockElections,
                "SELECT id::text, status = 'open' FROM elections WHERE id = ANY($1::uuid[])"
                " FOR KEY SHARE SKIP LOCKED");
// Accepted ballots wait for the board in the staging table (migration 0006): no time,
// and no order that outlives their set's publication.
OBSERVERNET_SQL(kStageBallots,
                "INSERT INTO ballots_staged (election_id, token_message, leaf, receipt)"
                " SELECT e, decode(m, 'hex'), l, decode(r, 'hex')"
                " FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[]) AS t(e, m, l, r)"
                " ON CONFLICT DO NOTHING RETURNING encode(receipt, 'hex')");
// The ballots already on the board with one of these tokens. Read after staging, in a
// statement of its own: a sequencer that moved the same token to ballots committed
// before the staging insert could go on (it waits for the staged row's key), so this
// snapshot sees it.
OBSERVERNET_SQL_PLANNED(kSelectSequencedTokens,
                        "SELECT b.election_id::text, encode(b.token_message, 'hex'),"
                        " encode(b.receipt, 'hex')"
                        " FROM ballots b JOIN unnest($1::uuid[], $2::text[]) AS t(e, m)"
                        " ON b.election_id = t.e AND b.token_message = decode(t.m, 'hex')");
OBSERVERNET_SQL_PLANNED(kUnstage,
                        "DELETE FROM ballots_staged"
                        " WHERE receipt IN (SELECT decode(r, 'hex') FROM unnest($1::text[]) AS r)");
// The stored ballot of each token, staged or on the board: one snapshot sees it in
// exactly one of the two (the sequencer moves it in one transaction).
OBSERVERNET_SQL_PLANNED(
    kSelectBallotsByToken,
    "SELECT b.election_id::text, encode(b.token_message, 'hex'),"
    " encode(b.receipt, 'hex')"
    " FROM (SELECT election_id, token_message, receipt FROM ballots"
    " UNION ALL SELECT election_id, token_message, receipt FROM ballots_staged) b"
    " JOIN unnest($1::uuid[], $2::text[]) AS t(e, m)"
    " ON b.election_id = t.e AND b.token_message = decode(t.m, 'hex')");
OBSERVERNET_SQL(kSelectReceipt,
                "SELECT election_id::text, false FROM ballots WHERE receipt = decode($1, 'hex')"
                " UNION ALL SELECT s.election_id::text, true FROM ballots_staged s"
                " WHERE s.receipt = decode($1, 'hex')");
// The running tally the sequencer keeps (migration 0011, store/board.cpp): a few rows an
// election whatever its size; a recount of every leaf took 32 s at 10,000,000 ballots
// (docs/benchmarks.md, Growth).
OBSERVERNET_SQL(kTally,
                "SELECT contest_id, option_id, count FROM tallies WHERE election_id = $1::uuid");
// The tally counts the ballots on the board only: live results change with each
// published set, never with a single ballot (docs/security.md). Each is one leaf of the
// log, published in the transaction that adds it to the tally.
OBSERVERNET_SQL(kCountBallots,
                "SELECT coalesce((SELECT tree_size FROM logs WHERE election_id = $1::uuid), 0)");
// Turnout counts every accepted ballot, staged or on the board.
OBSERVERNET_SQL(kCountCast,
                "SELECT coalesce((SELECT tree_size FROM logs WHERE election_id = $1::uuid), 0)"
                " + (SELECT count(*) FROM ballots_staged WHERE election_id = $1::uuid)");
OBSERVERNET_SQL(kSelectElectionVersion, "SELECT version FROM elections WHERE id = $1::uuid");
OBSERVERNET_SQL(kCountCastOfElections,
                "SELECT e::text, coalesce((SELECT tree_size FROM logs WHERE election_id = e), 0)"
                " + (SELECT count(*) FROM ballots_staged WHERE election_id = e)"
                " FROM unnest($1::uuid[]) AS e");

// Locks the batch's elections (kLockElections): election id -> what the batch found.
template <class Pending>
std::unordered_map<std::string, BatchElection> lock_elections(PgConnection& c, pqxx::work& tx,
                                                              std::span<const Pending> batch) {
  detail::ArrayLiteral election_ids;
  std::unordered_map<std::string, BatchElection> found;
  for (const auto& p : batch) {
    if (found.emplace(p.election_id, BatchElection::busy).second) election_ids.add(p.election_id);
  }
  for (const auto& row : c.exec(tx, kLockElections, election_ids.str())) {
    found[row[0].as<std::string>()] =
        row[1].as<bool>() ? BatchElection::open : BatchElection::not_open;
  }
  return found;
}

domain::TimePoint this_minute() {
  return std::chrono::floor<std::chrono::minutes>(
      std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now()));
}

}  // namespace

namespace detail {

domain::Tally read_tally(PgConnection& c, pqxx::transaction_base& tx,
                         const std::string& election_id) {
  domain::Tally tally;
  for (const auto& row : c.exec(tx, kTally, election_id)) {
    auto option = row[1].as<std::string>();
    if (option.empty()) {
      tally.ballots[row[0].as<std::string>()] = row[2].as<std::int64_t>();
    } else {
      tally.votes[{row[0].as<std::string>(), std::move(option)}] = row[2].as<std::int64_t>();
    }
  }
  tally.ballots_cast = c.exec(tx, kCountBallots, election_id)[0][0].as<std::int64_t>();
  return tally;
}

std::int64_t ballots_cast(PgConnection& c, pqxx::transaction_base& tx,
                          const std::string& election_id) {
  return c.exec(tx, kCountCast, election_id)[0][0].as<std::int64_t>();
}

}  // namespace detail

Error election_busy() {
  return Error(ErrorCode::service_unavailable,
               "The election is being opened or closed this moment; retry shortly.", {},
               "election row locked")
      .with_retry_after(1);
}

VotingStore::VotingStore(PgReads& db) : pool_(db.primary()), reads_(db) {}

awaitable<std::optional<TokenKeyRecord>> VotingStore::token_key(std::string election_id) {
  co_return co_await pool_.run([&election_id](PgConnection& c) -> std::optional<TokenKeyRecord> {
    pqxx::read_transaction tx(c.raw());
    auto rows = c.exec(tx, kSelectTokenKey, election_id);
    if (rows.empty()) return std::nullopt;
    TokenKeyRecord k;
    k.key_id = rows[0][0].as<std::string>();
    k.modulus_bits = rows[0][1].as<int>();
    k.public_key = detail::stored_bytes(rows[0][2].c_str());
    k.private_key_sealed = detail::stored_bytes(rows[0][3].c_str());
    return k;
  });
}

awaitable<TokenRequestState> VotingStore::token_state(std::string election_id,
                                                      crypto::Digest voter_hash) {
  const std::string voter = crypto::to_hex(voter_hash);
  co_return co_await pool_.run([&](PgConnection& c) {
    // One statement, one snapshot: no BEGIN and COMMIT round trips around it.
    pqxx::nontransaction tx(c.raw());
    auto rows = c.exec(tx, kSelectTokenState, election_id, voter);
    if (rows.empty()) throw Error(ErrorCode::not_found, "No election with this id.");
    const auto& row = rows[0];
    TokenRequestState state;
    state.status = *domain::parse_election_status(row[0].as<std::string>());
    if (!row[1].is_null()) state.credential_hash = detail::stored_digest(row[1].c_str());
    if (!row[2].is_null())
      state.issued = TokenIssuance{detail::stored_digest(row[2].c_str()),
                                   detail::stored_bytes(row[3].c_str())};
    return state;
  });
}

std::vector<IssuanceWriteResult> VotingStore::write_issuances(
    std::span<const PendingIssuance> batch) {
  return pool_.run_blocking([batch](PgConnection& c) {
    std::vector<IssuanceWriteResult> results(batch.size());
    pqxx::work tx(c.raw());
    const auto elections = lock_elections(c, tx, batch);

    // One insert candidate per (election, voter), in that order: two writers' batches
    // then wait on each other's rows in one order. A repeat within the batch gets what
    // the first one recorded.
    std::map<std::pair<std::string, std::string>, std::size_t> first_of_voter;
    std::vector<std::string> voter_hex(batch.size());
    for (std::size_t i = 0; i < batch.size(); ++i) {
      results[i].election = elections.at(batch[i].election_id);
      if (results[i].election != BatchElection::open) continue;
      voter_hex[i] = crypto::to_hex(batch[i].voter_hash);
      first_of_voter.emplace(std::pair{batch[i].election_id, voter_hex[i]}, i);
    }
    if (first_of_voter.empty()) return results;
    detail::ArrayLiteral e, v, b, sig;
    for (const auto& [key, i] : first_of_voter) {
      e.add(key.first);
      v.add(key.second);
      b.add(crypto::to_hex(batch[i].issuance.blinded_message_hash));
      sig.add(crypto::to_hex(batch[i].issuance.blind_signature));
    }
    std::set<std::pair<std::string, std::string>> recorded;
    for (const auto& row :
         c.exec(tx, kInsertTokenIssuances, e.str(), v.str(), b.str(), sig.str())) {
      recorded.emplace(row[0].as<std::string>(), row[1].as<std::string>());
    }
    // Recorded by an earlier transaction: what it stored decides.
    std::vector<std::size_t> earlier;
    detail::ArrayLiteral ee, ev;
    for (std::size_t i = 0; i < batch.size(); ++i) {
      if (results[i].election != BatchElection::open) continue;
      const std::pair key{batch[i].election_id, voter_hex[i]};
      if (recorded.contains(key)) {
        const std::size_t first = first_of_voter.at(key);
        results[i].recorded = batch[first].issuance;
        results[i].recorded.recorded_now = first == i;
      } else {
        earlier.push_back(i);
        ee.add(key.first);
        ev.add(key.second);
      }
    }
    if (!earlier.empty()) {
      std::map<std::pair<std::string, std::string>, TokenIssuance> stored;
      for (const auto& row : c.exec(tx, kSelectTokenIssuances, ee.str(), ev.str())) {
        stored[{row[0].as<std::string>(), row[1].as<std::string>()}] = TokenIssuance{
            detail::stored_digest(row[2].c_str()), detail::stored_bytes(row[3].c_str())};
      }
      for (std::size_t i : earlier) {
        auto it = stored.find({batch[i].election_id, voter_hex[i]});
        if (it == stored.end()) throw std::runtime_error("a conflicting issuance was not found");
        results[i].recorded = it->second;
      }
    }
    tx.commit();
    return results;
  });
}

std::vector<BallotWriteResult> VotingStore::write_ballots(std::span<const PendingBallot> batch) {
  return pool_.run_blocking([batch](PgConnection& c) {
    // acceptedAt is the minute of this answer: no time is stored with a ballot.
    const domain::TimePoint minute = this_minute();
    std::vector<BallotWriteResult> results(batch.size(),
                                           {BallotOutcome::election_not_open, minute});
    pqxx::work tx(c.raw());
    const auto elections = lock_elections(c, tx, batch);

    // One insert candidate per (election, token); a repeat within the batch is resolved
    // against what is stored afterwards, like a repeat from an earlier batch. Keys view
    // the batch's ids and the hex below, which outlive the map.
    std::map<std::pair<std::string_view, std::string_view>, std::size_t> first_of_token;
    std::vector<std::size_t> unresolved;
    std::vector<std::string> token_hex(batch.size()), receipt_hex(batch.size());
    for (std::size_t i = 0; i < batch.size(); ++i) {
      const PendingBallot& b = batch[i];
      const BatchElection found = elections.at(b.election_id);
      if (found == BatchElection::busy) results[i].outcome = BallotOutcome::election_busy;
      if (found != BatchElection::open) continue;
      token_hex[i] = crypto::to_hex(b.token_message);
      receipt_hex[i] = crypto::to_hex(b.receipt);
      const std::pair<std::string_view, std::string_view> key{b.election_id, token_hex[i]};
      if (!first_of_token.emplace(key, i).second) unresolved.push_back(i);
    }
    std::unordered_set<std::string> staged;  // hex receipts
    if (!first_of_token.empty()) {
      // In (election, token) order: two writers' batches then wait on each other's rows
      // in one order, so a token in both cannot deadlock them.
      detail::ArrayLiteral e, m, l, r;
      for (const auto& [key, i] : first_of_token) {
        e.add(key.first);
        m.add(key.second);
        l.add(batch[i].leaf);
        r.add(receipt_hex[i]);
      }
      for (const auto& row : c.exec(tx, kStageBallots, e.str(), m.str(), l.str(), r.str())) {
        staged.insert(row[0].as<std::string>());
      }
      // A token already on the board: what was just staged for it goes again, and the
      // stored ballot decides, as for any other repeat.
      if (!staged.empty()) {
        detail::ArrayLiteral se, sm, unstage;
        for (const auto& [key, i] : first_of_token) {
          if (!staged.contains(receipt_hex[i])) continue;
          se.add(key.first);
          sm.add(key.second);
        }
        for (const auto& row : c.exec(tx, kSelectSequencedTokens, se.str(), sm.str())) {
          const std::size_t i = first_of_token.at({row[0].c_str(), row[1].c_str()});
          unstage.add(receipt_hex[i]);
          staged.erase(receipt_hex[i]);
        }
        if (!unstage.empty()) c.exec(tx, kUnstage, unstage.str());
      }
    }
    for (const auto& [token, i] : first_of_token) {
      if (staged.contains(receipt_hex[i])) {
        results[i].outcome = BallotOutcome::accepted;
      } else {
        unresolved.push_back(i);
      }
    }
    if (!unresolved.empty()) {
      detail::ArrayLiteral ue, um;
      for (std::size_t i : unresolved) {
        ue.add(batch[i].election_id);
        um.add(token_hex[i]);
      }
      // (election, token) -> hex receipt of the stored ballot.
      std::map<std::pair<std::string, std::string>, std::string> stored;
      for (const auto& row : c.exec(tx, kSelectBallotsByToken, ue.str(), um.str())) {
        stored[{row[0].as<std::string>(), row[1].as<std::string>()}] = row[2].as<std::string>();
      }
      for (std::size_t i : unresolved) {
        auto it = stored.find({batch[i].election_id, token_hex[i]});
        if (it == stored.end()) throw std::runtime_error("a conflicting ballot was not found");
        results[i].outcome = it->second == receipt_hex[i] ? BallotOutcome::duplicate
                                                          : BallotOutcome::token_already_used;
      }
    }
    tx.commit();
    return results;
  });
}

awaitable<std::optional<ReceiptStatus>> VotingStore::find_receipt(crypto::Digest receipt) {
  const std::string hex = crypto::to_hex(receipt);
  co_return co_await reads_.read([&hex](PgConnection& c) -> std::optional<ReceiptStatus> {
    pqxx::read_transaction tx(c.raw());
    auto rows = c.exec(tx, kSelectReceipt, hex);
    if (rows.empty()) {
      if (c.replica()) throw ReplicaBehind();  // given a moment ago, maybe
      return std::nullopt;
    }
    return ReceiptStatus{rows[0][0].as<std::string>(), rows[0][1].as<bool>()};
  });
}

awaitable<domain::Tally> VotingStore::tally(std::string election_id, std::int64_t version) {
  co_return co_await reads_.read([&election_id, &version](PgConnection& c) {
    // One snapshot for the three counts.
    pqxx::transaction<pqxx::repeatable_read, pqxx::read_only> tx(c.raw());
    if (c.replica()) {
      auto rows = c.exec(tx, kSelectElectionVersion, election_id);
      if (rows.empty() || rows[0][0].as<std::int64_t>() < version) throw ReplicaBehind();
    }
    domain::Tally tally = detail::read_tally(c, tx, election_id);
    tx.commit();
    return tally;
  });
}

awaitable<std::int64_t> VotingStore::ballots_cast(std::string election_id) {
  co_return co_await pool_.run([&election_id](PgConnection& c) {
    pqxx::read_transaction tx(c.raw());
    return detail::ballots_cast(c, tx, election_id);
  });
}

awaitable<std::map<std::string, std::int64_t>> VotingStore::ballots_cast(
    std::vector<std::string> election_ids) {
  detail::ArrayLiteral ids;
  for (const auto& id : election_ids) ids.add(id);
  const std::string array = ids.str();
  co_return co_await reads_.read([&array](PgConnection& c) {
    pqxx::read_transaction tx(c.raw());
    std::map<std::string, std::int64_t> counts;
    for (const auto& row : c.exec(tx, kCountCastOfElections, array)) {
      counts[row[0].as<std::string>()] = row[1].as<std::int64_t>();
    }
    return counts;
  });
}

}  // namespace observernet::store
