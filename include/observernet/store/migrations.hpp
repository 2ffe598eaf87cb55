#pragma once
// Versioned schema migrations, compiled into the binary from migrations/NNNN_name.sql.
#include <string>
#include <string_view>
#include <vector>

namespace pqxx {
class connection_base;
}

namespace observernet::store {

struct Migration {
  int version;
  std::string_view name;
  std::string_view sql;
};

// All migrations, ascending by version.
const std::vector<Migration>& migrations();
int latest_migration_version();

struct MigrationResult {
  std::vector<int> applied;  // versions applied by this call (empty: nothing to do)
  int version = 0;           // the schema version afterwards
};

// Applies what is missing, each migration in its own transaction, under a
// PostgreSQL advisory lock so that pods starting together take turns. Throws if an
// applied migration's text differs from the one in this binary.
// The connection's statement_timeout is lifted for the session: a migration, or the
// wait for another pod's lock, may take long. Use a dedicated connection.
MigrationResult migrate(pqxx::connection_base& conn);

// The same on a new connection of its own (`observernet migrate`, `serve --migrate`).
MigrationResult migrate(const std::string& database_url);

// Highest applied version, 0 when nothing was ever applied.
int schema_version(pqxx::connection_base& conn);

}  // namespace observernet::store
