#pragma once
// Routes of SPEC §5 and §6 (token key, token, submit) and the results of §7.
#include <chrono>
#include <string>

#include "observernet/http/router.hpp"

namespace prometheus {
class Registry;
}
namespace observernet::store {
class VotingStore;
class BallotWriter;
}  // namespace observernet::store
namespace observernet::cache {
class PublicCache;
}
namespace observernet::util {
class WorkerPool;
}

namespace observernet::api {

class VotingElections;

struct VotingRoutesDependencies {
  VotingElections& elections;
  store::VotingStore& voting;
  store::BallotWriter& ballots;
  cache::PublicCache& cache;
  util::WorkerPool& crypto;
  std::string voter_pepper;
  std::chrono::seconds results_ttl;
  std::chrono::seconds public_max_age;
  prometheus::Registry& registry;
};

void add_voting_routes(http::Router& router, VotingRoutesDependencies deps);

}  // namespace observernet::api
