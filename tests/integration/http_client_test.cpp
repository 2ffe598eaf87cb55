// The client's HTTP/1.1 connection handling against a scripted server: reuse, idle
// connections the server closed, lost answers, timeouts. No databases needed.
#include "observernet/client/http_client.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "support.hpp"

namespace observernet::testing {
namespace {

using namespace std::chrono_literals;
using client::HttpClient;
using client::TransportError;

std::string url(const FakeHttpServer& server, const std::string& base = "") {
  return "http://127.0.0.1:" + std::to_string(server.port()) + base;
}

TEST(HttpClientTest, OneKeepAliveConnectionForSeveralRequests) {
  FakeHttpServer server([](const FakeRequest& r) {
    return FakeAnswer{fake_response(r.method == "POST" ? 201 : 200, R"({"ok":true})")};
  });
  HttpClient client(url(server, "/base/"));
  auto first = client.request("GET", "/api/v1/things?limit=2");
  EXPECT_EQ(first.status, 200u);
  EXPECT_EQ(first.body, R"({"ok":true})");
  EXPECT_EQ(first.header("content-type"), "application/json");
  auto second = client.request("POST", "/api/v1/things", nlohmann::json{{"name", "x"}},
                               {{"X-Request-Id", "abc"}});
  EXPECT_EQ(second.status, 201u);
  EXPECT_EQ(client.request("DELETE", "/api/v1/things/1").status, 200u);

  EXPECT_EQ(server.connections_accepted(), 1);
  auto seen = server.requests();
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[0].method, "GET");
  EXPECT_EQ(seen[0].target, "/base/api/v1/things?limit=2");
  EXPECT_EQ(seen[0].headers["host"], "127.0.0.1:" + std::to_string(server.port()));
  EXPECT_EQ(seen[0].body, "");
  EXPECT_EQ(seen[1].method, "POST");
  EXPECT_EQ(seen[1].headers["content-type"], "application/json");
  EXPECT_EQ(seen[1].headers["x-request-id"], "abc");
  EXPECT_EQ(seen[1].body, R"({"name":"x"})");
  EXPECT_EQ(seen[2].method, "DELETE");
}

TEST(HttpClientTest, AnyStatusIsAReply) {
  FakeHttpServer server([](const FakeRequest&) {
    return FakeAnswer{fake_response(409, R"({"code":"token_already_issued"})",
                                    "application/problem+json", {"Retry-After: 3"})};
  });
  HttpClient client(url(server));
  auto reply = client.request("POST", "/x", nlohmann::json::object());
  EXPECT_EQ(reply.status, 409u);
  EXPECT_EQ(reply.header("Retry-After"), "3");
  EXPECT_EQ(reply.body, R"({"code":"token_already_issued"})");
}

TEST(HttpClientTest, ReplacesAConnectionTheServerClosedWhileIdle) {
  // The server closes after each answer without saying so (RFC 9112 §9.5 allows it).
  FakeHttpServer server([](const FakeRequest&) {
    return FakeAnswer{fake_response(200, "{}"), true};
  });
  HttpClient client(url(server));
  EXPECT_EQ(client.request("POST", "/a", nlohmann::json::object()).status, 200u);
  // Let the FIN arrive: a POST is not repeated, so the client must notice before sending.
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(client.request("POST", "/b", nlohmann::json::object()).status, 200u);
  EXPECT_EQ(server.connections_accepted(), 2);
  EXPECT_EQ(server.requests().size(), 2u);
}

TEST(HttpClientTest, HonoursConnectionClose) {
  FakeHttpServer server([](const FakeRequest&) {
    return FakeAnswer{fake_response(200, "{}", "application/json", {"Connection: close"})};
  });
  HttpClient client(url(server));
  EXPECT_EQ(client.request("GET", "/a").status, 200u);
  EXPECT_EQ(client.request("GET", "/b").status, 200u);
  EXPECT_EQ(server.connections_accepted(), 2);
}

TEST(HttpClientTest, RepeatsOnlyIdempotentRequestsLostOnAReusedConnection) {
  // Every second request on a connection is dropped unanswered, as when the server
  // closes an idle connection just as the request arrives.
  int n = 0;
  FakeHttpServer server([&](const FakeRequest&) {
    ++n;
    if (n == 2 || n == 5) return FakeAnswer{"", true};
    return FakeAnswer{fake_response(200, "{}")};
  });
  HttpClient client(url(server));
  EXPECT_EQ(client.request("GET", "/one").status, 200u);
  EXPECT_EQ(client.request("GET", "/two").status, 200u) << "a lost GET is sent again";
  EXPECT_EQ(server.connections_accepted(), 2);
  EXPECT_EQ(server.requests().size(), 3u);

  EXPECT_EQ(client.request("GET", "/three").status, 200u);
  EXPECT_THROW(client.request("POST", "/four", nlohmann::json::object()), TransportError)
      << "a lost POST is the caller's to repeat";
  EXPECT_EQ(server.requests().size(), 5u);
  EXPECT_EQ(client.request("POST", "/five", nlohmann::json::object()).status, 200u);
  EXPECT_EQ(server.connections_accepted(), 3);
}

TEST(HttpClientTest, NoRepeatOnAFreshConnection) {
  FakeHttpServer server([](const FakeRequest&) { return FakeAnswer{"", true}; });
  HttpClient client(url(server));
  try {
    client.request("GET", "/x");
    ADD_FAILURE() << "no answer was taken for one";
  } catch (const TransportError& e) {
    EXPECT_NE(std::string(e.what()).find("closed the connection"), std::string::npos) << e.what();
  }
  EXPECT_EQ(server.requests().size(), 1u);
}

TEST(HttpClientTest, TimesOutWhenNoAnswerComes) {
  int n = 0;
  FakeHttpServer server([&](const FakeRequest&) {
    return ++n == 1 ? FakeAnswer{fake_response(200, "{}")} : FakeAnswer{"", false, true};
  });
  HttpClient client(url(server), 200ms);
  EXPECT_EQ(client.request("GET", "/fast").status, 200u);
  auto start = std::chrono::steady_clock::now();
  try {
    client.request("GET", "/slow");
    ADD_FAILURE() << "no timeout";
  } catch (const TransportError& e) {
    EXPECT_NE(std::string(e.what()).find("no answer within 200 ms"), std::string::npos) << e.what();
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
  // Not repeated, though it is a GET on a reused connection: it would only wait again.
  EXPECT_EQ(server.requests().size(), 2u);
}

TEST(HttpClientTest, RefusedConnectionAndGarbageAreTransportErrors) {
  std::uint16_t closed_port;
  {
    FakeHttpServer gone([](const FakeRequest&) { return FakeAnswer{}; });
    closed_port = gone.port();
  }
  HttpClient refused("http://127.0.0.1:" + std::to_string(closed_port), 2s);
  try {
    refused.request("GET", "/");
    ADD_FAILURE() << "connected to a closed port";
  } catch (const TransportError& e) {
    EXPECT_NE(std::string(e.what()).find("connecting to 127.0.0.1:"), std::string::npos)
        << e.what();
  }

  FakeHttpServer garbage([](const FakeRequest&) { return FakeAnswer{"SMTP ready\r\n\r\n", true}; });
  HttpClient client(url(garbage));
  EXPECT_THROW(client.request("GET", "/"), TransportError);
}

}  // namespace
}  // namespace observernet::testing
