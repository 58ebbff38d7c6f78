// Revert data: the Error(string) example of the Solidity docs
// (https://docs.soliditylang.org/en/latest/control-structures.html#revert), panic codes, custom
// errors, and malformed payloads.
#include <gtest/gtest.h>

#include <br2k/eth/revert.hpp>
#include <vector>

namespace br2k::eth::abi {
namespace {

Bytes hex(std::string_view h) {
  return from_hex(h).value();
}

std::string word(std::uint64_t v) {
  return to_hex(U256::from_uint64(v).bytes);
}

// From the Solidity docs: revert("Not enough Ether provided.").
constexpr std::string_view kNotEnoughEther =
    "08c379a0"
    "0000000000000000000000000000000000000000000000000000000000000020"
    "000000000000000000000000000000000000000000000000000000000000001a"
    "4e6f7420656e6f7567682045746865722070726f76696465642e000000000000";

TEST(Revert, DecodesErrorString) {
  auto r = decode_revert(hex(kNotEnoughEther));
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(r->kind, Revert::Kind::kError);
  EXPECT_EQ(r->reason, "Not enough Ether provided.");
  EXPECT_EQ(r->describe(), "Error(\"Not enough Ether provided.\")");
  EXPECT_EQ(to_hex(r->data), kNotEnoughEther);
}

TEST(Revert, DecodesPanicCodes) {
  auto r = decode_revert(hex("4e487b71" + word(0x11)));
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(r->kind, Revert::Kind::kPanic);
  EXPECT_EQ(r->panic_code.to_uint64(), 0x11u);
  EXPECT_EQ(r->describe(), "Panic(0x11: arithmetic overflow or underflow)");
  EXPECT_EQ(decode_revert(hex("4e487b71" + word(0x99))).value().describe(), "Panic(0x99)");
  EXPECT_EQ(panic_description(U256::from_uint64(0x32)), "array index out of bounds");
}

TEST(Revert, DecodesCustomErrorsGivenTheirSignatures) {
  // `error InsufficientBalance(uint256 available, uint256 required);` from the Solidity docs;
  // selector cf479181 cross-checked with js-sha3.
  std::vector<Signature> errors = {
      parse_signature("StaleEpoch(uint64 current, uint64 given)").value(),
      parse_signature("InsufficientBalance(uint256 available, uint256 required)").value(),
  };
  EXPECT_EQ(to_hex(errors[1].selector()), "cf479181");
  auto r = decode_revert(hex("cf479181" + word(1) + word(2)), errors);
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(r->kind, Revert::Kind::kCustom);
  EXPECT_EQ(r->signature.name, "InsufficientBalance");
  EXPECT_EQ(r->args, (std::vector<Value>{1, 2}));
  EXPECT_EQ(r->describe(), "InsufficientBalance(available=1, required=2)");

  auto unknown = decode_revert(hex("cf479181" + word(1) + word(2)));
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->kind, Revert::Kind::kUnknown);
  EXPECT_EQ(unknown->describe(), "unknown revert data 0xcf479181" + word(1) + word(2));
}

TEST(Revert, ReportsEmptyAndShortData) {
  auto empty = decode_revert({});
  ASSERT_TRUE(empty);
  EXPECT_EQ(empty->kind, Revert::Kind::kEmpty);
  EXPECT_EQ(empty->describe(), "no revert data");
  auto short_data = decode_revert(hex("08c379"));
  ASSERT_TRUE(short_data);
  EXPECT_EQ(short_data->kind, Revert::Kind::kUnknown);
}

TEST(Revert, RefusesMalformedArgumentsOfAKnownSelector) {
  auto past_end = decode_revert(hex("08c379a0" + word(0x1000)));
  ASSERT_FALSE(past_end);
  EXPECT_TRUE(is_error(past_end.error(), AbiError::kOffsetOutOfBounds)) << past_end.error();
  auto huge = decode_revert(hex("08c379a0" + word(0x20) + word(~0ull)));
  EXPECT_TRUE(is_error(huge.error(), AbiError::kLengthOutOfBounds));
  std::string cut(kNotEnoughEther.substr(0, kNotEnoughEther.size() - 2));
  EXPECT_TRUE(is_error(decode_revert(hex(cut)).error(), AbiError::kLengthOutOfBounds));
  EXPECT_TRUE(is_error(decode_revert(hex("4e487b71")).error(), AbiError::kInputTooShort));
  std::vector<Signature> errors = {parse_signature("E(bool)").value()};
  auto dirty = decode_revert(hex(to_hex(errors[0].selector()) + word(2)), errors);
  EXPECT_TRUE(is_error(dirty.error(), AbiError::kDirtyBits));
}

}  // namespace
}  // namespace br2k::eth::abi
