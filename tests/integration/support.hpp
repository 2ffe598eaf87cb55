#pragma once
// Integration-test support: a real server (the App, in this process, on port 0)
// against the real PostgreSQL and Redis that scripts/test starts, and small
// blocking HTTP clients. No mocks.
#include <sys/types.h>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "observernet/app/app.hpp"

namespace observernet::testing {

// The admin key test servers accept, and its SHA-256 as configured.
inline constexpr const char* kTestAdminKey = "integration-test-admin-key";
inline constexpr const char* kTestAdminKeyHash =
    "feb8c3ea5a99f106f508bfd27655ebde5780b2007f5e41df4c723c3fdea8eb17";

inline constexpr const char* kTestVoterPepper = "integration-test-pepper-0123456789abcdef";
inline constexpr const char* kTestMasterKey =
    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
// The Ed25519 seed signing the test servers' tree heads (RFC 8032 §7.1 TEST 1's).
inline constexpr const char* kTestLogKey =
    "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";

// OBSERVERNET_TEST_DATABASE_URL / _REDIS_URL / _PG_STOP / _PG_START, set by scripts/test.
// A missing one fails the test: these tests never pass by skipping.
std::string required_env(const char* name);

// The schema owner's URL (OBSERVERNET_TEST_OWNER_DATABASE_URL), for what only the owner
// may do: migrate, and tamper with stored data on purpose. The test servers and
// OBSERVERNET_TEST_DATABASE_URL run as the runtime role (docs/security.md, Append-only
// history).
std::string owner_database_url();
// The runtime role's name, the role of OBSERVERNET_TEST_DATABASE_URL.
std::string runtime_role();

// Removes an election written straight into the database, whatever its status, with
// everything stored for it: as the owner, past the trigger that keeps history (migration
// 0007), so that other tests' listings never meet it.
void remove_election_as_owner(const std::string& id);
// One statement on a connection of its own to `url`, committed.
void exec_on(const std::string& url, const std::string& sql);

// The election's log as stored (log_chunks), its leaf hashes in hex in leaf order;
// a chunk that leaves a gap or overlaps the one before fails the test.
std::vector<std::string> stored_log_leaves(const std::string& election_id);

// The contests of an election written straight into the database, as the server stores
// them: rows that other tests' listings read must be well formed.
inline constexpr const char* kStoredContests =
    R"([{"id":"mayor","title":"Mayor","minSelections":1,"maxSelections":1,)"
    R"("options":[{"id":"alice","title":"Alice"},{"id":"bob","title":"Bob"}]}])";

// Port 0, two I/O threads, no drain delay, migrations applied, quiet logs, no web pages,
// every key (http.routes = all).
app::RawConfig test_raw_config();
// Whether OBSERVERNET_TEST_DATABASE_URL goes through a transaction pooler
// (OBSERVERNET_TEST_POOLER, scripts/test's pass through PgBouncer): then neither the
// servers under test nor spawn_server's migrate, and none prepares statements by name.
bool behind_pooler();
// Sets database.statement_timeout, except through the pooler: there the server side's 5 s
// holds (scripts/lib.sh, pgbouncer_start; docs/operations.md, PgBouncer), whichever
// server connection a server's own SET went through, so the config keeps its 5 s and the
// calls' budget stays above it.
void set_statement_timeout(app::Config& config, std::chrono::milliseconds timeout);
// test_raw_config(), built.
app::Config test_config();

class TestServer {
 public:
  // `routes` may add test-only routes (a slow handler, an echo) before start.
  explicit TestServer(app::Config config = test_config(),
                      std::function<void(http::Router&)> routes = {});
  ~TestServer();
  std::uint16_t port() const { return port_; }
  // Waits for run() to return (after a shutdown) and gives its exit code.
  int wait();
  void shutdown() { app_->request_shutdown(); }

 private:
  std::unique_ptr<app::App> app_;
  std::thread thread_;
  std::uint16_t port_ = 0;
  std::atomic<int> exit_code_{-1};
};

struct HttpResult {
  unsigned status = 0;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
  std::string header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? std::string() : it->second;
  }
};

// A request's headers, in order.
using Headers = std::vector<std::pair<std::string, std::string>>;

inline const Headers kJsonHeaders = {{"Content-Type", "application/json"}};

// The test admin key as a bearer token, with a body of `content_type`.
inline Headers admin_headers(std::string content_type = "application/json") {
  return {{"Authorization", std::string("Bearer ") + kTestAdminKey},
          {"Content-Type", std::move(content_type)}};
}

// One request on a fresh connection (recorded by record_exchange).
HttpResult http_request(std::uint16_t port, const std::string& method, const std::string& target,
                        const std::string& body = {}, const Headers& headers = {});

// When OBSERVERNET_TEST_TRAFFIC names a file, appends one JSON line describing the exchange
// (test, method, target, requestType, requestBody, status, responseType, responseBody):
// tests/contract checks them against docs/api/openapi.yaml. http_request calls it; a
// test with its own client may too. Thread-safe; does nothing when the variable is unset.
void record_exchange(const std::string& method, const std::string& target,
                     const Headers& request_headers, const std::string& request_body,
                     const HttpResult& response);

// A raw TCP connection for what clients are not supposed to do.
class RawConnection {
 public:
  explicit RawConnection(std::uint16_t port);
  ~RawConnection();
  void send(const std::string& bytes);  // throws if the peer is gone
  bool try_send(const std::string& bytes);
  // Reads one HTTP response (headers + Content-Length body).
  // `head`: the answer to a HEAD request, whose Content-Length has no body behind it.
  HttpResult read_response(std::chrono::milliseconds timeout = std::chrono::seconds(5),
                           bool head = false);
  // True when the server closes the connection within `timeout`.
  bool closed_within(std::chrono::milliseconds timeout);
  // What arrived that no read_response() has taken.
  const std::string& unread() const { return buffer_; }

