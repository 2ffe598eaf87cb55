#include "observernet/util/log.hpp"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

namespace observernet::log {
namespace {

std::atomic<bool> json_format{false};
std::atomic<int> min_level{static_cast<int>(Level::info)};
constexpr int kOff = static_cast<int>(Level::error) + 1;

// Lines leave the process from a thread of its own: the thread that logs only copies its
// line into `pending`, under a lock held for that copy. A write(2) to stdout can block for
// a second or more (a file under the kernel's writeback, a log collector reading its pipe
// slowly), and it must not hold up a request. Events wake the writer at once; access
// lines wait for its next round, at most `kRound` later, so that logging every request
// costs no system call. Beyond `limit` bytes waiting, lines are dropped and counted.
class LineWriter {
 public:
  static constexpr auto kRound = std::chrono::milliseconds(200);

  LineWriter() : thread_([this] { run(); }) {}
  ~LineWriter() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_one();
    thread_.join();
  }

  void push(std::string_view line, bool urgent) {
    {
      std::lock_guard lock(mutex_);
      if (pending_.size() + line.size() + 1 > limit_) {
        dropped_.fetch_add(1, std::memory_order_relaxed);
        return;
      }
      pending_.append(line);
      pending_ += '\n';
      if (!urgent || urgent_) return;
      urgent_ = true;
    }
    wake_.notify_one();
  }

  // Returns once every line pushed before the call is written.
  void flush() {
    std::unique_lock lock(mutex_);
    const std::uint64_t target = pushed_rounds_ + 1;
    urgent_ = true;
    wake_.notify_one();
    written_.wait(lock, [&] { return written_rounds_ >= target || stopping_; });
  }

  void set_limit(std::size_t bytes) {
    std::lock_guard lock(mutex_);
    limit_ = bytes;
  }
  std::uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }

 private:
  void run() {
    std::string sending;
    std::unique_lock lock(mutex_);
    for (;;) {
      wake_.wait_for(lock, kRound, [&] { return urgent_ || stopping_; });
      urgent_ = false;
      const bool last = stopping_;
      sending.clear();
      sending.swap(pending_);
      const std::uint64_t round = ++pushed_rounds_;
      lock.unlock();
      write_all(sending);
      lock.lock();
      written_rounds_ = round;
      written_.notify_all();
      if (last) return;
    }
  }

  static void write_all(std::string_view data) {
    while (!data.empty()) {
      const ssize_t n = ::write(STDOUT_FILENO, data.data(), data.size());
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return;  // nowhere to log to: nothing better to do
      data.remove_prefix(static_cast<std::size_t>(n));
    }
  }

  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable written_;
  std::string pending_;
  std::size_t limit_ = 16u << 20;
  bool urgent_ = false;
  bool stopping_ = false;
  std::uint64_t pushed_rounds_ = 0;
  std::uint64_t written_rounds_ = 0;
  std::atomic<std::uint64_t> dropped_{0};
  std::thread thread_;  // last: starts once the members above exist
};

LineWriter& writer() {
  static LineWriter instance;
  return instance;
}

int level_number(std::string_view level) {
  if (level == "trace") return static_cast<int>(Level::trace);
  if (level == "debug") return static_cast<int>(Level::debug);
  if (level == "warn") return static_cast<int>(Level::warn);
  if (level == "error") return static_cast<int>(Level::error);
  if (level == "off") return kOff;
  return static_cast<int>(Level::info);
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

void setup(std::string_view format, std::string_view level, std::size_t buffer_bytes) {
  json_format = format == "json";
  min_level = level_number(level);
  writer().set_limit(buffer_bytes);
}

void flush() {
  writer().flush();
}

std::uint64_t dropped_lines() {
  return writer().dropped();
}

void write(Level level, std::string_view event, std::initializer_list<Field> fields,
           bool buffered) {
  if (static_cast<int>(level) < min_level.load(std::memory_order_relaxed)) return;
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
  writer().push(line, !buffered);
}

}  // namespace observernet::log
