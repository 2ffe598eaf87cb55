#pragma once
// RFC 9162 Merkle tree hashing (Certificate Transparency v2), SHA-256. Pure.
#include <span>
#include <string_view>

#include "observernet/crypto/hash.hpp"

namespace observernet::crypto {

// RFC 9162 §2.1.1: MTH({d(0)}) = SHA-256(0x00 || d(0)). A ballot's receipt.
Digest merkle_leaf_hash(std::string_view leaf);

}  // namespace observernet::crypto
