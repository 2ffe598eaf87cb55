#pragma once
// A strict pool for a blocking client library (libpqxx, hiredis): `max` connections,
// each used by one of `max` dedicated threads, so no io_context thread ever blocks.
// Calls beyond that wait in a bounded queue (max_waiters) for at most
// acquire_timeout; broken connections are dropped and replaced; after a failed
// connect the pool fails fast for retry_backoff instead of piling up timeouts.
// Included only by store/ and cache/ sources.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <type_traits>
#include <vector>

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "observernet/error.hpp"
#include "observernet/util/pool_metrics.hpp"
#include "observernet/util/pool_options.hpp"

namespace observernet::util {

// Conn must provide `bool broken() const`.
template <class Conn>
class BlockingPool {
 public:
  using Clock = std::chrono::steady_clock;
  using Factory = std::function<std::unique_ptr<Conn>()>;     // throws when it cannot connect
  using Retryable = std::function<bool(std::exception_ptr)>;  // safe to run again on a new conn

  BlockingPool(std::string name, PoolOptions options, Factory factory, Retryable retryable,
               prometheus::Registry& registry)
      : name_(std::move(name)),
        options_(options),
        factory_(std::move(factory)),
        retryable_(std::move(retryable)),
        metrics_(registry, name_, options.max),
        threads_(options.max) {}

  ~BlockingPool() { shutdown(); }

  BlockingPool(const BlockingPool&) = delete;
  BlockingPool& operator=(const BlockingPool&) = delete;

  // Opens `min` connections; failures are only logged by the caller's next use.
  void warm_up() {
    std::vector<Lease> leases;
    try {
      while (leases.size() < options_.min) leases.push_back(acquire(Clock::now()));
    } catch (const Error&) {
    }
  }

  // Runs fn(Conn&) on a pool thread and resumes the caller on its own executor.
  template <class F>
  boost::asio::awaitable<std::invoke_result_t<F&, Conn&>> run(F fn) {
    using R = std::invoke_result_t<F&, Conn&>;
    // Admission: at most max running + max_waiters queued, counted until completion.
    if (in_flight_.fetch_add(1) >= options_.max + options_.max_waiters) {
      in_flight_.fetch_sub(1);
      metrics_.rejected_queue_full.Increment();
      throw unavailable("too many queued calls");
    }
    struct Release {
      std::atomic<std::size_t>& count;
      ~Release() { count.fetch_sub(1); }
    } release{in_flight_};
    metrics_.queued.Increment();
    auto deadline = Clock::now() + options_.acquire_timeout;
    auto work = [this, deadline, fn = std::move(fn)]() mutable -> boost::asio::awaitable<R> {
      metrics_.queued.Decrement();
      if (Clock::now() > deadline) {
        metrics_.rejected_timeout.Increment();
        throw unavailable("timed out waiting for a connection");
      }
      co_return run_blocking(fn, deadline);
    };
    co_return co_await boost::asio::co_spawn(threads_, std::move(work), boost::asio::use_awaitable);
  }

  // The same on the calling thread (CLI commands, start-up).
  template <class F>
  std::invoke_result_t<F&, Conn&> run_blocking(F& fn, Clock::time_point deadline) {
    for (int attempt = 0;; ++attempt) {
      Lease lease = acquire(deadline);
      try {
        return fn(*lease.conn);
      } catch (...) {
        if (!lease.conn->broken()) throw;
        lease.discard();
        // A lost connection (not a mere timeout): a server restart breaks them all, so
        // find out now rather than one request at a time, and retry once.
        if (!retryable_ || !retryable_(std::current_exception())) throw;
        drop_idle();
        if (attempt > 0) throw;
      }
    }
  }

  template <class F>
  std::invoke_result_t<F&, Conn&> run_blocking(F fn) {
    return run_blocking(fn, Clock::now() + options_.acquire_timeout);
  }

  // Closes the pool and waits for its threads: after this, no completion can be
  // posted to an io_context any more. Call before the io_context is destroyed.
  void shutdown() {
    close();
    threads_.join();
  }

