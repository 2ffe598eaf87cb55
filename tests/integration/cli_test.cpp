// The observernet binary itself: subcommands, exit codes, and serve → SIGTERM → 0.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <regex>

#include "observernet/crypto/hash.hpp"
#include "observernet/service/token_keys.hpp"
#include "support.hpp"

namespace observernet::testing {
namespace {

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
  for (const char* cmd : {"serve", "migrate", "sealing-key", "version", "vote", "verify"}) {
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
  const std::string pepper = "OBSERVERNET_AUTH_VOTER_PEPPER=" + std::string(32, 'p');
  EXPECT_EQ(run({"serve", "--port", "99999"}, out, {db, pepper}), 2);
  EXPECT_EQ(out,
            "observernet: invalid config: http.port: must be between 0 and 65535, got 99999\n");
  EXPECT_EQ(run({"serve"}, out, {db, pepper, "OBSERVERNET_LOG_FORMAT=yaml"}), 2);
  EXPECT_NE(out.find("log.format"), std::string::npos) << out;
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 1) << out;
  EXPECT_EQ(run({"migrate", "--config", "/nonexistent.toml"}, out, {db}), 2);
  EXPECT_NE(out.find("--config"), std::string::npos) << out;
}

TEST(CliTest, MigrateIsIdempotent) {
  const std::string db =
      "OBSERVERNET_DATABASE_URL=" + required_env("OBSERVERNET_TEST_DATABASE_URL");
  std::string out;
  const std::string pepper = "OBSERVERNET_AUTH_VOTER_PEPPER=" + std::string(32, 'p');
  const std::string master = "OBSERVERNET_AUTH_MASTER_KEY=" + std::string(kTestMasterKey);
  const std::string log_key = "OBSERVERNET_AUTH_LOG_KEY=" + std::string(kTestLogKey);
  EXPECT_EQ(run({"migrate"}, out, {db, pepper, master, log_key}), 0) << out;
  // The migration needs the database alone (docs/security.md, Keys).
  EXPECT_EQ(run({"migrate"}, out, {db}), 0) << out;
  EXPECT_EQ(run({"migrate", "--log-format", "json"}, out, {db, pepper, master, log_key}), 0) << out;
  EXPECT_NE(out.find(R"("event":"migrations_applied","applied":0)"), std::string::npos) << out;
}

// What an operator runs to configure the API's processes (docs/operations.md, Secrets):
// the master key's sealing public key, read from a file or stdin, never from argv.
TEST(CliTest, SealingKeyPrintsTheMasterKeysSealingPublicKey) {
  const std::string path = ::testing::TempDir() + "observernet-cli-master-key";
  { std::ofstream(path) << kTestMasterKey << "\n"; }
  std::string out;
  EXPECT_EQ(run({"sealing-key", "--master-key-file", path}, out), 0) << out;
  const crypto::X25519Key expected = service::sealing_public_key(*crypto::from_hex(kTestMasterKey));
  EXPECT_EQ(out, crypto::to_hex(expected) + "\n");
  { std::ofstream(path) << "not a key\n"; }
  EXPECT_EQ(run({"sealing-key", "--master-key-file", path}, out), 2);
  EXPECT_NE(out.find("64 hex digits"), std::string::npos) << out;
  EXPECT_EQ(out.find("not a key"), std::string::npos) << "the file's content was printed";
  std::remove(path.c_str());
  EXPECT_EQ(run({"sealing-key", "--master-key-file", path}, out), 2);
  EXPECT_EQ(run({"sealing-key"}, out), 2);
  EXPECT_EQ(run({"sealing-key", "--master-key", kTestMasterKey}, out), 2);
}

TEST(CliTest, ServeAnswersAndExitsZeroOnSigterm) {
  auto [c, port] = spawn_server();
  EXPECT_EQ(http_request(port, "GET", "/readyz").status, 200u);
  // No Content-Type: refused before anything is parsed.
  EXPECT_EQ(http_request(port, "POST", "/api/v1/voting/submit", "{}").status, 415u);
  ::kill(c.pid, SIGTERM);
  EXPECT_EQ(c.wait_exit(), 0) << c.output;
  EXPECT_NE(c.output.find("shutdown_drained"), std::string::npos) << c.output;

  // One access line per request; no client address next to anything on the voting routes.
  std::regex ready_line(
      R"(access method=GET route=/readyz status=200 duration_ms=\S+ request_id=[0-9a-f]{32} client=127\.0\.0\.1)");
  EXPECT_TRUE(std::regex_search(c.output, ready_line)) << c.output;
  std::regex voting_line(
      R"(access method=POST route=/api/v1/voting/submit status=415 .* client=hidden\n)");
  EXPECT_TRUE(std::regex_search(c.output, voting_line)) << c.output;
  EXPECT_EQ(c.output.find("{}"), std::string::npos) << "a request body was logged";
}

}  // namespace
}  // namespace observernet::testing
