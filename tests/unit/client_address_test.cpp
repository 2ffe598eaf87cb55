// Client identity for rate limiting: trusted-proxy ranges and the walk through
// X-Forwarded-For / Forwarded (RFC 7239).
#include "observernet/cache/client_address.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

namespace observernet::cache {
namespace {

IpAddress addr(const std::string& text) {
  return boost::asio::ip::make_address(text);
}

const CidrList& proxies() {
  static const CidrList list = CidrList::parse("10.0.0.0/8, 192.168.0.0/16, ::1/128, fd00::/8");
  return list;
}

std::string message_of(std::string_view text) {
  try {
    CidrList::parse(text);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "(accepted)";
}

TEST(ClientAddressCidrTest, ParsesBothFamiliesAndMatchesTheirRanges) {
  const CidrList& list = proxies();
  EXPECT_FALSE(list.empty());
  EXPECT_EQ(list.to_string(), "10.0.0.0/8, 192.168.0.0/16, ::1/128, fd00::/8");
  EXPECT_TRUE(list.contains(addr("10.0.0.0")));
  EXPECT_TRUE(list.contains(addr("10.255.255.255")));
  EXPECT_FALSE(list.contains(addr("11.0.0.0")));
  EXPECT_FALSE(list.contains(addr("9.255.255.255")));
  EXPECT_TRUE(list.contains(addr("192.168.77.1")));
  EXPECT_FALSE(list.contains(addr("192.169.0.1")));
  EXPECT_TRUE(list.contains(addr("::1")));
  EXPECT_FALSE(list.contains(addr("::2")));
  EXPECT_TRUE(list.contains(addr("fd00::")));
  EXPECT_TRUE(list.contains(addr("fdff:ffff::1")));
  EXPECT_FALSE(list.contains(addr("fe00::1")));
  EXPECT_FALSE(list.contains(addr("203.0.113.7")));
  EXPECT_FALSE(list.contains(addr("2001:db8::1")));
}

TEST(ClientAddressCidrTest, BareAddressesAndOddPrefixes) {
  const CidrList list =
      CidrList::parse("\t203.0.113.7 ,2001:db8::1,198.51.100.128/25,2001:db8:8000::/33");
  EXPECT_TRUE(list.contains(addr("203.0.113.7")));
  EXPECT_FALSE(list.contains(addr("203.0.113.8")));
  EXPECT_TRUE(list.contains(addr("2001:db8::1")));
  EXPECT_FALSE(list.contains(addr("2001:db8::2")));
  EXPECT_TRUE(list.contains(addr("198.51.100.255")));
  EXPECT_FALSE(list.contains(addr("198.51.100.127")));
  EXPECT_TRUE(list.contains(addr("2001:db8:ffff::1")));
  EXPECT_FALSE(list.contains(addr("2001:db8:7fff::1")));
  EXPECT_TRUE(CidrList::parse("0.0.0.0/0").contains(addr("255.255.255.255")));
  EXPECT_FALSE(CidrList::parse("0.0.0.0/0").contains(addr("2001:db8::1")));
}

TEST(ClientAddressCidrTest, EmptyTextIsTheEmptyList) {
  EXPECT_TRUE(CidrList::parse("").empty());
  EXPECT_TRUE(CidrList::parse("  \t ").empty());
  EXPECT_FALSE(CidrList().contains(addr("127.0.0.1")));
}

TEST(ClientAddressCidrTest, IPv4MappedAddressesAreIPv4) {
  const CidrList& list = proxies();
  EXPECT_TRUE(list.contains(addr("::ffff:10.1.2.3")));
  EXPECT_FALSE(list.contains(addr("::ffff:11.1.2.3")));
  // An IPv6 range written over the mapped space holds the IPv4 addresses too.
  const CidrList mapped = CidrList::parse("::ffff:10.0.0.0/104");
  EXPECT_TRUE(mapped.contains(addr("10.1.2.3")));
  EXPECT_TRUE(mapped.contains(addr("::ffff:10.1.2.3")));
  EXPECT_FALSE(mapped.contains(addr("11.1.2.3")));
  EXPECT_TRUE(CidrList::parse("::/0").contains(addr("203.0.113.7")));
  EXPECT_EQ(canonical_address(addr("::ffff:203.0.113.7")), addr("203.0.113.7"));
  EXPECT_EQ(canonical_address(addr("2001:db8::1")), addr("2001:db8::1"));
}

TEST(ClientAddressCidrTest, BadEntriesAreNamedInTheError) {
  EXPECT_EQ(message_of("10.0.0.0/8, 10.0.0.0/33"),
            "\"10.0.0.0/33\": prefix length 33 is longer than 32 bits, the size of an IPv4 "
            "address");
  EXPECT_EQ(message_of("fd00::/129"),
            "\"fd00::/129\": prefix length 129 is longer than 128 bits, the size of an IPv6 "
            "address");
  EXPECT_EQ(message_of("192.168.1.0/16"),
            "\"192.168.1.0/16\": has address bits set beyond the /16 prefix; did you mean "
            "192.168.0.0/16?");
  EXPECT_EQ(message_of("fd00::1/8"),
            "\"fd00::1/8\": has address bits set beyond the /8 prefix; did you mean fd00::/8?");
  EXPECT_EQ(message_of("10.0.0/8"),
            "\"10.0.0/8\": \"10.0.0\" is not an IPv4 or IPv6 address (expected address/prefix, "
            "like 10.0.0.0/8 or fd00::/8)");
  EXPECT_EQ(message_of("10.0.0.0/"),
            "\"10.0.0.0/\": the prefix length after \"/\" must be a number from 0 to 32");
  for (const char* bad :
       {"10.0.0.0/-1", "10.0.0.0/+8", "10.0.0.0/ 8", "10.0.0.0/8/8", "10.0.0.0/0008", "::/1x"}) {
    EXPECT_NE(message_of(bad).find("must be a number"), std::string::npos) << bad;
  }
  EXPECT_NE(message_of("proxy.internal").find("\"proxy.internal\": "), std::string::npos);
  EXPECT_NE(message_of("10.0.0.0/8 192.168.0.0/16").find("must be a number"), std::string::npos);
  EXPECT_EQ(message_of("fe80::1%eth0"),
            "\"fe80::1%eth0\": zone indexes (\"%...\") are not allowed in address ranges");
  for (const char* bad : {"10.0.0.0/8,,::1", "10.0.0.0/8,", ",10.0.0.0/8"}) {
    EXPECT_NE(message_of(bad).find("empty entry"), std::string::npos) << bad;
  }
}

IpAddress via_xff(const std::string& peer, std::vector<std::string_view> lines) {
  return client_address(addr(peer), proxies(), ForwardingHeader::x_forwarded_for, lines);
}

IpAddress via_forwarded(const std::string& peer, std::vector<std::string_view> lines) {
  return client_address(addr(peer), proxies(), ForwardingHeader::forwarded, lines);
}

TEST(ClientAddressTest, SpoofedHeadersFromAnUntrustedPeerAreIgnored) {
  EXPECT_EQ(via_xff("203.0.113.7", {"198.51.100.1"}), addr("203.0.113.7"));
  EXPECT_EQ(via_xff("203.0.113.7", {"10.0.0.1"}), addr("203.0.113.7"));
  EXPECT_EQ(via_forwarded("203.0.113.7", {"for=198.51.100.1"}), addr("203.0.113.7"));
  EXPECT_EQ(via_xff("2001:db8::7", {"198.51.100.1"}), addr("2001:db8::7"));
}

TEST(ClientAddressTest, WithoutAHeaderTheClientIsThePeer) {
  EXPECT_EQ(via_xff("10.0.0.1", {}), addr("10.0.0.1"));
  EXPECT_EQ(via_xff("10.0.0.1", {"", " , ,"}), addr("10.0.0.1"));
  EXPECT_EQ(via_forwarded("10.0.0.1", {}), addr("10.0.0.1"));
}

TEST(ClientAddressTest, TheRightmostUntrustedAddressOfATrustedChainIsTheClient) {
  // The client prepended 198.51.100.9; the edge proxy appended what it saw.
  EXPECT_EQ(via_xff("10.0.0.1", {"198.51.100.9, 203.0.113.7, 10.0.0.2"}), addr("203.0.113.7"));
  // Several field lines form one list, in order.
  EXPECT_EQ(via_xff("10.0.0.1", {"198.51.100.9, 203.0.113.7", "192.168.1.1,10.0.0.2"}),
            addr("203.0.113.7"));
  EXPECT_EQ(via_xff("10.0.0.1", {"198.51.100.9", "203.0.113.7"}), addr("203.0.113.7"));
  // Every entry trusted: the leftmost.
  EXPECT_EQ(via_xff("10.0.0.1", {"192.168.0.5, 10.0.0.3"}), addr("192.168.0.5"));
  // Whitespace and empty elements.
  EXPECT_EQ(via_xff("::1", {" ,\t203.0.113.7 ,, "}), addr("203.0.113.7"));
  // A peer on a dual-stack socket, and mapped entries, come out as IPv4.
  EXPECT_EQ(via_xff("::ffff:10.0.0.1", {"::ffff:203.0.113.7"}), addr("203.0.113.7"));
}

TEST(ClientAddressTest, XForwardedForEntriesMayCarryPorts) {
  EXPECT_EQ(via_xff("10.0.0.1", {"203.0.113.7:51234"}), addr("203.0.113.7"));
  EXPECT_EQ(via_xff("10.0.0.1", {"[2001:db8::1]:4711"}), addr("2001:db8::1"));
  EXPECT_EQ(via_xff("10.0.0.1", {"[2001:db8::1]"}), addr("2001:db8::1"));
  EXPECT_EQ(via_xff("10.0.0.1", {"2001:db8::1"}), addr("2001:db8::1"));
  EXPECT_EQ(via_xff("10.0.0.1", {"203.0.113.7, [fd00::5]:443"}), addr("203.0.113.7"));
}

TEST(ClientAddressTest, GarbageStopsTheWalkAtTheLastGoodAddress) {
  // Rightmost entry bad: the peer, a trusted proxy, stands in for the client.
  for (const char* bad : {"garbage", "unknown", "_hidden", "203.0.113.7:99999", "203.0.113.7:",
                          "[2001:db8::1", "[2001:db8::1]x", "2001:db8::1%eth0", "\"203.0.113.7\"",
                          "203.0.113.7 198.51.100.1", "10.0.0.256", "1.2.3", "[203.0.113.7]"}) {
    EXPECT_EQ(via_xff("10.0.0.1", {bad}), addr("10.0.0.1")) << bad;
  }
  // Further left: the walk stops at the trusted hop before it, never reaching the
  // client-controlled part.
  EXPECT_EQ(via_xff("10.0.0.1", {"203.0.113.7, garbage, 10.0.0.2"}), addr("10.0.0.2"));
  // Left of the first untrusted address, nothing is read at all.
  EXPECT_EQ(via_xff("10.0.0.1", {"garbage, 203.0.113.7"}), addr("203.0.113.7"));
}

TEST(ClientAddressTest, ForwardedForIsReadWithQuotesPortsAndOtherParameters) {
  // RFC 7239 §4 and §7.4 examples.
  EXPECT_EQ(via_forwarded("10.0.0.1", {"for=192.0.2.60;proto=http;by=203.0.113.43"}),
            addr("192.0.2.60"));
  EXPECT_EQ(via_forwarded("10.0.0.1", {"For=\"[2001:db8:cafe::17]:4711\""}),
            addr("2001:db8:cafe::17"));
  EXPECT_EQ(via_forwarded("10.0.0.1", {"for=192.0.2.43, for=198.51.100.17"}),
            addr("198.51.100.17"));
  EXPECT_EQ(via_forwarded("10.0.0.1", {"for=192.0.2.43", "for=\"[fd00::1]\";proto=https"}),
            addr("192.0.2.43"));
  EXPECT_EQ(via_forwarded("10.0.0.1", {"proto=https ; for = \"192.0.2.43:80\" ;by=_edge"}),
            addr("192.0.2.43"));
  EXPECT_EQ(via_forwarded("10.0.0.1", {"for=\"192.0.2.4\\3\""}), addr("192.0.2.43"));
  EXPECT_EQ(via_forwarded("10.0.0.1", {"for=192.0.2.43:_port"}), addr("192.0.2.43"));
  // Unquoted IPv6 is not RFC 7239, but reads as meant.
  EXPECT_EQ(via_forwarded("10.0.0.1", {"for=[2001:db8::1]:4711"}), addr("2001:db8::1"));
}

TEST(ClientAddressTest, ForwardedHopsWithoutAnAddressStopTheWalk) {
  EXPECT_EQ(via_forwarded("10.0.0.1", {"for=192.0.2.43, for=_hidden, for=10.0.0.2"}),
            addr("10.0.0.2"));
  EXPECT_EQ(via_forwarded("10.0.0.1", {"for=192.0.2.43, for=unknown"}), addr("10.0.0.1"));
  EXPECT_EQ(via_forwarded("10.0.0.1", {"for=\"_gazonk\""}), addr("10.0.0.1"));
  EXPECT_EQ(via_forwarded("10.0.0.1", {"proto=https;by=10.0.0.2"}), addr("10.0.0.1"));
  for (const char* bad :
       {"for=192.0.2.43;for=198.51.100.1", "for=", "for", "=192.0.2.43", "for=\"192.0.2.43",
        "for=192.0.2.43 x", "for=\"[2001:db8::1]:4711\"junk", "192.0.2.43"}) {
    EXPECT_EQ(via_forwarded("10.0.0.1", {bad}), addr("10.0.0.1")) << bad;
  }
}

TEST(ClientAddressTest, AClientsUnterminatedQuoteCannotSwallowTheProxysElement) {
  EXPECT_EQ(via_forwarded("10.0.0.1", {"for=\"[2001:db8::1, for=203.0.113.7"}),
            addr("203.0.113.7"));
}

}  // namespace
}  // namespace observernet::cache
