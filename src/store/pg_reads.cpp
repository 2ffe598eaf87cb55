#include "observernet/store/pg_reads.hpp"

#include <libpq-fe.h>
#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <atomic>
#include <deque>
#include <limits>

namespace observernet::store {
namespace {

using Clock = std::chrono::steady_clock;

// A call of the measurement, however slow the server: past it, the replica takes no reads.
constexpr std::chrono::milliseconds kMeasureBudget{1'000};
// The primary's positions kept to date a replica's: beyond the oldest, its lag is at least
// that old, far above any max_lag.
constexpr std::size_t kPositionsKept = 512;

// "host:port" of a postgresql:// URL, for metrics and logs; never its password.
std::string label_of(const std::string& url, std::size_t index) {
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(url.c_str(), &error);
  if (error != nullptr) PQfreemem(error);
  std::string host, port;
  for (auto* o = options; o != nullptr && o->keyword != nullptr; ++o) {
    if (o->val == nullptr) continue;
    if (std::string_view(o->keyword) == "host") host = o->val;
    if (std::string_view(o->keyword) == "port") port = o->val;
  }
  if (options != nullptr) PQconninfoFree(options);
  if (host.empty()) return "replica-" + std::to_string(index);
  return host + ":" + (port.empty() ? "5432" : port);
}

// WAL positions as byte offsets (pg_lsn minus 0/0).
std::int64_t read_position(PgConnection& c, const char* sql) {
  pqxx::nontransaction tx(c.raw());
  auto row = tx.exec1(sql);
  if (row[0].is_null()) throw std::runtime_error("no WAL position (not a streaming replica?)");
  return row[0].as<std::int64_t>();
}

}  // namespace

struct PgReads::Metrics {
  prometheus::Family<prometheus::Counter>& reads;
  prometheus::Family<prometheus::Gauge>& lag;
  prometheus::Counter& no_fresh_replica;
  prometheus::Counter& replica_behind;
  prometheus::Counter& replica_unavailable;

  explicit Metrics(prometheus::Registry& registry)
      : reads(prometheus::BuildCounter()
                  .Name("db_public_reads_total")
                  .Help("Public reads by the server that answered them (a replica's host:port, "
                        "or primary) and why")
                  .Register(registry)),
        lag(prometheus::BuildGauge()
                .Name("db_replica_lag_seconds")
                .Help("A read replica's replay lag at its last measurement; +Inf when it "
                      "could not be measured")
                .Register(registry)),
        no_fresh_replica(reads.Add({{"server", "primary"}, {"reason", "no_fresh_replica"}})),
        replica_behind(reads.Add({{"server", "primary"}, {"reason", "replica_behind"}})),
        replica_unavailable(reads.Add({{"server", "primary"}, {"reason", "replica_unavailable"}})) {
  }
};

struct PgReads::Replica {
  Replica(const std::string& url, const ReplicaOptions& options, std::string label_,
          Metrics& metrics, prometheus::Registry& registry)
      : label(std::move(label_)),
        pool(url, options.pool, options.settings, registry, "postgres-replica:" + label),
        served(metrics.reads.Add({{"server", label}, {"reason", "fresh"}})),
        lag(metrics.lag.Add({{"replica", label}})) {
    lag.Set(std::numeric_limits<double>::infinity());
  }

