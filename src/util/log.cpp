#include "observernet/util/log.hpp"

#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <cstdio>
#include <nlohmann/json.hpp>

namespace observernet::log {
namespace {

std::atomic<bool> json_format{false};

// spdlog's stdout sink flushes after every line: a write(2) per request with access
// logging on. This one leaves lines in stdio's buffer until flush() is called, which
// write() does for every event but access lines, and spdlog's flusher does each second.
class BufferedStdoutSink final : public spdlog::sinks::base_sink<std::mutex> {
 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    spdlog::memory_buf_t formatted;
    formatter_->format(msg, formatted);
    std::fwrite(formatted.data(), 1, formatted.size(), stdout);
  }
  void flush_() override { std::fflush(stdout); }
};

spdlog::level::level_enum to_spdlog(Level level) {
  switch (level) {
    case Level::trace:
      return spdlog::level::trace;
    case Level::debug:
      return spdlog::level::debug;
    case Level::info:
      return spdlog::level::info;
    case Level::warn:
      return spdlog::level::warn;
    case Level::error:
      return spdlog::level::err;
  }
  return spdlog::level::info;
}

std::string_view level_name(Level level) {
  switch (level) {
    case Level::trace:
      return "trace";
    case Level::debug:
      return "debug";
    case Level::info:
      return "info";
    case Level::warn:
      return "warning";
    case Level::error:
      return "error";
  }
  return "info";
}

// "2026-11-27T03:04:05.678Z". The part up to the seconds is formatted once a second
// per thread.
void append_timestamp(std::string& out) {
  using namespace std::chrono;
  const auto now = time_point_cast<milliseconds>(system_clock::now());
  const auto secs = time_point_cast<seconds>(now);
  thread_local sys_seconds cached_second{};
  thread_local char cached[20] = {};  // "YYYY-MM-DDTHH:MM:SS"
  if (secs != cached_second) {
    const auto day = floor<days>(secs);
    const year_month_day ymd{day};
    const hh_mm_ss hms{secs - day};
    std::snprintf(cached, sizeof cached, "%04d-%02u-%02uT%02ld:%02ld:%02lld",
                  static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                  static_cast<unsigned>(ymd.day()), static_cast<long>(hms.hours().count()),
                  static_cast<long>(hms.minutes().count()),
                  static_cast<long long>(hms.seconds().count()));
    cached_second = secs;
  }
  out.append(cached, 19);
  const auto millis = (now - secs).count();
  char frac[6] = {
      '.', char('0' + millis / 100), char('0' + millis / 10 % 10), char('0' + millis % 10), 'Z', 0};
  out.append(frac, 5);
}

// Quote a human-format value only when it needs it, so lines stay grep-friendly.
void append_human(std::string& out, std::string_view v) {
  // One pass (find_first_of would scan the value once per special character).
  bool plain = !v.empty() && std::ranges::none_of(v, [](char c) {
    return c == ' ' || c == '"' || c == '=' || c == '\t' || c == '\n';
  });
  if (plain) {
    out += v;
  } else {
    out += nlohmann::json(std::string(v)).dump();
  }
}

}  // namespace

void setup(std::string_view format, std::string_view level) {
  json_format = format == "json";
  auto logger = spdlog::get("observernet");
  if (!logger) {
    logger =
        std::make_shared<spdlog::logger>("observernet", std::make_shared<BufferedStdoutSink>());
    spdlog::register_logger(logger);
    spdlog::set_default_logger(logger);
  }
  // write() builds the whole line, timestamp and level included: spdlog's pattern
  // formatter cost a fifth of a cached public read's instructions.
  logger->set_pattern("%v");
  logger->set_level(spdlog::level::from_str(std::string(level)));
  static const bool flusher = [] {
    spdlog::flush_every(std::chrono::seconds(1));  // for buffered (access) lines
    return true;
  }();
  (void)flusher;
}

void write(Level level, std::string_view event, std::initializer_list<Field> fields,
           bool buffered) {
  auto* logger = spdlog::default_logger_raw();
  if (!logger->should_log(to_spdlog(level))) return;
  thread_local std::string line;  // reused: no allocation per log line
  line.clear();
  if (json_format) {
    std::string ts;
    append_timestamp(ts);
    nlohmann::ordered_json obj = nlohmann::ordered_json::object();
    obj["ts"] = ts;
    obj["level"] = level_name(level);
    obj["event"] = event;
    for (const auto& f : fields) {
      std::visit([&](const auto& v) { obj[std::string(f.key)] = v; }, f.value);
    }
    line = obj.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
  } else {
    append_timestamp(line);
    line += ' ';
    line += level_name(level);
    line += ' ';
    line += event;
    for (const auto& f : fields) {
      line += ' ';
      line += f.key;
      line += '=';
      std::visit(
          [&](const auto& v) {
            using T = std::decay_t<decltype(v)>;
            if constexpr (std::is_same_v<T, std::string_view>) {
              append_human(line, v);
            } else if constexpr (std::is_same_v<T, bool>) {
              line += v ? "true" : "false";
            } else if constexpr (std::is_same_v<T, double>) {
              // Three decimals are plenty (milliseconds to the microsecond), and
              // to_chars skips printf's locale machinery.
              char buf[32];
              auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed, 3);
              line.append(buf, ec == std::errc{} ? end : buf);
            } else {
              line += std::to_string(v);
            }
          },
          f.value);
    }
  }
  logger->log(to_spdlog(level), std::string_view(line));
  if (!buffered) logger->flush();
}

}  // namespace observernet::log
