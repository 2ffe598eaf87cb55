#pragma once
// The group commit of token issuances: a signed token is recorded in a batch with others,
// one transaction and one WAL flush for all, in the order of their voter hashes. Metrics:
// token_queue_depth, token_batch_size, token_batch_seconds, token_queue_rejected_total
// (store/group_commit.hpp).
#include <boost/asio/awaitable.hpp>
#include <cstddef>

#include "observernet/store/group_commit.hpp"
#include "observernet/store/voting.hpp"

namespace observernet::store {

class IssuanceWriter final : public TokenLedger {
 public:
  IssuanceWriter(VotingStore& store, GroupCommitOptions options, prometheus::Registry& registry);

  boost::asio::awaitable<TokenRequestState> token_state(std::string election_id,
                                                        crypto::Digest voter_hash) override;
  // Also throws Error(service_unavailable) with Retry-After when the queue is full.
  boost::asio::awaitable<TokenIssuance> record_token(std::string election_id,
                                                     crypto::Digest voter_hash,
                                                     TokenIssuance issuance) override;

  std::size_t queued() const { return commit_.queued(); }
  void stop() { commit_.stop(); }

 private:
  VotingStore& store_;
  GroupCommit<PendingIssuance, IssuanceWriteResult> commit_;
};

}  // namespace observernet::store
