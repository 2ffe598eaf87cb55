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
  if (json_format) {
    logger->set_pattern(R"({"ts":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%l",%v})",
                        spdlog::pattern_time_type::utc);
  } else {
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %l %v", spdlog::pattern_time_type::utc);
  }
  logger->set_level(spdlog::level::from_str(std::string(level)));
  static const bool flusher = [] {
    spdlog::flush_every(std::chrono::seconds(1));  // for buffered (access) lines
    return true;
  }();
  (void)flusher;
}

bool enabled(Level level) {
  return spdlog::default_logger_raw()->should_log(to_spdlog(level));
}

void write(Level level, std::string_view event, std::initializer_list<Field> fields,
           bool buffered) {
  auto* logger = spdlog::default_logger_raw();
  if (!logger->should_log(to_spdlog(level))) return;
  thread_local std::string line;  // reused: no allocation per log line
  line.clear();
  if (json_format) {
    nlohmann::ordered_json obj = nlohmann::ordered_json::object();
    obj["event"] = event;
    for (const auto& f : fields) {
      std::visit([&](const auto& v) { obj[std::string(f.key)] = v; }, f.value);
    }
    std::string body = obj.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
    line.assign(body, 1, body.size() - 2);  // the pattern supplies the braces
  } else {
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
