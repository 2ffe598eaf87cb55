#pragma once
// PostgreSQL access: a strict pool of libpqxx connections on their own threads,
// and SQL as named constants whose name is also the prepared statement's name.
// Include only from store/ and from api/ sources that talk to the database.
#include <chrono>
#include <string>
#include <unordered_set>

#include <pqxx/pqxx>

#include "observernet/util/pool.hpp"

namespace observernet::store {

struct Sql {
  const char* name;
  const char* text;
  // Planned at every call, with its parameters and the tables' size then, instead of
  // prepared once (OBSERVERNET_SQL_PLANNED).
  bool planned_per_call = false;
};

// OBSERVERNET_SQL(kSelectX, "SELECT … WHERE id = $1"): `kSelectX` names the statement.
#define OBSERVERNET_SQL(ident, sql_text)             \
  inline constexpr ::observernet::store::Sql ident { \
#ident, sql_text                                 \
  }

// A statement that looks up a list of keys in a table that grows during an election
// (`JOIN unnest($1)`, `IN (SELECT … unnest($1))`). Prepared, PostgreSQL switches to a
// generic plan after five calls and keeps it until the table is next analyzed: a plan
// made while the table was empty hashes a sequential scan of it, which at 300,000 ballots
// takes 160 ms a call instead of 1.4 ms for 200 index lookups. Planned at each call, the
// plan follows the table's size on disk.
#define OBSERVERNET_SQL_PLANNED(ident, sql_text)     \
  inline constexpr ::observernet::store::Sql ident { \
#ident, sql_text, true                           \
  }

class PgConnection {
 public:
  PgConnection(const std::string& url, std::chrono::milliseconds connect_timeout,
               std::chrono::milliseconds statement_timeout);

  pqxx::connection& raw() { return conn_; }
  bool broken() const { return broken_ || !conn_.is_open(); }
  void mark_broken() { broken_ = true; }

  // Prepares `sql` on this connection the first time, then executes it; a statement
  // planned per call is sent with its parameters each time instead.
  template <class... Args>
  pqxx::result exec(pqxx::transaction_base& tx, const Sql& sql, Args&&... args) {
    if (sql.planned_per_call) return tx.exec_params(sql.text, std::forward<Args>(args)...);
    if (!prepared_.contains(sql.name)) {
      conn_.prepare(sql.name, sql.text);
      prepared_.insert(sql.name);
    }
    return tx.exec_prepared(sql.name, std::forward<Args>(args)...);
  }

 private:
  pqxx::connection conn_;
  std::unordered_set<const char*> prepared_;
  bool broken_ = false;
};

class PgPool {
 public:
  PgPool(std::string url, util::PoolOptions options, std::chrono::milliseconds statement_timeout,
         prometheus::Registry& registry);

  // fn(PgConnection&) on a database thread; the coroutine resumes on its executor.
  // A call that failed on a broken connection is retried once on a fresh one (only
  // pqxx::broken_connection: the transaction cannot have committed).
  template <class F>
  boost::asio::awaitable<std::invoke_result_t<F&, PgConnection&>> run(F fn) {
    return pool_.run(guard(std::move(fn)));
  }
  template <class F>
  std::invoke_result_t<F&, PgConnection&> run_blocking(F fn) {
    return pool_.run_blocking(guard(std::move(fn)));
  }

  void warm_up() { pool_.warm_up(); }
  void shutdown() { pool_.shutdown(); }

 private:
  template <class F>
  static auto guard(F fn) {
    return
        [fn = std::move(fn)](PgConnection& c) mutable -> std::invoke_result_t<F&, PgConnection&> {
          try {
            return fn(c);
          } catch (const pqxx::broken_connection&) {
            c.mark_broken();
            throw;
          }
        };
  }

  util::BlockingPool<PgConnection> pool_;
};

}  // namespace observernet::store
