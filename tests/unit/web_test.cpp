// The pure parts of serving the web front end: content coding negotiation, origins and
// the CORS verdicts, and reading a built site into memory.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "observernet/http/content_coding.hpp"
#include "observernet/http/cors.hpp"
#include "observernet/web/site.hpp"

namespace observernet {
namespace {

using http::ContentCoding;

TEST(ContentCodingTest, PrefersBrotliThenGzipWhenAcceptedAndPresent) {
  auto choose = [](std::string_view field, bool gzip = true, bool br = true) {
    return http::choose_content_coding(field, gzip, br);
  };
  EXPECT_EQ(choose("gzip, deflate, br, zstd"), ContentCoding::br);
  EXPECT_EQ(choose("gzip, deflate, br", true, false), ContentCoding::gzip);
  EXPECT_EQ(choose("gzip, deflate, br", false, false), ContentCoding::identity);
  EXPECT_EQ(choose("gzip"), ContentCoding::gzip);
  EXPECT_EQ(choose("br"), ContentCoding::br);
  EXPECT_EQ(choose("br", true, false), ContentCoding::identity);
  EXPECT_EQ(choose(""), ContentCoding::identity);
  EXPECT_EQ(choose("identity"), ContentCoding::identity);
  EXPECT_EQ(choose("deflate"), ContentCoding::identity);
}

TEST(ContentCodingTest, HonoursWeightsCaseAndSpaces) {
  auto choose = [](std::string_view field) {
    return http::choose_content_coding(field, true, true);
  };
  EXPECT_EQ(choose("br;q=0, gzip"), ContentCoding::gzip);
  EXPECT_EQ(choose("BR ; Q=0 ,GZip"), ContentCoding::gzip);
  EXPECT_EQ(choose("br;q=0.000, gzip;q=0"), ContentCoding::identity);
  EXPECT_EQ(choose("br;q=0.001"), ContentCoding::br);
  EXPECT_EQ(choose("  gzip ;  q=0.5 , br ; q=1.0 "), ContentCoding::br);
  // The client's preference wins over ours; ours (brotli) only breaks a tie.
  EXPECT_EQ(choose("gzip;q=1, br;q=0.1"), ContentCoding::gzip);
  EXPECT_EQ(choose("br;q=0.5, gzip;q=0.5"), ContentCoding::br);
  EXPECT_EQ(choose("gzip;q=0.9, *"), ContentCoding::br);
  EXPECT_EQ(choose("x-gzip"), ContentCoding::gzip);
  EXPECT_EQ(choose("*"), ContentCoding::br);
  EXPECT_EQ(choose("*;q=0"), ContentCoding::identity);
  EXPECT_EQ(choose("br;q=0, *"), ContentCoding::gzip);
  EXPECT_EQ(choose("gzip, *;q=0"), ContentCoding::gzip);
  EXPECT_EQ(choose("identity;q=0"), ContentCoding::identity) << "identity beats a 406";
  // Malformed weights accept nothing.
  EXPECT_EQ(choose("br;q=2, gzip;q=abc"), ContentCoding::identity);
  EXPECT_EQ(choose("br;q=1.5"), ContentCoding::identity);
  EXPECT_EQ(choose("br;q=0.1234"), ContentCoding::identity);
  EXPECT_EQ(choose(",,;,br"), ContentCoding::br);
}

TEST(OriginTest, ParsesAndNormalisesSerializedOrigins) {
  EXPECT_EQ(http::parse_origin("https://Vote.Example.ORG").value_or(""),
            "https://vote.example.org");
  EXPECT_EQ(http::parse_origin("https://vote.example.org:443").value_or(""),
            "https://vote.example.org");
  EXPECT_EQ(http::parse_origin("http://vote.example.org:80").value_or(""),
            "http://vote.example.org");
  EXPECT_EQ(http::parse_origin("http://vote.example.org:443").value_or(""),
            "http://vote.example.org:443");
  EXPECT_EQ(http::parse_origin("HTTP://127.0.0.1:8080").value_or(""), "http://127.0.0.1:8080");
  EXPECT_EQ(http::parse_origin("http://[::1]:3000").value_or(""), "http://[::1]:3000");
  for (const char* bad :
       {"", "null", "vote.example.org", "https://", "https://a.example/", "https://a.example/x",
        "ftp://a.example", "https://a.example:", "https://a.example:70000", "https://u@a.example",
        "https://a b", "https://-a.example", "https://a.example?q"}) {
    EXPECT_FALSE(http::parse_origin(bad)) << bad;
  }
  EXPECT_EQ(http::origin_of_url("https://api.example.org/observernet").value_or(""),
            "https://api.example.org");
  EXPECT_EQ(http::origin_of_url("http://127.0.0.1:8080/").value_or(""), "http://127.0.0.1:8080");
  EXPECT_FALSE(http::origin_of_url("https://api.example.org/x?y"));
  EXPECT_FALSE(http::origin_of_url("https://api.example.org#f"));
  EXPECT_FALSE(http::origin_of_url("https://u:p@api.example.org/"));
}

TEST(CorsPolicyTest, VerdictsByRouteAndOrigin) {
  using Verdict = http::CorsPolicy::Verdict;
  http::CorsOptions options;
  options.allowed_origins = {"https://vote.example.org"};
  options.is_public = [](std::string_view route) { return route.starts_with("/api/v1/public/"); };
  const http::CorsPolicy policy(options);
  const std::string_view host = "api.example.org";
  EXPECT_TRUE(policy.applies("/api/v1/voting/token"));
  EXPECT_FALSE(policy.applies("/vote/x"));
  EXPECT_EQ(policy.check("", host, "/api/v1/voting/token"), Verdict::none);
  EXPECT_EQ(policy.check("https://vote.example.org", host, "/api/v1/voting/token"),
            Verdict::allowed);
  EXPECT_EQ(policy.check("https://VOTE.example.org:443", host, "/api/v1/voting/token"),
            Verdict::allowed);
  EXPECT_EQ(policy.check("https://evil.example", host, "/api/v1/voting/token"), Verdict::refused);
  EXPECT_EQ(policy.check("null", host, "/api/v1/voting/token"), Verdict::refused);
  // Its own origin, whatever the list says.
  EXPECT_EQ(policy.check("https://api.example.org", host, "/api/v1/voting/token"),
            Verdict::allowed);
  EXPECT_EQ(policy.check("http://127.0.0.1:8080", "127.0.0.1:8080", "/api/v1/voting/token"),
            Verdict::allowed);
  EXPECT_EQ(policy.check("http://127.0.0.1:8081", "127.0.0.1:8080", "/api/v1/voting/token"),
            Verdict::refused);
  EXPECT_EQ(policy.check("https://evil.example", host, "/api/v1/public/elections"), Verdict::any);
  EXPECT_EQ(policy.check("https://evil.example", host, ""), Verdict::none) << "nothing matched";

  options.public_any_origin = false;
  const http::CorsPolicy strict(options);
  EXPECT_EQ(strict.check("https://evil.example", host, "/api/v1/public/elections"), Verdict::none);
  EXPECT_EQ(strict.check("https://vote.example.org", host, "/api/v1/public/elections"),
            Verdict::allowed);
}

TEST(PercentEncodeTest, KeepsOnlyUnreservedCharacters) {
  EXPECT_EQ(http::percent_encode("ann.voter@example.org"), "ann.voter%40example.org");
  EXPECT_EQ(http::percent_encode("a b&c=d#e/é~_-"), "a%20b%26c%3Dd%23e%2F%C3%A9~_-");
  EXPECT_EQ(http::percent_decode(http::percent_encode("x y%z")).value_or(""), "x y%z");
}

class SiteTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root = std::filesystem::temp_directory_path() /
           ("observernet-site-test-" + std::to_string(::getpid()));
    std::filesystem::remove_all(root);
    std::filesystem::create_directories(root / "assets" / "fonts");
    for (const char* page : {"booth.html", "portal.html", "404.html"}) write(page, page);
  }
  void TearDown() override { std::filesystem::remove_all(root); }
  void write(const std::string& name, const std::string& bytes) {
    std::ofstream(root / name, std::ios::binary) << bytes;
  }
  std::filesystem::path root;
};

