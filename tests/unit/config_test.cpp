#include "observernet/app/config.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "observernet/crypto/hash.hpp"
#include "observernet/service/token_keys.hpp"

namespace observernet::app {
namespace {

const std::string kUrl = "postgresql://u:p@127.0.0.1:5432/db";

const std::string kPepper(32, 'p');
const std::string kMasterKey(64, 'a');
const std::string kLogKey(64, 'b');

RawConfig base() {
  return {{"database.url", kUrl},
          {"auth.voter_pepper", kPepper},
          {"auth.master_key", kMasterKey},
          {"auth.log_key", kLogKey}};
}

std::string error_field(const RawConfig& raw) {
  try {
    build_config(raw);
  } catch (const ConfigError& e) {
    return e.field();
  }
  return "(no error)";
}

TEST(ConfigTest, DefaultsAreTheDocumentedOnes) {
  Config c = build_config(base());
  EXPECT_EQ(c.http.host, "127.0.0.1");
  EXPECT_EQ(c.http.port, 8080);
  EXPECT_EQ(c.http.header_limit_bytes, 8192u);
  EXPECT_EQ(c.http.body_limit_bytes, 1048576u);
  EXPECT_EQ(c.http.header_timeout, std::chrono::seconds(10));
  EXPECT_EQ(c.log.buffer_bytes, 16u << 20);
  EXPECT_EQ(c.routes, RouteSet::all);
  EXPECT_EQ(c.database.url, kUrl);
  EXPECT_EQ(c.redis.endpoint.host, "127.0.0.1");
  EXPECT_EQ(c.redis.endpoint.port, 6379);
  EXPECT_EQ(c.log.format, "human");
  EXPECT_EQ(c.tokens.key_bits, 2048u);
  EXPECT_EQ(c.ballots.batch_size, 500u);
  EXPECT_EQ(c.ballots.queue_depth, 20000u);
  EXPECT_EQ(c.ballots.writers, 1u);
  EXPECT_EQ(c.tokens.commit.batch_size, 200u);
  EXPECT_EQ(c.tokens.commit.batch_wait, std::chrono::milliseconds(1));
  EXPECT_EQ(c.tokens.commit.queue_depth, 10000u);
  EXPECT_EQ(c.tokens.commit.writers, 1u);
  EXPECT_EQ(c.board.sequence_interval, std::chrono::milliseconds(100));
  EXPECT_EQ(c.board.min_batch, 100u);
  EXPECT_EQ(c.board.max_delay, std::chrono::seconds(300));
  EXPECT_EQ(c.board.min_anonymity, 10u);
  EXPECT_EQ(c.cache.results_ttl, std::chrono::seconds(900));
  EXPECT_TRUE(c.database.prepared_statements);
}

// Off for a transaction pooler older than PgBouncer 1.21 (docs/operations.md, PgBouncer).
TEST(ConfigTest, PreparedStatementsCanBeTurnedOff) {
  auto raw = base();
  raw["database.prepared_statements"] = "false";
  EXPECT_FALSE(build_config(raw).database.prepared_statements);
  raw["database.prepared_statements"] = "sometimes";
  EXPECT_EQ(error_field(raw), "database.prepared_statements");
}

TEST(ConfigTest, ReadReplicas) {
  auto raw = base();
  EXPECT_TRUE(build_config(raw).database.replica_urls.empty());
  EXPECT_EQ(build_config(raw).database.max_replica_lag, std::chrono::milliseconds(100));
  raw["database.replica_urls"] = " postgresql://a@r1:5432/db , postgres://a@r2/db ";
  raw["database.max_replica_lag_ms"] = "250";
  const auto config = build_config(raw);
  EXPECT_EQ(config.database.replica_urls,
            (std::vector<std::string>{"postgresql://a@r1:5432/db", "postgres://a@r2/db"}));
  EXPECT_EQ(config.database.max_replica_lag, std::chrono::milliseconds(250));
  raw["database.replica_urls"] = "postgresql://a@r1/db,mysql://r2/db";
  EXPECT_EQ(error_field(raw), "database.replica_urls");
  raw["database.replica_urls"] = "postgresql://a@r1/db";
  // A measurement older than the lag allowed could never send a read to a replica.
  raw["database.replica_check_interval_ms"] = "250";
  EXPECT_EQ(error_field(raw), "database.replica_check_interval_ms");
  RawConfig web_pods = {{"http.routes", "web"}, {"database.replica_urls", "postgresql://r/db"}};
  EXPECT_EQ(error_field(web_pods), "database.replica_urls");
}

TEST(ConfigTest, ParsesTheFileFormat) {
  RawConfig raw = parse_config_text(R"(
# comment
[http]
host = "0.0.0.0"   # trailing comment
port = 9090
idle_timeout_ms = 1500

[log]
format = "json"
access = false

[database]
url = "postgresql://a@b/c?x=#notacomment"

[auth]
voter_pepper = "0123456789abcdef0123456789abcdef"
master_key = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
log_key = "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100"
)",
                                    "test.toml");
  Config c = build_config(raw);
  EXPECT_EQ(c.http.host, "0.0.0.0");
  EXPECT_EQ(c.http.port, 9090);
  EXPECT_EQ(c.http.idle_timeout, std::chrono::milliseconds(1500));
  EXPECT_EQ(c.log.format, "json");
  EXPECT_FALSE(c.http.access_log);
  EXPECT_EQ(c.database.url, "postgresql://a@b/c?x=#notacomment");
}

TEST(ConfigTest, FileErrorsNameTheKeyOrLine) {
  try {
    parse_config_text("[http]\nprot = 1\n", "f.toml");
    FAIL() << "unknown key accepted";
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.field(), "http.prot");
  }
  try {
    parse_config_text("[http]\nport\n", "f.toml");
    FAIL() << "line without '=' accepted";
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.field(), "f.toml:2");
  }
  EXPECT_THROW(parse_config_text("[http\n", "f.toml"), ConfigError);
  EXPECT_THROW(parse_config_text("[http]\nhost = \"open\n", "f.toml"), ConfigError);
}

