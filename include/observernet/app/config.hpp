#pragma once
// Server configuration: defaults, then the config file, then OBSERVERNET_* environment
// variables (env wins), then command-line flags. Every key is documented in
// config/observernet.example.toml.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "observernet/cache/rate_limit_options.hpp"
#include "observernet/cache/redis_endpoint.hpp"
#include "observernet/http/server_options.hpp"
#include "observernet/util/pool_options.hpp"

namespace observernet::app {

using Millis = std::chrono::milliseconds;

using HttpConfig = http::ServerOptions;
using PoolConfig = util::PoolOptions;

struct ShutdownConfig {
  Millis drain_delay{5'000};
  Millis timeout{25'000};
};

struct LogConfig {
  std::string format = "human";            // human | json
  std::string level = "info";              // trace | debug | info | warn | error | off
  std::uint64_t buffer_bytes = 16u << 20;  // waiting for stdout; beyond it lines are dropped
};

struct DatabaseConfig {
  std::string url;  // secret
  PoolConfig pool{2, 16, 1024, Millis{2'000}, Millis{3'000}, Millis{1'000}};
  Millis statement_timeout{5'000};
  // A call's budget: a statement (or a commit) with no answer within it has its connection
  // cut (store::CallWatchdog), the request answered 503. PostgreSQL frozen or cut off
  // answers nothing, and no timeout of its own or of TCP ends the wait.
  Millis call_timeout{6'000};
  // Statements prepared once per connection, by name (faster: parsed and planned once).
  // Off: each is sent with its parameters, unnamed, as a transaction pooler older than
  // PgBouncer 1.21 needs (docs/operations.md, PgBouncer).
  bool prepared_statements = true;
  // Streaming replicas for the public reads (secrets, like url), each used while its
  // replay lags the primary by less than max_replica_lag, measured every
  // replica_check_interval (store/pg_reads.hpp; docs/operations.md, Read replicas).
  std::vector<std::string> replica_urls;
  Millis max_replica_lag{100};
  Millis replica_check_interval{20};
  bool migrate_on_start = false;
  // The role the server runs as, when database.url is the schema owner's (the migration
  // Job): migrations grant it the server's privileges (store/migrations.hpp). Empty: one
  // role owns and runs, and can rewrite history (docs/security.md, Append-only history).
  std::string runtime_role;
};

struct RedisConfig {
  cache::RedisEndpoint endpoint;  // from redis.url
  // redis.cluster_nodes: a Redis Cluster's seed nodes (host:port), redis.url giving the
  // user and password; the same as a redis+cluster:// URL's hosts.
  std::vector<cache::RedisNode> cluster_nodes;
  // One pipelined connection per I/O thread (cache/redis_lanes.hpp): a command Redis does
  // not answer within command_timeout answers "no Redis", and the caller carries on.
  cache::RedisPipelineOptions connection{.connect_timeout = Millis{200},
                                         .command_timeout = Millis{50},
                                         .retry_backoff = Millis{1'000},
                                         .max_in_flight = 1'024};
};

// Each process holds only the secrets its route set uses, and is refused the others
// (docs/security.md, Keys; build_config says which).
struct AuthConfig {
  std::vector<std::string> admin_key_hashes;  // lowercase hex SHA-256, secret
  std::string voter_pepper;                   // HMAC key of voter hashes, secret
  std::string master_key;  // 64 hex digits (the key token keys are unsealed with), secret
  std::string log_key;     // 64 hex digits (Ed25519 seed signing tree heads), secret
  // 64 lowercase hex digits: the X25519 key new token keys are sealed to, public. Derived
  // from master_key where that is set (service/token_keys.hpp).
  std::string sealing_public_key;
};

// The bulletin board (docs/formats.md, Merkle log).
// Waiting ballots are published as one shuffled set, only once the set is large enough
// to hide each ballot among the others (docs/security.md, Publication by anonymity set):
// when min_batch wait, or when the oldest has waited max_delay and min_anonymity wait,
// or when the election closes.
struct BoardConfig {
  Millis sequence_interval{100};  // how often the sequencer looks at what waits
  Millis freshness{500};          // how old a process's newest tree head may be when read
  std::uint64_t min_batch = 100;
  std::chrono::seconds max_delay{300};
  std::uint64_t min_anonymity = 10;
};

// A group commit (store/group_commit.hpp): requests recorded together, one transaction
// and one commit for each batch.
struct GroupCommitConfig {
  std::size_t batch_size;       // requests per transaction at most
  Millis batch_wait;            // how long a batch waits to fill once one request is queued
  std::size_t queue_depth;      // queued requests beyond this: 503 + Retry-After
  std::size_t writers;          // writer threads, each with its own connection
  Millis queue_timeout{3'000};  // still queued this long: 503 + Retry-After, not written
};

struct TokensConfig {
  unsigned key_bits = 2048;  // each new election's RSA key: 2048, 3072 or 4096
  // Issuances recorded together once signed (tokens.batch_size, …).
  GroupCommitConfig commit{
      .batch_size = 200, .batch_wait = Millis{1}, .queue_depth = 10'000, .writers = 1};
};

// Group commit of accepted ballots (201 means committed: docs/api/README.md, Voting).
struct BallotsConfig : GroupCommitConfig {
  BallotsConfig() : GroupCommitConfig{500, Millis{2}, 20'000, 1} {}
};

// The worker threads for RSA signing and verification, off the I/O threads.
struct CryptoConfig {
  unsigned threads = 0;              // 0: half the cores, at least one
  std::size_t queue_depth = 10'000;  // queued operations beyond this: 503 + Retry-After
};

struct CacheConfig {
  std::chrono::seconds election_ttl{60};     // public reads in Redis
  Millis local_ttl{500};                     // in each process, in front of Redis
  std::size_t local_max_entries = 10'000;    // per I/O thread
  std::chrono::seconds public_max_age{1};    // Cache-Control max-age of public reads
  std::chrono::seconds results_ttl{900};     // final results in Redis (they never change)
  std::chrono::seconds stale_if_error{600};  // served past local_ttl while PostgreSQL is down
};

struct SchedulerConfig {
  Millis interval{500};  // how often opensAt / closesAt are checked
};

struct ImportConfig {
  std::size_t body_limit_bytes = 32u << 20;  // voter import request bodies
  std::size_t max_voters = 1'000'000;        // per request and per election
};

// The rate limits (docs/api/README.md, Conventions), in Redis database ratelimit.redis_db.
using RateLimitConfig = cache::RateLimiterOptions;

// The booth and the portal (web/README.md): pages read once from `root` at start.
struct WebConfig {
  bool enabled = true;
  // Empty: <folder of the executable>/web if it holds the pages, else the source tree's
  // web/dist, else no pages (one warning). A root given here must hold the pages.
  std::string root;
  // Where the pages find the API (absolute http(s) URL, optional path); empty: their own
  // origin. Its origin joins the pages' connect-src.
  std::string api_base_url;
  // The URL voters reach the site at (absolute http(s) URL, optional path); empty: none.
  // The voter import then gives each voter their link; its origin may call the API.
  std::string public_url;
  std::uint64_t max_bytes = 64u << 20;  // every file read from root, all encodings
};

// Which routes a process serves (http.routes): `all`, for a single process; `api` for
// the API's Deployment (every route but POST /api/v1/voting/token, the scheduler and the
// sequencer: it creates elections but cannot sign tokens); `token` for the token-signing
// Deployment (POST /api/v1/voting/token and the operations routes); `web` for the web
// front end's Deployment (the pages, assets and /web-config.json, and the operations
// routes). Neither of the last two runs background jobs.
enum class RouteSet { all, api, token, web };

std::string_view to_string(RouteSet routes);

// The keys a route set's work uses (docs/security.md, Keys). build_config requires
// exactly these secrets of a process that serves and refuses the others, so that a
// secret mounted into the wrong Deployment stops the pod at start instead of sitting in
// its memory; App builds nothing with the others.
struct KeyUse {
  // The stores, whose URLs hold credentials: every route set but web's keeps elections,
  // tokens and ballots in PostgreSQL and its limits and cache in Redis.
  bool database = false;
  bool redis = false;
  bool voter_pepper = false;  // hashes voter ids: the voter import, the token route
  bool master_key = false;    // unseals token keys: the token route
  bool log_key = false;       // signs tree heads: opening, closing, the sequencer
  bool admin_keys = false;    // checks admin keys (optional): the admin routes
  bool sealing_key = false;   // seals new elections' token keys (public): creating elections
};
KeyUse keys_of(RouteSet routes);

// What a configuration is for: `serve` must hold the secrets of its route set and no
// other; `migrate` needs the database alone and ignores the auth keys.
enum class Use { serve, migrate };

struct Config {
  HttpConfig http;
  RouteSet routes = RouteSet::all;
  ShutdownConfig shutdown;
  LogConfig log;
  DatabaseConfig database;
  RedisConfig redis;
  AuthConfig auth;
  CacheConfig cache;
  SchedulerConfig scheduler;
  ImportConfig import;
  TokensConfig tokens;
  BallotsConfig ballots;
  CryptoConfig crypto;
  BoardConfig board;
  RateLimitConfig ratelimit;
  WebConfig web;
};

// Names the offending key; the CLI prints it on one line and exits 2.
class ConfigError : public std::runtime_error {
 public:
  ConfigError(std::string field, const std::string& message)
      : std::runtime_error(field + ": " + message), field_(std::move(field)) {}
  const std::string& field() const noexcept { return field_; }

 private:
  std::string field_;
};

// Flat "section.key" -> raw value, the layers already merged.
using RawConfig = std::map<std::string, std::string>;

// Parses the config file, TOML (toml++): [section] headers, `key = value` with strings,
// whole numbers, booleans and, for list-valued keys, arrays of strings (joined with
// commas, as the environment gives them). Inline tables, sub-tables, floats and dates are
// refused, naming the key; a syntax error names `origin`:line as the field.
RawConfig parse_config_text(const std::string& text, const std::string& origin);

// Overlays OBSERVERNET_SECTION_KEY variables from `environ`-style entries. A key
// may also be given as SECTION_KEY_FILE (env) or `key_file` (file): the value is read
// from that file, for secrets mounted by Kubernetes.
void overlay_environment(RawConfig& raw, const std::vector<std::string>& environment);

// Converts and validates; throws ConfigError naming the first bad key. Unknown keys
// are errors too, so a typo never silently falls back to a default.
Config build_config(const RawConfig& raw, Use use = Use::serve);

// The whole chain for a process: file (if any), then the process environment.
Config load_config(const std::string& file_path, const RawConfig& flag_overrides,
                   Use use = Use::serve);

}  // namespace observernet::app
