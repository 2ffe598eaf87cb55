#include "observernet/api/ops_routes.hpp"

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
    int version = -1;
    try {
      version = co_await deps.postgres.run(
          [](store::PgConnection& c) { return store::schema_version(c.raw()); });
    } catch (const std::exception&) {
      version = -1;
    }
    const bool redis_up = co_await deps.redis.ping();
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
