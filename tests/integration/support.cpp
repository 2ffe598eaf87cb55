#include "support.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>
#include <random>
#include <sstream>
#include <stdexcept>
#include <utility>

#include "observernet/util/log.hpp"

namespace observernet::testing {

std::string required_env(const char* name) {
  const char* value = std::getenv(name);
  if (!value || !*value) {
    ADD_FAILURE() << name << " is not set: run the integration tests through scripts/test";
    throw std::runtime_error(std::string(name) + " missing");
  }
  return value;
}

std::string owner_database_url() {
  return required_env("OBSERVERNET_TEST_OWNER_DATABASE_URL");
}

std::vector<std::string> stored_log_leaves(const std::string& election_id) {
  pqxx::connection conn(required_env("OBSERVERNET_TEST_DATABASE_URL"));
  pqxx::read_transaction tx(conn);
  std::vector<std::string> leaves;
  for (const auto& row : tx.exec_params("SELECT first_index, encode(leaf_hashes, 'hex')"
                                        " FROM log_chunks WHERE election_id = $1::uuid"
                                        " ORDER BY first_index",
                                        election_id)) {
    EXPECT_EQ(row[0].as<std::uint64_t>(), leaves.size()) << "a gap or an overlap";
    const std::string hex = row[1].as<std::string>();
    for (std::size_t at = 0; at < hex.size(); at += 64) leaves.push_back(hex.substr(at, 64));
  }
  return leaves;
}

void remove_election_as_owner(const std::string& id) {
  pqxx::connection conn(owner_database_url());
  pqxx::work tx(conn);
  // A server's statement still running (a pass whose call was cut) holds its locks until
  // its own timeout: waited for, but never for ever, nor left queued by a killed test
  // with every later statement on `elections` behind it.
  tx.exec("SET LOCAL lock_timeout = '20s'");
  tx.exec("ALTER TABLE elections DISABLE TRIGGER elections_keep_history");
  for (const char* table : {"ballots", "ballots_staged", "issued", "issuances_staged", "log_chunks",
                            "tree_heads", "logs", "tallies"}) {
    tx.exec_params(std::string("DELETE FROM ") + table + " WHERE election_id = $1::uuid", id);
  }
  tx.exec_params("DELETE FROM elections WHERE id = $1::uuid", id);
  tx.exec("ALTER TABLE elections ENABLE TRIGGER elections_keep_history");
  tx.commit();
}

void exec_on(const std::string& url, const std::string& sql) {
  pqxx::connection conn(url);
  pqxx::nontransaction tx(conn);
  tx.exec(sql);
}

std::string runtime_role() {
  pqxx::connection conn(required_env("OBSERVERNET_TEST_DATABASE_URL"));
  pqxx::read_transaction tx(conn);
  return tx.exec("SELECT current_user")[0][0].as<std::string>();
}

bool behind_pooler() {
  const char* pooler = std::getenv("OBSERVERNET_TEST_POOLER");
  return pooler != nullptr && *pooler != '\0';
}

void set_statement_timeout(app::Config& config, std::chrono::milliseconds timeout) {
  if (!behind_pooler()) config.database.statement_timeout = timeout;
}

app::RawConfig test_raw_config() {
  app::RawConfig raw = {
      {"database.url", required_env("OBSERVERNET_TEST_DATABASE_URL")},
      {"redis.url", required_env("OBSERVERNET_TEST_REDIS_URL")},
      {"auth.voter_pepper", kTestVoterPepper},
      {"auth.master_key", kTestMasterKey},
      {"auth.log_key", kTestLogKey},
      {"auth.admin_key_hashes", kTestAdminKeyHash},
      {"http.port", "0"},
      {"http.threads", "2"},
      {"shutdown.drain_delay_ms", "0"},
      {"shutdown.timeout_ms", "5000"},
      {"database.migrate_on_start", "true"},
      {"database.pool_max", "4"},
      {"log.level", "warn"},
      // Every client here is 127.0.0.1; the rate limit tests turn limits on.
      {"ratelimit.enabled", "false"},
      // Each ballot published on the next pass: the tests that check publication by
      // anonymity set give their own sizes.
      {"board.min_batch", "1"},
      // The pages of the source tree, if built, are no business of most tests: the web
      // tests give their own root.
      {"web.enabled", "false"},
  };
  if (behind_pooler()) {
    // Through PgBouncer (scripts/test's pooled pass): no migration (its session-level
    // lock), no named prepared statements (docs/operations.md, PgBouncer).
    raw["database.migrate_on_start"] = "false";
    raw["database.prepared_statements"] = "false";
  }
  return raw;
}

app::Config test_config() {
  log::setup("human", "warn");
  return app::build_config(test_raw_config());
}

TestServer::TestServer(app::Config config, std::function<void(http::Router&)> routes)
    : app_(std::make_unique<app::App>(std::move(config))) {
  if (routes) routes(app_->router());
  app_->start();
  port_ = app_->port();
  thread_ = std::thread([this] { exit_code_ = app_->run(); });
}

TestServer::~TestServer() {
  if (thread_.joinable()) {
    app_->request_shutdown();
    thread_.join();
  }
}

int TestServer::wait() {
  if (thread_.joinable()) thread_.join();
  return exit_code_;
}

namespace {

HttpResult parse_head(const std::string& head) {
  HttpResult r;
  auto line_end = head.find("\r\n");
  std::string status_line = head.substr(0, line_end);
  auto sp = status_line.find(' ');
  if (sp == std::string::npos) throw std::runtime_error("bad status line: " + status_line);
  r.status = static_cast<unsigned>(std::stoul(status_line.substr(sp + 1, 3)));
  std::size_t pos = line_end + 2;
  while (pos < head.size()) {
    auto end = head.find("\r\n", pos);
    if (end == std::string::npos) end = head.size();
    std::string line = head.substr(pos, end - pos);
    pos = end + 2;
    auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string name = line.substr(0, colon);
    std::ranges::transform(name, name.begin(), [](unsigned char c) { return std::tolower(c); });
    std::string value = line.substr(colon + 1);
    value.erase(0, value.find_first_not_of(' '));
    r.headers[name] = value;
  }
  return r;
}

}  // namespace

RawConnection::RawConnection(std::uint16_t port) {
  fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd_ < 0 || ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    if (fd_ >= 0) ::close(fd_);  // no destructor runs for a constructor that throws
    throw std::runtime_error("connect failed");
  }
}

