#include "observernet/domain/election.hpp"

#include "observernet/crypto/hash.hpp"
#include "observernet/error.hpp"
#include "validation.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <limits>
#include <map>

namespace observernet::domain {
namespace {

using nlohmann::json;

constexpr std::size_t kMaxSlugChars = 64;

// Members an administrator may write; everything else in a body is an error.
constexpr std::array<std::string_view, 6> kDefinitionMembers = {
    "title", "description", "opensAt", "closesAt", "resultsVisibility", "contests"};
constexpr std::array<std::string_view, 5> kContestMembers = {"id", "title", "minSelections",
                                                             "maxSelections", "options"};
constexpr std::array<std::string_view, 2> kOptionMembers = {"id", "title"};
// Members of the admin/public forms that the server owns (docs/api/README.md).
constexpr std::array<std::string_view, 6> kReadOnlyMembers = {
    "id", "status", "createdAt", "updatedAt", "ballotsCast", "votersRegistered"};

template <std::size_t N>
bool is_one_of(std::string_view name, const std::array<std::string_view, N>& names) {
  for (auto n : names) {
    if (n == name) return true;
  }
  return false;
}

template <std::size_t N>
void report_unknown_members(FieldErrors& errors, const std::string& prefix, const json& object,
                            const std::array<std::string_view, N>& known) {
  for (const auto& [name, value] : object.items()) {
    if (!is_one_of(name, known)) errors.add(prefix + name, "unknown field");
  }
}

const json* find_member(const json& object, std::string_view name) {
  auto it = object.find(name);
  return it == object.end() ? nullptr : &*it;
}

// Characters that render as nothing: a title made only of these looks empty to voters.
// Unicode White_Space plus the zero-width characters people paste by accident.
bool is_blank_code_point(char32_t cp) {
  constexpr std::array<char32_t, 10> kSingles = {0x20,   0x85,   0xa0,   0x1680, 0x2028,
                                                 0x2029, 0x202f, 0x205f, 0x3000, 0xfeff};
  return (cp >= 0x09 && cp <= 0x0d) || (cp >= 0x2000 && cp <= 0x200b) || cp == 0x2060 ||
         std::find(kSingles.begin(), kSingles.end(), cp) != kSingles.end();
}

enum class TextKind {
  title,       // one line, 1..kMaxTitleChars, not blank
  description  // may hold line breaks and tabs, may be empty
};

// Lengths count Unicode code points, not bytes, so that a limit means the same in
// every script.
std::optional<std::string> read_text(FieldErrors& errors, const std::string& path,
                                     const json& value, TextKind kind) {
  if (!value.is_string()) {
    errors.add(path, "must be a string");
    return std::nullopt;
  }
  const auto& text = value.get_ref<const std::string&>();
  std::size_t chars = 0;
  bool blank = true;
  bool control = false;
  for (std::size_t pos = 0; pos < text.size(); ++chars) {
    char32_t cp;
    if (!detail::decode_utf8(text, pos, cp)) {
      errors.add(path, "must be valid UTF-8");
      return std::nullopt;
    }
    blank = blank && is_blank_code_point(cp);
    const bool allowed_break =
        kind == TextKind::description && (cp == '\n' || cp == '\r' || cp == '\t');
    control = control || (detail::is_control(cp) && !allowed_break);
  }
  const std::size_t max_chars = kind == TextKind::title ? kMaxTitleChars : kMaxDescriptionChars;
  // One message per field: the most basic problem first.
  std::string problem;
  if (kind == TextKind::title && chars == 0) {
    problem = "must not be empty";
  } else if (control) {
    problem = kind == TextKind::title
                  ? "must not contain control characters (line breaks included)"
                  : "must not contain control characters other than line breaks and tabs";
  } else if (kind == TextKind::title && blank) {
    problem = "must not be only whitespace";
  } else if (chars > max_chars) {
    problem = "must be at most " + std::to_string(max_chars) + " characters";
  }
  if (!problem.empty()) {
    errors.add(path, std::move(problem));
    return std::nullopt;
  }
  return text;
}

std::optional<std::string> read_slug(FieldErrors& errors, const std::string& path,
                                     const json& value) {
  if (!value.is_string()) {
    errors.add(path, "must be a string");
    return std::nullopt;
  }
  const auto& text = value.get_ref<const std::string&>();
  if (!is_slug(text)) {
    errors.add(path, "must be 1 to 64 characters of a-z, 0-9 and -");
    return std::nullopt;
  }
  return text;
}

// JSON has one number type (RFC 8259 §6), so 2.0 is accepted as 2; 1.5 is not. Values
// beyond int64 saturate: they fail the range checks against the option count anyway.
std::optional<std::int64_t> read_count(FieldErrors& errors, const std::string& path,
                                       const json& value) {
  std::int64_t n;
  if (value.is_number_unsigned()) {
    auto u = value.get<std::uint64_t>();
    n = u > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())
            ? std::numeric_limits<std::int64_t>::max()
            : static_cast<std::int64_t>(u);
  } else if (value.is_number_integer()) {
    n = value.get<std::int64_t>();
  } else if (value.is_number_float() && std::isfinite(value.get<double>()) &&
             std::trunc(value.get<double>()) == value.get<double>()) {
    const double d = value.get<double>();
    n = d >= 9.2e18    ? std::numeric_limits<std::int64_t>::max()
        : d <= -9.2e18 ? std::numeric_limits<std::int64_t>::min()
                       : static_cast<std::int64_t>(d);
  } else {
    errors.add(path, "must be an integer");
    return std::nullopt;
  }
  if (n < 0) {
    errors.add(path, "must not be negative");
    return std::nullopt;
  }
  return n;
}

// Parses each element of a list of objects with slug ids. A repeated id is reported at
// its second occurrence, the one to fix; it is reported even if the element has other
// mistakes.
template <typename T, typename ParseElement>
std::vector<T> parse_unique_list(FieldErrors& errors, const std::string& path, const json& array,
                                 ParseElement parse_element) {
  std::vector<T> out;
  std::map<std::string, std::size_t, std::less<>> first_index;
  for (std::size_t i = 0; i < array.size(); ++i) {
    const std::string element_path = path + "[" + std::to_string(i) + "]";
    const json& element = array[i];
    auto parsed = parse_element(errors, element_path, element);
    const json* id = element.is_object() ? find_member(element, "id") : nullptr;
    if (id && id->is_string() && is_slug(id->get_ref<const std::string&>())) {
      auto [first, inserted] = first_index.emplace(id->get<std::string>(), i);
      if (!inserted) {
        errors.add(element_path + ".id",
                   "duplicates " + path + "[" + std::to_string(first->second) + "].id");
        continue;
      }
    }
    if (parsed) out.push_back(std::move(*parsed));
  }
  return out;
}

// The two members contests and options share: a required slug id and a required title.
void read_id_and_title(FieldErrors& errors, const std::string& path, const json& value,
                       std::string& id_out, std::string& title_out) {
  if (auto* id = find_member(value, "id")) {
    if (auto slug = read_slug(errors, path + ".id", *id)) id_out = std::move(*slug);
  } else {
    errors.add(path + ".id", "is required");
  }
  if (auto* title = find_member(value, "title")) {
    if (auto text = read_text(errors, path + ".title", *title, TextKind::title)) {
      title_out = std::move(*text);
    }
  } else {
    errors.add(path + ".title", "is required");
  }
}

std::optional<Option> parse_option(FieldErrors& errors, const std::string& path,
                                   const json& value) {
  if (!value.is_object()) {
    errors.add(path, "must be an object");
    return std::nullopt;
  }
  const std::size_t errors_before = errors.total();
  Option option;
  read_id_and_title(errors, path, value, option.id, option.title);
  report_unknown_members(errors, path + ".", value, kOptionMembers);
  if (errors.total() != errors_before) return std::nullopt;
  return option;
}

std::optional<Contest> parse_contest(FieldErrors& errors, const std::string& path,
                                     const json& value) {
  if (!value.is_object()) {
    errors.add(path, "must be an object");
    return std::nullopt;
  }
  const std::size_t errors_before = errors.total();
  Contest contest;
  read_id_and_title(errors, path, value, contest.id, contest.title);

  std::optional<std::int64_t> min = 1;
  std::optional<std::int64_t> max = 1;
  if (auto* v = find_member(value, "minSelections")) {
    min = read_count(errors, path + ".minSelections", *v);
  }
  if (auto* v = find_member(value, "maxSelections")) {
    max = read_count(errors, path + ".maxSelections", *v);
  }

  // The number of options bounds maxSelections only when the list itself is usable.
  std::optional<std::size_t> option_count;
  const std::string options_path = path + ".options";
  if (auto* options = find_member(value, "options")) {
    if (!options->is_array()) {
      errors.add(options_path, "must be an array");
    } else if (options->empty()) {
      errors.add(options_path, "at least one option");
    } else if (options->size() > kMaxOptionsPerContest) {
      // Not validating each of thousands of options keeps the error list readable.
      errors.add(options_path,
                 "at most " + std::to_string(kMaxOptionsPerContest) + " options per contest");
    } else {
      option_count = options->size();
      contest.options = parse_unique_list<Option>(errors, options_path, *options, parse_option);
    }
  } else {
    errors.add(options_path, "is required");
  }

  if (min && max && *min > *max) {
    errors.add(path + ".minSelections",
               "must not exceed maxSelections (" + std::to_string(*max) + ")");
  }
  if (max && option_count && static_cast<std::uint64_t>(*max) > *option_count) {
    errors.add(path + ".maxSelections",
               "must not exceed the number of options (" + std::to_string(*option_count) + ")");
  }
  report_unknown_members(errors, path + ".", value, kContestMembers);
  if (errors.total() != errors_before) return std::nullopt;
  // Both are <= kMaxOptionsPerContest here, so they fit an int.
  contest.min_selections = static_cast<int>(*min);
  contest.max_selections = static_cast<int>(*max);
  return contest;
}

std::vector<Contest> parse_contests(FieldErrors& errors, const std::string& path,
                                    const json* value) {
  if (!value) {
    errors.add(path, "is required");
  } else if (!value->is_array()) {
    errors.add(path, "must be an array");
  } else if (value->empty()) {
    errors.add(path, "at least one contest");
  } else if (value->size() > kMaxContests) {
    errors.add(path, "at most " + std::to_string(kMaxContests) + " contests");
  } else {
    return parse_unique_list<Contest>(errors, path, *value, parse_contest);
  }
  return {};
}

// null means "not scheduled"; absent means the same.
std::optional<TimePoint> read_schedule_time(FieldErrors& errors, const json& body,
                                            std::string_view name) {
  const json* value = find_member(body, name);
  if (!value || value->is_null()) return std::nullopt;
  if (value->is_string()) {
    if (auto t = parse_timestamp(value->get_ref<const std::string&>())) return t;
  }
  errors.add(std::string(name),
             "must be null or an RFC 3339 date-time such as 2026-11-26T18:00:00Z");
  return std::nullopt;
}

// Fills `definition` from `body`, adding every problem to `errors`; `definition` is only
// meaningful when no error was added.
ElectionDefinition read_definition(FieldErrors& errors, const json& body) {
  ElectionDefinition definition;
  if (!body.is_object()) {
    errors.add("(body)", "must be a JSON object");
    return definition;
  }

  if (auto* title = find_member(body, "title")) {
    if (auto text = read_text(errors, "title", *title, TextKind::title)) {
      definition.title = std::move(*text);
    }
  } else {
    errors.add("title", "is required");
  }

  if (auto* description = find_member(body, "description")) {
    if (auto text = read_text(errors, "description", *description, TextKind::description)) {
      definition.description = std::move(*text);
    }
  }

  definition.opens_at = read_schedule_time(errors, body, "opensAt");
  definition.closes_at = read_schedule_time(errors, body, "closesAt");
  if (definition.opens_at && definition.closes_at &&
      *definition.closes_at <= *definition.opens_at) {
    errors.add("closesAt", "must be after opensAt");
  }

  if (auto* visibility = find_member(body, "resultsVisibility")) {
    auto parsed = visibility->is_string()
                      ? parse_results_visibility(visibility->get_ref<const std::string&>())
                      : std::nullopt;
    if (parsed) {
      definition.results_visibility = *parsed;
    } else {
      errors.add("resultsVisibility", "must be \"after_close\" or \"live\"");
    }
  }

  definition.contests = parse_contests(errors, "contests", find_member(body, "contests"));
  report_unknown_members(errors, "", body, kDefinitionMembers);
  return definition;
}

int parse_digits(std::string_view s, std::size_t& pos, std::size_t count, bool& ok) {
  int value = 0;
  if (s.size() - pos < count) {
    ok = false;
    return 0;
  }
  for (std::size_t i = 0; i < count; ++i) {
    const char c = s[pos + i];
    if (c < '0' || c > '9') {
      ok = false;
      return 0;
    }
    value = value * 10 + (c - '0');
  }
  pos += count;
  return value;
}

bool consume(std::string_view s, std::size_t& pos, char a, char b = '\0') {
  if (pos < s.size() && (s[pos] == a || (b != '\0' && s[pos] == b))) {
    ++pos;
    return true;
  }
  return false;
}

}  // namespace

