#pragma once
// Operations routes: /livez (and /healthz), /readyz, /metrics.
#include <atomic>

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
  const prometheus::Registry& registry;
};

void add_ops_routes(http::Router& router, OpsDependencies deps);

}  // namespace observernet::api
