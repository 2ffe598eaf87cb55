#include "observernet/domain/voters.hpp"

#include "observernet/crypto/hash.hpp"

#include "observernet/error.hpp"
#include "validation.hpp"

#include <openssl/crypto.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>

namespace observernet::domain {
namespace {

// A request may hold a million bad ids; a client needs the first few to see the pattern.
constexpr std::size_t kMaxListedErrors = 20;

// Why `id` is not an acceptable voterId, or an empty string. Shared by the JSON and CSV
// forms so that both accept exactly the same ids.
std::string voter_id_problem(std::string_view id, const VoterImportLimits& limits) {
  if (id.empty()) return "must not be empty";
  if (id.size() > limits.max_voter_id_bytes) {
    return "must be at most " + std::to_string(limits.max_voter_id_bytes) + " bytes of UTF-8";
  }
  for (std::size_t pos = 0; pos < id.size();) {
    char32_t cp = static_cast<unsigned char>(id[pos]);
    if (cp < 0x80) {
      ++pos;  // ids are mostly ASCII: no need to decode
    } else if (!detail::decode_utf8(id, pos, cp)) {
      return "must be valid UTF-8";
    }
    if (detail::is_control(cp)) return "must not contain control characters";
  }
  return {};
}

// Streams {"voters": [{"voterId": "..."}]} without building a DOM: a DOM of a million
// one-member objects costs hundreds of MB, the ids alone a few dozen.
class VotersSaxHandler final : public nlohmann::json_sax<nlohmann::json> {
 public:
  VotersSaxHandler(const VoterImportLimits& limits, std::vector<std::string>& ids)
      : limits_(limits), ids_(ids), errors_(kMaxListedErrors) {}

  FieldErrors& errors() { return errors_; }
  const std::optional<std::string>& syntax_error() const { return syntax_error_; }

  bool null() override { return scalar(nullptr); }
  bool boolean(bool) override { return scalar(nullptr); }
  bool number_integer(number_integer_t) override { return scalar(nullptr); }
  bool number_unsigned(number_unsigned_t) override { return scalar(nullptr); }
  bool number_float(number_float_t, const string_t&) override { return scalar(nullptr); }
  bool string(string_t& value) override { return scalar(&value); }
  bool binary(binary_t&) override { return scalar(nullptr); }

  bool start_object(std::size_t) override {
    if (skip_depth_ > 0) {
      ++skip_depth_;
      return true;
    }
    switch (expect_) {
      case Expect::body:
        frames_.push_back(Frame::body);
        expect_ = Expect::key;
        return true;
      case Expect::voter:
        begin_voter();
        frames_.push_back(Frame::voter);
        voter_id_seen_ = false;
        expect_ = Expect::key;
        return true;
      default:
        return reject_container();
    }
  }

  bool start_array(std::size_t) override {
    if (skip_depth_ > 0) {
      ++skip_depth_;
      return true;
    }
    if (expect_ == Expect::voters) {
      frames_.push_back(Frame::voters);
      expect_ = Expect::voter;
      return true;
    }
    return reject_container();
  }

  bool key(string_t& name) override {
    if (skip_depth_ > 0) return true;
    if (frames_.back() == Frame::body) {
      if (name != "voters") {
        errors_.add(name, "unknown field");
        expect_ = Expect::ignored;
      } else if (voters_seen_) {
        errors_.add("voters", "must appear only once");
        expect_ = Expect::ignored;
      } else {
        voters_seen_ = true;
        expect_ = Expect::voters;
      }
    } else {
      if (name != "voterId") {
        errors_.add(voter_path() + "." + name, "unknown field");
        expect_ = Expect::ignored;
      } else if (voter_id_seen_) {
        errors_.add(voter_path() + ".voterId", "must appear only once");
        expect_ = Expect::ignored;
      } else {
        voter_id_seen_ = true;
        expect_ = Expect::voter_id;
      }
    }
    return true;
  }

