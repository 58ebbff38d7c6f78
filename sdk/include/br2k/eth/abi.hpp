// Solidity ABI encoding and decoding of call data, return data and event data.
//
// https://docs.soliditylang.org/en/latest/abi-spec.html#formal-specification-of-the-encoding
// Values are encoded against a list of types as the tuple enc((v1, ..., vn)): static values in
// the head, dynamic ones in the tail behind offsets. The decoder treats its input as hostile: every
// offset and length is checked against the end of the data before use, words must be canonical
// for their type (no dirty high bits in an address, bool or uint64), and offsets that point many
// values at the same bytes cannot inflate a small input into a huge result.
//
// Thread-safety: plain values and pure functions. Decoded values own their bytes.
#pragma once

#include <br2k/core/bytes.hpp>
#include <br2k/core/error.hpp>
#include <br2k/eth/abi_type.hpp>
#include <br2k/eth/keccak.hpp>
#include <br2k/eth/types.hpp>
#include <concepts>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace br2k::eth::abi {

// A value of some ABI type; which alternative depends on the type:
//   uint<N>, int<N> -> U256 (int<N> in two's complement)   address -> Address    bool -> bool
//   bytes<N>, bytes -> Bytes (exactly N bytes for bytes<N>)  string -> std::string (UTF-8,
//   not checked)   T[], T[k], tuples -> List
// Beware C++'s brace rule for a list holding exactly one list: List{List{1}} is a copy of
// List{1}; write List{Value(List{1})}.
struct Value {
  using List = std::vector<Value>;
  std::variant<U256, Address, bool, Bytes, std::string, List> data;

  Value() = default;
  Value(U256 v) : data(v) {}
  Value(const Address& a) : data(a) {}
  Value(Bytes b) : data(std::move(b)) {}
  Value(std::string s) : data(std::move(s)) {}
  Value(const char* s) : data(std::string(s)) {}
  Value(List l) : data(std::move(l)) {}
  // bool stays a bool; other integers become a U256 (negative ones in two's complement), so
  // Value(69) is a number and never silently `true`.
  template <std::integral T>
  Value(T v) {
    if constexpr (std::same_as<T, bool>)
      data = v;
    else if constexpr (std::signed_integral<T>)
      data = U256::from_int64(v);
    else
      data = U256::from_uint64(v);
  }

  template <class T>
  const T* get_if() const noexcept {
    return std::get_if<T>(&data);
  }
  // REQUIRES: the value holds a T (true for a value decoded against a type that maps to T).
  template <class T>
  const T& get() const {
    return std::get<T>(data);
  }

  friend bool operator==(const Value&, const Value&) = default;
};

// REQUIRES: `signature` is canonical ("transfer(address,uint256)": no spaces or names, uint256
// not uint); parse_signature(text)->selector() accepts other forms.
Selector function_selector(std::string_view signature) noexcept;
// topic 0 of a non-anonymous event; the same REQUIRES.
Hash event_topic(std::string_view signature) noexcept;

// enc((values...)) against `types`.
// Errors: AbiError::kTypeMismatch (wrong count or kind of value), kValueOutOfRange, kBadType (a
// Type that is not valid()).
Result<Bytes> encode(const std::vector<Type>& types, const std::vector<Value>& values);
// The selector then the encoded arguments: what eth_call and a transaction's data carry.
Result<Bytes> encode_call(const Selector& selector, const std::vector<Type>& types,
                          const std::vector<Value>& values);
// As above for a signature in any form parse_signature accepts. Errors: also its errors.
Result<Bytes> encode_call(std::string_view signature, const std::vector<Value>& values);

// Decodes `data` as the tuple `types` (return data, event data, arguments after a selector).
// Bytes after the last value's encoding are ignored, as the EVM does.
// Errors: AbiError::kInputTooShort, kOffsetOutOfBounds, kLengthOutOfBounds, kDirtyBits,
// kExpansionLimit, kBadType (a Type that is not valid()).
Result<std::vector<Value>> decode(const std::vector<Type>& types, ByteView data) noexcept;
// Call data: checks the selector, then decodes the rest. Errors: also kSelectorMismatch.
Result<std::vector<Value>> decode_call(const Selector& selector, const std::vector<Type>& types,
                                       ByteView data) noexcept;
// An indexed event parameter. Value types decode from the 32-byte topic as in decode(); for
// bytes, string, arrays and tuples the topic is the keccak256 of the value, returned as a
// 32-byte Bytes. Errors: kDirtyBits, kBadType.
Result<Value> decode_topic(const Type& type, const Hash& topic) noexcept;

// For people and logs: 42, -1, true, 0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed, 0x6162,
// "text" (quoted, escaped), [1, 2], (1, "a"). A value that does not match its type prints as "?".
std::string to_string(const Value& value, const Type& type);

}  // namespace br2k::eth::abi
