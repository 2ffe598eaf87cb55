#pragma once
// Structured log lines over spdlog: `event key=value …` for people, or one JSON
// object per line for log pipelines. Callers pass fields, never preformatted text,
// so both formats stay correct and nothing is logged by accident.
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

// format: "human" | "json"; level: trace … off. Safe to call again (tests do).
void setup(std::string_view format, std::string_view level);
// Events are flushed at once; access lines (`buffered`) are flushed within a second,
// so that logging every request costs no system call of its own.
void write(Level level, std::string_view event, std::initializer_list<Field> fields = {},
           bool buffered = false);

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
