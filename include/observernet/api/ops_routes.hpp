#pragma once
// Operations routes: /livez (and /healthz), /readyz, /metrics.
#include <atomic>
#include <string_view>
#include <vector>

#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include "observernet/http/router.hpp"

namespace observernet::store {
class PgPool;
}
namespace observernet::cache {
class RedisPool;
}

namespace observernet::api {

// What /readyz reports of PostgreSQL and Redis. Each run also sets
// dependency_up{dependency}: /readyz runs it, and the app every few seconds, so that the
// metric stays fresh where nothing probes /readyz (Docker Compose).
class DependencyCheck {
 public:
  struct State {
    int schema_version = -1;  // -1: PostgreSQL did not answer
    bool redis_up = false;
  };
  DependencyCheck(store::PgPool& postgres, cache::RedisPool& redis, prometheus::Registry& registry);
  boost::asio::awaitable<State> run();

 private:
  store::PgPool& postgres_;
  cache::RedisPool& redis_;
  prometheus::Gauge& postgres_up_;
  prometheus::Gauge& redis_up_;
};

struct OpsDependencies {
  const std::atomic<bool>& draining;
  DependencyCheck& dependencies;
  std::vector<const prometheus::Collectable*> metrics;  // what /metrics serialises
};

void add_ops_routes(http::Router& router, OpsDependencies deps);

// /livez, /healthz, /readyz and /metrics: never rate limited, served by every process.
bool is_ops_route(std::string_view path_template);

}  // namespace observernet::api
