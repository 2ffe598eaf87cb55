// docs/api/openapi.yaml must describe every API and operations route the server
// registers; the web pages' routes are in web/README.md instead.
#include <gtest/gtest.h>

#include "observernet/api/web_routes.hpp"
#include "support.hpp"

namespace observernet::testing {
namespace {

TEST(OpenApiTest, EveryRegisteredRouteIsDocumented) {
  const std::string spec = read_file(OBSERVERNET_SOURCE_DIR "/docs/api/openapi.yaml");
  ASSERT_FALSE(spec.empty()) << "docs/api/openapi.yaml is missing";

  app::App app(test_config());  // builds the router; connects to nothing until start()
  ASSERT_FALSE(app.router().routes().empty());
  for (const auto& route : app.router().routes()) {
    if (api::is_web_route(route->path_template)) continue;
    auto path_at = spec.find("\n  " + route->path_template + ":\n");
    ASSERT_NE(path_at, std::string::npos) << route->path_template << " is not in openapi.yaml";
    std::string method(http::to_string(route->method));
    for (auto& c : method) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    // The operation must sit under this path, before the next path begins.
    auto next_path = spec.find("\n  /", path_at + 1);
    auto op_at = spec.find("\n    " + method + ":\n", path_at);
    EXPECT_TRUE(op_at != std::string::npos && op_at < next_path)
        << method << " " << route->path_template << " is not in openapi.yaml";
  }
}

}  // namespace
}  // namespace observernet::testing