TEST(ConfigTest, EnvironmentWinsOverTheFile) {
  RawConfig raw = parse_config_text("[http]\nport = 9090\nthreads = 3\n", "f.toml");
  raw["database.url"] = kUrl;
  raw["auth.voter_pepper"] = kPepper;
  raw["auth.master_key"] = kMasterKey;  // what a token process holds
  overlay_environment(raw,
                      {"OBSERVERNET_HTTP_PORT=7070", "OBSERVERNET_LOG_LEVEL=debug",
                       "OBSERVERNET_HTTP_ROUTES=token", "OBSERVERNET_UNRELATED=1", "PATH=/bin"});
  Config c = build_config(raw);
  EXPECT_EQ(c.http.port, 7070);
  EXPECT_EQ(c.http.threads, 3u);
  EXPECT_EQ(c.log.level, "debug");
  EXPECT_EQ(c.routes, RouteSet::token);
}

TEST(ConfigTest, MisspeltVariablesInOurSectionsAreErrors) {
  RawConfig raw = base();
  try {
    overlay_environment(raw, {"OBSERVERNET_DATABASE_POOLMAX=4"});
    FAIL() << "a misspelt variable was ignored";
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.field(), "OBSERVERNET_DATABASE_POOLMAX");
  }
  EXPECT_THROW(overlay_environment(raw, {"OBSERVERNET_BALLOTS_BATCHSIZE=4"}), ConfigError);
  // The scripts' own variables are not the server's business.
  EXPECT_NO_THROW(overlay_environment(
      raw, {"OBSERVERNET_DEV_PG_PORT=1", "OBSERVERNET_CONFIG=x", "OBSERVERNET_TEST_REDIS_URL=y"}));
}

TEST(ConfigTest, QuotedStringsKeepEscapesAndHashes) {
  RawConfig raw = parse_config_text(
      "[database]\nurl = \"postgresql://a@b/c?p=\\\\\"  # a trailing backslash\n", "f.toml");
  EXPECT_EQ(raw.at("database.url"), "postgresql://a@b/c?p=\\");
}

TEST(ConfigTest, SecretsComeFromFiles) {
  std::string path = ::testing::TempDir() + "observernet_db_url";
  { std::ofstream(path) << kUrl << "\n"; }
  RawConfig raw = {
      {"auth.voter_pepper", kPepper}, {"auth.master_key", kMasterKey}, {"auth.log_key", kLogKey}};
  overlay_environment(raw, {"OBSERVERNET_DATABASE_URL_FILE=" + path});
  EXPECT_EQ(build_config(raw).database.url, kUrl);

  RawConfig from_file = parse_config_text("[database]\nurl_file = \"" + path + "\"\n", "f.toml");
  from_file["auth.voter_pepper"] = kPepper;
  from_file["auth.master_key"] = kMasterKey;
  from_file["auth.log_key"] = kLogKey;
  EXPECT_EQ(build_config(from_file).database.url, kUrl);

  RawConfig missing;
  EXPECT_THROW(overlay_environment(missing, {"OBSERVERNET_DATABASE_URL_FILE=/nonexistent/x"}),
               ConfigError);
  std::remove(path.c_str());
}

