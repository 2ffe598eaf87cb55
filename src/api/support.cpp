#include "observernet/api/support.hpp"

#include <algorithm>
#include <charconv>
#include <unordered_set>
#include <vector>

#include "observernet/cache/public_cache.hpp"
#include "observernet/crypto/hash.hpp"
#include "observernet/domain/election.hpp"
#include "observernet/error.hpp"
#include "observernet/http/problem.hpp"

namespace observernet::api {

std::string media_type(const http::Request& request) {
  std::string_view value = request.header("Content-Type");
  value = value.substr(0, value.find(';'));
  while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  std::string out(value);
  std::ranges::transform(out, out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

nlohmann::json parse_json_body(const http::Request& request,
                               std::initializer_list<std::string_view> accepted) {
  std::string type = media_type(request);
  if (std::ranges::find(accepted, type) == accepted.end()) {
    std::string list;
    for (auto a : accepted) list += (list.empty() ? "" : ", ") + std::string(a);
    throw http::TransportError(http::TransportCode::unsupported_media_type,
                               "The body must be " + list + ".");
  }
  // Deeply nested input would make the recursive walks over the tree (validation,
  // serialisation) overflow the stack; no document of ours nests beyond a few levels.
  constexpr int kMaxDepth = 32;
  // A member named twice in one object is refused: RFC 8259 leaves its meaning open and
  // parsers differ (this one keeps the last, others the first), so a proxy and the server
  // could read two different requests from one body. Names compare after unescaping.
  // The names of each open object, by its depth; the sets are reused, not reallocated.
  std::vector<std::unordered_set<std::string>> names;
  auto guard = [&names](int depth, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
    if (depth > kMaxDepth) {
      throw Error(ErrorCode::bad_request,
                  "The body nests deeper than " + std::to_string(kMaxDepth) + " levels.");
    }
    using Event = nlohmann::json::parse_event_t;
    if (event == Event::object_start) {
      // depth: the containers open around the new object.
      const auto level = static_cast<std::size_t>(depth);
      if (names.size() <= level) names.resize(level + 1);
      names[level].clear();
    } else if (event == Event::key) {
      // depth: the containers open, the key's object included.
      const auto& name = parsed.get_ref<const std::string&>();
      if (!names.at(static_cast<std::size_t>(depth) - 1).insert(name).second) {
        constexpr std::size_t kEchoed = 64;  // longer names are not echoed back
        const std::string shown = name.size() <= kEchoed ? name : "(a long name)";
        throw Error(ErrorCode::bad_request,
                    "The body names the member \"" + shown + "\" more than once in one object.",
                    {{shown, "appears more than once"}});
      }
    }
    return true;
  };
  try {
    return nlohmann::json::parse(request.body, guard);
  } catch (const nlohmann::json::parse_error& e) {
    throw Error(ErrorCode::bad_request,
                "The body is not valid JSON (at byte " + std::to_string(e.byte) + ").");
  } catch (const nlohmann::json::out_of_range&) {
    // A number no double holds (1e999, 400 digits): valid JSON (RFC 8259 §6 lets a
    // parser refuse it), and no field of ours takes one.
    throw Error(ErrorCode::bad_request, "The body holds a number too large to read.");
  }
}

std::string uuid_param(const http::Request& request, std::string_view name) {
  auto id = domain::canonical_uuid(request.param(name));
  if (!id) {
    throw Error(ErrorCode::bad_request, "The " + std::string(name) + " in the path must be a UUID.",
                {{std::string(name), "must be a UUID"}});
  }
  return std::move(*id);
}

std::optional<std::int64_t> int_query(const http::Request& request, std::string_view name,
                                      std::int64_t min, std::int64_t max) {
  auto raw = request.query_param(name);
  if (!raw) return std::nullopt;
  std::int64_t value = 0;
  auto [end, ec] = std::from_chars(raw->data(), raw->data() + raw->size(), value);
  if (ec != std::errc{} || end != raw->data() + raw->size() || value < min || value > max) {
    std::string rule =
        "must be a whole number from " + std::to_string(min) + " to " + std::to_string(max);
    throw Error(ErrorCode::bad_request, "Query parameter " + std::string(name) + " " + rule + ".",
                {{std::string(name), rule}});
  }
  return value;
}

http::Response json_response(unsigned status, const nlohmann::json& body) {
  return http::Response::json(status, body.dump());
}

bool none_match(std::string_view header, std::string_view etag) {
  if (header.empty()) return false;
  if (header.find('*') != std::string_view::npos) return true;
  while (!header.empty()) {
    auto comma = header.find(',');
    std::string_view tag = header.substr(0, comma);
    while (!tag.empty() && tag.front() == ' ') tag.remove_prefix(1);
    while (!tag.empty() && tag.back() == ' ') tag.remove_suffix(1);
    if (tag.starts_with("W/")) tag.remove_prefix(2);
    if (tag == etag) return true;
    if (comma == std::string_view::npos) break;
    header.remove_prefix(comma + 1);
  }
  return false;
}

http::Response conditional_response(const http::Request& request,
                                    std::shared_ptr<const std::string> body, std::string_view etag,
                                    std::string_view cache_control) {
  http::Response response;
  response.headers.reserve(2);
  if (none_match(request.header("If-None-Match"), etag)) {
    response.status = 304;
  } else {
    response.status = 200;
    response.content_type = "application/json";
    response.shared_body = std::move(body);
  }
  response.set("ETag", std::string(etag));
  response.set("Cache-Control", std::string(cache_control));
  return response;
}

AdminAuth::AdminAuth(const std::vector<std::string>& hex_hashes) {
  for (const auto& h : hex_hashes) {
    if (auto bytes = crypto::from_hex(h); bytes && bytes->size() == 32) hashes_.push_back(*bytes);
  }
}

namespace {
constexpr std::string_view kBearer = "Bearer ";

bool bearer(std::string_view header) {
  return header.size() > kBearer.size() && http::iequals(header.substr(0, kBearer.size()), kBearer);
}
}  // namespace

bool AdminAuth::valid(const http::Request& request) const {
  std::string_view header = request.header("Authorization");
  if (!bearer(header)) return false;
  auto presented = crypto::sha256(header.substr(kBearer.size()));
  // Every configured hash is compared, match or not, so timing says nothing of which.
  bool match = false;
  for (const auto& h : hashes_) match |= crypto::constant_time_equal(presented, h);
  return match;
}

void AdminAuth::check(const http::Request& request) const {
  if (!bearer(request.header("Authorization"))) {
    throw Error(ErrorCode::unauthorized,
                "This route needs an admin key: Authorization: Bearer <key>.")
        .with_header("WWW-Authenticate", "Bearer");
  }
  if (!valid(request)) throw Error(ErrorCode::forbidden, "The admin key is not valid.");
}

http::Response cached_response(const http::Request& request, const cache::CachedBodyPtr& cached,
                               std::string_view cache_control) {
  return conditional_response(request, {cached, &cached->body}, cached->etag, cache_control);
}

std::string public_cache_control(std::chrono::seconds max_age) {
  return "public, max-age=" + std::to_string(max_age.count());
}

}  // namespace observernet::api
