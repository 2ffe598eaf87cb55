// Migrations, the append-only history, the PostgreSQL pool's recovery after a restart, Redis lanes
// and the public cache.
#include <gtest/gtest.h>

#include <hiredis/hiredis.h>
#include <array>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <functional>
#include <future>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <thread>

#include <pqxx/pqxx>

#include "observernet/cache/public_cache.hpp"
#include "observernet/cache/redis_lanes.hpp"
#include "observernet/crypto/hash.hpp"
#include "observernet/store/migrations.hpp"
#include "observernet/store/pg_pool.hpp"
#include "support.hpp"

namespace observernet::testing {
namespace {

using namespace std::chrono_literals;

TEST(MigrationsTest, ConcurrentRunsApplyEachMigrationOnce) {
  const std::string url = owner_database_url();
  const std::string role = runtime_role();
  {
    pqxx::connection conn(url);
    pqxx::work tx(conn);
    // From nothing: the throw-away database's schema, with everything in it.
    tx.exec("DROP SCHEMA public CASCADE");
    tx.exec("CREATE SCHEMA public");
    tx.commit();
  }
  std::vector<std::future<store::MigrationResult>> runs;
  for (int i = 0; i < 4; ++i) {
    runs.push_back(std::async(std::launch::async, [&url, &role] {
      pqxx::connection conn(url);
      return store::migrate(conn, role);
    }));
  }
  std::size_t applied = 0;
  for (auto& run : runs) {
    auto result = run.get();
    applied += result.applied.size();
    EXPECT_EQ(result.version, store::latest_migration_version());
  }
  EXPECT_EQ(applied, store::migrations().size()) << "some migration ran twice or not at all";

  pqxx::connection conn(url);
  EXPECT_TRUE(store::migrate(conn, role).applied.empty()) << "a re-run must be a no-op";
  pqxx::read_transaction tx(conn);
  auto rows = tx.exec("SELECT count(*), count(DISTINCT version) FROM schema_migrations");
  EXPECT_EQ(rows[0][0].as<std::size_t>(), store::migrations().size());
  EXPECT_EQ(rows[0][1].as<std::size_t>(), store::migrations().size());
}

TEST(MigrationsTest, AnEditedAppliedMigrationIsRefused) {
  pqxx::connection conn(owner_database_url());
  store::migrate(conn);
  {
    pqxx::work tx(conn);
    tx.exec("UPDATE schema_migrations SET checksum = 'tampered' WHERE version = 1");
    tx.commit();
  }
  EXPECT_THROW(store::migrate(conn), std::runtime_error);
  // Put it back so other tests see a healthy schema.
  pqxx::work tx(conn);
  tx.exec("DELETE FROM schema_migrations WHERE version = 1");
  tx.commit();
  EXPECT_EQ(store::migrate(conn, runtime_role()).applied, std::vector<int>{1});
}

// The server's role may add to the history but never change or remove it
// (docs/security.md, Append-only history). PostgreSQL checks privileges when it plans a
// statement, so a statement that would touch no row is refused all the same.
TEST(AppendOnlyTest, TheRuntimeRoleCannotUpdateOrDeleteHistory) {
  pqxx::connection conn(required_env("OBSERVERNET_TEST_DATABASE_URL"));
  const std::vector<std::pair<std::string, std::string>> history = {
      {"audit_events", "payload = payload"},
      {"log_chunks", "leaf_hashes = leaf_hashes"},
      {"tree_heads", "root_hash = root_hash"},
      {"ballots", "leaf = leaf"},
      {"token_issuances", "blind_signature = blind_signature"},
      {"voters", "credential_hash = credential_hash"},
      {"issued", "voter_hash = voter_hash"},
      {"election_keys", "public_key = public_key"}};
  for (const auto& [table, assignment] : history) {
    for (const std::string& statement :
         {"UPDATE " + table + " SET " + assignment, "DELETE FROM " + table, "TRUNCATE " + table}) {
      pqxx::work tx(conn);
      EXPECT_THROW(tx.exec(statement), pqxx::insufficient_privilege) << statement;
    }
  }
  // The log's row: its size and right edge move under its lock, and nothing else.
  {
    pqxx::work tx(conn);
    EXPECT_NO_THROW(tx.exec("UPDATE logs SET tree_size = tree_size WHERE false"));
  }
  pqxx::work tx(conn);
  EXPECT_THROW(tx.exec("UPDATE logs SET election_id = election_id"), pqxx::insufficient_privilege);
}

// ON DELETE CASCADE from elections runs as the tables' owner, so the trigger is what keeps
// an election's audit chain, roll and keys: they go with a draft, and with nothing else.
TEST(AppendOnlyTest, OnlyADraftCanBeDeletedAndNoElectionGoesBack) {
  auto election = [](pqxx::connection& conn, const std::string& status) {
    pqxx::work tx(conn);
    auto id = tx.exec_params(
                    "INSERT INTO elections (title, description, status, results_visibility,"
                    " contests, created_at, updated_at)"
                    " VALUES ('append-only test', '', $1, 'after_close', $2, now(), now())"
                    " RETURNING id::text",
                    status, kStoredContests)[0][0]
                  .as<std::string>();
    tx.exec_params(
        "INSERT INTO audit_events (election_id, seq, type, payload, at, prev_hash, hash)"
        " VALUES ($1::uuid, 1, 'election.created', '{}', '', '', '')",
        id);
    tx.commit();
    return id;
  };
  auto refused = [](pqxx::connection& conn, const std::string& statement) {
    pqxx::work tx(conn);
    try {
      tx.exec(statement);
    } catch (const pqxx::sql_error& e) {
      return e.sqlstate() == "23001";  // restrict_violation, raised by the trigger
    }
    return false;
  };
  auto events = [](pqxx::connection& conn, const std::string& id) {
    pqxx::read_transaction tx(conn);
    return tx
        .exec_params("SELECT count(*) FROM audit_events WHERE election_id = $1::uuid", id)[0][0]
        .as<int>();
  };

  pqxx::connection runtime(required_env("OBSERVERNET_TEST_DATABASE_URL"));
  pqxx::connection owner(owner_database_url());
  const std::string open = election(runtime, "open");
  for (auto* conn : {&runtime, &owner}) {
    EXPECT_TRUE(refused(*conn, "DELETE FROM elections WHERE id = '" + open + "'"));
    EXPECT_TRUE(refused(*conn, "UPDATE elections SET status = 'draft' WHERE id = '" + open + "'"));
    EXPECT_TRUE(refused(*conn, "UPDATE elections SET audit_seq = -1 WHERE id = '" + open + "'"));
    EXPECT_TRUE(
        refused(*conn, "UPDATE elections SET roll_commitments = -1 WHERE id = '" + open + "'"));
  }
  EXPECT_EQ(events(owner, open), 1);
  {
    pqxx::work tx(runtime);
    tx.exec("UPDATE elections SET status = 'closed' WHERE id = '" + open + "'");
    tx.commit();
  }
  EXPECT_TRUE(refused(runtime, "UPDATE elections SET status = 'open' WHERE id = '" + open + "'"));

  const std::string draft = election(runtime, "draft");
  {
    pqxx::work tx(runtime);
    EXPECT_EQ(tx.exec("DELETE FROM elections WHERE id = '" + draft + "'").affected_rows(), 1u);
    tx.commit();
  }
  EXPECT_EQ(events(owner, draft), 0) << "a deleted draft's history goes with it";
  remove_election_as_owner(open);
}

TEST(PostgresRecoveryTest, ReadyzFollowsPostgresDownAndBackWithoutARestart) {
  const std::string stop = required_env("OBSERVERNET_TEST_PG_STOP");
  const std::string start = required_env("OBSERVERNET_TEST_PG_START");
  app::Config config = test_config();
  config.database.pool.retry_backoff = 200ms;
  TestServer server(config);
  ASSERT_EQ(http_request(server.port(), "GET", "/readyz").status, 200u);

  ASSERT_EQ(run_shell(stop), 0) << stop;
  auto down = http_request(server.port(), "GET", "/readyz");
  EXPECT_EQ(down.status, 503u);
  EXPECT_EQ(nlohmann::json::parse(down.body)["postgres"], "down");
  EXPECT_EQ(http_request(server.port(), "GET", "/livez").status, 200u) << "alive without the db";

  ASSERT_EQ(run_shell(start), 0) << start;
  EXPECT_TRUE(eventually([&] {
    return http_request(server.port(), "GET", "/readyz").status == 200;
  })) << "the pool did not recover after PostgreSQL came back";
  auto metrics = http_request(server.port(), "GET", "/metrics");
  EXPECT_EQ(metrics.body.find(R"(pool_broken_connections_total{pool="postgres"} 0)"),
            std::string::npos)
      << "the stale connections were not counted as replaced";
}

TEST(PgPoolTest, SqlErrorsPropagateAndTheConnectionIsReused) {
  prometheus::Registry registry;
  util::PoolOptions options;
  options.max = 1;
  store::PgPool pool(required_env("OBSERVERNET_TEST_DATABASE_URL"), options,
                     {.statement_timeout = 5000ms}, registry);
  EXPECT_THROW(pool.run_blocking([](store::PgConnection& c) {
    pqxx::work tx(c.raw());
    tx.exec("SELECT * FROM no_such_table");
  }),
               pqxx::sql_error);
  int pid_a = pool.run_blocking([](store::PgConnection& c) {
    pqxx::read_transaction tx(c.raw());
    return tx.exec("SELECT pg_backend_pid()")[0][0].as<int>();
  });
  int pid_b = pool.run_blocking([](store::PgConnection& c) {
    pqxx::read_transaction tx(c.raw());
    return tx.exec("SELECT pg_backend_pid()")[0][0].as<int>();
  });
  EXPECT_EQ(pid_a, pid_b) << "a healthy connection must go back to the pool";
}

OBSERVERNET_SQL(kSelectSuccessor, "SELECT $1::int + 1");

TEST(PgPoolTest, NamedStatementsArePreparedOncePerConnectionUnderTheirName) {
  prometheus::Registry registry;
  util::PoolOptions options;
  options.max = 1;
  store::PgPool pool(required_env("OBSERVERNET_TEST_DATABASE_URL"), options,
                     {.statement_timeout = 5000ms}, registry);
  auto run = [&] {
    return pool.run_blocking([](store::PgConnection& c) {
      pqxx::work tx(c.raw());
      int value = c.exec(tx, kSelectSuccessor, 41)[0][0].as<int>();
      auto prepared =
          tx.exec("SELECT count(*) FROM pg_prepared_statements WHERE name = 'kSelectSuccessor'");
      return std::pair{value, prepared[0][0].as<int>()};
    });
  };
  EXPECT_EQ(run(), std::pair(42, 1));
  EXPECT_EQ(run(), std::pair(42, 1)) << "prepared again, or not kept, on the same connection";
}

// The same lookup of a list of keys, prepared and planned per call, in a table that grows
// after the first calls (a temporary one: nothing analyzes it meanwhile).
#define OBSERVERNET_TEST_LOOKUP                                    \
  "SELECT count(*) FROM growing g JOIN unnest($1::text[]) AS t(m)" \
  " ON g.k = decode(t.m, 'hex')"
OBSERVERNET_SQL(kLookupPrepared, OBSERVERNET_TEST_LOOKUP);
OBSERVERNET_SQL_PLANNED(kLookupPlanned, OBSERVERNET_TEST_LOOKUP);

TEST(PgPoolTest, ALookupPlannedPerCallUsesTheIndexOnceTheTableHasGrown) {
  prometheus::Registry registry;
  util::PoolOptions options;
  options.max = 1;
  store::PgPool pool(required_env("OBSERVERNET_TEST_DATABASE_URL"), options,
                     {.statement_timeout = 5000ms}, registry);
  // Sequential scans of the table in this transaction, after running `sql`.
  auto scans_after = [](store::PgConnection& c, pqxx::work& tx, const store::Sql& sql,
                        const std::string& keys) {
    c.exec(tx, sql, keys);
    return tx.exec("SELECT seq_scan FROM pg_stat_xact_user_tables WHERE relname = 'growing'")[0][0]
        .as<int>();
  };
  const auto [prepared_scans, planned_scans] = pool.run_blocking([&](store::PgConnection& c) {
    std::string keys = "{";
    for (int i = 0; i < 100; ++i)
      keys += (i ? "," : "") + crypto::to_hex(crypto::sha256(std::to_string(i)));
    keys += "}";
    // Rows as wide as a ballot's: a scan of the table costs what it costs on the board.
    // Committed before the statements are planned: a table created in their transaction
    // would invalidate their plans at its commit.
    {
      pqxx::work create(c.raw());
      create.exec("CREATE TEMP TABLE growing (k bytea PRIMARY KEY, leaf text NOT NULL)");
      create.commit();
    }
    {
      pqxx::work tx(c.raw());
      // While the table is empty: the prepared statement settles on a generic plan.
      for (int i = 0; i < 6; ++i) {
        c.exec(tx, kLookupPrepared, keys);
        c.exec(tx, kLookupPlanned, keys);
      }
      tx.exec(
          "INSERT INTO growing SELECT sha256(n::text::bytea), repeat('x', 500)"
          " FROM generate_series(1, 100000) n");
      tx.commit();
    }
    pqxx::work tx(c.raw());
    // The counts are the backend's since its last report: take differences.
    const int start =
        tx.exec("SELECT seq_scan FROM pg_stat_xact_user_tables WHERE relname = 'growing'")[0][0]
            .as<int>();
    const int planned = scans_after(c, tx, kLookupPlanned, keys) - start;
    const int prepared = scans_after(c, tx, kLookupPrepared, keys) - start - planned;
    return std::pair{prepared, planned};
  });
  EXPECT_EQ(planned_scans, 0) << "planned per call: 100 index lookups, no scan of the table";
  // What the prepared statement does instead: why the lookups of growing tables are planned
  // per call (store/pg_pool.hpp).
  EXPECT_EQ(prepared_scans, 1);
}

// The code of the Error a call threw, and what it logs; {} if it threw none or another.
std::pair<std::optional<ErrorCode>, std::string> error_of(const std::function<void()>& call) {
  try {
    call();
  } catch (const Error& e) {
    return {e.code(), e.log_detail()};
  } catch (...) {
  }
  return {};
}

// PostgreSQL's own timeout ends the statement: the request is answered 503 (transient).
TEST(PgPoolTest, StatementTimeoutIsApplied) {
  prometheus::Registry registry;
  store::PgPool pool(required_env("OBSERVERNET_TEST_DATABASE_URL"), {},
                     {.statement_timeout = 200ms}, registry);
  const auto [code, detail] = error_of([&] {
    pool.run_blocking([](store::PgConnection& c) {
      pqxx::work tx(c.raw());
      tx.exec("SELECT pg_sleep(2)");
    });
  });
  EXPECT_EQ(code, ErrorCode::service_unavailable);
  EXPECT_NE(detail.find("statement timeout"), std::string::npos) << detail;
}

// A statement with no answer within the call's budget is cut from this side (its socket
// shut down), as when PostgreSQL is frozen; the next call gets a fresh connection.
TEST(PgPoolTest, ACallWithNoAnswerWithinItsBudgetIsCut) {
  prometheus::Registry registry;
  util::PoolOptions options;
  options.max = 1;
  store::PgPool pool(required_env("OBSERVERNET_TEST_DATABASE_URL"), options,
                     {.statement_timeout = 10s, .call_timeout = 300ms}, registry);
  auto backend = [&] {
    return pool.run_blocking([](store::PgConnection& c) {
      pqxx::read_transaction tx(c.raw());
      return tx.exec("SELECT pg_backend_pid()")[0][0].as<int>();
    });
  };
  const int before = backend();
  const auto started = std::chrono::steady_clock::now();
  const auto [code, detail] = error_of([&] {
    pool.run_blocking([](store::PgConnection& c) {
      pqxx::work tx(c.raw());
      tx.exec("SELECT pg_sleep(3)");
    });
  });
  const auto took = std::chrono::steady_clock::now() - started;
  EXPECT_EQ(code, ErrorCode::service_unavailable) << detail;
  // Cut at 300 ms; the retry on a fresh connection is cut too.
  EXPECT_LT(took, 2500ms);
  EXPECT_NE(backend(), before) << "the cut connection went back to the pool";
}

template <class T>
T run_coroutine(boost::asio::awaitable<T> work) {
  boost::asio::io_context ioc;
  std::optional<T> out;
  std::exception_ptr error;
  boost::asio::co_spawn(ioc, std::move(work), [&](std::exception_ptr e, T value) {
    error = e;
    if (!e) out = std::move(value);
  });
  ioc.run();
  if (error) std::rethrow_exception(error);
  return *out;
}

// Runs `io` until done() (10 s at most). A lane's Redis connection keeps a read pending,
// so io.run() would not return.
void drive(boost::asio::io_context& io, const std::function<bool()>& done) {
  io.restart();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!done() && std::chrono::steady_clock::now() < deadline) {
    io.run_for(std::chrono::milliseconds(5));
  }
}

// Runs `body` as a coroutine on `io` (a RedisLanes lane's executor) until it is done.
template <class T>
T run_on(boost::asio::io_context& io, boost::asio::awaitable<T> body) {
  auto done = boost::asio::co_spawn(io, std::move(body), boost::asio::use_future);
  drive(io, [&] { return done.wait_for(std::chrono::seconds(0)) == std::future_status::ready; });
  return done.get();
}

TEST(RedisLanesTest, CommandsRoundTripOnTheCallersLaneAndFromOffIt) {
  namespace asio = boost::asio;
  app::Config config = test_config();
  asio::io_context io;
  cache::RedisLanes lanes({io.get_executor()}, config.redis.endpoint, config.redis.connection);
  EXPECT_TRUE(run_on(io, lanes.ping()));
  const std::string value("a\0b", 3);
  auto reply = run_on(io, [&]() -> asio::awaitable<std::string> {
    const std::array<std::string_view, 3> set{"SET", "observernet:test:key", value};
    co_await lanes.call(set);
    const std::array<std::string_view, 2> get{"GET", "observernet:test:key"};
    cache::Reply r = co_await lanes.call(get);
    co_return std::string(r->str, r->len);
  }());
  EXPECT_EQ(reply, value);
  // An error reply is an answer, not a failure.
  auto error = run_on(io, [&]() -> asio::awaitable<int> {
    const std::array<std::string_view, 1> bad{"NOT-A-COMMAND"};
    cache::Reply r = co_await lanes.call(bad);
    co_return r ? r->type : -1;
  }());
  EXPECT_EQ(error, REDIS_REPLY_ERROR);

  // A caller on another thread is served by the first lane, and resumes on its own.
  std::thread lane_thread([&] {
    auto guard = asio::make_work_guard(io);
    io.restart();
    io.run_for(std::chrono::seconds(5));
  });
  asio::io_context other;
  auto pinged = asio::co_spawn(other, lanes.ping(), asio::use_future);
  other.run();
  EXPECT_TRUE(pinged.get());
  io.stop();
  lane_thread.join();
}

TEST(RedisLanesTest, ADownRedisAnswersNothingAndNeverThrows) {
  namespace asio = boost::asio;
  app::Config config = test_config();
  cache::RedisEndpoint nowhere;
  nowhere.port = 1;  // nothing listens there
  asio::io_context io;
  cache::RedisLanes lanes({io.get_executor()}, nowhere, config.redis.connection);
  EXPECT_FALSE(run_on(io, lanes.ping()));
  EXPECT_FALSE(run_on(io, lanes.ping())) << "during the retry backoff too";
}

// No Redis at all (http.routes = web): an empty host, and every command answers nothing.
TEST(RedisLanesTest, NoRedisAnswersNothingAndNeverThrows) {
  app::Config config = test_config();
  cache::RedisEndpoint none;
  none.host.clear();
  boost::asio::io_context io;
  cache::RedisLanes lanes({io.get_executor()}, none, config.redis.connection);
  EXPECT_FALSE(run_on(io, lanes.ping()));
  EXPECT_FALSE(run_on(io, lanes.ping()));
}

// When a local entry expires under load, one request per thread reloads it and the
// others are served the entry they had, instead of all reloading at once.
TEST(PublicCacheTest, AnExpiredEntryIsServedWhileOneRequestRefreshesIt) {
  namespace asio = boost::asio;
  app::Config config = test_config();
  prometheus::Registry registry;
  asio::io_context io;
  cache::RedisLanes redis({io.get_executor()}, config.redis.endpoint, config.redis.connection);
  cache::PublicCache cache(redis, {60s, 50ms, 100}, registry);
  const std::string key = "test:stale:" + std::to_string(std::random_device{}());
  int loads = 0;
  auto loader = [&](std::string body,
                    std::chrono::milliseconds delay) -> cache::PublicCache::Loader {
    return [&, body, delay]() -> asio::awaitable<std::optional<cache::LoadedBody>> {
      asio::steady_timer slow(io, delay);
      co_await slow.async_wait(asio::use_awaitable);
      ++loads;
      co_return cache::LoadedBody{body, 1, std::chrono::seconds(1)};
    };
  };
  auto get = [&](cache::PublicCache::Loader load, std::string& out) {
    asio::co_spawn(
        io,
        [&, load]() -> asio::awaitable<void> {
          auto value = co_await cache.get(key, load);
          out = value ? value->body : "(none)";
        },
        asio::detached);
  };
  std::string first;
  get(loader("v1", 0ms), first);
  drive(io, [&] { return !first.empty(); });
  ASSERT_EQ(first, "v1");
  // Only the local layer may answer from now on: drop the Redis copy.
  const std::string redis_key = "observernet:v1:" + key;
  const std::array<std::string_view, 2> del{"DEL", redis_key};
  ASSERT_NE(run_on(io, redis.call(del)), nullptr);
  std::this_thread::sleep_for(80ms);  // past the 50 ms local TTL
  EXPECT_EQ(cache.find_local(key), nullptr);

  std::string refreshed, during;
  get(loader("v2", 300ms), refreshed);  // reloads, slowly
  get(loader("never", 0ms), during);    // must not wait for it, nor load itself
  drive(io, [&] { return !refreshed.empty() && !during.empty(); });
  EXPECT_EQ(during, "v1");
  EXPECT_EQ(refreshed, "v2");
  EXPECT_EQ(loads, 2);
  ASSERT_NE(cache.find_local(key), nullptr);
  EXPECT_EQ(cache.find_local(key)->body, "v2");
}

}  // namespace
}  // namespace observernet::testing
