#pragma once
// What the services' unit tests share: an election lookup of their own
// (service/voting_elections.hpp) with one election of one contest and a real RSA token
// key, and a way to run a service call to its end.
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <memory>
#include <string>

#include "observernet/error.hpp"
#include "observernet/service/token_keys.hpp"
#include "observernet/service/voting_elections.hpp"

namespace observernet::service::fakes {

inline constexpr const char* kElectionId = "0f0e0d0c-0b0a-4908-8706-050403020100";

inline const crypto::RsaPrivateKey& election_key() {
  static const crypto::RsaPrivateKey key = crypto::RsaPrivateKey::generate(2048);
  return key;
}

class OneElection final : public ElectionLookup {
 public:
  explicit OneElection(domain::ElectionStatus status) {
    domain::Election e;
    e.id = kElectionId;
    e.status = status;
    e.definition.title = "Board";
    e.definition.contests = {{"chair", "Chair", 1, 1, {{"ada", "Ada"}, {"bob", "Bob"}}}};
    entry_ = std::make_shared<VotingElection>(
        VotingElection{std::move(e), election_key().public_key(), "key-1", {}});
  }
  boost::asio::awaitable<std::shared_ptr<const VotingElection>> find(
      const std::string& id) override {
    co_return id == kElectionId ? entry_ : nullptr;
  }

 private:
  std::shared_ptr<const VotingElection> entry_;
};

// The one election's signing key, as if unsealed; counts the times it was asked for.
class OneSigningKey final : public SigningKeys {
 public:
  boost::asio::awaitable<std::shared_ptr<const crypto::RsaPrivateKey>> signing_key(
      const std::string& id, const crypto::RsaPublicKey& expected) override {
    ++asked;
    EXPECT_EQ(id, kElectionId);
    EXPECT_TRUE(expected == election_key().public_key());
    co_return std::make_shared<const crypto::RsaPrivateKey>(election_key());
  }
  int asked = 0;
};

// Runs a service call to its end on a context of its own; its exceptions propagate.
template <typename T>
T run(boost::asio::awaitable<T> call) {
  boost::asio::io_context io;
  auto done = boost::asio::co_spawn(io, std::move(call), boost::asio::use_future);
  io.run();
  return done.get();
}

// The code of the Error a service call ends with; a test failure if it succeeds.
template <typename T>
ErrorCode refusal(boost::asio::awaitable<T> call) {
  try {
    run(std::move(call));
  } catch (const Error& e) {
    return e.code();
  }
  ADD_FAILURE() << "the call succeeded";
  return ErrorCode::internal_error;
}

}  // namespace observernet::service::fakes
