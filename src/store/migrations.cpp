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

}  // namespace

int latest_migration_version() {
  return migrations().empty() ? 0 : migrations().back().version;
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

MigrationResult migrate(pqxx::connection_base& conn) {
  MigrationResult result;
  MigrationLock lock(conn);
  {
    {
      pqxx::work tx(conn);
      tx.exec(kCreateMigrationsTable.text);
      tx.commit();
    }
    std::map<int, std::string> applied;
    {
      pqxx::read_transaction tx(conn);
      for (const auto& row : tx.exec(kSelectAppliedMigrations.text)) {
        applied.emplace(row[0].as<int>(), row[1].as<std::string>());
      }
    }
    for (const auto& m : migrations()) {
      std::string checksum = sha256_hex(m.sql);
      if (auto it = applied.find(m.version); it != applied.end()) {
        if (it->second != checksum) {
          throw std::runtime_error("migration " + std::to_string(m.version) +
                                   " was changed after it was applied");
        }
        continue;
      }
      pqxx::work tx(conn);
      tx.exec(std::string(m.sql));
      tx.exec_params(kInsertMigration.text, m.version, std::string(m.name), checksum);
      tx.commit();
      result.applied.push_back(m.version);
    }
    result.version = schema_version(conn);
  }
  return result;
}

MigrationResult migrate(const std::string& database_url) {
  pqxx::connection conn(database_url);
  return migrate(conn);
}

int schema_version(pqxx::connection_base& conn) {
  pqxx::read_transaction tx(conn);
  if (!tx.exec(kMigrationsTableExists.text)[0][0].as<bool>()) return 0;
  return tx.exec(kSelectSchemaVersion.text)[0][0].as<int>();
}

}  // namespace observernet::store
