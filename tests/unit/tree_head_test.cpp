// Signed tree heads (docs/formats.md, Signed tree heads): what is signed, and that any change
// breaks the signature.
#include "observernet/domain/tree_head.hpp"

#include <gtest/gtest.h>

#include "observernet/crypto/merkle.hpp"

namespace observernet::domain {
namespace {

crypto::Ed25519PrivateKey test_key() {
  return crypto::Ed25519PrivateKey::from_seed(crypto::Bytes(32, 7));
}

const AuditCommitment kAudit{7, std::string(63, '0') + "c"};

TreeHead test_head(const crypto::Ed25519PrivateKey& key) {
  return sign_tree_head(key, "e1", 3, crypto::merkle_root({}), "2026-11-26T18:00:00.000Z", kAudit);
}

TEST(TreeHeadTest, TheSigningInputIsTheJcsOfTheSignedMembers) {
  crypto::Digest root{};
  root[0] = 0xab;
  EXPECT_EQ(tree_head_signing_input("e1", 42, root, "2026-11-26T18:00:00.000Z", kAudit),
            R"({"auditHead":")" + kAudit.head +
                R"(","auditSeq":7,"electionId":"e1","rootHash":"ab)" + std::string(62, '0') +
                R"(","timestamp":"2026-11-26T18:00:00.000Z","treeSize":42})");
  // The tree heads signed before they pinned the audit chain: the four members only.
  EXPECT_EQ(tree_head_signing_input("e1", 42, root, "2026-11-26T18:00:00.000Z", std::nullopt),
            R"({"electionId":"e1","rootHash":"ab)" + std::string(62, '0') +
                R"(","timestamp":"2026-11-26T18:00:00.000Z","treeSize":42})");
}

TEST(TreeHeadTest, SignedHeadsVerifyAndSurviveJson) {
  const auto key = test_key();
  TreeHead head = test_head(key);
  EXPECT_EQ(head.log_key_id, key.public_key().key_id());
  EXPECT_TRUE(verify_tree_head(head, key.public_key()));
  auto parsed = tree_head_from_json(nlohmann::json::parse(to_json(head).dump()));
  ASSERT_TRUE(parsed.has_value());
  EXPECT_TRUE(verify_tree_head(*parsed, key.public_key()));
  EXPECT_EQ(to_json(*parsed), to_json(head));
  EXPECT_EQ(parsed->audit, kAudit);
}

TEST(TreeHeadTest, AnyChangeBreaksTheSignature) {
  const auto key = test_key();
  const TreeHead head = test_head(key);
  auto changed = [&](auto edit) {
    TreeHead h = head;
    edit(h);
    return verify_tree_head(h, key.public_key());
  };
  EXPECT_FALSE(changed([](TreeHead& h) { h.election_id = "e2"; }));
  EXPECT_FALSE(changed([](TreeHead& h) { h.tree_size = 4; }));
  EXPECT_FALSE(changed([](TreeHead& h) { h.root_hash[31] ^= 1; }));
  EXPECT_FALSE(changed([](TreeHead& h) { h.timestamp = "2026-11-26T18:00:00.001Z"; }));
  EXPECT_FALSE(changed([](TreeHead& h) { h.signature[0] ^= 1; }));
  EXPECT_FALSE(changed([](TreeHead& h) { h.log_key_id = std::string(64, '0'); }));
  EXPECT_FALSE(changed([](TreeHead& h) { h.audit->seq = 6; }));
  EXPECT_FALSE(changed([](TreeHead& h) { h.audit->head = std::string(64, 'd'); }));
  EXPECT_FALSE(changed([](TreeHead& h) { h.audit.reset(); }));
  const auto other = crypto::Ed25519PrivateKey::from_seed(crypto::Bytes(32, 8));
  EXPECT_FALSE(verify_tree_head(head, other.public_key()));
}

TEST(TreeHeadTest, MalformedJsonIsRefused) {
  const auto key = test_key();
  const nlohmann::json good = to_json(test_head(key));
  for (const char* member : {"electionId", "treeSize", "rootHash", "timestamp", "signature",
                             "logKeyId", "auditSeq", "auditHead"}) {
    nlohmann::json j = good;
    j.erase(member);
    EXPECT_FALSE(tree_head_from_json(j).has_value()) << member;
  }
  nlohmann::json j = good;
  j["treeSize"] = -1;
  EXPECT_FALSE(tree_head_from_json(j).has_value());
  j = good;
  j["rootHash"] = "abcd";
  EXPECT_FALSE(tree_head_from_json(j).has_value());
  j = good;
  j["signature"] = "AAAA";
  EXPECT_FALSE(tree_head_from_json(j).has_value());
  j = good;
  j["auditHead"] = "xyz";
  EXPECT_FALSE(tree_head_from_json(j).has_value());
  j = good;
  j.erase("auditSeq");
  j.erase("auditHead");
  EXPECT_TRUE(tree_head_from_json(j).has_value()) << "a tree head from before the pins";
  EXPECT_FALSE(tree_head_from_json(nlohmann::json::array()).has_value());
}

}  // namespace
}  // namespace observernet::domain
