#pragma once
// A blocking HTTP/1.1 client for ObserverNet's own API: plain http:// only, one
// keep-alive connection, timeouts on connecting and on each request. Used by the CLI's
// client commands.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace observernet::client {

// http://host[:port][/base] (RFC 3986 §3): host a name, an IPv4 address or a bracketed
// IPv6 address; no userinfo, query or fragment.
struct BaseUrl {
  std::string host;  // IPv6 without its brackets
  std::uint16_t port = 80;
  std::string base_path;  // "" or "/base", never ending in '/'

  // The Host field value (RFC 9110 §7.2): the port only when it is not the default.
  std::string host_field() const;
};

// Throws std::invalid_argument with a message fit for the user, for https:// (no TLS
// here: use http for local use, or put a TLS-terminating proxy in front) and for
// anything that is not of the form above.
BaseUrl parse_base_url(std::string_view url);

// The request got no complete answer: resolution, connection, timeout, a closed or
// reset connection, or a response that is not HTTP/1.1. The server may or may not have
// processed the request.
class TransportError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

using Headers = std::vector<std::pair<std::string, std::string>>;

struct Reply {
  unsigned status = 0;
  Headers headers;
  std::string body;

  // Case-insensitive; the first value, or empty when absent.
  std::string_view header(std::string_view name) const;
};

// The answers to GET requests kept in a directory, one file each (named by the request
// path, escaped), so that what a server published can be checked again without it
// (observernet verify --save / --offline). A file is the status line "HTTP <status>",
// the Content-Type on the next line, then the body exactly as received.
struct Archive {
  enum class Mode {
    record,  // answers come from the server, and every GET answer is written too
    replay,  // GETs are answered from the directory alone; no connection is made
  };
  Mode mode = Mode::record;
  std::filesystem::path dir;
};

class HttpClient {
 public:
  // Throws std::invalid_argument as parse_base_url does. `timeout` bounds connecting,
  // and separately each request's write and read together. Not for use by several
  // threads at once.
  explicit HttpClient(std::string_view base_url,
                      std::chrono::milliseconds timeout = std::chrono::seconds(10));
  ~HttpClient();
  HttpClient(HttpClient&&) noexcept;
  HttpClient& operator=(HttpClient&&) noexcept;

  const BaseUrl& base_url() const;

  // From now on, keep or replay answers (Archive). Recording creates the directory;
  // replaying answers a GET that is not in it with 404, and anything else with a
  // TransportError.
  void set_archive(Archive archive);

  // Sends `method` (GET, POST, ...) to base path + `path` (which starts with '/' and
  // may carry a query); `body`, when given, as application/json. Any status is a Reply;
  // throws TransportError otherwise. A connection the server closed while idle is
  // replaced before sending. If a reused connection breaks before any answer arrives
  // (not a timeout), an idempotent request (RFC 9110 §9.2.2) is sent once more on a new
  // connection; others are not, since the server may have acted on them: the caller
  // knows whether a retry is safe.
  Reply request(std::string_view method, std::string_view path,
                const std::optional<nlohmann::json>& body = std::nullopt,
                const Headers& headers = {});

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace observernet::client
