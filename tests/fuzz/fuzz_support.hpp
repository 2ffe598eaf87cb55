#pragma once
// What the harnesses share: a property check that stops the run (libFuzzer keeps the
// input that broke it), and the JSON body of a route as its handler receives it.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "observernet/api/support.hpp"
#include "observernet/error.hpp"
#include "observernet/http/message.hpp"

namespace observernet::fuzz {

[[noreturn]] inline void fail(const char* what, const char* file, int line) {
  std::fprintf(stderr, "%s:%d: property violated: %s\n", file, line, what);
  std::abort();
}

// A property of the code under test; violated, it ends the run like a crash.
#define FUZZ_CHECK(condition) \
  ((condition) ? static_cast<void>(0) : ::observernet::fuzz::fail(#condition, __FILE__, __LINE__))

inline std::string_view as_text(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// What `parse()` returns, or nullopt when it refuses the input with an Error of `code`
// (listing the fields at fault, for validation_failed). Any other exception escapes.
template <typename Parse>
auto unless_refused(ErrorCode code, Parse&& parse) -> std::optional<decltype(parse())> {
  try {
    return parse();
  } catch (const Error& e) {
    FUZZ_CHECK(e.code() == code);
    FUZZ_CHECK(code != ErrorCode::validation_failed || !e.field_errors().empty());
    return std::nullopt;
  }
}

namespace detail {

// Members of every object in `value`, nested ones included.
inline std::size_t member_count(const nlohmann::json& value) {
  std::size_t count = 0;
  if (value.is_object()) count += value.size();
  if (value.is_structured()) {
    for (const auto& child : value) count += member_count(child);
  }
  return count;
}

}  // namespace detail

// `body` through api::parse_json_body, as a POST with this Content-Type reaches a
// route: the document, or nullopt when it answers 400. Checked against nlohmann's parser
// without the guard: exactly the documents that parse, nest at most 32 levels and name
// no member twice in one object (every key the parser reports is a member of the tree)
// are accepted.
inline std::optional<nlohmann::json> parse_route_body(
    std::string_view body, std::string_view content_type = "application/json") {
  http::Request request;
  request.method = http::Method::post;
  request.headers.emplace_back("Content-Type", content_type);
  request.body = body;
  std::optional<nlohmann::json> accepted;
  try {
    accepted = api::parse_json_body(request, {content_type});
  } catch (const Error& e) {
    FUZZ_CHECK(e.code() == ErrorCode::bad_request);
  }

  std::size_t keys = 0;
  int depth = 0;
  auto count = [&](int level, nlohmann::json::parse_event_t event, nlohmann::json&) {
    depth = std::max(depth, level);
    if (event == nlohmann::json::parse_event_t::key) ++keys;
    return true;
  };
  const auto reference = nlohmann::json::parse(body, count, /*allow_exceptions=*/false);
  const bool valid =
      !reference.is_discarded() && depth <= 32 && keys == detail::member_count(reference);
  FUZZ_CHECK(accepted.has_value() == valid);
  if (accepted) FUZZ_CHECK(*accepted == reference);
  return accepted;
}

}  // namespace observernet::fuzz
