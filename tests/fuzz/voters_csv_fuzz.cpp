// The voter roll as text/csv (domain/voters.hpp), a body of up to 32 MiB from an admin.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "fuzz_support.hpp"
#include "observernet/domain/voters.hpp"

using namespace observernet;

namespace {

// Small limits, so that short inputs reach them.
constexpr domain::VoterImportLimits kLimits{.max_voters = 8, .max_voter_id_bytes = 16};

std::vector<std::string> parse_csv(std::string_view body) {
  try {
    return domain::parse_voters_csv(body, kLimits);
  } catch (const Error& e) {
    FUZZ_CHECK(e.code() == ErrorCode::validation_failed);
    FUZZ_CHECK(e.field_errors().size() == 1);
    throw;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::vector<std::string> ids;
  try {
    ids = parse_csv(fuzz::as_text(data, size));
  } catch (const Error&) {
    return 0;
  }
  FUZZ_CHECK(ids.size() <= kLimits.max_voters);

  // The same ids written back as CSV, every field quoted, read the same.
  std::string csv = "\"voterId\"\r\n";
  for (const auto& id : ids) {
    csv += '"';
    for (char c : id) csv += c == '"' ? std::string("\"\"") : std::string(1, c);
    csv += "\"\r\n";
  }
  FUZZ_CHECK(parse_csv(csv) == ids);

  // Both forms of the roll accept the same ids (voters.hpp).
  nlohmann::json voters = nlohmann::json::array();
  for (const auto& id : ids) voters.push_back({{"voterId", id}});
  const std::string json = nlohmann::json{{"voters", voters}}.dump();
  FUZZ_CHECK(domain::parse_voters_json(json, kLimits) == ids);
  return 0;
}
