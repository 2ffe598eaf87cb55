#pragma once
// Transport-neutral request and response: handlers see these, never Beast's
// types, so they can be called and tested without a socket.
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace observernet::http {

enum class Method { get, head, post, put, patch, del, options, other };

std::string_view to_string(Method m);
Method parse_method(std::string_view m);

// Header names and values as views into the transport's buffer: valid only while
// the handler runs, which is all a handler needs.
using HeaderViews = std::vector<std::pair<std::string_view, std::string_view>>;

struct Request {
  Method method = Method::get;
  std::string_view path;   // without the query string
  std::string_view query;  // without the '?'
  HeaderViews headers;
  std::string body;
  std::vector<std::pair<std::string_view, std::string>> params;  // from the path template
  std::string_view request_id;

  // Case-insensitive header lookup; empty when absent.
  std::string_view header(std::string_view name) const;
  // A path parameter by template name; empty when absent.
  std::string_view param(std::string_view name) const;
  // The first value of a query parameter, percent-decoded.
  std::optional<std::string> query_param(std::string_view name) const;
};

using Fields = std::vector<std::pair<std::string, std::string>>;

struct Response {
  unsigned status = 200;
  std::string content_type;
  std::string body;
  Fields headers;
  // Instead of `body`: a body owned elsewhere (a cache entry), sent without a copy.
  std::shared_ptr<const std::string> shared_body;
  // Besides `headers`: fields prepared once for many responses (a static file's), sent
  // after them without a copy.
  std::shared_ptr<const Fields> shared_headers;

  Response& set(std::string name, std::string value) {
    headers.emplace_back(std::move(name), std::move(value));
    return *this;
  }
  static Response json(unsigned status, std::string body);
  static Response text(unsigned status, std::string body, std::string content_type);
};

bool iequals(std::string_view a, std::string_view b);
std::optional<std::string> percent_decode(std::string_view in);
// RFC 3986 §2.1: every byte but the unreserved characters (§2.3) as %XX.
std::string percent_encode(std::string_view in);

}  // namespace observernet::http