RawConnection::~RawConnection() {
  if (fd_ >= 0) ::close(fd_);
}

bool RawConnection::try_send(const std::string& bytes) {
  std::size_t sent = 0;
  while (sent < bytes.size()) {
    auto n = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return false;
    sent += static_cast<std::size_t>(n);
  }
  return true;
}

void RawConnection::send(const std::string& bytes) {
  if (!try_send(bytes)) throw std::runtime_error("send failed");
}

bool RawConnection::read_more(std::chrono::milliseconds timeout) {
  pollfd p{fd_, POLLIN, 0};
  if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return false;
  char chunk[16384];
  auto n = ::recv(fd_, chunk, sizeof chunk, 0);
  if (n <= 0) return false;
  buffer_.append(chunk, static_cast<std::size_t>(n));
  return true;
}

HttpResult RawConnection::read_response(std::chrono::milliseconds timeout, bool head) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  auto remaining = [&] {
    return std::max(std::chrono::milliseconds(1),
                    std::chrono::duration_cast<std::chrono::milliseconds>(
                        deadline - std::chrono::steady_clock::now()));
  };
  std::size_t head_end;
  while ((head_end = buffer_.find("\r\n\r\n")) == std::string::npos) {
    if (!read_more(remaining())) throw std::runtime_error("no response (headers)");
  }
  HttpResult r = parse_head(buffer_.substr(0, head_end));
  std::size_t length =
      !head && r.headers.contains("content-length") ? std::stoul(r.headers["content-length"]) : 0;
  buffer_.erase(0, head_end + 4);
  while (buffer_.size() < length) {
    if (!read_more(remaining())) throw std::runtime_error("no response (body)");
  }
  r.body = buffer_.substr(0, length);
  buffer_.erase(0, length);
  return r;
}

bool RawConnection::closed_within(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd_, POLLIN, 0};
    int ready = ::poll(&p, 1, 50);
    if (ready > 0) {
      char chunk[4096];
      auto n = ::recv(fd_, chunk, sizeof chunk, 0);
      if (n <= 0) return true;  // EOF or reset
      buffer_.append(chunk, static_cast<std::size_t>(n));
    }
  }
  return false;
}

