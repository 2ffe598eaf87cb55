#include "observernet/http/server.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <charconv>
#include <chrono>
#include <mutex>
#include <optional>
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
// Concrete executor types: a connection never leaves its io_context, and type-erased
// executors cost a copy and an indirect call on every operation.
using Socket = asio::basic_stream_socket<tcp, asio::io_context::executor_type>;
using Timer =
    asio::basic_waitable_timer<Clock, asio::wait_traits<Clock>, asio::io_context::executor_type>;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
using Parser = bhttp::request_parser<bhttp::string_body>;
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

// Beast's reads take up to this much at a time (beast::read_size).
constexpr std::size_t kReadSize = 65536;

// A request's framing as RFC 9112 section 6.3 allows and this server decodes: no
// Transfer-Encoding, or one field saying "chunked" alone. Beast reads a request whose
// Transfer-Encoding does not end in chunked as having no body, and what follows as the
// next request; a proxy in front may frame the same bytes otherwise (request smuggling).
// Content-Length beside Transfer-Encoding, and Content-Lengths that differ, Beast refuses.
bool framing_decodable(const bhttp::fields& fields) {
  auto [first, last] = fields.equal_range(bhttp::field::transfer_encoding);
  if (first == last) return true;
  return std::next(first) == last && beast::iequals(first->value(), "chunked");
}

// The problem answering the exception being handled, from a route's guard or handler;
// one the client did not cause (a 500) is logged as `event`.
Response problem_for_current_exception(std::string_view event, std::string_view route,
                                       std::string_view request_id) {
  std::string log_message;
  Response problem = problem_response(std::current_exception(), log_message);
  if (!log_message.empty()) {
    // A 503 is a backing service away or a queue full, answered as designed (and counted
    // by its own metrics): a warning, so that an outage does not read as a flood of bugs.
    log::write(problem.status == 503 ? log::Level::warn : log::Level::error, event,
               {{"route", route}, {"request_id", request_id}, {"error", log_message}});
  }
  return problem;
}

// Fields every response carries, as serialize_head appends them.
std::string fixed_fields(const ServerOptions& options) {
  std::string out = "X-Content-Type-Options: nosniff\r\n";
  if (options.hsts_max_age > 0) {
    out += "Strict-Transport-Security: max-age=" + std::to_string(options.hsts_max_age) + "\r\n";
  }
  return out;
}

// The status line and fields of a response (RFC 9112 §4, §6). Field values come from
// our own handlers; the one value a client chose, the request id, passed
// acceptable_request_id. Beast's serializer did the same with an allocation per field
// and a generic buffer sequence that showed up in profiles of the public reads.
void serialize_head(std::string& out, const Response& response, std::size_t content_length,
                    bool keep_alive, unsigned request_version, std::string_view request_id,
                    std::string_view fixed) {
  auto append_number = [&out](std::size_t n) {
    char digits[24];
    auto end = std::to_chars(digits, digits + sizeof digits, n).ptr;
    out.append(digits, end);
  };
  auto field = [&out](std::string_view name, std::string_view value) {
    out.append(name).append(": ").append(value).append("\r\n");
  };
  out.assign("HTTP/1.1 ");
  append_number(response.status);
  out += ' ';
  out.append(std::string_view(bhttp::obsolete_reason(static_cast<bhttp::status>(response.status))));
  out.append("\r\n");
  if (!response.content_type.empty()) field("Content-Type", response.content_type);
  for (const auto& [name, value] : response.headers) field(name, value);
  if (response.shared_headers) {
    for (const auto& [name, value] : *response.shared_headers) field(name, value);
  }
  out.append(fixed);
  if (request_id.empty()) {
    field(kRequestIdHeader, new_request_id());
  } else {
    field(kRequestIdHeader, request_id);
  }
  // 204 and 304 carry neither a body nor a Content-Length; a HEAD answer carries the
  // length GET would send.
  if (response.status != 204 && response.status != 304) {
    out.append("Content-Length: ");
    append_number(content_length);
    out.append("\r\n");
  }
  if (!keep_alive) {
    field("Connection", "close");
  } else if (request_version < 11) {
    field("Connection", "keep-alive");  // HTTP/1.0 closes unless told otherwise
  }
  out.append("\r\n");
}

}  // namespace

