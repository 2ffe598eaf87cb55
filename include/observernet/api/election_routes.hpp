#pragma once
// Routes of SPEC §3, §4 (admin) and the public election reads of §7.
#include <boost/asio/awaitable.hpp>
#include <chrono>

#include "observernet/domain/voters.hpp"
#include "observernet/http/router.hpp"

namespace observernet::store {
class ElectionStore;
class VotingStore;
}  // namespace observernet::store
namespace observernet::cache {
class PublicCache;
}
namespace observernet::domain {
struct Election;
}

namespace observernet::api {

class AdminAuth;
class VotingElections;

struct ElectionRoutesDependencies {
  store::ElectionStore& elections;
  VotingElections& voting_elections;  // makes each new election's token key
  store::VotingStore& voting;         // counts ballots for the public view
  cache::PublicCache& cache;
  const AdminAuth& auth;
  domain::VoterImportLimits import_limits;
  std::size_t import_body_limit;
  std::chrono::seconds public_max_age;
  // web.public_url: when set, each imported voter's credentials come with their link to
  // the booth.
  std::string public_url;
};

void add_admin_election_routes(http::Router& router, ElectionRoutesDependencies deps);
void add_public_election_routes(http::Router& router, ElectionRoutesDependencies deps);

// After a committed change to `election`: refresh what the public cache holds for it
// and for the listings, and what this process's voting routes remember of its status.
// Admin routes and the scheduler both call this.
boost::asio::awaitable<void> publish_election_change(cache::PublicCache& cache,
                                                     store::VotingStore& voting,
                                                     VotingElections& voting_elections,
                                                     const domain::Election& election);

}  // namespace observernet::api
