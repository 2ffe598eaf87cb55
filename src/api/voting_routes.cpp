// Voting (SPEC §5, §6) and results (§7). Ballot secrecy: nothing here logs or stores a
// voter next to a token or a ballot; access lines of /api/v1/voting* hide the client.
#include "observernet/api/voting_routes.hpp"

#include <prometheus/counter.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <algorithm>
#include <array>
#include <map>
#include <nlohmann/json.hpp>
#include <string_view>

#include "observernet/api/support.hpp"
#include "observernet/api/voting_elections.hpp"
#include "observernet/cache/public_cache.hpp"
#include "observernet/crypto/merkle.hpp"
#include "observernet/domain/ballot.hpp"
#include "observernet/domain/voters.hpp"
#include "observernet/error.hpp"
#include "observernet/store/ballot_writer.hpp"
#include "observernet/store/voting.hpp"
#include "observernet/util/worker_pool.hpp"

namespace observernet::api {
namespace {

using boost::asio::awaitable;
using http::Method;
using http::Request;
using http::Response;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr std::string_view kAlgorithm = "RSABSSA-SHA384-PSS-Deterministic";
constexpr std::size_t kTokenMessageBytes = 32;  // SPEC §5: the token nonce
constexpr std::size_t kMaxVoterIdBytes = 256;
constexpr std::size_t kMaxCredentialBytes = 128;

// The errors vote_submissions_total names; any other is counted as "error".
constexpr std::array kSubmissionErrors{ErrorCode::invalid_token,      ErrorCode::invalid_ballot,
                                       ErrorCode::token_already_used, ErrorCode::election_not_open,
                                       ErrorCode::bad_request,        ErrorCode::not_found,
                                       ErrorCode::service_unavailable};

// The result label of vote_submissions_total for an error.
std::string_view submission_result(ErrorCode code) {
  return std::ranges::find(kSubmissionErrors, code) != kSubmissionErrors.end() ? to_string(code)
                                                                               : "error";
}

struct VotingMetrics {
  explicit VotingMetrics(prometheus::Registry& r)
      : tokens_issued(prometheus::BuildCounter()
                          .Name("tokens_issued_total")
                          .Help("Voting tokens issued (blind signatures made for new voters)")
                          .Register(r)
                          .Add({})),
        processing(
            prometheus::BuildHistogram()
                .Name("vote_processing_seconds")
                .Help("Time from a parsed submission to its answer, group commit included")
                .Register(r)
                .Add({}, prometheus::Histogram::BucketBoundaries{0.001, 0.0025, 0.005, 0.01, 0.025,
                                                                 0.05, 0.1, 0.25, 0.5, 1, 2.5})) {
    // Every label value up front: Family::Add takes a lock, which a hot path should not.
    auto& family = prometheus::BuildCounter()
                       .Name("vote_submissions_total")
                       .Help("Ballot submissions by result")
                       .Register(r);
    auto add = [&](std::string_view result) {
      submissions.emplace(result, &family.Add({{"result", std::string(result)}}));
    };
    for (std::string_view result : {"accepted", "duplicate", "error"}) add(result);
    for (ErrorCode code : kSubmissionErrors) add(to_string(code));
  }
  prometheus::Counter& tokens_issued;
  prometheus::Histogram& processing;
  // Read-only once built, so shared by every thread without a lock.
  std::map<std::string_view, prometheus::Counter*> submissions;
};

json object_body(const Request& request) {
  json body = parse_json_body(request);
  if (!body.is_object()) throw Error(ErrorCode::bad_request, "The body must be a JSON object.");
  return body;
}

// The named string members of `object`; unknown, missing and non-string members are
// reported together, as one 400.
std::vector<std::string> string_members(const json& object, std::vector<std::string_view> names,
                                        std::vector<std::string_view> others,
                                        const std::string& prefix,
                                        std::vector<FieldError>& errors) {
  std::vector<std::string> values(names.size());
  for (const auto& [name, value] : object.items()) {
    auto it = std::ranges::find(names, name);
    if (it == names.end()) {
      if (std::ranges::find(others, name) == others.end()) {
        errors.push_back({prefix + name, "unknown field"});
      }
      continue;
    }
    if (!value.is_string()) {
      errors.push_back({prefix + name, "must be a string"});
      continue;
    }
    values[static_cast<std::size_t>(it - names.begin())] = value.get<std::string>();
  }
  for (auto name : names) {
    if (!object.contains(name)) errors.push_back({prefix + std::string(name), "is required"});
  }
  return values;
}

void throw_if_any(std::vector<FieldError>& errors) {
  if (!errors.empty()) {
    throw Error(ErrorCode::bad_request, "The request body is malformed.", std::move(errors));
  }
}

std::string election_id_member(const std::string& value) {
  if (!domain::is_uuid(value)) {
    throw Error(ErrorCode::bad_request, "electionId must be a UUID.",
                {{"electionId", "must be a UUID"}});
  }
  std::string id = value;
  std::ranges::transform(id, id.begin(), [](unsigned char c) { return std::tolower(c); });
  return id;
}

crypto::Bytes base64url_member(const std::string& value, const std::string& field) {
  auto bytes = crypto::from_base64url(value);
  if (!bytes) {
    throw Error(ErrorCode::bad_request, field + " is not base64url without padding.",
                {{field, "must be base64url without padding (RFC 4648 §5)"}});
  }
  return std::move(*bytes);
}

Error no_election() {
  return Error(ErrorCode::not_found, "No election with this id.");
}

Error not_open() {
  return Error(ErrorCode::election_not_open, "The election is not open for voting.");
}

// RFC 8017 §5.2.1: a representative must be below the modulus. Both big-endian, of
// equal length (the modulus has its top byte set).
bool below_modulus(std::span<const unsigned char> value, const crypto::RsaPublicKey& key) {
  return std::ranges::lexicographical_compare(value, key.modulus());
}

std::shared_ptr<const std::string> shared_body(const cache::CachedBodyPtr& cached) {
  return {cached, &cached->body};
}

}  // namespace

void add_voting_routes(http::Router& router, VotingRoutesDependencies deps) {
  auto metrics = std::make_shared<VotingMetrics>(deps.registry);
  const std::string cache_control =
      "public, max-age=" + std::to_string(deps.public_max_age.count());

  router.add(Method::get, "/api/v1/elections/{id}/token-key",
             [deps, cache_control](Request& request) -> awaitable<Response> {
               std::string id = uuid_param(request, "id");
               auto entry = co_await deps.elections.find(id);
               if (!entry || entry->election.status == domain::ElectionStatus::draft)
                 throw no_election();
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
               co_return conditional_response(request,
                                              std::make_shared<const std::string>(body.dump()),
                                              "\"" + entry->key_id + "\"", cache_control);
             });

  router.add(
      Method::post, "/api/v1/voting/token",
      [deps, metrics](Request& request) -> awaitable<Response> {
        json body = object_body(request);
        std::vector<FieldError> errors;
        auto v = string_members(body, {"electionId", "voterId", "credential", "blindedMessage"}, {},
                                "", errors);
        throw_if_any(errors);
        const std::string id = election_id_member(v[0]);
        const std::string& voter_id = v[1];
        if (voter_id.empty() || voter_id.size() > kMaxVoterIdBytes) {
          errors.push_back({"voterId", "must be 1 to 256 bytes"});
        }
        if (v[2].empty() || v[2].size() > kMaxCredentialBytes) {
          errors.push_back({"credential", "must be 1 to 128 bytes"});
        }
        throw_if_any(errors);
        crypto::Bytes blinded = base64url_member(v[3], "blindedMessage");

        auto entry = co_await deps.elections.find(id);
        if (!entry) throw no_election();
        const auto& key = entry->public_key();
        if (blinded.size() != key.modulus_bytes()) {
          throw Error(ErrorCode::bad_request,
                      "blindedMessage must be exactly " + std::to_string(key.modulus_bytes()) +
                          " bytes, the length of the election's modulus.",
                      {{"blindedMessage", "wrong length"}});
        }
        if (!below_modulus(blinded, key)) {
          throw Error(ErrorCode::bad_request,
                      "blindedMessage must be smaller than the election's modulus.",
                      {{"blindedMessage", "not below the modulus"}});
        }

        const auto voter = domain::voter_hash(deps.voter_pepper, id, voter_id);
        auto state = co_await deps.voting.token_state(id, voter);
        if (state.status != domain::ElectionStatus::open) throw not_open();
        // The same work whether or not the voter exists: one answer for both mistakes.
        const crypto::Digest typed = crypto::sha256(domain::normalize_credential(v[2]));
        const crypto::Digest stored = state.credential_hash.value_or(crypto::Digest{});
        if (!crypto::constant_time_equal(typed, stored) || !state.credential_hash) {
          throw Error(ErrorCode::invalid_credentials, "Unknown voterId or wrong credential.")
              .with_header("WWW-Authenticate", "Credential realm=\"voting\"");
        }
        const crypto::Digest blinded_hash = crypto::sha256(blinded);
        auto answer = [&](const store::TokenIssuance& issued) {
          if (issued.blinded_message_hash != blinded_hash) {
            throw Error(ErrorCode::token_already_issued,
                        "This voter already has a token, for another blinded message.");
          }
          Response r =
              json_response(200, {{"blindSignature", crypto::to_base64url(issued.blind_signature)},
                                  {"keyId", entry->key_id}});
          r.set("Cache-Control", "no-store");
          return r;
        };
        // A retry after a lost response: the same answer, nothing signed again.
        if (state.issued) co_return answer(*state.issued);

        auto signed_or_error =
            co_await deps.crypto.run([&] { return entry->private_key.blind_sign(blinded); });
        if (auto* e = std::get_if<crypto::BlindSignError>(&signed_or_error)) {
          throw Error(ErrorCode::bad_request, "blindedMessage cannot be signed.",
                      {{"blindedMessage", *e == crypto::BlindSignError::wrong_length
                                              ? "wrong length"
                                              : "not below the modulus"}});
        }
        store::TokenIssuance mine{blinded_hash,
                                  std::move(std::get<crypto::Bytes>(signed_or_error))};
        auto recorded = co_await deps.voting.record_token(id, voter, mine);
        if (recorded.recorded_now) metrics->tokens_issued.Increment();
        co_return answer(recorded);
      });

  router.add(
      Method::post, "/api/v1/voting/submit",
      [deps, metrics](Request& request) -> awaitable<Response> {
        const auto started = Clock::now();
        std::string_view result = "error";
        struct Count {
          VotingMetrics& m;
          std::string_view& result;
          Clock::time_point started;
          ~Count() {
            m.submissions.at(result)->Increment();
            m.processing.Observe(std::chrono::duration<double>(Clock::now() - started).count());
          }
        } count{*metrics, result, started};
        try {
          json body = object_body(request);
          std::vector<FieldError> errors;
          auto v = string_members(body, {"electionId"}, {"token", "selections"}, "", errors);
          std::vector<std::string> token(2);
          auto t = body.find("token");
          if (t == body.end()) {
            errors.push_back({"token", "is required"});
          } else if (!t->is_object()) {
            errors.push_back({"token", "must be an object"});
          } else {
            token = string_members(*t, {"message", "signature"}, {}, "token.", errors);
          }
          if (!body.contains("selections")) errors.push_back({"selections", "is required"});
          throw_if_any(errors);
          const std::string id = election_id_member(v[0]);
          crypto::Bytes message = base64url_member(token[0], "token.message");
          crypto::Bytes signature = base64url_member(token[1], "token.signature");
          if (message.size() != kTokenMessageBytes) {
            throw Error(ErrorCode::bad_request, "token.message must be 32 bytes.",
                        {{"token.message", "must be 32 bytes"}});
          }

          auto entry = co_await deps.elections.find(id);
          if (!entry) throw no_election();
          // Early refusal on a status up to a second old; the group commit checks it exactly.
          if (entry->election.status != domain::ElectionStatus::open) throw not_open();
          auto selections =
              domain::parse_selections(body["selections"], entry->election.definition.contests);
          const auto& key = entry->public_key();
          bool valid = signature.size() == key.modulus_bytes();
          if (valid) {
            valid = co_await deps.crypto.run([&] { return key.verify_pss(message, signature); });
          }
          if (!valid) {
            throw Error(ErrorCode::invalid_token,
                        "The token's signature does not verify under this election's key.");
          }

          store::PendingBallot ballot;
          ballot.election_id = id;
          // Canonical base64url of the bytes, whatever spelling the client used.
          ballot.leaf = domain::ballot_leaf(id, selections, crypto::to_base64url(message),
                                            crypto::to_base64url(signature));
          ballot.receipt = crypto::merkle_leaf_hash(ballot.leaf);
          ballot.token_message = std::move(message);
          const crypto::Digest receipt = ballot.receipt;
          auto written = co_await deps.ballots.write(std::move(ballot));
          switch (written.outcome) {
            case store::BallotOutcome::token_already_used:
              throw Error(ErrorCode::token_already_used,
                          "This token has already been used for a different ballot.");
            case store::BallotOutcome::election_not_open:
              throw not_open();
            case store::BallotOutcome::accepted:
            case store::BallotOutcome::duplicate:
              break;
          }
          const bool fresh = written.outcome == store::BallotOutcome::accepted;
          result = fresh ? "accepted" : "duplicate";
          Response r = json_response(
              fresh ? 201 : 200, {{"receipt", crypto::to_hex(receipt)},
                                  {"electionId", id},
                                  {"acceptedAt", domain::format_timestamp(written.accepted_at)}});
          r.set("Cache-Control", "no-store");
          co_return r;
        } catch (const Error& e) {
          result = submission_result(e.code());
          throw;
        }
      });

  router.add(
      Method::get, "/api/v1/public/elections/{id}/results",
      [deps, cache_control](Request& request) -> awaitable<Response> {
        std::string id = uuid_param(request, "id");
        const std::string final_key = "public:results:" + id;
        if (auto hit = deps.cache.find_local(final_key)) {
          co_return conditional_response(request, shared_body(hit), hit->etag, cache_control);
        }
        auto entry = co_await deps.elections.find(id);
        if (!entry || entry->election.status == domain::ElectionStatus::draft) throw no_election();
        const bool final = entry->election.status == domain::ElectionStatus::closed;
        if (!final &&
            entry->election.definition.results_visibility != domain::ResultsVisibility::live) {
          throw Error(ErrorCode::results_not_available,
                      "Results are published when the election closes.");
        }
        // Final results never change; live ones are recounted at most once a second.
        cache::PublicCache::Loader load = [&]() -> awaitable<std::optional<cache::LoadedBody>> {
          auto tally = co_await deps.voting.tally(id);
          co_return cache::LoadedBody{domain::results_to_json(entry->election, tally).dump(), 0,
                                      final ? deps.results_ttl : std::chrono::seconds(1)};
        };
        // Named, not built inside the co_await: GCC 12 destroys such temporaries twice.
        std::string key = final ? final_key : "public:results-live:" + id;
        auto cached = co_await deps.cache.get(std::move(key), std::move(load));
        co_return conditional_response(request, shared_body(cached), cached->etag, cache_control);
      });
}

}  // namespace observernet::api
