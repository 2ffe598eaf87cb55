#include "observernet/client/http_client.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

namespace observernet::client {
namespace {

TEST(BaseUrlTest, HostPortAndBasePath) {
  BaseUrl plain = parse_base_url("http://localhost");
  EXPECT_EQ(plain.host, "localhost");
  EXPECT_EQ(plain.port, 80);
  EXPECT_EQ(plain.base_path, "");
  EXPECT_EQ(plain.host_field(), "localhost");

  BaseUrl with_port = parse_base_url("http://127.0.0.1:8080/");
  EXPECT_EQ(with_port.host, "127.0.0.1");
  EXPECT_EQ(with_port.port, 8080);
  EXPECT_EQ(with_port.base_path, "") << "a lone trailing slash is no base path";
  EXPECT_EQ(with_port.host_field(), "127.0.0.1:8080");

  BaseUrl behind_proxy = parse_base_url("http://vote.example.org:8000/observernet/v1//");
  EXPECT_EQ(behind_proxy.host, "vote.example.org");
  EXPECT_EQ(behind_proxy.port, 8000);
  EXPECT_EQ(behind_proxy.base_path, "/observernet/v1");

  BaseUrl v6 = parse_base_url("http://[::1]:9000/x");
  EXPECT_EQ(v6.host, "::1");
  EXPECT_EQ(v6.port, 9000);
  EXPECT_EQ(v6.base_path, "/x");
  EXPECT_EQ(v6.host_field(), "[::1]:9000");
  EXPECT_EQ(parse_base_url("http://[::1]").host_field(), "[::1]");

  // RFC 3986 §3.1: schemes are case-insensitive.
  EXPECT_EQ(parse_base_url("HTTP://Example.org:80").host_field(), "Example.org");
  EXPECT_EQ(parse_base_url("http://h/a%2Fb").base_path, "/a%2Fb");
  EXPECT_EQ(parse_base_url("http://h:65535").port, 65535);
}

TEST(BaseUrlTest, HttpsIsRefusedWithAWayOut) {
  for (const char* url : {"https://vote.example.org", "HTTPS://localhost:8443/"}) {
    try {
      parse_base_url(url);
      ADD_FAILURE() << url << " was accepted";
    } catch (const std::invalid_argument& e) {
      std::string message = e.what();
      EXPECT_NE(message.find("https is not supported"), std::string::npos) << message;
      EXPECT_NE(message.find("TLS-terminating proxy"), std::string::npos) << message;
      EXPECT_NE(message.find("http://"), std::string::npos) << message;
    }
  }
}

TEST(BaseUrlTest, RejectsWhatIsNotAPlainBaseUrl) {
  for (const char* url : {
           "",
           "localhost:8080",
           "ftp://localhost",
           "http:/localhost",
           "http://",
           "http:///path",
           "http://:8080",
           "http://host:",
           "http://host:0",
           "http://host:65536",
           "http://host:8o",
           "http://host:+80",
           "http://host:123456",
           "http://user:secret@host",
           "http://host/path?query=1",
           "http://host/#fragment",
           "http://host/a b",
           "http://host/%zz",
           "http://host/%2",
           "http://ho st",
           "http://[::1",
           "http://[]",
           "http://[::1]8080",
           "http://[fe80::1%25eth0]",
       }) {
    EXPECT_THROW(parse_base_url(url), std::invalid_argument) << url;
  }
}

TEST(BaseUrlTest, ClientRefusesABadUrlBeforeConnecting) {
  EXPECT_THROW(HttpClient("https://localhost"), std::invalid_argument);
  HttpClient client("http://127.0.0.1:1/base/");
  EXPECT_EQ(client.base_url().base_path, "/base");
  EXPECT_THROW(client.request("FETCH", "/x"), std::invalid_argument);
  EXPECT_THROW(client.request("GET", "x"), std::invalid_argument);
}

TEST(ReplyTest, HeaderLookupIgnoresCase) {
  Reply reply{200, {{"Content-Type", "application/json"}, {"ETag", "\"v1\""}}, "{}"};
  EXPECT_EQ(reply.header("content-type"), "application/json");
  EXPECT_EQ(reply.header("ETAG"), "\"v1\"");
  EXPECT_EQ(reply.header("Retry-After"), "");
}

}  // namespace
}  // namespace observernet::client
