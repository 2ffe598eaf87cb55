#include "observernet/http/server.hpp"

#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/http/span_body.hpp>
#include <chrono>
#include <mutex>
#include <random>
#include <unordered_set>

#include "observernet/http/problem.hpp"
#include "observernet/util/log.hpp"

namespace observernet::http {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using asio::ip::tcp;
using Clock = std::chrono::steady_clock;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
constexpr std::string_view kRequestIdHeader = "X-Request-Id";

namespace {

// Request ids need to be unique, not secret: splitmix64 (a few instructions a number,
// against hundreds for mt19937_64) seeded per thread from the system's entropy.
std::uint64_t next_request_random() {
  thread_local std::uint64_t state =
      (std::uint64_t{std::random_device{}()} << 32) ^ std::random_device{}();
  std::uint64_t z = (state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

void new_request_id(std::string& id) {
  static constexpr char kHex[] = "0123456789abcdef";
  id.resize(32);
  for (int half = 0; half < 2; ++half) {
    std::uint64_t v = next_request_random();
    for (int i = 0; i < 16; ++i) id[half * 16 + i] = kHex[(v >> (i * 4)) & 15];
  }
}

std::string new_request_id() {
  std::string id;
  new_request_id(id);
  return id;
}

// Echo a client's X-Request-Id only when it is short and plain: it goes into logs.
bool acceptable_request_id(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  for (char c : id) {
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

bool hides_client_address(std::string_view path) {
  return path.starts_with("/api/v1/voting");
}

}  // namespace

struct Server::Impl : std::enable_shared_from_this<Server::Impl> {
  class Session;

  Impl(IoContexts& io, const Router& router, ServerOptions options, HttpMetrics& metrics)
      : io(io),
        router(router),
        options(std::move(options)),
        metrics(metrics),
        acceptor(io.main()) {}

  IoContexts& io;
  const Router& router;
  const ServerOptions options;
  HttpMetrics& metrics;
  tcp::acceptor acceptor;
  std::atomic<std::size_t> open{0};
  std::atomic<bool> stopping{false};
  std::uint16_t bound_port = 0;
  std::mutex sessions_mutex;
  std::unordered_set<Session*> sessions;

  asio::awaitable<void> accept_loop();
  asio::awaitable<void> reject(tcp::socket socket);
};

class Server::Impl::Session : public std::enable_shared_from_this<Session> {
 public:
  Session(std::shared_ptr<Impl> server, tcp::socket socket)
      : server_(std::move(server)), stream_(std::move(socket)), accepted_(Clock::now()) {
    boost::system::error_code ec;
    auto endpoint = stream_.socket().remote_endpoint(ec);
    if (!ec) peer_ = endpoint.address().to_string();
  }

  ~Session() {
    {
      std::lock_guard lock(server_->sessions_mutex);
      server_->sessions.erase(this);
    }
    server_->open.fetch_sub(1);
    server_->metrics.connections_open().Decrement();
  }

  asio::any_io_executor executor() { return stream_.get_executor(); }

  // Runs on the session's strand: cancels the wait for a next request, if that is
  // what the session is doing; a busy session sees `stopping` after its response.
  void close_if_idle() {
    if (idle_) stream_.socket().cancel();
  }

  asio::awaitable<void> run();

 private:
  // Reads the next request's first bytes within the idle (or, for the first
  // request, header) deadline. False: the connection is done.
  asio::awaitable<bool> wait_for_request(bool first);
  asio::awaitable<bool> write(Response response, bool keep_alive, bool head, std::string_view id);
  asio::awaitable<void> close();
  asio::awaitable<void> fail(ErrorCode code, std::string detail, std::string_view id) {
    co_await write(problem_response(Error(code, std::move(detail))), false, false, id);
  }
  void log_access(std::string_view method, std::string_view route, std::string_view path,
                  unsigned status, double seconds, std::string_view id);

  std::shared_ptr<Impl> server_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  Clock::time_point accepted_;
  std::string peer_;
  bool idle_ = false;
  bool unread_body_ = false;  // the client may still be sending what we refused
  std::string request_id_;    // the current request's
  HeaderViews header_views_;  // storage lent to each Request
};

asio::awaitable<bool> Server::Impl::Session::wait_for_request(bool first) {
  const auto& opt = server_->options;
  if (buffer_.size() > 0) {  // pipelined: the next request is already here
    stream_.expires_after(opt.header_timeout);
    co_return true;
  }
  if (server_->stopping) co_return false;
  stream_.expires_at(first ? accepted_ + opt.header_timeout : Clock::now() + opt.idle_timeout);
  idle_ = true;  // no request in flight: shutdown may close us now
  auto [ec, n] = co_await stream_.async_read_some(buffer_.prepare(4096), use_tuple);
  idle_ = false;
  if (ec) {
    if (ec == beast::error::timeout) {
      server_->metrics.limit_exceeded(first ? Limit::header_timeout : Limit::idle_timeout);
    }
    co_return false;
  }
  buffer_.commit(n);
  // The first request's clock started at accept; later ones start at their first byte.
  if (!first) stream_.expires_after(opt.header_timeout);
  co_return true;
}

asio::awaitable<void> Server::Impl::Session::run() {
  const auto& opt = server_->options;
  {
    // Registered only now that a shared_ptr owns us, so shutdown can take references.
    std::lock_guard lock(server_->sessions_mutex);
    server_->sessions.insert(this);
  }

  for (bool first = true;; first = false) {
    if (!co_await wait_for_request(first)) break;

    bhttp::request_parser<bhttp::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(opt.header_limit_bytes));
    // The body limit depends on the route, known only after the header: Beast must not
    // apply its own 1 MiB default to Content-Length while reading the header.
    parser.body_limit(boost::none);
    auto [hec, hn] = co_await bhttp::async_read_header(stream_, buffer_, parser, use_tuple);
    if (hec) {
      if (hec == bhttp::error::header_limit) {
        server_->metrics.limit_exceeded(Limit::header_size);
        unread_body_ = true;  // the rest of the header is still on its way
        co_await fail(ErrorCode::header_too_large, "The request header is too large.", {});
      } else if (hec == beast::error::timeout) {
        server_->metrics.limit_exceeded(Limit::header_timeout);
      } else if (hec != bhttp::error::end_of_stream && hec != asio::error::operation_aborted &&
                 hec != asio::error::eof && hec != asio::error::connection_reset) {
        co_await fail(ErrorCode::bad_request, "The request is not valid HTTP/1.1.", {});
      }
      break;
    }
    const auto started = Clock::now();
    auto& msg = parser.get();

    std::string& request_id = request_id_;  // reused: no allocation per request
    request_id.assign(msg[kRequestIdHeader]);
    if (!acceptable_request_id(request_id)) new_request_id(request_id);

    std::string_view target = msg.target();
    auto question = target.find('?');
    std::string_view path = target.substr(0, question);
    Method method = parse_method(msg.method_string());
    RouteMatch match = server_->router.match(method, path);
    bool keep_alive = msg.keep_alive();
    const bool head = method == Method::head;
    const std::string_view route_label =
        match.route ? std::string_view(match.route->path_template) : "unmatched";

    Response response;
    if (match.kind != RouteMatch::Kind::found) {
      response = problem_response(
          match.kind == RouteMatch::Kind::not_found
              ? Error(ErrorCode::not_found, "No resource at this path.")
              : Error(ErrorCode::method_not_allowed, "This path does not accept that method."));
      if (match.kind == RouteMatch::Kind::method_not_allowed) response.set("Allow", match.allow);
      keep_alive = keep_alive && parser.is_done();  // an unread body cannot stay on the wire
    } else {
      std::size_t limit = match.route->options.body_limit.value_or(opt.body_limit_bytes);
      auto declared = parser.content_length();
      if (declared && *declared > limit) {
        server_->metrics.limit_exceeded(Limit::body_size);
        response = problem_response(
            Error(ErrorCode::payload_too_large,
                  "The request body exceeds " + std::to_string(limit) + " bytes."));
        keep_alive = false;
      } else {
        bool body_ok = true;
        if (!parser.is_done()) {
          if (beast::iequals(msg[bhttp::field::expect], "100-continue")) {
            bhttp::response<bhttp::empty_body> go_on{bhttp::status::continue_, 11};
            stream_.expires_after(opt.write_timeout);
            auto [wec, wn] = co_await bhttp::async_write(stream_, go_on, use_tuple);
            if (wec) break;
          }
          parser.body_limit(limit);
          stream_.expires_after(opt.body_timeout);
          auto [bec, bn] = co_await bhttp::async_read(stream_, buffer_, parser, use_tuple);
          if (bec == bhttp::error::body_limit) {
            server_->metrics.limit_exceeded(Limit::body_size);
            response = problem_response(
                Error(ErrorCode::payload_too_large,
                      "The request body exceeds " + std::to_string(limit) + " bytes."));
            keep_alive = false;
            body_ok = false;
          } else if (bec) {
            // A body slower than http.body_timeout_ms: the stream's timer has already
            // closed the socket, so there is nobody left to answer.
            if (bec == beast::error::timeout) server_->metrics.limit_exceeded(Limit::body_timeout);
            break;
          }
        }
        if (body_ok) {
          Request request;
          request.method = method;
          request.path = path;
          if (question != std::string_view::npos) request.query = target.substr(question + 1);
          request.headers = std::move(header_views_);  // reused: its capacity stays
          request.headers.clear();
          for (const auto& field : msg)
            request.headers.emplace_back(field.name_string(), field.value());
          request.body = std::move(msg.body());
          request.params = std::move(match.params);
          request.request_id = request_id;
          stream_.expires_never();  // the handler bounds its own waits
          try {
            response = co_await match.route->handler(request);
            header_views_ = std::move(request.headers);
          } catch (...) {
            std::string log_message;
            response = problem_response(std::current_exception(), log_message);
            if (!log_message.empty()) {
              log::error(
                  "handler_failed",
                  {{"route", route_label}, {"request_id", request_id}, {"error", log_message}});
            }
          }
        }
      }
    }
    keep_alive = keep_alive && !server_->stopping;
    unread_body_ = !parser.is_done();
    const unsigned status = response.status;
    if (!co_await write(std::move(response), keep_alive, head, request_id)) break;
    double seconds = std::chrono::duration<double>(Clock::now() - started).count();
    server_->metrics.observe_request(to_string(method), route_label, status, seconds);
    if (opt.access_log)
      log_access(msg.method_string(), route_label, path, status, seconds, request_id);
    if (!keep_alive) break;
  }
  co_await close();
}

// After refusing a body, linger: read and drop what the client is still sending for a
// short while, so that closing does not reset the connection and destroy our answer
// before the client has read it.
asio::awaitable<void> Server::Impl::Session::close() {
  boost::system::error_code ec;
  stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
  if (!unread_body_) {
    stream_.close();
    co_return;
  }
  stream_.expires_after(std::chrono::seconds(2));
  char sink[16384];
  for (std::size_t drained = 0; !ec && drained < (64u << 20);) {
    std::size_t n = 0;
    std::tie(ec, n) = co_await stream_.async_read_some(asio::buffer(sink), use_tuple);
    drained += n;
  }
  stream_.close();
}

asio::awaitable<bool> Server::Impl::Session::write(Response response, bool keep_alive, bool head,
                                                   std::string_view id) {
  auto head_fields = [&](auto& res) {
    if (!response.content_type.empty()) res.set(bhttp::field::content_type, response.content_type);
    for (auto& [name, value] : response.headers) res.set(name, value);
    res.set(kRequestIdHeader, id.empty() ? new_request_id() : std::string(id));
    res.keep_alive(keep_alive);
  };
  const auto status = static_cast<bhttp::status>(response.status);
  const bool bodiless = response.status == 204 || response.status == 304;
  stream_.expires_after(server_->options.write_timeout);
  if (response.shared_body && !bodiless && !head) {
    // A body that lives in a cache: sent from where it is, not copied.
    bhttp::response<bhttp::span_body<const char>> res{status, 11};
    head_fields(res);
    res.body() = {response.shared_body->data(), response.shared_body->size()};
    res.prepare_payload();
    auto [ec, n] = co_await bhttp::async_write(stream_, res, use_tuple);
    co_return !ec;
  }
  bhttp::response<bhttp::string_body> res{status, 11};
  head_fields(res);
  const std::size_t length =
      response.shared_body ? response.shared_body->size() : response.body.size();
  if (bodiless) {
    // 204 and 304 carry neither a body nor a Content-Length.
  } else if (head) {
    res.content_length(length);  // what GET would send; no body follows
  } else {
    res.body() = std::move(response.body);
    res.prepare_payload();
  }
  auto [ec, n] = co_await bhttp::async_write(stream_, res, use_tuple);
  co_return !ec;
}

void Server::Impl::Session::log_access(std::string_view method, std::string_view route,
                                       std::string_view path, unsigned status, double seconds,
                                       std::string_view id) {
  // Ballot secrecy: on the voting routes the client address is never written down.
  std::string_view client = hides_client_address(path) ? std::string_view("hidden") : peer_;
  log::write(log::Level::info, "access",
             {{"method", method},
              {"route", route},
              {"status", status},
              {"duration_ms", seconds * 1000.0},
              {"request_id", id},
              {"client", client}},
             true);
}

asio::awaitable<void> Server::Impl::accept_loop() {
  auto self = shared_from_this();
  asio::steady_timer pause(io.main());
  for (;;) {
    auto [ec, socket] = co_await acceptor.async_accept(io.next(), use_tuple);
    if (ec == asio::error::operation_aborted || !acceptor.is_open()) co_return;
    if (ec) {
      // Out of file descriptors and the like: back off instead of spinning.
      log::warn("accept_failed", {{"error", ec.message()}});
      pause.expires_after(std::chrono::milliseconds(50));
      co_await pause.async_wait(use_tuple);
      continue;
    }
    if (open.fetch_add(1) >= options.max_connections) {
      open.fetch_sub(1);
      metrics.limit_exceeded(Limit::connections);
      asio::co_spawn(socket.get_executor(), reject(std::move(socket)), asio::detached);
      continue;
    }
    metrics.connections_open().Increment();
    auto session = std::make_shared<Session>(self, std::move(socket));
    // The lambda, kept in the coroutine's frame, keeps the session alive until it ends.
    asio::co_spawn(
        session->executor(), [session] { return session->run(); }, asio::detached);
  }
}

// Over the connection limit: a short 503 and close, so clients see why.
asio::awaitable<void> Server::Impl::reject(tcp::socket socket) {
  beast::tcp_stream stream(std::move(socket));
  Response problem = problem_response(Error(ErrorCode::too_many_connections,
                                            "The server is at its connection limit; retry shortly.")
                                          .with_retry_after(1));
  bhttp::response<bhttp::string_body> res{bhttp::status::service_unavailable, 11};
  res.set(bhttp::field::content_type, problem.content_type);
  res.set(bhttp::field::retry_after, "1");
  res.set(kRequestIdHeader, new_request_id());
  res.keep_alive(false);
  res.body() = std::move(problem.body);
  res.prepare_payload();
  stream.expires_after(std::chrono::seconds(1));
  co_await bhttp::async_write(stream, res, use_tuple);
  boost::system::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
}

Server::Server(IoContexts& io, const Router& router, ServerOptions options, HttpMetrics& metrics)
    : impl_(std::make_shared<Impl>(io, router, std::move(options), metrics)) {}

Server::~Server() = default;

void Server::start() {
  auto address = asio::ip::make_address(impl_->options.host);
  tcp::endpoint endpoint(address, impl_->options.port);
  impl_->acceptor.open(endpoint.protocol());
  impl_->acceptor.set_option(asio::socket_base::reuse_address(true));
  impl_->acceptor.bind(endpoint);
  impl_->acceptor.listen(asio::socket_base::max_listen_connections);
  impl_->bound_port = impl_->acceptor.local_endpoint().port();
  // On the main context's one thread, so that stop_accepting's close cannot race an accept.

  asio::co_spawn(impl_->acceptor.get_executor(), impl_->accept_loop(), asio::detached);
}

std::uint16_t Server::port() const {
  return impl_->bound_port;
}

void Server::stop_accepting() {
  asio::post(impl_->acceptor.get_executor(), [impl = impl_] {
    boost::system::error_code ignored;
    impl->acceptor.close(ignored);
  });
}

void Server::close_connections_when_idle() {
  impl_->stopping = true;
  // Take references under the lock, post outside it: the last reference to a session
  // may be dropped here, and its destructor takes the same lock.
  std::vector<std::shared_ptr<Impl::Session>> live;
  {
    std::lock_guard lock(impl_->sessions_mutex);
    live.reserve(impl_->sessions.size());
    for (Impl::Session* s : impl_->sessions) {
      if (auto session = s->weak_from_this().lock()) live.push_back(std::move(session));
    }
  }
  for (auto& session : live) {
    asio::post(session->executor(), [session] { session->close_if_idle(); });
  }
}

std::size_t Server::open_connections() const {
  return impl_->open.load();
}

}  // namespace observernet::http