std::string_view to_string(ElectionStatus status) {
  switch (status) {
    case ElectionStatus::draft:
      return "draft";
    case ElectionStatus::open:
      return "open";
    case ElectionStatus::closed:
      return "closed";
  }
  return "draft";
}

std::optional<ElectionStatus> parse_election_status(std::string_view text) {
  if (text == "draft") return ElectionStatus::draft;
  if (text == "open") return ElectionStatus::open;
  if (text == "closed") return ElectionStatus::closed;
  return std::nullopt;
}

std::string_view to_string(ResultsVisibility visibility) {
  switch (visibility) {
    case ResultsVisibility::after_close:
      return "after_close";
    case ResultsVisibility::live:
      return "live";
  }
  return "after_close";
}

std::optional<ResultsVisibility> parse_results_visibility(std::string_view text) {
  if (text == "after_close") return ResultsVisibility::after_close;
  if (text == "live") return ResultsVisibility::live;
  return std::nullopt;
}

ElectionDefinition parse_election_definition(const nlohmann::json& body) {
  FieldErrors errors;
  auto definition = read_definition(errors, body);
  errors.throw_if_any();
  return definition;
}

ElectionDefinition apply_election_patch(const ElectionDefinition& current,
                                        const nlohmann::json& patch) {
  FieldErrors errors;
  // RFC 7396 would let a non-object patch replace the whole document, which can never
  // be a valid election.
  if (!patch.is_object()) {
    errors.add("(body)", "must be a JSON object (RFC 7396 merge patch)");
    errors.throw_if_any();
  }
  json accepted = json::object();
  for (const auto& [name, value] : patch.items()) {
    if (is_one_of(name, kReadOnlyMembers)) {
      errors.add(name, "is read-only");
    } else if (!is_one_of(name, kDefinitionMembers)) {
      errors.add(name, "unknown field");
    } else {
      accepted[name] = value;
    }
  }
  json merged = to_json(current);
  merged.merge_patch(accepted);
  auto definition = read_definition(errors, merged);
  errors.throw_if_any();
  return definition;
}

