#pragma once
// The HTTP/1.1 transport: accepts connections, reads requests within the configured
// limits, calls the router's handler, writes responses in order. Knows nothing of
// elections; handlers know nothing of sockets.
#include <cstddef>
#include <cstdint>
#include <memory>

#include "observernet/http/admission.hpp"
#include "observernet/http/cors.hpp"
#include "observernet/http/io_contexts.hpp"
#include "observernet/http/metrics.hpp"
#include "observernet/http/router.hpp"
#include "observernet/http/server_options.hpp"

namespace observernet::http {

class Server {
 public:
  Server(IoContexts& io, const Router& router, ServerOptions options, HttpMetrics& metrics);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Every matched request passes `check` first (before start()); none by default.
  void set_admission(AdmissionCheck check);

  // CORS for the paths under the policy's prefix (before start()); none by default.
  // It also answers OPTIONS on every known path (204 with Allow, or a preflight).
  void set_cors(CorsPolicy policy);

  // Binds and starts accepting; throws std::system_error when the address is taken.
  void start();
  std::uint16_t port() const;

  // Shutdown, in this order: stop accepting; then close idle keep-alive connections and
  // let busy ones finish their request (answered with `Connection: close`).
  void stop_accepting();
  void close_connections_when_idle();
  std::size_t open_connections() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace observernet::http
