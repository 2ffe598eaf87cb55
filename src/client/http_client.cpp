#include "observernet/client/http_client.hpp"

#include <poll.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cctype>
#include <charconv>
#include <fstream>
#include <iterator>
#include <optional>

namespace observernet::client {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using asio::ip::tcp;

namespace {

// Far above any answer of the API a client command reads (a ballot page, results),
// and a bound on what a misbehaving server can make us hold.
constexpr std::uint64_t kMaxResponseBody = 64 * 1024 * 1024;

constexpr std::string_view kExpectedForm = "expected http://host[:port][/path]";

// A request path as a file name: letters, digits, '.', '_' and '-' as they are, every
// other byte as %XX ('/' and '?' included), so that no two paths share a name.
std::string archive_name(std::string_view path) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : path) {
    if (std::isalnum(c) || c == '.' || c == '_' || c == '-') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

void record(const std::filesystem::path& file, const Reply& reply) {
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  out << "HTTP " << reply.status << "\n" << reply.header("Content-Type") << "\n" << reply.body;
  if (!out) throw TransportError("cannot write " + file.string());
}

Reply replay(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  Reply reply;
  std::string status_line, type;
  if (!in || !std::getline(in, status_line) || !std::getline(in, type) ||
      !status_line.starts_with("HTTP ")) {
    reply.status = 404;
    reply.headers = {{"Content-Type", "application/problem+json"}};
    reply.body =
        R"({"code":"not_found","status":404,"title":"Not found","detail":"not in the archive: )" +
        file.filename().string() + "\"}";
    return reply;
  }
  reply.status = static_cast<unsigned>(std::stoul(status_line.substr(5)));
  if (!type.empty()) reply.headers = {{"Content-Type", type}};
  reply.body.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  return reply;
}

[[noreturn]] void invalid_url(std::string_view why) {
  throw std::invalid_argument(std::string(why));
}

bool is_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

bool is_hex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// RFC 3986 §3.2.2 reg-name, without percent-encoding (a DNS name never needs it).
bool valid_reg_name(std::string_view host) {
  if (host.empty()) return false;
  for (char c : host) {
    if (!is_alnum(c) && c != '-' && c != '.' && c != '_' && c != '~') return false;
  }
  return true;
}

// RFC 3986 §3.3: segments of pchar = unreserved / pct-encoded / sub-delims / ":" / "@".
bool valid_path(std::string_view path) {
  static constexpr std::string_view kAllowed = "-._~!$&'()*+,;=:@/";
  for (std::size_t i = 0; i < path.size(); ++i) {
    char c = path[i];
    if (c == '%') {
      if (i + 2 >= path.size() || !is_hex(path[i + 1]) || !is_hex(path[i + 2])) return false;
      i += 2;
    } else if (!is_alnum(c) && kAllowed.find(c) == std::string_view::npos) {
      return false;
    }
  }
  return true;
}

std::uint16_t parse_port(std::string_view text) {
  unsigned value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || text.size() > 5 || ec != std::errc() || end != text.data() + text.size() ||
      value == 0 || value > 65535) {
    invalid_url("the port must be a number from 1 to 65535");
  }
  return static_cast<std::uint16_t>(value);
}

// RFC 9110 §9.2.2.
bool is_idempotent(bhttp::verb verb) {
  switch (verb) {
    case bhttp::verb::get:
    case bhttp::verb::head:
    case bhttp::verb::put:
    case bhttp::verb::delete_:
    case bhttp::verb::options:
    case bhttp::verb::trace:
      return true;
    default:
      return false;
  }
}

}  // namespace

std::string BaseUrl::host_field() const {
  std::string field = host.find(':') == std::string::npos ? host : "[" + host + "]";
  if (port != 80) field += ":" + std::to_string(port);
  return field;
}

