#pragma once
// Threads for CPU-heavy work (RSA signing and verification, key generation), so that
// no io_context thread spends milliseconds on it. Bounded: beyond `max_queued` calls in
// flight a call is refused with 503 + Retry-After at once instead of queueing without
// end. Metrics: worker_queue_depth{pool} and worker_rejected_total{pool}.
#include <atomic>
#include <cstddef>
#include <string>
#include <type_traits>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace prometheus {
class Counter;
class Gauge;
class Registry;
}  // namespace prometheus

namespace observernet::util {

class WorkerPool {
 public:
  WorkerPool(std::string name, std::size_t threads, std::size_t max_queued,
             prometheus::Registry& registry);
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Runs fn() on a worker thread; the caller resumes on its own executor. Exceptions
  // from fn propagate to the caller.
  template <class F>
  boost::asio::awaitable<std::invoke_result_t<F&>> run(F fn) {
    admit();
    Admitted admitted{*this};
    co_return co_await boost::asio::co_spawn(
        threads_, [&fn]() -> boost::asio::awaitable<std::invoke_result_t<F&>> { co_return fn(); },
        boost::asio::use_awaitable);
  }

  // Waits for running work to finish; later calls fail. Before the io_contexts go.
  void shutdown();

 private:
  struct Admitted {
    WorkerPool& pool;
    ~Admitted() { pool.release(); }
  };
  void admit();  // throws Error(service_unavailable) when full
  void release();

  const std::string name_;
  const std::size_t max_queued_;
  std::atomic<std::size_t> in_flight_{0};
  prometheus::Gauge& depth_;
  prometheus::Counter& rejected_;
  boost::asio::thread_pool threads_;
};

}  // namespace observernet::util
