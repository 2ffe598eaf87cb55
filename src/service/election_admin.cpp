#include "observernet/service/election_admin.hpp"

#include "observernet/error.hpp"
#include "observernet/service/public_elections.hpp"
#include "observernet/service/token_keys.hpp"

namespace observernet::service {

using boost::asio::awaitable;

ElectionAdmin::ElectionAdmin(store::ElectionStore& elections, TokenKeySealer& token_keys,
                             PublicElections& published)
    : elections_(elections), token_keys_(token_keys), published_(published) {}

awaitable<domain::Election> ElectionAdmin::create(domain::ElectionDefinition definition) {
  // The id first: the token key is sealed for it. RSA key generation takes a while
  // (2048 bits: tens of milliseconds, 4096: seconds), so it runs on the crypto workers,
  // and the sealing with it, before the transaction starts.
  std::string id = domain::new_election_id();
  store::NewTokenKey key = co_await token_keys_.generate(id);
  co_return co_await elections_.create(std::move(id), std::move(definition), std::move(key));
}

awaitable<domain::Election> ElectionAdmin::find(const std::string& id) {
  auto election = co_await elections_.find(id);
  if (!election) throw Error(ErrorCode::not_found, "No election with this id.");
  co_return std::move(*election);
}

awaitable<store::ElectionPage> ElectionAdmin::list(std::optional<domain::ElectionStatus> status,
                                                   int limit, std::optional<std::string> cursor) {
  co_return co_await elections_.list(status, false, limit, std::move(cursor));
}

awaitable<domain::Election> ElectionAdmin::patch(const std::string& id, nlohmann::json patch,
                                                 std::optional<std::int64_t> expected_version) {
  co_return co_await elections_.patch(id, std::move(patch), expected_version);
}

awaitable<void> ElectionAdmin::remove(const std::string& id) {
  co_await elections_.remove(id);
}

awaitable<domain::Election> ElectionAdmin::open(const std::string& id) {
  auto election = co_await elections_.open(id, store::Trigger::admin);
  co_await published_.publish(election);
  co_return election;
}

awaitable<domain::Election> ElectionAdmin::close(const std::string& id) {
  auto election = co_await elections_.close(id, store::Trigger::admin);
  co_await published_.publish(election);
  co_return election;
}

awaitable<store::VoterImport> ElectionAdmin::import_voters(const std::string& id,
                                                           std::vector<std::string> voter_ids) {
  co_return co_await elections_.import_voters(id, std::move(voter_ids));
}

awaitable<store::ElectionStats> ElectionAdmin::stats(const std::string& id) {
  co_return co_await elections_.stats(id);
}

}  // namespace observernet::service
