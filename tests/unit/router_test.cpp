#include "observernet/http/router.hpp"

#include <gtest/gtest.h>

#include <stdexcept>

namespace observernet::http {
namespace {

boost::asio::awaitable<Response> ok(Request&) {
  co_return Response::json(200, "{}");
}

class RouterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    router.add(Method::get, "/api/v1/elections", ok);
    router.add(Method::post, "/api/v1/elections", ok);
    router.add(Method::get, "/api/v1/elections/{id}", ok);
    router.add(Method::patch, "/api/v1/elections/{id}", ok);
    router.add(Method::post, "/api/v1/elections/{id}/open", ok);
    router.add(Method::get, "/api/v1/public/elections/{id}/proofs/inclusion", ok);
  }
  Router router;
};

TEST_F(RouterTest, MatchesLiteralAndTemplatedPaths) {
  auto m = router.match(Method::get, "/api/v1/elections");
  ASSERT_EQ(m.kind, RouteMatch::Kind::found);
  EXPECT_EQ(m.route->path_template, "/api/v1/elections");
  EXPECT_TRUE(m.params.empty());

  m = router.match(Method::get, "/api/v1/elections/abc-123");
  ASSERT_EQ(m.kind, RouteMatch::Kind::found);
  EXPECT_EQ(m.route->path_template, "/api/v1/elections/{id}");
  ASSERT_EQ(m.params.size(), 1u);
  EXPECT_EQ(m.params[0].first, "id");
  EXPECT_EQ(m.params[0].second, "abc-123");
}

TEST_F(RouterTest, SelectsTheRouteByMethod) {
  auto m = router.match(Method::post, "/api/v1/elections/e1/open");
  ASSERT_EQ(m.kind, RouteMatch::Kind::found);
  EXPECT_EQ(m.route->method, Method::post);
  EXPECT_EQ(m.route->path_template, "/api/v1/elections/{id}/open");
}

TEST_F(RouterTest, PercentDecodesParameters) {
  auto m = router.match(Method::get, "/api/v1/elections/a%20b");
  ASSERT_EQ(m.kind, RouteMatch::Kind::found);
  EXPECT_EQ(m.params[0].second, "a b");
  EXPECT_EQ(router.match(Method::get, "/api/v1/elections/a%2").kind, RouteMatch::Kind::not_found);
  EXPECT_EQ(router.match(Method::get, "/api/v1/elections/a%zz").kind, RouteMatch::Kind::not_found);
}

TEST_F(RouterTest, UnknownPathsAreNotFound) {
  for (const char* path :
       {"/", "", "api/v1/elections", "/api/v1/elections/", "/api/v1/elections//open",
        "/api/v1/elections/x/close", "/api/v2/elections", "/api/v1/elections/x/y/z"}) {
    EXPECT_EQ(router.match(Method::get, path).kind, RouteMatch::Kind::not_found) << path;
  }
}

TEST_F(RouterTest, WrongMethodIsMethodNotAllowedWithAllow) {
  auto m = router.match(Method::del, "/api/v1/elections/e1");
  EXPECT_EQ(m.kind, RouteMatch::Kind::method_not_allowed);
  EXPECT_EQ(m.allow, "GET, HEAD, PATCH");

  m = router.match(Method::put, "/api/v1/elections");
  EXPECT_EQ(m.kind, RouteMatch::Kind::method_not_allowed);
  EXPECT_EQ(m.allow, "GET, HEAD, POST");

  m = router.match(Method::get, "/api/v1/elections/e1/open");
  EXPECT_EQ(m.kind, RouteMatch::Kind::method_not_allowed);
  EXPECT_EQ(m.allow, "POST");
}

TEST_F(RouterTest, HeadIsServedByGet) {
  auto m = router.match(Method::head, "/api/v1/elections/e9");
  ASSERT_EQ(m.kind, RouteMatch::Kind::found);
  EXPECT_EQ(m.route->method, Method::get);  // the GET handler serves the HEAD
  EXPECT_EQ(m.params[0].second, "e9");
  EXPECT_EQ(router.match(Method::head, "/api/v1/elections/e9/open").kind,
            RouteMatch::Kind::method_not_allowed);
}

