#pragma once
// Request bodies parsed into the services' typed requests, with every field error
// collected at once (one 400 listing them all). Pure: unit-tested without a server.
#include <nlohmann/json.hpp>

#include "observernet/service/ballot_box.hpp"
#include "observernet/service/token_issuer.hpp"

namespace observernet::api {

inline constexpr std::size_t kMaxVoterIdBytes = 256;
inline constexpr std::size_t kMaxCredentialBytes = 128;

// {"electionId", "voterId", "credential", "blindedMessage"}: all strings, no others.
service::TokenRequest parse_token_request(const nlohmann::json& body);

// {"electionId", "token": {"message", "signature"}, "selections"}: the selections are
// checked against the election's contests by the ballot box.
service::BallotSubmission parse_ballot_submission(nlohmann::json body);

}  // namespace observernet::api
