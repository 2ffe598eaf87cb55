#pragma once
// Operations routes: /livez (and /healthz), /readyz, /metrics.
#include <atomic>
#include <vector>

#include <prometheus/registry.h>

#include "observernet/http/router.hpp"

namespace observernet::store {
class PgPool;
}
namespace observernet::cache {
class RedisPool;
}

namespace observernet::api {

struct OpsDependencies {
  const std::atomic<bool>& draining;
  store::PgPool& postgres;
  cache::RedisPool& redis;
  std::vector<const prometheus::Collectable*> metrics;  // what /metrics serialises
};

void add_ops_routes(http::Router& router, OpsDependencies deps);

}  // namespace observernet::api
