#pragma once
// What the voting routes need of an election, kept in memory: its definition (fixed once
// it is open), its status as last read, and its RSA token key, unsealed with the master
// key on first use. A wrong master key fails loudly there (500, logged), never signs.
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
namespace observernet::util {
class WorkerPool;
}

namespace observernet::service {

struct VotingElection {
  domain::Election election;
  crypto::RsaPrivateKey private_key;
  std::string key_id;
  std::chrono::steady_clock::time_point loaded_at;

  const crypto::RsaPublicKey& public_key() const { return private_key.public_key(); }
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
  VotingElections(store::ElectionStore& elections, store::VotingStore& voting,
                  util::WorkerPool& crypto, crypto::Bytes master_key, unsigned key_bits);

  // A fresh token key for the election about to be created as `election_id`, generated
  // on the crypto workers, its private key sealed there with the master key (the id as
  // associated data: a sealed key moved to another election's row does not open).
  boost::asio::awaitable<store::NewTokenKey> generate_key(std::string election_id);

  boost::asio::awaitable<std::shared_ptr<const VotingElection>> find(
      const std::string& id) override;

  // After a change committed by this process: the next find() reads the status again.
  void forget_status(const std::string& id);

 private:
  // The entry if fresh, or stale while another caller reloads it; else null, with
  // `reload` set when this caller took the reload on (and must end it).
  std::shared_ptr<const VotingElection> cached(const std::string& id, bool& reload);

  store::ElectionStore& elections_;
  store::VotingStore& voting_;
  util::WorkerPool& crypto_;
  const crypto::Bytes master_key_;
  const unsigned key_bits_;
  std::mutex mutex_;
  std::unordered_map<std::string, std::shared_ptr<const VotingElection>> entries_;
  std::unordered_set<std::string> reloading_;
};

}  // namespace observernet::service
