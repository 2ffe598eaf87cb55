#include "observernet/cache/rate_limit_headers.hpp"

#include <algorithm>
#include <stdexcept>

namespace observernet::cache {
namespace {

// RFC 9651 §3.3.1: an Integer has at most 15 digits.
constexpr std::int64_t kMaxSfInteger = 999'999'999'999'999;

std::string sf_integer(std::int64_t n) {
  return std::to_string(std::clamp<std::int64_t>(n, 0, kMaxSfInteger));
}

// RFC 9651 §4.1.6: printable ASCII, with DQUOTE and "\" escaped.
std::string sf_string(std::string_view s) {
  validate_policy_name(s);
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  out += '"';
  return out;
}

}  // namespace

void validate_policy_name(std::string_view name) {
  if (name.empty()) throw std::invalid_argument("a rate limit policy name must not be empty");
  for (char c : name) {
    if (c < 0x20 || c > 0x7E) {
      throw std::invalid_argument("rate limit policy name \"" + std::string(name) +
                                  "\" holds a character other than printable ASCII");
    }
  }
}

std::string rate_limit_policy_field(std::string_view name, std::int64_t quota,
                                    std::chrono::seconds window) {
  if (quota < 0 || quota > kMaxSfInteger) {
    throw std::invalid_argument("RateLimit-Policy quota out of range: " + std::to_string(quota));
  }
  if (window < std::chrono::seconds(1) || window.count() > kMaxSfInteger) {
    throw std::invalid_argument("RateLimit-Policy window must be at least 1 s, got " +
                                std::to_string(window.count()));
  }
  return sf_string(name) + ";q=" + sf_integer(quota) + ";w=" + sf_integer(window.count());
}

std::string rate_limit_field(std::string_view name, std::int64_t remaining,
                             std::chrono::seconds reset) {
  return sf_string(name) + ";r=" + sf_integer(remaining) + ";t=" + sf_integer(reset.count());
}

}  // namespace observernet::cache
