// How the elections' token keys are sealed and unsealed (docs/security.md, Keys): to the
// sealing key, whose private half comes from the master key, and, for elections created
// before there was a sealing key, directly under the master key.
#include "observernet/service/token_keys.hpp"

#include <gtest/gtest.h>

#include <string>

#include "observernet/crypto/aead.hpp"

namespace observernet::service {
namespace {

const std::string kElection = "0b5e4cc2-7d6c-4e7a-9b5d-1f3a2c4e6d80";
const std::string kOtherElection = "6f1c2d3e-4a5b-4c6d-8e7f-901a2b3c4d5e";

crypto::Bytes master_key(unsigned char fill) {
  crypto::Bytes key(32);
  for (std::size_t i = 0; i < key.size(); ++i) key[i] = static_cast<unsigned char>(fill + i);
  return key;
}

const crypto::Bytes kDer = {0x30, 0x82, 0x04, 0xbd, 0x02, 0x01, 0x00, 0x30, 0x0d};

// The derivation is fixed (a changed info string would strand every sealed key), so its
// value for one master key is pinned; computed independently with Python's
// `cryptography` (HKDF-SHA256 with no salt and this info, then X25519's base point).
TEST(TokenKeysTest, TheSealingKeyIsDerivedFromTheMasterKey) {
  const crypto::Bytes master = master_key(0x00);  // 000102...1f
  EXPECT_EQ(crypto::to_hex(sealing_private_key(master)),
            "b9d9593e4918230ece5e149de9e480b1bddca411d189e2d4a67ec7062a79536c");
  EXPECT_EQ(crypto::to_hex(sealing_public_key(master)),
            "c9ae14eefb7026553992b3066a3a854d99c1dd20444c55d3516fafbce1911049");
  EXPECT_NE(sealing_public_key(master_key(0x01)), sealing_public_key(master));
}

TEST(TokenKeysTest, AKeySealedToTheSealingKeyOpensWithTheMasterKeyForItsElectionOnly) {
  const crypto::Bytes master = master_key(0x00);
  const crypto::Bytes sealing_private = sealing_private_key(master);
  const crypto::Bytes sealed = seal_token_key(sealing_public_key(master), kDer, kElection);
  EXPECT_EQ(unseal_token_key(master, sealing_private, sealed, kElection), kDer);
  // Moved to another election's row, it does not open.
  EXPECT_FALSE(unseal_token_key(master, sealing_private, sealed, kOtherElection).has_value());
  // Nor with another master key.
  const crypto::Bytes other = master_key(0x40);
  EXPECT_FALSE(unseal_token_key(other, sealing_private_key(other), sealed, kElection).has_value());
  // The sealing key's public half alone opens nothing: it is not the master key.
  const crypto::X25519Key public_half = sealing_public_key(master);
  const crypto::Bytes as_master(public_half.begin(), public_half.end());
  EXPECT_FALSE(
      unseal_token_key(as_master, sealing_private_key(as_master), sealed, kElection).has_value());
}

// Elections created before the sealing key hold their key as AES-256-GCM directly under
// the master key, the election's id as associated data: they must keep opening.
TEST(TokenKeysTest, AKeySealedInTheOldFormatStillOpens) {
  const crypto::Bytes master = master_key(0x00);
  const crypto::Bytes sealing_private = sealing_private_key(master);
  const crypto::Bytes old = crypto::aes256gcm_seal(master, kDer, crypto::as_bytes(kElection));
  EXPECT_EQ(unseal_token_key(master, sealing_private, old, kElection), kDer);
  EXPECT_FALSE(unseal_token_key(master, sealing_private, old, kOtherElection).has_value());
  const crypto::Bytes other = master_key(0x40);
  EXPECT_FALSE(unseal_token_key(other, sealing_private_key(other), old, kElection).has_value());
  crypto::Bytes altered = old;
  altered.back() ^= 0x01;
  EXPECT_FALSE(unseal_token_key(master, sealing_private, altered, kElection).has_value());
}

}  // namespace
}  // namespace observernet::service