Response admission_unavailable() {
  return problem_response(Error(ErrorCode::service_unavailable,
                                "This request's limits cannot be checked just now; try again "
                                "after the Retry-After delay.")
                              .with_retry_after(1));
}

void add_admission_fields(Response& response,
                          std::vector<std::pair<std::string, std::string>> fields) {
  for (auto& [name, value] : fields) {
    // An init-capture: clang before 16 cannot capture a structured binding by name.
    auto same = std::ranges::find_if(
        response.headers, [&name = name](const auto& field) { return iequals(field.first, name); });
    if (same == response.headers.end()) {
      response.headers.emplace_back(std::move(name), std::move(value));
    } else {
      same->second = std::move(value.append(", ").append(same->second));
    }
  }
}

struct Server::Impl : std::enable_shared_from_this<Server::Impl> {
  class Session;

  Impl(IoContexts& io, const Router& router, ServerOptions options, HttpMetrics& metrics)
      : io(io),
        router(router),
        options(std::move(options)),
        metrics(metrics),
        fixed(fixed_fields(this->options)),
        acceptor(io.main()) {}

  IoContexts& io;
  const Router& router;
  const ServerOptions options;
  HttpMetrics& metrics;
  const std::string fixed;  // fields of every response
  AdmissionCheck admission;
  std::optional<CorsPolicy> cors;
  tcp::acceptor acceptor;
  std::atomic<std::size_t> open{0};
  std::atomic<bool> stopping{false};
  std::uint16_t bound_port = 0;
  std::mutex sessions_mutex;
  std::unordered_set<Session*> sessions;

  asio::awaitable<void> accept_loop();
  asio::awaitable<void> reject(Socket socket);
};

class Server::Impl::Session : public std::enable_shared_from_this<Session> {
 public:
  Session(std::shared_ptr<Impl> server, Socket socket)
      : server_(std::move(server)),
        socket_(std::move(socket)),
        watchdog_(socket_.get_executor()),
        accepted_(Clock::now()) {
    boost::system::error_code ec;
    auto endpoint = socket_.remote_endpoint(ec);
    if (!ec) {
      peer_address_ = endpoint.address();
      peer_ = peer_address_.to_string();
    }
    const auto& opt = server_->options;
    shortest_timeout_ =
        std::min({opt.header_timeout, opt.body_timeout, opt.idle_timeout, opt.write_timeout});
    // What waits unparsed: a header (http.header_limit_bytes) or one chunk's size line,
    // and a read's worth behind it. Beast holds a chunk's size line and extensions whole
    // before parsing them, and would grow the buffer for as long as one arrives.
    buffer_.max_size(opt.header_limit_bytes + kReadSize);
  }

  ~Session() {
    {
      std::lock_guard lock(server_->sessions_mutex);
      server_->sessions.erase(this);
    }
    server_->open.fetch_sub(1);
    server_->metrics.connections_open().Decrement();
  }

  Socket::executor_type executor() { return socket_.get_executor(); }

  // Runs on the session's context: cancels the wait for a next request, if that is
  // what the session is doing; a busy session sees `stopping` after its response.
  void close_if_idle() {
    if (idle_) socket_.cancel();
  }

  asio::awaitable<void> run();

 private:
  // Reads the next request's first bytes within the idle (or, for the first
  // request, header) deadline. False: the connection is done.
  asio::awaitable<bool> wait_for_request(bool first);
  // Reads the body within the route's limit, then runs the handler, whose answer (or
  // a 413) goes to `response`. False: the connection is done (the body timed out or
  // broke off, or the 100 Continue could not be sent).
  asio::awaitable<bool> read_and_handle(Parser& parser, Request& request, const Route& route,
                                        std::string_view route_label, Response& response,
                                        bool& keep_alive);
  asio::awaitable<bool> write(const Response& response, bool keep_alive, bool head,
                              std::string_view id);
  asio::awaitable<void> close();
  asio::awaitable<void> fail(const Response& problem, std::string_view id) {
    co_await write(problem, false, false, id);
  }
  // The request as a handler (or the admission check, or CORS) sees it, without its body.
  void fill_request(Request& request, const Parser& parser, Method method, std::string_view path,
                    std::string_view query, RouteMatch& match, std::string_view request_id);
  void log_access(std::string_view method, std::string_view route, bool with_client,
                  unsigned status, double seconds, std::string_view id);

