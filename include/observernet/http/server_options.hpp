#pragma once
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace observernet::http {

// Every limit of the HTTP transport; each one that trips is counted in
// http_limit_exceeded_total{limit}.
struct ServerOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 8080;
  unsigned threads = 0;  // io_context threads; 0: one per core
  std::size_t max_connections = 10000;
  std::size_t header_limit_bytes = 8 * 1024;
  std::size_t body_limit_bytes = 1024 * 1024;        // routes may override
  std::chrono::milliseconds header_timeout{10'000};  // from connection or first byte
  std::chrono::milliseconds body_timeout{30'000};
  std::chrono::milliseconds idle_timeout{60'000};  // keep-alive wait for the next request
  std::chrono::milliseconds write_timeout{30'000};
  bool access_log = true;
  // Strict-Transport-Security max-age on every response, in seconds; 0: none.
  std::uint64_t hsts_max_age = 0;
  // Origins (scheme://host[:port], as parse_origin writes them) the API answers to,
  // besides its own; the public read-only routes answer any origin when
  // cors_public_any_origin (docs/api/errors.md, origin_not_allowed).
  std::vector<std::string> cors_origins;
  bool cors_public_any_origin = true;
};

}  // namespace observernet::http