BaseUrl parse_base_url(std::string_view url) {
  auto scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) invalid_url(kExpectedForm);
  std::string_view scheme = url.substr(0, scheme_end);
  // Schemes are case-insensitive (RFC 3986 §3.1).
  if (beast::iequals(scheme, "https")) {
    invalid_url(
        "https is not supported: use http:// for local use, or reach the server through a "
        "TLS-terminating proxy");
  }
  if (!beast::iequals(scheme, "http")) invalid_url(kExpectedForm);
  std::string_view rest = url.substr(scheme_end + 3);
  if (rest.find_first_of("?#") != std::string_view::npos) {
    invalid_url("a query or fragment has no place in a base URL");
  }
  std::size_t authority_end = std::min(rest.find('/'), rest.size());
  std::string_view authority = rest.substr(0, authority_end);
  std::string_view path = rest.substr(authority_end);
  if (authority.find('@') != std::string_view::npos) {
    invalid_url("user information in the URL is not supported");
  }

  BaseUrl result;
  std::string_view port_text;
  bool has_port = false;
  if (authority.starts_with('[')) {
    // RFC 3986 §3.2.2 IP-literal; the resolver judges the address itself.
    auto close = authority.find(']');
    if (close == std::string_view::npos || close == 1) invalid_url(kExpectedForm);
    std::string_view address = authority.substr(1, close - 1);
    for (char c : address) {
      if (!is_hex(c) && c != ':' && c != '.') invalid_url("invalid IPv6 address");
    }
    result.host = address;
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after[0] != ':') invalid_url(kExpectedForm);
      port_text = after.substr(1);
      has_port = true;
    }
  } else {
    auto colon = authority.find(':');
    std::string_view host = authority.substr(0, colon);
    if (!valid_reg_name(host)) invalid_url("missing or invalid host name");
    result.host = host;
    if (colon != std::string_view::npos) {
      port_text = authority.substr(colon + 1);
      has_port = true;
    }
  }
  if (has_port) result.port = parse_port(port_text);

  while (path.ends_with('/')) path.remove_suffix(1);
  if (!valid_path(path)) invalid_url("invalid character in the path");
  result.base_path = path;
  return result;
}

std::string_view Reply::header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (beast::iequals(key, name)) return value;
  }
  return {};
}

struct HttpClient::Impl {
  BaseUrl url;
  std::chrono::milliseconds timeout;
  std::optional<Archive> archive;
  asio::io_context ioc{1};
  beast::tcp_stream stream{ioc};
  beast::flat_buffer buffer;
  bool connected = false;

  Impl(BaseUrl u, std::chrono::milliseconds t) : url(std::move(u)), timeout(t) {}

  std::string where() const { return url.host_field(); }

  // Beast's stream timeouts apply to asynchronous operations only, so each blocking step
  // is an asynchronous one run to completion on our private io_context.
  template <class Start>
  beast::error_code run(Start&& start) {
    std::optional<beast::error_code> result;
    start([&result](beast::error_code ec, auto&&...) { result = ec; });
    ioc.restart();
    ioc.run();
    return result.value_or(asio::error::operation_aborted);
  }

  std::string describe(const beast::error_code& ec) const {
    if (ec == beast::error::timeout) {
      return "no answer within " + std::to_string(timeout.count()) + " ms";
    }
    return ec.message();
  }

  void close() {
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream.close();
    buffer.clear();
    connected = false;
  }

  // Between requests the server has nothing to say: a readable socket means it closed
  // the idle connection (RFC 9112 §9.5), reset it, or sent bytes we cannot attribute to
  // any request. None of those leaves the connection usable.
  bool usable() {
    if (!connected || buffer.size() != 0) return false;
    pollfd p{stream.socket().native_handle(), POLLIN, 0};
    return ::poll(&p, 1, 0) == 0;
  }

  void connect() {
    // Name resolution is bounded only by the system resolver's timeouts (resolv.conf):
    // nothing in Asio can interrupt the getaddrinfo call under it.
    tcp::resolver resolver(ioc);
    beast::error_code ec;
    auto endpoints = resolver.resolve(url.host, std::to_string(url.port), ec);
    if (ec) throw TransportError("resolving " + url.host + ": " + ec.message());

    stream.expires_after(timeout);
    ec = run([&](auto handler) { stream.async_connect(endpoints, std::move(handler)); });
    if (ec) {
      close();
      throw TransportError("connecting to " + where() + ": " + describe(ec));
    }
    stream.socket().set_option(tcp::no_delay(true), ec);
    connected = true;
  }