TEST(ConfigTest, RedisConnectionsAreConfiguredPerConnectionNotAsAPool) {
  RawConfig raw = base();
  raw["redis.connect_timeout_ms"] = "300";
  raw["redis.command_timeout_ms"] = "20";
  raw["redis.retry_backoff_ms"] = "0";
  raw["redis.max_in_flight"] = "64";
  const Config c = build_config(raw);
  EXPECT_EQ(c.redis.connection.connect_timeout, std::chrono::milliseconds(300));
  EXPECT_EQ(c.redis.connection.command_timeout, std::chrono::milliseconds(20));
  EXPECT_EQ(c.redis.connection.retry_backoff, std::chrono::milliseconds(0));
  EXPECT_EQ(c.redis.connection.max_in_flight, 64u);
  EXPECT_EQ(Config{}.redis.connection.command_timeout, std::chrono::milliseconds(50));
  // One pipelined connection per I/O thread: the pool's keys are gone, and named.
  for (const char* gone : {"redis.pool_min", "redis.pool_max", "redis.acquire_timeout_ms"}) {
    raw = base();
    raw[gone] = "1";
    EXPECT_EQ(error_field(raw), gone);
  }
  raw = base();
  raw["redis.max_in_flight"] = "0";
  EXPECT_EQ(error_field(raw), "redis.max_in_flight");
}

TEST(ConfigTest, ValidationNamesTheField) {
  auto with = [](std::string key, std::string value) {
    RawConfig raw = base();
    raw[key] = value;
    return raw;
  };
  EXPECT_EQ(error_field(with("http.port", "70000")), "http.port");
  EXPECT_EQ(error_field(with("http.routes", "ballots")), "http.routes");
  EXPECT_EQ(error_field(with("http.port", "-1")), "http.port");
  EXPECT_EQ(error_field(with("http.port", "80x")), "http.port");
  EXPECT_EQ(error_field(with("http.header_limit_bytes", "10")), "http.header_limit_bytes");
  EXPECT_EQ(error_field(with("http.max_connections", "0")), "http.max_connections");
  EXPECT_EQ(error_field(with("log.format", "xml")), "log.format");
  EXPECT_EQ(error_field(with("log.access", "maybe")), "log.access");
  EXPECT_EQ(error_field(with("log.buffer_bytes", "100")), "log.buffer_bytes");
  EXPECT_EQ(error_field(with("database.url", "mysql://x")), "database.url");
  EXPECT_EQ(error_field(with("redis.url", "http://x")), "redis.url");
  EXPECT_EQ(error_field(with("auth.admin_key_hashes", "abc")), "auth.admin_key_hashes");
  EXPECT_EQ(error_field(with("database.pool_min", "20")), "database.pool_min");
  EXPECT_EQ(error_field(with("no.such_key", "1")), "no.such_key");
  EXPECT_EQ(error_field({}), "database.url");
  EXPECT_EQ(error_field({{"database.url", kUrl}}), "auth.voter_pepper");
  EXPECT_EQ(error_field({{"database.url", kUrl}, {"auth.voter_pepper", kPepper}}),
            "auth.master_key");
  EXPECT_EQ(error_field(with("auth.master_key", "00ff")), "auth.master_key");
  EXPECT_EQ(error_field(with("auth.master_key", std::string(64, 'g'))), "auth.master_key");
  EXPECT_EQ(error_field({{"database.url", kUrl},
                         {"auth.voter_pepper", kPepper},
                         {"auth.master_key", kMasterKey}}),
            "auth.log_key");
  EXPECT_EQ(error_field(with("auth.log_key", "00ff")), "auth.log_key");
  EXPECT_EQ(error_field(with("board.sequence_interval_ms", "0")), "board.sequence_interval_ms");
  EXPECT_EQ(error_field(with("board.min_batch", "0")), "board.min_batch");
  EXPECT_EQ(error_field(with("ratelimit.pseudonym_rotation_s", "119")),
            "ratelimit.pseudonym_rotation_s");
  EXPECT_EQ(error_field(with("board.min_anonymity", "0")), "board.min_anonymity");
  EXPECT_EQ(error_field(with("board.max_delay_s", "-1")), "board.max_delay_s");
  EXPECT_EQ(error_field(with("tokens.key_bits", "1024")), "tokens.key_bits");
  EXPECT_EQ(error_field(with("ballots.batch_size", "0")), "ballots.batch_size");
  EXPECT_EQ(error_field(with("ballots.queue_depth", "0")), "ballots.queue_depth");
  EXPECT_EQ(error_field(with("tokens.batch_size", "0")), "tokens.batch_size");
  EXPECT_EQ(error_field(with("tokens.writers", "65")), "tokens.writers");
  EXPECT_EQ(error_field(with("auth.voter_pepper", "short")), "auth.voter_pepper");
  EXPECT_EQ(error_field(with("cache.election_ttl_s", "0")), "cache.election_ttl_s");
  EXPECT_EQ(error_field(with("scheduler.interval_ms", "10")), "scheduler.interval_ms");
  // A call's budget must leave PostgreSQL's own statement timeout the first word.
  EXPECT_EQ(error_field(with("database.call_timeout_ms", "5000")), "database.call_timeout_ms");
}

