#include "observernet/util/pool_metrics.hpp"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>

namespace observernet::util {
namespace {

prometheus::Family<prometheus::Gauge>& gauge_family(prometheus::Registry& r) {
  return prometheus::BuildGauge()
      .Name("pool_connections")
      .Help("Pool connections by state (idle, in_use, max)")
      .Register(r);
}

prometheus::Family<prometheus::Gauge>& queued_family(prometheus::Registry& r) {
  return prometheus::BuildGauge()
      .Name("pool_queued_calls")
      .Help("Calls waiting for a pool thread and connection")
      .Register(r);
}

prometheus::Family<prometheus::Counter>& connects_family(prometheus::Registry& r) {
  return prometheus::BuildCounter()
      .Name("pool_connects_total")
      .Help("Connection attempts by result")
      .Register(r);
}

prometheus::Family<prometheus::Counter>& rejected_family(prometheus::Registry& r) {
  return prometheus::BuildCounter()
      .Name("pool_rejected_total")
      .Help("Calls refused by the pool, by reason (queue_full, timeout, unavailable)")
      .Register(r);
}

prometheus::Family<prometheus::Counter>& broken_family(prometheus::Registry& r) {
  return prometheus::BuildCounter()
      .Name("pool_broken_connections_total")
      .Help("Connections found broken and replaced")
      .Register(r);
}

}  // namespace

PoolMetrics::PoolMetrics(prometheus::Registry& r, const std::string& pool, std::size_t max)
    : idle(gauge_family(r).Add({{"pool", pool}, {"state", "idle"}})),
      in_use(gauge_family(r).Add({{"pool", pool}, {"state", "in_use"}})),
      queued(queued_family(r).Add({{"pool", pool}})),
      connects_ok(connects_family(r).Add({{"pool", pool}, {"result", "ok"}})),
      connects_failed(connects_family(r).Add({{"pool", pool}, {"result", "error"}})),
      rejected_queue_full(rejected_family(r).Add({{"pool", pool}, {"reason", "queue_full"}})),
      rejected_timeout(rejected_family(r).Add({{"pool", pool}, {"reason", "timeout"}})),
      rejected_unavailable(rejected_family(r).Add({{"pool", pool}, {"reason", "unavailable"}})),
      broken_dropped(broken_family(r).Add({{"pool", pool}})) {
  gauge_family(r).Add({{"pool", pool}, {"state", "max"}}).Set(static_cast<double>(max));
}

}  // namespace observernet::util
