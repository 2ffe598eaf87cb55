#include "observernet/api/ops_routes.hpp"

#include <prometheus/gauge.h>

#include <nlohmann/json.hpp>

#include "observernet/cache/redis_pool.hpp"
#include "observernet/http/metrics.hpp"
#include "observernet/store/migrations.hpp"
#include "observernet/store/pg_pool.hpp"

namespace observernet::api {
namespace {

using boost::asio::awaitable;
using http::Method;
using http::Request;
using http::Response;

Response no_store(Response r) {
  r.set("Cache-Control", "no-store");
  return r;
}

}  // namespace

bool is_ops_route(std::string_view path_template) {
  return path_template == "/livez" || path_template == "/healthz" || path_template == "/readyz" ||
         path_template == "/metrics";
}

namespace {
prometheus::Family<prometheus::Gauge>& dependency_up(prometheus::Registry& registry) {
  return prometheus::BuildGauge()
      .Name("dependency_up")
      .Help("1 if the dependency answered the last check (/readyz, and every 5 s), else 0")
      .Register(registry);
}
}  // namespace

DependencyCheck::DependencyCheck(store::PgPool& postgres, cache::RedisPool& redis,
                                 prometheus::Registry& registry)
    : postgres_(postgres),
      redis_(redis),
      postgres_up_(dependency_up(registry).Add({{"dependency", "postgres"}})),
      redis_up_(dependency_up(registry).Add({{"dependency", "redis"}})) {}

awaitable<DependencyCheck::State> DependencyCheck::run() {
  State state;
  try {
    state.schema_version = co_await postgres_.run(
        [](store::PgConnection& c) { return store::schema_version(c.raw()); });
  } catch (const std::exception&) {
    state.schema_version = -1;
  }
  state.redis_up = co_await redis_.ping();
  postgres_up_.Set(state.schema_version >= 0 ? 1 : 0);
  redis_up_.Set(state.redis_up ? 1 : 0);
  co_return state;
}

void add_ops_routes(http::Router& router, OpsDependencies deps) {
  auto livez = [](Request&) -> awaitable<Response> {
    co_return no_store(Response::json(200, R"({"status":"alive"})"));
  };
  router.add(Method::get, "/livez", livez);
  router.add(Method::get, "/healthz", livez);

  router.add(Method::get, "/readyz", [deps](Request&) -> awaitable<Response> {
    if (deps.draining) {
      co_return no_store(Response::json(503, R"({"status":"draining"})"));
    }
    const int expected = store::latest_migration_version();
    const DependencyCheck::State state = co_await deps.dependencies.run();
    const int version = state.schema_version;
    const bool redis_up = state.redis_up;
    // A newer schema than this binary knows is a rolling upgrade in progress: still ready.
    const char* schema = version < 0          ? "unknown"
                         : version < expected ? "behind"
                         : version > expected ? "ahead"
                                              : "current";
    const bool ready = version >= expected;
    nlohmann::json body = {
        {"status", ready ? "ready" : "not_ready"},
        {"postgres", version >= 0 ? "up" : "down"},
        {"schema", schema},
        {"schemaVersion", version < 0 ? nlohmann::json(nullptr) : nlohmann::json(version)},
        {"expectedSchemaVersion", expected},
        {"redis", redis_up ? "up" : "down"},
    };
    co_return no_store(Response::json(ready ? 200 : 503, body.dump()));
  });

  router.add(Method::get, "/metrics", [metrics = deps.metrics](Request&) -> awaitable<Response> {
    co_return no_store(Response::text(200, http::serialize_metrics(metrics),
                                      "text/plain; version=0.0.4; charset=utf-8"));
  });
}

}  // namespace observernet::api
