// The web front end as the server sends it (web/README.md): pages and assets from
// memory with their caching, encoding and security fields, the 404 page, and CORS on
// the API. A fixture root stands in for web/dist: distinct bytes for each file and each
// precompressed sibling, since the server only picks files.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <regex>
#include <sstream>

#include "observernet/api/web_routes.hpp"
#include "observernet/cache/client_address.hpp"
#include "observernet/client/http_client.hpp"
#include "observernet/client/voter.hpp"
#include "support.hpp"

namespace observernet::testing {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

constexpr const char* kElectionId = "3f2b8c1e-0a4d-4c6b-9e7f-5d1a2b3c4d5e";
constexpr const char* kScript = "booth.3f2a9c1d.js";
constexpr const char* kStyle = "site.77aa01.css";
constexpr const char* kCsp =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; worker-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'; form-action 'self'";

// A built site in a temporary folder, removed with the fixture.
class WebRoot {
 public:
  WebRoot() {
    std::random_device random;
    path_ = std::filesystem::temp_directory_path() /
            ("observernet-web-test-" + std::to_string(::getpid()) + "-" + std::to_string(random()));
    std::filesystem::create_directories(path_ / "assets" / "fonts");
    for (const char* page : {"booth.html", "portal.html", "404.html"}) {
      write(page, std::string("<!doctype html><title>") + page + "</title>");
      write(std::string(page) + ".gz", std::string("gzip bytes of ") + page);
      write(std::string(page) + ".br", std::string("brotli bytes of ") + page);
    }
    write(std::string("assets/") + kScript, "export const booth = 1;");
    write(std::string("assets/") + kScript + ".gz", "gzip bytes of the script");
    write(std::string("assets/") + kScript + ".br", "brotli bytes of the script");
    write(std::string("assets/") + kStyle, "body{margin:0}");
    write("assets/fonts/inter.woff2", "wOF2 font bytes");
  }
  ~WebRoot() { std::filesystem::remove_all(path_); }
  const std::filesystem::path& path() const { return path_; }
  void write(const std::string& name, const std::string& bytes) const {
    std::ofstream(path_ / name, std::ios::binary) << bytes;
  }

