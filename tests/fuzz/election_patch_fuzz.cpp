// PATCH /api/v1/elections/{id}: an RFC 7396 merge patch through parse_json_body and
// domain::apply_election_patch, on a draft with every member set.
#include <cstddef>
#include <cstdint>

#include "fuzz_support.hpp"
#include "observernet/domain/election.hpp"

using namespace observernet;
using nlohmann::json;

namespace {

const domain::ElectionDefinition& draft() {
  static const domain::ElectionDefinition definition =
      domain::parse_election_definition(json::parse(R"({
        "title": "City council 2026", "description": "Annual vote",
        "opensAt": "2026-11-26T08:00:00Z", "closesAt": "2026-11-26T18:00:00.000Z",
        "resultsVisibility": "live",
        "contests": [
          {"id": "mayor", "title": "Mayor",
           "options": [{"id": "alice", "title": "Alice"}, {"id": "bob", "title": "Bob"}]},
          {"id": "council", "title": "Council", "minSelections": 0, "maxSelections": 2,
           "options": [{"id": "carol", "title": "Carol"}, {"id": "dave", "title": "Dave"},
                       {"id": "erin", "title": "Erin"}]}]})"));
  return definition;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto patch =
      fuzz::parse_route_body(fuzz::as_text(data, size), "application/merge-patch+json");
  if (!patch) return 0;
  const auto result = fuzz::unless_refused(
      ErrorCode::validation_failed, [&] { return domain::apply_election_patch(draft(), *patch); });
  if (!result) return 0;
  const domain::ElectionDefinition& patched = *result;
  // The result is a valid definition, the one its JSON form describes; patching it with
  // that form, or with nothing, changes nothing.
  const json form = domain::to_json(patched);
  FUZZ_CHECK(domain::parse_election_definition(form) == patched);
  FUZZ_CHECK(domain::apply_election_patch(patched, form) == patched);
  FUZZ_CHECK(domain::apply_election_patch(patched, json::object()) == patched);
  // A member the patch leaves out keeps its value.
  if (!patch->contains("title")) FUZZ_CHECK(patched.title == draft().title);
  if (!patch->contains("contests")) FUZZ_CHECK(patched.contests == draft().contests);
  if (!patch->contains("opensAt")) FUZZ_CHECK(patched.opens_at == draft().opens_at);
  return 0;
}
