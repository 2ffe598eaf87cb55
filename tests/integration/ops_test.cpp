// Liveness, readiness, metrics and the router's 404/405/HEAD over real HTTP.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>

#include "support.hpp"

namespace observernet::testing {
namespace {

TEST(OpsTest, LivezAndHealthzAnswer) {
  TestServer server;
  for (const char* path : {"/livez", "/healthz"}) {
    auto r = http_request(server.port(), "GET", path);
    EXPECT_EQ(r.status, 200u) << path;
    EXPECT_EQ(nlohmann::json::parse(r.body)["status"], "alive");
  }
}

TEST(OpsTest, ReadyzChecksPostgresSchemaAndRedis) {
  TestServer server;
  auto r = http_request(server.port(), "GET", "/readyz");
  ASSERT_EQ(r.status, 200u) << r.body;
  auto body = nlohmann::json::parse(r.body);
  EXPECT_EQ(body["status"], "ready");
  EXPECT_EQ(body["postgres"], "up");
  EXPECT_EQ(body["schema"], "current");
  EXPECT_EQ(body["schemaVersion"], body["expectedSchemaVersion"]);
  EXPECT_EQ(body["redis"], "up");
  EXPECT_EQ(r.header("cache-control"), "no-store");
}

TEST(OpsTest, ServerStartsAndStaysReadyWithoutRedis) {
  app::Config config = test_config();
  config.redis.endpoint.host = "127.0.0.1";
  config.redis.endpoint.port = 1;  // nothing listens on port 1
  TestServer server(config);
  auto r = http_request(server.port(), "GET", "/readyz");
  ASSERT_EQ(r.status, 200u) << r.body;
  auto body = nlohmann::json::parse(r.body);
  EXPECT_EQ(body["status"], "ready");
  EXPECT_EQ(body["redis"], "down");
  EXPECT_EQ(http_request(server.port(), "GET", "/livez").status, 200u);
  // What /readyz found is a metric too (alerts on a dependency down read it).
  EXPECT_TRUE(metrics_show(server.port(), R"(dependency_up{dependency="redis"} 0)"));
  EXPECT_TRUE(metrics_show(server.port(), R"(dependency_up{dependency="postgres"} 1)"));
}

// http.routes = token: the token-signing Deployment serves RSA signatures and what its
// probes and Prometheus need, nothing else.
TEST(OpsTest, TheTokenRouteSetServesOnlyTokensAndOperations) {
  app::Config config = test_config();
  config.routes = app::RouteSet::token;
  TestServer server(config);
  // Reaches the token handler (a bad body), not the router's 404.
  auto token = http_request(server.port(), "POST", "/api/v1/voting/token", "{}",
                            {{"Content-Type", "application/json"}});
  EXPECT_NE(token.status, 404u) << token.body;
  EXPECT_EQ(token.status / 100, 4u) << token.body;
  for (const char* target : {"/livez", "/healthz", "/readyz", "/metrics"}) {
    EXPECT_EQ(http_request(server.port(), "GET", target).status, 200u) << target;
  }
  EXPECT_EQ(http_request(server.port(), "GET", "/api/v1/public/log-key").status, 404u);
  EXPECT_EQ(http_request(server.port(), "GET",
                         "/api/v1/elections/00000000-0000-0000-0000-000000000000/token-key")
                .status,
            404u);
  EXPECT_EQ(http_request(server.port(), "POST", "/api/v1/voting/submit", "{}",
                         {{"Content-Type", "application/json"}})
                .status,
            404u);
}

// Checks every line against the Prometheus text format 0.0.4 grammar.
TEST(OpsTest, MetricsExpositionParses) {
  TestServer server;
  http_request(server.port(), "GET", "/livez");
  http_request(server.port(), "GET", "/nope");
  auto r = http_request(server.port(), "GET", "/metrics");
  ASSERT_EQ(r.status, 200u);
  EXPECT_EQ(r.header("content-type"), "text/plain; version=0.0.4; charset=utf-8");

  static const std::regex help(R"(^# HELP [a-zA-Z_:][a-zA-Z0-9_:]* .*$)");
  static const std::regex type(
      R"(^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$)");
  static const std::regex sample(
      R"re(^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*",?)*\})? (-?[0-9.eE+-]+|NaN|\+Inf|-Inf)( -?[0-9]+)?$)re");
  std::set<std::string> typed, sampled;
  std::istringstream in(r.body);
  int lines = 0;
  for (std::string line; std::getline(in, line);) {
    if (line.empty()) continue;
    ++lines;
    std::smatch m;
    if (line.starts_with("# HELP")) {
      EXPECT_TRUE(std::regex_match(line, help)) << line;
    } else if (line.starts_with("# TYPE")) {
      ASSERT_TRUE(std::regex_match(line, m, type)) << line;
      typed.insert(m[1]);
    } else {
      ASSERT_TRUE(std::regex_match(line, m, sample)) << line;
      sampled.insert(m[1]);
    }
  }
  EXPECT_GT(lines, 20);
  for (const char* family :
       {"http_requests_total", "http_request_duration_seconds", "http_connections_open",
        "http_limit_exceeded_total", "observernet_build_info", "pool_connections",
        "pool_queued_calls", "process_cpu_seconds_total", "process_resident_memory_bytes",
        "process_open_fds", "process_network_receive_bytes_total", "log_lines_dropped_total"}) {
    EXPECT_TRUE(typed.contains(family)) << family;
  }
  // Read from /proc at the scrape: a live server holds memory and sockets.
  auto value = [&r](const std::string& name) {
    std::smatch m;
    const std::regex line("\n" + name + " ([0-9.e+]+)\n");
    return std::regex_search(r.body, m, line) ? std::stod(m[1]) : -1.0;
  };
  EXPECT_GT(value("process_resident_memory_bytes"), 1e6);
  EXPECT_GT(value("process_open_fds"), 3);
  EXPECT_GT(value("process_cpu_seconds_total"), 0);
  EXPECT_TRUE(sampled.contains("http_request_duration_seconds_bucket"));
  EXPECT_TRUE(metrics_show(server.port(),
                           R"(http_requests_total{method="GET",route="/livez",status="200"} 1)"));
  EXPECT_TRUE(metrics_show(
      server.port(), R"(http_requests_total{method="GET",route="unmatched",status="404"} 1)"));
  EXPECT_NE(r.body.find(R"(pool_connections{pool="postgres",state="max"} 4)"), std::string::npos);
}

