#pragma once
// Structured log lines: `event key=value …` for people, or one JSON
// object per line for log pipelines. Callers pass fields, never preformatted text,
// so both formats stay correct and nothing is logged by accident.
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <variant>

namespace observernet::log {

enum class Level { trace, debug, info, warn, error };

struct Field {
  std::string_view key;
  std::variant<std::string_view, std::int64_t, double, bool> value;
  Field(std::string_view k, std::string_view v) : key(k), value(v) {}
  Field(std::string_view k, const std::string& v) : key(k), value(std::string_view(v)) {}
  Field(std::string_view k, const char* v) : key(k), value(std::string_view(v)) {}
  Field(std::string_view k, std::integral auto v) : key(k), value(static_cast<std::int64_t>(v)) {}
  Field(std::string_view k, bool v) : key(k), value(v) {}
  Field(std::string_view k, double v) : key(k), value(v) {}
};

// format: "human" | "json"; level: trace … off; buffer_bytes: how much may wait for the
// log thread before lines are dropped (and counted). Safe to call again (tests do).
void setup(std::string_view format, std::string_view level,
           std::size_t buffer_bytes = std::size_t{16} << 20);
// Lines go to stdout from a thread of their own, so that a slow stdout never holds up the
// caller: events at once, access lines (`buffered`) within 200 ms.
void write(Level level, std::string_view event, std::initializer_list<Field> fields = {},
           bool buffered = false);
// Returns once every line written before the call is on stdout (before exit, in tests).
void flush();
// Lines dropped because more than buffer_bytes were waiting (stdout blocked).
std::uint64_t dropped_lines();

inline void info(std::string_view event, std::initializer_list<Field> fields = {}) {
  write(Level::info, event, fields);
}
inline void warn(std::string_view event, std::initializer_list<Field> fields = {}) {
  write(Level::warn, event, fields);
}
inline void error(std::string_view event, std::initializer_list<Field> fields = {}) {
  write(Level::error, event, fields);
}

}  // namespace observernet::log
