#include "observernet/cache/client_address.hpp"

#include <algorithm>
#include <boost/asio/ip/address_v4.hpp>
#include <boost/asio/ip/address_v6.hpp>
#include <boost/beast/core/string.hpp>
#include <optional>
#include <stdexcept>

namespace observernet::cache {
namespace {

namespace ip = boost::asio::ip;

bool is_ows(char c) {
  return c == ' ' || c == '\t';
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_ows(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_ows(s.back())) s.remove_suffix(1);
  return s;
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_alpha(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

// RFC 9110 §5.6.2 tchar.
bool is_tchar(char c) {
  return is_digit(c) || is_alpha(c) ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

// Dotted-quad IPv4, or IPv6 without a zone index (which means nothing off the host
// that wrote it, and which Asio would look up as an interface name).
std::optional<ip::address_v4> parse_v4(std::string_view s) {
  if (s.empty() || s.find('%') != std::string_view::npos) return std::nullopt;
  boost::system::error_code ec;
  auto a = ip::make_address_v4(std::string(s), ec);
  if (ec) return std::nullopt;
  return a;
}

std::optional<ip::address_v6> parse_v6(std::string_view s) {
  if (s.empty() || s.find('%') != std::string_view::npos) return std::nullopt;
  boost::system::error_code ec;
  auto a = ip::make_address_v6(std::string(s), ec);
  if (ec) return std::nullopt;
  return a;
}

// RFC 7239 §6: node-port = port / obfport; port = 1*5DIGIT; obfport = "_" 1*(ALPHA
// / DIGIT / "." / "_" / "-"). X-Forwarded-For ports, when present, are the first.
bool is_port(std::string_view s) {
  if (s.empty()) return false;
  if (s.front() == '_') {
    return s.size() > 1 && std::all_of(s.begin() + 1, s.end(), [](char c) {
             return is_digit(c) || is_alpha(c) || c == '.' || c == '_' || c == '-';
           });
  }
  if (s.size() > 5 || !std::all_of(s.begin(), s.end(), is_digit)) return false;
  return std::stoul(std::string(s)) <= 65535;
}

// One hop: "192.0.2.1", "192.0.2.1:80", "[2001:db8::1]", "[2001:db8::1]:4711",
// "2001:db8::1". nullopt for anything else, including "unknown" and "_hidden".
std::optional<IpAddress> parse_node(std::string_view s) {
  if (s.empty()) return std::nullopt;
  if (s.front() == '[') {
    const auto close = s.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    const std::string_view rest = s.substr(close + 1);
    if (!rest.empty() && (rest.front() != ':' || !is_port(rest.substr(1)))) return std::nullopt;
    auto v6 = parse_v6(s.substr(1, close - 1));
    if (!v6) return std::nullopt;
    return canonical_address(IpAddress(*v6));
  }
  const auto colons = std::count(s.begin(), s.end(), ':');
  if (colons >= 2) {
    auto v6 = parse_v6(s);
    if (!v6) return std::nullopt;
    return canonical_address(IpAddress(*v6));
  }
  if (colons == 1) {
    const auto colon = s.find(':');
    if (!is_port(s.substr(colon + 1))) return std::nullopt;
    s = s.substr(0, colon);
  }
  auto v4 = parse_v4(s);
  if (!v4) return std::nullopt;
  return IpAddress(*v4);
}

// Appends the comma-separated elements of one field line, trimmed, skipping empty
// ones.
void split_list(std::string_view line, std::vector<std::string_view>& out) {
  while (true) {
    const auto comma = line.find(',');
    const std::string_view element = trim(line.substr(0, comma));
    if (!element.empty()) out.push_back(element);
    if (comma == std::string_view::npos) return;
    line.remove_prefix(comma + 1);
  }
}

// The unquoted `for` value of one Forwarded element (RFC 7239 §4:
// forwarded-pair *( ";" forwarded-pair ), value = token / quoted-string); nullopt
// when the element is malformed, has no `for`, or has two. Whitespace around ";"
// and "=" is tolerated although the grammar has none.
std::optional<std::string> forwarded_for(std::string_view element) {
  std::optional<std::string> found;
  std::size_t i = 0;
  const std::size_t n = element.size();
  auto skip_ows = [&] {
    while (i < n && is_ows(element[i])) ++i;
  };
  while (true) {
    skip_ows();
    if (i == n) break;
    if (element[i] == ';') {
      ++i;
      continue;
    }
    const std::size_t name_start = i;
    while (i < n && is_tchar(element[i])) ++i;
    const std::string_view name = element.substr(name_start, i - name_start);
    skip_ows();
    if (name.empty() || i == n || element[i] != '=') return std::nullopt;
    ++i;
    skip_ows();
    std::string value;
    if (i < n && element[i] == '"') {
      ++i;
      bool closed = false;
      while (i < n) {
        char c = element[i++];
        if (c == '"') {
          closed = true;
          break;
        }
        if (c == '\\') {  // quoted-pair
          if (i == n) return std::nullopt;
          c = element[i++];
        }
        value += c;
      }
      if (!closed) return std::nullopt;
    } else {
      // A token, leniently also taking ":[]" so that an unquoted "192.0.2.1:80" or
      // "[2001:db8::1]" still reads as meant.
      const std::size_t start = i;
      while (i < n && (is_tchar(element[i]) || element[i] == ':' || element[i] == '[' ||
                       element[i] == ']')) {
        ++i;
      }
      value = element.substr(start, i - start);
      if (value.empty()) return std::nullopt;
    }
    skip_ows();
    if (i < n && element[i] != ';') return std::nullopt;
    if (boost::beast::iequals(name, "for")) {
      if (found) return std::nullopt;  // §4: a parameter MUST NOT occur twice
      found = std::move(value);
    }
  }
  return found;
}

std::invalid_argument bad_entry(std::string_view entry, const std::string& why) {
  return std::invalid_argument("\"" + std::string(entry) + "\": " + why);
}

unsigned parse_prefix(std::string_view entry, std::string_view digits, unsigned max_prefix,
                      const char* family) {
  if (digits.empty() || digits.size() > 3 || !std::all_of(digits.begin(), digits.end(), is_digit)) {
    throw bad_entry(entry, "the prefix length after \"/\" must be a number from 0 to " +
                               std::to_string(max_prefix));
  }
  const unsigned prefix = static_cast<unsigned>(std::stoul(std::string(digits)));
  if (prefix > max_prefix) {
    throw bad_entry(entry, "prefix length " + std::to_string(prefix) + " is longer than " +
                               std::to_string(max_prefix) + " bits, the size of an " + family +
                               " address");
  }
  return prefix;
}

std::uint32_t mask_v4(unsigned prefix) {
  return prefix == 0 ? 0 : ~std::uint32_t{0} << (32 - prefix);
}

std::array<unsigned char, 16> mask_v6(std::array<unsigned char, 16> bytes, unsigned prefix) {
  for (unsigned i = 0; i < 16; ++i) {
    const unsigned bits_here = prefix > i * 8 ? std::min(8U, prefix - i * 8) : 0;
    bytes[i] &= static_cast<unsigned char>(0xFF00U >> bits_here);
  }
  return bytes;
}

}  // namespace

IpAddress canonical_address(const IpAddress& address) {
  if (address.is_v6() && address.to_v6().is_v4_mapped()) {
    return ip::make_address_v4(ip::v4_mapped, address.to_v6());
  }
  return address;
}

CidrList CidrList::parse(std::string_view text) {
  CidrList list;
  if (trim(text).empty()) return list;
  while (true) {
    const auto comma = text.find(',');
    const std::string_view entry = trim(text.substr(0, comma));
    if (entry.empty()) {
      throw std::invalid_argument(
          "empty entry in the address range list (two commas in a row, "
          "or one at either end?)");
    }
    if (entry.find('%') != std::string_view::npos) {
      throw bad_entry(entry, "zone indexes (\"%...\") are not allowed in address ranges");
    }
    const auto slash = entry.find('/');
    const std::string_view address_text = entry.substr(0, slash);
    const std::optional<std::string_view> prefix_text =
        slash == std::string_view::npos ? std::nullopt : std::optional(entry.substr(slash + 1));
    if (auto v4 = parse_v4(address_text)) {
      const unsigned prefix = prefix_text ? parse_prefix(entry, *prefix_text, 32, "IPv4") : 32;
      const std::uint32_t bits = v4->to_uint();
      const std::uint32_t mask = mask_v4(prefix);
      if ((bits & mask) != bits) {
        throw bad_entry(entry, "has address bits set beyond the /" + std::to_string(prefix) +
                                   " prefix; did you mean " +
                                   ip::address_v4(bits & mask).to_string() + "/" +
                                   std::to_string(prefix) + "?");
      }
      list.v4_.push_back({bits & mask, mask, prefix});
    } else if (auto v6 = parse_v6(address_text)) {
      const unsigned prefix = prefix_text ? parse_prefix(entry, *prefix_text, 128, "IPv6") : 128;
      const auto bytes = v6->to_bytes();
      const auto network = mask_v6(bytes, prefix);
      if (network != bytes) {
        throw bad_entry(entry, "has address bits set beyond the /" + std::to_string(prefix) +
                                   " prefix; did you mean " + ip::address_v6(network).to_string() +
                                   "/" + std::to_string(prefix) + "?");
      }
      list.v6_.push_back({network, prefix});
    } else {
      throw bad_entry(entry, "\"" + std::string(address_text) +
                                 "\" is not an IPv4 or IPv6 address (expected address/prefix, "
                                 "like 10.0.0.0/8 or fd00::/8)");
    }
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return list;
}

bool CidrList::contains(const IpAddress& address) const {
  const IpAddress a = canonical_address(address);
  ip::address_v6 v6;
  if (a.is_v4()) {
    const std::uint32_t bits = a.to_v4().to_uint();
    for (const Range4& r : v4_) {
      if ((bits & r.mask) == r.network) return true;
    }
    v6 = ip::make_address_v6(ip::v4_mapped, a.to_v4());
  } else {
    v6 = a.to_v6();
  }
  const auto bytes = v6.to_bytes();
  for (const Range6& r : v6_) {
    if (mask_v6(bytes, r.prefix) == r.network) return true;
  }
  return false;
}

std::string CidrList::to_string() const {
  std::string out;
  auto add = [&out](const std::string& address, unsigned prefix) {
    if (!out.empty()) out += ", ";
    out += address + "/" + std::to_string(prefix);
  };
  for (const Range4& r : v4_) add(ip::address_v4(r.network).to_string(), r.prefix);
  for (const Range6& r : v6_) add(ip::address_v6(r.network).to_string(), r.prefix);
  return out;
}

IpAddress client_address(const IpAddress& peer, const CidrList& trusted_proxies,
                         ForwardingHeader header, std::span<const std::string_view> field_values) {
  IpAddress current = canonical_address(peer);
  if (!trusted_proxies.contains(current)) return current;

  // Elements split at every comma, quotes or not: no entry this reads can hold a
  // comma, and a client's unterminated quote then cannot swallow the elements that
  // proxies append after it on the same line.
  std::vector<std::string_view> hops;
  for (std::string_view line : field_values) split_list(line, hops);

  for (auto hop = hops.rbegin(); hop != hops.rend(); ++hop) {
    std::optional<IpAddress> address;
    if (header == ForwardingHeader::x_forwarded_for) {
      address = parse_node(*hop);
    } else if (auto value = forwarded_for(*hop)) {
      address = parse_node(*value);
    }
    if (!address) return current;
    current = *address;
    if (!trusted_proxies.contains(current)) return current;
  }
  return current;
}

}  // namespace observernet::cache
