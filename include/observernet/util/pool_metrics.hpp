#pragma once
#include <prometheus/registry.h>

#include <string>

namespace prometheus {
class Counter;
class Gauge;
}  // namespace prometheus

namespace observernet::util {

// Gauges and counters of one pool, labelled {pool="postgres"|"redis"}.
class PoolMetrics {
 public:
  PoolMetrics(prometheus::Registry& registry, const std::string& pool, std::size_t max);

  prometheus::Gauge& idle;
  prometheus::Gauge& in_use;
  prometheus::Gauge& queued;  // calls waiting for a thread and connection
  prometheus::Counter& connects_ok;
  prometheus::Counter& connects_failed;
  prometheus::Counter& rejected_queue_full;
  prometheus::Counter& rejected_timeout;
  prometheus::Counter& rejected_unavailable;
  prometheus::Counter& broken_dropped;
};

}  // namespace observernet::util
