#include "observernet/store/migrations.hpp"

#include <openssl/evp.h>

#include <map>
#include <pqxx/pqxx>
#include <stdexcept>

#include "observernet/store/pg_pool.hpp"

namespace observernet::store {
namespace {

// Any fixed 64-bit key; every ObserverNet process uses the same one.
constexpr long long kMigrationLockKey = 0x4f62734e65744d67;  // "ObsNetMg"

OBSERVERNET_SQL(kCreateMigrationsTable,
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " version integer PRIMARY KEY,"
                " name text NOT NULL,"
                " checksum text NOT NULL,"
                " applied_at timestamptz NOT NULL DEFAULT now())");
OBSERVERNET_SQL(kSelectAppliedMigrations, "SELECT version, checksum FROM schema_migrations");
OBSERVERNET_SQL(kInsertMigration,
                "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)");
OBSERVERNET_SQL(kSelectSchemaVersion, "SELECT coalesce(max(version), 0) FROM schema_migrations");
OBSERVERNET_SQL(kMigrationsTableExists, "SELECT to_regclass('schema_migrations') IS NOT NULL");

std::string sha256_hex(std::string_view text) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(text.data(), text.size(), digest, &len, EVP_sha256(), nullptr) != 1) {
    throw std::runtime_error("SHA-256 failed");
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < len; ++i) {
    out.push_back(kHex[digest[i] >> 4]);
    out.push_back(kHex[digest[i] & 15]);
  }
  return out;
}

// Session-level advisory lock held for the whole run; released even when a
// migration fails (a broken connection releases it on the server side anyway).
class MigrationLock {
 public:
  explicit MigrationLock(pqxx::connection_base& conn) : conn_(conn) {
    pqxx::nontransaction tx(conn_);
    tx.exec("SET statement_timeout = 0");
    tx.exec_params("SELECT pg_advisory_lock($1)", kMigrationLockKey);
  }
  ~MigrationLock() {
    try {
      pqxx::nontransaction tx(conn_);
      tx.exec_params("SELECT pg_advisory_unlock($1)", kMigrationLockKey);
    } catch (const std::exception&) {
    }
  }
  MigrationLock(const MigrationLock&) = delete;
  MigrationLock& operator=(const MigrationLock&) = delete;

 private:
  pqxx::connection_base& conn_;
};

// What the runtime role may do, table by table (docs/security.md, Append-only history).
// The history (the audit chain, the roll, the keys, the issued tokens, the sequenced
// ballots, the log's leaves and its tree heads) takes INSERT and SELECT only. The log's
// one row of size and right edge is updated under its lock, by the sequencer, and so are
// the running tallies' counts (derived, not history). An election's row changes, within
// what its trigger allows (migration 0007).
struct Grant {
  std::string_view table;
  std::string_view privileges;
};
constexpr Grant kRuntimeGrants[] = {
    {"schema_migrations", "SELECT"},
    {"elections", "SELECT, INSERT, UPDATE, DELETE"},
    {"voters", "SELECT, INSERT"},
    {"audit_events", "SELECT, INSERT"},
    {"election_keys", "SELECT, INSERT"},
    {"token_issuances", "SELECT, INSERT"},
    {"ballots", "SELECT, INSERT"},
    {"ballots_staged", "SELECT, INSERT, DELETE"},
    {"issuances_staged", "SELECT, INSERT, DELETE"},
    {"issued", "SELECT, INSERT"},
    {"logs", "SELECT, INSERT, UPDATE (tree_size, right_edge, waiting_since)"},
    {"log_chunks", "SELECT, INSERT"},
    {"tree_heads", "SELECT, INSERT"},
    {"tallies", "SELECT, INSERT, UPDATE (count)"},
};

// The staging tables belong to the runtime role: their rows come and go at the ballot
// and token rates, and the sequencer vacuums them (store/board.cpp), which PostgreSQL
// allows their owner only. Handing them over needs the migrating role to be a member of
// the runtime role, as docs/operations.md sets them up.
constexpr std::string_view kRuntimeOwns[] = {"ballots_staged", "issuances_staged"};

