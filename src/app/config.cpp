#include "observernet/app/config.hpp"

#include "observernet/cache/sliding_window.hpp"
#include "observernet/crypto/hash.hpp"
#include "observernet/http/cors.hpp"
#include "observernet/http/message.hpp"
#include "observernet/service/token_keys.hpp"

#include <toml++/toml.h>
#include <algorithm>
#include <charconv>
#include <fstream>
#include <functional>
#include <regex>
#include <sstream>

extern char** environ;

namespace observernet::app {
namespace {

std::string trim(std::string_view s) {
  auto first = s.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return {};
  auto last = s.find_last_not_of(" \t\r\n");
  return std::string(s.substr(first, last - first + 1));
}

std::uint64_t parse_uint(const std::string& key, const std::string& value, std::uint64_t min,
                         std::uint64_t max) {
  std::uint64_t out = 0;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), out);
  if (ec != std::errc{} || end != value.data() + value.size() || value.empty()) {
    throw ConfigError(key, "must be a whole number, got \"" + value + "\"");
  }
  if (out < min || out > max) {
    throw ConfigError(key, "must be between " + std::to_string(min) + " and " +
                               std::to_string(max) + ", got " + value);
  }
  return out;
}

// The entries of a list value ("a, b,c"), trimmed, empty ones left out.
std::vector<std::string> list_items(const std::string& v) {
  std::vector<std::string> items;
  std::stringstream in(v);
  for (std::string item; std::getline(in, item, ',');) {
    item = trim(item);
    if (!item.empty()) items.push_back(std::move(item));
  }
  return items;
}

bool is_postgres_url(std::string_view v) {
  return v.starts_with("postgresql://") || v.starts_with("postgres://");
}

bool parse_bool(const std::string& key, const std::string& value) {
  if (value == "true" || value == "1") return true;
  if (value == "false" || value == "0") return false;
  throw ConfigError(key, "must be true or false, got \"" + value + "\"");
}

std::string one_of(const std::string& key, const std::string& value,
                   std::initializer_list<std::string_view> choices) {
  for (auto c : choices) {
    if (value == c) return value;
  }
  std::string list;
  for (auto c : choices) list += (list.empty() ? "" : ", ") + std::string(c);
  throw ConfigError(key, "must be one of " + list + ", got \"" + value + "\"");
}

constexpr std::uint64_t kMaxMillis = 24ull * 3600 * 1000;

// "host[:port]", a host name, IPv4 address or [IPv6] address; the port 6379 if none.
std::optional<cache::RedisNode> parse_redis_node(const std::string& key, const std::string& text) {
  static const std::regex re(R"(^([A-Za-z0-9.\-]+|\[[0-9A-Fa-f:]+\])(?::(\d{1,5}))?$)");
  std::smatch m;
  if (!std::regex_match(text, m, re)) return std::nullopt;
  cache::RedisNode node{m[1].str(), 6379};
  if (node.host.front() == '[') node.host = node.host.substr(1, node.host.size() - 2);
  if (m[2].matched) node.port = static_cast<std::uint16_t>(parse_uint(key, m[2].str(), 1, 65535));
  return node;
}

// redis://[[user]:password@]host[:port][/db], or redis+cluster://[[user]:password@]
// host[:port],host[:port]...[/0]: a Redis Cluster's seed nodes.
void parse_redis_url(const std::string& key, const std::string& url, cache::RedisEndpoint& out) {
  static const std::regex re(
      R"(^redis(\+cluster)?://(?:([^:@/]*):([^@/]*)@)?([^@/]+?)(?:/(\d{1,2}))?/?$)");
  std::smatch m;
  if (!std::regex_match(url, m, re)) {
    throw ConfigError(key,
                      "must look like redis://[[user]:password@]host[:port][/db] or "
                      "redis+cluster://[[user]:password@]host:port,host:port");
  }
  const bool cluster = m[1].matched;
  std::vector<cache::RedisNode> nodes;
  for (const std::string& item : list_items(m[4].str())) {
    auto node = parse_redis_node(key, item);
    if (!node) throw ConfigError(key, "has a host that is not host[:port]: \"" + item + "\"");
    nodes.push_back(std::move(*node));
  }
  if (nodes.empty() || (!cluster && nodes.size() > 1)) {
    throw ConfigError(key, cluster ? "names no cluster node"
                                   : "names several hosts: a cluster's are redis+cluster://");
  }
  auto username = http::percent_decode(m[2].str());
  auto password = http::percent_decode(m[3].str());
  if (!username || !password) throw ConfigError(key, "has a malformed %-escape");
  out.username = *username;
  out.password = *password;
  out.host = nodes.front().host;
  out.port = nodes.front().port;
  out.db = m[5].matched ? static_cast<unsigned>(parse_uint(key, m[5].str(), 0, 15)) : 0;
  if (cluster && out.db != 0) throw ConfigError(key, "a Redis Cluster has only database 0");
  out.cluster_nodes = cluster ? std::move(nodes) : std::vector<cache::RedisNode>{};
}

