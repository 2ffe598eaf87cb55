#include "observernet/domain/publication.hpp"

#include <algorithm>

namespace observernet::domain {

bool publication_due(const PublicationPolicy& policy, std::uint64_t waiting,
                     std::optional<std::chrono::seconds> waited) {
  if (waiting == 0) return false;
  if (waiting >= policy.min_batch) return true;
  return waited && *waited >= policy.max_delay && waiting >= policy.min_anonymity;
}

std::optional<TimePoint> publication_due_by(const PublicationPolicy& policy, std::uint64_t waiting,
                                            std::optional<TimePoint> waiting_since,
                                            std::optional<TimePoint> closes_at,
                                            std::chrono::milliseconds pass_interval) {
  std::optional<TimePoint> due = closes_at;
  if (waiting_since && (waiting >= policy.min_anonymity || waiting >= policy.min_batch)) {
    const TimePoint by_delay = *waiting_since + policy.max_delay;
    due = due ? std::min(*due, by_delay) : by_delay;
  }
  if (!due) return std::nullopt;
  return std::chrono::ceil<std::chrono::minutes>(*due + pass_interval);
}

}  // namespace observernet::domain