  // One deadline per connection, watched by one timer. Beast's tcp_stream starts and
  // cancels a timer around every read and write: two timer operations and two extra
  // handler runs per request on the hottest path. Here moving the deadline later is a
  // store; the timer is re-armed only when it fires early or the deadline moves
  // earlier than where it is armed.
  void expires_at(Clock::time_point deadline) {
    deadline_ = deadline;
    if (deadline < armed_) arm(deadline);
  }
  void expires_after(std::chrono::milliseconds timeout) { expires_at(Clock::now() + timeout); }
  void expires_never() { deadline_ = Clock::time_point::max(); }
  void arm(Clock::time_point at) {
    armed_ = at;
    watchdog_.expires_at(at);
    watchdog_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
      if (!ec) self->on_watchdog();
    });
  }
  void on_watchdog() {
    armed_ = Clock::time_point::max();
    if (closed_) return;
    const auto now = Clock::now();
    if (now >= deadline_) {
      timed_out_ = true;
      boost::system::error_code ignored;
      socket_.close(ignored);  // fails whatever read or write is pending
      return;
    }
    // While a handler runs there is no deadline; look again later.
    arm(std::min(deadline_, now + shortest_timeout_));
  }

  std::shared_ptr<Impl> server_;
  Socket socket_;
  Timer watchdog_;
  Clock::time_point deadline_ = Clock::time_point::max();
  Clock::time_point armed_ = Clock::time_point::max();
  std::chrono::milliseconds shortest_timeout_;
  bool timed_out_ = false;
  bool closed_ = false;
  beast::flat_buffer buffer_;
  Clock::time_point accepted_;
  asio::ip::address peer_address_;
  std::string peer_;
  bool idle_ = false;
  bool unread_body_ = false;  // the client may still be sending what we refused
  unsigned request_version_ = 11;
  std::string request_id_;    // the current request's
  HeaderViews header_views_;  // storage lent to each Request
  std::string head_;          // the response's status line and fields, reused
};

