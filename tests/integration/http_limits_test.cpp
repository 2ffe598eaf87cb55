// The transport's limits and keep-alive behaviour, over raw sockets.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <thread>

#include "support.hpp"

namespace observernet::testing {
namespace {

using namespace std::chrono_literals;
using http::iequals;
using http::Method;
using http::Request;
using http::Response;

void echo_routes(http::Router& router) {
  auto size = [](Request& r) -> boost::asio::awaitable<Response> {
    co_return Response::json(200, nlohmann::json{{"bytes", r.body.size()}}.dump());
  };
  router.add(Method::post, "/test/echo", size);
  http::RouteOptions big;
  big.body_limit = 4u << 20;
  router.add(Method::post, "/test/big", size, big);
  router.add(Method::get, "/test/header", [](Request& r) -> boost::asio::awaitable<Response> {
    co_return Response::json(200, nlohmann::json{{"x-a", r.header("X-A")}}.dump());
  });
}

std::string post(const std::string& path, std::size_t bytes, const std::string& extra = {}) {
  return "POST " + path + " HTTP/1.1\r\nHost: t\r\nContent-Length: " + std::to_string(bytes) +
         "\r\n" + extra + "\r\n" + std::string(bytes, 'x');
}

TEST(HttpLimitsTest, BodyOverTheLimitIs413AndSmallerBodiesPass) {
  app::Config config = test_config();
  config.http.body_limit_bytes = 1000;
  TestServer server(config, echo_routes);

  auto ok = http_request(server.port(), "POST", "/test/echo", std::string(1000, 'a'));
  EXPECT_EQ(ok.status, 200u);
  EXPECT_EQ(nlohmann::json::parse(ok.body)["bytes"], 1000);

  auto big = http_request(server.port(), "POST", "/test/echo", std::string(1001, 'a'));
  EXPECT_EQ(big.status, 413u);
  EXPECT_EQ(nlohmann::json::parse(big.body)["code"], "payload_too_large");
  EXPECT_EQ(big.header("connection"), "close");
}

TEST(HttpLimitsTest, ChunkedBodyOverTheLimitIs413) {
  app::Config config = test_config();
  config.http.body_limit_bytes = 1000;
  TestServer server(config, echo_routes);
  RawConnection conn(server.port());
  std::string chunk(600, 'y');
  conn.send("POST /test/echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n258\r\n" +
            chunk + "\r\n258\r\n" + chunk + "\r\n0\r\n\r\n");
  auto r = conn.read_response();
  EXPECT_EQ(r.status, 413u);
}

TEST(HttpLimitsTest, RoutesMayRaiseTheirBodyLimit) {
  app::Config config = test_config();
  config.http.body_limit_bytes = 1000;
  TestServer server(config, echo_routes);
  auto r = http_request(server.port(), "POST", "/test/big", std::string(2u << 20, 'b'));
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(nlohmann::json::parse(r.body)["bytes"], 2u << 20);
  EXPECT_EQ(
      http_request(server.port(), "POST", "/test/big", std::string((4u << 20) + 1, 'b')).status,
      413u);
}

TEST(HttpLimitsTest, ExpectContinueIsHonoured) {
  TestServer server(test_config(), echo_routes);
  RawConnection conn(server.port());
  conn.send(
      "POST /test/echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n");
  EXPECT_EQ(conn.read_response().status, 100u);
  conn.send("hello");
  auto r = conn.read_response();
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(nlohmann::json::parse(r.body)["bytes"], 5);
}

TEST(HttpLimitsTest, HeaderOverTheLimitIs431) {
  app::Config config = test_config();
  config.http.header_limit_bytes = 2048;
  TestServer server(config);
  RawConnection conn(server.port());
  conn.send("GET /livez HTTP/1.1\r\nHost: t\r\nX-Big: " + std::string(4096, 'h') + "\r\n\r\n");
  auto r = conn.read_response();
  EXPECT_EQ(r.status, 431u);
  EXPECT_EQ(nlohmann::json::parse(r.body)["code"], "header_too_large");
  EXPECT_TRUE(conn.closed_within(2s));
}

TEST(HttpLimitsTest, MalformedRequestIs400) {
  TestServer server;
  RawConnection conn(server.port());
  conn.send("THIS IS NOT HTTP\r\n\r\n");
  auto r = conn.read_response();
  EXPECT_EQ(r.status, 400u);
  EXPECT_EQ(nlohmann::json::parse(r.body)["code"], "bad_request");
}

TEST(HttpLimitsTest, SlowHeadersAreCutOff) {
  app::Config config = test_config();
  config.http.header_timeout = 600ms;
  TestServer server(config);
  RawConnection conn(server.port());
  // A slowloris client: a byte now and then, never the end of the headers.
  conn.send("GET /livez HTTP/1.1\r\n");
  bool closed = false;
  for (int i = 0; i < 40 && !closed; ++i) {
    closed = !conn.try_send("X") || conn.closed_within(100ms);
  }
  EXPECT_TRUE(closed) << "the connection outlived the 600 ms header timeout by seconds";
  EXPECT_TRUE(
      metrics_show(server.port(), R"(http_limit_exceeded_total{limit="header_timeout"} 1)"));
}

// The deadline of a later request on a kept-alive connection starts at its first byte
// and is shorter than the idle wait before it.
TEST(HttpLimitsTest, SlowHeadersOfALaterRequestAreCutOff) {
  app::Config config = test_config();
  config.http.header_timeout = 400ms;
  config.http.idle_timeout = 20s;
  TestServer server(config);
  RawConnection conn(server.port());
  for (int i = 0; i < 3; ++i) {
    conn.send("GET /livez HTTP/1.1\r\nHost: t\r\n\r\n");
    ASSERT_EQ(conn.read_response().status, 200u);
    std::this_thread::sleep_for(300ms);  // idle, but within the idle timeout
  }
  conn.send("GET /livez HTTP/1.1\r\n");
  EXPECT_TRUE(conn.closed_within(3s)) << "the 400 ms header timeout did not apply";
  EXPECT_TRUE(
      metrics_show(server.port(), R"(http_limit_exceeded_total{limit="header_timeout"} 1)"));
  EXPECT_TRUE(metrics_show(server.port(), R"(http_limit_exceeded_total{limit="idle_timeout"} 0)"));
}

TEST(HttpLimitsTest, SlowBodiesAreCutOff) {
  app::Config config = test_config();
  config.http.body_timeout = 400ms;
  TestServer server(config, echo_routes);
  RawConnection conn(server.port());
  conn.send("POST /test/echo HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\nxx");
  EXPECT_TRUE(conn.closed_within(3s)) << "the 400 ms body timeout did not apply";
  EXPECT_TRUE(metrics_show(server.port(), R"(http_limit_exceeded_total{limit="body_timeout"} 1)"));
}

// HTTP/1.0 closes after each response unless the response says otherwise.
TEST(HttpLimitsTest, Http10KeepAliveIsAnswered) {
  TestServer server;
  RawConnection conn(server.port());
  for (int i = 0; i < 2; ++i) {
    conn.send("GET /livez HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    auto r = conn.read_response();
    ASSERT_EQ(r.status, 200u);
    EXPECT_TRUE(iequals(r.header("connection"), "keep-alive"));
  }
  conn.send("GET /livez HTTP/1.0\r\n\r\n");
  auto last = conn.read_response();
  EXPECT_EQ(last.status, 200u);
  EXPECT_TRUE(iequals(last.header("connection"), "close"));
  EXPECT_TRUE(conn.closed_within(2s));
}

TEST(HttpLimitsTest, IdleKeepAliveConnectionsAreClosed) {
  app::Config config = test_config();
  config.http.idle_timeout = 300ms;
  TestServer server(config);
  RawConnection conn(server.port());
  conn.send("GET /livez HTTP/1.1\r\nHost: t\r\n\r\n");
  EXPECT_EQ(conn.read_response().status, 200u);
  EXPECT_TRUE(conn.closed_within(3s));
  EXPECT_TRUE(metrics_show(server.port(), R"(http_limit_exceeded_total{limit="idle_timeout"} 1)"));
}

TEST(HttpLimitsTest, ManyRequestsShareOneKeepAliveConnection) {
  TestServer server;
  RawConnection conn(server.port());
  for (int i = 0; i < 500; ++i) {
    conn.send("GET /livez HTTP/1.1\r\nHost: t\r\nX-Request-Id: r" + std::to_string(i) + "\r\n\r\n");
    auto r = conn.read_response();
    ASSERT_EQ(r.status, 200u);
    ASSERT_EQ(r.header("x-request-id"), "r" + std::to_string(i));
    ASSERT_NE(r.header("connection"), "close");
  }
  EXPECT_TRUE(metrics_show(server.port(),
                           R"(http_requests_total{method="GET",route="/livez",status="200"} 500)"));
}

TEST(HttpLimitsTest, PipelinedRequestsAreAnsweredInOrder) {
  TestServer server(test_config(), echo_routes);
  RawConnection conn(server.port());
  std::string burst;
  for (int i = 0; i < 20; ++i) {
    std::string id = "p" + std::to_string(i);
    burst += i % 2 ? post("/test/echo", static_cast<std::size_t>(i), "X-Request-Id: " + id + "\r\n")
                   : "GET /livez HTTP/1.1\r\nHost: t\r\nX-Request-Id: " + id + "\r\n\r\n";
  }
  conn.send(burst);  // all twenty in one write
  for (int i = 0; i < 20; ++i) {
    auto r = conn.read_response();
    ASSERT_EQ(r.status, 200u);
    EXPECT_EQ(r.header("x-request-id"), "p" + std::to_string(i));
    if (i % 2) {
      EXPECT_EQ(nlohmann::json::parse(r.body)["bytes"], i);
    }
  }
}

// Request smuggling: framing that a proxy in front and this server could read differently
// is refused with 400 and the connection closed, so the bytes behind it are never read
// as a request of their own (RFC 9112, sections 6.3 and 11.2). Each case is followed, in
// the same write, by a request that must get no answer.
TEST(HttpLimitsTest, AmbiguousFramingIsRefusedAndNothingBehindItIsAnswered) {
  TestServer server(test_config(), echo_routes);
  const std::string behind = "GET /livez HTTP/1.1\r\nHost: t\r\n\r\n";
  const std::string head = "POST /test/echo HTTP/1.1\r\nHost: t\r\n";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"Content-Length, then Transfer-Encoding",
       head + "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"},
      {"Transfer-Encoding, then Content-Length",
       head + "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n"},
      {"two Content-Lengths", head + "Content-Length: 3\r\nContent-Length: 5\r\n\r\nabcde"},
      {"a Content-Length list", head + "Content-Length: 3, 5\r\n\r\nabcde"},
      {"chunked, but not last", head + "Transfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n"},
      {"another coding before chunked", head + "Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n"},
      {"two Transfer-Encodings",
       head + "Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"},
      {"a space before the colon", head + "Content-Length : 5\r\n\r\nabcde"},
      {"a bare LF", "GET /livez HTTP/1.1\nHost: t\n\n"},
      {"a chunk extension of 64 KiB", head + "Transfer-Encoding: chunked\r\n\r\n1;" +
                                          std::string(64 * 1024, 'e') + "\r\nx\r\n0\r\n\r\n"},
      {"a chunk extension of 1 MiB, beyond what the server buffers",
       head + "Transfer-Encoding: chunked\r\n\r\n1;" + std::string(1024 * 1024, 'e') +
           "\r\nx\r\n0\r\n\r\n"},
      {"a chunk size that is not hex",
       head + "Transfer-Encoding: chunked\r\n\r\nzz\r\nx\r\n0\r\n\r\n"},
      {"a chunk longer than its size",
       head + "Transfer-Encoding: chunked\r\n\r\n1\r\nxyz\r\n0\r\n\r\n"},
      {"a malformed request line", "GET /livez HTTP/1.1 extra\r\nHost: t\r\n\r\n"},
  };
  for (const auto& [name, bytes] : cases) {
    RawConnection conn(server.port());
    if (!conn.try_send(bytes + behind)) {
      ADD_FAILURE() << name << ": the server closed before the request was sent";
      continue;
    }
    auto r = conn.read_response();
    EXPECT_EQ(r.status, 400u) << name << ": " << r.body;
    EXPECT_TRUE(conn.closed_within(2s)) << name << ": the connection stayed open";
    EXPECT_EQ(conn.unread(), "") << name << ": the request behind it was answered";
  }
  EXPECT_TRUE(
      metrics_show(server.port(), R"(http_limit_exceeded_total{limit="chunk_extension"} 2)"));
}

// A folded header (obs-fold) is read as its parts joined by a space, as RFC 9112 section
// 5.2 allows: one request, answered once, and the request behind it answered too.
TEST(HttpLimitsTest, AFoldedHeaderIsOneRequestAnsweredOnce) {
  TestServer server(test_config(), echo_routes);
  RawConnection conn(server.port());
  conn.send(
      "GET /test/header HTTP/1.1\r\nHost: t\r\nX-A: a\r\n b\r\nX-B: c\r\n\r\n"
      "GET /test/header HTTP/1.1\r\nHost: t\r\nX-A: d\r\n\r\n");
  auto folded = conn.read_response();
  EXPECT_EQ(folded.status, 200u);
  EXPECT_EQ(nlohmann::json::parse(folded.body)["x-a"], "a b");
  auto behind = conn.read_response();
  EXPECT_EQ(behind.status, 200u);
  EXPECT_EQ(nlohmann::json::parse(behind.body)["x-a"], "d");
  EXPECT_FALSE(conn.closed_within(300ms));
  EXPECT_EQ(conn.unread(), "");
}

TEST(HttpLimitsTest, ConnectionsBeyondTheLimitAreRefusedCleanly) {
  app::Config config = test_config();
  config.http.max_connections = 2;
  TestServer server(config);
  auto first = std::make_unique<RawConnection>(server.port());
  RawConnection second(server.port());
  first->send("GET /livez HTTP/1.1\r\nHost: t\r\n\r\n");
  ASSERT_EQ(first->read_response().status, 200u);  // both are really open now
  second.send("GET /livez HTTP/1.1\r\nHost: t\r\n\r\n");
  ASSERT_EQ(second.read_response().status, 200u);

  RawConnection third(server.port());
  auto refused = third.read_response();
  EXPECT_EQ(refused.status, 503u);
  EXPECT_EQ(nlohmann::json::parse(refused.body)["code"], "too_many_connections");
  EXPECT_EQ(refused.header("retry-after"), "1");
  EXPECT_TRUE(third.closed_within(2s));

  first.reset();  // a slot frees up: the server takes connections again
  HttpResult metrics;
  EXPECT_TRUE(eventually([&] {
    metrics = http_request(server.port(), "GET", "/metrics");
    return metrics.status == 200;
  }));
  EXPECT_EQ(metrics.body.find(R"(http_limit_exceeded_total{limit="connections"} 0)"),
            std::string::npos);
  EXPECT_NE(metrics.body.find(R"(http_limit_exceeded_total{limit="connections"})"),
            std::string::npos);
}

}  // namespace
}  // namespace observernet::testing
