#pragma once
// PostgreSQL access: a strict pool of libpqxx connections on their own threads,
// and SQL as named constants whose name is also the prepared statement's name.
// Include only from store/ and from api/ sources that talk to the database.
#include <chrono>
#include <cstdint>
#include <memory>
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

// Ends the calls that outlast their deadline by shutting down their connection's socket:
// libpq's wait for the server then ends with the connection lost. A server that stopped
// answering (frozen, or cut off by a partition that drops packets) keeps the TCP
// connection open, and its kernel may even acknowledge what is sent, so neither the
// server's statement_timeout nor a TCP timeout ends that wait (docs/architecture.md, Storage).
// One thread for the pool; a watch costs a lock to arm and one to end.
class CallWatchdog {
 public:
  CallWatchdog();
  ~CallWatchdog();
  CallWatchdog(const CallWatchdog&) = delete;
  CallWatchdog& operator=(const CallWatchdog&) = delete;

  using Clock = std::chrono::steady_clock;
  // Watches `socket` until `deadline`: the watch's id (never 0).
  std::uint64_t arm(int socket, Clock::time_point deadline);
  // A later deadline for a watch still on.
  void extend(std::uint64_t watch, Clock::time_point deadline);
  // Ends a watch: false if it fired (the socket was shut down).
  bool disarm(std::uint64_t watch);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// What every connection of one pool shares (database.*).
struct PgSettings {
  std::chrono::milliseconds statement_timeout{5'000};
  // Each call's budget (database.call_timeout_ms); 0: the statement timeout and a second.
  std::chrono::milliseconds call_timeout{0};
  // Statements are prepared by name on first use (database.prepared_statements).
  bool prepared_statements = true;
  // A read replica's: what it answers may lag the primary (store/pg_reads.hpp).
  bool replica = false;
};

class PgConnection {
 public:
  PgConnection(const std::string& url, std::chrono::milliseconds connect_timeout,
               const PgSettings& settings);

  pqxx::connection& raw() { return conn_; }
  // On a read replica: a read that finds less than it knows the primary holds throws
  // ReplicaBehind, and is read again on the primary (store/pg_reads.hpp).
  bool replica() const { return replica_; }
  bool broken() const { return broken_ || !conn_.is_open(); }
  void mark_broken() { broken_ = true; }

  // The call on this connection is watched (PgPool): each statement sent through exec()
  // moves its deadline to `budget` from then, so that a call of many statements is cut
  // only when one of them, or the commit after the last, outlasts the budget.
  void watch(CallWatchdog* watchdog, std::uint64_t watch, std::chrono::milliseconds budget) {
    watchdog_ = watchdog;
    watch_ = watch;
    budget_ = budget;
  }

  // Prepares `sql` on this connection the first time, then executes it; a statement
  // planned per call, or any on a connection that prepares none, is sent with its
  // parameters each time instead (an unnamed statement).
  template <class... Args>
  pqxx::result exec(pqxx::transaction_base& tx, const Sql& sql, Args&&... args) {
    if (watch_ != 0) watchdog_->extend(watch_, CallWatchdog::Clock::now() + budget_);
    if (sql.planned_per_call || !prepared_) {
      return tx.exec_params(sql.text, std::forward<Args>(args)...);
    }
    if (!prepared_names_.contains(sql.name)) {
      conn_.prepare(sql.name, sql.text);
      prepared_names_.insert(sql.name);
    }
    return tx.exec_prepared(sql.name, std::forward<Args>(args)...);
  }

 private:
  pqxx::connection conn_;
  bool prepared_;
  bool replica_;
  std::unordered_set<const char*> prepared_names_;
  bool broken_ = false;
  CallWatchdog* watchdog_ = nullptr;
  std::uint64_t watch_ = 0;
  std::chrono::milliseconds budget_{0};
};

class PgPool {
 public:
  // `name`: the pool metrics' label.
  PgPool(std::string url, util::PoolOptions options, PgSettings settings,
         prometheus::Registry& registry, std::string name = "postgres");
  ~PgPool();

  // fn(PgConnection&) on a database thread; the coroutine resumes on its executor.
  // A call that failed on a broken connection is retried once on a fresh one (only
  // pqxx::broken_connection: the transaction cannot have committed). A call whose
  // statement (or commit) has had no answer within `budget` (call_timeout by default)
  // is cut (CallWatchdog). A lost or cut connection, a commit of unknown outcome, and
  // the server's own timeouts and shutdowns throw Error(service_unavailable) with
  // Retry-After; other errors pass unchanged.
  template <class F>
  boost::asio::awaitable<std::invoke_result_t<F&, PgConnection&>> run(F fn) {
    return run(std::move(fn), call_timeout_);
  }
  template <class F>
  boost::asio::awaitable<std::invoke_result_t<F&, PgConnection&>> run(
      F fn, std::chrono::milliseconds budget) {
    try {
      co_return co_await pool_.run(guard(std::move(fn), budget));
    } catch (...) {
      rethrow_unavailable();
    }
  }
  template <class F>
  std::invoke_result_t<F&, PgConnection&> run_blocking(F fn) {
    try {
      return pool_.run_blocking(guard(std::move(fn), call_timeout_));
    } catch (...) {
      rethrow_unavailable();
    }
  }

  void warm_up() { pool_.warm_up(); }
  void shutdown() { pool_.shutdown(); }

 private:
  template <class F>
  auto guard(F fn, std::chrono::milliseconds budget) {
    return [fn = std::move(fn), watchdog = watchdog_.get(),
            budget](PgConnection& c) mutable -> std::invoke_result_t<F&, PgConnection&> {
      const auto watch = watchdog->arm(c.raw().sock(), CallWatchdog::Clock::now() + budget);
      c.watch(watchdog, watch, budget);
      struct Unwatch {
        CallWatchdog* watchdog;
        std::uint64_t watch;
        PgConnection& c;
        ~Unwatch() {
          c.watch(nullptr, 0, {});
          if (!watchdog->disarm(watch)) c.mark_broken();  // cut: its socket is shut
        }
      } unwatch{watchdog, watch, c};
      try {
        return fn(c);
      } catch (const pqxx::broken_connection&) {
        c.mark_broken();
        throw;
      }
    };
  }
  // Rethrows the current exception, as Error(service_unavailable) when the database was
  // unreachable or gave up on the call.
  [[noreturn]] static void rethrow_unavailable();

  std::unique_ptr<CallWatchdog> watchdog_;
  std::chrono::milliseconds call_timeout_;
  util::BlockingPool<PgConnection> pool_;
};

}  // namespace observernet::store
