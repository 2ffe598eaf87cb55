#pragma once
// The RateLimit-Policy and RateLimit response header fields of
// draft-ietf-httpapi-ratelimit-headers-11: Structured Field Lists (RFC 9651) of one
// Item each, the policy name as an sf-string with parameters.
//
//   RateLimit-Policy: "submit";q=10;w=60     (§3.1: q quota, w window in seconds)
//   RateLimit: "submit";r=3;t=42             (§4.1: r available quota, t effective
//                                              window in seconds)
//
// The optional quota unit `qu` is left out (the default, "requests", is what we
// count), and so is the optional partition key `pk` (§3.1.4, §4.1.3, a Byte
// Sequence): our partition is the client address, which §6.1 advises against
// echoing and which the client gains nothing from.
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace observernet::cache {

// Throws std::invalid_argument unless `name` is non-empty printable ASCII (an
// sf-string may hold nothing else). Run it on configured policy names at start-up.
void validate_policy_name(std::string_view name);

// "<name>";q=<quota>;w=<window>. Throws as validate_policy_name does; quota must be
// ≥ 0 and window ≥ 1 s (§3.1.1, §3.1.3), else std::invalid_argument.
std::string rate_limit_policy_field(std::string_view name, std::int64_t quota,
                                    std::chrono::seconds window);

// "<name>";r=<remaining>;t=<reset>. Negative values are written as 0, and values
// are capped at the 15 digits an sf-integer allows.
std::string rate_limit_field(std::string_view name, std::int64_t remaining,
                             std::chrono::seconds reset);

}  // namespace observernet::cache
