#pragma once
// Who a request comes from, for rate limiting (docs/architecture.md, Rate limiting): the peer
// address, or, when the peer is a trusted proxy, the address the proxies recorded in
// X-Forwarded-For or Forwarded (RFC 7239). Pure: parsing only, no I/O.
#include <array>
#include <boost/asio/ip/address.hpp>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace observernet::cache {

using IpAddress = boost::asio::ip::address;

// A set of address ranges, such as the trusted proxies.
class CidrList {
 public:
  CidrList() = default;  // contains nothing

  // Comma-separated "address/prefix" entries, whitespace around them ignored:
  // "10.0.0.0/8, 192.168.0.0/16, ::1/128, fd00::/8". A bare address is a single
  // host (/32, /128). Empty or blank text is the empty list. Throws
  // std::invalid_argument naming the first bad entry: not an address, a prefix
  // length that is not a number or too long for the family, a zone index ("%eth0"),
  // an empty entry, or an address with bits set beyond its prefix
  // ("192.168.1.0/16"), which is almost always a typo for a narrower range.
  static CidrList parse(std::string_view text);

  // IPv4 addresses and their IPv4-mapped IPv6 forms (::ffff:a.b.c.d) are the same
  // address here: either matches an IPv4 range, and an IPv6 range holding its
  // mapped form ("::ffff:0:0/96", "::/0").
  bool contains(const IpAddress& address) const;

  bool empty() const { return v4_.empty() && v6_.empty(); }
  // The ranges, IPv4 first, canonically written: for the start-up log.
  std::string to_string() const;

 private:
  struct Range4 {
    std::uint32_t network = 0;
    std::uint32_t mask = 0;
    unsigned prefix = 0;
  };
  struct Range6 {
    std::array<unsigned char, 16> network{};
    unsigned prefix = 0;
  };
  std::vector<Range4> v4_;
  std::vector<Range6> v6_;
};

// IPv4-mapped IPv6 addresses as IPv4, everything else unchanged: one client, one
// rate-limit key, whether it reached a dual-stack socket or an IPv4 one.
IpAddress canonical_address(const IpAddress& address);

// Which header the trusted proxies maintain. Only that one is read: a proxy that
// appends to X-Forwarded-For usually passes a client's Forwarded header through
// untouched (nginx does), so reading both would let clients choose.
enum class ForwardingHeader { x_forwarded_for, forwarded };

// The client's address (canonical_address form).
//
// `field_values`: every field line of `header` in the request, in order; they form
// one list (RFC 9110 §5.3). Proxies append on the right, so the list reads client,
// proxy 1, proxy 2, ... and the peer is the last hop.
//
// The peer, unless it is in `trusted_proxies`; then the list is walked from the
// right, skipping trusted addresses, and the first untrusted one is the client.
// If every entry is trusted, the leftmost is. A header sent by an untrusted peer is
// never read, so a client cannot spoof it; behind trusted proxies a client can only
// prepend entries, which the walk never reaches.
//
// Entries: an IPv4 or IPv6 address, optionally with a port ("192.0.2.1:8080",
// "[2001:db8::1]:4711"; unbracketed IPv6 is accepted too). In Forwarded, the `for`
// parameter of each element, quoted or not (RFC 7239 §4, §6). Empty list elements
// are skipped (RFC 9110 §5.6.1). The walk stops at the first entry that yields no
// address (malformed, "unknown", an obfuscated "_name", a Forwarded element without
// `for`) and returns the last address it accepted, which is a trusted proxy (the
// peer when the rightmost entry is the bad one): the client's real address is not
// known there, so the proxy's own stands in.
IpAddress client_address(const IpAddress& peer, const CidrList& trusted_proxies,
                         ForwardingHeader header, std::span<const std::string_view> field_values);

}  // namespace observernet::cache
