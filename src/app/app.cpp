#include "observernet/app/app.hpp"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <thread>

#include "observernet/api/board_routes.hpp"
#include "observernet/api/cors.hpp"
#include "observernet/api/election_logs.hpp"
#include "observernet/api/election_routes.hpp"
#include "observernet/api/ops_routes.hpp"
#include "observernet/api/rate_limit.hpp"
#include "observernet/api/support.hpp"
#include "observernet/api/voting_elections.hpp"
#include "observernet/api/voting_routes.hpp"
#include "observernet/api/web_routes.hpp"
#include "observernet/app/build_info.hpp"
#include "observernet/cache/public_cache.hpp"
#include "observernet/cache/rate_limiter.hpp"
#include "observernet/cache/redis_pool.hpp"
#include "observernet/crypto/hash.hpp"
#include "observernet/domain/election.hpp"
#include "observernet/http/cors.hpp"
#include "observernet/http/metrics.hpp"
#include "observernet/http/server.hpp"
#include "observernet/store/ballot_writer.hpp"
#include "observernet/store/board.hpp"
#include "observernet/store/elections.hpp"
#include "observernet/store/migrations.hpp"
#include "observernet/store/pg_pool.hpp"
#include "observernet/store/voting.hpp"
#include "observernet/util/log.hpp"
#include "observernet/util/process_metrics.hpp"
#include "observernet/util/worker_pool.hpp"
#include "observernet/web/site.hpp"

namespace observernet::app {
namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

namespace {

unsigned io_threads(const Config& config) {
  if (config.http.threads != 0) return config.http.threads;
  return util::available_cpus();
}

// The I/O threads take one thread per core already; RSA work on as many again would
// leave each core two busy threads to switch between. Half the cores sign far more
// tokens than a pod's PostgreSQL records (docs/benchmarks.md).
unsigned crypto_threads(const Config& config) {
  if (config.crypto.threads != 0) return config.crypto.threads;
  return std::max(1u, util::available_cpus() / 2);
}

crypto::Bytes master_key(const Config& config) {
  return *crypto::from_hex(config.auth.master_key);  // 64 hex digits: checked by the config
}

std::vector<asio::any_io_executor> io_executors(http::IoContexts& io) {
  std::vector<asio::any_io_executor> out;
  for (std::size_t i = 0; i < io.size(); ++i) out.push_back(io.at(i).get_executor());
  return out;
}

// Clients appear in Redis only as an HMAC of their address under this key: the same in
// every pod (so limits are shared), derived from a secret they already share.
std::string rate_limit_key(const Config& config) {
  return crypto::to_hex(crypto::hmac_sha256(crypto::as_bytes(config.auth.voter_pepper),
                                            "observernet rate limit client key"));
}

crypto::Ed25519PrivateKey log_key(const Config& config) {
  return crypto::Ed25519PrivateKey::from_seed(*crypto::from_hex(config.auth.log_key));
}

// The pages of web.root (or of the default root), or null when there are none to serve.
// A root that cannot be served is a configuration error, and so is a process that
// serves nothing but pages (http.routes = web) without them.
std::shared_ptr<const web::Site> load_site(const Config& whole) {
  const WebConfig& config = whole.web;
  if (whole.routes == RouteSet::token) return nullptr;
  if (whole.routes == RouteSet::web &&
      (!config.enabled || (config.root.empty() && !web::default_root()))) {
    throw ConfigError("web.root",
                      "http.routes = web serves the web pages: enable them "
                      "(web.enabled) and give their folder (web.root)");
  }
  if (!config.enabled) return nullptr;
  std::filesystem::path root = config.root;
  if (root.empty()) {
    auto found = web::default_root();
    if (!found) {
      log::warn("web_pages_missing",
                {{"detail",
                  "no web.root set, and no built pages beside the executable or in the source "
                  "tree (web/dist): serving the API only"}});
      return nullptr;
    }
    root = *found;
  }
  try {
    auto site = std::make_shared<const web::Site>(web::Site::load(root, config.max_bytes));
    log::info(
        "web_pages_loaded",
        {{"root", root.string()}, {"files", site->file_count()}, {"bytes", site->total_bytes()}});
    return site;
  } catch (const web::SiteError& e) {
    throw ConfigError("web.root", e.what());
  }
}

}  // namespace

struct App::Impl {
  explicit Impl(Config c)
      : config(std::move(c)),
        // First: a web root that cannot be served stops the start before anything runs.
        site(load_site(config)),
        registry(std::make_shared<prometheus::Registry>()),
        http_metrics(*registry),
        postgres(config.database.url, config.database.pool, config.database.statement_timeout,
                 *registry),
        redis(config.redis.endpoint, config.redis.pool, config.redis.command_timeout, *registry),
        board(postgres, log_key(config)),
        elections(postgres, board, config.auth.voter_pepper, config.import.max_voters),
        voting(postgres),
        crypto("crypto", crypto_threads(config), config.crypto.queue_depth, *registry),
        ballot_writer(voting,
                      {config.ballots.batch_size, config.ballots.batch_wait,
                       config.ballots.queue_depth, config.ballots.writers},
                      *registry),
        voting_elections(elections, voting, crypto, master_key(config), config.tokens.key_bits),
        logs(board, config.board.freshness),
        public_cache(
            redis,
            {config.cache.election_ttl, config.cache.local_ttl, config.cache.local_max_entries},
            *registry),
        admin_auth(config.auth.admin_key_hashes),
        io(io_threads(config)),
        signals(io.main(), SIGINT, SIGTERM),
        rate_limiter(
            config.ratelimit, config.redis.endpoint, io_executors(io), rate_limit_key(config),
            [this] { return ballot_writer.queued(); }, *registry),
        server(io, router, config.http, http_metrics) {
    if (config.ratelimit.enabled) {
      server.set_admission(api::rate_limit_admission(rate_limiter, admin_auth));
    }
    server.set_cors(
        api::api_cors_policy(config.http, http::origin_of_url(config.web.public_url).value_or("")));
    prometheus::BuildGauge()
        .Name("observernet_build_info")
        .Help("Version and commit of the running binary (value is always 1)")
        .Register(*registry)
        .Add({{"version", kVersion}, {"commit", kGitCommit}})
        .Set(1);
    api::add_ops_routes(router,
                        {draining, dependencies, {registry.get(), &http_metrics, &process}});
    api::ElectionRoutesDependencies deps{
        elections,
        voting_elections,
        voting,
        public_cache,
        admin_auth,
        {.max_voters = config.import.max_voters},
        config.import.body_limit_bytes,
        config.cache.public_max_age,
        config.web.public_url,
    };
    api::add_admin_election_routes(router, deps);
    api::add_public_election_routes(router, deps);
    api::add_voting_routes(router, {voting_elections, voting, ballot_writer, public_cache, crypto,
                                    config.auth.voter_pepper, config.cache.results_ttl,
                                    config.cache.public_max_age, *registry});
    api::add_board_routes(router,
                          {voting_elections, logs, board, voting, config.cache.public_max_age});
    if (config.routes == RouteSet::token) {
      // The token-signing Deployment: RSA signatures, and what probes and Prometheus need.
      router.retain([](const http::Route& r) {
        return api::is_ops_route(r.path_template) ||
               (r.method == http::Method::post && r.path_template == "/api/v1/voting/token");
      });
    } else if (config.routes == RouteSet::web) {
      // The web front end's Deployment: pages, and what probes and Prometheus need.
      router.retain([](const http::Route& r) { return api::is_ops_route(r.path_template); });
    }
    if (site) api::add_web_routes(router, site, {config.web.api_base_url});
  }

