#include "observernet/domain/audit.hpp"

#include <gtest/gtest.h>

#include <functional>
#include <stdexcept>
#include <vector>

namespace observernet::domain {
namespace {

using nlohmann::json;

std::vector<AuditEvent> three_event_chain() {
  std::vector<AuditEvent> chain;
  chain.push_back(next_audit_event(0, kGenesisHash, "election.created",
                                   {{"name", "Board election"}, {"seats", 3}},
                                   "2024-05-01T12:00:00.000Z"));
  chain.push_back(next_audit_event(1, chain.back().hash, "election.opened", json::object(),
                                   "2024-05-01T12:00:01.500Z"));
  chain.push_back(next_audit_event(2, chain.back().hash, "ballot.cast",
                                   {{"leaf", "ab12"}, {"index", 0}}, "2024-05-01T12:03:00.250Z"));
  return chain;
}

// Expected hashes computed outside this code base, over the exact preimage:
//   Z=0000000000000000000000000000000000000000000000000000000000000000
//   (head -c 32 /dev/zero; printf '%s' '{"at":"2024-05-01T12:00:00.000Z","payload":
//     {"name":"Board election","seats":3},"prevHash":"'$Z'","seq":1,
//     "type":"election.created"}') | openssl dgst -sha256
// (one line, no spaces), and for the second event the previous hash through
// `xxd -r -p` followed by its body. They pin the byte layout: 32 raw bytes, then JCS.
TEST(AuditTest, HashMatchesIndependentlyComputedBytes) {
  const auto chain = three_event_chain();
  EXPECT_EQ(chain[0].hash, "65edceb15e10a31038f63d34c1d0e96c6784d36d57d35be3e1d4a0e585c8f77f");
  EXPECT_EQ(chain[1].hash, "dc063231919052b6675f2055933c530281ce8b418c6aa8efaa57b0ad79b18994");
}

TEST(AuditTest, FirstEventFollowsGenesis) {
  const auto chain = three_event_chain();
  EXPECT_EQ(chain[0].seq, 1);
  EXPECT_EQ(chain[0].prev_hash, kGenesisHash);
  EXPECT_EQ(chain[1].seq, 2);
  EXPECT_EQ(chain[1].prev_hash, chain[0].hash);
  EXPECT_EQ(chain[2].prev_hash, chain[1].hash);
}

TEST(AuditTest, BodyAndApiForm) {
  const auto chain = three_event_chain();
  const json body = audit_event_body(chain[0]);
  EXPECT_EQ(body.size(), 5u);
  EXPECT_EQ(body["seq"], 1);
  EXPECT_EQ(body["type"], "election.created");
  EXPECT_EQ(body["payload"]["seats"], 3);
  EXPECT_EQ(body["at"], "2024-05-01T12:00:00.000Z");
  EXPECT_EQ(body["prevHash"], kGenesisHash);
  EXPECT_FALSE(body.contains("hash"));

  const json api = to_json(chain[0]);
  EXPECT_EQ(api.size(), 6u);
  EXPECT_EQ(api["hash"], chain[0].hash);
  EXPECT_EQ(compute_audit_hash(chain[0]), chain[0].hash);
}

TEST(AuditTest, IntactChainVerifies) {
  const auto chain = three_event_chain();
  EXPECT_EQ(find_chain_break(chain), std::nullopt);
  EXPECT_EQ(find_chain_break({}), std::nullopt);
  // Verifying a suffix starts from the event before it.
  EXPECT_EQ(find_chain_break(std::span(chain).subspan(1), 1, chain[0].hash), std::nullopt);
  // Without that start, seq 1 is where the chain breaks: it is missing.
  EXPECT_EQ(find_chain_break(std::span(chain).subspan(1)), 1);
}

TEST(AuditTest, TamperingWithAnyFieldOfAnyEventIsDetectedAtThatEvent) {
  const std::pair<const char*, std::function<void(AuditEvent&)>> tamperings[] = {
      {"payload", [](AuditEvent& e) { e.payload["extra"] = 1; }},
      {"type", [](AuditEvent& e) { e.type += "x"; }},
      {"at", [](AuditEvent& e) { e.at[e.at.size() - 2] = '9'; }},
      {"seq", [](AuditEvent& e) { e.seq += 10; }},
      {"prevHash", [](AuditEvent& e) { e.prev_hash[0] = e.prev_hash[0] == 'a' ? 'b' : 'a'; }},
      {"hash", [](AuditEvent& e) { e.hash[63] = e.hash[63] == '0' ? '1' : '0'; }},
  };
  for (const auto& [field, tamper] : tamperings) {
    for (std::size_t i = 0; i < 3; ++i) {
      auto chain = three_event_chain();
      tamper(chain[i]);
      EXPECT_EQ(find_chain_break(chain), static_cast<std::int64_t>(i + 1))
          << field << " of event " << i + 1;
    }
  }
}

TEST(AuditTest, ReorderedOrMissingEventsBreakTheChain) {
  auto chain = three_event_chain();
  std::swap(chain[1], chain[2]);
  EXPECT_EQ(find_chain_break(chain), 2);

  chain = three_event_chain();
  chain.erase(chain.begin() + 1);
  EXPECT_EQ(find_chain_break(chain), 2);
}

TEST(AuditTest, MalformedPrevHashIsRejected) {
  AuditEvent event = three_event_chain()[0];
  event.prev_hash = "00";
  EXPECT_THROW(compute_audit_hash(event), std::invalid_argument);
  event.prev_hash = std::string(64, 'g');
  EXPECT_THROW(compute_audit_hash(event), std::invalid_argument);
  EXPECT_EQ(find_chain_break(std::span(&event, 1), 0, event.prev_hash), 1);
}

}  // namespace
}  // namespace observernet::domain
