// U256 conversions and EIP-55 addresses (vectors from https://eips.ethereum.org/EIPS/eip-55).
#include <gtest/gtest.h>

#include <br2k/eth/types.hpp>

namespace br2k::eth {
namespace {

constexpr const char* kMax =
    "115792089237316195423570985008687907853269984665640564039457584007913129639935";

TEST(U256, ConvertsToAndFromUint64) {
  EXPECT_EQ(U256::from_uint64(0x1234).to_uint64(), 0x1234u);
  EXPECT_EQ(U256::from_uint64(~0ull).to_uint64(), ~0ull);
  U256 big = U256::from_uint64(1);
  big.bytes[23] = 1;  // 2^64 + 1
  EXPECT_EQ(big.to_uint64(), std::nullopt);
  EXPECT_TRUE(U256{}.is_zero());
  EXPECT_LT(U256::from_uint64(5), big);
}

TEST(U256, HoldsNegativeNumbersInTwosComplement) {
  U256 minus_one = U256::from_int64(-1);
  for (auto b : minus_one.bytes)
    EXPECT_EQ(b, 0xff);
  EXPECT_TRUE(minus_one.is_negative());
  EXPECT_EQ(minus_one.to_int64(), -1);
  EXPECT_EQ(U256::from_int64(INT64_MIN).to_int64(), INT64_MIN);
  EXPECT_EQ(U256::from_uint64(1ull << 63).to_int64(), std::nullopt);  // positive, too large
  EXPECT_EQ(minus_one.to_uint64(), std::nullopt);
}

TEST(U256, ParsesAndPrintsHexQuantities) {
  EXPECT_EQ(U256::from_hex("0x0").value().to_hex(), "0x0");
  EXPECT_EQ(U256::from_hex("0x1a").value().to_uint64(), 26u);
  EXPECT_EQ(U256::from_hex("400").value().to_hex(), "0x400");
  EXPECT_EQ(U256::from_hex(std::string(64, 'f')).value(), U256::from_int64(-1));
  EXPECT_FALSE(U256::from_hex(std::string(65, 'f')));
  EXPECT_FALSE(U256::from_hex("0x"));
  EXPECT_FALSE(U256::from_hex("0x1g"));
}

TEST(U256, ParsesAndPrintsDecimalUpTo2To256Minus1) {
  EXPECT_EQ(U256{}.to_decimal(), "0");
  EXPECT_EQ(U256::from_uint64(1024).to_decimal(), "1024");
  EXPECT_EQ(U256::from_int64(-1).to_decimal(), kMax);
  EXPECT_EQ(U256::from_decimal(kMax).value(), U256::from_int64(-1));
  auto over = U256::from_decimal(
      "115792089237316195423570985008687907853269984665640564039457584007913129639936");
  ASSERT_FALSE(over);
  EXPECT_TRUE(over.error().is(Errc::kInvalidArgument));
  EXPECT_FALSE(U256::from_decimal(""));
  EXPECT_FALSE(U256::from_decimal("12a"));
}

TEST(U256, TrimsLeadingZerosForRlp) {
  EXPECT_TRUE(U256{}.trimmed().empty());
  EXPECT_EQ(to_hex(U256::from_uint64(1024).trimmed()), "0400");
  EXPECT_FALSE(U256::from_be(Bytes(33, 1)));
  EXPECT_EQ(U256::from_be(Bytes{4, 0}).value(), U256::from_uint64(1024));
}

// EIP-55, "Test Cases": all caps, all lower, normal.
constexpr const char* kChecksummed[] = {
    "0x52908400098527886E0F7030069857D2E4169EE7", "0x8617E340B3D01FA5F11F306F4090FD50E238070D",
    "0xde709f2102306220921060314715629080e2fb77", "0x27b1fdb04752bbc536007a920d24acb045561c26",
    "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
    "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB", "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb",
};

TEST(Address, ChecksumsAsEip55) {
  for (const char* text : kChecksummed) {
    auto a = parse_address(text);
    ASSERT_TRUE(a) << text;
    EXPECT_EQ(to_checksum_address(*a), text);
  }
}

TEST(Address, AcceptsSingleCaseAndRejectsBadChecksum) {
  EXPECT_TRUE(parse_address("5aaeb6053f3e94c9b9a09f33669435e7ef1beaed"));
  EXPECT_TRUE(parse_address("0x5AAEB6053F3E94C9B9A09F33669435E7EF1BEAED"));
  auto bad = parse_address("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD");
  ASSERT_FALSE(bad);
  EXPECT_TRUE(bad.error().is(Errc::kInvalidArgument));
  EXPECT_FALSE(parse_address("0x5aaeb6053f3e94c9b9a09f33669435e7ef1bea"));
  EXPECT_FALSE(parse_address("0x5aaeb6053f3e94c9b9a09f33669435e7ef1beazz"));
}

}  // namespace
}  // namespace br2k::eth