TEST_F(SiteTest, ReadsPagesAssetsAndTheirPrecompressedSiblings) {
  write("booth.html.gz", "gz-booth");
  write("booth.html.br", "br-booth");
  write("assets/app.1a2b3c.js", "js");
  write("assets/app.1a2b3c.js.br", "br-js");
  write("assets/style.9f8e.css", "css");
  write("assets/fonts/x.woff2", "font");
  write("assets/orphan.svg.gz", "no file beside it");
  write("other.txt", "not served");
  const auto site = web::Site::load(root, 1 << 20);

  const auto& booth = site.booth();
  EXPECT_EQ(booth.content_type, "text/html; charset=utf-8");
  EXPECT_EQ(*booth.in(ContentCoding::identity).body, "booth.html");
  EXPECT_EQ(*booth.in(ContentCoding::gzip).body, "gz-booth");
  EXPECT_EQ(*booth.in(ContentCoding::br).body, "br-booth");
  const std::string tags[] = {booth.in(ContentCoding::identity).etag,
                              booth.in(ContentCoding::gzip).etag, booth.in(ContentCoding::br).etag};
  EXPECT_NE(tags[0], tags[1]);
  EXPECT_NE(tags[0], tags[2]);
  EXPECT_NE(tags[1], tags[2]);
  for (const auto& tag : tags) {
    EXPECT_TRUE(tag.size() > 2 && tag.front() == '"' && tag.back() == '"') << tag;
  }
  EXPECT_FALSE(site.portal().has(ContentCoding::gzip));

  const auto* js = site.asset("app.1a2b3c.js");
  ASSERT_NE(js, nullptr);
  EXPECT_EQ(js->content_type, "text/javascript; charset=utf-8");
  EXPECT_TRUE(js->has(ContentCoding::br));
  EXPECT_FALSE(js->has(ContentCoding::gzip));
  ASSERT_NE(site.asset("style.9f8e.css"), nullptr);
  EXPECT_EQ(site.asset("style.9f8e.css")->content_type, "text/css; charset=utf-8");
  ASSERT_NE(site.asset("fonts/x.woff2"), nullptr);
  EXPECT_EQ(site.asset("fonts/x.woff2")->content_type, "font/woff2");
  EXPECT_EQ(site.asset("app.1a2b3c.js.br"), nullptr);
  EXPECT_EQ(site.asset("orphan.svg.gz"), nullptr);
  EXPECT_EQ(site.asset("orphan.svg"), nullptr);
  EXPECT_EQ(site.asset("../other.txt"), nullptr);
  EXPECT_EQ(site.file_count(), 6u);
  EXPECT_EQ(site.total_bytes(), 10u + 8 + 8 + 11 + 8 + 2 + 5 + 3 + 4);

  EXPECT_TRUE(web::holds_pages(root));
}

