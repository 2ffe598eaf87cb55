#include "observernet/util/worker_pool.hpp"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include "observernet/error.hpp"

namespace observernet::util {

WorkerPool::WorkerPool(std::string name, std::size_t threads, std::size_t max_queued,
                       prometheus::Registry& registry)
    : name_(std::move(name)),
      max_queued_(max_queued),
      depth_(prometheus::BuildGauge()
                 .Name("worker_queue_depth")
                 .Help("Calls running or waiting on a worker pool")
                 .Register(registry)
                 .Add({{"pool", name_}})),
      rejected_(prometheus::BuildCounter()
                    .Name("worker_rejected_total")
                    .Help("Calls refused because the worker pool's queue was full")
                    .Register(registry)
                    .Add({{"pool", name_}})),
      threads_(threads) {}

WorkerPool::~WorkerPool() {
  shutdown();
}

void WorkerPool::shutdown() {
  threads_.join();
}

void WorkerPool::admit() {
  if (in_flight_.fetch_add(1, std::memory_order_relaxed) >= max_queued_) {
    in_flight_.fetch_sub(1, std::memory_order_relaxed);
    rejected_.Increment();
    throw Error(ErrorCode::service_unavailable, "The server is busy; retry shortly.", {},
                name_ + ": worker queue full")
        .with_retry_after(1);
  }
  depth_.Increment();
}

void WorkerPool::release() {
  in_flight_.fetch_sub(1, std::memory_order_relaxed);
  depth_.Decrement();
}

}  // namespace observernet::util
