// PATCH /api/v1/elections/{id}: an RFC 7396 merge patch through parse_json_body and
// domain::apply_election_patch, on a draft with every member set.
#include <cstddef>
#include <cstdint>
#include <fstream>

#include "fuzz_support.hpp"
#include "observernet/domain/election.hpp"

using namespace observernet;
using nlohmann::json;

namespace {

// The first seed of election_create, the unit tests' election: every member set.
const domain::ElectionDefinition& draft() {
  static const domain::ElectionDefinition definition = [] {
    std::ifstream in(OBSERVERNET_FUZZ_CORPUS "/election_create/test-00");
    return domain::parse_election_definition(json::parse(in));
  }();
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
