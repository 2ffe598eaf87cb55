#pragma once
// The bulletin board's routes (SPEC §7): the log key, tree heads, ballots in leaf order,
// inclusion and consistency proofs, and the receipt status of §6.
#include <chrono>

#include "observernet/http/router.hpp"

namespace observernet::store {
class BoardStore;
class VotingStore;
}  // namespace observernet::store

namespace observernet::api {

class VotingElections;
class ElectionLogs;

struct BoardRoutesDependencies {
  VotingElections& elections;
  ElectionLogs& logs;
  store::BoardStore& board;
  store::VotingStore& voting;
  std::chrono::seconds public_max_age;
};

void add_board_routes(http::Router& router, BoardRoutesDependencies deps);

}  // namespace observernet::api