  // One request and its response on the current connection. On failure, `lost` tells
  // whether the connection broke before any byte of an answer arrived (and not by our
  // own timeout, after which a repeat would only wait as long again).
  Reply exchange(bhttp::request<bhttp::string_body>& req, bool& lost) {
    lost = false;
    // One deadline for the write and the read together.
    stream.expires_after(timeout);
    auto ec = run([&](auto handler) { bhttp::async_write(stream, req, std::move(handler)); });
    if (ec) {
      lost = ec != beast::error::timeout;
      throw TransportError("sending to " + where() + ": " + describe(ec));
    }

    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(kMaxResponseBody);
    if (req.method() == bhttp::verb::head) parser.skip(true);
    ec = run([&](auto handler) { bhttp::async_read(stream, buffer, parser, std::move(handler)); });
    if (ec) {
      lost = !parser.got_some() && ec != beast::error::timeout;
      std::string what = ec == bhttp::error::end_of_stream || ec == asio::error::eof
                             ? std::string("the server closed the connection")
                             : describe(ec);
      throw TransportError("reading the answer from " + where() + ": " + what);
    }
    stream.expires_never();

    auto& res = parser.get();
    Reply reply;
    reply.status = res.result_int();
    for (const auto& field : res) {
      reply.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
    }
    reply.body = std::move(res.body());
    if (!res.keep_alive()) close();
    return reply;
  }
};

HttpClient::HttpClient(std::string_view base_url, std::chrono::milliseconds timeout)
    : impl_(std::make_unique<Impl>(parse_base_url(base_url), timeout)) {}

HttpClient::~HttpClient() = default;
HttpClient::HttpClient(HttpClient&&) noexcept = default;
HttpClient& HttpClient::operator=(HttpClient&&) noexcept = default;

const BaseUrl& HttpClient::base_url() const {
  return impl_->url;
}

void HttpClient::set_archive(Archive archive) {
  if (archive.mode == Archive::Mode::record) std::filesystem::create_directories(archive.dir);
  impl_->archive = std::move(archive);
}

Reply HttpClient::request(std::string_view method, std::string_view path,
                          const std::optional<nlohmann::json>& body, const Headers& headers) {
  bhttp::verb verb = bhttp::string_to_verb(method);
  if (verb == bhttp::verb::unknown) {
    throw std::invalid_argument("unknown HTTP method '" + std::string(method) + "'");
  }
  if (!path.starts_with('/')) throw std::invalid_argument("request path must start with '/'");
  const auto* archive = impl_->archive ? &*impl_->archive : nullptr;
  if (archive && archive->mode == Archive::Mode::replay) {
    if (verb != bhttp::verb::get) {
      throw TransportError("offline: only what was saved can be read, not " + std::string(method));
    }
    return replay(archive->dir / archive_name(path));
  }

  bhttp::request<bhttp::string_body> req{verb, impl_->url.base_path + std::string(path), 11};
  req.set(bhttp::field::host, impl_->url.host_field());
  req.set(bhttp::field::user_agent, "observernet");
  req.set(bhttp::field::accept, "application/json, application/problem+json");
  if (body) {
    req.set(bhttp::field::content_type, "application/json");
    req.body() = body->dump();
  }
  for (const auto& [name, value] : headers) req.set(name, value);
  req.prepare_payload();

  for (int attempt = 0;; ++attempt) {
    bool reused = impl_->usable();
    if (!reused) {
      if (impl_->connected) impl_->close();
      impl_->connect();
    }
    bool lost = false;
    try {
      Reply reply = impl_->exchange(req, lost);
      if (archive && verb == bhttp::verb::get) record(archive->dir / archive_name(path), reply);
      return reply;
    } catch (const TransportError&) {
      impl_->close();
      // The server may close a reused connection just as we send (RFC 9112 §9.3.1): an
      // idempotent request is safe to repeat whether or not it got there.
      if (attempt == 0 && reused && lost && is_idempotent(verb)) continue;
      throw;
    }
  }
}

}  // namespace observernet::client