nlohmann::json to_json(const ElectionDefinition& definition) {
  auto time_or_null = [](const std::optional<TimePoint>& t) {
    return t ? json(format_timestamp(*t)) : json(nullptr);
  };
  return {
      {"title", definition.title},
      {"description", definition.description},
      {"opensAt", time_or_null(definition.opens_at)},
      {"closesAt", time_or_null(definition.closes_at)},
      {"resultsVisibility", to_string(definition.results_visibility)},
      {"contests", contests_to_json(definition.contests)},
  };
}

nlohmann::json contests_to_json(const std::vector<Contest>& contests) {
  json out = json::array();
  for (const auto& contest : contests) {
    json options = json::array();
    for (const auto& option : contest.options) {
      options.push_back({{"id", option.id}, {"title", option.title}});
    }
    out.push_back({
        {"id", contest.id},
        {"title", contest.title},
        {"minSelections", contest.min_selections},
        {"maxSelections", contest.max_selections},
        {"options", std::move(options)},
    });
  }
  return out;
}

std::vector<Contest> contests_from_json(const nlohmann::json& contests) {
  FieldErrors errors;
  auto parsed = parse_contests(errors, "contests", &contests);
  if (!errors.empty()) {
    // Our own database gave us this: a server fault, not the client's.
    const auto& first = errors.listed().front();
    throw Error(ErrorCode::internal_error, "stored election data is malformed", {},
                "contests_from_json: " + first.field + " " + first.message);
  }
  return parsed;
}

