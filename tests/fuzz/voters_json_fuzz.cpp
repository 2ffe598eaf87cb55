// The voter roll as application/json (domain/voters.hpp), read by a streaming parser
// rather than parse_json_body: a body of up to 32 MiB from an admin.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "fuzz_support.hpp"
#include "observernet/domain/voters.hpp"

using namespace observernet;
using nlohmann::json;

namespace {

constexpr domain::VoterImportLimits kLimits{.max_voters = 8, .max_voter_id_bytes = 16};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view body = fuzz::as_text(data, size);
  std::vector<std::string> ids;
  bool accepted = true;
  try {
    ids = domain::parse_voters_json(body, kLimits);
  } catch (const Error& e) {
    FUZZ_CHECK(e.code() == ErrorCode::bad_request || e.code() == ErrorCode::validation_failed);
    FUZZ_CHECK(e.field_errors().size() <= 20);
    accepted = false;
  }

  // Against the document as nlohmann reads it: accepted exactly when it is
  // {"voters": [{"voterId": string}, ...]} with nothing else, each id once per object,
  // within the limits; the ids in order.
  std::size_t keys = 0;
  auto count = [&keys](int, json::parse_event_t event, json&) {
    if (event == json::parse_event_t::key) ++keys;
    return true;
  };
  const json document = json::parse(body, count, /*allow_exceptions=*/false);
  std::vector<std::string> expected;
  bool valid = !document.is_discarded() && document.is_object() && document.size() == 1 &&
               document.contains("voters") && document["voters"].is_array() &&
               document["voters"].size() <= kLimits.max_voters &&
               keys == 1 + document["voters"].size();
  if (valid) {
    for (const auto& voter : document["voters"]) {
      valid = valid && voter.is_object() && voter.size() == 1 && voter.contains("voterId") &&
              voter["voterId"].is_string();
      if (!valid) break;
      expected.push_back(voter["voterId"].get<std::string>());
    }
  }
  if (valid) {
    // The id rules themselves, shared with the CSV form: the CSV parser decides.
    std::string csv = "voterId\n";
    for (const auto& id : expected) {
      csv += '"';
      for (char c : id) csv += c == '"' ? std::string("\"\"") : std::string(1, c);
      csv += "\"\n";
    }
    try {
      FUZZ_CHECK(domain::parse_voters_csv(csv, kLimits) == expected);
    } catch (const Error&) {
      valid = false;
    }
  }
  FUZZ_CHECK(accepted == valid);
  if (accepted) FUZZ_CHECK(ids == expected);
  return 0;
}
