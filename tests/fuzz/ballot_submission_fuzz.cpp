// POST /api/v1/voting/submit: the body through parse_json_body,
// api::parse_ballot_submission and the selections' shape (domain::read_selections), as
// the route and the ballot box read it.
#include <cstddef>
#include <cstdint>

#include "fuzz_support.hpp"
#include "observernet/api/requests.hpp"
#include "observernet/domain/ballot.hpp"
#include "observernet/domain/election.hpp"

using namespace observernet;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto body = fuzz::parse_route_body(fuzz::as_text(data, size));
  if (!body) return 0;
  const auto parsed = fuzz::unless_refused(ErrorCode::bad_request,
                                           [&] { return api::parse_ballot_submission(*body); });
  if (!parsed) return 0;
  const service::BallotSubmission& submission = *parsed;
  FUZZ_CHECK(body->size() == 3);
  FUZZ_CHECK(domain::canonical_uuid(body->at("electionId").get<std::string>()) ==
             submission.election_id);
  const auto& token = body->at("token");
  FUZZ_CHECK(token.size() == 2);
  FUZZ_CHECK(crypto::to_base64url(submission.token_message) == token.at("message"));
  FUZZ_CHECK(crypto::to_base64url(submission.token_signature) == token.at("signature"));
  FUZZ_CHECK(submission.selections == body->at("selections"));

  const auto read = fuzz::unless_refused(
      ErrorCode::bad_request, [&] { return domain::read_selections(submission.selections); });
  if (!read) return 0;
  const std::vector<domain::Selection>& selections = *read;
  // The shape read is the shape written.
  FUZZ_CHECK(selections.size() <= domain::kMaxSelections);
  FUZZ_CHECK(domain::selections_to_json(selections) == submission.selections);
  // The leaf a receipt hashes (docs/formats.md, Ballot leaf) reads back as the ballot sent.
  const std::string leaf = domain::ballot_leaf(submission.election_id, selections,
                                               token.at("message").get<std::string>(),
                                               token.at("signature").get<std::string>());
  FUZZ_CHECK(nlohmann::json::parse(leaf) == nlohmann::json({{"electionId", submission.election_id},
                                                            {"selections", submission.selections},
                                                            {"token", token}}));
  return 0;
}
