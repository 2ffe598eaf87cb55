#pragma once
// Voter-roll import bodies and voter credentials (docs/formats.md, Voter hash and credentials).
// Pure: no I/O.
#include <array>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace observernet::domain {

struct VoterImportLimits {
  std::size_t max_voters = 1'000'000;    // per request (and per election)
  std::size_t max_voter_id_bytes = 256;  // UTF-8 bytes
};

// {"voters": [{"voterId": "..."}, …]} — no other members anywhere. voterIds are
// non-empty, at most max_voter_id_bytes, without control characters. Returned in
// order; duplicates inside the body are kept (the caller counts them). Throws
// observernet::Error(validation_failed) with errors[] entries like "voters[3].voterId",
// at most 20 of them, or bad_request for malformed JSON.
std::vector<std::string> parse_voters_json(std::string_view body, const VoterImportLimits& limits);

// text/csv (RFC 4180): a header row naming a `voterId` column (other columns are
// allowed and ignored), quoted fields with "" escapes and embedded commas/newlines,
// CRLF or LF line ends, blank lines ignored, UTF-8 (a BOM is skipped). Any malformed
// row rejects the whole body: Error(validation_failed) with one error whose field is
// "line N" (1-based physical line where the bad row starts) and a message saying why
// (unterminated quote, wrong number of fields, empty or over-long voterId, invalid
// UTF-8, …); a missing voterId column is reported as field "header".
std::vector<std::string> parse_voters_csv(std::string_view body, const VoterImportLimits& limits);

// A new voter credential: 128 bits from the CSPRNG in Crockford base32 (26 characters,
// no I/L/O/U).
std::string new_credential();

// A credential as typed by a person, in the form new_credential() gave it: Crockford's
// decoding rules (case-insensitive; I and L read as 1, O as 0; hyphens and spaces
// ignored), so that "abcd-efgh…" still matches.
std::string normalize_credential(std::string_view typed);

// docs/formats.md, Voter hash and credentials: voterHash = HMAC-SHA256(pepper, electionId ||
// voterId), with the election id in its lowercase canonical form, whatever case the request used.
std::array<unsigned char, 32> voter_hash(std::string_view pepper, std::string_view election_id,
                                         std::string_view voter_id);

}  // namespace observernet::domain
