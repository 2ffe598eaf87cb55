#pragma once
// RFC 8785 JSON Canonicalization Scheme: the bytes that audit hashes, ballot leaves and
// tree heads are computed over. Pure.
#include <nlohmann/json_fwd.hpp>
#include <string>

namespace observernet::crypto {

// Object members sorted by their UTF-16 code units, no insignificant whitespace,
// strings escaped as ECMAScript's JSON.stringify does, numbers in ECMAScript's
// Number.prototype.toString form (RFC 8785 §3.2.2.3). Throws std::invalid_argument
// for what I-JSON cannot represent: non-finite numbers, integers beyond ±(2^53 − 1),
// invalid UTF-8.
std::string canonicalize(const nlohmann::json& value);

}  // namespace observernet::crypto