TEST(OpsTest, UnknownPathIsAProblem404) {
  TestServer server;
  auto r = http_request(server.port(), "GET", "/api/v1/nothing-here");
  EXPECT_EQ(r.status, 404u);
  EXPECT_EQ(r.header("content-type"), "application/problem+json");
  auto body = nlohmann::json::parse(r.body);
  EXPECT_EQ(body["code"], "not_found");
  EXPECT_EQ(body["status"], 404);
  EXPECT_FALSE(r.header("x-request-id").empty());
}

TEST(OpsTest, WrongMethodIsA405WithAllow) {
  TestServer server;
  auto r = http_request(server.port(), "DELETE", "/readyz");
  EXPECT_EQ(r.status, 405u);
  EXPECT_EQ(r.header("allow"), "GET, HEAD");
  EXPECT_EQ(nlohmann::json::parse(r.body)["code"], "method_not_allowed");
}

TEST(OpsTest, HeadAnswersLikeGetWithoutABody) {
  TestServer server;
  auto get = http_request(server.port(), "GET", "/livez");
  auto head = http_request(server.port(), "HEAD", "/livez");
  EXPECT_EQ(head.status, 200u);
  EXPECT_EQ(head.header("content-length"), std::to_string(get.body.size()));
  EXPECT_TRUE(head.body.empty());
}

TEST(OpsTest, RequestIdIsEchoedOrGenerated) {
  TestServer server;
  auto echoed = http_request(server.port(), "GET", "/livez", "", {{"X-Request-Id", "req-42"}});
  EXPECT_EQ(echoed.header("x-request-id"), "req-42");
  auto generated = http_request(server.port(), "GET", "/livez");
  EXPECT_TRUE(std::regex_match(generated.header("x-request-id"), std::regex("^[0-9a-f]{32}$")));
  // Something unfit for a log line is replaced, not echoed.
  auto replaced =
      http_request(server.port(), "GET", "/livez", "", {{"X-Request-Id", std::string(200, 'x')}});
  EXPECT_EQ(replaced.header("x-request-id").size(), 32u);
}

}  // namespace
}  // namespace observernet::testing
