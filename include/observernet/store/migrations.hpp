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
// applied migration's text differs from the one in this binary. With nothing to apply it
// changes nothing and needs no privilege beyond reading schema_migrations.
// While migrating, the connection's statement_timeout is lifted for the session: a
// migration, or the wait for another pod's lock, may take long. Use a dedicated connection.
//
// With a `runtime_role` (database.runtime_role), the connection's role owns the schema
// and the runtime role gets exactly the privileges the server needs, granted again at
// every run: INSERT and SELECT only on the history (docs/security.md, Append-only
// history). Throws if the role is missing, is the connection's own, or does not have the
// connection's role as a member.
MigrationResult migrate(pqxx::connection_base& conn, const std::string& runtime_role = {});

// The same on a new connection of its own (`observernet migrate`, `serve --migrate`).
MigrationResult migrate(const std::string& database_url, const std::string& runtime_role = {});

// Highest applied version, 0 when nothing was ever applied.
int schema_version(pqxx::connection_base& conn);

}  // namespace observernet::store
