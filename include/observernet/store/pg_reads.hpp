#pragma once
// Where the public reads go: a streaming replica whose replay lags the primary by less
// than database.max_replica_lag_ms, else the primary (docs/operations.md, Read replicas).
// Every write, and every read that must see the latest writes, uses the primary's PgPool.
// Include only from store/ sources and the App.
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <exception>
#include <memory>
#include <string>
#include <vector>

#include "observernet/error.hpp"
#include "observernet/store/pg_pool.hpp"

namespace prometheus {
class Registry;
}

namespace observernet::store {

// Thrown by a read on a replica (PgConnection::replica()) that found less than what the
// primary is known to hold, or found nothing where the primary may hold something (a
// receipt just given, an election just created): the read is made again on the primary.
struct ReplicaBehind : std::exception {
  const char* what() const noexcept override { return "the replica is behind"; }
};

struct ReplicaOptions {
  std::vector<std::string> urls;  // database.replica_urls
  util::PoolOptions pool;         // each replica's pool: database.pool_*
  PgSettings settings;            // the primary's; `replica` is set here
  std::chrono::milliseconds max_lag{100};
};

class PgReads {
 public:
  // No replicas: every read goes to `primary`.
  explicit PgReads(PgPool& primary);
  PgReads(PgPool& primary, ReplicaOptions options, prometheus::Registry& registry);
  ~PgReads();
  PgReads(const PgReads&) = delete;
  PgReads& operator=(const PgReads&) = delete;

  PgPool& primary() { return primary_; }
  std::size_t replicas() const { return replicas_.size(); }

  // fn(PgConnection&) on a replica measured fresh (in turn when several are), else on the
  // primary; and on the primary again when the replica cannot be reached or fn throws
  // ReplicaBehind there. Errors of the primary pass as PgPool::run's do.
  template <class F>
  boost::asio::awaitable<std::invoke_result_t<F&, PgConnection&>> read(F fn) {
    if (Replica* replica = pick()) {
      std::exception_ptr failed;
      try {
        auto out = co_await pool_of(*replica).run(fn);
        served(*replica);
        co_return out;
      } catch (const ReplicaBehind&) {
        failed = std::current_exception();
      } catch (const std::exception& e) {
        if (!is_unavailable(e)) throw;
        failed = std::current_exception();
      }
      fell_back(*replica, failed);
    } else {
      fell_back_fresh();
    }
    co_return co_await primary_.run(std::move(fn));
  }

  // Measures replica `index`: the primary's WAL position, then the replica's replay
  // position, against the primary's earlier positions (ReplicaMonitor calls it every
  // database.replica_check_interval_ms). Throws when either cannot be read, and the
  // replica takes no reads until a measurement succeeds.
  boost::asio::awaitable<void> measure(std::size_t index);
  const std::string& label(std::size_t index) const;

  void warm_up();
  void shutdown();

 private:
  struct Replica;
  Replica* pick();
  static PgPool& pool_of(Replica& replica);
  void served(Replica& replica);
  void fell_back(Replica& replica, const std::exception_ptr& why);
  void fell_back_fresh();

  PgPool& primary_;
  std::vector<std::unique_ptr<Replica>> replicas_;
  std::chrono::milliseconds max_lag_{0};
  struct Metrics;
  std::unique_ptr<Metrics> metrics_;
};

}  // namespace observernet::store
