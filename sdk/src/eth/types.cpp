// U256 conversions and EIP-55 addresses.
#include <algorithm>
#include <br2k/core/bytes.hpp>
#include <br2k/eth/keccak.hpp>
#include <br2k/eth/types.hpp>

namespace br2k::eth {
namespace {

std::string_view strip_0x(std::string_view s) noexcept {
  if (s.starts_with("0x") || s.starts_with("0X"))
    s.remove_prefix(2);
  return s;
}

}  // namespace

U256 U256::from_uint64(std::uint64_t v) noexcept {
  U256 r;
  for (int i = 31; i >= 24; --i, v >>= 8)
    r.bytes[i] = static_cast<std::uint8_t>(v);
  return r;
}

U256 U256::from_int64(std::int64_t v) noexcept {
  U256 r = from_uint64(static_cast<std::uint64_t>(v));
  if (v < 0)
    for (int i = 0; i < 24; ++i)
      r.bytes[i] = 0xff;
  return r;
}

Result<U256> U256::from_be(ByteView be) noexcept {
  if (be.size() > 32)
    return Error(Errc::kInvalidArgument, "more than 32 bytes for a 256-bit value");
  U256 r;
  std::copy(be.begin(), be.end(), r.bytes.end() - static_cast<std::ptrdiff_t>(be.size()));
  return r;
}

Result<U256> U256::from_hex(std::string_view hex) noexcept {
  hex = strip_0x(hex);
  if (hex.empty() || hex.size() > 64)
    return Error(Errc::kInvalidArgument, "hex quantity must have 1 to 64 digits");
  U256 r;
  // Fill nibbles from the least significant end.
  std::size_t nibble = 0;
  for (auto it = hex.rbegin(); it != hex.rend(); ++it, ++nibble) {
    int d = hex_digit_value(*it);
    if (d < 0)
      return Error(Errc::kInvalidArgument, "non-hex digit in quantity");
    r.bytes[31 - nibble / 2] |= static_cast<std::uint8_t>(nibble % 2 == 0 ? d : d << 4);
  }
  return r;
}

Result<U256> U256::from_decimal(std::string_view digits) noexcept {
  if (digits.empty())
    return Error(Errc::kInvalidArgument, "empty decimal number");
  U256 r;
  for (char c : digits) {
    if (c < '0' || c > '9')
      return Error(Errc::kInvalidArgument, "non-decimal digit");
    unsigned carry = static_cast<unsigned>(c - '0');
    for (int i = 31; i >= 0; --i) {
      unsigned v = r.bytes[i] * 10u + carry;
      r.bytes[i] = static_cast<std::uint8_t>(v);
      carry = v >> 8;
    }
    if (carry != 0)
      return Error(Errc::kInvalidArgument, "decimal number exceeds 256 bits");
  }
  return r;
}

std::optional<std::uint64_t> U256::to_uint64() const noexcept {
  for (int i = 0; i < 24; ++i)
    if (bytes[i] != 0)
      return std::nullopt;
  std::uint64_t v = 0;
  for (int i = 24; i < 32; ++i)
    v = (v << 8) | bytes[i];
  return v;
}

std::optional<std::int64_t> U256::to_int64() const noexcept {
  // In range when bytes 0..24 are all copies of the sign bit of byte 24.
  std::uint8_t fill = (bytes[24] & 0x80) ? 0xff : 0x00;
  for (int i = 0; i < 24; ++i)
    if (bytes[i] != fill)
      return std::nullopt;
  std::uint64_t v = 0;
  for (int i = 24; i < 32; ++i)
    v = (v << 8) | bytes[i];
  return static_cast<std::int64_t>(v);
}

bool U256::is_zero() const noexcept {
  for (std::uint8_t b : bytes)
    if (b != 0)
      return false;
  return true;
}

ByteView U256::trimmed() const noexcept {
  std::size_t i = 0;
  while (i < bytes.size() && bytes[i] == 0)
    ++i;
  return ByteView(bytes).subspan(i);
}

std::string U256::to_hex() const {
  std::string digits = br2k::to_hex(trimmed());
  if (digits.empty())
    return "0x0";
  if (digits[0] == '0')
    digits.erase(0, 1);
  return "0x" + digits;
}

std::string U256::to_decimal() const {
  std::array<std::uint8_t, 32> n = bytes;
  std::string out;
  bool nonzero = true;
  while (nonzero) {
    unsigned rem = 0;
    nonzero = false;
    for (auto& b : n) {
      unsigned cur = (rem << 8) | b;
      b = static_cast<std::uint8_t>(cur / 10);
      rem = cur % 10;
      nonzero = nonzero || b != 0;
    }
    out.push_back(static_cast<char>('0' + rem));
  }
  return std::string(out.rbegin(), out.rend());
}

Result<Address> parse_address(std::string_view hex) noexcept {
  hex = strip_0x(hex);
  if (hex.size() != 40)
    return Error(Errc::kInvalidArgument, "an address has 40 hex digits");
  Address a{};
  bool lower = false, upper = false;
  for (std::size_t i = 0; i < 40; ++i) {
    int d = hex_digit_value(hex[i]);
    if (d < 0)
      return Error(Errc::kInvalidArgument, "non-hex digit in address");
    lower = lower || (hex[i] >= 'a' && hex[i] <= 'f');
    upper = upper || (hex[i] >= 'A' && hex[i] <= 'F');
    a[i / 2] |= static_cast<std::uint8_t>(i % 2 == 0 ? d << 4 : d);
  }
  if (lower && upper && strip_0x(to_checksum_address(a)) != hex)
    return Error(Errc::kInvalidArgument, "address fails its EIP-55 checksum");
  return a;
}

std::string to_checksum_address(const Address& address) {
  // https://eips.ethereum.org/EIPS/eip-55: upper-case a letter when the matching nibble of
  // keccak256(lower-case hex) is >= 8.
  std::string hex = br2k::to_hex(address);
  Hash h = keccak256(std::string_view(hex));
  for (std::size_t i = 0; i < hex.size(); ++i) {
    int nibble = (i % 2 == 0) ? h[i / 2] >> 4 : h[i / 2] & 0x0f;
    if (hex[i] >= 'a' && nibble >= 8)
      hex[i] = static_cast<char>(hex[i] - 'a' + 'A');
  }
  return "0x" + hex;
}

}  // namespace br2k::eth