  // SPEC §7: ballots waiting are given leaf indexes every board.sequence_interval_ms.
  // Every pod runs it; the lock on each election's log row lets one of them act.
  asio::awaitable<void> run_sequencer() {
    auto& pending = prometheus::BuildGauge()
                        .Name("ballots_pending_sequencing")
                        .Help("Accepted ballots not yet in their election's Merkle log")
                        .Register(*registry)
                        .Add({});
    auto& lag = prometheus::BuildGauge()
                    .Name("sequencing_lag_seconds")
                    .Help("How long the oldest ballot waiting for the log had waited")
                    .Register(*registry)
                    .Add({});
    auto& sequenced = prometheus::BuildCounter()
                          .Name("ballots_sequenced_total")
                          .Help("Ballots given leaf indexes by this process")
                          .Register(*registry)
                          .Add({});
    auto& pass_seconds =
        prometheus::BuildHistogram()
            .Name("sequencer_pass_seconds")
            .Help("Time of one sequencer pass over every election with ballots waiting")
            .Register(*registry)
            .Add({}, prometheus::Histogram::BucketBoundaries{0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1,
                                                             5, 10});
    asio::steady_timer timer(io.main());
    bool failing = false;
    for (;;) {
      timer.expires_after(config.board.sequence_interval);
      co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
      if (draining) break;
      try {
        const auto started = Clock::now();
        auto pass = co_await board.sequence_pending();
        pass_seconds.Observe(std::chrono::duration<double>(Clock::now() - started).count());
        pending.Set(static_cast<double>(pass.pending - std::min(pass.pending, pass.sequenced)));
        lag.Set(pass.lag_seconds);
        sequenced.Increment(static_cast<double>(pass.sequenced));
        if (failing) log::info("sequencer_recovered");
        failing = false;
      } catch (const std::exception& error) {
        if (!failing) log::warn("sequencer_failed", {{"error", error.what()}});
        failing = true;
      }
    }
  }

  // The adaptive factor of the rate limits follows the load.
  asio::awaitable<void> run_rate_limit_adaptation() {
    asio::steady_timer timer(io.main());
    while (!draining) {
      timer.expires_after(config.ratelimit.adaptive_interval);
      co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
      rate_limiter.adapt();
    }
  }

  // dependency_up stays fresh where nothing probes /readyz.
  asio::awaitable<void> run_dependency_checks() {
    asio::steady_timer timer(io.main());
    while (!draining) {
      co_await dependencies.run();
      timer.expires_after(std::chrono::seconds(5));
      co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    }
  }