TEST_F(SiteTest, RefusesARootWithoutThePagesOrOverItsLimit) {
  write("assets/big.js", std::string(4096, 'x'));
  EXPECT_NO_THROW(web::Site::load(root, 8192));
  try {
    web::Site::load(root, 4096);
    ADD_FAILURE() << "loaded past web.max_bytes";
  } catch (const web::SiteError& e) {
    EXPECT_NE(std::string(e.what()).find("web.max_bytes"), std::string::npos) << e.what();
  }
  std::filesystem::remove(root / "404.html");
  EXPECT_FALSE(web::holds_pages(root));
  try {
    web::Site::load(root, 1 << 20);
    ADD_FAILURE() << "loaded without 404.html";
  } catch (const web::SiteError& e) {
    EXPECT_NE(std::string(e.what()).find("404.html"), std::string::npos) << e.what();
  }
  EXPECT_THROW(web::Site::load(root / "nowhere", 1 << 20), web::SiteError);
}

TEST(ContentTypeTest, ByExtension) {
  EXPECT_EQ(web::content_type_for("a.js"), "text/javascript; charset=utf-8");
  EXPECT_EQ(web::content_type_for("a.svg"), "image/svg+xml");
  EXPECT_EQ(web::content_type_for("a.json"), "application/json");
  EXPECT_EQ(web::content_type_for("a.png"), "image/png");
  EXPECT_EQ(web::content_type_for("a.woff2"), "font/woff2");
  EXPECT_EQ(web::content_type_for("a.html"), "text/html; charset=utf-8");
  EXPECT_EQ(web::content_type_for("a.bin"), "application/octet-stream");
}

}  // namespace
}  // namespace observernet
