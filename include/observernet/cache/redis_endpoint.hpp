#pragma once
#include <cstdint>
#include <string>

namespace observernet::cache {

// Where Redis is, parsed from redis.url = redis://[[user]:password@]host[:port][/db].
struct RedisEndpoint {
  std::string host = "127.0.0.1";
  std::uint16_t port = 6379;
  std::string username;  // Redis 6 ACL user; empty: the default user
  std::string password;  // secret
  unsigned db = 0;
};

}  // namespace observernet::cache
