// Recursive Length Prefix, the serialisation of Ethereum transactions.
//
// https://ethereum.org/en/developers/docs/data-structures-and-encoding/rlp/ and the Yellow Paper,
// appendix B. Only the canonical form is accepted: decoders refuse a single byte below 0x80 in a
// string header, a long form for a short length, and leading zeros in lengths and integers, so
// every value has exactly one encoding (what transaction hashes rely on).
//
// Decoders never throw and consume their `ByteView& from` only on success (on failure `from` is
// unchanged). Decoded views point into the caller's buffer, which must outlive them.
// Thread-safety: pure functions; a ListEncoder is a plain value.
#pragma once

#include <br2k/core/bytes.hpp>
#include <br2k/core/error.hpp>
#include <br2k/eth/types.hpp>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace br2k::eth {

// Why an RLP input was refused. Reported as Errc::kInvalidArgument with detail
// "rlp: <to_string(e)>" (see make_error / is_error).
enum class [[nodiscard]] RlpError : std::uint8_t{
    kInputTooShort = 1,  // the input ends inside an item (includes absurdly large lengths)
    kTrailingBytes,      // bytes left after the item, or after the last element of a list
    kLeadingZero,        // an integer or a long-form length starts with a zero byte
    kNonCanonicalSize,   // a single byte < 0x80 in a string header, or a long form for < 56 bytes
    kOverflow,           // an integer wider than the type it is decoded into
    kUnexpectedList,     // a list where a string (or integer) was expected
    kUnexpectedString,   // a string where a list was expected
    kTooDeep,            // lists nested deeper than rlp::kMaxDepth
};

std::string_view to_string(RlpError e) noexcept;
// Error(Errc::kInvalidArgument, "rlp: " + to_string(e)).
Error make_error(RlpError e);
// Whether `e` is what make_error(which) returns.
bool is_error(const Error& e, RlpError which) noexcept;

namespace rlp {

// ---- Encoding -----------------------------------------------------------------------------

// The header of a string (list = false) or list whose payload has `payload_length` bytes.
void encode_header(Bytes& out, bool list, std::size_t payload_length);
// A byte string; one byte below 0x80 is its own encoding.
void encode_string(Bytes& out, ByteView s);
// An unsigned integer as a minimal big-endian string: 0 -> 0x80, 15 -> 0x0f, 1024 -> 0x820400.
void encode_uint(Bytes& out, std::uint64_t v);
void encode_uint(Bytes& out, const U256& v);

// Builds a list: append the items, then list() wraps the payload in a list header.
class ListEncoder {
 public:
  ListEncoder& add_string(ByteView s);
  ListEncoder& add_string(std::string_view s) { return add_string(as_bytes(s)); }
  ListEncoder& add_uint(std::uint64_t v);
  ListEncoder& add_uint(const U256& v);
  ListEncoder& add_list(const ListEncoder& inner);
  // An item that is already RLP (not checked).
  ListEncoder& add_raw(ByteView encoded_item);

  // The encoded list: header then payload.
  Bytes list() const;
  void append_list_to(Bytes& out) const;
  // The concatenated encodings of the items so far, without the list header.
  const Bytes& payload() const noexcept { return payload_; }

 private:
  Bytes payload_;
};

// ---- Streaming decoding -------------------------------------------------------------------

struct Header {
  bool list = false;
  std::size_t payload_length = 0;
};

// Reads an item's header; on success `from` starts at the payload, which is known to fit in it.
// A single byte below 0x80 has no header: the result is {false, 1} and `from` is not advanced.
// Errors: kInputTooShort, kLeadingZero, kNonCanonicalSize.
Result<Header> decode_header(ByteView& from) noexcept;
// A string item; returns its bytes and consumes it. Errors: those of decode_header,
// kUnexpectedList.
Result<ByteView> decode_string(ByteView& from) noexcept;
// A list item; returns its payload (decode the elements from it, then expect_end) and consumes it.
// Errors: those of decode_header, kUnexpectedString.
Result<ByteView> decode_list_payload(ByteView& from) noexcept;
// An unsigned integer. Errors: those of decode_string, kLeadingZero (including 0x00 for zero,
// which must be 0x80), kOverflow.
Result<std::uint64_t> decode_uint64(ByteView& from) noexcept;
Result<U256> decode_u256(ByteView& from) noexcept;
// Succeeds when nothing is left. Errors: kTrailingBytes.
Result<void> expect_end(ByteView rest) noexcept;

// ---- Tree decoding ------------------------------------------------------------------------

inline constexpr std::size_t kMaxDepth = 64;

// A decoded item: a string (a view into the input) or a list of items.
struct Item {
  bool is_list = false;
  ByteView string;          // when !is_list
  std::vector<Item> items;  // when is_list
};

// Exactly one item spanning all of `input`, lists nested at most kMaxDepth deep.
// Errors: those of the streaming decoders, kTrailingBytes, kTooDeep.
Result<Item> decode(ByteView input) noexcept;
Bytes encode(const Item& item);

}  // namespace rlp
}  // namespace br2k::eth