TEST(ConfigTest, RateLimitsAreSpec8sAndConfigurable) {
  Config defaults = build_config(base());
  EXPECT_TRUE(defaults.ratelimit.enabled);
  // A voter's own: 5 tokens and 10 ballots a minute; per address, a ceiling.
  EXPECT_EQ(defaults.ratelimit.token_per_voter.limit, 5);
  EXPECT_EQ(defaults.ratelimit.submit_per_token.limit, 10);
  EXPECT_EQ(defaults.ratelimit.per_token_max_keys, 100'000u);
  EXPECT_EQ(defaults.ratelimit.submit.limit, 600);
  EXPECT_EQ(defaults.ratelimit.token.limit, 600);
  EXPECT_EQ(defaults.ratelimit.elections.limit, 100);
  EXPECT_EQ(defaults.ratelimit.public_reads.limit, 1000);
  EXPECT_EQ(defaults.ratelimit.submit.window, std::chrono::seconds(60));
  EXPECT_EQ(defaults.ratelimit.redis_db, 3u);
  EXPECT_EQ(defaults.ratelimit.batch_linger, std::chrono::microseconds(200));
  EXPECT_EQ(defaults.ratelimit.lease_max, 64);
  EXPECT_TRUE(defaults.ratelimit.trusted_proxies.empty());

  RawConfig raw = base();
  raw["ratelimit.submit"] = "20";
  raw["ratelimit.submit_window_s"] = "30";
  raw["ratelimit.public"] = "0";
  raw["ratelimit.trusted_proxies"] = "10.0.0.0/8, fd00::/8";
  raw["ratelimit.forwarding_header"] = "forwarded";
  raw["ratelimit.exempt_admin"] = "false";
  raw["ratelimit.batch_linger_us"] = "0";
  raw["ratelimit.lease_max"] = "0";
  raw["ratelimit.token_per_voter"] = "3";
  raw["ratelimit.token_per_voter_window_s"] = "120";
  raw["ratelimit.submit_per_token"] = "4";
  raw["ratelimit.per_token_max_keys"] = "1000";
  Config c = build_config(raw);
  EXPECT_EQ(c.ratelimit.token_per_voter.limit, 3);
  EXPECT_EQ(c.ratelimit.token_per_voter.window, std::chrono::seconds(120));
  EXPECT_EQ(c.ratelimit.submit_per_token.limit, 4);
  EXPECT_EQ(c.ratelimit.per_token_max_keys, 1000u);
  EXPECT_EQ(c.ratelimit.submit.limit, 20);
  EXPECT_EQ(c.ratelimit.submit.window, std::chrono::seconds(30));
  EXPECT_EQ(c.ratelimit.public_reads.limit, 0);  // no limit for the group
  EXPECT_TRUE(c.ratelimit.trusted_proxies.contains(boost::asio::ip::make_address("10.1.2.3")));
  EXPECT_FALSE(c.ratelimit.trusted_proxies.contains(boost::asio::ip::make_address("11.0.0.1")));
  EXPECT_EQ(c.ratelimit.forwarding_header, cache::ForwardingHeader::forwarded);
  EXPECT_FALSE(c.ratelimit.exempt_admin);
  EXPECT_EQ(c.ratelimit.batch_linger, std::chrono::microseconds(0));
  EXPECT_EQ(c.ratelimit.lease_max, 0);  // every request waits for its call

  auto with = [](std::string key, std::string value) {
    RawConfig bad = base();
    bad[key] = value;
    return bad;
  };
  EXPECT_EQ(error_field(with("ratelimit.trusted_proxies", "10.0.0.1/8")),
            "ratelimit.trusted_proxies");
  EXPECT_EQ(error_field(with("ratelimit.forwarding_header", "x-real-ip")),
            "ratelimit.forwarding_header");
  EXPECT_EQ(error_field(with("ratelimit.submit", "1000001")), "ratelimit.submit");
  EXPECT_EQ(error_field(with("ratelimit.batch_linger_us", "100001")), "ratelimit.batch_linger_us");
  EXPECT_EQ(error_field(with("ratelimit.lease_max", "10001")), "ratelimit.lease_max");
  EXPECT_EQ(error_field(with("ratelimit.per_token_max_keys", "0")), "ratelimit.per_token_max_keys");
  EXPECT_EQ(error_field(with("ratelimit.global_window_s", "0")), "ratelimit.global_window_s");
  EXPECT_EQ(error_field(with("ratelimit.adaptive_factor_percent", "0")),
            "ratelimit.adaptive_factor_percent");
  EXPECT_EQ(error_field(with("ratelimit.redis_db", "16")), "ratelimit.redis_db");
}

TEST(ConfigTest, ParsesRedisUrls) {
  RawConfig raw = base();
  raw["redis.url"] = "redis://:s3cret@cache.internal:6380/3";
  Config c = build_config(raw);
  EXPECT_EQ(c.redis.endpoint.host, "cache.internal");
  EXPECT_EQ(c.redis.endpoint.port, 6380);
  EXPECT_EQ(c.redis.endpoint.password, "s3cret");
  EXPECT_EQ(c.redis.endpoint.db, 3u);

  raw["redis.url"] = "redis://app:p%40ss%3Aword@10.0.0.5/1";
  c = build_config(raw);
  EXPECT_EQ(c.redis.endpoint.username, "app");
  EXPECT_EQ(c.redis.endpoint.password, "p@ss:word");
  EXPECT_EQ(c.redis.endpoint.db, 1u);

  raw["redis.url"] = "redis://[::1]";
  c = build_config(raw);
  EXPECT_EQ(c.redis.endpoint.host, "::1");
  EXPECT_EQ(c.redis.endpoint.port, 6379);
  EXPECT_EQ(c.redis.endpoint.db, 0u);
}

TEST(ConfigTest, ParsesRedisClusterSeeds) {
  using cache::RedisNode;
  RawConfig raw = base();
  raw["redis.url"] = "redis+cluster://:s3cret@redis-0:7000,redis-1,[::1]:7002";
  Config c = build_config(raw);
  EXPECT_TRUE(c.redis.endpoint.cluster());
  EXPECT_EQ(c.redis.endpoint.cluster_nodes,
            (std::vector<RedisNode>{{"redis-0", 7000}, {"redis-1", 6379}, {"::1", 7002}}));
  EXPECT_EQ(c.redis.endpoint.password, "s3cret");
  EXPECT_EQ(c.redis.endpoint.db, 0u);
  // Seeds given apart, redis.url giving the password.
  raw["redis.url"] = "redis://:s3cret@redis-0:7000";
  raw["redis.cluster_nodes"] = "redis-0:7000, redis-1:7001";
  c = build_config(raw);
  EXPECT_EQ(c.redis.endpoint.cluster_nodes,
            (std::vector<RedisNode>{{"redis-0", 7000}, {"redis-1", 7001}}));
  EXPECT_EQ(c.redis.endpoint.password, "s3cret");
  // A cluster has database 0 only; a plain URL names one host.
  raw["redis.url"] = "redis://:s3cret@redis-0:7000/2";
  EXPECT_EQ(error_field(raw), "redis.url");
  raw.erase("redis.cluster_nodes");
  for (const char* bad : {"redis+cluster://a:1,b:2/3", "redis://a:1,b:2", "redis+cluster://",
                          "redis+cluster://a:1,b c:2", "redis+cluster://a:99999"}) {
    raw["redis.url"] = bad;
    EXPECT_EQ(error_field(raw), "redis.url") << bad;
  }
  raw["redis.url"] = "redis://x";
  raw["redis.cluster_nodes"] = "a:1,not a node";
  EXPECT_EQ(error_field(raw), "redis.cluster_nodes");
}

TEST(ConfigTest, AdminKeyHashesAreNormalised) {
  RawConfig raw = base();
  std::string a(64, 'A'), b(64, '0');
  raw["auth.admin_key_hashes"] = a + ", " + b;
  Config c = build_config(raw);
  ASSERT_EQ(c.auth.admin_key_hashes.size(), 2u);
  EXPECT_EQ(c.auth.admin_key_hashes[0], std::string(64, 'a'));
  EXPECT_EQ(c.auth.admin_key_hashes[1], b);
}

}  // namespace
}  // namespace observernet::app

