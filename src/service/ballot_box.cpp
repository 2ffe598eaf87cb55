#include "observernet/service/ballot_box.hpp"

#include <prometheus/counter.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <algorithm>
#include <chrono>

#include "observernet/crypto/merkle.hpp"
#include "observernet/domain/ballot.hpp"
#include "observernet/error.hpp"
#include "observernet/service/voting_elections.hpp"
#include "observernet/store/ballot_writer.hpp"
#include "observernet/util/worker_pool.hpp"

namespace observernet::service {
namespace {

using boost::asio::awaitable;
using Clock = std::chrono::steady_clock;

constexpr std::size_t kTokenMessageBytes = 32;  // docs/formats.md: the token nonce

// The errors vote_submissions_total names; any other is counted as "error".
constexpr std::array kSubmissionErrors{ErrorCode::invalid_token,      ErrorCode::invalid_ballot,
                                       ErrorCode::token_already_used, ErrorCode::election_not_open,
                                       ErrorCode::bad_request,        ErrorCode::not_found,
                                       ErrorCode::service_unavailable};

std::string_view submission_result(ErrorCode code) {
  return std::ranges::find(kSubmissionErrors, code) != kSubmissionErrors.end() ? to_string(code)
                                                                               : "error";
}

Error not_open() {
  return Error(ErrorCode::election_not_open, "The election is not open for voting.");
}

}  // namespace

BallotBox::BallotBox(ElectionLookup& elections, store::BallotSink& sink, util::WorkerPool& crypto,
                     prometheus::Registry& registry)
    : elections_(elections),
      sink_(sink),
      crypto_(crypto),
      processing_(
          prometheus::BuildHistogram()
              .Name("vote_processing_seconds")
              .Help("Time from a parsed submission to its answer, group commit included")
              .Register(registry)
              .Add({}, prometheus::Histogram::BucketBoundaries{0.001, 0.0025, 0.005, 0.01, 0.025,
                                                               0.05, 0.1, 0.25, 0.5, 1, 2.5})) {
  auto& family = prometheus::BuildCounter()
                     .Name("vote_submissions_total")
                     .Help("Ballot submissions by result")
                     .Register(registry);
  auto add = [&](std::string_view result) {
    submissions_.emplace(result, &family.Add({{"result", std::string(result)}}));
  };
  for (std::string_view result : {"accepted", "duplicate", "error"}) add(result);
  for (ErrorCode code : kSubmissionErrors) add(to_string(code));
}

void BallotBox::count_refused(ErrorCode code) {
  submissions_.at(submission_result(code))->Increment();
}

void BallotBox::count_refused() {
  submissions_.at("error")->Increment();
}

awaitable<CastBallot> BallotBox::cast(BallotSubmission submission) {
  // Every submission is counted once, by its result, and timed, whichever way it ends.
  struct Count {
    BallotBox& box;
    std::string_view result = "error";
    Clock::time_point started = Clock::now();
    ~Count() {
      box.submissions_.at(result)->Increment();
      box.processing_.Observe(std::chrono::duration<double>(Clock::now() - started).count());
    }
  } count{*this};
  const std::string& id = submission.election_id;
  try {
    if (submission.token_message.size() != kTokenMessageBytes) {
      throw Error(ErrorCode::bad_request, "token.message must be 32 bytes.",
                  {{"token.message", "must be 32 bytes"}});
    }
    auto entry = co_await elections_.find(id);
    if (!entry) throw Error(ErrorCode::not_found, "No election with this id.");
    // Early refusal on a status up to a second old; the group commit checks it exactly.
    if (entry->election.status != domain::ElectionStatus::open) throw not_open();
    auto selections =
        domain::parse_selections(submission.selections, entry->election.definition.contests);
    const auto& key = entry->public_key();
    const crypto::Bytes& message = submission.token_message;
    const crypto::Bytes& signature = submission.token_signature;
    bool valid = signature.size() == key.modulus_bytes();
    if (valid) {
      valid = co_await crypto_.run([&] { return key.verify_pss(message, signature); });
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
    ballot.token_message = std::move(submission.token_message);
    CastBallot cast{ballot.receipt, id, {}, false};
    auto written = co_await sink_.write(std::move(ballot));
    switch (written.outcome) {
      case store::BallotOutcome::token_already_used:
        throw Error(ErrorCode::token_already_used,
                    "This token has already been used for a different ballot.");
      case store::BallotOutcome::election_not_open:
        throw not_open();
      case store::BallotOutcome::election_busy:
        throw store::election_busy();
      case store::BallotOutcome::accepted:
      case store::BallotOutcome::duplicate:
        break;
    }
    cast.fresh = written.outcome == store::BallotOutcome::accepted;
    cast.accepted_at = written.accepted_at;
    count.result = cast.fresh ? "accepted" : "duplicate";
    co_return cast;
  } catch (const Error& e) {
    count.result = submission_result(e.code());
    throw;
  }
}

}  // namespace observernet::service