  bool end_object() override {
    if (skip_depth_ > 0) return end_skipped();
    if (frames_.back() == Frame::voter) {
      if (!voter_id_seen_) errors_.add(voter_path() + ".voterId", "is required");
      ++voter_index_;
    } else if (!voters_seen_) {
      errors_.add("voters", "is required");
    }
    frames_.pop_back();
    after_value();
    return true;
  }

  bool end_array() override {
    if (skip_depth_ > 0) return end_skipped();
    frames_.pop_back();
    after_value();
    return true;
  }

  bool parse_error(std::size_t position, const std::string&,
                   const nlohmann::detail::exception& e) override {
    syntax_error_ = "the body is not valid JSON (at byte " + std::to_string(position) + ")";
    syntax_log_ = e.what();
    return false;
  }

  const std::string& syntax_log() const { return syntax_log_; }

 private:
  enum class Frame { body, voters, voter };
  // What the next value is, given where the parser stands.
  enum class Expect { body, key, voters, voter, voter_id, ignored };

  bool scalar(string_t* text) {
    if (skip_depth_ > 0) return true;
    switch (expect_) {
      case Expect::voter_id:
        if (text) {
          accept_voter_id(*text);
        } else {
          errors_.add(voter_path() + ".voterId", "must be a string");
        }
        break;
      case Expect::ignored:
        break;
      default:
        if (expect_ == Expect::voter) begin_voter();
        report_wrong_type();
        if (expect_ == Expect::voter) ++voter_index_;
        break;
    }
    after_value();
    return true;
  }

  bool reject_container() {
    if (expect_ == Expect::voter) begin_voter();
    report_wrong_type();
    if (expect_ == Expect::voter) ++voter_index_;
    skip_depth_ = 1;
    return true;
  }

  bool end_skipped() {
    if (--skip_depth_ == 0) after_value();
    return true;
  }

  void report_wrong_type() {
    switch (expect_) {
      case Expect::body:
        errors_.add("(body)", "must be a JSON object");
        break;
      case Expect::voters:
        errors_.add("voters", "must be an array");
        break;
      case Expect::voter:
        errors_.add(voter_path(), "must be an object");
        break;
      case Expect::voter_id:
        errors_.add(voter_path() + ".voterId", "must be a string");
        break;
      default:
        break;
    }
  }

  void after_value() {
    expect_ = !frames_.empty() && frames_.back() == Frame::voters ? Expect::voter : Expect::key;
  }

  std::string voter_path() const { return "voters[" + std::to_string(voter_index_) + "]"; }

  // Called as each element of "voters" starts.
  void begin_voter() {
    if (voter_index_ == limits_.max_voters) {
      errors_.add("voters", "must hold at most " + std::to_string(limits_.max_voters) + " voters");
    }
  }

  void accept_voter_id(string_t& id) {
    if (voter_index_ >= limits_.max_voters) return;
    if (auto problem = voter_id_problem(id, limits_); !problem.empty()) {
      errors_.add(voter_path() + ".voterId", std::move(problem));
      return;
    }
    // The lexer clears its buffer before the next token, so taking it is safe.
    ids_.push_back(std::move(id));
  }

  const VoterImportLimits& limits_;
  std::vector<std::string>& ids_;
  FieldErrors errors_;
  std::vector<Frame> frames_;
  Expect expect_ = Expect::body;
  std::size_t skip_depth_ = 0;
  std::size_t voter_index_ = 0;
  bool voters_seen_ = false;
  bool voter_id_seen_ = false;
  std::optional<std::string> syntax_error_;
  std::string syntax_log_;
};

// Bytes that end an unquoted CSV field or need a closer look.
constexpr std::array<bool, 256> kCsvSpecial = [] {
  std::array<bool, 256> table{};
  table[static_cast<unsigned char>(',')] = true;
  table[static_cast<unsigned char>('\n')] = true;
  table[static_cast<unsigned char>('\r')] = true;
  table[static_cast<unsigned char>('"')] = true;
  return table;
}();

[[noreturn]] void fail_csv(std::string field, std::string message) {
  std::string detail = "invalid CSV: " + field + ": " + message;
  throw Error(ErrorCode::validation_failed, std::move(detail),
              {{std::move(field), std::move(message)}});
}

// RFC 4180 records, one field at a time, with views into the input where possible so
// that ignored columns cost no allocation.
class CsvReader {
 public:
  explicit CsvReader(std::string_view text) : text_(text) {
    if (text_.starts_with("\xEF\xBB\xBF")) pos_ = 3;
  }