asio::awaitable<bool> Server::Impl::Session::wait_for_request(bool first) {
  const auto& opt = server_->options;
  if (buffer_.size() > 0) {  // pipelined: the next request is already here
    expires_after(opt.header_timeout);
    co_return true;
  }
  if (server_->stopping) co_return false;
  expires_at(first ? accepted_ + opt.header_timeout : Clock::now() + opt.idle_timeout);
  idle_ = true;  // no request in flight: shutdown may close us now
  auto [ec, n] = co_await socket_.async_read_some(buffer_.prepare(4096), use_tuple);
  idle_ = false;
  if (ec) {
    if (timed_out_) {
      server_->metrics.limit_exceeded(first ? Limit::header_timeout : Limit::idle_timeout);
    }
    co_return false;
  }
  buffer_.commit(n);
  // The first request's clock started at accept; later ones start at their first byte.
  if (!first) expires_after(opt.header_timeout);
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

    Parser parser;
    parser.header_limit(static_cast<std::uint32_t>(opt.header_limit_bytes));
    // The body limit depends on the route, known only after the header: Beast must not
    // apply its own 1 MiB default to Content-Length while reading the header.
    parser.body_limit(boost::none);
    auto [hec, hn] = co_await bhttp::async_read_header(socket_, buffer_, parser, use_tuple);
    if (hec) {
      if (timed_out_) {
        server_->metrics.limit_exceeded(Limit::header_timeout);
      } else if (hec == bhttp::error::header_limit) {
        server_->metrics.limit_exceeded(Limit::header_size);
        unread_body_ = true;  // the rest of the header is still on its way
        co_await fail(
            problem_response(TransportCode::header_too_large, "The request header is too large."),
            {});
      } else if (hec != bhttp::error::end_of_stream && hec != asio::error::operation_aborted &&
                 hec != asio::error::eof && hec != asio::error::connection_reset) {
        co_await fail(
            problem_response(Error(ErrorCode::bad_request, "The request is not valid HTTP/1.1.")),
            {});
      }
      break;
    }
    const auto started = Clock::now();
    auto& msg = parser.get();
    request_version_ = msg.version();
    if (!framing_decodable(msg)) {
      unread_body_ = true;  // whatever body follows cannot be framed: drop it, then close
      co_await fail(problem_response(Error(ErrorCode::bad_request,
                                           "Transfer-Encoding must be \"chunked\" alone.")),
                    {});
      break;
    }

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
    const bool options =
        method == Method::options && match.kind == RouteMatch::Kind::method_not_allowed;
    const std::string_view route_label = match.route ? std::string_view(match.route->path_template)
                                         : options   ? match.path_template
                                                     : "unmatched";
    const std::string_view query =
        question == std::string_view::npos ? std::string_view() : target.substr(question + 1);

    // CORS, on the paths under its prefix (the API): decided before anything runs.
    const CorsPolicy* cors =
        server_->cors && server_->cors->applies(path) ? &*server_->cors : nullptr;
    const std::string_view origin = cors ? std::string_view(msg[bhttp::field::origin]) : "";
    CorsPolicy::Verdict verdict = CorsPolicy::Verdict::none;
    if (cors && !options) {
      verdict = cors->check(
          origin, msg[bhttp::field::host],
          match.route ? std::string_view(match.route->path_template) : match.path_template);
    }

    Response response;
    if (options) {
      // RFC 9110 §9.3.7, and CORS preflights: answered here, never counted by the
      // admission check, body unread.
      Request request;
      fill_request(request, parser, method, path, query, match, request_id);
      if (cors) {
        response = cors->options_response(request, match.allow, match.path_template);
      } else {
        response.status = 204;
        response.set("Allow", match.allow + ", OPTIONS");
      }
      header_views_ = std::move(request.headers);
      keep_alive = keep_alive && parser.is_done();
    } else if (match.kind != RouteMatch::Kind::found) {
      response = match.kind == RouteMatch::Kind::not_found
                     ? problem_response(Error(ErrorCode::not_found, "No resource at this path."))
                     : problem_response(TransportCode::method_not_allowed,
                                        "This path does not accept that method.");
      if (match.kind == RouteMatch::Kind::method_not_allowed) response.set("Allow", match.allow);
      keep_alive = keep_alive && parser.is_done();  // an unread body cannot stay on the wire
    } else {
      // The header as the handler will see it; the admission check sees it first.
      Request request;
      fill_request(request, parser, method, path, query, match, request_id);
      Admission admission;
      if (verdict == CorsPolicy::Verdict::refused) {
        // A cross-site request (even a "simple" POST) never reaches the handler.
        admission.refusal = CorsPolicy::refusal();
      } else if (server_->admission) {
        expires_never();  // the check bounds its own waits
        try {
          admission = co_await server_->admission(request, route_label, peer_address_);
        } catch (const std::exception& error) {
          // A check that breaks lets the request through rather than fail it, unless the
          // route says otherwise.
          log::error("admission_failed",
                     {{"route", route_label}, {"request_id", request_id}, {"error", error.what()}});
          if (match.route->options.admission_fails_closed)
            admission.refusal = admission_unavailable();
        }
      }
      if (!admission.refusal && match.route->options.guard) {
        try {
          match.route->options.guard(request);
        } catch (...) {
          admission.refusal =
              problem_for_current_exception("guard_failed", route_label, request_id);
        }
      }
      if (admission.refusal) {
        response = std::move(*admission.refusal);
        keep_alive = keep_alive && parser.is_done();  // an unread body cannot stay on the wire
      } else {
        if (!co_await read_and_handle(parser, request, *match.route, route_label, response,
                                      keep_alive)) {
          break;
        }
      }
      header_views_ = std::move(request.headers);
      add_admission_fields(response, std::move(admission.headers));
    }
    if (cors && !options) cors->add_fields(response, verdict, origin);
    keep_alive = keep_alive && !server_->stopping;
    unread_body_ = !parser.is_done();
    if (!co_await write(response, keep_alive, head, request_id)) break;
    double seconds = std::chrono::duration<double>(Clock::now() - started).count();
    server_->metrics.observe_request(to_string(method), route_label, response.status, seconds);
    if (opt.access_log)
      log_access(msg.method_string(), route_label,
                 match.route != nullptr && match.route->options.log_client_address, response.status,
                 seconds, request_id);
    if (!keep_alive) break;
  }
  co_await close();
}

