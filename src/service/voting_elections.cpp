#include "observernet/service/voting_elections.hpp"

#include "observernet/error.hpp"
#include "observernet/store/elections.hpp"

namespace observernet::service {
namespace {

using boost::asio::awaitable;
using Clock = std::chrono::steady_clock;

// How long a status read stays good: an open election's close must stop early
// rejection within a second; a draft may be opened at any moment.
Clock::duration freshness(domain::ElectionStatus status) {
  switch (status) {
    case domain::ElectionStatus::draft:
      return std::chrono::milliseconds(500);
    case domain::ElectionStatus::open:
      return std::chrono::seconds(1);
    case domain::ElectionStatus::closed:
      return Clock::duration::max();  // final
  }
  return Clock::duration::zero();
}

}  // namespace

VotingElections::VotingElections(store::ElectionStore& elections, store::VotingStore& voting,
                                 std::chrono::seconds stale_if_error)
    : elections_(elections), voting_(voting), stale_if_error_(stale_if_error) {}

std::shared_ptr<const VotingElection> VotingElections::stale_if_error(const std::string& id) {
  std::lock_guard lock(mutex_);
  auto it = entries_.find(id);
  if (it == entries_.end() || it->second->loaded_at == Clock::time_point::min()) return nullptr;
  const auto& entry = it->second;
  const auto fresh_for = freshness(entry->election.status);
  if (fresh_for != Clock::duration::max() &&
      Clock::now() - entry->loaded_at > fresh_for + stale_if_error_) {
    return nullptr;
  }
  return entry;
}

std::shared_ptr<const VotingElection> VotingElections::cached(const std::string& id, bool& reload) {
  std::lock_guard lock(mutex_);
  reload = false;
  auto it = entries_.find(id);
  if (it != entries_.end()) {
    const auto& entry = it->second;
    // forget_status() marks an entry with the earliest time: never served again.
    if (entry->loaded_at != Clock::time_point::min()) {
      const auto age = Clock::now() - entry->loaded_at;
      const auto fresh_for = freshness(entry->election.status);
      if (age <= fresh_for) return entry;
      // One caller reloads; the others keep the entry they had meanwhile (for at most a
      // second more), instead of all reading the election at once: every status they
      // act on is checked again by the database (token issuance, the group commit).
      if (reloading_.contains(id) && age <= fresh_for + std::chrono::seconds(1)) return entry;
    }
  }
  reload = reloading_.insert(id).second;
  return nullptr;
}

void VotingElections::forget_status(const std::string& id) {
  std::lock_guard lock(mutex_);
  auto it = entries_.find(id);
  if (it == entries_.end()) return;
  // Keep the key (it never changes); mark the entry too old to be served.
  auto stale = std::make_shared<VotingElection>(*it->second);
  stale->loaded_at = Clock::time_point::min();
  it->second = std::move(stale);
}

awaitable<std::shared_ptr<const VotingElection>> VotingElections::find(const std::string& id) {
  bool reload = false;
  if (auto hit = cached(id, reload)) co_return hit;
  struct Done {
    VotingElections& self;
    const std::string& id;
    bool claimed;
    ~Done() {
      if (!claimed) return;
      std::lock_guard lock(self.mutex_);
      self.reloading_.erase(id);
    }
  } done{*this, id, reload};
  std::optional<domain::Election> election;
  std::exception_ptr unavailable;
  try {
    election = co_await elections_.find(id);
  } catch (const std::exception& e) {
    if (!is_unavailable(e)) throw;
    unavailable = std::current_exception();
  }
  if (unavailable) {
    // PostgreSQL is unavailable: the entry held, if not too old, rather than a 503.
    auto stale = stale_if_error(id);
    if (!stale) std::rethrow_exception(unavailable);
    co_return stale;
  }
  if (!election) co_return nullptr;
  auto previous = [&] {
    std::lock_guard lock(mutex_);
    auto it = entries_.find(id);
    return it == entries_.end() ? nullptr : it->second;
  }();
  std::optional<crypto::RsaPublicKey> key;
  std::string key_id;
  if (previous) {
    key = previous->key;  // keys never change: only the status is re-read
    key_id = previous->key_id;
  } else {
    auto record = co_await voting_.token_key(id);
    if (!record) {
      throw Error(ErrorCode::internal_error, "This election has no token key.", {},
                  "election " + id + " has no row in election_keys");
    }
    key = crypto::RsaPublicKey::from_spki_der(record->public_key);
    if (!key || key->key_id() != record->key_id) {
      throw Error(ErrorCode::internal_error, "The election's token key cannot be used.", {},
                  "the stored public token key of election " + id + " is not its key id's");
    }
    key_id = record->key_id;
  }
  auto entry = std::make_shared<const VotingElection>(
      VotingElection{std::move(*election), std::move(*key), std::move(key_id), Clock::now()});
  {
    std::lock_guard lock(mutex_);
    entries_[id] = entry;
  }
  co_return entry;
}

}  // namespace observernet::service
