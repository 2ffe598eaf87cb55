#pragma once
// Elections (docs/api/README.md, Admin: elections and voters): the model, the rules a definition
// must follow, and its JSON forms. Pure: no I/O.
#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace observernet::domain {

using TimePoint = std::chrono::sys_time<std::chrono::milliseconds>;

enum class ElectionStatus { draft, open, closed };
enum class ResultsVisibility { after_close, live };

std::string_view to_string(ElectionStatus status);
std::optional<ElectionStatus> parse_election_status(std::string_view text);
std::string_view to_string(ResultsVisibility visibility);
std::optional<ResultsVisibility> parse_results_visibility(std::string_view text);

struct Option {
  std::string id;  // slug [a-z0-9-]{1,64}, unique in its contest
  std::string title;
  bool operator==(const Option&) const = default;
};

struct Contest {
  std::string id;  // slug [a-z0-9-]{1,64}, unique in the election
  std::string title;
  int min_selections = 1;
  int max_selections = 1;
  std::vector<Option> options;
  bool operator==(const Contest&) const = default;
};

// What an administrator writes (create) and edits (merge patch) while the election is
// a draft.
struct ElectionDefinition {
  std::string title;
  std::string description;
  std::optional<TimePoint> opens_at;
  std::optional<TimePoint> closes_at;
  ResultsVisibility results_visibility = ResultsVisibility::after_close;
  std::vector<Contest> contests;
  bool operator==(const ElectionDefinition&) const = default;
};

struct Election {
  std::string id;  // UUID
  ElectionStatus status = ElectionStatus::draft;
  ElectionDefinition definition;
  TimePoint created_at;
  TimePoint updated_at;
  std::int64_t version = 1;  // bumped by every change; the ETag of admin reads
  std::int64_t voters_registered = 0;
};

// Limits of a definition; the rules in docs/api (and their tests) use these.
inline constexpr std::size_t kMaxTitleChars = 200;
inline constexpr std::size_t kMaxDescriptionChars = 10'000;
inline constexpr std::size_t kMaxContests = 50;
inline constexpr std::size_t kMaxOptionsPerContest = 200;

// Parses and validates a create body: {"title", "description"?, "opensAt"?, "closesAt"?,
// "resultsVisibility"?, "contests"}. Throws observernet::Error(validation_failed) whose
// errors[] lists every invalid field at once (unknown fields, wrong types, over-long
// strings, bad slugs, duplicate ids, min > max, max > options, no contests, no options,
// invalid timestamps, closesAt not after opensAt), with paths like
// "contests[0].options[2].id".
ElectionDefinition parse_election_definition(const nlohmann::json& body);

// Applies an RFC 7396 JSON merge patch to `current`'s JSON form and validates the
// result as parse_election_definition does; read-only members (id, status, createdAt,
// updatedAt) are reported as errors. Throws like parse_election_definition.
ElectionDefinition apply_election_patch(const ElectionDefinition& current,
                                        const nlohmann::json& patch);

// The editable members as the API shows them (timestamps as RFC 3339, absent ones null).
nlohmann::json to_json(const ElectionDefinition& definition);
nlohmann::json contests_to_json(const std::vector<Contest>& contests);
// For contests read back from our own database (already valid); throws on malformed.
std::vector<Contest> contests_from_json(const nlohmann::json& contests);

// The admin form (docs/api/README.md, Admin: elections and voters): id, title, description, status,
// opensAt, closesAt, resultsVisibility, contests, createdAt, updatedAt.
nlohmann::json to_admin_json(const Election& election);
// The public form (docs/api/README.md, Public: elections and results): the same members (nothing in
// an election is secret) plus ballotsCast and votersRegistered.
nlohmann::json to_public_json(const Election& election, std::int64_t ballots_cast);

// "2026-11-26T18:00:00.000Z".
std::string format_timestamp(TimePoint t);
// RFC 3339 date-time with any offset ("Z", "+02:00"), optional fraction (truncated to
// milliseconds); nullopt if malformed or out of range (years 1970-9999).
std::optional<TimePoint> parse_timestamp(std::string_view text);

// Canonical 8-4-4-4-12 hex UUID, either case.
bool is_uuid(std::string_view text);
// The UUID in lower case, the form ids are stored and compared in; nullopt if `text` is
// not a UUID.
std::optional<std::string> canonical_uuid(std::string_view text);
// A new random (version 4) UUID, lower-case: a new election's id.
std::string new_election_id();

// The lifecycle, draft -> open -> closed: what each change needs of the election. Each
// check throws the Error a client sees when the rule refuses (docs/api/README.md).
// A draft's definition may be edited and the draft deleted; nothing else may be.
void check_editable(const Election& election);
void check_deletable(const Election& election);
// A draft opens once it has at least one voter.
void check_openable(const Election& election, std::int64_t voters_registered);
void check_closable(const Election& election);
// Voters may be added until the election closes, up to `max_voters` in all.
void check_voters_addable(const Election& election);
void check_roll_size(std::int64_t voters_after_import, std::size_t max_voters);
// Results show once the election closes, or while it is open if its definition says
// `live`; a draft is not public at all (not_found).
void check_results_shown(const Election& election);

// A contest or option id: [a-z0-9-]{1,64}.
bool is_slug(std::string_view text);

}  // namespace observernet::domain
