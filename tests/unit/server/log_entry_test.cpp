// The log entry codec and key names (server/include/br2k/server/log_entry.hpp).
#include <gtest/gtest.h>

#include <br2k/server/log_entry.hpp>

namespace br2k::server {
namespace {

LogEntry sample() {
  LogEntry e;
  e.epoch = 42;
  e.seq = 7;
  e.command = Command{.method = "PUT",
                      .target = "/kv/a?x=1",
                      .content_type = "text/plain",
                      .body = std::string("v\0alue", 6),
                      .idempotency_key = "key-1"};
  return e;
}

TEST(LogEntry, RoundTripsEveryField) {
  auto e = sample();
  auto bytes = encode(e);
  auto back = decode_log_entry(bytes);
  ASSERT_TRUE(back) << back.error();
  EXPECT_EQ(*back, e);
}

TEST(LogEntry, EmptyFieldsRoundTrip) {
  LogEntry e;
  e.command.method = "POST";
  auto back = decode_log_entry(encode(e));
  ASSERT_TRUE(back) << back.error();
  EXPECT_EQ(*back, e);
}

TEST(LogEntry, RefusesEveryTruncation) {
  auto bytes = encode(sample());
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    auto r = decode_log_entry(std::string_view(bytes).substr(0, n));
    ASSERT_FALSE(r) << "prefix of " << n << " bytes decoded";
    EXPECT_TRUE(r.error().is(Errc::kInvalidArgument));
  }
}

TEST(LogEntry, RefusesTrailingBytesUnknownFormatAndGarbage) {
  auto bytes = encode(sample());
  EXPECT_FALSE(decode_log_entry(bytes + "x"));
  EXPECT_FALSE(decode_log_entry(""));
  EXPECT_FALSE(decode_log_entry("not rlp at all"));
  // Format 2: the first element (0x01) becomes 0x02.
  std::string other = bytes;
  auto pos = other.find('\x01');
  ASSERT_NE(pos, std::string::npos);
  other[pos] = '\x02';
  auto r = decode_log_entry(other);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().detail.find("format"), std::string::npos) << r.error().detail;
}

TEST(LogEntry, RefusesEmptyMethod) {
  LogEntry e;
  EXPECT_FALSE(decode_log_entry(encode(e)));
}

TEST(Keys, NamesSortByIndex) {
  Keys k("/br2k/svc");
  EXPECT_EQ(k.prefix(), "/br2k/svc/");
  EXPECT_EQ(k.log(1), "/br2k/svc/log/00000000000000000001");
  EXPECT_LT(k.log(9), k.log(10));
  EXPECT_LT(k.log(99999), k.log(100000));
  EXPECT_EQ(k.log_index(k.log(12345)), 12345u);
  EXPECT_FALSE(k.log_index("/br2k/svc/log/12"));
  EXPECT_FALSE(k.log_index("/br2k/other/log/00000000000000000001"));
  EXPECT_FALSE(k.log_index("/br2k/svc/log/0000000000000000000x"));
  EXPECT_EQ(k.leader(), "/br2k/svc/leader");
  EXPECT_EQ(k.member("n1"), "/br2k/svc/members/n1");
  EXPECT_EQ(Keys::for_service("demo").log_size(), "/br2k/demo/log_size");
}

TEST(Keys, ParseCounter) {
  EXPECT_EQ(parse_counter("0"), 0u);
  EXPECT_EQ(parse_counter("18446744073709551615"), 18446744073709551615ull);
  EXPECT_FALSE(parse_counter(""));
  EXPECT_FALSE(parse_counter("12a"));
  EXPECT_FALSE(parse_counter("-1"));
  EXPECT_FALSE(parse_counter("18446744073709551616"));
}

}  // namespace
}  // namespace br2k::server
