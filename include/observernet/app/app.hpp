#pragma once
// Wiring: builds the pools, metrics, router and server from a Config, in one place,
// and runs them until SIGTERM/SIGINT (or request_shutdown) has drained them.
#include <cstdint>
#include <memory>

#include "observernet/app/config.hpp"
#include "observernet/http/router.hpp"

namespace observernet::app {

class App {
 public:
  explicit App(Config config);
  ~App();
  App(const App&) = delete;
  App& operator=(const App&) = delete;

  // Routes may be added until start().
  http::Router& router();

  // Applies migrations if configured, opens the pools' first connections and binds
  // the listener. Throws on a bind failure or a failed migration.
  void start();
  std::uint16_t port() const;

  // Serves until shut down; returns the process exit code (0 after a clean drain).
  int run();

  // What SIGTERM does: /readyz turns 503 now; after shutdown.drain_delay_ms the
  // listener closes, in-flight requests finish (shutdown.timeout_ms at most), pools close.
  void request_shutdown();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Applies pending migrations as database.url's role, granting database.runtime_role
// (store/migrations.hpp), and logs what it did: `observernet migrate` and `serve --migrate`.
void apply_migrations(const Config& config);

// The command line: serve, migrate, version, --help. Returns the exit code:
// 0 success, 1 runtime failure, 2 invalid flags or config.
int run_cli(int argc, char** argv);

}  // namespace observernet::app
