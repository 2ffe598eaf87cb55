#include "observernet/util/process_metrics.hpp"

#include <prometheus/metric_family.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "observernet/util/log.hpp"

namespace observernet::util {
namespace {

prometheus::MetricFamily one(std::string name, std::string help, prometheus::MetricType type,
                             double value) {
  prometheus::ClientMetric m;
  if (type == prometheus::MetricType::Counter) {
    m.counter.value = value;
  } else {
    m.gauge.value = value;
  }
  return {std::move(name), std::move(help), type, {std::move(m)}};
}

// /proc/self/statm: sizes in pages, the whole program first, then the resident part.
std::pair<double, double> memory_bytes() {
  std::ifstream statm("/proc/self/statm");
  double pages = 0, resident = 0;
  statm >> pages >> resident;
  const auto page = static_cast<double>(sysconf(_SC_PAGESIZE));
  return {pages * page, resident * page};
}

double open_fds() {
  std::error_code ec;
  double n = 0;
  for (std::filesystem::directory_iterator it("/proc/self/fd", ec), end; !ec && it != end;
       it.increment(ec)) {
    ++n;
  }
  return n;
}

double max_fds() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) return 0;
  return static_cast<double>(limit.rlim_cur);
}

// Bytes received and sent on the network interfaces of the process's network namespace
// (a pod's, in Kubernetes), loopback left out: /proc/self/net/dev.
std::pair<double, double> network_bytes() {
  std::ifstream dev("/proc/self/net/dev");
  std::string line;
  double received = 0, sent = 0;
  while (std::getline(dev, line)) {
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;  // the two header lines
    std::string name = line.substr(0, colon);
    name.erase(0, name.find_first_not_of(' '));
    if (name == "lo") continue;
    std::istringstream fields(line.substr(colon + 1));
    double v[9] = {};
    for (double& x : v) fields >> x;  // receive: bytes packets … (8 fields); then transmit bytes
    received += v[0];
    sent += v[8];
  }
  return {received, sent};
}

}  // namespace

double process_cpu_seconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
  };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

std::optional<double> cpus_from_cgroup_max(std::string_view cpu_max) {
  std::istringstream in{std::string(cpu_max)};
  std::string quota;
  double period = 0;
  if (!(in >> quota >> period) || quota == "max" || period <= 0) return std::nullopt;
  try {
    const double q = std::stod(quota);
    if (q <= 0) return std::nullopt;
    return q / period;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

unsigned available_cpus() {
  unsigned cpus = std::max(1u, std::thread::hardware_concurrency());
  std::ifstream file("/sys/fs/cgroup/cpu.max");  // cgroup v2, as a container sees its own
  std::string line;
  if (std::getline(file, line)) {
    if (const auto limit = cpus_from_cgroup_max(line)) {
      cpus = std::min(cpus, std::max(1u, static_cast<unsigned>(std::ceil(*limit))));
    }
  }
  return cpus;
}

ProcessMetrics::ProcessMetrics()
    : start_time_seconds_(
          std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch())
              .count()) {}

std::vector<prometheus::MetricFamily> ProcessMetrics::Collect() const {
  using prometheus::MetricType;
  const auto [virtual_bytes, resident_bytes] = memory_bytes();
  const auto [received, sent] = network_bytes();
  std::vector<prometheus::MetricFamily> out;
  out.push_back(one("process_cpu_seconds_total", "User and system CPU time of this process",
                    MetricType::Counter, process_cpu_seconds()));
  out.push_back(one("process_resident_memory_bytes", "Resident memory of this process",
                    MetricType::Gauge, resident_bytes));
  out.push_back(one("process_virtual_memory_bytes", "Virtual memory of this process",
                    MetricType::Gauge, virtual_bytes));
  out.push_back(one("process_open_fds", "Open file descriptors (sockets included)",
                    MetricType::Gauge, open_fds()));
  out.push_back(one("process_max_fds", "The limit on open file descriptors (0: none)",
                    MetricType::Gauge, max_fds()));
  out.push_back(one("process_start_time_seconds", "When the server started, in Unix seconds",
                    MetricType::Gauge, start_time_seconds_));
  out.push_back(one("process_network_receive_bytes_total",
                    "Bytes received on the network namespace's interfaces, loopback excluded",
                    MetricType::Counter, received));
  out.push_back(one("process_network_transmit_bytes_total",
                    "Bytes sent on the network namespace's interfaces, loopback excluded",
                    MetricType::Counter, sent));
  out.push_back(one("log_lines_dropped_total",
                    "Log lines dropped because stdout did not take them and log.buffer_bytes "
                    "were waiting",
                    MetricType::Counter, static_cast<double>(log::dropped_lines())));
  return out;
}

}  // namespace observernet::util