namespace {

// The file named by OBSERVERNET_TEST_TRAFFIC, opened once for appending; -1 when unset.
int traffic_fd() {
  static const int fd = [] {
    const char* path = std::getenv("OBSERVERNET_TEST_TRAFFIC");
    if (!path || !*path) return -1;
    int opened = ::open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (opened < 0) ADD_FAILURE() << "cannot open OBSERVERNET_TEST_TRAFFIC=" << path;
    return opened;
  }();
  return fd;
}

}  // namespace

void record_exchange(const std::string& method, const std::string& target,
                     const std::vector<std::pair<std::string, std::string>>& request_headers,
                     const std::string& request_body, const HttpResult& response) {
  const int fd = traffic_fd();
  if (fd < 0) return;
  std::string request_type;
  for (const auto& [name, value] : request_headers) {
    if (name.size() == 12 && ::strncasecmp(name.c_str(), "content-type", 12) == 0) {
      request_type = value;
    }
  }
  const auto* test = ::testing::UnitTest::GetInstance()->current_test_info();
  nlohmann::json line = {
      {"test", test ? std::string(test->test_suite_name()) + "." + test->name() : ""},
      {"method", method},
      {"target", target},
      {"requestType", request_type},
      {"requestBody", request_body},
      {"status", response.status},
      {"responseType", response.header("content-type")},
      {"responseBody", response.body},
  };
  // Bodies may be any bytes: invalid UTF-8 becomes U+FFFD rather than an exception.
  std::string text = line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  // One write per line, O_APPEND: lines from threads and processes never interleave.
  static std::mutex mutex;
  std::lock_guard lock(mutex);
  [[maybe_unused]] auto n = ::write(fd, text.data(), text.size());
}

HttpResult http_request(std::uint16_t port, const std::string& method, const std::string& target,
                        const std::string& body,
                        const std::vector<std::pair<std::string, std::string>>& headers) {
  RawConnection conn(port);
  std::string request = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  for (const auto& [k, v] : headers) request += k + ": " + v + "\r\n";
  if (!body.empty() || method == "POST" || method == "PUT" || method == "PATCH") {
    request += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  }
  request += "Connection: close\r\n\r\n" + body;
  conn.try_send(request);  // a server refusing the body may stop reading; its answer counts
  HttpResult result = conn.read_response(std::chrono::seconds(10), method == "HEAD");
  record_exchange(method, target, headers, body, result);
  return result;
}

