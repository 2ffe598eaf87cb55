#include "observernet/service/board.hpp"

#include <algorithm>

#include "observernet/domain/publication.hpp"
#include "observernet/error.hpp"
#include "observernet/service/election_logs.hpp"
#include "observernet/service/voting_elections.hpp"
#include "observernet/store/board.hpp"
#include "observernet/store/voting.hpp"

namespace observernet::service {
namespace {

using boost::asio::awaitable;

// A size of a proof, within the newest tree head.
void check_size(std::uint64_t value, std::string_view name, std::uint64_t tree_size) {
  if (value > tree_size) {
    throw Error(ErrorCode::bad_request,
                std::string(name) + " is beyond the log's newest tree head.",
                {{std::string(name),
                  "must be at most " + std::to_string(tree_size) + ", the newest tree size"}});
  }
}

}  // namespace

struct Board::View : ElectionLogs::View {};

Board::Board(ElectionLookup& elections, ElectionLogs& logs, store::BoardStore& store,
             store::VotingStore& voting, std::chrono::milliseconds pass_interval)
    : elections_(elections),
      logs_(logs),
      store_(store),
      voting_(voting),
      pass_interval_(pass_interval) {}

const crypto::Ed25519PublicKey& Board::log_key() const {
  return store_.log_key();
}

// The election's log as this process knows it; not_found for drafts and unknown elections.
awaitable<Board::View> Board::view_of(const std::string& id) {
  co_await check_public(id);
  auto view = co_await logs_.current(id);
  if (!view) throw Error(ErrorCode::not_found, "The election's log has no tree head yet.");
  co_return View{std::move(*view)};
}

awaitable<domain::TreeHead> Board::tree_head(const std::string& id) {
  co_return (co_await view_of(id)).head;
}

awaitable<InclusionProof> Board::inclusion(const std::string& id, const crypto::Digest& receipt,
                                           std::optional<std::uint64_t> tree_size) {
  auto view = co_await view_of(id);
  if (tree_size) check_size(*tree_size, "treeSize", view.head.tree_size);
  const std::uint64_t size = tree_size.value_or(view.head.tree_size);
  auto index = view.log->find(receipt, size);
  if (!index) {
    throw Error(ErrorCode::not_found, "No ballot with this receipt among the first " +
                                          std::to_string(size) + " leaves of the log.");
  }
  co_return InclusionProof{*index, size, view.log->tree().inclusion_proof(*index, size)};
}

awaitable<ConsistencyProof> Board::consistency(const std::string& id, std::uint64_t first,
                                               std::uint64_t second) {
  auto view = co_await view_of(id);
  check_size(first, "first", view.head.tree_size);
  check_size(second, "second", view.head.tree_size);
  if (first > second) {
    throw Error(ErrorCode::bad_request, "first must not be larger than second.",
                {{"first", "must be at most second"}});
  }
  co_return ConsistencyProof{first, second, view.log->tree().consistency_proof(first, second)};
}

awaitable<BallotPage> Board::ballots(const std::string& id, std::uint64_t from,
                                     std::uint64_t limit) {
  auto view = co_await view_of(id);
  const std::uint64_t size = view.head.tree_size;
  if (from > size) {
    throw Error(ErrorCode::bad_request, "from is beyond the log's newest tree head.",
                {{"from", "must be at most " + std::to_string(size)}});
  }
  const std::uint64_t end = std::min(size, from + std::min(limit, kMaxBallotsPerPage));
  std::vector<crypto::Digest> receipts;
  receipts.reserve(end - from);
  for (std::uint64_t i = from; i < end; ++i) {
    receipts.push_back(view.log->tree().subtree_hash(i, i + 1));
  }
  std::vector<std::string> leaves = co_await store_.leaves(receipts);
  BallotPage page;
  page.tree_size = size;
  page.ballots.reserve(leaves.size());
  for (std::size_t i = 0; i < leaves.size(); ++i) {
    page.ballots.push_back({from + i, receipts[i], std::move(leaves[i])});
  }
  if (end < size) page.next = end;
  co_return page;
}

awaitable<void> Board::check_public(const std::string& id) {
  auto entry = co_await elections_.find(id);
  if (!entry || entry->election.status == domain::ElectionStatus::draft) {
    throw Error(ErrorCode::not_found, "No election with this id.");
  }
}

// Pages are read one row longer than asked, to know whether another follows: this drops
// that row and gives the next page's cursor, the page's last item, when there is one.
namespace {
template <class T>
std::optional<T> trim_page(std::vector<T>& rows, std::uint64_t limit) {
  if (rows.size() <= limit) return std::nullopt;
  rows.resize(limit);
  return rows.back();
}
}  // namespace

awaitable<RollPage> Board::roll(const std::string& id, std::optional<store::RollEntry> after,
                                std::uint64_t limit) {
  co_await check_public(id);
  limit = std::min(limit, kMaxVotersPerPage);
  RollPage page;
  page.voters = co_await store_.roll_page(id, after.value_or(store::RollEntry{}), limit + 1);
  page.next = trim_page(page.voters, limit);
  co_return page;
}

awaitable<IssuedPage> Board::issued(const std::string& id, std::optional<crypto::Digest> after,
                                    std::uint64_t limit) {
  co_await check_public(id);
  limit = std::min(limit, kMaxVotersPerPage);
  IssuedPage page;
  page.voter_hashes = co_await store_.issued_page(id, after.value_or(crypto::Digest{}), limit + 1);
  page.next = trim_page(page.voter_hashes, limit);
  co_return page;
}

awaitable<ReceiptState> Board::receipt(const crypto::Digest& receipt) {
  auto status = co_await voting_.find_receipt(receipt);
  if (!status) throw Error(ErrorCode::not_found, "No ballot has this receipt.");
  const std::string& id = status->election_id;
  ReceiptState state{id, std::nullopt, std::nullopt};
  const auto now =
      std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now());
  if (!status->staged) {
    if (auto view = co_await logs_.current(id)) {
      const std::uint64_t size = view->head.tree_size;
      if (auto index = view->log->find(receipt, size)) {
        state.proof = InclusionProof{*index, size, view->log->tree().inclusion_proof(*index, size)};
        co_return state;
      }
    }
    // Published a moment ago; this process's copy of the log is behind.
    state.due_by = std::chrono::ceil<std::chrono::minutes>(now + pass_interval_);
    co_return state;
  }
  const store::Waiting waiting = co_await store_.waiting(id);
  std::optional<domain::TimePoint> closes_at;
  if (auto entry = co_await elections_.find(id)) closes_at = entry->election.definition.closes_at;
  state.due_by = domain::publication_due_by(store_.policy(), waiting.ballots,
                                            waiting.since.value_or(now), closes_at, pass_interval_);
  co_return state;
}

}  // namespace observernet::service
