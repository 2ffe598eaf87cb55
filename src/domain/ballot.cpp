#include "observernet/domain/ballot.hpp"

#include <algorithm>
#include <set>

#include "observernet/crypto/jcs.hpp"
#include "observernet/error.hpp"
#include "validation.hpp"

namespace observernet::domain {

using nlohmann::json;

std::vector<Selection> read_selections(const json& selections) {
  if (!selections.is_array()) {
    throw Error(ErrorCode::bad_request, "selections must be an array.",
                {{"selections", "must be an array"}});
  }
  if (selections.size() > kMaxSelections) {
    throw Error(ErrorCode::bad_request,
                "A ballot holds at most " + std::to_string(kMaxSelections) + " selections.",
                {{"selections", "too many selections"}});
  }
  FieldErrors errors(100);
  std::vector<Selection> out;
  out.reserve(selections.size());
  for (std::size_t i = 0; i < selections.size(); ++i) {
    const std::string path = "selections[" + std::to_string(i) + "]";
    const json& item = selections[i];
    if (!item.is_object()) {
      errors.add(path, "must be an object");
      continue;
    }
    Selection s;
    bool ok = true;
    for (const auto& [name, value] : item.items()) {
      std::string* target = name == "contestId"  ? &s.contest_id
                            : name == "optionId" ? &s.option_id
                                                 : nullptr;
      if (!target) {
        errors.add(path + "." + name, "unknown field");
        ok = false;
      } else if (!value.is_string()) {
        errors.add(path + "." + name, "must be a string");
        ok = false;
      } else {
        *target = value.get<std::string>();
      }
    }
    for (const char* required : {"contestId", "optionId"}) {
      if (!item.contains(required)) {
        errors.add(path + "." + required, "is required");
        ok = false;
      }
    }
    if (ok) out.push_back(std::move(s));
  }
  if (!errors.empty()) {
    throw Error(ErrorCode::bad_request, "The selections are malformed.", errors.listed());
  }
  return out;
}

void check_selections(const std::vector<Selection>& chosen, const std::vector<Contest>& contests) {
  FieldErrors errors(100);
  std::map<std::string_view, int> per_contest;
  std::set<std::pair<std::string_view, std::string_view>> seen;
  for (std::size_t i = 0; i < chosen.size(); ++i) {
    const std::string path = "selections[" + std::to_string(i) + "]";
    const Selection& s = chosen[i];
    auto contest = std::ranges::find(contests, s.contest_id, &Contest::id);
    if (contest == contests.end()) {
      errors.add(path + ".contestId", "no such contest in this election");
      continue;
    }
    if (std::ranges::find(contest->options, s.option_id, &Option::id) == contest->options.end()) {
      errors.add(path + ".optionId", "no such option in contest " + s.contest_id);
      continue;
    }
    if (!seen.emplace(s.contest_id, s.option_id).second) {
      errors.add(path, "the same option is selected twice");
      continue;
    }
    ++per_contest[s.contest_id];
  }
  for (const Contest& contest : contests) {
    const int n = per_contest[contest.id];
    if (n < contest.min_selections || n > contest.max_selections) {
      errors.add("contests." + contest.id,
                 std::to_string(n) + " selected; this contest takes " +
                     (contest.min_selections == contest.max_selections
                          ? std::to_string(contest.min_selections)
                          : "from " + std::to_string(contest.min_selections) + " to " +
                                std::to_string(contest.max_selections)));
    }
  }
  if (!errors.empty()) {
    throw Error(ErrorCode::invalid_ballot, "The ballot breaks the election's rules.",
                errors.listed());
  }
}

std::vector<Selection> parse_selections(const json& selections,
                                        const std::vector<Contest>& contests) {
  std::vector<Selection> chosen = read_selections(selections);
  check_selections(chosen, contests);
  std::ranges::sort(chosen);
  return chosen;
}

json selections_to_json(const std::vector<Selection>& selections) {
  json out = json::array();
  for (const auto& s : selections) {
    out.push_back({{"contestId", s.contest_id}, {"optionId", s.option_id}});
  }
  return out;
}

std::string ballot_leaf(std::string_view election_id, const std::vector<Selection>& selections,
                        std::string_view token_message, std::string_view token_signature) {
  return crypto::canonicalize(
      {{"electionId", election_id},
       {"selections", selections_to_json(selections)},
       {"token", {{"message", token_message}, {"signature", token_signature}}}});
}

json results_to_json(const Election& election, const Tally& tally) {
  json contests = json::array();
  for (const Contest& contest : election.definition.contests) {
    json totals = json::array();
    for (const Option& option : contest.options) {
      auto it = tally.votes.find({contest.id, option.id});
      totals.push_back(
          {{"optionId", option.id}, {"votes", it == tally.votes.end() ? 0 : it->second}});
    }
    auto ballots = tally.ballots.find(contest.id);
    contests.push_back({{"contestId", contest.id},
                        {"totals", std::move(totals)},
                        {"ballots", ballots == tally.ballots.end() ? 0 : ballots->second}});
  }
  return {{"electionId", election.id},
          {"status", to_string(election.status)},
          {"final", election.status == ElectionStatus::closed},
          {"ballotsCast", tally.ballots_cast},
          {"contests", std::move(contests)}};
}

}  // namespace observernet::domain
