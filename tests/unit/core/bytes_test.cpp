// Hex and base64 codecs: RFC 4648 section 10 vectors and bad input.
#include <gtest/gtest.h>

#include <br2k/core/bytes.hpp>

namespace br2k {
namespace {

struct Base64Case {
  const char* raw;
  const char* b64;
};
// RFC 4648, section 10.
constexpr Base64Case kBase64Cases[] = {{"", ""},
                                       {"f", "Zg=="},
                                       {"fo", "Zm8="},
                                       {"foo", "Zm9v"},
                                       {"foob", "Zm9vYg=="},
                                       {"fooba", "Zm9vYmE="},
                                       {"foobar", "Zm9vYmFy"}};

TEST(Base64, EncodesAndDecodesRfc4648Vectors) {
  for (const auto& c : kBase64Cases) {
    EXPECT_EQ(to_base64(c.raw), c.b64) << c.raw;
    auto d = from_base64(c.b64);
    ASSERT_TRUE(d) << c.b64;
    EXPECT_EQ(*d, c.raw);
  }
}

TEST(Base64, RoundTripsBinaryWithNulAndHighBytes) {
  std::string raw;
  for (int i = 0; i < 256; ++i)
    raw.push_back(static_cast<char>(i));
  auto d = from_base64(to_base64(raw));
  ASSERT_TRUE(d);
  EXPECT_EQ(*d, raw);
}

TEST(Base64, AcceptsUrlSafeAndUnpadded) {
  EXPECT_EQ(from_base64("Zm9vYg").value(), "foob");
  EXPECT_EQ(from_base64("-_8").value(), "\xfb\xff");
}

TEST(Base64, RejectsBadCharactersWithTypedError) {
  auto r = from_base64("Zm9v!A==");
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(Errc::kInvalidArgument));
  EXPECT_FALSE(from_base64("Z==="));
}

TEST(Hex, EncodesLowerCaseAndDecodesEitherCaseWithPrefix) {
  Bytes b{0x00, 0xab, 0xff, 0x10};
  EXPECT_EQ(to_hex(b), "00abff10");
  EXPECT_EQ(from_hex("0x00ABff10").value(), b);
  EXPECT_EQ(from_hex("").value(), Bytes{});
}

TEST(Hex, RejectsOddLengthAndNonHex) {
  EXPECT_TRUE(from_hex("abc").error().is(Errc::kInvalidArgument));
  EXPECT_TRUE(from_hex("zz").error().is(Errc::kInvalidArgument));
}

}  // namespace
}  // namespace br2k
