#pragma once
// What /readyz reports of PostgreSQL and Redis. Each check also sets
// dependency_up{dependency}: /readyz runs one, and the App's DependencyRefresh every few
// seconds, so that the metric stays fresh where nothing probes /readyz (Docker Compose).
#include <boost/asio/awaitable.hpp>

namespace prometheus {
class Gauge;
class Registry;
}  // namespace prometheus
namespace observernet::store {
class PgPool;
}
namespace observernet::cache {
class RedisLanes;
}

namespace observernet::service {

struct Readiness {
  bool stores = true;       // false: a process that uses neither (http.routes = web)
  int schema_version = -1;  // -1: PostgreSQL did not answer
  int expected_schema_version = 0;
  bool redis_up = false;
  // A newer schema than this binary knows is a rolling upgrade in progress: still ready.
  bool ready() const { return !stores || schema_version >= expected_schema_version; }
};

class DependencyCheck {
 public:
  DependencyCheck(store::PgPool& postgres, cache::RedisLanes& redis,
                  prometheus::Registry& registry);
  // A process without PostgreSQL and Redis: always ready, and no dependency_up series.
  DependencyCheck() = default;
  boost::asio::awaitable<Readiness> run();

 private:
  store::PgPool* postgres_ = nullptr;
  cache::RedisLanes* redis_ = nullptr;
  prometheus::Gauge* postgres_up_ = nullptr;
  prometheus::Gauge* redis_up_ = nullptr;
};

}  // namespace observernet::service
