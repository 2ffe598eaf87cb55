// POST /api/v1/elections: the body through parse_json_body and
// domain::parse_election_definition, as the route reads it.
#include <cstddef>
#include <cstdint>

#include "fuzz_support.hpp"
#include "observernet/domain/election.hpp"

using namespace observernet;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto body = fuzz::parse_route_body(fuzz::as_text(data, size));
  if (!body) return 0;
  const auto parsed = fuzz::unless_refused(
      ErrorCode::validation_failed, [&] { return domain::parse_election_definition(*body); });
  if (!parsed) return 0;
  const domain::ElectionDefinition& definition = *parsed;
  // What the API shows of an election reads back as the same election.
  FUZZ_CHECK(domain::parse_election_definition(domain::to_json(definition)) == definition);
  FUZZ_CHECK(domain::contests_from_json(domain::contests_to_json(definition.contests)) ==
             definition.contests);
  FUZZ_CHECK(domain::apply_election_patch(definition, nlohmann::json::object()) == definition);
  FUZZ_CHECK(!definition.contests.empty());
  for (const auto& contest : definition.contests) {
    FUZZ_CHECK(domain::is_slug(contest.id));
    FUZZ_CHECK(0 <= contest.min_selections && contest.min_selections <= contest.max_selections);
    FUZZ_CHECK(static_cast<std::size_t>(contest.max_selections) <= contest.options.size());
  }
  if (definition.opens_at && definition.closes_at) {
    FUZZ_CHECK(*definition.opens_at < *definition.closes_at);
  }
  for (const auto& time : {definition.opens_at, definition.closes_at}) {
    if (time) FUZZ_CHECK(domain::parse_timestamp(domain::format_timestamp(*time)) == time);
  }
  return 0;
}