void Server::Impl::Session::fill_request(Request& request, const Parser& parser, Method method,
                                         std::string_view path, std::string_view query,
                                         RouteMatch& match, std::string_view request_id) {
  request.method = method;
  request.path = path;
  request.query = query;
  request.headers = std::move(header_views_);  // reused: its capacity stays
  request.headers.clear();
  for (const auto& field : parser.get())
    request.headers.emplace_back(field.name_string(), field.value());
  request.params = std::move(match.params);
  request.request_id = request_id;
}

asio::awaitable<bool> Server::Impl::Session::read_and_handle(Parser& parser, Request& request,
                                                             const Route& route,
                                                             std::string_view route_label,
                                                             Response& response, bool& keep_alive) {
  const auto& opt = server_->options;
  auto& msg = parser.get();
  const std::size_t limit = route.options.body_limit.value_or(opt.body_limit_bytes);
  // A refused body is answered, and the connection closed: the rest of it is not read.
  auto refuse = [&](Response problem) {
    response = std::move(problem);
    keep_alive = false;
  };
  auto too_large = [&] {
    server_->metrics.limit_exceeded(Limit::body_size);
    refuse(problem_response(TransportCode::payload_too_large,
                            "The request body exceeds " + std::to_string(limit) + " bytes."));
  };
  if (auto declared = parser.content_length(); declared && *declared > limit) {
    too_large();
    co_return true;
  }
  if (!parser.is_done()) {
    if (beast::iequals(msg[bhttp::field::expect], "100-continue")) {
      static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      expires_after(opt.write_timeout);
      auto [wec, wn] = co_await asio::async_write(socket_, asio::buffer(kContinue), use_tuple);
      if (wec) co_return false;
    }
    parser.body_limit(limit);
    // RFC 9112 section 7.1.1: a server ought to bound chunk extensions. No client of ours
    // sends any; each chunk's are held to http.header_limit_bytes.
    bool extension_too_long = false;
    auto check_chunk = [&](std::uint64_t, std::string_view extensions,
                           boost::system::error_code& ec) {
      if (extensions.size() > opt.header_limit_bytes) {
        extension_too_long = true;
        ec = bhttp::error::bad_chunk_extension;
      }
    };
    parser.on_chunk_header(check_chunk);
    expires_after(opt.body_timeout);
    auto [bec, bn] = co_await bhttp::async_read(socket_, buffer_, parser, use_tuple);
    if (timed_out_) {
      // A body slower than http.body_timeout_ms: the socket is closed, so there is
      // nobody left to answer.
      server_->metrics.limit_exceeded(Limit::body_timeout);
      co_return false;
    }
    if (bec == bhttp::error::body_limit) {
      too_large();
      co_return true;
    }
    if (extension_too_long || bec == bhttp::error::buffer_overflow) {
      server_->metrics.limit_exceeded(Limit::chunk_extension);
      refuse(problem_response(Error(
          ErrorCode::bad_request,
          "A chunk's extensions exceed " + std::to_string(opt.header_limit_bytes) + " bytes.")));
      co_return true;
    }
    if (bec == bhttp::error::bad_chunk || bec == bhttp::error::bad_chunk_extension) {
      refuse(problem_response(
          Error(ErrorCode::bad_request, "The request's chunked body is not valid HTTP/1.1.")));
      co_return true;
    }
    if (bec) co_return false;
  }
  request.body = std::move(msg.body());
  expires_never();  // the handler bounds its own waits
  try {
    response = co_await route.handler(request);
  } catch (...) {
    response = problem_for_current_exception("handler_failed", route_label, request.request_id);
  }
  co_return true;
}