  // opensAt / closesAt: every pod looks; the database lets one of them act.
  asio::awaitable<void> run_scheduler() {
    asio::steady_timer timer(io.main());
    bool failing = false;
    while (!draining) {
      try {
        for (const auto& e : co_await elections.run_schedule()) {
          log::info("election_scheduled",
                    {{"election", e.id}, {"status", domain::to_string(e.status)}});
          co_await api::publish_election_change(public_cache, voting, voting_elections, e);
        }
        if (failing) log::info("scheduler_recovered");
        failing = false;
      } catch (const std::exception& error) {
        if (!failing) log::warn("scheduler_failed", {{"error", error.what()}});
        failing = true;
      }
      timer.expires_after(config.scheduler.interval);
      co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    }
  }

  // Worker and pool threads may still post completions to the io_contexts: join them
  // first. Queued ballots are written before the database pool closes.
  ~Impl() { stop_workers(); }

  void stop_workers() {
    ballot_writer.stop();
    crypto.shutdown();
    postgres.shutdown();
    redis.shutdown();
  }

  // The drain, in the order a load balancer needs: unready first, then stop.
  asio::awaitable<void> drain() {
    log::info("shutdown_started", {{"drain_delay_ms", config.shutdown.drain_delay.count()}});
    asio::steady_timer timer(io.main());
    timer.expires_after(config.shutdown.drain_delay);
    co_await timer.async_wait(asio::use_awaitable);
    server.stop_accepting();
    server.close_connections_when_idle();
    const auto deadline = Clock::now() + config.shutdown.timeout;
    while (server.open_connections() > 0 && Clock::now() < deadline) {
      timer.expires_after(std::chrono::milliseconds(20));
      co_await timer.async_wait(asio::use_awaitable);
    }
    log::info("shutdown_drained", {{"connections_left", server.open_connections()}});
    io.stop();
  }

  void begin_shutdown() {
    if (draining.exchange(true)) return;
    asio::co_spawn(io.main(), drain(), asio::detached);
  }

  void wait_for_signal() {
    signals.async_wait([this](const boost::system::error_code& ec, int signal) {
      if (ec) return;
      log::info("signal_received", {{"signal", signal}});
      begin_shutdown();
      wait_for_signal();  // a second signal changes nothing; the drain has a deadline
    });
  }

  Config config;
  std::shared_ptr<const web::Site> site;  // null: no pages to serve
  std::shared_ptr<prometheus::Registry> registry;
  http::HttpMetrics http_metrics;
  util::ProcessMetrics process;
  store::PgPool postgres;
  cache::RedisPool redis;
  api::DependencyCheck dependencies{postgres, redis, *registry};
  store::BoardStore board;
  store::ElectionStore elections;
  store::VotingStore voting;
  util::WorkerPool crypto;
  store::BallotWriter ballot_writer;
  api::VotingElections voting_elections;
  api::ElectionLogs logs;
  cache::PublicCache public_cache;
  api::AdminAuth admin_auth;
  http::Router router;
  http::IoContexts io;
  asio::signal_set signals;
  cache::RateLimiter rate_limiter;  // after io: its Redis connections live on the I/O threads
  http::Server server;              // after rate_limiter, which its admission check uses
  std::atomic<bool> draining{false};
};

App::App(Config config) : impl_(std::make_unique<Impl>(std::move(config))) {}

App::~App() = default;

http::Router& App::router() {
  return impl_->router;
}

void App::start() {
  auto& cfg = impl_->config;
  if (cfg.database.migrate_on_start) {
    auto result = store::migrate(cfg.database.url);
    log::info("migrations_applied",
              {{"applied", result.applied.size()}, {"schema_version", result.version}});
  }
  impl_->postgres.warm_up();
  impl_->redis.warm_up();
  impl_->server.start();
  log::info("listening", {{"address", cfg.http.host},
                          {"port", impl_->server.port()},
                          {"url", "http://" + cfg.http.host + ":" + std::to_string(port())},
                          {"version", kVersion}});
}

std::uint16_t App::port() const {
  return impl_->server.port();
}

int App::run() {
  impl_->wait_for_signal();
  asio::co_spawn(impl_->io.main(), impl_->run_dependency_checks(), asio::detached);
  if (impl_->config.routes == RouteSet::all) {  // token and web pods leave these to the API's
    asio::co_spawn(impl_->io.main(), impl_->run_scheduler(), asio::detached);
    asio::co_spawn(impl_->io.main(), impl_->run_sequencer(), asio::detached);
  }
  if (impl_->config.ratelimit.enabled) {
    asio::co_spawn(impl_->io.main(), impl_->run_rate_limit_adaptation(), asio::detached);
  }
  impl_->io.run();
  impl_->stop_workers();
  log::info("stopped");
  return 0;
}

void App::request_shutdown() {
  asio::post(impl_->io.main(), [impl = impl_.get()] { impl->begin_shutdown(); });
}

}  // namespace observernet::app
