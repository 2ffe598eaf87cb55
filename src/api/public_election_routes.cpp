#include <limits>
#include <nlohmann/json.hpp>

#include "observernet/api/election_routes.hpp"
#include "observernet/api/support.hpp"
#include "observernet/service/public_elections.hpp"

namespace observernet::api {
namespace {

using boost::asio::awaitable;
using http::Method;
using http::Request;
using http::Response;
using nlohmann::json;

class PublicHandlers {
 public:
  explicit PublicHandlers(PublicRoutesDependencies deps)
      : published_(deps.published), cache_control_(public_cache_control(deps.public_max_age)) {}

  // GET /api/v1/public/elections?limit=&cursor=
  awaitable<Response> list(Request& request) {
    int limit = static_cast<int>(int_query(request, "limit", 1, 100).value_or(20));
    auto cached = co_await published_.list(limit, request.query_param("cursor"));
    co_return cached_response(request, cached, cache_control_);
  }

  // GET /api/v1/public/elections/{id}
  awaitable<Response> election(Request& request) {
    const std::string id = uuid_param(request, "id");
    if (auto hit = published_.cached_election(id)) {
      co_return cached_response(request, hit, cache_control_);
    }
    auto cached = co_await published_.election(id);
    co_return cached_response(request, cached, cache_control_);
  }

  // GET /api/v1/public/elections/{id}/audit?from=&limit=
  awaitable<Response> audit(Request& request) {
    std::string id = uuid_param(request, "id");
    auto from = int_query(request, "from", 1, std::numeric_limits<std::int64_t>::max());
    int limit = static_cast<int>(int_query(request, "limit", 1, 1000).value_or(100));
    auto page = co_await published_.audit(id, from.value_or(1), limit);
    json items = json::array();
    for (const auto& e : page.events) items.push_back(domain::to_json(e));
    Response r = json_response(200, {{"events", std::move(items)},
                                     {"next", page.next ? json(*page.next) : json(nullptr)}});
    r.set("Cache-Control", "no-cache");
    co_return r;
  }

 private:
  service::PublicElections& published_;
  const std::string cache_control_;
};

}  // namespace

void add_public_election_routes(http::Router& router, PublicRoutesDependencies deps) {
  auto h = std::make_shared<PublicHandlers>(deps);
  router.add(Method::get, "/api/v1/public/elections", [h](Request& r) { return h->list(r); });
  router.add(Method::get, "/api/v1/public/elections/{id}",
             [h](Request& r) { return h->election(r); });
  router.add(Method::get, "/api/v1/public/elections/{id}/audit",
             [h](Request& r) { return h->audit(r); });
}

}  // namespace observernet::api
