#pragma once
// The HTTP layer's Prometheus metrics. The registry itself is created by app/ and
// shared with the pools, which register their own families in it.
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <string_view>
#include <vector>

namespace observernet::http {

// Which configured limit a request or connection ran into.
enum class Limit {
  header_size,
  body_size,
  header_timeout,
  body_timeout,
  idle_timeout,
  connections,
  chunk_extension
};

// http_requests_total and http_request_duration_seconds are kept per I/O thread and
// added up only when scraped: shared prometheus-cpp series would cost several contended
// atomic updates per request. The other HTTP families live in the registry.
class HttpMetrics : public prometheus::Collectable {
 public:
  explicit HttpMetrics(prometheus::Registry& registry);
  ~HttpMetrics() override;

  // `route` must be a string that outlives this object (a route template or a literal);
  // `method` likewise (http::to_string's result).
  void observe_request(std::string_view method, std::string_view route, unsigned status,
                       double seconds);
  void limit_exceeded(Limit limit);
  prometheus::Gauge& connections_open() { return connections_open_; }

  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  struct Series;
  Series& series_for(std::string_view method, std::string_view route, unsigned status);

  mutable std::mutex mutex_;  // guards the list of series, not their counts
  std::vector<std::unique_ptr<Series>> series_;
  prometheus::Family<prometheus::Counter>& limits_;
  prometheus::Gauge& connections_open_;
  const std::uint64_t id_;  // tells this instance's series apart in per-thread caches
};

// Prometheus text exposition format (0.0.4) of everything the collectables hold.
std::string serialize_metrics(const std::vector<const prometheus::Collectable*>& sources);

}  // namespace observernet::http
