#pragma once
// Ballots (docs/formats.md, Ballot leaf): the selections a voter makes and the rules they
// follow, the leaf the bulletin board logs, and the tally. Pure: no I/O.
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "observernet/domain/election.hpp"

namespace observernet::domain {

struct Selection {
  std::string contest_id;
  std::string option_id;
  auto operator<=>(const Selection&) const = default;
};

// Bounds a submit body before any contest is looked at.
inline constexpr std::size_t kMaxSelections = 1000;

// The "selections" member of a ballot, its shape only: an array of at most
// kMaxSelections {"contestId": string, "optionId": string} objects and nothing else, in
// the given order. Throws Error(bad_request) listing every malformed item.
std::vector<Selection> read_selections(const nlohmann::json& selections);

// Selections checked against the election's contests: unknown contest or option ids,
// repeated selections, and every contest's minimum and maximum (a contest with no
// selection counts as zero). Throws Error(invalid_ballot) listing every rule broken,
// each item named by its place in `chosen`.
void check_selections(const std::vector<Selection>& chosen, const std::vector<Contest>& contests);

// The "selections" member of a submit body: read_selections, then check_selections.
// Returns them sorted by contestId, then optionId (the leaf's order). Throws
// Error(bad_request) for a member of the wrong shape, Error(invalid_ballot) listing
// every rule broken.
std::vector<Selection> parse_selections(const nlohmann::json& selections,
                                        const std::vector<Contest>& contests);

// [{"contestId", "optionId"}, ...] in the given order.
nlohmann::json selections_to_json(const std::vector<Selection>& selections);

// docs/formats.md, Ballot leaf: the RFC 8785 text of {"electionId", "selections", "token":
// {"message", "signature"}}, token values in base64url without padding. Its RFC 9162 leaf hash is
// the ballot's receipt.
std::string ballot_leaf(std::string_view election_id, const std::vector<Selection>& selections,
                        std::string_view token_message, std::string_view token_signature);

// Counts as the database returns them: votes per (contestId, optionId), ballots with
// at least one selection per contestId, and all ballots.
struct Tally {
  std::map<std::pair<std::string, std::string>, std::int64_t> votes;
  std::map<std::string, std::int64_t> ballots;
  std::int64_t ballots_cast = 0;
};

// docs/formats.md, Results: {"electionId", "status", "final", "ballotsCast", "contests": [
// {"contestId", "totals": [{"optionId", "votes"}], "ballots"}]}, contests and options
// in the election's order, options without votes at 0.
nlohmann::json results_to_json(const Election& election, const Tally& tally);

}  // namespace observernet::domain