  // Moves to the next record, skipping blank lines; false at the end of the input.
  bool next_record() {
    while (pos_ < text_.size()) {
      if (text_[pos_] == '\n') {
        ++pos_;
      } else if (text_[pos_] == '\r' && pos_ + 1 < text_.size() && text_[pos_ + 1] == '\n') {
        pos_ += 2;
      } else {
        break;
      }
      ++line_;
    }
    if (pos_ >= text_.size()) return false;
    record_line_ = line_;
    record_begin_ = pos_;
    record_done_ = false;
    return true;
  }

  bool record_done() const { return record_done_; }
  std::size_t record_line() const { return record_line_; }
  // The raw bytes read so far for the current record.
  std::string_view record_text() const { return text_.substr(record_begin_, pos_ - record_begin_); }

  [[noreturn]] void fail(std::string message) const {
    fail_csv("line " + std::to_string(record_line_), std::move(message));
  }

  // The next field of the current record; valid until the next call.
  std::string_view read_field() {
    if (pos_ < text_.size() && text_[pos_] == '"') return read_quoted_field();
    const std::size_t begin = pos_;
    while (pos_ < text_.size()) {
      const char c = text_[pos_];
      if (!kCsvSpecial[static_cast<unsigned char>(c)]) {
        ++pos_;
        continue;
      }
      if (c == '"') fail("a quote inside an unquoted field (quote the field, double the quote)");
      if (c == '\r' && !(pos_ + 1 < text_.size() && text_[pos_ + 1] == '\n')) {
        ++pos_;  // a lone CR is data, not a line end
        continue;
      }
      const std::string_view field = text_.substr(begin, pos_ - begin);
      end_field();
      return field;
    }
    record_done_ = true;
    return text_.substr(begin);
  }

 private:
  std::string_view read_quoted_field() {
    ++pos_;
    std::size_t segment = pos_;
    bool escaped = false;
    for (;;) {
      const std::size_t quote = text_.find('"', pos_);
      if (quote == std::string_view::npos) fail("unterminated quoted field");
      line_ += static_cast<std::size_t>(
          std::count(text_.begin() + static_cast<std::ptrdiff_t>(pos_),
                     text_.begin() + static_cast<std::ptrdiff_t>(quote), '\n'));
      if (quote + 1 < text_.size() && text_[quote + 1] == '"') {
        if (!escaped) scratch_.clear();
        scratch_.append(text_.substr(segment, quote + 1 - segment));
        escaped = true;
        pos_ = quote + 2;
        segment = pos_;
        continue;
      }
      std::string_view field;
      if (escaped) {
        scratch_.append(text_.substr(segment, quote - segment));
        field = scratch_;
      } else {
        field = text_.substr(segment, quote - segment);
      }
      pos_ = quote + 1;
      if (pos_ == text_.size()) {
        record_done_ = true;
      } else if (text_[pos_] == ',' || text_[pos_] == '\n' ||
                 (text_[pos_] == '\r' && pos_ + 1 < text_.size() && text_[pos_ + 1] == '\n')) {
        end_field();
      } else {
        fail("unexpected character after a closing quote");
      }
      return field;
    }
  }

