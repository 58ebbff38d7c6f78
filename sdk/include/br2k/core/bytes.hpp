// Byte types and the text encodings BR2K speaks: hex (Ethereum) and base64 (etcd's JSON gateway).
//
// Decoders never throw: they return a Result with Errc::kInvalidArgument on bad input.
// Thread-safety: pure functions.
#pragma once

#include <br2k/core/error.hpp>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace br2k {

using Bytes = std::vector<std::uint8_t>;
using ByteView = std::span<const std::uint8_t>;

inline ByteView as_bytes(std::string_view s) noexcept {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

// The value of one hex digit (either case), or -1 for any other character.
int hex_digit_value(char c) noexcept;

// Lower-case hex without a prefix: {0xab, 0x01} -> "ab01".
std::string to_hex(ByteView bytes);
// Accepts an optional "0x" prefix, either case; an odd length or a non-hex digit is an error.
Result<Bytes> from_hex(std::string_view hex);

// RFC 4648 base64 with padding (what protobuf's JSON mapping uses for `bytes`).
std::string to_base64(std::string_view raw);
// Accepts standard and URL-safe alphabets, with or without padding (the protobuf JSON mapping
// allows both). Returns the raw bytes as a string, which is how etcd keys and values are held.
Result<std::string> from_base64(std::string_view b64);

}  // namespace br2k