nlohmann::json to_admin_json(const Election& election) {
  json out = to_json(election.definition);
  out["id"] = election.id;
  out["status"] = to_string(election.status);
  out["createdAt"] = format_timestamp(election.created_at);
  out["updatedAt"] = format_timestamp(election.updated_at);
  return out;
}

nlohmann::json to_public_json(const Election& election, std::int64_t ballots_cast) {
  json out = to_admin_json(election);
  out["ballotsCast"] = ballots_cast;
  out["votersRegistered"] = election.voters_registered;
  return out;
}

std::string format_timestamp(TimePoint t) {
  using namespace std::chrono;
  const auto day = floor<days>(t);
  const year_month_day date{day};
  const hh_mm_ss time{t - day};
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ",
                static_cast<int>(date.year()), static_cast<unsigned>(date.month()),
                static_cast<unsigned>(date.day()), static_cast<int>(time.hours().count()),
                static_cast<int>(time.minutes().count()), static_cast<int>(time.seconds().count()),
                static_cast<int>(time.subseconds().count()));
  return buffer;
}

// RFC 3339 §5.6 date-time. Leap seconds (second 60) are rejected: sys_time cannot
// represent them, and nobody schedules an election on one.
std::optional<TimePoint> parse_timestamp(std::string_view s) {
  using namespace std::chrono;
  std::size_t pos = 0;
  bool ok = true;
  const int y = parse_digits(s, pos, 4, ok);
  ok = ok && consume(s, pos, '-');
  const int mo = parse_digits(s, pos, 2, ok);
  ok = ok && consume(s, pos, '-');
  const int d = parse_digits(s, pos, 2, ok);
  ok = ok && consume(s, pos, 'T', 't');
  const int h = parse_digits(s, pos, 2, ok);
  ok = ok && consume(s, pos, ':');
  const int mi = parse_digits(s, pos, 2, ok);
  ok = ok && consume(s, pos, ':');
  const int sec = parse_digits(s, pos, 2, ok);
  if (!ok) return std::nullopt;

  int millis = 0;
  if (consume(s, pos, '.')) {
    std::size_t digits = 0;
    for (; pos < s.size() && s[pos] >= '0' && s[pos] <= '9'; ++pos, ++digits) {
      if (digits < 3) millis = millis * 10 + (s[pos] - '0');
    }
    if (digits == 0) return std::nullopt;
    for (; digits < 3; ++digits) millis *= 10;
  }

  minutes offset{0};
  if (!consume(s, pos, 'Z', 'z')) {
    if (pos >= s.size() || (s[pos] != '+' && s[pos] != '-')) return std::nullopt;
    const bool negative = s[pos++] == '-';
    const int oh = parse_digits(s, pos, 2, ok);
    ok = ok && consume(s, pos, ':');
    const int om = parse_digits(s, pos, 2, ok);
    if (!ok || oh > 23 || om > 59) return std::nullopt;
    offset = hours{oh} + minutes{om};
    if (negative) offset = -offset;
  }
  if (pos != s.size()) return std::nullopt;

  if (y < 1970 || y > 9999 || h > 23 || mi > 59 || sec > 59) return std::nullopt;
  const year_month_day date{year{y}, month{static_cast<unsigned>(mo)},
                            day{static_cast<unsigned>(d)}};
  if (!date.ok()) return std::nullopt;

  const TimePoint local =
      sys_days{date} + hours{h} + minutes{mi} + seconds{sec} + milliseconds{millis};
  const TimePoint utc = local - offset;
  // Offsets may push the instant out of the range the formatter writes back.
  constexpr sys_days kFirst = year{1970} / January / 1;
  constexpr sys_days kEnd = year{10000} / January / 1;
  if (utc < kFirst || utc >= kEnd) return std::nullopt;
  return utc;
}

