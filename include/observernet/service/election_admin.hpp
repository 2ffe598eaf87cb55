#pragma once
// What an organiser does to an election (docs/api/README.md, Elections): create it with
// its token key, edit or delete the draft, import voters, open and close it. The rules
// of the lifecycle are domain's (domain/election.hpp); each change commits with its
// audit event (store/elections.hpp), then is published (service/public_elections.hpp).
#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "observernet/domain/election.hpp"
#include "observernet/store/elections.hpp"

namespace observernet::service {

class PublicElections;
class TokenKeySealer;

class ElectionAdmin {
 public:
  ElectionAdmin(store::ElectionStore& elections, TokenKeySealer& token_keys,
                PublicElections& published);

  boost::asio::awaitable<domain::Election> create(domain::ElectionDefinition definition);
  // Throws Error(not_found).
  boost::asio::awaitable<domain::Election> find(const std::string& id);
  boost::asio::awaitable<store::ElectionPage> list(std::optional<domain::ElectionStatus> status,
                                                   int limit, std::optional<std::string> cursor);
  // `expected_version`: from If-Match (-1 for an ETag this server never gave).
  boost::asio::awaitable<domain::Election> patch(const std::string& id, nlohmann::json patch,
                                                 std::optional<std::int64_t> expected_version);
  boost::asio::awaitable<void> remove(const std::string& id);
  boost::asio::awaitable<domain::Election> open(const std::string& id);
  boost::asio::awaitable<domain::Election> close(const std::string& id);
  boost::asio::awaitable<store::VoterImport> import_voters(const std::string& id,
                                                           std::vector<std::string> voter_ids);
  boost::asio::awaitable<store::ElectionStats> stats(const std::string& id);

 private:
  store::ElectionStore& elections_;
  TokenKeySealer& token_keys_;
  PublicElections& published_;
};

}  // namespace observernet::service
