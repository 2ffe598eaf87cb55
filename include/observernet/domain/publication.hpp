#pragma once
// When the board publishes the ballots that wait (docs/security.md, Publication by
// anonymity set). Pure: no I/O.
//
// A set is published when min_batch ballots wait, or when the oldest has waited
// max_delay and at least min_anonymity wait; the close publishes whatever waits. A
// smaller set waits for more ballots or for the close, so that no ballot reaches the
// board alone, where the time it arrived would name it.
#include <chrono>
#include <cstdint>
#include <optional>

#include "observernet/domain/election.hpp"

namespace observernet::domain {

struct PublicationPolicy {
  std::uint64_t min_batch = 100;
  std::chrono::seconds max_delay{300};
  std::uint64_t min_anonymity = 10;
};

// Whether a sequencer pass publishes `waiting` ballots, the oldest of which has waited
// `waited` (unknown: nullopt, as when the sequencer sees them for the first time).
bool publication_due(const PublicationPolicy& policy, std::uint64_t waiting,
                     std::optional<std::chrono::seconds> waited);

// A time by which `waiting` ballots, seen waiting since `waiting_since`, will be on the
// board, rounded up to the minute, `pass_interval` allowed for the sequencer to look:
// max_delay after waiting_since once the set is large enough, else the election's
// scheduled close. nullopt when neither is known: at the close, whenever that is. An
// upper bound only: more ballots can make the set due sooner.
std::optional<TimePoint> publication_due_by(const PublicationPolicy& policy, std::uint64_t waiting,
                                            std::optional<TimePoint> waiting_since,
                                            std::optional<TimePoint> closes_at,
                                            std::chrono::milliseconds pass_interval);

}  // namespace observernet::domain
