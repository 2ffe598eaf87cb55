#include "observernet/app/app.hpp"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>
#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "observernet/api/board_routes.hpp"
#include "observernet/api/cors.hpp"
#include "observernet/api/election_routes.hpp"
#include "observernet/api/ops_routes.hpp"
#include "observernet/api/rate_limit.hpp"
#include "observernet/api/support.hpp"
#include "observernet/api/voting_routes.hpp"
#include "observernet/api/web_routes.hpp"
#include "observernet/app/build_info.hpp"
#include "observernet/cache/public_cache.hpp"
#include "observernet/cache/rate_limiter.hpp"
#include "observernet/cache/redis_lanes.hpp"
#include "observernet/crypto/hash.hpp"
#include "observernet/http/cors.hpp"
#include "observernet/http/metrics.hpp"
#include "observernet/http/server.hpp"
#include "observernet/service/background.hpp"
#include "observernet/service/ballot_box.hpp"
#include "observernet/service/board.hpp"
#include "observernet/service/election_admin.hpp"
#include "observernet/service/election_logs.hpp"
#include "observernet/service/health.hpp"
#include "observernet/service/public_elections.hpp"
#include "observernet/service/token_issuer.hpp"
#include "observernet/service/token_keys.hpp"
#include "observernet/service/voting_elections.hpp"
#include "observernet/store/ballot_writer.hpp"
#include "observernet/store/board.hpp"
#include "observernet/store/elections.hpp"
#include "observernet/store/issuance_writer.hpp"
#include "observernet/store/migrations.hpp"
#include "observernet/store/pg_pool.hpp"
#include "observernet/store/pg_reads.hpp"
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

// Each key only where the route set uses it (docs/security.md, Keys): whatever else the
// configuration holds, nothing is built with it. Null elsewhere.
std::unique_ptr<store::BoardStore> board_store(const Config& config, store::PgReads& db) {
  if (!keys_of(config.routes).log_key) return nullptr;
  return std::make_unique<store::BoardStore>(
      db, crypto::Ed25519PrivateKey::from_seed(*crypto::from_hex(config.auth.log_key)),
      domain::PublicationPolicy{config.board.min_batch, config.board.max_delay,
                                config.board.min_anonymity});
}

std::string voter_pepper(const Config& config) {
  return keys_of(config.routes).voter_pepper ? config.auth.voter_pepper : std::string();
}

std::unique_ptr<service::TokenKeySealer> token_key_sealer(const Config& config,
                                                          util::WorkerPool& crypto) {
  if (!keys_of(config.routes).sealing_key) return nullptr;
  crypto::X25519Key sealing_key{};
  // 64 hex digits: checked by the config, which derives it from the master key if need be.
  const crypto::Bytes raw = *crypto::from_hex(config.auth.sealing_public_key);
  std::copy(raw.begin(), raw.end(), sealing_key.begin());
  return std::make_unique<service::TokenKeySealer>(crypto, sealing_key, config.tokens.key_bits);
}

// The only place the master key is read: a process that does not sign tokens never
// builds a way to unseal one.
std::unique_ptr<service::TokenKeys> unsealing_keys(const Config& config, store::VotingStore& voting,
                                                   prometheus::Counter& unsealed) {
  if (!keys_of(config.routes).master_key) return nullptr;
  return std::make_unique<service::TokenKeys>(
      voting, *crypto::from_hex(config.auth.master_key),  // 64 hex digits: checked by the config
      unsealed);
}

bool is_token_route(const http::Route& r) {
  return r.method == http::Method::post && r.path_template == "/api/v1/voting/token";
}

std::vector<asio::any_io_executor> io_executors(http::IoContexts& io) {
  std::vector<asio::any_io_executor> out;
  for (std::size_t i = 0; i < io.size(); ++i) out.push_back(io.at(i).get_executor());
  return out;
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

store::PgSettings pg_settings(const DatabaseConfig& c) {
  return {.statement_timeout = c.statement_timeout,
          .call_timeout = c.call_timeout,
          .prepared_statements = c.prepared_statements};
}

store::ReplicaOptions replica_options(const DatabaseConfig& c) {
  return {c.replica_urls, c.pool, pg_settings(c), c.max_replica_lag};
}

store::GroupCommitOptions group_commit_options(const GroupCommitConfig& c) {
  return {c.batch_size, c.batch_wait, c.queue_depth, c.writers, c.queue_timeout};
}

}  // namespace