 private:
  int fd_ = -1;
  std::string buffer_;
  bool read_more(std::chrono::milliseconds timeout);
};

// The observernet binary as a child process, stdout and stderr merged into `output`.
// One owner: a Child still running when its owner goes (a test that stopped at a failed
// assertion) is killed and reaped, never left behind.
struct Child {
  pid_t pid = -1;  // -1 once reaped
  int out = -1;
  std::string output;

  Child() = default;
  Child(Child&& other) noexcept;
  Child& operator=(Child&& other) noexcept;
  ~Child();
  // Kills and reaps it if it still runs; closes its output.
  void discard();

  // Reads until `pattern` appears in the output or the timeout passes.
  bool wait_for_output(const std::regex& pattern, std::chrono::milliseconds timeout);
  // Reads the rest of the output and reaps the process: its exit code, or 128 + signal.
  // A process still running at `timeout` is killed (SIGKILL: 137), and the output says so.
  int wait_exit(std::chrono::milliseconds timeout = std::chrono::seconds(60));
};

// Starts the binary with `args`; `env` entries ("NAME=value") are added to ours.
Child spawn(std::vector<std::string> args, std::vector<std::string> env = {});

// Whether spawn() runs a sanitized binary: this build's, when it is sanitized and
// OBSERVERNET_TEST_SERVER_BINARY names no other (a Release one, to measure it).
bool spawned_server_is_sanitized();

// `serve --port <port>` (0: any) with the test databases, a drain delay of 100 ms, and
// `env` on top; returns once it listens, with its port.
std::pair<Child, std::uint16_t> spawn_server(std::vector<std::string> env = {},
                                             std::uint16_t port = 0);

// True once GET /metrics shows `line` (a request is counted after its response is
// written, so a client can see the response before the counter moves).
bool metrics_show(std::uint16_t port, const std::string& line);
// A sample's value on GET /metrics; `series` as printed there, name and labels (in name
// order): `tokens_issued_total`, `pool_connections{pool="postgres",state="idle"}`. -1 when
// absent.
double metric_value(std::uint16_t port, const std::string& series);

// A field of /proc/<pid>/status in kB (VmRSS, VmHWM), or -1.
long proc_status_kb(pid_t pid, const std::string& field);

// A whole file's text ("" if it cannot be read).
std::string read_file(const std::string& path);

// A scripted HTTP/1.1 server on 127.0.0.1, port 0, for testing clients against what a
// real server does only under failure: answers lost with the connection, idle
// connections closed, no answer at all.
struct FakeRequest {
  std::string method;
  std::string target;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
};

struct FakeAnswer {
  std::string response;  // raw bytes sent back (fake_response builds them); may be empty
  bool close = false;    // close the connection once `response` is sent
  bool hang = false;     // send nothing and keep the connection open
};

// "HTTP/1.1 <status> X" with Content-Type (when there is a body), Content-Length and
// `extra_headers` ("Name: value" lines without CRLF).
std::string fake_response(unsigned status, const std::string& body = {},
                          const std::string& content_type = "application/json",
                          const std::vector<std::string>& extra_headers = {});

class FakeHttpServer {
 public:
  using Handler = std::function<FakeAnswer(const FakeRequest&)>;
  // `handler` runs on the server's thread, one request at a time.
  explicit FakeHttpServer(Handler handler);
  ~FakeHttpServer();
  std::uint16_t port() const { return port_; }
  int connections_accepted() const { return accepted_; }
  std::vector<FakeRequest> requests() const;

 private:
  void serve();

  Handler handler_;
  int listener_ = -1;
  int wake_[2] = {-1, -1};
  std::uint16_t port_ = 0;
  std::atomic<int> accepted_{0};
  mutable std::mutex mutex_;
  std::vector<FakeRequest> requests_;
  std::thread thread_;
};

// A TCP port on 127.0.0.1 in 10000-19999 (below the ephemeral range, apart from
// scripts/lib.sh's services) that was free a moment ago.
std::uint16_t free_port();

// A redis-server of the test's own (no persistence), to stop, pause and start again.
class PrivateRedis {
 public:
  PrivateRedis();
  ~PrivateRedis();
  std::uint16_t port() const { return port_; }
  std::string url() const { return "redis://127.0.0.1:" + std::to_string(port_) + "/0"; }
  void start();  // returns once it answers
  void stop();   // SHUTDOWN NOSAVE; returns once it no longer answers
  // SIGSTOP and SIGCONT: nothing answers, no connection breaks.
  void pause();
  void resume();
  // Keys in database `db`; -1 when Redis does not answer.
  long long keys_in_db(int db) const;
  // The names in database `db` that match `pattern`.
  std::set<std::string> keys(int db, const std::string& pattern) const;

 private:
  void signal(const char* name);
  std::filesystem::path dir_;
  std::uint16_t port_ = 0;
};

// Runs a shell command (the PostgreSQL stop/start hooks) and returns its exit status.
int run_shell(const std::string& command);

// Polls `predicate` every 50 ms until true or the timeout: for state that changes
// asynchronously (a database coming back), never to measure speed.
bool eventually(const std::function<bool()>& predicate,
                std::chrono::milliseconds timeout = std::chrono::seconds(15));

}  // namespace observernet::testing