  // pos_ is at ',', '\n' or "\r\n".
  void end_field() {
    if (text_[pos_] == ',') {
      ++pos_;
      return;
    }
    pos_ += text_[pos_] == '\r' ? 2 : 1;
    ++line_;
    record_done_ = true;
  }

  std::string_view text_;
  std::size_t pos_ = 0;
  std::size_t line_ = 1;
  std::size_t record_line_ = 1;
  std::size_t record_begin_ = 0;
  bool record_done_ = true;
  std::string scratch_;
};

}  // namespace

std::vector<std::string> parse_voters_json(std::string_view body, const VoterImportLimits& limits) {
  std::vector<std::string> ids;
  VotersSaxHandler handler(limits, ids);
  const bool parsed = nlohmann::json::sax_parse(body.begin(), body.end(), &handler);
  if (!parsed || handler.syntax_error()) {
    throw Error(ErrorCode::bad_request,
                handler.syntax_error().value_or("the body is not valid JSON"), {},
                handler.syntax_log());
  }
  handler.errors().throw_if_any();
  return ids;
}

std::vector<std::string> parse_voters_csv(std::string_view body, const VoterImportLimits& limits) {
  CsvReader reader(body);
  if (!reader.next_record()) fail_csv("header", "the body has no header row");

  std::size_t column_count = 0;
  std::optional<std::size_t> voter_column;
  for (;;) {
    const std::string_view name = reader.read_field();
    if (name == "voterId") {
      if (voter_column) fail_csv("header", "more than one voterId column");
      voter_column = column_count;
    }
    ++column_count;
    if (reader.record_done()) break;
  }
  if (!detail::is_valid_utf8(reader.record_text())) reader.fail("invalid UTF-8");
  if (!voter_column) fail_csv("header", "no column named voterId");

  std::vector<std::string> ids;
  // Every data row takes at least one line end, so this bounds the count.
  const auto line_ends = static_cast<std::size_t>(std::count(body.begin(), body.end(), '\n'));
  ids.reserve(std::min(line_ends + 1, limits.max_voters));

  while (reader.next_record()) {
    if (ids.size() == limits.max_voters) {
      reader.fail("more than " + std::to_string(limits.max_voters) + " voters");
    }
    std::size_t fields = 0;
    std::string voter_id;
    for (;;) {
      // Copied at once: a later quoted field may reuse the reader's buffer.
      const std::string_view field = reader.read_field();
      if (fields == *voter_column) voter_id = field;
      ++fields;
      if (reader.record_done()) break;
    }
    if (fields != column_count) {
      reader.fail("expected " + std::to_string(column_count) + " fields, found " +
                  std::to_string(fields));
    }
    if (!detail::is_valid_utf8(reader.record_text())) reader.fail("invalid UTF-8");
    if (auto problem = voter_id_problem(voter_id, limits); !problem.empty()) {
      reader.fail("voterId " + problem);
    }
    ids.push_back(std::move(voter_id));
  }
  return ids;
}

std::string new_credential() {
  std::array<unsigned char, 16> bytes;  // 128 bits: 26 Crockford base32 characters
  crypto::random_bytes(bytes);
  std::string out = crypto::to_crockford_base32(bytes);
  OPENSSL_cleanse(bytes.data(), bytes.size());
  return out;
}

std::string normalize_credential(std::string_view typed) {
  std::string out;
  out.reserve(typed.size());
  for (char c : typed) {
    if (c == '-' || c == ' ') continue;
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (c == 'I' || c == 'L') c = '1';
    if (c == 'O') c = '0';
    out.push_back(c);
  }
  return out;
}

std::array<unsigned char, 32> voter_hash(std::string_view pepper, std::string_view election_id,
                                         std::string_view voter_id) {
  std::string message;
  message.reserve(election_id.size() + voter_id.size());
  for (char c : election_id) {
    message.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
  message.append(voter_id);
  return crypto::hmac_sha256(crypto::as_bytes(pepper), message);
}

}  // namespace observernet::domain
