#pragma once
// The HTTP layer's Prometheus metrics. The registry itself is created by app/ and
// shared with the pools, which register their own families in it.
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <cstdint>
#include <string_view>

namespace observernet::http {

// Which configured limit a request or connection ran into.
enum class Limit {
  header_size,
  body_size,
  header_timeout,
  body_timeout,
  idle_timeout,
  connections
};

class HttpMetrics {
 public:
  explicit HttpMetrics(prometheus::Registry& registry);

  // `route` must be a string that outlives this object (a route template or a literal);
  // `method` likewise (http::to_string's result).
  void observe_request(std::string_view method, std::string_view route, unsigned status,
                       double seconds);
  void limit_exceeded(Limit limit);
  prometheus::Gauge& connections_open() { return connections_open_; }

 private:
  prometheus::Family<prometheus::Counter>& requests_;
  prometheus::Family<prometheus::Histogram>& duration_;
  prometheus::Family<prometheus::Counter>& limits_;
  prometheus::Gauge& connections_open_;
  const std::uint64_t id_;  // tells this instance's series apart in per-thread caches
};

// Prometheus text exposition format (0.0.4) of everything in the registry.
std::string serialize_metrics(const prometheus::Registry& registry);

}  // namespace observernet::http
