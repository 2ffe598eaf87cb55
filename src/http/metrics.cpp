#include "observernet/http/metrics.hpp"

#include <prometheus/text_serializer.h>

#include <atomic>
#include <string>
#include <unordered_map>

namespace observernet::http {
namespace {

std::atomic<std::uint64_t> next_id{1};

std::string_view limit_label(Limit limit) {
  switch (limit) {
    case Limit::header_size:
      return "header_size";
    case Limit::body_size:
      return "body_size";
    case Limit::header_timeout:
      return "header_timeout";
    case Limit::body_timeout:
      return "body_timeout";
    case Limit::idle_timeout:
      return "idle_timeout";
    case Limit::connections:
      return "connections";
  }
  return "unknown";
}

}  // namespace

HttpMetrics::HttpMetrics(prometheus::Registry& registry)
    : requests_(prometheus::BuildCounter()
                    .Name("http_requests_total")
                    .Help("HTTP requests answered, by method, route template and status")
                    .Register(registry)),
      duration_(prometheus::BuildHistogram()
                    .Name("http_request_duration_seconds")
                    .Help("Time from the end of the request headers to the response, by route")
                    .Register(registry)),
      limits_(prometheus::BuildCounter()
                  .Name("http_limit_exceeded_total")
                  .Help("Requests or connections refused because a configured limit tripped")
                  .Register(registry)),
      connections_open_(prometheus::BuildGauge()
                            .Name("http_connections_open")
                            .Help("Client connections currently open")
                            .Register(registry)
                            .Add({})),
      id_(next_id.fetch_add(1)) {
  for (Limit l : {Limit::header_size, Limit::body_size, Limit::header_timeout, Limit::body_timeout,
                  Limit::idle_timeout, Limit::connections}) {
    limits_.Add({{"limit", std::string(limit_label(l))}});
  }
}

void HttpMetrics::observe_request(std::string_view method, std::string_view route, unsigned status,
                                  double seconds) {
  // Buckets from 0.5 ms to 10 s: public reads live at the bottom, slow imports at the top.
  static const prometheus::Histogram::BucketBoundaries kBuckets{
      0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
  // Family::Add builds label maps and takes a lock: too dear for every request. Each
  // I/O thread remembers the series it has used. Route labels are the router's own
  // strings (stable addresses) and the key holds this object's never-reused id, so a
  // later HttpMetrics at the same address cannot hit a stale entry.
  struct Key {
    std::uint64_t owner;
    const char* route;
    std::string_view method;
    unsigned status;
    bool operator==(const Key&) const = default;
  };
  struct KeyHash {
    std::size_t operator()(const Key& k) const noexcept {
      return std::hash<const void*>()(k.route) ^ (k.owner * 0x9e3779b97f4a7c15ull) ^
             (std::size_t(k.status) << 20) ^ std::hash<std::string_view>()(k.method);
    }
  };
  struct Series {
    prometheus::Counter* requests;
    prometheus::Histogram* duration;
  };
  thread_local std::unordered_map<Key, Series, KeyHash> cache;
  Key key{id_, route.data(), method, status};
  auto it = cache.find(key);
  if (it == cache.end()) {
    Series series{&requests_.Add({{"method", std::string(method)},
                                  {"route", std::string(route)},
                                  {"status", std::to_string(status)}}),
                  &duration_.Add({{"route", std::string(route)}}, kBuckets)};
    it = cache.emplace(key, series).first;
  }
  it->second.requests->Increment();
  it->second.duration->Observe(seconds);
}

void HttpMetrics::limit_exceeded(Limit limit) {
  limits_.Add({{"limit", std::string(limit_label(limit))}}).Increment();
}

std::string serialize_metrics(const prometheus::Registry& registry) {
  return prometheus::TextSerializer().Serialize(registry.Collect());
}

}  // namespace observernet::http
