// The observernet binary itself: subcommands, exit codes, and serve → SIGTERM → 0.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <regex>

#include "support.hpp"

namespace observernet::testing {
namespace {

struct Child {
  pid_t pid = -1;
  int out = -1;  // stdout and stderr, merged
  std::string output;

  // Reads until `pattern` appears in the output or the timeout passes.
  bool wait_for_output(const std::regex& pattern, std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!std::regex_search(output, pattern)) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return false;
      pollfd p{out, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
      char buf[4096];
      auto n = ::read(out, buf, sizeof buf);
      if (n <= 0) return false;
      output.append(buf, static_cast<std::size_t>(n));
    }
    return true;
  }

  int wait_exit() {
    char buf[4096];
    for (ssize_t n; (n = ::read(out, buf, sizeof buf)) > 0;)
      output.append(buf, static_cast<std::size_t>(n));
    int status = 0;
    ::waitpid(pid, &status, 0);
    ::close(out);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
};

Child spawn(std::vector<std::string> args, std::vector<std::string> env = {}) {
  int fds[2];
  if (::pipe(fds) != 0) throw std::runtime_error("pipe");
  Child c;
  c.pid = ::fork();
  if (c.pid == 0) {
    ::dup2(fds[1], 1);
    ::dup2(fds[1], 2);
    ::close(fds[0]);
    ::close(fds[1]);
    for (const auto& e : env) ::putenv(const_cast<char*>(e.c_str()));
    std::vector<char*> argv{const_cast<char*>(OBSERVERNET_BINARY)};
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(OBSERVERNET_BINARY, argv.data());
    ::_exit(127);
  }
  ::close(fds[1]);
  c.out = fds[0];
  return c;
}

int run(std::vector<std::string> args, std::string& output, std::vector<std::string> env = {}) {
  Child c = spawn(std::move(args), std::move(env));
  int code = c.wait_exit();
  output = c.output;
  return code;
}

TEST(CliTest, VersionAndHelp) {
  std::string out;
  EXPECT_EQ(run({"version"}, out), 0);
  EXPECT_TRUE(std::regex_search(out, std::regex(R"(^observernet \d+\.\d+\.\d+ )"))) << out;
  for (const char* cmd : {"serve", "migrate", "version"}) {
    EXPECT_EQ(run({cmd, "--help"}, out), 0) << cmd;
    EXPECT_NE(out.find(std::string("Usage: observernet ") + cmd), std::string::npos) << out;
  }
  EXPECT_EQ(run({"--help"}, out), 0);
  EXPECT_NE(out.find("Commands:"), std::string::npos);
}

TEST(CliTest, BadFlagsAndConfigExitTwoWithOneLineNamingTheField) {
  std::string out;
  EXPECT_EQ(run({}, out), 2);
  EXPECT_EQ(run({"frobnicate"}, out), 2);
  EXPECT_NE(out.find("unknown command 'frobnicate'"), std::string::npos) << out;
  EXPECT_EQ(run({"serve", "--bogus"}, out), 2);
  EXPECT_NE(out.find("--bogus"), std::string::npos) << out;
  EXPECT_EQ(run({"serve", "--port"}, out), 2);

  const std::string db =
      "OBSERVERNET_DATABASE_URL=" + required_env("OBSERVERNET_TEST_DATABASE_URL");
  EXPECT_EQ(run({"serve", "--port", "99999"}, out, {db}), 2);
  EXPECT_EQ(out,
            "observernet: invalid config: http.port: must be between 0 and 65535, got 99999\n");
  EXPECT_EQ(run({"serve"}, out, {db, "OBSERVERNET_LOG_FORMAT=yaml"}), 2);
  EXPECT_NE(out.find("log.format"), std::string::npos) << out;
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 1) << out;
  EXPECT_EQ(run({"migrate", "--config", "/nonexistent.toml"}, out, {db}), 2);
  EXPECT_NE(out.find("--config"), std::string::npos) << out;
}

TEST(CliTest, MigrateIsIdempotent) {
  const std::string db =
      "OBSERVERNET_DATABASE_URL=" + required_env("OBSERVERNET_TEST_DATABASE_URL");
  std::string out;
  EXPECT_EQ(run({"migrate"}, out, {db}), 0) << out;
  EXPECT_EQ(run({"migrate", "--log-format", "json"}, out, {db}), 0) << out;
  EXPECT_NE(out.find(R"("event":"migrations_applied","applied":0)"), std::string::npos) << out;
}

TEST(CliTest, ServeAnswersAndExitsZeroOnSigterm) {
  Child c = spawn({"serve", "--port", "0", "--migrate"},
                  {"OBSERVERNET_DATABASE_URL=" + required_env("OBSERVERNET_TEST_DATABASE_URL"),
                   "OBSERVERNET_REDIS_URL=" + required_env("OBSERVERNET_TEST_REDIS_URL"),
                   "OBSERVERNET_SHUTDOWN_DRAIN_DELAY_MS=100"});
  std::regex listening(R"(listening .*port=(\d+))");
  ASSERT_TRUE(c.wait_for_output(listening, std::chrono::seconds(20))) << c.output;
  std::smatch m;
  std::regex_search(c.output, m, listening);
  auto port = static_cast<std::uint16_t>(std::stoi(m[1]));
  EXPECT_EQ(http_request(port, "GET", "/readyz").status, 200u);
  EXPECT_EQ(http_request(port, "POST", "/api/v1/voting/submit", "{}").status, 404u);
  ::kill(c.pid, SIGTERM);
  EXPECT_EQ(c.wait_exit(), 0) << c.output;
  EXPECT_NE(c.output.find("shutdown_drained"), std::string::npos) << c.output;

  // One access line per request; no client address next to anything on the voting routes.
  std::regex ready_line(
      R"(access method=GET route=/readyz status=200 duration_ms=\S+ request_id=[0-9a-f]{32} client=127\.0\.0\.1)");
  EXPECT_TRUE(std::regex_search(c.output, ready_line)) << c.output;
  std::regex voting_line(R"(access method=POST route=unmatched status=404 .* client=hidden\n)");
  EXPECT_TRUE(std::regex_search(c.output, voting_line)) << c.output;
  EXPECT_EQ(c.output.find("{}"), std::string::npos) << "a request body was logged";
}

}  // namespace
}  // namespace observernet::testing
