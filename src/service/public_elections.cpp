#include "observernet/service/public_elections.hpp"

#include <nlohmann/json.hpp>

#include "observernet/domain/election.hpp"
#include "observernet/error.hpp"
#include "observernet/service/voting_elections.hpp"
#include "observernet/store/elections.hpp"
#include "observernet/store/voting.hpp"

namespace observernet::service {
namespace {

using boost::asio::awaitable;
using nlohmann::json;

constexpr std::string_view kListFamily = "public:elections";

std::string election_key(std::string_view id) {
  return "public:election:" + std::string(id);
}

// ballotsCast moves while an election is open: what shows it lives this long at most.
constexpr std::chrono::seconds kBallotCountFreshness{5};

std::chrono::seconds cache_ttl(const domain::Election& e, std::chrono::seconds configured) {
  return e.status == domain::ElectionStatus::open ? std::min(configured, kBallotCountFreshness)
                                                  : configured;
}

Error no_public_election() {
  return Error(ErrorCode::not_found, "No public election with this id.");
}

}  // namespace

PublicElections::PublicElections(store::ElectionStore& elections, store::VotingStore& voting,
                                 VotingElections& voting_elections, cache::BodyCache& cache,
                                 std::chrono::seconds results_ttl)
    : elections_(elections),
      voting_(voting),
      voting_elections_(voting_elections),
      cache_(cache),
      results_ttl_(results_ttl) {}

awaitable<void> PublicElections::publish(const domain::Election& election) {
  voting_elections_.forget_status(election.id);
  if (election.status != domain::ElectionStatus::draft) {
    std::int64_t ballots = co_await voting_.ballots_cast(election.id);
    std::string body = domain::to_public_json(election, ballots).dump();
    co_await cache_.put(election_key(election.id), std::move(body), election.version,
                        cache_ttl(election, cache_.default_ttl()));
  }
  co_await cache_.bump_generation(std::string(kListFamily));
}

cache::CachedBodyPtr PublicElections::cached_election(const std::string& id) const {
  return cache_.find_local(election_key(id));
}

awaitable<cache::CachedBodyPtr> PublicElections::election(const std::string& id) {
  std::string key = election_key(id);
  if (auto hit = cache_.find_local(key)) co_return hit;
  cache::BodyCache::Loader load = [&]() -> awaitable<std::optional<cache::LoadedBody>> {
    auto found = co_await elections_.find_public(id);
    if (!found) co_return std::nullopt;
    const domain::Election& e = found->election;
    co_return cache::LoadedBody{domain::to_public_json(e, found->ballots_cast).dump(), e.version,
                                cache_ttl(e, cache_.default_ttl())};
  };
  auto cached = co_await cache_.get(std::move(key), std::move(load));
  if (!cached) throw no_public_election();
  co_return cached;
}

awaitable<cache::CachedBodyPtr> PublicElections::list(int limit,
                                                      std::optional<std::string> cursor) {
  std::string generation = co_await cache_.generation(std::string(kListFamily));
  std::string key = std::string(kListFamily) + ":" + generation + ":" + std::to_string(limit) +
                    ":" + cursor.value_or("");
  if (auto hit = cache_.find_local(key)) co_return hit;
  cache::BodyCache::Loader load = [&]() -> awaitable<std::optional<cache::LoadedBody>> {
    auto page = co_await elections_.list(std::nullopt, true, limit, cursor);
    std::vector<std::string> ids;
    for (const auto& e : page.elections) ids.push_back(e.id);
    auto counts = co_await voting_.ballots_cast(std::move(ids));
    json items = json::array();
    for (const auto& e : page.elections) {
      auto count = counts.find(e.id);
      items.push_back(domain::to_public_json(e, count == counts.end() ? 0 : count->second));
    }
    json body = {{"elections", std::move(items)},
                 {"nextCursor", page.next_cursor ? json(*page.next_cursor) : json(nullptr)}};
    co_return cache::LoadedBody{body.dump(), 0,
                                std::min(cache_.default_ttl(), kBallotCountFreshness)};
  };
  co_return co_await cache_.get(std::move(key), std::move(load));
}

awaitable<cache::CachedBodyPtr> PublicElections::results(const std::string& id) {
  const std::string final_key = "public:results:" + id;
  if (auto hit = cache_.find_local(final_key)) co_return hit;
  auto entry = co_await voting_elections_.find(id);
  if (!entry) throw Error(ErrorCode::not_found, "No election with this id.");
  domain::check_results_shown(entry->election);
  const bool final = entry->election.status == domain::ElectionStatus::closed;
  // Final results never change; live ones are recounted at most once a second.
  std::string key = final ? final_key : "public:results-live:" + id;
  if (!final) {
    if (auto hit = cache_.find_local(key)) co_return hit;
  }
  cache::BodyCache::Loader load = [&]() -> awaitable<std::optional<cache::LoadedBody>> {
    auto tally = co_await voting_.tally(id, entry->election.version);
    co_return cache::LoadedBody{domain::results_to_json(entry->election, tally).dump(), 0,
                                final ? results_ttl_ : std::chrono::seconds(1)};
  };
  co_return co_await cache_.get(std::move(key), std::move(load));
}

awaitable<AuditPage> PublicElections::audit(const std::string& id, std::int64_t from, int limit) {
  AuditPage page;
  page.events = co_await elections_.audit(id, from, limit, true);
  if (page.events.size() == static_cast<std::size_t>(limit)) {
    page.next = page.events.back().seq + 1;
  }
  co_return page;
}

}  // namespace observernet::service