// An absolute http(s) URL with an optional path, without its trailing '/'.
std::string parse_base_url(const std::string& key, const std::string& value) {
  if (value.empty()) return value;
  if (!http::origin_of_url(value)) {
    throw ConfigError(key,
                      "must be an absolute http:// or https:// URL with at most a path (no "
                      "query, fragment or user), got \"" +
                          value + "\"");
  }
  std::string out = value;
  while (out.ends_with('/')) out.pop_back();
  return out;
}

using Setter = std::function<void(Config&, const std::string& key, const std::string& value)>;

// A list-valued key takes a TOML array of strings in the file, and the same entries
// separated by commas from the environment or a flag.
constexpr bool kList = true;

struct Key {
  std::string name;
  Setter set;
  bool list = false;
};

template <class T>
Setter uint_field(T Config::*section, auto field, std::uint64_t min, std::uint64_t max) {
  return [=](Config& c, const std::string& key, const std::string& v) {
    using Field = std::remove_reference_t<decltype((c.*section).*field)>;
    (c.*section).*field = static_cast<Field>(parse_uint(key, v, min, max));
  };
}

template <class T>
Setter millis_field(T Config::*section, Millis T::*field, std::uint64_t min) {
  return [=](Config& c, const std::string& key, const std::string& v) {
    (c.*section).*field = Millis(parse_uint(key, v, min, kMaxMillis));
  };
}

void add_pool_keys(std::vector<Key>& keys, const std::string& prefix,
                   PoolConfig& (*pool)(Config&)) {
  auto count = [pool](std::size_t PoolConfig::*f, std::uint64_t min, std::uint64_t max) {
    return [=](Config& c, const std::string& key, const std::string& v) {
      pool(c).*f = parse_uint(key, v, min, max);
    };
  };
  auto millis = [pool](Millis PoolConfig::*f, std::uint64_t min) {
    return [=](Config& c, const std::string& key, const std::string& v) {
      pool(c).*f = Millis(parse_uint(key, v, min, kMaxMillis));
    };
  };
  keys.push_back({prefix + "pool_min", count(&PoolConfig::min, 0, 1000)});
  keys.push_back({prefix + "pool_max", count(&PoolConfig::max, 1, 1000)});
  keys.push_back({prefix + "pool_max_waiters", count(&PoolConfig::max_waiters, 0, 1'000'000)});
  keys.push_back({prefix + "acquire_timeout_ms", millis(&PoolConfig::acquire_timeout, 1)});
  keys.push_back({prefix + "connect_timeout_ms", millis(&PoolConfig::connect_timeout, 1)});
  keys.push_back({prefix + "retry_backoff_ms", millis(&PoolConfig::retry_backoff, 0)});
}

