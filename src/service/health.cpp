#include "observernet/service/health.hpp"

#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include "observernet/cache/redis_lanes.hpp"
#include "observernet/store/migrations.hpp"
#include "observernet/store/pg_pool.hpp"

namespace observernet::service {
namespace {

prometheus::Family<prometheus::Gauge>& dependency_up(prometheus::Registry& registry) {
  return prometheus::BuildGauge()
      .Name("dependency_up")
      .Help("1 if the dependency answered the last check (/readyz, and every 5 s), else 0")
      .Register(registry);
}

}  // namespace

DependencyCheck::DependencyCheck(store::PgPool& postgres, cache::RedisLanes& redis,
                                 prometheus::Registry& registry)
    : postgres_(&postgres),
      redis_(&redis),
      postgres_up_(&dependency_up(registry).Add({{"dependency", "postgres"}})),
      redis_up_(&dependency_up(registry).Add({{"dependency", "redis"}})) {}

boost::asio::awaitable<Readiness> DependencyCheck::run() {
  Readiness state;
  if (!postgres_) {
    state.stores = false;
    co_return state;
  }
  state.expected_schema_version = store::latest_migration_version();
  try {
    state.schema_version = co_await postgres_->run(
        [](store::PgConnection& c) { return store::schema_version(c.raw()); });
  } catch (const std::exception&) {
    state.schema_version = -1;
  }
  state.redis_up = co_await redis_->ping();
  postgres_up_->Set(state.schema_version >= 0 ? 1 : 0);
  redis_up_->Set(state.redis_up ? 1 : 0);
  co_return state;
}

}  // namespace observernet::service
