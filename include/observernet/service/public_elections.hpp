#pragma once
// The public reads of elections that need no ballots' content: one election, the
// listing, the results, and the audit chain. Drafts are invisible. Bodies come from the
// cache (cache/public_cache.hpp) and are refreshed by publish() after every change.
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "observernet/cache/public_cache.hpp"
#include "observernet/domain/audit.hpp"

namespace observernet::domain {
struct Election;
}
namespace observernet::store {
class ElectionStore;
class VotingStore;
}  // namespace observernet::store

namespace observernet::service {

class VotingElections;

struct AuditPage {
  std::vector<domain::AuditEvent> events;
  std::optional<std::int64_t> next;  // the seq to ask from next; absent on the last page
};

class PublicElections {
 public:
  PublicElections(store::ElectionStore& elections, store::VotingStore& voting,
                  VotingElections& voting_elections, cache::BodyCache& cache,
                  std::chrono::seconds results_ttl);

  // The election's public JSON from this thread's cache layer, or null: the hot path,
  // with no coroutine and no allocation. Callers then ask election().
  cache::CachedBodyPtr cached_election(const std::string& id) const;
  // The election's public JSON; throws Error(not_found) for drafts and unknown ids.
  boost::asio::awaitable<cache::CachedBodyPtr> election(const std::string& id);
  // A page of the listing, newest first.
  boost::asio::awaitable<cache::CachedBodyPtr> list(int limit, std::optional<std::string> cursor);
  // Final results once closed; live ones while open if the election shows them.
  // Throws Error: not_found, results_not_available.
  boost::asio::awaitable<cache::CachedBodyPtr> results(const std::string& id);
  boost::asio::awaitable<AuditPage> audit(const std::string& id, std::int64_t from, int limit);

  // After a committed change to `election`: refresh what the cache holds for it and for
  // the listings, and what this process's voting services remember of its status.
  // The admin service and the scheduler both call this.
  boost::asio::awaitable<void> publish(const domain::Election& election);

 private:
  store::ElectionStore& elections_;
  store::VotingStore& voting_;
  VotingElections& voting_elections_;
  cache::BodyCache& cache_;
  const std::chrono::seconds results_ttl_;
};

}  // namespace observernet::service