TEST_F(RouterTest, RejectsMalformedAndDuplicateTemplates) {
  EXPECT_THROW(router.add(Method::get, "no-slash", ok), std::invalid_argument);
  EXPECT_THROW(router.add(Method::get, "/a/{}", ok), std::invalid_argument);
  EXPECT_THROW(router.add(Method::get, "/a/{1x}", ok), std::invalid_argument);
  EXPECT_THROW(router.add(Method::get, "/a/x{id}", ok), std::invalid_argument);
  EXPECT_THROW(router.add(Method::get, "/api/v1/elections/{other}", ok), std::invalid_argument);
  EXPECT_NO_THROW(router.add(Method::del, "/api/v1/elections/{id}", ok));
}

TEST(RequestTest, QueryParametersAreDecoded) {
  Request r;
  r.query = "from=10&limit=5&q=a+b%21&empty=&flag";
  EXPECT_EQ(r.query_param("from"), "10");
  EXPECT_EQ(r.query_param("limit"), "5");
  EXPECT_EQ(r.query_param("q"), "a b!");
  EXPECT_EQ(r.query_param("empty"), "");
  EXPECT_EQ(r.query_param("flag"), "");
  EXPECT_EQ(r.query_param("missing"), std::nullopt);
}

TEST(RequestTest, HeaderLookupIgnoresCase) {
  Request r;
  r.headers = {{"Content-Type", "application/json"}, {"X-Request-Id", "abc"}};
  EXPECT_EQ(r.header("content-type"), "application/json");
  EXPECT_EQ(r.header("X-REQUEST-ID"), "abc");
  EXPECT_EQ(r.header("Authorization"), "");
}

}  // namespace
}  // namespace observernet::http

namespace observernet::http {
namespace {

boost::asio::awaitable<Response> page(Request&) {
  co_return Response::text(404, "page", "text/html");
}

TEST(RouterFallbackTest, TakesUnmatchedGetAndHeadWhereItApplies) {
  Router router;
  router.add(Method::get, "/api/v1/elections", ok);
  router.add(Method::post, "/submit", ok);
  router.set_fallback(page, [](std::string_view path) { return !path.starts_with("/api/"); });

  auto m = router.match(Method::get, "/no/such/page");
  ASSERT_EQ(m.kind, RouteMatch::Kind::found);
  EXPECT_EQ(m.route->path_template, "unmatched");
  m = router.match(Method::head, "/");
  ASSERT_EQ(m.kind, RouteMatch::Kind::found);
  EXPECT_EQ(m.route->method, Method::get);  // the GET handler serves the HEAD
  // Deeper than any route: still the fallback's.
  EXPECT_EQ(router.match(Method::get, "/a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p/q/r").kind,
            RouteMatch::Kind::found);

  // Not where it does not apply, nor for other methods, nor over a 405.
  EXPECT_EQ(router.match(Method::get, "/api/v1/nothing").kind, RouteMatch::Kind::not_found);
  EXPECT_EQ(router.match(Method::post, "/no/such/page").kind, RouteMatch::Kind::not_found);
  EXPECT_EQ(router.match(Method::get, "/submit").kind, RouteMatch::Kind::method_not_allowed);
  EXPECT_EQ(router.match(Method::get, "/api/v1/elections").route->path_template,
            "/api/v1/elections");
  EXPECT_TRUE(router.routes().size() == 2u) << "the fallback is not a route";
}

TEST(RouterFallbackTest, A405NamesATemplateOfThePath) {
  Router router;
  router.add(Method::post, "/api/v1/voting/token", ok);
  auto m = router.match(Method::options, "/api/v1/voting/token");
  ASSERT_EQ(m.kind, RouteMatch::Kind::method_not_allowed);
  EXPECT_EQ(m.allow, "POST");
  EXPECT_EQ(m.path_template, "/api/v1/voting/token");
  EXPECT_EQ(m.route, nullptr);
}

}  // namespace
}  // namespace observernet::http