struct App::Impl {
  explicit Impl(Config c)
      : config(std::move(c)),
        // First: a web root that cannot be served stops the start before anything runs.
        site(load_site(config)),
        registry(std::make_shared<prometheus::Registry>()),
        http_metrics(*registry),
        postgres(config.database.url, config.database.pool, pg_settings(config.database),
                 *registry),
        reads(postgres, replica_options(config.database), *registry),
        io(io_threads(config)),
        redis(io_executors(io), config.redis.endpoint, config.redis.connection, registry.get()),
        board(board_store(config, reads)),
        elections(reads, board.get(), voter_pepper(config), config.import.max_voters),
        voting(reads),
        crypto("crypto", crypto_threads(config), config.crypto.queue_depth, *registry),
        ballot_writer(voting, group_commit_options(config.ballots), *registry),
        issuance_writer(voting, group_commit_options(config.tokens.commit), *registry),
        voting_elections(elections, voting, config.cache.stale_if_error),
        unsealed(service::unsealed_keys_counter(*registry)),
        sealer(token_key_sealer(config, crypto)),
        token_keys(unsealing_keys(config, voting, unsealed)),
        public_cache(redis,
                     {config.cache.election_ttl, config.cache.local_ttl,
                      config.cache.local_max_entries, config.cache.stale_if_error},
                     *registry),
        published(elections, voting, voting_elections, public_cache, config.cache.results_ttl),
        tokens(voting_elections, token_keys.get(), issuance_writer, crypto,
               token_keys ? config.auth.voter_pepper : std::string(), *registry),
        ballot_box(voting_elections, ballot_writer, crypto, *registry),
        scheduler(elections, published, config.scheduler.interval),
        dependency_refresh(dependencies),
        admin_auth(config.auth.admin_key_hashes),
        signals(io.main(), SIGINT, SIGTERM),
        rate_limiter(
            config.ratelimit, config.redis.endpoint, io_executors(io),
            [this] { return ballot_writer.queued(); }, *registry),
        limit_adaptation(rate_limiter, config.ratelimit.adaptive_interval),
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
    // What needs the log key or the sealing key exists only where the route set uses it.
    if (board) {
      logs = std::make_unique<service::ElectionLogs>(*board, config.board.freshness, *registry);
      bulletin_board = std::make_unique<service::Board>(voting_elections, *logs, *board, voting,
                                                        config.board.sequence_interval);
      sequencer =
          std::make_unique<service::Sequencer>(*board, config.board.sequence_interval, *registry);
    }
    if (sealer) admin = std::make_unique<service::ElectionAdmin>(elections, *sealer, published);
    for (std::size_t i = 0; i < reads.replicas(); ++i) {
      replica_monitors.push_back(std::make_unique<service::ReplicaMonitor>(
          [this, i] { return reads.measure(i); }, config.database.replica_check_interval));
    }
    api::add_ops_routes(router,
                        {draining, dependencies, {registry.get(), &http_metrics, &process}});
    if (admin) {
      api::add_admin_election_routes(router, {*admin,
                                              admin_auth,
                                              {.max_voters = config.import.max_voters},
                                              config.import.body_limit_bytes,
                                              config.web.public_url});
    }
    api::add_public_election_routes(router, {published, config.cache.public_max_age});
    api::add_voting_routes(router, {tokens, ballot_box, published, config.cache.public_max_age,
                                    config.ratelimit.enabled ? &rate_limiter : nullptr});
    if (bulletin_board) {
      api::add_board_routes(router, {*bulletin_board, config.cache.public_max_age});
    }
    if (config.routes == RouteSet::api) {
      // The API's Deployment: everything but tokens, which it cannot sign without the
      // master key (docs/security.md, Keys).
      router.retain([](const http::Route& r) { return !is_token_route(r); });
    } else if (config.routes == RouteSet::token) {
      // The token-signing Deployment: RSA signatures, and what probes and Prometheus need.
      router.retain([](const http::Route& r) {
        return api::is_ops_route(r.path_template) || is_token_route(r);
      });
    } else if (config.routes == RouteSet::web) {
      // The web front end's Deployment: pages, and what probes and Prometheus need.
      router.retain([](const http::Route& r) { return api::is_ops_route(r.path_template); });
    }
    if (site) api::add_web_routes(router, site, {config.web.api_base_url});
  }

  // Worker and pool threads may still post completions to the io_contexts: join them
  // first. Queued ballots are written before the database pool closes.
  ~Impl() { stop_workers(); }

  void stop_workers() {
    ballot_writer.stop();
    issuance_writer.stop();
    crypto.shutdown();
    reads.shutdown();
    postgres.shutdown();
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
    // The background services' passes end within their calls' deadlines.
    auto running = [this] {
      for (auto* service : background()) {
        if (service->running()) return true;
      }
      return false;
    };
    while (running() && Clock::now() < deadline) {
      timer.expires_after(std::chrono::milliseconds(20));
      co_await timer.async_wait(asio::use_awaitable);
    }
    log::info("shutdown_drained", {{"connections_left", server.open_connections()}});
    io.stop();
  }

  // What runs on its own while the process serves: token and web pods leave the
  // scheduler and the sequencer, which sign tree heads, to the API's.
  std::vector<service::BackgroundService*> background() {
    std::vector<service::BackgroundService*> out{&dependency_refresh};
    if (sequencer) {
      out.push_back(&scheduler);
      out.push_back(sequencer.get());
    }
    if (config.ratelimit.enabled) out.push_back(&limit_adaptation);
    for (auto& monitor : replica_monitors) out.push_back(monitor.get());
    return out;
  }

  void begin_shutdown() {
    if (draining.exchange(true)) return;
    for (auto* service : background()) service->stop();
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
  store::PgReads reads;  // the public reads: a fresh replica, or postgres
  http::IoContexts io;
  cache::RedisLanes redis;  // after io: one pipelined connection per I/O thread
  // What /readyz checks: nothing in a process without stores (http.routes = web).
  service::DependencyCheck dependencies = keys_of(config.routes).database
                                              ? service::DependencyCheck(postgres, redis, *registry)
                                              : service::DependencyCheck();
  std::unique_ptr<store::BoardStore> board;  // null without the log key
  store::ElectionStore elections;
  store::VotingStore voting;
  util::WorkerPool crypto;
  store::BallotWriter ballot_writer;
  store::IssuanceWriter issuance_writer;
  service::VotingElections voting_elections;
  prometheus::Counter& unsealed;
  std::unique_ptr<service::TokenKeySealer> sealer;  // null where elections are not created
  std::unique_ptr<service::TokenKeys> token_keys;   // null without the master key
  cache::PublicCache public_cache;
  service::PublicElections published;
  service::TokenIssuer tokens;
  service::BallotBox ballot_box;
  // Null without the log key, as the board is.
  std::unique_ptr<service::ElectionLogs> logs;
  std::unique_ptr<service::Board> bulletin_board;
  std::unique_ptr<service::Sequencer> sequencer;
  std::unique_ptr<service::ElectionAdmin> admin;  // null where elections are not created
  service::Scheduler scheduler;
  service::DependencyRefresh dependency_refresh;
  std::vector<std::unique_ptr<service::ReplicaMonitor>> replica_monitors;  // one per replica
  api::AdminAuth admin_auth;
  http::Router router;
  asio::signal_set signals;
  cache::RateLimiter rate_limiter;  // after io: its Redis connections live on the I/O threads
  service::LimitAdaptation limit_adaptation;
  http::Server server;  // after rate_limiter, which its admission check uses
  std::atomic<bool> draining{false};
};

App::App(Config config) : impl_(std::make_unique<Impl>(std::move(config))) {}

App::~App() = default;

http::Router& App::router() {
  return impl_->router;
}

void apply_migrations(const Config& config) {
  auto result = store::migrate(config.database.url, config.database.runtime_role);
  log::info("migrations_applied",
            {{"applied", result.applied.size()}, {"schema_version", result.version}});
}

void App::start() {
  auto& cfg = impl_->config;
  if (cfg.database.migrate_on_start) apply_migrations(cfg);
  // A process without a database (http.routes = web) never opens a connection.
  if (keys_of(cfg.routes).database) {
    impl_->postgres.warm_up();
    impl_->reads.warm_up();
  }
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
  for (auto* service : impl_->background()) service->start(impl_->io.main().get_executor());
  impl_->io.run();
  impl_->stop_workers();
  log::info("stopped");
  return 0;
}

void App::request_shutdown() {
  asio::post(impl_->io.main(), [impl = impl_.get()] { impl->begin_shutdown(); });
}

}  // namespace observernet::app