// After refusing a body, linger: read and drop what the client is still sending for a
// short while, so that closing does not reset the connection and destroy our answer
// before the client has read it.
asio::awaitable<void> Server::Impl::Session::close() {
  boost::system::error_code ec;
  socket_.shutdown(tcp::socket::shutdown_send, ec);
  if (unread_body_ && !timed_out_) {
    expires_after(std::chrono::seconds(2));
    char sink[16384];
    for (std::size_t drained = 0; !ec && drained < (64u << 20);) {
      std::size_t n = 0;
      std::tie(ec, n) = co_await socket_.async_read_some(asio::buffer(sink), use_tuple);
      drained += n;
    }
  }
  closed_ = true;
  watchdog_.cancel();
  socket_.close(ec);
}

asio::awaitable<bool> Server::Impl::Session::write(const Response& response, bool keep_alive,
                                                   bool head, std::string_view id) {
  std::string_view body = response.shared_body ? std::string_view(*response.shared_body)
                                               : std::string_view(response.body);
  serialize_head(head_, response, body.size(), keep_alive, request_version_, id, server_->fixed);
  if (head || response.status == 204 || response.status == 304) body = {};
  expires_after(server_->options.write_timeout);
  // Status line, fields and body in one gathered send; a cached body is sent from where
  // it lives, not copied.
  std::array<asio::const_buffer, 2> buffers{asio::buffer(head_), asio::buffer(body)};
  auto [ec, n] = co_await asio::async_write(socket_, buffers, use_tuple);
  co_return !ec;
}

void Server::Impl::Session::log_access(std::string_view method, std::string_view route,
                                       bool with_client, unsigned status, double seconds,
                                       std::string_view id) {
  std::string_view client = with_client ? std::string_view(peer_) : "hidden";
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
    Socket socket(io.next());
    auto [ec] = co_await acceptor.async_accept(socket, use_tuple);
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
      auto executor = socket.get_executor();
      asio::co_spawn(executor, reject(std::move(socket)), asio::detached);
      continue;
    }
    metrics.connections_open().Increment();
    auto session = std::make_shared<Session>(self, std::move(socket));
    // The lambda, kept in the coroutine's frame, keeps the session alive until it ends.
    asio::co_spawn(
        session->executor(), [session] { return session->run(); }, asio::detached);
  }
}

// Over the connection limit: a short 503 and close, so clients see why. A few hundred
// bytes fit a new connection's empty send buffer, so the write cannot wait on the peer.
asio::awaitable<void> Server::Impl::reject(Socket socket) {
  Response problem = problem_response(TransportCode::too_many_connections,
                                      "The server is at its connection limit; retry shortly.");
  problem.set("Retry-After", "1");
  std::string head;
  serialize_head(head, problem, problem.body.size(), false, 11, {}, fixed);
  std::array<asio::const_buffer, 2> buffers{asio::buffer(head), asio::buffer(problem.body)};
  co_await asio::async_write(socket, buffers, use_tuple);
  boost::system::error_code ignored;
  socket.shutdown(tcp::socket::shutdown_send, ignored);
}

Server::Server(IoContexts& io, const Router& router, ServerOptions options, HttpMetrics& metrics)
    : impl_(std::make_shared<Impl>(io, router, std::move(options), metrics)) {}

Server::~Server() = default;

void Server::set_admission(AdmissionCheck check) {
  impl_->admission = std::move(check);
}

void Server::set_cors(CorsPolicy policy) {
  impl_->cors.emplace(std::move(policy));
}

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