 private:
  std::filesystem::path path_;
};

app::Config web_config(const WebRoot& root) {
  app::Config config = test_config();
  config.web.enabled = true;
  config.web.root = root.path().string();
  return config;
}

HttpResult get(std::uint16_t port, const std::string& target, const Headers& headers = {}) {
  return http_request(port, "GET", target, {}, headers);
}

void expect_page_security(const HttpResult& r, const std::string& csp = kCsp) {
  EXPECT_EQ(r.header("content-security-policy"), csp);
  EXPECT_EQ(r.header("x-content-type-options"), "nosniff");
  EXPECT_EQ(r.header("referrer-policy"), "no-referrer");
  EXPECT_EQ(r.header("permissions-policy"),
            "camera=(), microphone=(), geolocation=(), payment=(), usb=()");
  EXPECT_EQ(r.header("cross-origin-opener-policy"), "same-origin");
}

class WebTest : public ::testing::Test {
 protected:
  WebRoot root;
};

TEST_F(WebTest, TheAppsRoutesServeTheirPages) {
  TestServer server(web_config(root));
  const std::string uuid = kElectionId;
  for (const std::string& path : std::vector<std::string>{"/", "/elections/" + uuid, "/receipts",
                                                          "/verify/" + uuid, "/receipts?r=abc"}) {
    auto r = get(server.port(), path);
    EXPECT_EQ(r.status, 200u) << path;
    EXPECT_EQ(r.body, "<!doctype html><title>portal.html</title>") << path;
    EXPECT_EQ(r.header("content-type"), "text/html; charset=utf-8") << path;
    EXPECT_EQ(r.header("cache-control"), "no-cache") << path;
    EXPECT_EQ(r.header("vary"), "Accept-Encoding") << path;
    EXPECT_EQ(r.header("content-encoding"), "") << path;
    EXPECT_FALSE(r.header("etag").empty()) << path;
    EXPECT_EQ(r.header("strict-transport-security"), "") << path;
    expect_page_security(r);
  }
  auto booth = get(server.port(), "/vote/" + uuid);
  EXPECT_EQ(booth.status, 200u);
  EXPECT_EQ(booth.body, "<!doctype html><title>booth.html</title>");
  expect_page_security(booth);
  EXPECT_NE(booth.header("etag"), get(server.port(), "/").header("etag"));

  // Anything else outside the API is the 404 page, which is HTML with the same fields
  // (no ETag: nothing to revalidate).
  for (const std::string& path : std::vector<std::string>{
           "/nope", "/vote/not-an-election", "/vote/" + uuid + "/x", "/receipts/x", "/elections/",
           "/vote", "/index.html", "/assets/missing.js", "/assets/" + std::string(kScript) + ".br",
           "/a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p/q/r/s", "/api"}) {
    auto r = get(server.port(), path);
    EXPECT_EQ(r.status, 404u) << path;
    EXPECT_EQ(r.body, "<!doctype html><title>404.html</title>") << path;
    EXPECT_EQ(r.header("content-type"), "text/html; charset=utf-8") << path;
    EXPECT_EQ(r.header("cache-control"), "no-cache") << path;
    EXPECT_EQ(r.header("etag"), "") << path;
    expect_page_security(r);
  }
  // The API keeps its problem details, and other methods their 404 problem.
  for (const char* path : {"/api/v1/nothing-here", "/api/", "/api/v1/elections/x/y/z"}) {
    auto r = get(server.port(), path);
    EXPECT_EQ(r.status, 404u) << path;
    EXPECT_EQ(r.header("content-type"), "application/problem+json") << path;
    EXPECT_EQ(r.header("x-content-type-options"), "nosniff") << path;
    EXPECT_EQ(r.header("content-security-policy"), "") << path;
  }
  auto post = http_request(server.port(), "POST", "/nope", "{}");
  EXPECT_EQ(post.status, 404u);
  EXPECT_EQ(post.header("content-type"), "application/problem+json");
  EXPECT_EQ(get(server.port(), "/livez").status, 200u);
  EXPECT_TRUE(metrics_show(
      server.port(), R"(http_requests_total{method="GET",route="/vote/{id}",status="200"} 1)"));
}

TEST_F(WebTest, HeadAnswersAsGetWithoutTheBody) {
  TestServer server(web_config(root));
  auto get_answer = get(server.port(), std::string("/vote/") + kElectionId);
  auto head = http_request(server.port(), "HEAD", std::string("/vote/") + kElectionId);
  EXPECT_EQ(head.status, 200u);
  EXPECT_EQ(head.body, "");
  EXPECT_EQ(head.header("content-length"), std::to_string(get_answer.body.size()));
  EXPECT_EQ(head.header("etag"), get_answer.header("etag"));
  expect_page_security(head);
  auto missing = http_request(server.port(), "HEAD", "/nope");
  EXPECT_EQ(missing.status, 404u);
  EXPECT_EQ(missing.body, "");
  auto asset = http_request(server.port(), "HEAD", std::string("/assets/") + kScript, {},
                            {{"Accept-Encoding", "br"}});
  EXPECT_EQ(asset.status, 200u);
  EXPECT_EQ(asset.header("content-encoding"), "br");
  EXPECT_EQ(asset.header("content-length"), std::to_string(26));
}

TEST_F(WebTest, EncodingFollowsAcceptEncodingAndEachHasItsETag) {
  TestServer server(web_config(root));
  struct Case {
    const char* accept;
    const char* encoding;
    const char* body;
  };
  const Case cases[] = {
      {"gzip, deflate, br, zstd", "br", "brotli bytes of portal.html"},
      {"gzip, deflate", "gzip", "gzip bytes of portal.html"},
      {"br;q=0, gzip;q=0.8", "gzip", "gzip bytes of portal.html"},
      {" GZIP ; Q=1 , BR ; q=0 ", "gzip", "gzip bytes of portal.html"},
      {"gzip;q=0, br;q=0", "", "<!doctype html><title>portal.html</title>"},
      {"identity", "", "<!doctype html><title>portal.html</title>"},
      {"*", "br", "brotli bytes of portal.html"},
      {"", "", "<!doctype html><title>portal.html</title>"},
  };
  std::map<std::string, std::string> etag_by_encoding;
  for (const auto& c : cases) {
    Headers headers;
    if (*c.accept) headers.emplace_back("Accept-Encoding", c.accept);
    auto r = get(server.port(), "/", headers);
    EXPECT_EQ(r.status, 200u) << c.accept;
    EXPECT_EQ(r.header("content-encoding"), c.encoding) << c.accept;
    EXPECT_EQ(r.body, c.body) << c.accept;
    EXPECT_EQ(r.header("vary"), "Accept-Encoding") << c.accept;
    EXPECT_EQ(r.header("content-type"), "text/html; charset=utf-8") << c.accept;
    auto [it, first] = etag_by_encoding.emplace(c.encoding, r.header("etag"));
    EXPECT_EQ(it->second, r.header("etag")) << "one ETag per representation";
  }
  ASSERT_EQ(etag_by_encoding.size(), 3u);
  EXPECT_NE(etag_by_encoding["br"], etag_by_encoding["gzip"]);
  EXPECT_NE(etag_by_encoding["br"], etag_by_encoding[""]);
  EXPECT_NE(etag_by_encoding["gzip"], etag_by_encoding[""]);
  for (const auto& [encoding, etag] : etag_by_encoding) {
    EXPECT_TRUE(etag.size() > 2 && etag.front() == '"' && etag.back() == '"') << "strong: " << etag;
  }

  // 304 when the representation chosen is the one named.
  auto not_modified = get(server.port(), "/",
                          {{"Accept-Encoding", "br"}, {"If-None-Match", etag_by_encoding["br"]}});
  EXPECT_EQ(not_modified.status, 304u);
  EXPECT_EQ(not_modified.body, "");
  EXPECT_EQ(not_modified.header("etag"), etag_by_encoding["br"]);
  EXPECT_EQ(not_modified.header("cache-control"), "no-cache");
  EXPECT_EQ(not_modified.header("vary"), "Accept-Encoding");
  EXPECT_EQ(not_modified.header("content-length"), "");
  auto listed =
      get(server.port(), "/",
          {{"Accept-Encoding", "gzip"}, {"If-None-Match", "\"x\", " + etag_by_encoding["gzip"]}});
  EXPECT_EQ(listed.status, 304u);
  auto other = get(server.port(), "/",
                   {{"Accept-Encoding", "gzip"}, {"If-None-Match", etag_by_encoding["br"]}});
  EXPECT_EQ(other.status, 200u);
  EXPECT_EQ(other.body, "gzip bytes of portal.html");
  auto other_page = get(server.port(), std::string("/vote/") + kElectionId,
                        {{"Accept-Encoding", "br"}, {"If-None-Match", etag_by_encoding["br"]}});
  EXPECT_EQ(other_page.status, 200u);
  auto missing = get(server.port(), "/nope", {{"Accept-Encoding", "br"}, {"If-None-Match", "*"}});
  EXPECT_EQ(missing.status, 404u) << "the 404 page is never a 304";
  EXPECT_EQ(missing.header("content-encoding"), "br");
  EXPECT_EQ(missing.body, "brotli bytes of 404.html");
}

TEST_F(WebTest, AssetsAreImmutableAndTyped) {
  TestServer server(web_config(root));
  auto script = get(server.port(), std::string("/assets/") + kScript);
  EXPECT_EQ(script.status, 200u);
  EXPECT_EQ(script.body, "export const booth = 1;");
  EXPECT_EQ(script.header("content-type"), "text/javascript; charset=utf-8");
  EXPECT_EQ(script.header("cache-control"), "public, max-age=31536000, immutable");
  EXPECT_EQ(script.header("vary"), "Accept-Encoding");
  EXPECT_EQ(script.header("x-content-type-options"), "nosniff");
  EXPECT_EQ(script.header("content-security-policy"), "");
  auto br =
      get(server.port(), std::string("/assets/") + kScript, {{"Accept-Encoding", "gzip, br"}});
  EXPECT_EQ(br.header("content-encoding"), "br");
  EXPECT_EQ(br.body, "brotli bytes of the script");
  auto gz = get(server.port(), std::string("/assets/") + kScript, {{"Accept-Encoding", "gzip"}});
  EXPECT_EQ(gz.body, "gzip bytes of the script");
  EXPECT_NE(gz.header("etag"), br.header("etag"));

  // Without siblings: identity whatever is accepted.
  auto style = get(server.port(), std::string("/assets/") + kStyle, {{"Accept-Encoding", "br"}});
  EXPECT_EQ(style.status, 200u);
  EXPECT_EQ(style.header("content-type"), "text/css; charset=utf-8");
  EXPECT_EQ(style.header("content-encoding"), "");
  EXPECT_EQ(style.body, "body{margin:0}");

  auto font = get(server.port(), "/assets/fonts/inter.woff2");
  EXPECT_EQ(font.status, 200u);
  EXPECT_EQ(font.header("content-type"), "font/woff2");
  EXPECT_EQ(font.header("cache-control"), "public, max-age=31536000, immutable");
}

TEST_F(WebTest, WebConfigAndTheCspNameTheApi) {
  {
    TestServer server(web_config(root));
    auto r = get(server.port(), "/web-config.json");
    EXPECT_EQ(r.status, 200u);
    EXPECT_EQ(r.header("content-type"), "application/json");
    EXPECT_EQ(r.header("cache-control"), "no-cache");
    EXPECT_EQ(json::parse(r.body), json({{"apiBaseUrl", ""}}));
  }
  app::Config config = web_config(root);
  config.web.api_base_url = "https://api.example.org/observernet";
  TestServer server(config);
  auto r = get(server.port(), "/web-config.json");
  EXPECT_EQ(json::parse(r.body), json({{"apiBaseUrl", "https://api.example.org/observernet"}}));
  auto page = get(server.port(), "/");
  std::string csp = kCsp;
  csp.replace(csp.find("connect-src 'self'"), 18, "connect-src 'self' https://api.example.org");
  expect_page_security(page, csp);
}

TEST_F(WebTest, HstsWhenConfiguredOnEveryResponse) {
  app::Config config = web_config(root);
  config.http.hsts_max_age = 31536000;
  TestServer server(config);
  for (const std::string& path :
       std::vector<std::string>{"/", "/nope", std::string("/assets/") + kScript, "/livez",
                                "/api/v1/public/elections", "/api/v1/nothing"}) {
    auto r = get(server.port(), path);
    EXPECT_EQ(r.header("strict-transport-security"), "max-age=31536000") << path;
    EXPECT_EQ(r.header("x-content-type-options"), "nosniff") << path;
  }
}

TEST_F(WebTest, ARootThatCannotBeServedStopsTheStart) {
  app::Config config = web_config(root);
  config.web.root = (root.path() / "nowhere").string();
  EXPECT_THROW(app::App app(config), app::ConfigError);
  config.web.root = root.path().string();
  config.web.max_bytes = 1024;
  root.write("assets/big.js", std::string(2048, 'x'));
  EXPECT_THROW(app::App app(config), app::ConfigError);
  config.web.enabled = false;
  EXPECT_NO_THROW(app::App app(config));

  auto child = spawn({"serve", "--port", "0"},
                     {"OBSERVERNET_DATABASE_URL=" + required_env("OBSERVERNET_TEST_DATABASE_URL"),
                      "OBSERVERNET_AUTH_VOTER_PEPPER=" + std::string(kTestVoterPepper),
                      "OBSERVERNET_AUTH_MASTER_KEY=" + std::string(kTestMasterKey),
                      "OBSERVERNET_AUTH_LOG_KEY=" + std::string(kTestLogKey),
                      "OBSERVERNET_WEB_ROOT=" + (root.path() / "nowhere").string()});
  EXPECT_EQ(child.wait_exit(), 2) << child.output;
  EXPECT_NE(child.output.find("invalid config: web.root:"), std::string::npos) << child.output;
}

// http.routes = web: the web front end's own pods serve the pages and the probes only.
TEST_F(WebTest, TheWebRouteSetServesPagesAndProbesOnly) {
  app::Config config = web_config(root);
  config.routes = app::RouteSet::web;
  {
    TestServer server(config);
    EXPECT_EQ(get(server.port(), "/").status, 200u);
    EXPECT_EQ(get(server.port(), std::string("/assets/") + kScript).status, 200u);
    EXPECT_EQ(get(server.port(), "/web-config.json").status, 200u);
    EXPECT_EQ(get(server.port(), "/livez").status, 200u);
    EXPECT_EQ(get(server.port(), "/metrics").status, 200u);
    auto api = get(server.port(), "/api/v1/public/elections");
    EXPECT_EQ(api.status, 404u);
    EXPECT_EQ(api.header("content-type"), "application/problem+json");
    EXPECT_EQ(http_request(server.port(), "POST", "/api/v1/voting/token", "{}").status, 404u);
  }
  config.web.enabled = false;
  EXPECT_THROW(app::App app(config), app::ConfigError) << "a web pod without pages";
  // The token-signing pods serve no pages, whatever web.* says.
  config = web_config(root);
  config.routes = app::RouteSet::token;
  config.web.root = (root.path() / "nowhere").string();
  app::App token_pod(config);
  for (const auto& route : token_pod.router().routes()) {
    EXPECT_FALSE(api::is_web_route(route->path_template)) << route->path_template;
  }
}

// The web front end's pods as deployed: the pages, with neither PostgreSQL nor Redis and
// no credential for either; a URL for one stops the process at start.
TEST_F(WebTest, AWebProcessNeedsNoDatabaseOrRedis) {
  const std::vector<std::string> env = {"OBSERVERNET_HTTP_ROUTES=web",
                                        "OBSERVERNET_WEB_ROOT=" + root.path().string(),
                                        "OBSERVERNET_SHUTDOWN_DRAIN_DELAY_MS=100"};
  auto child = spawn({"serve", "--port", "0"}, env);
  static const std::regex listening(R"(listening .*port=(\d+))");
  ASSERT_TRUE(child.wait_for_output(listening, std::chrono::seconds(30))) << child.output;
  std::smatch m;
  std::regex_search(child.output, m, listening);
  const auto port = static_cast<std::uint16_t>(std::stoi(m[1]));
  EXPECT_EQ(get(port, "/").status, 200u);
  EXPECT_EQ(get(port, std::string("/vote/") + kElectionId).status, 200u);
  auto ready = get(port, "/readyz");
  EXPECT_EQ(ready.status, 200u);
  EXPECT_EQ(ready.body, R"({"status":"ready"})");
  auto metrics = get(port, "/metrics");
  EXPECT_EQ(metrics.body.find("dependency_up"), std::string::npos);
  // The pool exists but never tried a connection.
  for (const char* series : {R"(pool_connects_total{pool="postgres",result="ok"} 0)",
                             R"(pool_connects_total{pool="postgres",result="error"} 0)"}) {
    EXPECT_NE(metrics.body.find(series), std::string::npos) << series;
  }
  ::kill(child.pid, SIGTERM);
  EXPECT_EQ(child.wait_exit(), 0) << child.output;

  for (const std::string& url :
       {"OBSERVERNET_DATABASE_URL=" + required_env("OBSERVERNET_TEST_DATABASE_URL"),
        "OBSERVERNET_REDIS_URL=" + required_env("OBSERVERNET_TEST_REDIS_URL")}) {
    auto with_url = env;
    with_url.push_back(url);
    auto refused = spawn({"serve", "--port", "0"}, with_url);
    EXPECT_EQ(refused.wait_exit(), 2) << refused.output;
    EXPECT_NE(refused.output.find("must not be given to http.routes = web"), std::string::npos)
        << refused.output;
  }
}

// The booth's and the receipt page's access log lines leave out the client's address,
// as the voting API's do.
TEST_F(WebTest, PagesLeaveNoAddressInTheLog) {
  auto [child, port] = spawn_server({"OBSERVERNET_WEB_ROOT=" + root.path().string()});
  EXPECT_EQ(get(port, std::string("/vote/") + kElectionId).status, 200u);
  EXPECT_EQ(get(port, "/receipts").status, 200u);
  EXPECT_EQ(get(port, "/").status, 200u);
  ::kill(child.pid, SIGTERM);
  EXPECT_EQ(child.wait_exit(), 0);
  std::size_t voter_lines = 0, portal_lines = 0;
  std::istringstream lines(child.output);
  for (std::string line; std::getline(lines, line);) {
    if (line.find("access") == std::string::npos) continue;
    if (line.find("route=/vote/{id}") != std::string::npos ||
        line.find("route=/receipts") != std::string::npos) {
      ++voter_lines;
      EXPECT_NE(line.find("client=hidden"), std::string::npos) << line;
      EXPECT_EQ(line.find("127.0.0.1"), std::string::npos) << line;
    } else if (line.find("route=/ ") != std::string::npos) {
      ++portal_lines;
      EXPECT_NE(line.find("client=hidden"), std::string::npos) << line;
    }
  }
  EXPECT_EQ(voter_lines, 2u) << child.output;
  EXPECT_EQ(portal_lines, 1u) << child.output;
}

// ---- CORS on the API ---------------------------------------------------------------------

constexpr const char* kAllowed = "https://vote.example.org";
constexpr const char* kPublicSite = "https://elections.example.net";
constexpr const char* kStranger = "https://evil.example";
constexpr const char* kExposed = "RateLimit, RateLimit-Policy, Retry-After, ETag, X-Request-Id";

app::Config cors_config(const WebRoot& root) {
  app::Config config = web_config(root);
  config.http.cors_origins = {kAllowed};
  config.web.public_url = std::string(kPublicSite) + "/vote-here";
  return config;
}

HttpResult token_request(std::uint16_t port, const std::string& origin) {
  Headers headers = {{"Content-Type", "application/json"}};
  if (!origin.empty()) headers.emplace_back("Origin", origin);
  return http_request(port, "POST", "/api/v1/voting/token", "{}", headers);
}

TEST_F(WebTest, OnlyAllowedOriginsReachTheVotingRoutes) {
  TestServer server(cors_config(root));
  // A cross-site "simple" POST never reaches the handler (which would answer 4xx on {}).
  for (const char* origin : {kStranger, "null", "https://vote.example.org.evil.example",
                             "http://vote.example.org", "http://127.0.0.1:1"}) {
    auto r = token_request(server.port(), origin);
    EXPECT_EQ(r.status, 403u) << origin;
    EXPECT_EQ(r.header("content-type"), "application/problem+json") << origin;
    EXPECT_EQ(json::parse(r.body)["code"], "origin_not_allowed") << origin;
    EXPECT_EQ(r.header("access-control-allow-origin"), "") << origin;
  }
  // The allow-list, web.public_url's origin and the server's own origin get through.
  for (const char* origin : {kAllowed, kPublicSite, "http://127.0.0.1"}) {
    auto r = token_request(server.port(), origin);
    EXPECT_EQ(r.status, 400u) << origin << r.body;
    EXPECT_EQ(json::parse(r.body)["code"], "bad_request") << origin << r.body;
    EXPECT_EQ(r.header("access-control-allow-origin"), origin);
    EXPECT_EQ(r.header("vary"), "Origin");
    EXPECT_EQ(r.header("access-control-expose-headers"), kExposed);
  }
  // Without Origin (not a browser's cross-site call): no access, but the answer says it
  // varies by Origin, so that no shared cache hands it to a page.
  auto plain = token_request(server.port(), "");
  EXPECT_EQ(json::parse(plain.body)["code"], "bad_request");
  EXPECT_EQ(plain.header("access-control-allow-origin"), "");
  EXPECT_EQ(plain.header("vary"), "Origin");

  // Admin routes likewise: refused before authentication.
  auto admin = http_request(
      server.port(), "GET", "/api/v1/elections", {},
      {{"Origin", kStranger}, {"Authorization", std::string("Bearer ") + kTestAdminKey}});
  EXPECT_EQ(admin.status, 403u);
  EXPECT_EQ(json::parse(admin.body)["code"], "origin_not_allowed");
}

TEST_F(WebTest, PublicReadsAnswerAnyOriginUnlessConfiguredOtherwise) {
  {
    TestServer server(cors_config(root));
    for (const std::string& path : std::vector<std::string>{
             std::string("/api/v1/public/elections"),
             std::string("/api/v1/elections/") + kElectionId + "/token-key",
             "/api/v1/voting/receipts/" + std::string(64, 'a'), "/api/v1/public/log-key"}) {
      auto r = get(server.port(), path, {{"Origin", kStranger}});
      EXPECT_NE(r.status, 403u) << path;
      EXPECT_EQ(r.header("access-control-allow-origin"), "*") << path;
      EXPECT_EQ(r.header("access-control-expose-headers"), kExposed) << path;
      EXPECT_EQ(r.header("vary"), "") << path;
      // The same answer without Origin: a shared cache may hand it to any page.
      EXPECT_EQ(get(server.port(), path).header("access-control-allow-origin"), "*") << path;
    }
    // An unknown API path: a 404 problem, readable by an allowed origin only.
    auto missing = get(server.port(), "/api/v1/nothing", {{"Origin", kAllowed}});
    EXPECT_EQ(missing.status, 404u);
    EXPECT_EQ(missing.header("access-control-allow-origin"), kAllowed);
    EXPECT_EQ(get(server.port(), "/api/v1/nothing", {{"Origin", kStranger}}).status, 404u);
    // Pages are not the API: no CORS fields.
    auto page = get(server.port(), "/", {{"Origin", kStranger}});
    EXPECT_EQ(page.status, 200u);
    EXPECT_EQ(page.header("access-control-allow-origin"), "");
  }
  app::Config config = cors_config(root);
  config.http.cors_public_any_origin = false;
  TestServer server(config);
  auto stranger = get(server.port(), "/api/v1/public/elections", {{"Origin", kStranger}});
  EXPECT_EQ(stranger.status, 200u) << "a public read is never refused";
  EXPECT_EQ(stranger.header("access-control-allow-origin"), "");
  auto allowed = get(server.port(), "/api/v1/public/elections", {{"Origin", kAllowed}});
  EXPECT_EQ(allowed.header("access-control-allow-origin"), kAllowed);
  EXPECT_EQ(allowed.header("vary"), "Origin");
}

TEST_F(WebTest, OptionsAnswersPreflightsAndAllow) {
  TestServer server(cors_config(root));
  auto preflight = [&](const std::string& path, const std::string& origin) {
    return http_request(server.port(), "OPTIONS", path, {},
                        {{"Origin", origin},
                         {"Access-Control-Request-Method", "POST"},
                         {"Access-Control-Request-Headers", "content-type"}});
  };
  auto ok = preflight("/api/v1/voting/token", kAllowed);
  EXPECT_EQ(ok.status, 204u);
  EXPECT_EQ(ok.body, "");
  EXPECT_EQ(ok.header("access-control-allow-origin"), kAllowed);
  EXPECT_EQ(ok.header("access-control-allow-methods"), "POST");
  EXPECT_EQ(ok.header("access-control-allow-headers"),
            "Content-Type, Authorization, If-None-Match, X-Request-Id");
  EXPECT_EQ(ok.header("access-control-max-age"), "600");
  EXPECT_EQ(ok.header("vary"), "Origin");

  auto refused = preflight("/api/v1/voting/token", kStranger);
  EXPECT_EQ(refused.status, 403u);
  EXPECT_EQ(json::parse(refused.body)["code"], "origin_not_allowed");
  EXPECT_EQ(refused.header("access-control-allow-origin"), "");

  auto public_read = preflight("/api/v1/public/elections", kStranger);
  EXPECT_EQ(public_read.status, 204u);
  EXPECT_EQ(public_read.header("access-control-allow-origin"), "*");
  EXPECT_EQ(public_read.header("access-control-allow-methods"), "GET, HEAD");

  EXPECT_EQ(preflight("/api/v1/nothing", kAllowed).status, 404u);

  auto plain = http_request(server.port(), "OPTIONS", "/api/v1/public/elections");
  EXPECT_EQ(plain.status, 204u);
  EXPECT_EQ(plain.header("allow"), "GET, HEAD, OPTIONS");
  EXPECT_EQ(plain.header("access-control-allow-origin"), "");
  auto election =
      http_request(server.port(), "OPTIONS", "/api/v1/elections/" + std::string(kElectionId));
  EXPECT_EQ(election.status, 204u);
  EXPECT_EQ(election.header("allow"), "GET, HEAD, PATCH, DELETE, OPTIONS");
  auto page = http_request(server.port(), "OPTIONS", std::string("/vote/") + kElectionId);
  EXPECT_EQ(page.status, 204u);
  EXPECT_EQ(page.header("allow"), "GET, HEAD, OPTIONS");
  EXPECT_EQ(http_request(server.port(), "OPTIONS", "/api/v1/nothing").status, 404u);
  EXPECT_TRUE(metrics_show(
      server.port(),
      R"(http_requests_total{method="OPTIONS",route="/api/v1/voting/token",status="204"} 1)"));
}

TEST_F(WebTest, TheRateLimitersAnswersCarryCorsAndPreflightsAreNotCounted) {
  app::Config config = cors_config(root);
  config.ratelimit.enabled = true;
  config.ratelimit.trusted_proxies = cache::CidrList::parse("127.0.0.1");
  config.ratelimit.redis_timeout = 250ms;
  config.ratelimit.public_reads = {1,
                                   60s + std::chrono::milliseconds(std::random_device{}() % 1000)};
  TestServer server(config);
  std::random_device random;
  const std::string client =
      "198.51." + std::to_string(1 + random() % 254) + "." + std::to_string(1 + random() % 254);
  const Headers headers = {{"Origin", kStranger}, {"X-Forwarded-For", client}};
  auto first = get(server.port(), "/api/v1/public/elections", headers);
  EXPECT_EQ(first.status, 200u);
  auto limited = get(server.port(), "/api/v1/public/elections", headers);
  ASSERT_EQ(limited.status, 429u);
  EXPECT_EQ(limited.header("access-control-allow-origin"), "*");
  EXPECT_EQ(limited.header("access-control-expose-headers"), kExposed);
  EXPECT_FALSE(limited.header("retry-after").empty());
  for (int i = 0; i < 3; ++i) {
    auto preflight = http_request(server.port(), "OPTIONS", "/api/v1/public/elections", {},
                                  {{"Origin", kStranger},
                                   {"Access-Control-Request-Method", "GET"},
                                   {"X-Forwarded-For", client}});
    EXPECT_EQ(preflight.status, 204u);
    EXPECT_EQ(preflight.header("ratelimit"), "");
  }
  // Pages and assets are not counted either.
  for (int i = 0; i < 3; ++i) {
    auto page = get(server.port(), "/", {{"X-Forwarded-For", client}});
    EXPECT_EQ(page.status, 200u);
    EXPECT_EQ(page.header("ratelimit"), "");
  }
}

// ---- API additions for the pages ---------------------------------------------------------

TEST_F(WebTest, ImportLinksTurnoutAndReceiptsServeThePages) {
  TestServer server(cors_config(root));
  const auto port = server.port();
  json definition = {
      {"title", "Board 2026"},
      {"contests",
       {{{"id", "chair"},
         {"title", "Chair"},
         {"options", {{{"id", "ann"}, {"title", "Ann"}}, {{"id", "ben"}, {"title", "Ben"}}}}}}}};
  auto r = http_request(port, "POST", "/api/v1/elections", definition.dump(), admin_headers());
  ASSERT_EQ(r.status, 201u) << r.body;
  const std::string id = json::parse(r.body)["id"];
  json voters = {{"voters", {{{"voterId", "ann.voter@example.org"}}, {{"voterId", "b&b #2"}}}}};
  r = http_request(port, "POST", "/api/v1/elections/" + id + "/voters", voters.dump(),
                   admin_headers());
  ASSERT_EQ(r.status, 201u) << r.body;
  const json imported = json::parse(r.body);
  ASSERT_EQ(imported["credentials"].size(), 2u);
  std::map<std::string, std::string> credentials;
  for (const auto& c : imported["credentials"]) {
    const std::string voter = c["voterId"], credential = c["credential"];
    credentials[voter] = credential;
    const std::string encoded = voter == "b&b #2" ? "b%26b%20%232" : "ann.voter%40example.org";
    EXPECT_EQ(c["link"], std::string(kPublicSite) + "/vote-here/vote/" + id + "#voter=" + encoded +
                             "&credential=" + credential +
                             "&voterHash=" + c["voterHash"].get<std::string>());
  }
  r = http_request(port, "POST", "/api/v1/elections/" + id + "/open", {}, admin_headers());
  ASSERT_EQ(r.status, 200u) << r.body;

  auto view = json::parse(get(port, "/api/v1/public/elections/" + id).body);
  EXPECT_EQ(view["votersRegistered"], 2);
  EXPECT_EQ(view["ballotsCast"], 0);
  bool listed = false;
  const json list = json::parse(get(port, "/api/v1/public/elections?limit=100").body);
  for (const auto& e : list["elections"]) {
    if (e["id"] != id) continue;
    listed = true;
    EXPECT_EQ(e["votersRegistered"], 2);
  }
  EXPECT_TRUE(listed);

  // `observernet vote`'s flow, against the real server: its token key is the one the
  // audit chain announced.
  client::HttpClient http("http://127.0.0.1:" + std::to_string(port));
  const auto outcome = client::cast_vote(
      http,
      {id, "ann.voter@example.org", credentials["ann.voter@example.org"], {{"chair", "ann"}}});
  auto receipt = get(port, "/api/v1/voting/receipts/" + outcome.receipt);
  ASSERT_EQ(receipt.status, 200u) << receipt.body;
  EXPECT_EQ(json::parse(receipt.body)["electionId"], id);
  EXPECT_TRUE(eventually([&] {
    auto body = json::parse(get(port, "/api/v1/voting/receipts/" + outcome.receipt).body);
    return body["status"] == "sequenced" && body["electionId"] == id;
  }));

  // Without web.public_url, no links.
  TestServer plain(web_config(root));
  r = http_request(plain.port(), "POST", "/api/v1/elections", definition.dump(), admin_headers());
  const std::string other = json::parse(r.body)["id"];
  r = http_request(plain.port(), "POST", "/api/v1/elections/" + other + "/voters",
                   json({{"voters", {{{"voterId", "x"}}}}}).dump(), admin_headers());
  ASSERT_EQ(r.status, 201u) << r.body;
  EXPECT_FALSE(json::parse(r.body)["credentials"][0].contains("link"));
}

}  // namespace
}  // namespace observernet::testing