namespace observernet::app {
namespace {

TEST(ConfigTest, WebAndCorsDefaults) {
  Config c = build_config(base());
  EXPECT_TRUE(c.web.enabled);
  EXPECT_EQ(c.web.root, "");
  EXPECT_EQ(c.web.api_base_url, "");
  EXPECT_EQ(c.web.public_url, "");
  EXPECT_EQ(c.web.max_bytes, 64u << 20);
  EXPECT_EQ(c.http.hsts_max_age, 0u);
  EXPECT_TRUE(c.http.cors_origins.empty());
  EXPECT_TRUE(c.http.cors_public_any_origin);
}

TEST(ConfigTest, CorsOriginsAreCheckedAndNormalised) {
  auto raw = base();
  raw["http.cors_origins"] =
      " https://Vote.Example.org , http://127.0.0.1:8080,https://a.example:443,http://[::1]:3000";
  raw["http.cors_public_any_origin"] = "false";
  raw["http.hsts_max_age"] = "31536000";
  Config c = build_config(raw);
  EXPECT_EQ(c.http.cors_origins,
            (std::vector<std::string>{"https://vote.example.org", "http://127.0.0.1:8080",
                                      "https://a.example", "http://[::1]:3000"}));
  EXPECT_FALSE(c.http.cors_public_any_origin);
  EXPECT_EQ(c.http.hsts_max_age, 31536000u);
  for (const char* bad : {"vote.example.org", "https://vote.example.org/", "ftp://a.example",
                          "https://a.example:99999", "https://user@a.example", "null",
                          "https://a.example?x", "https://"}) {
    auto wrong = base();
    wrong["http.cors_origins"] = bad;
    EXPECT_EQ(error_field(wrong), "http.cors_origins") << bad;
  }
}

TEST(ConfigTest, WebUrlsAreAbsoluteWithAtMostAPath) {
  auto raw = base();
  raw["web.api_base_url"] = "https://api.example.org/observernet/";
  raw["web.public_url"] = "https://vote.example.org";
  raw["web.root"] = "/srv/web";
  raw["web.enabled"] = "false";
  raw["web.max_bytes"] = "1048576";
  Config c = build_config(raw);
  EXPECT_EQ(c.web.api_base_url, "https://api.example.org/observernet");
  EXPECT_EQ(c.web.public_url, "https://vote.example.org");
  EXPECT_EQ(c.web.root, "/srv/web");
  EXPECT_FALSE(c.web.enabled);
  EXPECT_EQ(c.web.max_bytes, 1048576u);
  for (const char* key : {"web.api_base_url", "web.public_url"}) {
    for (const char* bad : {"api.example.org", "/api", "https://a.example/x?y=1",
                            "https://a.example/#f", "ws://a.example", "https://u:p@a.example"}) {
      auto wrong = base();
      wrong[key] = bad;
      EXPECT_EQ(error_field(wrong), key) << bad;
    }
  }
  auto small = base();
  small["web.max_bytes"] = "10";
  EXPECT_EQ(error_field(small), "web.max_bytes");
  RawConfig web_pods = {{"http.routes", "web"}};
  EXPECT_EQ(build_config(web_pods).routes, RouteSet::web);
}

// docs/security.md, Keys: a process holds the keys its route set uses, and is refused
// any other, so that a secret mounted into the wrong Deployment stops it at start.
TEST(ConfigTest, EachRouteSetHoldsTheKeysItUsesAndNoOther) {
  const std::string sealing =
      crypto::to_hex(service::sealing_public_key(*crypto::from_hex(kMasterKey)));
  const std::string admin_hash(64, 'c');
  auto error = [](const RawConfig& raw) -> std::string {
    try {
      build_config(raw);
    } catch (const ConfigError& e) {
      return e.what();
    }
    return "(no error)";
  };

  // The API's pods: the sealing key's public half instead of the master key.
  const RawConfig api = {{"database.url", kUrl},
                         {"http.routes", "api"},
                         {"auth.voter_pepper", kPepper},
                         {"auth.log_key", kLogKey},
                         {"auth.admin_key_hashes", admin_hash},
                         {"auth.sealing_public_key", sealing}};
  Config c = build_config(api);
  EXPECT_EQ(c.routes, RouteSet::api);
  EXPECT_EQ(c.auth.sealing_public_key, sealing);
  EXPECT_TRUE(c.auth.master_key.empty());
  auto with_master = api;
  with_master["auth.master_key"] = kMasterKey;
  EXPECT_EQ(error_field(with_master), "auth.master_key");
  EXPECT_NE(error(with_master).find("observernet sealing-key"), std::string::npos)
      << error(with_master);
  for (const char* key : {"auth.voter_pepper", "auth.log_key", "auth.sealing_public_key"}) {
    auto without = api;
    without.erase(key);
    EXPECT_EQ(error_field(without), key);
  }
  auto no_admins = api;
  no_admins.erase("auth.admin_key_hashes");
  EXPECT_TRUE(build_config(no_admins).auth.admin_key_hashes.empty());  // every admin refused
  auto upper = api;
  std::string upper_key = sealing;
  std::ranges::transform(upper_key, upper_key.begin(), ::toupper);
  upper["auth.sealing_public_key"] = upper_key;
  EXPECT_EQ(build_config(upper).auth.sealing_public_key, sealing);
  auto not_hex = api;
  not_hex["auth.sealing_public_key"] = std::string(63, 'a');
  EXPECT_EQ(error_field(not_hex), "auth.sealing_public_key");

  // The signers: the master key and the pepper, no log key, no admin key.
  const RawConfig token = {{"database.url", kUrl},
                           {"http.routes", "token"},
                           {"auth.voter_pepper", kPepper},
                           {"auth.master_key", kMasterKey}};
  EXPECT_EQ(build_config(token).auth.sealing_public_key, sealing);  // derived
  for (const char* key : {"auth.voter_pepper", "auth.master_key"}) {
    auto without = token;
    without.erase(key);
    EXPECT_EQ(error_field(without), key);
  }
  for (const auto& [key, value] :
       {std::pair{"auth.log_key", kLogKey}, std::pair{"auth.admin_key_hashes", admin_hash}}) {
    auto extra = token;
    extra[key] = value;
    EXPECT_EQ(error_field(extra), key);
  }
  // A sealing key beside the master key (one ConfigMap for every pod) must be its own.
  auto matching = token;
  matching["auth.sealing_public_key"] = sealing;
  EXPECT_EQ(build_config(matching).auth.sealing_public_key, sealing);
  auto mismatched = token;
  mismatched["auth.sealing_public_key"] = std::string(64, 'd');
  EXPECT_EQ(error_field(mismatched), "auth.sealing_public_key");

  // The web pods: no secret, no database, no Redis; the public sealing key may be there.
  const RawConfig web = {{"http.routes", "web"}, {"auth.sealing_public_key", sealing}};
  const Config web_config = build_config(web);
  EXPECT_EQ(web_config.routes, RouteSet::web);
  EXPECT_TRUE(web_config.database.url.empty());
  EXPECT_TRUE(web_config.redis.endpoint.host.empty());  // nothing connects
  for (const auto& [key, value] :
       {std::pair{"auth.voter_pepper", kPepper}, std::pair{"auth.master_key", kMasterKey},
        std::pair{"auth.log_key", kLogKey}, std::pair{"auth.admin_key_hashes", admin_hash},
        std::pair{"database.url", kUrl},
        std::pair{"redis.url", std::string("redis://:secret@cache:6379")},
        std::pair{"database.migrate_on_start", std::string("true")}}) {
    auto extra = web;
    extra[key] = value;
    EXPECT_EQ(error_field(extra), key);
  }
  // Every other route set needs both stores.
  for (const char* routes : {"all", "api", "token"}) {
    auto without = routes == std::string("all")   ? base()
                   : routes == std::string("api") ? api
                                                  : token;
    without.erase("database.url");
    EXPECT_EQ(error_field(without), "database.url") << routes;
  }

  // One process with every route (scripts/run): every key, the sealing key derived.
  EXPECT_EQ(build_config(base()).auth.sealing_public_key, sealing);
  for (const char* key : {"auth.voter_pepper", "auth.master_key", "auth.log_key"}) {
    auto without = base();
    without.erase(key);
    EXPECT_EQ(error_field(without), key);
  }
  auto wrong = base();
  wrong["auth.sealing_public_key"] = std::string(64, 'd');
  EXPECT_EQ(error_field(wrong), "auth.sealing_public_key");

  // `observernet migrate` needs the database alone, and builds nothing with any key.
  EXPECT_NO_THROW(build_config({{"database.url", kUrl}}, Use::migrate));
  EXPECT_NO_THROW(build_config(base(), Use::migrate));
  EXPECT_EQ(error_field({{"database.url", kUrl}}), "auth.voter_pepper");
}

TEST(ConfigTest, WebKeysComeFromTheEnvironment) {
  RawConfig raw = base();
  overlay_environment(raw, {"OBSERVERNET_WEB_ROOT=/usr/share/observernet/web",
                            "OBSERVERNET_HTTP_CORS_ORIGINS=https://vote.example.org"});
  Config c = build_config(raw);
  EXPECT_EQ(c.web.root, "/usr/share/observernet/web");
  EXPECT_EQ(c.http.cors_origins, std::vector<std::string>{"https://vote.example.org"});
  RawConfig typo = base();
  EXPECT_THROW(overlay_environment(typo, {"OBSERVERNET_WEB_ROTO=/x"}), ConfigError);
}

}  // namespace
}  // namespace observernet::app

