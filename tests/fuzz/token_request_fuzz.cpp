// POST /api/v1/voting/token: the body through parse_json_body and
// api::parse_token_request, as the route reads it.
#include <cstddef>
#include <cstdint>

#include "fuzz_support.hpp"
#include "observernet/api/requests.hpp"
#include "observernet/domain/election.hpp"

using namespace observernet;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto body = fuzz::parse_route_body(fuzz::as_text(data, size));
  if (!body) return 0;
  const auto parsed =
      fuzz::unless_refused(ErrorCode::bad_request, [&] { return api::parse_token_request(*body); });
  if (!parsed) return 0;
  const service::TokenRequest& request = *parsed;
  // Exactly the four members, as strings, decoded and checked.
  FUZZ_CHECK(body->size() == 4);
  FUZZ_CHECK(domain::canonical_uuid(body->at("electionId").get<std::string>()) ==
             request.election_id);
  FUZZ_CHECK(body->at("voterId") == request.voter_id);
  FUZZ_CHECK(body->at("credential") == request.credential);
  FUZZ_CHECK(!request.voter_id.empty() && request.voter_id.size() <= api::kMaxVoterIdBytes);
  FUZZ_CHECK(!request.credential.empty() && request.credential.size() <= api::kMaxCredentialBytes);
  FUZZ_CHECK(crypto::to_base64url(request.blinded_message) == body->at("blindedMessage"));
  return 0;
}
