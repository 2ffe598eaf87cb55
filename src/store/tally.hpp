#pragma once
// The tally as PostgreSQL counts it, for the stores' own use (results route, and the
// results.published audit event at close). Private to src/store.
#include <pqxx/pqxx>
#include <string>

#include "observernet/domain/ballot.hpp"
#include "observernet/store/pg_pool.hpp"

namespace observernet::store::detail {

// Within `tx`'s snapshot: one consistent count when tx is repeatable read, or when the
// election's row is locked against new ballots (a close).
domain::Tally read_tally(PgConnection& c, pqxx::transaction_base& tx,
                         const std::string& election_id);

// Ballots cast, sequenced or not.
std::int64_t ballots_cast(PgConnection& c, pqxx::transaction_base& tx,
                          const std::string& election_id);

}  // namespace observernet::store::detail
