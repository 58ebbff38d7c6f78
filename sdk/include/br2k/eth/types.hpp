// Fixed-size Ethereum values: 256-bit EVM words and 20-byte addresses.
//
// The layer does no arithmetic on 256-bit values beyond what codecs need, so U256 is 32
// big-endian bytes (the ABI's and RLP's own representation) with conversions to and from
// uint64_t, int64_t, hex and decimal.
//
// Thread-safety: plain values and pure functions.
#pragma once

#include <array>
#include <br2k/core/bytes.hpp>
#include <br2k/core/error.hpp>
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace br2k::eth {

using Address = std::array<std::uint8_t, 20>;

// A 256-bit word, big-endian. Comparison is numeric as unsigned. A signed int<N> is held in
// two's complement, as the ABI encodes it.
struct U256 {
  std::array<std::uint8_t, 32> bytes{};

  static U256 from_uint64(std::uint64_t v) noexcept;
  // Two's complement: from_int64(-1) is 2^256 - 1.
  static U256 from_int64(std::int64_t v) noexcept;
  // At most 32 big-endian bytes, left-padded. Errors: kInvalidArgument when longer.
  static Result<U256> from_be(ByteView be) noexcept;
  // "0x1a", "1A", up to 64 digits, odd lengths allowed (JSON-RPC quantities).
  // Errors: kInvalidArgument for an empty string, a non-hex digit or more than 64 digits.
  static Result<U256> from_hex(std::string_view hex) noexcept;
  // Decimal digits only. Errors: kInvalidArgument when empty, not a digit, or >= 2^256.
  static Result<U256> from_decimal(std::string_view digits) noexcept;

  // nullopt when the value does not fit.
  std::optional<std::uint64_t> to_uint64() const noexcept;
  // Reads the word as int256; nullopt when outside int64_t's range.
  std::optional<std::int64_t> to_int64() const noexcept;

  bool is_zero() const noexcept;
  bool is_negative() const noexcept { return (bytes[0] & 0x80) != 0; }  // read as int256
  // The big-endian bytes without leading zeros; empty for zero (RLP's form of an integer).
  // The view points into this object.
  ByteView trimmed() const noexcept;
  // A JSON-RPC quantity: "0x0", "0x1a" (no leading zeros).
  std::string to_hex() const;
  // Unsigned decimal.
  std::string to_decimal() const;

  friend auto operator<=>(const U256&, const U256&) = default;
};

// 40 hex digits with or without "0x". All-lower or all-upper case is accepted as is; mixed case
// must be the EIP-55 checksum (https://eips.ethereum.org/EIPS/eip-55).
// Errors: kInvalidArgument for a wrong length, a non-hex digit or a bad checksum.
Result<Address> parse_address(std::string_view hex) noexcept;
// "0x" and the EIP-55 mixed-case checksum encoding.
std::string to_checksum_address(const Address& address);

}  // namespace br2k::eth
