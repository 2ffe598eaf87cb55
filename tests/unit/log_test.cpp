#include "observernet/util/log.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <poll.h>

#include <chrono>
#include <cstdio>
#include <regex>
#include <string>
#include <thread>

namespace observernet::log {
namespace {

// stdout, for the length of a test, is a pipe that nobody reads until read_all().
class StdoutPipe {
 public:
  StdoutPipe() {
    std::fflush(stdout);
    saved_ = ::dup(STDOUT_FILENO);
    EXPECT_EQ(::pipe(fds_), 0);
    ::fcntl(fds_[1], F_SETPIPE_SZ, 4096);  // fills after a few lines
    ::dup2(fds_[1], STDOUT_FILENO);
  }
  ~StdoutPipe() {
    restore();
    if (reader_.joinable()) reader_.join();
    ::close(fds_[0]);
  }
  // From now on the pipe is read, into `text`, until every writer has closed it.
  void start_reading() {
    reader_ = std::thread([this] {
      char buffer[65536];
      for (ssize_t n; (n = ::read(fds_[0], buffer, sizeof buffer)) > 0;) text.append(buffer, n);
    });
  }
  void restore() {
    if (saved_ < 0) return;
    ::dup2(saved_, STDOUT_FILENO);
    ::close(saved_);
    ::close(fds_[1]);
    saved_ = -1;
  }
  void finish() {
    restore();
    reader_.join();
  }
  // Reads what arrives within `limit`, until `text` holds `wanted`.
  bool read_until(std::string_view wanted, std::chrono::milliseconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (text.find(wanted) == std::string::npos) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      pollfd p{fds_[0], POLLIN, 0};
      if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
      char buffer[65536];
      const ssize_t n = ::read(fds_[0], buffer, sizeof buffer);
      if (n <= 0) return false;
      text.append(buffer, static_cast<std::size_t>(n));
    }
    return true;
  }
  std::string text;

 private:
  int fds_[2] = {-1, -1};
  int saved_ = -1;
  std::thread reader_;
};

// A stdout that takes nothing must not hold up the threads that log (with a blocking
// write, this test never ends): lines beyond log.buffer_bytes are dropped and counted.
// Once stdout takes lines again, everything that was kept comes out whole and in order.
TEST(LogTest, AStdoutThatBlocksDropsLinesAndNeverBlocksTheCaller) {
  StdoutPipe pipe;
  setup("human", "info", 64 * 1024);
  const std::uint64_t dropped_before = dropped_lines();
  const std::string filler(150, 'x');
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 2000; ++i) {  // 2000 × ~200 bytes: far more than pipe and buffer
    write(Level::info, "log_test_line", {{"n", i}, {"filler", filler}});
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
  EXPECT_GT(dropped_lines(), dropped_before);

  pipe.start_reading();
  flush();  // what was kept drains: the buffer has room again
  write(Level::warn, "log_test_after", {{"marker", "end"}});
  flush();
  pipe.finish();
  setup("human", "warn");

  EXPECT_NE(pipe.text.find("log_test_line n=0 filler="), std::string::npos);
  EXPECT_NE(pipe.text.find("warning log_test_after marker=end\n"), std::string::npos);
  // Whole lines, each from the timestamp to its newline; numbers only ever go up.
  std::size_t from = 0;
  int last = -1;
  while (from < pipe.text.size()) {
    const std::size_t end = pipe.text.find('\n', from);
    ASSERT_NE(end, std::string::npos);
    const std::string line = pipe.text.substr(from, end - from);
    ASSERT_TRUE(line.starts_with("20")) << line;
    if (const auto at = line.find(" n="); at != std::string::npos) {
      const int n = std::stoi(line.substr(at + 3));
      EXPECT_GT(n, last);
      last = n;
    }
    from = end + 1;
  }
}

TEST(LogTest, FlushWritesEverythingBeforeItReturns) {
  StdoutPipe pipe;
  pipe.start_reading();
  setup("json", "info");
  write(Level::info, "log_test_json", {{"k", "v"}}, /*buffered=*/true);
  flush();
  pipe.finish();
  setup("human", "warn");
  EXPECT_NE(pipe.text.find(R"("level":"info","event":"log_test_json","k":"v"})"), std::string::npos)
      << pipe.text;
}

TEST(LogTest, LinesBelowTheLevelAreNotWritten) {
  StdoutPipe pipe;
  pipe.start_reading();
  setup("human", "warn");
  write(Level::info, "log_test_hidden");
  write(Level::error, "log_test_shown");
  flush();
  pipe.finish();
  EXPECT_EQ(pipe.text.find("log_test_hidden"), std::string::npos);
  EXPECT_NE(pipe.text.find("error log_test_shown"), std::string::npos);
}

// The bytes of both formats, field by field (the log pipelines parse them).
TEST(LogTest, BothFormatsWriteTheirExactBytes) {
  StdoutPipe pipe;
  pipe.start_reading();
  setup("human", "info");
  write(Level::warn, "log_test_human",
        {{"s", "plain"}, {"q", "a b"}, {"n", -3}, {"d", 1.5}, {"b", true}, {"e", ""}});
  flush();
  setup("json", "info");
  write(Level::error, "log_test_json", {{"s", "a\"b"}, {"n", 7}, {"d", 0.25}, {"b", false}});
  flush();
  pipe.finish();
  setup("human", "warn");
  static const std::regex expected(
      R"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z warning log_test_human s=plain q="a b" n=-3 )"
      R"(d=1\.500 b=true e=""\n)"
      R"(\{"ts":"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z","level":"error",)"
      R"("event":"log_test_json","s":"a\\"b","n":7,"d":0\.25,"b":false\}\n)");
  EXPECT_TRUE(std::regex_match(pipe.text, expected)) << pipe.text;
}

// Access lines wait for the log thread's next round, at most 200 ms, with no flush().
TEST(LogTest, BufferedLinesComeOutWithinARound) {
  StdoutPipe pipe;
  setup("human", "info");
  const auto start = std::chrono::steady_clock::now();
  write(Level::info, "log_test_access", {{"status", 201}}, /*buffered=*/true);
  EXPECT_TRUE(pipe.read_until("log_test_access status=201\n", std::chrono::seconds(2)));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(500));
  pipe.restore();
  setup("human", "warn");
}

}  // namespace
}  // namespace observernet::log