namespace observernet::app {
namespace {

std::string parse_error_field(const std::string& text) {
  try {
    parse_config_text(text, "f.toml");
  } catch (const ConfigError& e) {
    return e.field();
  }
  return "(no error)";
}

TEST(ConfigTest, ListsAreTomlArrays) {
  RawConfig raw = parse_config_text(R"(
[http]
cors_origins = ["https://Vote.Example.org", "http://127.0.0.1:8080"]
[auth]
admin_key_hashes = [
  "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",  # the old key
  "0000000000000000000000000000000000000000000000000000000000000000",
]
[ratelimit]
trusted_proxies = ["10.0.0.0/8", "fd00::/8"]
)",
                                    "f.toml");
  for (const auto& [key, value] : base()) raw[key] = value;
  Config c = build_config(raw);
  EXPECT_EQ(c.http.cors_origins,
            (std::vector<std::string>{"https://vote.example.org", "http://127.0.0.1:8080"}));
  EXPECT_EQ(c.auth.admin_key_hashes,
            (std::vector<std::string>{std::string(64, 'a'), std::string(64, '0')}));
  EXPECT_TRUE(c.ratelimit.trusted_proxies.contains(boost::asio::ip::make_address("fd00::1")));

  // An empty array is an empty list; the comma-separated string of the environment
  // variable is still understood in the file.
  EXPECT_EQ(parse_config_text("[http]\ncors_origins = []\n", "f.toml").at("http.cors_origins"), "");
  EXPECT_EQ(parse_config_text("[http]\ncors_origins = \"https://a.example, https://b.example\"\n",
                              "f.toml")
                .at("http.cors_origins"),
            "https://a.example, https://b.example");

