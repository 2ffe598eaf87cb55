#pragma once
// What the voting routes need of an election, kept in memory: its definition (fixed once
// it is open), its status as last read, and the public half of its RSA token key. The
// private half is service/token_keys.hpp's, for the token route alone.
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "observernet/crypto/blind_rsa.hpp"
#include "observernet/domain/election.hpp"
#include "observernet/store/voting.hpp"

namespace observernet::store {
class ElectionStore;
}
namespace observernet::service {

struct VotingElection {
  domain::Election election;
  crypto::RsaPublicKey key;
  std::string key_id;
  std::chrono::steady_clock::time_point loaded_at;

  const crypto::RsaPublicKey& public_key() const { return key; }
};

// What the voting and board services ask of an election: the seam their unit tests
// fill without PostgreSQL.
class ElectionLookup {
 public:
  virtual ~ElectionLookup() = default;
  // The election, or null when there is none. Its status may be up to a second old
  // (a draft's half a second): callers that need it exact ask the database.
  virtual boost::asio::awaitable<std::shared_ptr<const VotingElection>> find(
      const std::string& id) = 0;
};

class VotingElections final : public ElectionLookup {
 public:
  // `stale_if_error`: while PostgreSQL is unavailable, an entry is served for up to this
  // long past its freshness instead of a 503 (cache.stale_if_error_s): a status the
  // database checks again wherever it matters (token issuance, the group commit).
  VotingElections(store::ElectionStore& elections, store::VotingStore& voting,
                  std::chrono::seconds stale_if_error = std::chrono::seconds(0));

  boost::asio::awaitable<std::shared_ptr<const VotingElection>> find(
      const std::string& id) override;

  // After a change committed by this process: the next find() reads the status again.
  void forget_status(const std::string& id);

 private:
  // The entry if fresh, or stale while another caller reloads it; else null, with
  // `reload` set when this caller took the reload on (and must end it).
  std::shared_ptr<const VotingElection> cached(const std::string& id, bool& reload);

  // The entry last loaded, if within stale_if_error_ of its freshness; else null.
  std::shared_ptr<const VotingElection> stale_if_error(const std::string& id);

  store::ElectionStore& elections_;
  store::VotingStore& voting_;
  const std::chrono::seconds stale_if_error_;
  std::mutex mutex_;
  std::unordered_map<std::string, std::shared_ptr<const VotingElection>> entries_;
  std::unordered_set<std::string> reloading_;
};

}  // namespace observernet::service
