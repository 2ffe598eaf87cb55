#pragma once
// Commitments to an election's roll (docs/formats.md, Roll commitments). Pure: no I/O.
//
// The audit chain records, at the opening and after each import into an open election,
// how many voters the roll holds and the RFC 9162 Merkle root of their voter hashes in
// ascending order, each hash's 32 bytes one leaf. Sorting makes the root independent of
// the order voters were imported in, which the roll never shows.
#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <vector>

#include "observernet/crypto/hash.hpp"
#include "observernet/crypto/merkle.hpp"

namespace observernet::domain {

struct RollCommitment {
  std::uint64_t count = 0;
  crypto::Digest root{};
  bool operator==(const RollCommitment&) const = default;
};

// Of these voter hashes, in any order; sorts them.
RollCommitment commit_roll(std::vector<crypto::Digest> voter_hashes);

// The same commitment from voter hashes given in ascending order, a slice at a time (a
// roll of millions read in statements that each stay within the database's timeout),
// holding O(log n) hashes instead of all of them.
class RollCommitter {
 public:
  // Throws std::invalid_argument for a hash below the one before.
  void add(const crypto::Digest& voter_hash);
  RollCommitment commitment() const;

 private:
  crypto::CompactRange range_;
  std::optional<crypto::Digest> last_;
};

// {"count", "root" (hex)}: the "roll" member of election.opened and voters.imported.
nlohmann::json to_json(const RollCommitment& roll);
// The inverse; nullopt for anything else.
std::optional<RollCommitment> roll_commitment_from_json(const nlohmann::json& j);

}  // namespace observernet::domain