bool Child::wait_for_output(const std::regex& pattern, std::chrono::milliseconds timeout) {
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

Child::Child(Child&& other) noexcept
    : pid(std::exchange(other.pid, -1)),
      out(std::exchange(other.out, -1)),
      output(std::move(other.output)) {}

Child& Child::operator=(Child&& other) noexcept {
  if (this != &other) {
    discard();
    pid = std::exchange(other.pid, -1);
    out = std::exchange(other.out, -1);
    output = std::move(other.output);
  }
  return *this;
}

Child::~Child() {
  discard();
}

void Child::discard() {
  if (pid > 0) {
    ::kill(pid, SIGKILL);
    // What it wrote, for a test that failed before it could look (a sanitizer's report).
    if (::testing::Test::HasFailure()) {
      wait_exit();
      std::cerr << "[the output of a process the failed test left running]\n"
                << output.substr(output.size() > 20'000 ? output.size() - 20'000 : 0) << "\n";
      return;
    }
    ::waitpid(pid, nullptr, 0);
    pid = -1;
  }
  if (out >= 0) {
    ::close(out);
    out = -1;
  }
}

int Child::wait_exit(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  bool killed = false;
  char buf[4096];
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    pollfd ready{out, POLLIN, 0};
    if (!killed && (left.count() <= 0 || ::poll(&ready, 1, static_cast<int>(left.count())) == 0)) {
      // No end within the deadline: killed, so that the test fails with the output so far
      // instead of hanging until ctest's own timeout.
      ::kill(pid, SIGKILL);
      killed = true;
      output += "\n[the test killed this process: no exit within " +
                std::to_string(timeout.count()) + " ms]\n";
      continue;
    }
    const ssize_t n = ::read(out, buf, sizeof buf);
    if (n <= 0) break;
    output.append(buf, static_cast<std::size_t>(n));
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  ::close(out);
  pid = -1;
  out = -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

Child spawn(std::vector<std::string> args, std::vector<std::string> env) {
  // Everything the child needs is made before the fork: between fork and exec the child
  // may only make async-signal-safe calls. This process has threads (a server under
  // test), and one of them may hold the allocator's lock at the fork, which the child's
  // copy then never releases: a putenv there that grew the environment hung the child
  // before it ran a line (seen through PgBouncer, where timings differ).
  // OBSERVERNET_TEST_SERVER_BINARY: another build's binary (a Release one, to measure it).
  const char* other = std::getenv("OBSERVERNET_TEST_SERVER_BINARY");
  const std::string binary = other != nullptr && *other != '\0' ? other : OBSERVERNET_BINARY;
  std::map<std::string, std::string> variables;  // name -> "name=value"; `env` wins
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string entry = *e;
    variables[entry.substr(0, entry.find('='))] = entry;
  }
  for (const auto& entry : env) variables[entry.substr(0, entry.find('='))] = entry;
  std::vector<char*> envp;
  for (auto& [name, entry] : variables) envp.push_back(entry.data());
  envp.push_back(nullptr);
  std::vector<char*> argv{const_cast<char*>(binary.c_str())};
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  int fds[2];
  if (::pipe(fds) != 0) throw std::runtime_error("pipe");
  Child c;
  c.pid = ::fork();
  if (c.pid == 0) {
    ::dup2(fds[1], 1);
    ::dup2(fds[1], 2);
    ::close(fds[0]);
    ::close(fds[1]);
    ::execve(argv[0], argv.data(), envp.data());
    ::_exit(127);
  }
  ::close(fds[1]);
  c.out = fds[0];
  return c;
}

bool spawned_server_is_sanitized() {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  const char* other = std::getenv("OBSERVERNET_TEST_SERVER_BINARY");
  return other == nullptr || *other == '\0';
#else
  return false;
#endif
}

std::pair<Child, std::uint16_t> spawn_server(std::vector<std::string> env, std::uint16_t port) {
  std::vector<std::string> all = {
      "OBSERVERNET_DATABASE_URL=" + required_env("OBSERVERNET_TEST_DATABASE_URL"),
      "OBSERVERNET_REDIS_URL=" + required_env("OBSERVERNET_TEST_REDIS_URL"),
      "OBSERVERNET_AUTH_VOTER_PEPPER=" + std::string(kTestVoterPepper),
      "OBSERVERNET_AUTH_MASTER_KEY=" + std::string(kTestMasterKey),
      "OBSERVERNET_AUTH_LOG_KEY=" + std::string(kTestLogKey),
      "OBSERVERNET_AUTH_ADMIN_KEY_HASHES=" + std::string(kTestAdminKeyHash),
      "OBSERVERNET_SHUTDOWN_DRAIN_DELAY_MS=100",
      "OBSERVERNET_RATELIMIT_ENABLED=false",
      "OBSERVERNET_BOARD_MIN_BATCH=1"};
  std::vector<std::string> args = {"serve", "--port", std::to_string(port), "--migrate"};
  if (behind_pooler()) {
    args.pop_back();  // as in test_raw_config
    all.push_back("OBSERVERNET_DATABASE_PREPARED_STATEMENTS=false");
  }
  all.insert(all.end(), env.begin(), env.end());
  Child c = spawn(std::move(args), std::move(all));
  static const std::regex listening(R"(listening .*port=(\d+))");
  if (!c.wait_for_output(listening, std::chrono::seconds(30))) {
    ::kill(c.pid, SIGKILL);
    c.wait_exit();
    throw std::runtime_error("server did not start: " + c.output);
  }
  std::smatch m;
  std::regex_search(c.output, m, listening);
  return {std::move(c), static_cast<std::uint16_t>(std::stoi(m[1]))};
}

namespace {

bool can_bind(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(port);
  const bool bound = ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
  ::close(fd);
  return bound;
}

}  // namespace

std::uint16_t free_port() {
  // 10000-19999: below the kernel's ephemeral range (32768 up by default), where a port
  // handed to an outgoing connection (ours to PostgreSQL and Redis) could be taken between
  // this check and the bind of whoever it is for; and apart from the ports of
  // scripts/lib.sh's free_port (20000 up), whose services a fault test may stop and start
  // again on the same port.
  static std::mt19937 random{std::random_device{}()};
  static std::mutex mutex;
  std::lock_guard lock(mutex);
  std::uniform_int_distribution<int> pick(10'000, 19'999);
  for (int i = 0; i < 200; ++i) {
    const auto port = static_cast<std::uint16_t>(pick(random));
    if (can_bind(port)) return port;
  }
  throw std::runtime_error("no free port in 10000-19999");
}

PrivateRedis::PrivateRedis() : port_(free_port()) {
  dir_ = std::filesystem::temp_directory_path() /
         ("test-redis-" + std::to_string(::getpid()) + "-" + std::to_string(port_));
  std::filesystem::create_directories(dir_);
}

PrivateRedis::~PrivateRedis() {
  resume();  // a paused one would not hear the shutdown
  stop();
  std::filesystem::remove_all(dir_);
}

void PrivateRedis::start() {
  ASSERT_EQ(run_shell("redis-server --bind 127.0.0.1 --port " + std::to_string(port_) +
                      " --save '' --appendonly no --daemonize yes --dir " + dir_.string() +
                      " --pidfile " + (dir_ / "redis.pid").string() + " --logfile " +
                      (dir_ / "redis.log").string()),
            0);
  ASSERT_TRUE(eventually([&] { return keys_in_db(3) >= 0; }, std::chrono::seconds(5)));
}

void PrivateRedis::stop() {
  run_shell("redis-cli -p " + std::to_string(port_) + " shutdown nosave >/dev/null 2>&1");
  eventually([&] { return keys_in_db(3) < 0; }, std::chrono::seconds(5));
}

void PrivateRedis::pause() {
  signal("STOP");
}
void PrivateRedis::resume() {
  signal("CONT");
}

void PrivateRedis::signal(const char* name) {
  const std::string pid = read_file((dir_ / "redis.pid").string());
  if (!pid.empty()) run_shell(std::string("kill -") + name + " " + pid + " 2>/dev/null");
}

long long PrivateRedis::keys_in_db(int db) const {
  redisContext* c = redisConnect("127.0.0.1", port_);
  long long n = -1;
  if (c != nullptr && c->err == 0) {
    auto* selected = static_cast<redisReply*>(redisCommand(c, "SELECT %d", db));
    if (selected != nullptr) {
      freeReplyObject(selected);
      auto* size = static_cast<redisReply*>(redisCommand(c, "DBSIZE"));
      if (size != nullptr && size->type == REDIS_REPLY_INTEGER) n = size->integer;
      if (size != nullptr) freeReplyObject(size);
    }
  }
  if (c != nullptr) redisFree(c);
  return n;
}

std::set<std::string> PrivateRedis::keys(int db, const std::string& pattern) const {
  std::set<std::string> out;
  redisContext* c = redisConnect("127.0.0.1", port_);
  if (c != nullptr && c->err == 0) {
    if (auto* selected = static_cast<redisReply*>(redisCommand(c, "SELECT %d", db))) {
      freeReplyObject(selected);
    }
    auto* reply = static_cast<redisReply*>(redisCommand(c, "KEYS %s", pattern.c_str()));
    if (reply != nullptr && reply->type == REDIS_REPLY_ARRAY) {
      for (std::size_t i = 0; i < reply->elements; ++i) {
        out.emplace(reply->element[i]->str, reply->element[i]->len);
      }
    }
    if (reply != nullptr) freeReplyObject(reply);
  }
  if (c != nullptr) redisFree(c);
  return out;
}

long proc_status_kb(pid_t pid, const std::string& field) {
  std::smatch m;
  const std::string status = read_file("/proc/" + std::to_string(pid) + "/status");
  if (!std::regex_search(status, m, std::regex(field + R"(:\s+(\d+) kB)"))) return -1;
  return std::stol(m[1].str());
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

bool metrics_show(std::uint16_t port, const std::string& line) {
  return eventually(
      [&] { return http_request(port, "GET", "/metrics").body.find(line) != std::string::npos; },
      std::chrono::seconds(5));
}

double metric_value(std::uint16_t port, const std::string& series) {
  const std::string text = "\n" + http_request(port, "GET", "/metrics").body;
  const std::string start = "\n" + series + " ";
  const auto at = text.find(start);
  if (at == std::string::npos) return -1;
  return std::strtod(text.c_str() + at + start.size(), nullptr);
}

std::string fake_response(unsigned status, const std::string& body, const std::string& content_type,
                          const std::vector<std::string>& extra_headers) {
  std::string r = "HTTP/1.1 " + std::to_string(status) + " X\r\n";
  if (!body.empty()) r += "Content-Type: " + content_type + "\r\n";
  r += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  for (const auto& h : extra_headers) r += h + "\r\n";
  return r + "\r\n" + body;
}

FakeHttpServer::FakeHttpServer(Handler handler) : handler_(std::move(handler)) {
  listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (listener_ < 0 || ::bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(listener_, 16) != 0 ||
      ::getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len) != 0 ||
      ::pipe(wake_) != 0) {
    throw std::runtime_error("fake server: cannot listen");
  }
  port_ = ntohs(addr.sin_port);
  thread_ = std::thread([this] { serve(); });
}

FakeHttpServer::~FakeHttpServer() {
  char stop = 0;
  [[maybe_unused]] auto n = ::write(wake_[1], &stop, 1);
  thread_.join();
  ::close(listener_);
  ::close(wake_[0]);
  ::close(wake_[1]);
}

std::vector<FakeRequest> FakeHttpServer::requests() const {
  std::lock_guard lock(mutex_);
  return requests_;
}

void FakeHttpServer::serve() {
  struct Connection {
    int fd;
    std::string buffer;
    bool hung = false;
  };
  std::vector<Connection> connections;
  for (;;) {
    std::vector<pollfd> fds = {{wake_[0], POLLIN, 0}, {listener_, POLLIN, 0}};
    for (const auto& c : connections) fds.push_back({c.fd, POLLIN, 0});
    if (::poll(fds.data(), fds.size(), -1) < 0) continue;
    if (fds[0].revents) break;
    if (fds[1].revents & POLLIN) {
      int fd = ::accept(listener_, nullptr, nullptr);
      if (fd >= 0) {
        connections.push_back({fd, {}});
        ++accepted_;
      }
    }
    std::vector<int> closed;
    for (std::size_t i = 2; i < fds.size(); ++i) {
      if (!fds[i].revents) continue;
      Connection& c = connections[i - 2];
      char chunk[16384];
      auto n = ::recv(c.fd, chunk, sizeof chunk, 0);
      if (n <= 0) {
        closed.push_back(c.fd);
        continue;
      }
      c.buffer.append(chunk, static_cast<std::size_t>(n));
      for (;;) {
        if (c.hung) break;
        auto head_end = c.buffer.find("\r\n\r\n");
        if (head_end == std::string::npos) break;
        auto line_end = c.buffer.find("\r\n");
        // parse_head reads a response head: a status line stands in for the request line.
        HttpResult head =
            parse_head("HTTP/1.1 000 x" + c.buffer.substr(line_end, head_end - line_end) + "\r\n");
        std::size_t length = head.headers.contains("content-length")
                                 ? std::stoul(head.headers["content-length"])
                                 : 0;
        if (c.buffer.size() < head_end + 4 + length) break;
        FakeRequest request;
        std::string request_line = c.buffer.substr(0, line_end);
        auto sp1 = request_line.find(' ');
        auto sp2 = request_line.find(' ', sp1 + 1);
        request.method = request_line.substr(0, sp1);
        request.target = request_line.substr(sp1 + 1, sp2 - sp1 - 1);
        request.headers = std::move(head.headers);
        request.body = c.buffer.substr(head_end + 4, length);
        c.buffer.erase(0, head_end + 4 + length);
        FakeAnswer answer;
        {
          std::lock_guard lock(mutex_);
          requests_.push_back(request);
          answer = handler_(request);
        }
        if (answer.hang) {
          c.hung = true;
          break;
        }
        std::size_t sent = 0;
        while (sent < answer.response.size()) {
          auto w = ::send(c.fd, answer.response.data() + sent, answer.response.size() - sent,
                          MSG_NOSIGNAL);
          if (w <= 0) break;
          sent += static_cast<std::size_t>(w);
        }
        if (answer.close) {
          closed.push_back(c.fd);
          break;
        }
      }
    }
    for (int fd : closed) {
      ::close(fd);
      std::erase_if(connections, [fd](const Connection& c) { return c.fd == fd; });
    }
  }
  for (const auto& c : connections) ::close(c.fd);
}

int run_shell(const std::string& command) {
  int status = std::system(command.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

bool eventually(const std::function<bool()>& predicate, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (predicate()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return predicate();
}

}  // namespace observernet::testing
