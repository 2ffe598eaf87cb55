#pragma once
// Redis Cluster's key distribution (the Redis Cluster specification): 16,384 hash slots,
// a key's slot the CRC16 (XMODEM) of its hash tag, or of the whole key when it has none.
// Pure: RedisClient routes each command by it.
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace observernet::cache {

inline constexpr std::size_t kClusterSlots = 16384;

// CRC16-CCITT (XMODEM: polynomial 0x1021, initial value 0), as the specification gives it.
std::uint16_t crc16(std::string_view data);

// The slot of `key`: of the part between the first '{' and the first '}' after it, when
// that part is not empty; else of the whole key.
std::uint16_t hash_slot(std::string_view key);

// The key a command acts on, by which it is routed: EVAL's and EVALSHA's first key,
// else the first argument; none for a command without a key (PING) or a script given
// none.
std::optional<std::string_view> command_key(std::span<const std::string_view> args);

// A cluster's redirection of a command: "MOVED <slot> <host>:<port>" (the slot lives
// there now) or "ASK <slot> <host>:<port>" (this once, during a migration). An empty
// host is the host the command was sent to (cluster-preferred-endpoint-type).
struct Redirect {
  bool ask = false;
  std::uint16_t slot = 0;
  std::string host;
  std::uint16_t port = 0;
};
std::optional<Redirect> parse_redirect(std::string_view error);

}  // namespace observernet::cache
