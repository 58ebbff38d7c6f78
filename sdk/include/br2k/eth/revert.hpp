// Decoding of revert data: why a call or transaction failed.
//
// https://docs.soliditylang.org/en/latest/control-structures.html#revert and
// https://docs.soliditylang.org/en/latest/control-structures.html#panic-via-assert-and-error-via-require
// Revert data is `Error(string)` (require and revert with a message), `Panic(uint256)` (assert,
// overflow, division by zero...), a custom error (ABI-encoded like a call: selector then
// arguments), or empty.
//
// Thread-safety: plain values and pure functions.
#pragma once

#include <br2k/core/bytes.hpp>
#include <br2k/core/error.hpp>
#include <br2k/eth/abi.hpp>
#include <br2k/eth/abi_type.hpp>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace br2k::eth::abi {

inline constexpr Selector kErrorSelector = {0x08, 0xc3, 0x79, 0xa0};  // Error(string)
inline constexpr Selector kPanicSelector = {0x4e, 0x48, 0x7b, 0x71};  // Panic(uint256)

struct Revert {
  enum class Kind : std::uint8_t {
    kEmpty,    // no data: revert() or require(cond) without a message
    kError,    // Error(string): `reason`
    kPanic,    // Panic(uint256): `panic_code`
    kCustom,   // one of the custom errors passed to decode_revert: `signature`, `args`
    kUnknown,  // a selector not among them, or fewer than 4 bytes: only `data`
  };

  Kind kind = Kind::kEmpty;
  Signature signature;      // kError, kPanic, kCustom: the error's signature (with names if given)
  std::vector<Value> args;  // kError, kPanic, kCustom: the decoded arguments
  std::string reason;       // kError
  U256 panic_code;          // kPanic
  Bytes data;               // always: the raw revert data

  // For people and logs: Error("Not enough Ether provided."), Panic(0x11: arithmetic overflow or
  // underflow), StaleEpoch(current=5, given=3), unknown revert data 0xdeadbeef, no revert data.
  std::string describe() const;
};

// Decodes revert data, trying `custom_errors` (e.g. the contract's `error` declarations) for
// selectors other than Error and Panic. An unknown selector is not an error (Kind::kUnknown).
// Errors: those of decode() when the data carries a known selector but malformed arguments.
Result<Revert> decode_revert(ByteView data, std::span<const Signature> custom_errors = {}) noexcept;

// What a Solidity panic code means ("arithmetic overflow or underflow" for 0x11); empty when the
// code is not one Solidity defines.
std::string_view panic_description(const U256& code) noexcept;

}  // namespace br2k::eth::abi
