#include "observernet/http/metrics.hpp"

#include <prometheus/text_serializer.h>

#include <array>
#include <atomic>
#include <iterator>
#include <limits>
#include <map>
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
    case Limit::chunk_extension:
      return "chunk_extension";
  }
  return "unknown";
}

}  // namespace

// Buckets from 0.5 ms to 10 s: public reads live at the bottom, slow imports at the top.
constexpr std::array<double, 14> kDurationBuckets{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                  0.1,    0.25,  0.5,    1,     2.5,  5,     10};

// One (method, route, status) on one I/O thread: written by that thread only, read by
// scrapes. Relaxed atomics on a line no other thread writes cost no cache traffic.
struct Shard {
  std::atomic<std::uint64_t> count{0};
  std::atomic<std::uint64_t> sum_ns{0};
  std::array<std::atomic<std::uint64_t>, kDurationBuckets.size() + 1> buckets{};  // last: +Inf
};

struct HttpMetrics::Series {
  std::string method;
  std::string route;
  unsigned status;
  std::vector<std::unique_ptr<Shard>> shards;  // one per thread that served it
};

HttpMetrics::HttpMetrics(prometheus::Registry& registry)
    : limits_(prometheus::BuildCounter()
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
                  Limit::idle_timeout, Limit::connections, Limit::chunk_extension}) {
    limits_.Add({{"limit", std::string(limit_label(l))}});
  }
}

HttpMetrics::~HttpMetrics() = default;

namespace {

struct ShardKey {
  std::uint64_t owner;
  const char* route;
  std::string_view method;
  unsigned status;
  bool operator==(const ShardKey&) const = default;
};

struct ShardKeyHash {
  std::size_t operator()(const ShardKey& k) const noexcept {
    return std::hash<const void*>()(k.route) ^ (k.owner * 0x9e3779b97f4a7c15ull) ^
           (std::size_t(k.status) << 20) ^ std::hash<std::string_view>()(k.method);
  }
};

// This thread's shards. Route labels are the router's own strings (stable addresses)
// and the key holds the owner's never-reused id, so a later HttpMetrics at the same
// address cannot hit a stale entry.
thread_local std::unordered_map<ShardKey, Shard*, ShardKeyHash> thread_shards;

}  // namespace

void HttpMetrics::observe_request(std::string_view method, std::string_view route, unsigned status,
                                  double seconds) {
  ShardKey key{id_, route.data(), method, status};
  auto it = thread_shards.find(key);
  if (it == thread_shards.end()) {
    auto shard = std::make_unique<Shard>();
    Shard* raw = shard.get();
    {
      std::lock_guard lock(mutex_);
      series_for(method, route, status).shards.push_back(std::move(shard));
    }
    it = thread_shards.emplace(key, raw).first;
  }
  Shard& shard = *it->second;
  shard.count.fetch_add(1, std::memory_order_relaxed);
  shard.sum_ns.fetch_add(static_cast<std::uint64_t>(seconds * 1e9), std::memory_order_relaxed);
  std::size_t bucket = 0;
  while (bucket < kDurationBuckets.size() && seconds > kDurationBuckets[bucket]) ++bucket;
  shard.buckets[bucket].fetch_add(1, std::memory_order_relaxed);
}

// Called with mutex_ held.
HttpMetrics::Series& HttpMetrics::series_for(std::string_view method, std::string_view route,
                                             unsigned status) {
  for (auto& s : series_) {
    if (s->status == status && s->method == method && s->route == route) return *s;
  }
  series_.push_back(
      std::make_unique<Series>(Series{std::string(method), std::string(route), status, {}}));
  return *series_.back();
}

std::vector<prometheus::MetricFamily> HttpMetrics::Collect() const {
  prometheus::MetricFamily requests{"http_requests_total",
                                    "HTTP requests answered, by method, route template and status",
                                    prometheus::MetricType::Counter,
                                    {}};
  prometheus::MetricFamily duration{
      "http_request_duration_seconds",
      "Time from the end of the request headers to the response written, by route",
      prometheus::MetricType::Histogram,
      {}};
  struct Sum {
    std::uint64_t count = 0, sum_ns = 0;
    std::array<std::uint64_t, kDurationBuckets.size() + 1> buckets{};
  };
  std::map<std::string, Sum> by_route;
  std::lock_guard lock(mutex_);
  for (const auto& s : series_) {
    Sum& route_sum = by_route[s->route];
    std::uint64_t count = 0;
    for (const auto& shard : s->shards) {
      count += shard->count.load(std::memory_order_relaxed);
      route_sum.sum_ns += shard->sum_ns.load(std::memory_order_relaxed);
      for (std::size_t b = 0; b < route_sum.buckets.size(); ++b) {
        route_sum.buckets[b] += shard->buckets[b].load(std::memory_order_relaxed);
      }
    }
    route_sum.count += count;
    prometheus::ClientMetric m;
    m.label = {{"method", s->method}, {"route", s->route}, {"status", std::to_string(s->status)}};
    m.counter.value = static_cast<double>(count);
    requests.metric.push_back(std::move(m));
  }
  for (const auto& [route, sum] : by_route) {
    prometheus::ClientMetric m;
    m.label = {{"route", route}};
    m.histogram.sample_count = sum.count;
    m.histogram.sample_sum = static_cast<double>(sum.sum_ns) / 1e9;
    std::uint64_t cumulative = 0;
    for (std::size_t b = 0; b < sum.buckets.size(); ++b) {
      cumulative += sum.buckets[b];
      double bound = b < kDurationBuckets.size() ? kDurationBuckets[b]
                                                 : std::numeric_limits<double>::infinity();
      m.histogram.bucket.push_back({cumulative, bound});
    }
    duration.metric.push_back(std::move(m));
  }
  return {std::move(requests), std::move(duration)};
}

void HttpMetrics::limit_exceeded(Limit limit) {
  limits_.Add({{"limit", std::string(limit_label(limit))}}).Increment();
}

std::string serialize_metrics(const std::vector<const prometheus::Collectable*>& sources) {
  std::vector<prometheus::MetricFamily> families;
  for (const auto* source : sources) {
    auto collected = source->Collect();
    std::move(collected.begin(), collected.end(), std::back_inserter(families));
  }
  return prometheus::TextSerializer().Serialize(families);
}

}  // namespace observernet::http
