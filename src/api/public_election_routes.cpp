// Public reads of SPEC §7 that need no ballots: no auth, drafts invisible, cached.
#include <nlohmann/json.hpp>

#include "observernet/api/election_routes.hpp"
#include "observernet/api/support.hpp"
#include "observernet/api/voting_elections.hpp"
#include "observernet/cache/public_cache.hpp"
#include "observernet/domain/election.hpp"
#include "observernet/error.hpp"
#include "observernet/store/elections.hpp"
#include "observernet/store/voting.hpp"

namespace observernet::api {
namespace {

using boost::asio::awaitable;
using http::Method;
using http::Request;
using http::Response;
using nlohmann::json;

constexpr std::string_view kListFamily = "public:elections";

std::string election_key(std::string_view id) {
  return "public:election:" + std::string(id);
}

// ballotsCast moves while an election is open: what shows it lives this long at most.
constexpr std::chrono::seconds kBallotCountFreshness{5};

std::chrono::seconds redis_ttl(const domain::Election& e, std::chrono::seconds configured) {
  return e.status == domain::ElectionStatus::open ? std::min(configured, kBallotCountFreshness)
                                                  : configured;
}

// The cached body, kept alive by its cache entry for as long as the response needs it.
std::shared_ptr<const std::string> body_of(const cache::CachedBodyPtr& cached) {
  return {cached, &cached->body};
}

Error no_public_election() {
  return Error(ErrorCode::not_found, "No public election with this id.");
}

}  // namespace

awaitable<void> publish_election_change(cache::PublicCache& cache, store::VotingStore& voting,
                                        VotingElections& voting_elections,
                                        const domain::Election& election) {
  voting_elections.forget_status(election.id);
  if (election.status != domain::ElectionStatus::draft) {
    std::int64_t ballots = co_await voting.ballots_cast(election.id);
    std::string body = domain::to_public_json(election, ballots).dump();
    co_await cache.put(election_key(election.id), std::move(body), election.version,
                       redis_ttl(election, cache.default_ttl()));
  }
  co_await cache.bump_generation(std::string(kListFamily));
}

void add_public_election_routes(http::Router& router, ElectionRoutesDependencies deps) {
  const std::string cache_control =
      "public, max-age=" + std::to_string(deps.public_max_age.count());

  router.add(
      Method::get, "/api/v1/public/elections",
      [deps, cache_control](Request& request) -> awaitable<Response> {
        int limit = static_cast<int>(int_query(request, "limit", 1, 100).value_or(20));
        auto cursor = request.query_param("cursor");
        std::string generation = co_await deps.cache.generation(std::string(kListFamily));
        std::string key = std::string(kListFamily) + ":" + generation + ":" +
                          std::to_string(limit) + ":" + cursor.value_or("");
        cache::PublicCache::Loader load = [&]() -> awaitable<std::optional<cache::LoadedBody>> {
          auto page = co_await deps.elections.list(std::nullopt, true, limit, cursor);
          std::vector<std::string> ids;
          for (const auto& e : page.elections) ids.push_back(e.id);
          auto counts = co_await deps.voting.ballots_cast(std::move(ids));
          json items = json::array();
          for (const auto& e : page.elections) {
            auto count = counts.find(e.id);
            items.push_back(domain::to_public_json(e, count == counts.end() ? 0 : count->second));
          }
          json body = {{"elections", std::move(items)},
                       {"nextCursor", page.next_cursor ? json(*page.next_cursor) : json(nullptr)}};
          co_return cache::LoadedBody{body.dump(), 0,
                                      std::min(deps.cache.default_ttl(), kBallotCountFreshness)};
        };
        auto cached = co_await deps.cache.get(std::move(key), std::move(load));
        co_return conditional_response(request, body_of(cached), cached->etag, cache_control);
      });

  router.add(
      Method::get, "/api/v1/public/elections/{id}",
      [deps, cache_control](Request& request) -> awaitable<Response> {
        std::string id = uuid_param(request, "id");
        std::string key = election_key(id);
        if (auto hit = deps.cache.find_local(key)) {
          co_return conditional_response(request, body_of(hit), hit->etag, cache_control);
        }
        cache::PublicCache::Loader load = [&]() -> awaitable<std::optional<cache::LoadedBody>> {
          auto e = co_await deps.elections.find(id);
          if (!e || e->status == domain::ElectionStatus::draft) co_return std::nullopt;
          std::int64_t ballots = co_await deps.voting.ballots_cast(id);
          co_return cache::LoadedBody{domain::to_public_json(*e, ballots).dump(), e->version,
                                      redis_ttl(*e, deps.cache.default_ttl())};
        };
        auto cached = co_await deps.cache.get(std::move(key), std::move(load));
        if (!cached) throw no_public_election();
        co_return conditional_response(request, body_of(cached), cached->etag, cache_control);
      });

  router.add(Method::get, "/api/v1/public/elections/{id}/audit",
             [deps](Request& request) -> awaitable<Response> {
               std::string id = uuid_param(request, "id");
               auto from = int_query(request, "from", 1, std::numeric_limits<std::int64_t>::max());
               int limit = static_cast<int>(int_query(request, "limit", 1, 1000).value_or(100));
               auto events = co_await deps.elections.audit(id, from.value_or(1), limit, true);
               json items = json::array();
               for (const auto& e : events) items.push_back(domain::to_json(e));
               json next = events.size() == static_cast<std::size_t>(limit)
                               ? json(events.back().seq + 1)
                               : json(nullptr);
               Response r = json_response(200, {{"events", std::move(items)}, {"next", next}});
               r.set("Cache-Control", "no-cache");
               co_return r;
             });
}

}  // namespace observernet::api
