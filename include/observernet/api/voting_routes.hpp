#pragma once
// The voting routes (docs/api/README.md, Voting): the token key, a token, a ballot, and
// the results. Each handler translates HTTP to a service call and back.
#include <chrono>

#include "observernet/http/router.hpp"

namespace observernet::cache {
class RateLimiter;
}

namespace observernet::service {
class BallotBox;
class PublicElections;
class TokenIssuer;
}  // namespace observernet::service

namespace observernet::api {

struct VotingRoutesDependencies {
  service::TokenIssuer& tokens;
  service::BallotBox& ballots;
  service::PublicElections& published;
  std::chrono::seconds public_max_age;
  // Tokens per voter and ballots per token (api::limit_subject); null: not limited.
  cache::RateLimiter* limiter = nullptr;
};

void add_voting_routes(http::Router& router, VotingRoutesDependencies deps);

}  // namespace observernet::api
