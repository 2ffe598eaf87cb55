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
  int schema_version = -1;  // -1: PostgreSQL did not answer
  int expected_schema_version = 0;
  bool redis_up = false;
  // A newer schema than this binary knows is a rolling upgrade in progress: still ready.
  bool ready() const { return schema_version >= expected_schema_version; }
};

class DependencyCheck {
 public:
  DependencyCheck(store::PgPool& postgres, cache::RedisLanes& redis,
                  prometheus::Registry& registry);
  boost::asio::awaitable<Readiness> run();

 private:
  store::PgPool& postgres_;
  cache::RedisLanes& redis_;
  prometheus::Gauge& postgres_up_;
  prometheus::Gauge& redis_up_;
};

}  // namespace observernet::service