  const std::string label;
  PgPool pool;
  prometheus::Counter& served;
  prometheus::Gauge& lag;
  // Reads go here until then (Clock ticks; 0: none): a measurement of lag L taken at t
  // allows reads until t + max_lag - L, so that the lag at any read stays under max_lag.
  std::atomic<Clock::rep> usable_until{0};
  // The primary's WAL positions at its past measurements, oldest first (measure() only).
  struct Position {
    Clock::time_point at;
    std::int64_t lsn;
  };
  std::deque<Position> primary_positions;
};

PgReads::PgReads(PgPool& primary) : primary_(primary) {}

PgReads::PgReads(PgPool& primary, ReplicaOptions options, prometheus::Registry& registry)
    : primary_(primary), max_lag_(options.max_lag) {
  if (options.urls.empty()) return;
  metrics_ = std::make_unique<Metrics>(registry);
  options.settings.replica = true;
  for (std::size_t i = 0; i < options.urls.size(); ++i) {
    replicas_.push_back(std::make_unique<Replica>(
        options.urls[i], options, label_of(options.urls[i], i), *metrics_, registry));
  }
}

PgReads::~PgReads() = default;

const std::string& PgReads::label(std::size_t index) const {
  return replicas_.at(index)->label;
}

PgPool& PgReads::pool_of(Replica& replica) {
  return replica.pool;
}

PgReads::Replica* PgReads::pick() {
  if (replicas_.empty()) return nullptr;
  // In turn from a moving start, the first fresh one.
  static thread_local std::size_t next = 0;
  const auto now = Clock::now().time_since_epoch().count();
  for (std::size_t tried = 0; tried < replicas_.size(); ++tried) {
    Replica& r = *replicas_[next++ % replicas_.size()];
    if (now < r.usable_until.load(std::memory_order_relaxed)) return &r;
  }
  return nullptr;
}

void PgReads::served(Replica& replica) {
  replica.served.Increment();
}

void PgReads::fell_back(Replica& replica, const std::exception_ptr& why) {
  try {
    std::rethrow_exception(why);
  } catch (const ReplicaBehind&) {
    metrics_->replica_behind.Increment();
  } catch (...) {
    // Unreachable, or gave up: no reads until a measurement succeeds.
    replica.usable_until.store(0, std::memory_order_relaxed);
    metrics_->replica_unavailable.Increment();
  }
}

void PgReads::fell_back_fresh() {
  if (metrics_) metrics_->no_fresh_replica.Increment();
}

boost::asio::awaitable<void> PgReads::measure(std::size_t index) {
  Replica& r = *replicas_.at(index);
  try {
    const auto at = Clock::now();
    const std::int64_t primary = co_await primary_.run(
        [](PgConnection& c) {
          return read_position(c, "SELECT (pg_current_wal_lsn() - '0/0')::bigint");
        },
        kMeasureBudget);
    // After the primary's: a replica that has replayed this far has all the primary had at
    // `at`. Not a replica any more (promoted): it no longer follows the primary.
    const std::int64_t replayed = co_await r.pool.run(
        [](PgConnection& c) {
          return read_position(c,
                               "SELECT CASE WHEN pg_is_in_recovery()"
                               " THEN (pg_last_wal_replay_lsn() - '0/0')::bigint END");
        },
        kMeasureBudget);
    auto& kept = r.primary_positions;
    kept.push_back({at, primary});
    if (kept.size() > kPositionsKept) kept.pop_front();
    // The replica holds all the primary had written at the latest position it has
    // replayed past; what came after, at most since then. Lag: `at` minus that time.
    std::chrono::nanoseconds lag = at - kept.front().at + std::chrono::hours(1);
    for (auto it = kept.rbegin(); it != kept.rend(); ++it) {
      if (it->lsn <= replayed) {
        lag = at - it->at;
        break;
      }
    }
    r.lag.Set(std::chrono::duration<double>(lag).count());
    const auto until = at + max_lag_ - lag;
    r.usable_until.store(lag < max_lag_ ? until.time_since_epoch().count() : 0,
                         std::memory_order_relaxed);
  } catch (const std::exception& e) {
    r.usable_until.store(0, std::memory_order_relaxed);
    r.lag.Set(std::numeric_limits<double>::infinity());
    throw std::runtime_error("replica " + r.label + ": " + e.what());
  }
}

void PgReads::warm_up() {
  for (auto& r : replicas_) r->pool.warm_up();
}

void PgReads::shutdown() {
  for (auto& r : replicas_) r->pool.shutdown();
}

}  // namespace observernet::store