  // What an array may not hold, or where it may not stand, names the key.
  EXPECT_EQ(parse_error_field("[http]\ncors_origins = [1]\n"), "http.cors_origins");
  EXPECT_EQ(parse_error_field("[http]\ncors_origins = [\"https://a.example,https://b.example\"]\n"),
            "http.cors_origins");
  EXPECT_EQ(parse_error_field("[http]\nport = [8080]\n"), "http.port");
}

TEST(ConfigTest, TomlValuesReadAsTheEnvironmentWould) {
  RawConfig raw = parse_config_text(R"(
board.freshness_ms = 100    # a dotted key: the same as [board] freshness_ms = 100
[log]
access = false
level = 'warn'              # literal string
[http]
host = """0.0.0.0"""
threads = "3"               # a number in quotes, as from the environment
)",
                                    "f.toml");
  EXPECT_EQ(raw.at("board.freshness_ms"), "100");
  EXPECT_EQ(raw.at("log.access"), "false");
  EXPECT_EQ(raw.at("log.level"), "warn");
  EXPECT_EQ(raw.at("http.host"), "0.0.0.0");
  EXPECT_EQ(raw.at("http.threads"), "3");
  for (const auto& [key, value] : base()) raw[key] = value;
  EXPECT_EQ(build_config(raw).http.threads, 3u);

