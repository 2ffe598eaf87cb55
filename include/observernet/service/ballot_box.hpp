#pragma once
// Casting a ballot: the token's signature checked under the election's key, the
// selections against its contests, the leaf and receipt built (docs/formats.md), and the
// ballot handed to the sink, whose answer decides between accepted, duplicate and refused.
// Nothing here logs or keeps anything of the voter (docs/privacy.md).
#include <array>
#include <boost/asio/awaitable.hpp>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "observernet/crypto/hash.hpp"
#include "observernet/domain/election.hpp"
#include "observernet/error.hpp"

namespace prometheus {
class Counter;
class Histogram;
class Registry;
}  // namespace prometheus
namespace observernet::store {
class BallotSink;
}
namespace observernet::util {
class WorkerPool;
}

namespace observernet::service {

class ElectionLookup;

// A submission as parsed from its request body (api/requests.hpp).
struct BallotSubmission {
  std::string election_id;  // lower-case UUID
  crypto::Bytes token_message;
  crypto::Bytes token_signature;
  nlohmann::json selections;  // checked against the election's contests here
};

struct CastBallot {
  crypto::Digest receipt{};
  std::string election_id;
  domain::TimePoint accepted_at{};
  bool fresh = false;  // false: the same ballot was accepted before
};

class BallotBox {
 public:
  BallotBox(ElectionLookup& elections, store::BallotSink& sink, util::WorkerPool& crypto,
            prometheus::Registry& registry);

  // Throws Error: not_found, election_not_open, invalid_ballot, invalid_token,
  // token_already_used, service_unavailable (the sink's queue is full).
  boost::asio::awaitable<CastBallot> cast(BallotSubmission submission);

  // Counts a submission refused before it reached cast(): a malformed body (`code`), or
  // one refused by HTTP itself (counted as "error").
  void count_refused(ErrorCode code);
  void count_refused();

 private:
  ElectionLookup& elections_;
  store::BallotSink& sink_;
  util::WorkerPool& crypto_;
  prometheus::Histogram& processing_;
  // vote_submissions_total by result, every label made up front: read-only afterwards,
  // so shared by every thread without a lock.
  std::map<std::string_view, prometheus::Counter*> submissions_;
};

}  // namespace observernet::service
