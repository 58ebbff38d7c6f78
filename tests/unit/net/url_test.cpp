// Endpoint URL parsing.
#include <gtest/gtest.h>

#include <br2k/net/url.hpp>

namespace br2k::net {
namespace {

TEST(Url, ParsesSchemeHostPortAndTarget) {
  auto u = parse_url("https://node-1.example:2379/v3/kv?x=1").value();
  EXPECT_EQ(u.scheme, "https");
  EXPECT_EQ(u.host, "node-1.example");
  EXPECT_EQ(u.port, "2379");
  EXPECT_EQ(u.target, "/v3/kv?x=1");
  EXPECT_TRUE(u.tls());
  EXPECT_EQ(u.origin(), "https://node-1.example:2379");
}

TEST(Url, DefaultsPortAndTargetAndLowercasesScheme) {
  auto u = parse_url("HTTP://127.0.0.1").value();
  EXPECT_EQ(u.scheme, "http");
  EXPECT_EQ(u.port, "80");
  EXPECT_EQ(u.target, "/");
  EXPECT_EQ(parse_url("wss://h").value().port, "443");
}

TEST(Url, ParsesBracketedIpv6) {
  auto u = parse_url("ws://[::1]:8546").value();
  EXPECT_EQ(u.host, "::1");
  EXPECT_EQ(u.host_header(), "[::1]:8546");
}

TEST(Url, RejectsBadInputWithTypedErrors) {
  for (const char* bad : {"127.0.0.1:2379", "ftp://h", "http://", "http://h:0", "http://h:99999",
                          "http://h:12ab", "http://[::1", "http://user@h"}) {
    auto r = parse_url(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_TRUE(r.error().is(Errc::kInvalidArgument)) << bad;
  }
}

}  // namespace
}  // namespace br2k::net
