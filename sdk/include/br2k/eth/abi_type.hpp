// Solidity ABI types and signatures: the schema that ABI encoding and decoding follow.
//
// https://docs.soliditylang.org/en/latest/abi-spec.html#types. Supported: uint<N>, int<N>,
// address, bool, bytes<N>, bytes, string, T[], T[k] and tuples; not fixed-point numbers or
// `function`. Type strings parse into Type ("uint" becomes uint256), and canonical() gives back
// the form function selectors and event topics hash.
//
// Thread-safety: plain values and pure functions.
#pragma once

#include <array>
#include <br2k/core/error.hpp>
#include <br2k/eth/keccak.hpp>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace br2k::eth {

// Why an ABI type, signature, value or encoding was refused. Reported as Errc::kInvalidArgument
// with detail "abi: <to_string(e)>", sometimes followed by ": <context>" (see is_error).
enum class [[nodiscard]] AbiError : std::uint8_t{
    kBadType = 1,        // a type string that does not parse ("uint7", "bytes33", "(uint256")
    kBadSignature,       // a signature that does not parse ("f(uint256", "1f()")
    kTypeMismatch,       // encode: a value of the wrong kind, or the wrong number of values
    kValueOutOfRange,    // encode: too wide for uint<N>/int<N>, or a bytes<N> of another length
    kInputTooShort,      // decode: the data ends inside a word or inside a value's bytes
    kOffsetOutOfBounds,  // decode: an offset points past the end of the data
    kLengthOutOfBounds,  // decode: a length claims more bytes or elements than the data holds
    kDirtyBits,       // decode: bits the type leaves clear are set (address, bool, uint64, bytesN)
    kTooDeep,         // types nested deeper than abi::kMaxDepth
    kExpansionLimit,  // decode: offsets that reuse data to inflate a small input
    kSelectorMismatch,  // decode: call or revert data that starts with another selector
};

std::string_view to_string(AbiError e) noexcept;
// Error(Errc::kInvalidArgument, "abi: " + to_string(e) [+ ": " + context]).
Error make_error(AbiError e, std::string_view context = {});
// Whether `e` came from make_error(which, ...).
bool is_error(const Error& e, AbiError which) noexcept;

namespace abi {

inline constexpr std::size_t kMaxDepth = 32;
// Larger fixed-size arrays are refused by the parser (they would not fit in a transaction).
inline constexpr std::size_t kMaxFixedArrayLength = 1 << 20;

using Selector = std::array<std::uint8_t, 4>;

struct Type {
  enum class Kind : std::uint8_t {
    kUint,        // size: bits, 8..256 in steps of 8
    kInt,         // size: bits
    kAddress,     //
    kBool,        //
    kFixedBytes,  // size: bytes, 1..32
    kBytes,       //
    kString,      //
    kArray,       // T[]: components = {T}
    kFixedArray,  // T[k]: components = {T}, size: k
    kTuple,       // (T1,...,Tn): components
  };

  Kind kind = Kind::kUint;
  std::size_t size = 256;
  std::vector<Type> components;

  static Type unsigned_int(std::size_t bits = 256) { return {Kind::kUint, bits, {}}; }
  static Type signed_int(std::size_t bits = 256) { return {Kind::kInt, bits, {}}; }
  static Type address() { return {Kind::kAddress, 20, {}}; }
  static Type boolean() { return {Kind::kBool, 1, {}}; }
  static Type fixed_bytes(std::size_t n) { return {Kind::kFixedBytes, n, {}}; }
  static Type bytes() { return {Kind::kBytes, 0, {}}; }
  static Type string() { return {Kind::kString, 0, {}}; }
  static Type array(Type element) { return {Kind::kArray, 0, {std::move(element)}}; }
  static Type fixed_array(Type element, std::size_t n) {
    return {Kind::kFixedArray, n, {std::move(element)}};
  }
  static Type tuple(std::vector<Type> members) { return {Kind::kTuple, 0, std::move(members)}; }

  // Whether the fields make sense: sizes in range, one component for arrays, none for value
  // types, nesting at most kMaxDepth. parse_type only returns valid types; encode and decode
  // refuse invalid ones (AbiError::kBadType), and the other members require validity.
  bool valid() const noexcept;
  // bytes, string, T[], and T[k] or tuples containing one of those.
  bool is_dynamic() const noexcept;
  // Bytes this type takes in the head of its enclosing tuple: 32 for a dynamic type, the whole
  // static encoding otherwise (saturating, for absurd T[k] built by hand).
  std::size_t head_size() const noexcept;
  // "uint256", "bytes3[2]", "(bytes32,string)[]".
  std::string canonical() const;

  friend bool operator==(const Type&, const Type&) = default;
};

// A type string, e.g. "uint64", "uint" (uint256), "address[]", "(bytes32,string,uint64)[2]".
// No spaces inside. Errors: AbiError::kBadType, kTooDeep.
Result<Type> parse_type(std::string_view text) noexcept;

// One parameter of a function, event or error signature.
struct Param {
  Type type;
  std::string name;      // may be empty
  bool indexed = false;  // events only
};

// A function, event or error signature: a name and parameters.
struct Signature {
  std::string name;
  std::vector<Param> params;

  // "transfer(address,uint256)": what selectors and topics hash.
  std::string canonical() const;
  std::vector<Type> types() const;
  // The first 4 bytes of keccak256(canonical()): a function's or custom error's selector.
  Selector selector() const;
  // keccak256(canonical()): an event's topic 0.
  Hash topic() const;
};

// "transfer(address,uint256)", also human-readable forms with spaces, parameter names and
// `indexed`: "NewLocation(bytes32 indexed id, string location, uint64 epoch)". Names are kept for
// display but never enter canonical().
// Errors: AbiError::kBadSignature, kBadType, kTooDeep.
Result<Signature> parse_signature(std::string_view text) noexcept;

}  // namespace abi
}  // namespace br2k::eth
