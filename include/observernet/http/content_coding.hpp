#pragma once
// Content codings (RFC 9110 §8.4.1) and the choice among precompressed representations
// by Accept-Encoding (RFC 9110 §12.5.3).
#include <string_view>

namespace observernet::http {

enum class ContentCoding { identity, gzip, br };

// "identity", "gzip", "br".
std::string_view to_string(ContentCoding coding);

// br when the client accepts it (q > 0, by name or by "*") and it is available, else
// gzip likewise, else identity. Names and parameters are matched without regard to case;
// a missing or empty field accepts identity only. Identity is the answer even when the
// client refuses it (identity;q=0): a representation it may not want beats a 406.
ContentCoding choose_content_coding(std::string_view accept_encoding, bool gzip_available,
                                    bool br_available);

}  // namespace observernet::http
