#include "observernet/api/ops_routes.hpp"

#include <nlohmann/json.hpp>

#include "observernet/http/metrics.hpp"
#include "observernet/service/health.hpp"

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

void add_ops_routes(http::Router& router, OpsDependencies deps) {
  auto livez = [](Request&) -> awaitable<Response> {
    co_return no_store(Response::json(200, R"({"status":"alive"})"));
  };
  // Probes and Prometheus, which no voter's browser calls: their lines may name the
  // client (a misbehaving scraper is worth finding).
  http::RouteOptions ops;
  ops.log_client_address = true;
  router.add(Method::get, "/livez", livez, ops);
  router.add(Method::get, "/healthz", livez, ops);

  router.add(
      Method::get, "/readyz",
      [deps](Request&) -> awaitable<Response> {
        if (deps.draining) {
          co_return no_store(Response::json(503, R"({"status":"draining"})"));
        }
        const service::Readiness state = co_await deps.dependencies.run();
        // A process without PostgreSQL and Redis (http.routes = web) is ready once it serves.
        if (!state.stores) co_return no_store(Response::json(200, R"({"status":"ready"})"));
        const int version = state.schema_version;
        const int expected = state.expected_schema_version;
        const bool redis_up = state.redis_up;
        const char* schema = version < 0          ? "unknown"
                             : version < expected ? "behind"
                             : version > expected ? "ahead"
                                                  : "current";
        const bool ready = state.ready();
        nlohmann::json body = {
            {"status", ready ? "ready" : "not_ready"},
            {"postgres", version >= 0 ? "up" : "down"},
            {"schema", schema},
            {"schemaVersion", version < 0 ? nlohmann::json(nullptr) : nlohmann::json(version)},
            {"expectedSchemaVersion", expected},
            {"redis", redis_up ? "up" : "down"},
        };
        co_return no_store(Response::json(ready ? 200 : 503, body.dump()));
      },
      ops);

  router.add(
      Method::get, "/metrics",
      [metrics = deps.metrics](Request&) -> awaitable<Response> {
        co_return no_store(Response::text(200, http::serialize_metrics(metrics),
                                          "text/plain; version=0.0.4; charset=utf-8"));
      },
      ops);
}

}  // namespace observernet::api
