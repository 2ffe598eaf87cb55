#include "observernet/util/log.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
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
  for (int i = 0; i < 2000; ++i) {  // 2000 × ~200 bytes: far more than pipe and buffer
    write(Level::info, "log_test_line", {{"n", i}, {"filler", filler}});
  }
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
  std::size_t start = 0;
  int last = -1;
  while (start < pipe.text.size()) {
    const std::size_t end = pipe.text.find('\n', start);
    ASSERT_NE(end, std::string::npos);
    const std::string line = pipe.text.substr(start, end - start);
    ASSERT_TRUE(line.starts_with("20")) << line;
    if (const auto at = line.find(" n="); at != std::string::npos) {
      const int n = std::stoi(line.substr(at + 3));
      EXPECT_GT(n, last);
      last = n;
    }
    start = end + 1;
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

}  // namespace
}  // namespace observernet::log
