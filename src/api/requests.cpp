#include "observernet/api/requests.hpp"

#include <algorithm>
#include <array>
#include <optional>

#include "observernet/domain/election.hpp"
#include "observernet/error.hpp"

namespace observernet::api {
namespace {

using nlohmann::json;

constexpr std::string_view kMalformed = "The request body is malformed.";

void require_object(const json& body) {
  if (!body.is_object()) throw Error(ErrorCode::bad_request, "The body must be a JSON object.");
}

// The string members `names` of `object`, in that order. Unknown members (not in
// `names` nor `others`), missing and non-string ones go to `errors`.
template <std::size_t N>
std::array<std::string, N> string_members(const json& object,
                                          const std::array<std::string_view, N>& names,
                                          std::initializer_list<std::string_view> others,
                                          std::string_view prefix, FieldErrors& errors) {
  std::array<std::string, N> values;
  for (const auto& [name, value] : object.items()) {
    auto it = std::ranges::find(names, name);
    if (it == names.end()) {
      if (std::ranges::find(others, name) == others.end()) {
        errors.add(std::string(prefix) + name, "unknown field");
      }
      continue;
    }
    if (!value.is_string()) {
      errors.add(std::string(prefix) + name, "must be a string");
      continue;
    }
    values[static_cast<std::size_t>(it - names.begin())] = value.template get<std::string>();
  }
  for (auto name : names) {
    if (!object.contains(name)) errors.add(std::string(prefix) + std::string(name), "is required");
  }
  return values;
}

// A lower-cased election id, or an error.
std::string election_id(const std::string& value, FieldErrors& errors) {
  auto id = domain::canonical_uuid(value);
  if (!id) errors.add("electionId", "must be a UUID");
  return id.value_or("");
}

crypto::Bytes base64url(const std::string& value, std::string_view field, FieldErrors& errors) {
  auto bytes = crypto::from_base64url(value);
  if (!bytes) {
    errors.add(std::string(field), "must be base64url without padding (RFC 4648 §5)");
    return {};
  }
  return std::move(*bytes);
}

}  // namespace

service::TokenRequest parse_token_request(const json& body) {
  require_object(body);
  FieldErrors errors;
  auto v = string_members<4>(body, {"electionId", "voterId", "credential", "blindedMessage"}, {},
                             "", errors);
  errors.throw_if_any(ErrorCode::bad_request, std::string(kMalformed));
  service::TokenRequest request;
  request.election_id = election_id(v[0], errors);
  if (v[1].empty() || v[1].size() > kMaxVoterIdBytes) {
    errors.add("voterId", "must be 1 to 256 bytes");
  }
  if (v[2].empty() || v[2].size() > kMaxCredentialBytes) {
    errors.add("credential", "must be 1 to 128 bytes");
  }
  request.blinded_message = base64url(v[3], "blindedMessage", errors);
  errors.throw_if_any(ErrorCode::bad_request, std::string(kMalformed));
  request.voter_id = std::move(v[1]);
  request.credential = std::move(v[2]);
  return request;
}

service::BallotSubmission parse_ballot_submission(json body) {
  require_object(body);
  FieldErrors errors;
  auto v = string_members<1>(body, {"electionId"}, {"token", "selections"}, "", errors);
  std::array<std::string, 2> token;
  auto t = body.find("token");
  if (t == body.end()) {
    errors.add("token", "is required");
  } else if (!t->is_object()) {
    errors.add("token", "must be an object");
  } else {
    token = string_members<2>(*t, {"message", "signature"}, {}, "token.", errors);
  }
  auto selections = body.find("selections");
  if (selections == body.end()) errors.add("selections", "is required");
  errors.throw_if_any(ErrorCode::bad_request, std::string(kMalformed));
  service::BallotSubmission submission;
  submission.election_id = election_id(v[0], errors);
  submission.token_message = base64url(token[0], "token.message", errors);
  submission.token_signature = base64url(token[1], "token.signature", errors);
  errors.throw_if_any(ErrorCode::bad_request, std::string(kMalformed));
  submission.selections = std::move(*selections);
  return submission;
}

}  // namespace observernet::api