void grant_runtime(pqxx::connection_base& conn, const std::string& role) {
  pqxx::work tx(conn);
  if (tx.exec_params("SELECT 1 FROM pg_roles WHERE rolname = $1", role).empty()) {
    throw std::runtime_error("database.runtime_role: no role " + role + " exists");
  }
  if (tx.exec("SELECT current_user")[0][0].as<std::string>() == role) {
    throw std::runtime_error("database.runtime_role: " + role +
                             " runs the migrations; the runtime role must be another role");
  }
  const std::string who = tx.quote_name(role);
  tx.exec("REVOKE ALL ON ALL TABLES IN SCHEMA public FROM " + who);
  tx.exec("GRANT USAGE ON SCHEMA public TO " + who);
  for (const auto& g : kRuntimeGrants) {
    tx.exec("GRANT " + std::string(g.privileges) + " ON " + std::string(g.table) + " TO " + who);
  }
  if (!tx.exec_params("SELECT pg_has_role(current_user, $1, 'MEMBER')", role)[0][0].as<bool>()) {
    throw std::runtime_error("database.runtime_role: the migrating role must be a member of " +
                             role + " (GRANT " + role +
                             " TO the owner) to hand it the staging tables");
  }
  // A new owner needs CREATE on the schema, which the runtime role must not keep: with it,
  // a function of its own in public could capture an unqualified call in a migration run
  // by the owner. Granted and revoked in this one transaction, no one else ever sees it.
  tx.exec("GRANT CREATE ON SCHEMA public TO " + who);
  for (auto table : kRuntimeOwns) tx.exec("ALTER TABLE " + std::string(table) + " OWNER TO " + who);
  tx.exec("REVOKE CREATE ON SCHEMA public FROM " + who);
  tx.commit();
}

// The applied migrations' checksums, checked against this binary's text; the versions
// still to apply. Empty before the first migration.
std::vector<const Migration*> pending(pqxx::connection_base& conn) {
  std::map<int, std::string> applied;
  {
    pqxx::read_transaction tx(conn);
    if (tx.exec(kMigrationsTableExists.text)[0][0].as<bool>()) {
      for (const auto& row : tx.exec(kSelectAppliedMigrations.text)) {
        applied.emplace(row[0].as<int>(), row[1].as<std::string>());
      }
    }
  }
  std::vector<const Migration*> out;
  for (const auto& m : migrations()) {
    if (auto it = applied.find(m.version); it == applied.end()) {
      out.push_back(&m);
    } else if (it->second != sha256_hex(m.sql)) {
      throw std::runtime_error("migration " + std::to_string(m.version) +
                               " was changed after it was applied");
    }
  }
  return out;
}

}  // namespace

int latest_migration_version() {
  return migrations().empty() ? 0 : migrations().back().version;
}

MigrationResult migrate(pqxx::connection_base& conn, const std::string& runtime_role) {
  MigrationResult result;
  // Nothing to apply and no role to grant needs no lock and no DDL, so the runtime role
  // itself may run on a schema its owner migrated (`serve --migrate` of every pod).
  if (!pending(conn).empty() || !runtime_role.empty()) {
    MigrationLock lock(conn);
    {
      pqxx::work tx(conn);
      tx.exec(kCreateMigrationsTable.text);
      tx.commit();
    }
    for (const Migration* m : pending(conn)) {  // again: another pod may have applied some
      pqxx::work tx(conn);
      tx.exec(std::string(m->sql));
      tx.exec_params(kInsertMigration.text, m->version, std::string(m->name), sha256_hex(m->sql));
      tx.commit();
      result.applied.push_back(m->version);
    }
    if (!runtime_role.empty()) grant_runtime(conn, runtime_role);
  }
  result.version = schema_version(conn);
  return result;
}

MigrationResult migrate(const std::string& database_url, const std::string& runtime_role) {
  pqxx::connection conn(database_url);
  return migrate(conn, runtime_role);
}

int schema_version(pqxx::connection_base& conn) {
  pqxx::read_transaction tx(conn);
  if (!tx.exec(kMigrationsTableExists.text)[0][0].as<bool>()) return 0;
  return tx.exec(kSelectSchemaVersion.text)[0][0].as<int>();
}

}  // namespace observernet::store
