#pragma once
// What every API handler needs: JSON bodies in and out, path and query parameters
// checked, admin authentication, and conditional responses.
#include <chrono>
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "observernet/http/message.hpp"

namespace observernet::cache {
struct CachedBody;
using CachedBodyPtr = std::shared_ptr<const CachedBody>;
}  // namespace observernet::cache

namespace observernet::api {

// The request body as JSON. 415 unless the Content-Type is one of `accepted` (media
// type only; parameters such as charset=utf-8 are allowed), 400 if it does not parse.
nlohmann::json parse_json_body(const http::Request& request,
                               std::initializer_list<std::string_view> accepted = {
                                   "application/json"});

// The media type of the Content-Type header, lower-cased, without parameters.
std::string media_type(const http::Request& request);

// A path parameter that must be a UUID (400 otherwise); returned lower-cased.
std::string uuid_param(const http::Request& request, std::string_view name);

// An optional integer query parameter within [min, max]; 400 naming it otherwise.
std::optional<std::int64_t> int_query(const http::Request& request, std::string_view name,
                                      std::int64_t min, std::int64_t max);

http::Response json_response(unsigned status, const nlohmann::json& body);

// RFC 9110 §13.1.2: whether an If-None-Match field value (a list of entity tags, or "*")
// names `etag`, by weak comparison.
bool none_match(std::string_view if_none_match, std::string_view etag);

// 304 when If-None-Match names `etag` (or is "*"), else 200 with `body`. Both carry
// ETag and `cache_control`.
http::Response conditional_response(const http::Request& request,
                                    std::shared_ptr<const std::string> body, std::string_view etag,
                                    std::string_view cache_control);

// conditional_response() for a body from the public cache, which the response keeps
// alive (no copy) with its strong ETag.
http::Response cached_response(const http::Request& request, const cache::CachedBodyPtr& cached,
                               std::string_view cache_control);

// "public, max-age=<seconds>", for the public reads.
std::string public_cache_control(std::chrono::seconds max_age);

// Admin API keys, configured as SHA-256 hashes (several, for rotation). check() throws
// 401 without a Bearer key and 403 with one that matches no hash; the comparison runs
// in constant time over every configured hash.
class AdminAuth {
 public:
  explicit AdminAuth(const std::vector<std::string>& hex_hashes);
  void check(const http::Request& request) const;
  // Whether the request carries a valid admin key, without throwing.
  bool valid(const http::Request& request) const;

 private:
  std::vector<std::vector<unsigned char>> hashes_;
};

}  // namespace observernet::api
