#include <gtest/gtest.h>

#include <algorithm>
#include <thread>

#include "observernet/util/process_metrics.hpp"

namespace observernet::util {
namespace {

// cgroup v2's cpu.max, as a pod with resources.limits.cpu sees it.
TEST(ProcessTest, CgroupCpuMaxGivesTheCpuLimit) {
  EXPECT_EQ(cpus_from_cgroup_max("200000 100000\n"), 2.0);
  EXPECT_EQ(cpus_from_cgroup_max("150000 100000"), 1.5);        // limits.cpu: 1500m
  EXPECT_EQ(cpus_from_cgroup_max("max 100000"), std::nullopt);  // no limit
  EXPECT_EQ(cpus_from_cgroup_max(""), std::nullopt);
  EXPECT_EQ(cpus_from_cgroup_max("0 100000"), std::nullopt);
  EXPECT_EQ(cpus_from_cgroup_max("garbage"), std::nullopt);
}

TEST(ProcessTest, AvailableCpusNeverExceedTheMachinesNorFallBelowOne) {
  const unsigned cpus = available_cpus();
  EXPECT_GE(cpus, 1u);
  EXPECT_LE(cpus, std::max(1u, std::thread::hardware_concurrency()));
}

}  // namespace
}  // namespace observernet::util
