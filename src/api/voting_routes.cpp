#include "observernet/api/voting_routes.hpp"

#include <nlohmann/json.hpp>

#include "observernet/api/rate_limit.hpp"
#include "observernet/api/requests.hpp"
#include "observernet/api/support.hpp"
#include "observernet/cache/rate_limiter.hpp"
#include "observernet/http/problem.hpp"
#include "observernet/service/ballot_box.hpp"
#include "observernet/service/public_elections.hpp"
#include "observernet/service/token_issuer.hpp"
#include "observernet/service/voting_elections.hpp"

namespace observernet::api {
namespace {

using boost::asio::awaitable;
using http::Method;
using http::Request;
using http::Response;
using nlohmann::json;

constexpr std::string_view kAlgorithm = "RSABSSA-SHA384-PSS-Deterministic";

Response no_store(Response r) {
  r.set("Cache-Control", "no-store");
  return r;
}

// A subject's RateLimit fields on its answer (api::limit_subject).
Response with_fields(Response r, http::Fields fields) {
  http::add_admission_fields(r, std::move(fields));
  return r;
}

class VotingHandlers {
 public:
  explicit VotingHandlers(VotingRoutesDependencies deps)
      : deps_(deps), cache_control_(public_cache_control(deps.public_max_age)) {}

  // GET /api/v1/elections/{id}/token-key
  awaitable<Response> token_key(Request& request) {
    std::string id = uuid_param(request, "id");
    auto entry = co_await deps_.tokens.key_of(id);
    const auto& key = entry->public_key();
    json body = {{"electionId", id},
                 {"keyId", entry->key_id},
                 {"algorithm", kAlgorithm},
                 {"modulusBits", key.modulus_bits()},
                 {"publicKey", crypto::to_base64url(key.spki_der())},
                 {"jwk",
                  {{"kty", "RSA"},
                   {"n", crypto::to_base64url(key.modulus())},
                   {"e", crypto::to_base64url(key.exponent())}}}};
    // The key never changes: its id is a strong validator.
    co_return conditional_response(request, std::make_shared<const std::string>(body.dump()),
                                   "\"" + entry->key_id + "\"", cache_control_);
  }

  // POST /api/v1/voting/token
  awaitable<Response> token(Request& request) {
    // Parsed outside the co_await: GCC 12 mishandles some temporaries inside one.
    auto token_request = parse_token_request(parse_json_body(request));
    // Counted before the credential is checked: what holds a brute force of it.
    std::string voter = token_request.election_id + '\n' + token_request.voter_id;
    http::Admission limit =
        co_await limit_subject(deps_.limiter, cache::RateGroup::token_per_voter, std::move(voter));
    if (limit.refusal) co_return with_fields(std::move(*limit.refusal), std::move(limit.headers));
    auto grant = co_await deps_.tokens.issue(std::move(token_request));
    co_return with_fields(no_store(json_response(
                              200, {{"blindSignature", crypto::to_base64url(grant.blind_signature)},
                                    {"keyId", grant.key_id}})),
                          std::move(limit.headers));
  }

  // POST /api/v1/voting/submit
  awaitable<Response> submit(Request& request) {
    service::BallotSubmission submission;
    try {
      submission = parse_ballot_submission(parse_json_body(request));
    } catch (const Error& e) {
      deps_.ballots.count_refused(e.code());
      throw;
    } catch (const http::TransportError&) {
      deps_.ballots.count_refused();
      throw;
    }
    std::string token(submission.token_message.begin(), submission.token_message.end());
    http::Admission limit =
        co_await limit_subject(deps_.limiter, cache::RateGroup::submit_per_token, std::move(token));
    if (limit.refusal) co_return with_fields(std::move(*limit.refusal), std::move(limit.headers));
    auto cast = co_await deps_.ballots.cast(std::move(submission));
    co_return with_fields(
        no_store(json_response(cast.fresh ? 201 : 200,
                               {{"receipt", crypto::to_hex(cast.receipt)},
                                {"electionId", cast.election_id},
                                {"acceptedAt", domain::format_timestamp(cast.accepted_at)}})),
        std::move(limit.headers));
  }

  // GET /api/v1/public/elections/{id}/results
  awaitable<Response> results(Request& request) {
    auto cached = co_await deps_.published.results(uuid_param(request, "id"));
    co_return cached_response(request, cached, cache_control_);
  }

 private:
  VotingRoutesDependencies deps_;
  const std::string cache_control_;
};

}  // namespace

void add_voting_routes(http::Router& router, VotingRoutesDependencies deps) {
  auto h = std::make_shared<VotingHandlers>(deps);
  router.add(Method::get, "/api/v1/elections/{id}/token-key",
             [h](Request& r) { return h->token_key(r); });
  // Its limits hold a credential's brute force: refused if they cannot be checked.
  router.add(Method::post, "/api/v1/voting/token", [h](Request& r) { return h->token(r); },
             {.admission_fails_closed = true});
  router.add(Method::post, "/api/v1/voting/submit", [h](Request& r) { return h->submit(r); });
  router.add(Method::get, "/api/v1/public/elections/{id}/results",
             [h](Request& r) { return h->results(r); });
}

}  // namespace observernet::api
