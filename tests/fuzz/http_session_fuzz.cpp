// The HTTP/1.1 session (http/server.cpp): each input is what one client sends on one
// connection to a real http::Server on 127.0.0.1, before it closes its side. The server
// has routes of each kind (bodies, path parameters, a guard, a small body limit, CORS on
// /api/, an admission check, the web fallback) and short timeouts. Whatever comes back
// must be whole HTTP/1.1 responses, none a 500, and the connection must end within 5 s.
#include <prometheus/registry.h>
#include <boost/asio/buffer.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "fuzz_support.hpp"
#include "observernet/http/server.hpp"
#include "observernet/util/log.hpp"

using namespace observernet;
namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
using asio::ip::tcp;
using http::Request;
using http::Response;

namespace {

constexpr auto kDeadline = std::chrono::seconds(5);

asio::awaitable<Response> body_size(Request& request) {
  co_return Response::json(200, nlohmann::json{{"bytes", request.body.size()}}.dump());
}

asio::awaitable<Response> echo(Request& request) {
  nlohmann::json params = nlohmann::json::object();
  for (const auto& [name, value] : request.params) params[std::string(name)] = value;
  co_return Response::json(200,
                           nlohmann::json{{"params", params},
                                          {"q", request.query_param("q").value_or("")},
                                          {"x-a", request.header("X-A")}}
                               .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

void add_routes(http::Router& router) {
  using http::Method;
  router.add(Method::get, "/livez", [](Request&) -> asio::awaitable<Response> {
    co_return Response::text(200, "ok\n", "text/plain");
  });
  router.add(Method::post, "/test/echo", body_size);
  http::RouteOptions small;
  small.body_limit = 16;
  router.add(Method::post, "/test/small", body_size, small);
  router.add(Method::put, "/test/small", body_size, small);
  router.add(Method::get, "/test/items/{id}/parts/{part}", echo);
  router.add(Method::del, "/test/items/{id}/parts/{part}", echo);
  http::RouteOptions guarded;
  guarded.guard = [](const Request& request) {
    if (request.header("Authorization") != "Bearer key") {
      throw Error(ErrorCode::unauthorized, "This route needs a key.");
    }
  };
  router.add(Method::post, "/test/guarded", body_size, guarded);
  router.add(Method::get, "/api/v1/public/things/{id}", echo);
  router.add(Method::post, "/api/v1/things", body_size);
  router.add(Method::patch, "/api/v1/things/{id}", body_size);
  router.set_fallback(
      [](Request&) -> asio::awaitable<Response> {
        co_return Response::text(404, "<!doctype html><title>Not found</title>", "text/html");
      },
      [](std::string_view path) { return !path.starts_with("/api/"); });
}

struct Fixture {
  prometheus::Registry registry;
  http::HttpMetrics metrics{registry};
  http::IoContexts io{1};
  http::Router router;
  std::unique_ptr<http::Server> server;
  tcp::endpoint endpoint;

  Fixture() {
    log::setup("human", "off");
    add_routes(router);
    http::ServerOptions options;
    options.host = "127.0.0.1";
    options.port = 0;
    options.access_log = false;
    options.header_limit_bytes = 1024;
    options.body_limit_bytes = 1024;
    options.header_timeout = options.body_timeout = options.idle_timeout = options.write_timeout =
        std::chrono::seconds(2);
    options.cors_origins = {"https://vote.example.org"};
    server = std::make_unique<http::Server>(io, router, options, metrics);
    server->set_cors(http::CorsPolicy(
        {.allowed_origins = options.cors_origins, .is_public = [](std::string_view route) {
           return route.starts_with("/api/v1/public/");
         }}));
    // Refuses requests naming "limited" in the query, adds a field to the others.
    server->set_admission([](const Request& request, std::string_view,
                             const asio::ip::address&) -> asio::awaitable<http::Admission> {
      http::Admission admission;
      admission.headers.emplace_back("RateLimit", "\"default\";r=9;t=1");
      if (request.query.find("limited") != std::string_view::npos) {
        admission.refusal = Response::json(429, R"({"code":"too_many_requests"})");
      }
      co_return admission;
    });
    server->start();
    endpoint = tcp::endpoint(asio::ip::make_address("127.0.0.1"), server->port());
  }
};

// Whether each request the input holds, as the server's parser reads them, is a HEAD,
// whose answer has a Content-Length but no body. The first request the server refuses
// ends the list: its answer, if any, is an error with a body. That is one the parser
// refuses, or one whose Transfer-Encoding is anything but one field "chunked" (RFC 9112
// section 6.3: the server cannot tell where its body ends).
std::vector<bool> head_requests(std::string_view input) {
  std::vector<bool> heads;
  while (!input.empty()) {
    bhttp::request_parser<bhttp::string_body> parser;
    parser.header_limit(1024);
    parser.body_limit(boost::none);
    parser.eager(true);
    boost::system::error_code ec;
    const std::size_t used = parser.put(asio::buffer(input.data(), input.size()), ec);
    if (!parser.is_header_done()) break;
    const auto& request = parser.get();
    const auto codings = request.count(bhttp::field::transfer_encoding);
    if (codings > 1 || (codings == 1 && !boost::beast::iequals(
                                            request[bhttp::field::transfer_encoding], "chunked"))) {
      break;
    }
    heads.push_back(request.method() == bhttp::verb::head);
    if (ec || !parser.is_done()) break;
    input.remove_prefix(used);
  }
  return heads;
}

// The responses in `received`, in order: each must parse whole, but the last may be cut
// short when the connection was reset.
void check_responses(std::string_view received, bool reset, const std::vector<bool>& heads) {
  for (std::size_t answered = 0; !received.empty();) {
    bhttp::response_parser<bhttp::string_body> parser;
    parser.eager(true);
    parser.body_limit(boost::none);
    parser.skip(answered < heads.size() && heads[answered]);
    boost::system::error_code ec;
    const std::size_t used = parser.put(asio::buffer(received.data(), received.size()), ec);
    if (!ec && !parser.is_done()) {
      parser.put_eof(ec);  // a response with no length runs to the end of the stream
    }
    if (ec || !parser.is_done()) {
      FUZZ_CHECK(reset);
      return;
    }
    const auto& response = parser.get();
    if (response.result_int() != 100) {  // 100 Continue comes before the answer
      ++answered;
      FUZZ_CHECK(response.result_int() != 500);
      FUZZ_CHECK(response.count("X-Content-Type-Options") == 1);
    }
    received.remove_prefix(used);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static Fixture fixture;
  auto& io = fixture.io.main();
  tcp::socket client(io);
  // Every step on the io_context, none blocking: libFuzzer's timer signals would
  // interrupt a blocking connect.
  bool connected = false, written = false, done = false, reset = false;
  std::string received;
  client.async_connect(fixture.endpoint, [&](boost::system::error_code ec) {
    FUZZ_CHECK(!ec);
    connected = true;
    asio::async_write(client, asio::buffer(data, size),
                      [&](boost::system::error_code ec, std::size_t) {
                        boost::system::error_code ignored;
                        if (!ec) client.shutdown(tcp::socket::shutdown_send, ignored);
                        written = true;
                      });
    asio::async_read(client, asio::dynamic_buffer(received),
                     [&](boost::system::error_code ec, std::size_t) {
                       reset = ec != asio::error::eof;
                       done = true;
                     });
  });
  const auto deadline = std::chrono::steady_clock::now() + kDeadline;
  while (!(done && written) && std::chrono::steady_clock::now() < deadline) {
    io.run_one_for(std::chrono::milliseconds(100));
  }
  FUZZ_CHECK(connected && done && written);  // else the server kept the connection open
  client.close();
  // The session ends with its connection.
  while (fixture.server->open_connections() > 0 && std::chrono::steady_clock::now() < deadline) {
    io.run_one_for(std::chrono::milliseconds(100));
  }
  FUZZ_CHECK(fixture.server->open_connections() == 0);
  check_responses(received, reset, head_requests(fuzz::as_text(data, size)));
  return 0;
}