bool is_slug(std::string_view s) {
  if (s.empty() || s.size() > kMaxSlugChars) return false;
  for (char c : s) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  }
  return true;
}

bool is_uuid(std::string_view text) {
  if (text.size() != 36) return false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (c != '-') return false;
    } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) {
      return false;
    }
  }
  return true;
}

std::optional<std::string> canonical_uuid(std::string_view text) {
  if (!is_uuid(text)) return std::nullopt;
  std::string id(text);
  std::ranges::transform(id, id.begin(),
                         [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return id;
}

std::string new_election_id() {
  std::array<unsigned char, 16> b;
  crypto::random_bytes(b);
  b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);  // version 4
  b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);  // RFC 9562 variant
  std::string hex = crypto::to_hex(b);
  return hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4) + "-" +
         hex.substr(16, 4) + "-" + hex.substr(20);
}

void check_editable(const Election& election) {
  if (election.status != ElectionStatus::draft) {
    throw Error(ErrorCode::election_not_draft, "Only a draft election can be edited.");
  }
}

void check_deletable(const Election& election) {
  if (election.status != ElectionStatus::draft) {
    throw Error(ErrorCode::election_not_draft, "Only a draft election can be deleted.");
  }
}

void check_openable(const Election& election, std::int64_t voters_registered) {
  if (election.status != ElectionStatus::draft) {
    throw Error(ErrorCode::election_not_draft, "Only a draft election can be opened.");
  }
  if (voters_registered == 0) {
    throw Error(ErrorCode::no_voters, "Import at least one voter before opening the election.");
  }
}

void check_closable(const Election& election) {
  if (election.status != ElectionStatus::open) {
    throw Error(ErrorCode::election_not_open, "Only an open election can be closed.");
  }
}

void check_voters_addable(const Election& election) {
  if (election.status == ElectionStatus::closed) {
    throw Error(ErrorCode::election_closed, "Voters cannot be added to a closed election.");
  }
}

void check_results_shown(const Election& election) {
  if (election.status == ElectionStatus::draft) {
    throw Error(ErrorCode::not_found, "No election with this id.");
  }
  if (election.status == ElectionStatus::open &&
      election.definition.results_visibility != ResultsVisibility::live) {
    throw Error(ErrorCode::results_not_available,
                "Results are published when the election closes.");
  }
}

void check_roll_size(std::int64_t voters_after_import, std::size_t max_voters) {
  if (voters_after_import > 0 && static_cast<std::size_t>(voters_after_import) > max_voters) {
    throw Error(
        ErrorCode::validation_failed, "The voter roll would be too large.",
        {{"voters", "an election holds at most " + std::to_string(max_voters) +
                        " voters; this import would make " + std::to_string(voters_after_import)}});
  }
}

}  // namespace observernet::domain
