#pragma once
// The process's own figures under the names Prometheus's client libraries use
// (process_cpu_seconds_total, process_resident_memory_bytes, …), read from /proc at each
// scrape, and log_lines_dropped_total. Dashboards and alerts (config/) use them.
#include <prometheus/collectable.h>

#include <optional>
#include <string_view>
#include <vector>

namespace observernet::util {

// The cores this process may use: the machine's, or fewer under a cgroup CPU limit (a
// Kubernetes pod's resources.limits.cpu, rounded up). Thread pools and the rate limiter's
// CPU share are sized from it: a pod limited to 2 CPUs on a 32-core node has 2.
unsigned available_cpus();
// User and system CPU time of this process so far, in seconds (getrusage).
double process_cpu_seconds();
// A cgroup v2 `cpu.max` ("200000 100000", or "max 100000"): the CPUs it allows.
std::optional<double> cpus_from_cgroup_max(std::string_view cpu_max);

class ProcessMetrics final : public prometheus::Collectable {
 public:
  ProcessMetrics();
  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  double start_time_seconds_;
};

}  // namespace observernet::util