  EXPECT_EQ(parse_error_field("[http]\nport = 80.5\n"), "http.port");  // no float setting
  EXPECT_EQ(parse_error_field("[http]\nport = 1979-05-27\n"), "http.port");
  EXPECT_EQ(parse_error_field("http = { port = 8080 }\n"), "http");  // sections only
  EXPECT_EQ(parse_error_field("[http.tls]\ncert = \"x\"\n"), "http.tls");
  EXPECT_EQ(parse_error_field("port = 8080\n"), "port");  // outside any section
  EXPECT_EQ(parse_error_field("[database]\nurl_file = 3\n"), "database.url_file");
}

TEST(ConfigTest, ASyntaxErrorNamesTheLine) {
  try {
    parse_config_text("[http]\nport = 8080\nhost = \"a\" \"b\"\n", "f.toml");
    FAIL() << "a syntax error was accepted";
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.field(), "f.toml:3");
    EXPECT_TRUE(std::string(e.what()).starts_with("f.toml:3: ")) << e.what();
    EXPECT_NE(std::string(e.what()).find("column"), std::string::npos) << e.what();
  }
  // TOML refuses a key given twice (the old parser kept the last).
  EXPECT_EQ(parse_error_field("[http]\nport = 1\nport = 2\n"), "f.toml:3");
  EXPECT_EQ(parse_error_field("[http]\n[http]\n"), "f.toml:2");
}

TEST(ConfigTest, TheExampleFileParsesToTheDefaults) {
  const auto path = std::filesystem::path(__FILE__).parent_path().parent_path().parent_path() /
                    "config" / "observernet.example.toml";
  std::ifstream in(path);
  ASSERT_TRUE(in) << path;
  std::stringstream text;
  text << in.rdbuf();
  RawConfig raw = parse_config_text(text.str(), path.string());
  EXPECT_GT(raw.size(), 80u);  // every section's keys
  EXPECT_EQ(raw.at("http.cors_origins"), "");
  for (const auto& [key, value] : base()) raw[key] = value;  // the required secrets
  Config example = build_config(raw);
  Config defaults = build_config(base());
  EXPECT_EQ(example.http.port, defaults.http.port);
  EXPECT_EQ(example.http.host, defaults.http.host);
  EXPECT_EQ(example.http.cors_origins, defaults.http.cors_origins);
  EXPECT_EQ(example.log.buffer_bytes, defaults.log.buffer_bytes);
  EXPECT_EQ(example.auth.admin_key_hashes, defaults.auth.admin_key_hashes);
  EXPECT_EQ(example.ratelimit.lease_max, defaults.ratelimit.lease_max);
  EXPECT_EQ(example.web.max_bytes, defaults.web.max_bytes);
  EXPECT_EQ(example.redis.endpoint.port, defaults.redis.endpoint.port);
  EXPECT_EQ(example.tokens.commit.batch_size, defaults.tokens.commit.batch_size);
  EXPECT_EQ(example.tokens.commit.batch_wait, defaults.tokens.commit.batch_wait);
  EXPECT_EQ(example.tokens.commit.queue_depth, defaults.tokens.commit.queue_depth);
}

}  // namespace
}  // namespace observernet::app
