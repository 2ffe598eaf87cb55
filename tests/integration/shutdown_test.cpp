// SIGTERM: unready at once, then drain: in-flight requests finish, exit code 0.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <future>
#include <nlohmann/json.hpp>

#include "support.hpp"

namespace observernet::testing {
namespace {

using namespace std::chrono_literals;

void slow_route(http::Router& router) {
  router.add(http::Method::get, "/test/slow",
             [](http::Request&) -> boost::asio::awaitable<http::Response> {
               boost::asio::steady_timer timer(co_await boost::asio::this_coro::executor);
               timer.expires_after(1500ms);
               co_await timer.async_wait(boost::asio::use_awaitable);
               co_return http::Response::json(200, R"({"slow":"done"})");
             });
}

TEST(ShutdownTest, SigtermLetsInFlightRequestsFinishAndExitsZero) {
  app::Config config = test_config();
  config.shutdown.drain_delay = 400ms;
  TestServer server(config, slow_route);
  const auto port = server.port();

  // An idle keep-alive connection: shutdown must close it, not wait for it.
  RawConnection idle(port);
  idle.send("GET /livez HTTP/1.1\r\nHost: t\r\n\r\n");
  ASSERT_EQ(idle.read_response().status, 200u);

  auto in_flight =
      std::async(std::launch::async, [port] { return http_request(port, "GET", "/test/slow"); });
  std::this_thread::sleep_for(300ms);  // the slow request is now inside its handler
  ASSERT_EQ(::kill(::getpid(), SIGTERM), 0);

  // During the drain delay: still serving, but no longer ready.
  HttpResult ready;
  EXPECT_TRUE(eventually(
      [&] {
        ready = http_request(port, "GET", "/readyz");
        return ready.status == 503;
      },
      2s));
  EXPECT_EQ(nlohmann::json::parse(ready.body)["status"], "draining");

  auto finished = in_flight.get();
  EXPECT_EQ(finished.status, 200u);
  EXPECT_EQ(nlohmann::json::parse(finished.body)["slow"], "done");
  EXPECT_EQ(finished.header("connection"), "close");
  EXPECT_TRUE(idle.closed_within(5s));
  EXPECT_EQ(server.wait(), 0);
  EXPECT_THROW(RawConnection{port}, std::runtime_error) << "still accepting after shutdown";
}

TEST(ShutdownTest, RequestShutdownDrainsTheSameWay) {
  TestServer server(test_config(), slow_route);
  const auto port = server.port();
  auto in_flight =
      std::async(std::launch::async, [port] { return http_request(port, "GET", "/test/slow"); });
  std::this_thread::sleep_for(300ms);
  server.shutdown();
  EXPECT_EQ(in_flight.get().status, 200u);
  EXPECT_EQ(server.wait(), 0);
}

}  // namespace
}  // namespace observernet::testing
