#include "observernet/http/content_coding.hpp"

#include <algorithm>

#include "observernet/http/message.hpp"

namespace observernet::http {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// RFC 9110 §12.4.2: qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] ), in
// thousandths. A malformed weight counts as 0: the client said something we cannot read.
int weight_of(std::string_view parameters) {
  int weight = 1000;
  while (!parameters.empty()) {
    auto semicolon = parameters.find(';');
    std::string_view parameter = trim(parameters.substr(0, semicolon));
    parameters =
        semicolon == std::string_view::npos ? std::string_view() : parameters.substr(semicolon + 1);
    auto eq = parameter.find('=');
    if (eq == std::string_view::npos || !iequals(trim(parameter.substr(0, eq)), "q")) continue;
    std::string_view value = trim(parameter.substr(eq + 1));
    if (value.empty() || (value[0] != '0' && value[0] != '1')) return 0;
    int whole = value[0] - '0';
    int thousandths = 0;
    if (value.size() > 1) {
      if (value[1] != '.' || value.size() > 5) return 0;
      int scale = 100;
      for (char c : value.substr(2)) {
        if (c < '0' || c > '9') return 0;
        thousandths += (c - '0') * scale;
        scale /= 10;
      }
    }
    weight = whole * 1000 + thousandths;
    if (weight > 1000) return 0;
  }
  return weight;
}

}  // namespace

std::string_view to_string(ContentCoding coding) {
  switch (coding) {
    case ContentCoding::gzip:
      return "gzip";
    case ContentCoding::br:
      return "br";
    case ContentCoding::identity:
      break;
  }
  return "identity";
}

ContentCoding choose_content_coding(std::string_view accept_encoding, bool gzip_available,
                                    bool br_available) {
  // -1: not named (then "*" decides), else the weight named.
  int br = -1, gzip = -1, any = -1;
  while (!accept_encoding.empty()) {
    auto comma = accept_encoding.find(',');
    std::string_view item = accept_encoding.substr(0, comma);
    accept_encoding =
        comma == std::string_view::npos ? std::string_view() : accept_encoding.substr(comma + 1);
    auto semicolon = item.find(';');
    std::string_view name = trim(item.substr(0, semicolon));
    int weight = semicolon == std::string_view::npos ? 1000 : weight_of(item.substr(semicolon + 1));
    if (iequals(name, "br")) {
      br = weight;
    } else if (iequals(name, "gzip") || iequals(name, "x-gzip")) {
      gzip = weight;
    } else if (name == "*") {
      any = weight;
    }
  }
  // RFC 9110 §12.5.3: the highest weight wins; brotli, the smaller, on a tie.
  auto weight = [any](int named) { return named >= 0 ? named : std::max(any, 0); };
  const int br_weight = br_available ? weight(br) : 0;
  const int gzip_weight = gzip_available ? weight(gzip) : 0;
  if (br_weight > 0 && br_weight >= gzip_weight) return ContentCoding::br;
  if (gzip_weight > 0) return ContentCoding::gzip;
  return ContentCoding::identity;
}

}  // namespace observernet::http
