#pragma once
// The bulletin board's routes (docs/api/README.md, Bulletin board): the log key, tree
// heads, ballots in leaf order, inclusion and consistency proofs, and receipt status.
#include <chrono>

#include "observernet/http/router.hpp"

namespace observernet::service {
class Board;
}

namespace observernet::api {

struct BoardRoutesDependencies {
  service::Board& board;
  std::chrono::seconds public_max_age;
};

void add_board_routes(http::Router& router, BoardRoutesDependencies deps);

}  // namespace observernet::api
