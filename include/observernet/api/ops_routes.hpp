#pragma once
// Operations routes: /livez (and /healthz), /readyz, /metrics.
#include <atomic>
#include <string_view>
#include <vector>

#include <prometheus/registry.h>

#include "observernet/http/router.hpp"

namespace observernet::service {
class DependencyCheck;
}

namespace observernet::api {

struct OpsDependencies {
  const std::atomic<bool>& draining;
  service::DependencyCheck& dependencies;
  std::vector<const prometheus::Collectable*> metrics;  // what /metrics serialises
};

void add_ops_routes(http::Router& router, OpsDependencies deps);

// /livez, /healthz, /readyz and /metrics: never rate limited, served by every process.
bool is_ops_route(std::string_view path_template);

}  // namespace observernet::api