void add_group_commit_keys(std::vector<Key>& keys, const std::string& prefix,
                           GroupCommitConfig& (*commit)(Config&)) {
  auto count = [commit](std::size_t GroupCommitConfig::*f, std::uint64_t min, std::uint64_t max) {
    return [=](Config& c, const std::string& key, const std::string& v) {
      commit(c).*f = parse_uint(key, v, min, max);
    };
  };
  keys.push_back({prefix + "batch_size", count(&GroupCommitConfig::batch_size, 1, 10'000)});
  keys.push_back(
      {prefix + "batch_wait_ms", [commit](Config& c, const std::string& key, const std::string& v) {
         commit(c).batch_wait = Millis(parse_uint(key, v, 0, kMaxMillis));
       }});
  keys.push_back({prefix + "queue_depth", count(&GroupCommitConfig::queue_depth, 1, 10'000'000)});
  keys.push_back({prefix + "writers", count(&GroupCommitConfig::writers, 1, 64)});
  keys.push_back({prefix + "queue_timeout_ms",
                  [commit](Config& c, const std::string& key, const std::string& v) {
                    commit(c).queue_timeout = Millis(parse_uint(key, v, 1, kMaxMillis));
                  }});
}

const std::vector<Key>& keys() {
  static const std::vector<Key> table = [] {
    std::vector<Key> k;
    k.push_back({"http.host", [](Config& c, const std::string& key, const std::string& v) {
                   if (v.empty()) throw ConfigError(key, "must not be empty");
                   c.http.host = v;
                 }});
    k.push_back({"http.routes", [](Config& c, const std::string& key, const std::string& v) {
                   const std::string set = one_of(key, v, {"all", "api", "token", "web"});
                   c.routes = set == "api"     ? RouteSet::api
                              : set == "token" ? RouteSet::token
                              : set == "web"   ? RouteSet::web
                                               : RouteSet::all;
                 }});
    k.push_back({"http.port", uint_field(&Config::http, &HttpConfig::port, 0, 65535)});
    k.push_back({"http.threads", uint_field(&Config::http, &HttpConfig::threads, 0, 1024)});
    k.push_back({"http.max_connections",
                 uint_field(&Config::http, &HttpConfig::max_connections, 1, 1'000'000)});
    k.push_back({"http.header_limit_bytes",
                 uint_field(&Config::http, &HttpConfig::header_limit_bytes, 1024, 1 << 20)});
    k.push_back({"http.body_limit_bytes",
                 uint_field(&Config::http, &HttpConfig::body_limit_bytes, 0, 1ull << 30)});
    k.push_back(
        {"http.header_timeout_ms", millis_field(&Config::http, &HttpConfig::header_timeout, 1)});
    k.push_back(
        {"http.body_timeout_ms", millis_field(&Config::http, &HttpConfig::body_timeout, 1)});
    k.push_back(
        {"http.idle_timeout_ms", millis_field(&Config::http, &HttpConfig::idle_timeout, 1)});
    k.push_back(
        {"http.write_timeout_ms", millis_field(&Config::http, &HttpConfig::write_timeout, 1)});
    k.push_back(
        {"http.hsts_max_age", uint_field(&Config::http, &HttpConfig::hsts_max_age, 0, 1ull << 32)});
    k.push_back({"http.cors_origins",
                 [](Config& c, const std::string& key, const std::string& v) {
                   c.http.cors_origins.clear();
                   for (const std::string& item : list_items(v)) {
                     auto origin = http::parse_origin(item);
                     if (!origin) {
                       throw ConfigError(key,
                                         "each entry must be an origin, scheme://host[:port] with "
                                         "http or https and nothing after, got \"" +
                                             item + "\"");
                     }
                     c.http.cors_origins.push_back(*origin);
                   }
                 },
                 kList});
    k.push_back({"http.cors_public_any_origin",
                 [](Config& c, const std::string& key, const std::string& v) {
                   c.http.cors_public_any_origin = parse_bool(key, v);
                 }});
    k.push_back({"web.enabled", [](Config& c, const std::string& key, const std::string& v) {
                   c.web.enabled = parse_bool(key, v);
                 }});
    k.push_back(
        {"web.root", [](Config& c, const std::string&, const std::string& v) { c.web.root = v; }});
    k.push_back({"web.api_base_url", [](Config& c, const std::string& key, const std::string& v) {
                   c.web.api_base_url = parse_base_url(key, v);
                 }});
    k.push_back({"web.public_url", [](Config& c, const std::string& key, const std::string& v) {
                   c.web.public_url = parse_base_url(key, v);
                 }});
    k.push_back(
        {"web.max_bytes", uint_field(&Config::web, &WebConfig::max_bytes, 1024, 1ull << 34)});
    k.push_back({"shutdown.drain_delay_ms",
                 millis_field(&Config::shutdown, &ShutdownConfig::drain_delay, 0)});
    k.push_back(
        {"shutdown.timeout_ms", millis_field(&Config::shutdown, &ShutdownConfig::timeout, 1)});
    k.push_back({"log.format", [](Config& c, const std::string& key, const std::string& v) {
                   c.log.format = one_of(key, v, {"human", "json"});
                 }});
    k.push_back({"log.level", [](Config& c, const std::string& key, const std::string& v) {
                   c.log.level = one_of(key, v, {"trace", "debug", "info", "warn", "error", "off"});
                 }});
    k.push_back(
        {"log.buffer_bytes", uint_field(&Config::log, &LogConfig::buffer_bytes, 4096, 1ull << 30)});
    k.push_back({"log.access", [](Config& c, const std::string& key, const std::string& v) {
                   c.http.access_log = parse_bool(key, v);
                 }});
    k.push_back({"database.url", [](Config& c, const std::string& key, const std::string& v) {
                   if (!v.empty() && !is_postgres_url(v)) {
                     throw ConfigError(key, "must be a postgresql:// URL");
                   }
                   c.database.url = v;
                 }});
    add_pool_keys(k, "database.", [](Config& c) -> PoolConfig& { return c.database.pool; });
    k.push_back({"database.statement_timeout_ms",
                 millis_field(&Config::database, &DatabaseConfig::statement_timeout, 1)});
    k.push_back({"database.call_timeout_ms",
                 millis_field(&Config::database, &DatabaseConfig::call_timeout, 100)});
    k.push_back(
        {"database.runtime_role", [](Config& c, const std::string& key, const std::string& v) {
           // A role name, quoted where it is used; no quoting games in config.
           if (!v.empty() && (v.size() > 63 || v.find_first_not_of("abcdefghijklmnopqrstuvwxyz"
                                                                   "0123456789_") != v.npos)) {
             throw ConfigError(key, "must be a role name of lowercase letters, digits and _");
           }
           c.database.runtime_role = v;
         }});
    k.push_back(
        {"database.migrate_on_start", [](Config& c, const std::string& key, const std::string& v) {
           c.database.migrate_on_start = parse_bool(key, v);
         }});
    k.push_back({"database.replica_urls",
                 [](Config& c, const std::string& key, const std::string& v) {
                   c.database.replica_urls = list_items(v);
                   for (const std::string& item : c.database.replica_urls) {
                     if (!is_postgres_url(item)) {
                       throw ConfigError(key, "each entry must be a postgresql:// URL");
                     }
                   }
                 },
                 kList});
    k.push_back({"database.max_replica_lag_ms",
                 millis_field(&Config::database, &DatabaseConfig::max_replica_lag, 1)});
    k.push_back({"database.replica_check_interval_ms",
                 millis_field(&Config::database, &DatabaseConfig::replica_check_interval, 1)});
    k.push_back({"database.prepared_statements",
                 [](Config& c, const std::string& key, const std::string& v) {
                   c.database.prepared_statements = parse_bool(key, v);
                 }});
    k.push_back({"redis.url", [](Config& c, const std::string& key, const std::string& v) {
                   parse_redis_url(key, v, c.redis.endpoint);
                 }});
    k.push_back({"redis.cluster_nodes",
                 [](Config& c, const std::string& key, const std::string& v) {
                   std::vector<cache::RedisNode> nodes;
                   for (const std::string& item : list_items(v)) {
                     auto node = parse_redis_node(key, item);
                     if (!node) throw ConfigError(key, "each entry must be host[:port]");
                     nodes.push_back(std::move(*node));
                   }
                   c.redis.cluster_nodes = std::move(nodes);
                 },
                 kList});
    auto redis_millis = [](Millis cache::RedisPipelineOptions::*f, std::uint64_t min) {
      return [=](Config& c, const std::string& key, const std::string& v) {
        c.redis.connection.*f = Millis(parse_uint(key, v, min, kMaxMillis));
      };
    };
    k.push_back({"redis.connect_timeout_ms",
                 redis_millis(&cache::RedisPipelineOptions::connect_timeout, 1)});
    k.push_back({"redis.command_timeout_ms",
                 redis_millis(&cache::RedisPipelineOptions::command_timeout, 1)});
    k.push_back(
        {"redis.retry_backoff_ms", redis_millis(&cache::RedisPipelineOptions::retry_backoff, 0)});
    k.push_back(
        {"redis.max_in_flight", [](Config& c, const std::string& key, const std::string& v) {
           c.redis.connection.max_in_flight = parse_uint(key, v, 1, 1'000'000);
         }});
    k.push_back({"auth.admin_key_hashes",
                 [](Config& c, const std::string& key, const std::string& v) {
                   static const std::regex hex64("^[0-9a-f]{64}$");
                   c.auth.admin_key_hashes.clear();
                   for (std::string item : list_items(v)) {
                     std::ranges::transform(item, item.begin(), [](unsigned char ch) {
                       return static_cast<char>(std::tolower(ch));
                     });
                     if (!std::regex_match(item, hex64)) {
                       throw ConfigError(key, "each entry must be a hex SHA-256 (64 hex digits)");
                     }
                     c.auth.admin_key_hashes.push_back(item);
                   }
                 },
                 kList});
    k.push_back({"auth.voter_pepper", [](Config& c, const std::string& key, const std::string& v) {
                   if (!v.empty() && v.size() < 32) {
                     throw ConfigError(key, "must be at least 32 characters of secret");
                   }
                   c.auth.voter_pepper = v;
                 }});
    // A 256-bit secret key as 64 hex digits.
    auto key_field = [](std::string AuthConfig::*member) {
      return [member](Config& c, const std::string& key, const std::string& v) {
        static const std::regex hex64("^[0-9a-fA-F]{64}$");
        if (!v.empty() && !std::regex_match(v, hex64)) {
          throw ConfigError(key, "must be 64 hex digits (a 256-bit key)");
        }
        c.auth.*member = v;
      };
    };
    k.push_back({"auth.master_key", key_field(&AuthConfig::master_key)});
    k.push_back({"auth.log_key", key_field(&AuthConfig::log_key)});
    k.push_back(
        {"auth.sealing_public_key", [](Config& c, const std::string& key, const std::string& v) {
           static const std::regex hex64("^[0-9a-fA-F]{64}$");
           if (!v.empty() && !std::regex_match(v, hex64)) {
             throw ConfigError(key, "must be 64 hex digits (an X25519 public key)");
           }
           c.auth.sealing_public_key = v;
           std::ranges::transform(v, c.auth.sealing_public_key.begin(), [](unsigned char ch) {
             return static_cast<char>(std::tolower(ch));
           });
         }});
    k.push_back({"board.sequence_interval_ms",
                 millis_field(&Config::board, &BoardConfig::sequence_interval, 10)});
    k.push_back({"board.freshness_ms", millis_field(&Config::board, &BoardConfig::freshness, 0)});
    k.push_back(
        {"board.min_batch", uint_field(&Config::board, &BoardConfig::min_batch, 1, 1'000'000)});
    k.push_back({"board.max_delay_s", [](Config& c, const std::string& key, const std::string& v) {
                   c.board.max_delay = std::chrono::seconds(parse_uint(key, v, 0, 86'400));
                 }});
    k.push_back({"board.min_anonymity",
                 uint_field(&Config::board, &BoardConfig::min_anonymity, 1, 1'000'000)});
    k.push_back(
        {"cache.election_ttl_s", [](Config& c, const std::string& key, const std::string& v) {
           c.cache.election_ttl = std::chrono::seconds(parse_uint(key, v, 1, 86'400));
         }});
    k.push_back({"cache.local_ttl_ms", millis_field(&Config::cache, &CacheConfig::local_ttl, 0)});
    k.push_back(
        {"cache.stale_if_error_s", [](Config& c, const std::string& key, const std::string& v) {
           c.cache.stale_if_error = std::chrono::seconds(parse_uint(key, v, 0, 86'400));
         }});
    k.push_back({"cache.local_max_entries",
                 uint_field(&Config::cache, &CacheConfig::local_max_entries, 1, 10'000'000)});
    k.push_back(
        {"cache.public_max_age_s", [](Config& c, const std::string& key, const std::string& v) {
           c.cache.public_max_age = std::chrono::seconds(parse_uint(key, v, 0, 86'400));
         }});
    k.push_back(
        {"cache.results_ttl_s", [](Config& c, const std::string& key, const std::string& v) {
           c.cache.results_ttl = std::chrono::seconds(parse_uint(key, v, 1, 86'400 * 30));
         }});
    k.push_back({"scheduler.interval_ms",
                 millis_field(&Config::scheduler, &SchedulerConfig::interval, 50)});
    k.push_back({"import.body_limit_bytes",
                 uint_field(&Config::import, &ImportConfig::body_limit_bytes, 1024, 1ull << 30)});
    k.push_back({"import.max_voters",
                 uint_field(&Config::import, &ImportConfig::max_voters, 1, 100'000'000)});
    k.push_back({"tokens.key_bits", [](Config& c, const std::string& key, const std::string& v) {
                   c.tokens.key_bits =
                       static_cast<unsigned>(std::stoul(one_of(key, v, {"2048", "3072", "4096"})));
                 }});
    add_group_commit_keys(k, "tokens.",
                          [](Config& c) -> GroupCommitConfig& { return c.tokens.commit; });
    add_group_commit_keys(k, "ballots.", [](Config& c) -> GroupCommitConfig& { return c.ballots; });
    k.push_back({"crypto.threads", uint_field(&Config::crypto, &CryptoConfig::threads, 0, 1024)});
    k.push_back({"crypto.queue_depth",
                 uint_field(&Config::crypto, &CryptoConfig::queue_depth, 1, 10'000'000)});
    // A group's limit: requests per window (0: none) and the window in whole seconds.
    auto rate_rule = [&k](const std::string& name, cache::RateRule RateLimitConfig::*rule) {
      k.push_back(
          {"ratelimit." + name, [rule](Config& c, const std::string& key, const std::string& v) {
             (c.ratelimit.*rule).limit =
                 static_cast<std::int64_t>(parse_uint(key, v, 0, cache::kMaxRateLimit));
           }});
      k.push_back(
          {"ratelimit." + name + "_window_s",
           [rule](Config& c, const std::string& key, const std::string& v) {
             (c.ratelimit.*rule).window = std::chrono::seconds(parse_uint(
                 key, v, 1,
                 std::chrono::duration_cast<std::chrono::seconds>(cache::kMaxRateWindow).count()));
           }});
    };
    k.push_back({"ratelimit.enabled", [](Config& c, const std::string& key, const std::string& v) {
                   c.ratelimit.enabled = parse_bool(key, v);
                 }});
    rate_rule("submit", &RateLimitConfig::submit);
    rate_rule("token", &RateLimitConfig::token);
    rate_rule("elections", &RateLimitConfig::elections);
    rate_rule("public", &RateLimitConfig::public_reads);
    rate_rule("global", &RateLimitConfig::global);
    rate_rule("token_per_voter", &RateLimitConfig::token_per_voter);
    rate_rule("submit_per_token", &RateLimitConfig::submit_per_token);
    k.push_back(
        {"ratelimit.per_token_max_keys",
         uint_field(&Config::ratelimit, &RateLimitConfig::per_token_max_keys, 1, 100'000'000)});
    k.push_back({"ratelimit.trusted_proxies",
                 [](Config& c, const std::string& key, const std::string& v) {
                   try {
                     c.ratelimit.trusted_proxies = cache::CidrList::parse(v);
                   } catch (const std::invalid_argument& e) {
                     throw ConfigError(key, e.what());
                   }
                 },
                 kList});
    k.push_back({"ratelimit.forwarding_header",
                 [](Config& c, const std::string& key, const std::string& v) {
                   c.ratelimit.forwarding_header =
                       one_of(key, v, {"x-forwarded-for", "forwarded"}) == "forwarded"
                           ? cache::ForwardingHeader::forwarded
                           : cache::ForwardingHeader::x_forwarded_for;
                 }});
    k.push_back(
        {"ratelimit.exempt_admin", [](Config& c, const std::string& key, const std::string& v) {
           c.ratelimit.exempt_admin = parse_bool(key, v);
         }});
    k.push_back({"ratelimit.adaptive_cpu_percent",
                 uint_field(&Config::ratelimit, &RateLimitConfig::adaptive_cpu_percent, 1, 100)});
    k.push_back(
        {"ratelimit.adaptive_queue_depth",
         uint_field(&Config::ratelimit, &RateLimitConfig::adaptive_queue_depth, 1, 10'000'000)});
    k.push_back(
        {"ratelimit.adaptive_factor_percent",
         uint_field(&Config::ratelimit, &RateLimitConfig::adaptive_factor_percent, 1, 100)});
    k.push_back({"ratelimit.adaptive_interval_ms",
                 millis_field(&Config::ratelimit, &RateLimitConfig::adaptive_interval, 100)});
    k.push_back(
        {"ratelimit.redis_db", uint_field(&Config::ratelimit, &RateLimitConfig::redis_db, 0, 15)});
    k.push_back({"ratelimit.redis_timeout_ms",
                 millis_field(&Config::ratelimit, &RateLimitConfig::redis_timeout, 1)});
    k.push_back({"ratelimit.batch_linger_us",
                 uint_field(&Config::ratelimit, &RateLimitConfig::batch_linger, 0, 100'000)});
    k.push_back({"ratelimit.pseudonym_rotation_s",
                 [](Config& c, const std::string& key, const std::string& v) {
                   c.ratelimit.pseudonym_rotation =
                       std::chrono::seconds(parse_uint(key, v, 1, 30 * 86'400));
                 }});
    k.push_back({"ratelimit.lease_max",
                 uint_field(&Config::ratelimit, &RateLimitConfig::lease_max, 0, 10'000)});
    k.push_back(
        {"ratelimit.fallback_max_keys",
         uint_field(&Config::ratelimit, &RateLimitConfig::fallback_max_keys, 2, 100'000'000)});
    return k;
  }();
  return table;
}

const Key* find_key(std::string_view name) {
  for (const auto& k : keys()) {
    if (k.name == name) return &k;
  }
  return nullptr;
}

std::string env_name(std::string_view key) {
  std::string out = "OBSERVERNET_";
  for (char c : key) out.push_back(c == '.' ? '_' : static_cast<char>(std::toupper(c)));
  return out;
}

std::string read_secret_file(const std::string& key, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError(key, "cannot read file " + path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return trim(buffer.str());
}

std::string where(const std::string& origin, const toml::node& node) {
  return origin + ":" + std::to_string(node.source().begin.line);
}

// A file value as the environment would give it (the layers after the file are all
// text): strings as they are, whole numbers in decimal, booleans as true/false, and a
// list-valued key's array as its entries joined by commas.
std::string value_text(const Key& key, const toml::node& node, const std::string& origin) {
  if (const auto* array = node.as_array()) {
    if (!key.list) {
      throw ConfigError(key.name, "takes one value, not an array (" + where(origin, node) + ")");
    }
    std::string joined;
    for (const auto& entry : *array) {
      const auto* text = entry.as_string();
      if (!text) {
        throw ConfigError(key.name, "each entry must be a string (" + where(origin, entry) + ")");
      }
      if (text->get().find(',') != std::string::npos) {
        throw ConfigError(key.name, "an entry must not contain a comma, got \"" + text->get() +
                                        "\" (" + where(origin, entry) + ")");
      }
      joined += (joined.empty() ? "" : ",") + text->get();
    }
    return joined;
  }
  if (const auto* text = node.as_string()) return text->get();
  if (const auto* number = node.as_integer()) return std::to_string(number->get());
  if (const auto* flag = node.as_boolean()) return flag->get() ? "true" : "false";
  if (node.is_table()) {
    throw ConfigError(key.name, "takes a value, not a table (" + where(origin, node) + ")");
  }
  // Floats, dates and times: no setting takes one.
  throw ConfigError(key.name,
                    "takes a string, a whole number or true/false (" + where(origin, node) + ")");
}

// [section] key = value, or section.key = value: each key is "section.key" in `raw`.
void read_section(const toml::table& section, const std::string& name, const std::string& origin,
                  RawConfig& raw) {
  for (const auto& [toml_key, node] : section) {
    const std::string key = name + "." + std::string(toml_key.str());
    if (key.ends_with("_file") && find_key(key.substr(0, key.size() - 5))) {
      const auto* path = node.as_string();
      if (!path) throw ConfigError(key, "must be a file name (a string)");
      raw[key.substr(0, key.size() - 5)] = read_secret_file(key, path->get());
      continue;
    }
    const Key* k = find_key(key);
    if (!k) throw ConfigError(key, "unknown key (" + where(origin, node) + ")");
    raw[key] = value_text(*k, node, origin);
  }
}

// Requires the keys the route set uses and refuses the others (KeyUse), and derives
// the sealing key where the master key is.
void check_keys(Config& config) {
  const KeyUse use = keys_of(config.routes);
  const std::string routes = "http.routes = " + std::string(to_string(config.routes));
  auto refused = [&](const std::string& key) {
    return ConfigError(key, "must not be given to " + routes +
                                ", which does not use it (docs/security.md, Keys)" +
                                (key == "auth.master_key" && use.sealing_key
                                     ? ": give auth.sealing_public_key instead, which "
                                       "`observernet sealing-key` prints"
                                     : ""));
  };
  auto check = [&](const std::string& key, bool used, bool given, const std::string& why) {
    if (used && !given) {
      throw ConfigError(key, "is required for " + routes + ", which " + why + " (" + env_name(key) +
                                 " or " + key + "_file)");
    }
    if (!used && given) throw refused(key);
  };
  check("database.url", use.database, !config.database.url.empty(),
        "keeps elections, tokens and ballots in it");
  if (!use.database && !config.database.replica_urls.empty())
    throw refused("database.replica_urls");
  if (!use.database && config.database.migrate_on_start) {
    throw ConfigError("database.migrate_on_start",
                      "must not be set for " + routes + ", which opens no database");
  }
  // The default endpoint names no server of anyone's; any other URL is one given.
  if (!use.redis) {
    if (config.redis.endpoint != cache::RedisEndpoint{}) throw refused("redis.url");
    config.redis.endpoint.host.clear();  // nothing connects (cache/redis_endpoint.hpp)
  }
  AuthConfig& auth = config.auth;
  check("auth.voter_pepper", use.voter_pepper, !auth.voter_pepper.empty(), "hashes voter ids");
  check("auth.master_key", use.master_key, !auth.master_key.empty(), "unseals token keys");
  check("auth.log_key", use.log_key, !auth.log_key.empty(), "signs tree heads");
  // Optional where they are used: without any, every admin request is refused.
  if (!use.admin_keys && !auth.admin_key_hashes.empty()) throw refused("auth.admin_key_hashes");
  if (!auth.master_key.empty()) {
    const std::string derived =
        crypto::to_hex(service::sealing_public_key(*crypto::from_hex(auth.master_key)));
    if (!auth.sealing_public_key.empty() && auth.sealing_public_key != derived) {
      throw ConfigError("auth.sealing_public_key",
                        "is not the one of auth.master_key (`observernet sealing-key` prints "
                        "the right one): keys sealed to it would never open");
    }
    auth.sealing_public_key = derived;
  }
  if (use.sealing_key && auth.sealing_public_key.empty()) {
    throw ConfigError("auth.sealing_public_key",
                      "is required for " + routes +
                          ", which seals new elections' token keys to it (" +
                          env_name("auth.sealing_public_key") +
                          "; `observernet sealing-key` prints it from the master key)");
  }
}

}  // namespace

std::string_view to_string(RouteSet routes) {
  switch (routes) {
    case RouteSet::all:
      return "all";
    case RouteSet::api:
      return "api";
    case RouteSet::token:
      return "token";
    case RouteSet::web:
      break;
  }
  return "web";
}

KeyUse keys_of(RouteSet routes) {
  switch (routes) {
    case RouteSet::all:
      return {.database = true,
              .redis = true,
              .voter_pepper = true,
              .master_key = true,
              .log_key = true,
              .admin_keys = true,
              .sealing_key = true};
    case RouteSet::api:
      return {.database = true,
              .redis = true,
              .voter_pepper = true,
              .log_key = true,
              .admin_keys = true,
              .sealing_key = true};
    case RouteSet::token:
      return {.database = true, .redis = true, .voter_pepper = true, .master_key = true};
    case RouteSet::web:
      break;
  }
  return {};
}

RawConfig parse_config_text(const std::string& text, const std::string& origin) {
  toml::table document;
  try {
    document = toml::parse(text, origin);
  } catch (const toml::parse_error& e) {
    const auto& at = e.source().begin;
    throw ConfigError(origin + ":" + std::to_string(at.line),
                      std::string(e.description()) + " (column " + std::to_string(at.column) + ")");
  }
  RawConfig raw;
  for (const auto& [toml_key, node] : document) {
    const std::string name(toml_key.str());
    const auto* section = node.as_table();
    if (!section) throw ConfigError(name, "unknown key (" + where(origin, node) + ")");
    // `http = { port = 8080 }` would mean the same as [http] in TOML; the file keeps to
    // one way of writing a section.
    if (section->is_inline()) {
      throw ConfigError(name, "must be a [" + name + "] section, not an inline table (" +
                                  where(origin, node) + ")");
    }
    read_section(*section, name, origin, raw);
  }
  return raw;
}

void overlay_environment(RawConfig& raw, const std::vector<std::string>& environment) {
  auto lookup = [&](const std::string& name) -> const std::string* {
    for (const auto& entry : environment) {
      if (entry.size() > name.size() && entry.compare(0, name.size(), name) == 0 &&
          entry[name.size()] == '=') {
        return &entry;
      }
    }
    return nullptr;
  };
  for (const auto& k : keys()) {
    std::string name = env_name(k.name);
    if (const std::string* file = lookup(name + "_FILE")) {
      raw[k.name] = read_secret_file(name + "_FILE", file->substr(name.size() + 6));
    }
    if (const std::string* entry = lookup(name)) raw[k.name] = entry->substr(name.size() + 1);
  }
  // A misspelt variable in one of our sections (OBSERVERNET_DATABASE_POOLMAX) is an
  // error, not a silent default. Other OBSERVERNET_* names (the scripts' own) pass.
  for (const auto& entry : environment) {
    std::string name = entry.substr(0, entry.find('='));
    if (name.ends_with("_FILE")) name.resize(name.size() - 5);
    bool in_our_section = false;
    bool known = false;
    for (const auto& k : keys()) {
      std::string_view section = std::string_view(k.name).substr(0, k.name.find('.'));
      in_our_section = in_our_section || name.starts_with(env_name(section) + "_");
      known = known || env_name(k.name) == name;
    }
    if (in_our_section && !known) throw ConfigError(name, "unknown configuration variable");
  }
}

Config build_config(const RawConfig& raw, Use use) {
  Config config;
  for (const auto& [key, value] : raw) {
    const Key* k = find_key(key);
    if (!k) throw ConfigError(key, "unknown key");
    k->set(config, key, value);
  }
  if (config.database.pool.min > config.database.pool.max) {
    throw ConfigError("database.pool_min", "must not exceed database.pool_max");
  }
  if (!config.redis.cluster_nodes.empty()) {
    if (config.redis.endpoint.db != 0) {
      throw ConfigError("redis.url", "a Redis Cluster (redis.cluster_nodes) has only database 0");
    }
    config.redis.endpoint.cluster_nodes = config.redis.cluster_nodes;
  }
  if (config.database.replica_check_interval >= config.database.max_replica_lag) {
    throw ConfigError("database.replica_check_interval_ms",
                      "must be less than database.max_replica_lag_ms: a measurement older "
                      "than the lag allowed sends no read to the replica");
  }
  if (config.database.call_timeout <= config.database.statement_timeout) {
    throw ConfigError("database.call_timeout_ms",
                      "must exceed database.statement_timeout_ms: PostgreSQL ends a slow "
                      "statement itself; the call timeout is for one that never answers");
  }
  // Each pseudonym must outlive the windows counted under it: a new one every other
  // window at most (docs/privacy.md, Rate-limit pseudonyms).
  if (config.ratelimit.pseudonym_rotation < 2 * config.ratelimit.longest_window()) {
    throw ConfigError("ratelimit.pseudonym_rotation_s",
                      "must be at least twice the longest ratelimit window");
  }
  if (use == Use::migrate && config.database.url.empty()) {
    throw ConfigError("database.url",
                      "is required (OBSERVERNET_DATABASE_URL or database.url_file)");
  }
  if (use == Use::serve) check_keys(config);
  return config;
}

Config load_config(const std::string& file_path, const RawConfig& flag_overrides, Use use) {
  RawConfig raw;
  if (!file_path.empty()) {
    std::ifstream in(file_path);
    if (!in) throw ConfigError("--config", "cannot read " + file_path);
    std::stringstream text;
    text << in.rdbuf();
    raw = parse_config_text(text.str(), file_path);
  }
  std::vector<std::string> environment;
  for (char** e = environ; e && *e; ++e) {
    if (std::string_view(*e).starts_with("OBSERVERNET_")) environment.emplace_back(*e);
  }
  overlay_environment(raw, environment);
  for (const auto& [k, v] : flag_overrides) raw[k] = v;
  return build_config(raw, use);
}

}  // namespace observernet::app