  // Stop handing out connections and close the idle ones; leases in use close on return.
  void close() {
    std::vector<std::unique_ptr<Conn>> doomed;
    {
      std::lock_guard lock(mutex_);
      closed_ = true;
      doomed.swap(idle_);
      total_ -= doomed.size();
      metrics_.idle.Set(0);
    }
    cv_.notify_all();
  }

  const std::string& name() const { return name_; }

 private:
  struct Lease {
    BlockingPool* pool = nullptr;
    std::unique_ptr<Conn> conn;
    bool keep = true;
    Lease(BlockingPool* p, std::unique_ptr<Conn> c) : pool(p), conn(std::move(c)) {}
    Lease(Lease&& o) noexcept : pool(o.pool), conn(std::move(o.conn)), keep(o.keep) {}
    Lease& operator=(Lease&&) = delete;
    ~Lease() {
      if (!conn) return;
      bool reusable = keep && !conn->broken();
      pool->release(std::move(conn), reusable);
    }
    void discard() { keep = false; }
  };

  Error unavailable(const std::string& why) const {
    return Error(ErrorCode::service_unavailable, "A backing service is unavailable; retry shortly.",
                 {}, name_ + ": " + why)
        .with_retry_after(1);
  }

  Lease acquire(Clock::time_point deadline) {
    std::unique_lock lock(mutex_);
    for (;;) {
      if (closed_) throw unavailable("pool closed");
      if (!idle_.empty()) {
        auto conn = std::move(idle_.back());
        idle_.pop_back();
        metrics_.idle.Decrement();
        metrics_.in_use.Increment();
        return Lease(this, std::move(conn));
      }
      if (total_ < options_.max) {
        if (Clock::now() < backoff_until_) {
          metrics_.rejected_unavailable.Increment();
          throw unavailable("recent connect failure: " + last_error_);
        }
        ++total_;
        lock.unlock();
        try {
          auto conn = factory_();
          metrics_.connects_ok.Increment();
          metrics_.in_use.Increment();
          return Lease(this, std::move(conn));
        } catch (const std::exception& e) {
          lock.lock();
          --total_;
          backoff_until_ = Clock::now() + options_.retry_backoff;
          last_error_ = e.what();
          metrics_.connects_failed.Increment();
          metrics_.rejected_unavailable.Increment();
          cv_.notify_one();
          throw unavailable("connect failed: " + last_error_);
        }
      }
      // Every connection is busy (a thread is blocked on a slow call or a reconnect).
      if (cv_.wait_until(lock, deadline) == std::cv_status::timeout && idle_.empty()) {
        metrics_.rejected_timeout.Increment();
        throw unavailable("timed out waiting for a connection");
      }
    }
  }

  void release(std::unique_ptr<Conn> conn, bool keep) {
    {
      std::lock_guard lock(mutex_);
      metrics_.in_use.Decrement();
      if (keep && !closed_) {
        idle_.push_back(std::move(conn));
        metrics_.idle.Increment();
      } else {
        --total_;
        if (!keep) metrics_.broken_dropped.Increment();
      }
    }
    cv_.notify_one();
    conn.reset();  // a dropped connection closes outside the lock
  }

  void drop_idle() {
    std::vector<std::unique_ptr<Conn>> doomed;
    {
      std::lock_guard lock(mutex_);
      doomed.swap(idle_);
      total_ -= doomed.size();
      metrics_.idle.Set(0);
    }
    cv_.notify_all();
  }

  const std::string name_;
  const PoolOptions options_;
  const Factory factory_;
  const Retryable retryable_;
  PoolMetrics metrics_;
  std::atomic<std::size_t> in_flight_{0};

  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<Conn>> idle_;
  std::size_t total_ = 0;
  bool closed_ = false;
  Clock::time_point backoff_until_{};
  std::string last_error_;

  boost::asio::thread_pool threads_;  // last: joined before the state above goes away
};

}  // namespace observernet::util
