// Keccak-256, the hash Ethereum uses everywhere (function selectors, event topics, addresses,
// transaction hashes).
//
// This is the original Keccak submission with padding byte 0x01, not FIPS 202 SHA3-256 (padding
// 0x06): the two give different digests. OpenSSL 3.0 (Debian 12) offers only SHA3-256 and
// libsecp256k1 does not expose a Keccak, so the permutation is written here (about 60 lines).
//
// Thread-safety: keccak256() is a pure function; a Keccak256 object is a plain value that one
// thread at a time may use.
#pragma once

#include <array>
#include <br2k/core/bytes.hpp>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace br2k::eth {

using Hash = std::array<std::uint8_t, 32>;

// Incremental hashing, for input that arrives in pieces (an RLP payload built in parts).
// https://keccak.team/keccak_specs_summary.html, capacity 512, rate 1088 bits (136 bytes).
class Keccak256 {
 public:
  static constexpr std::size_t kRate = 136;

  Keccak256& update(ByteView data) noexcept;
  // REQUIRES: called once; the object is spent afterwards (reset() to reuse it).
  Hash finalize() noexcept;
  void reset() noexcept { *this = Keccak256(); }

 private:
  std::array<std::uint64_t, 25> state_{};
  std::size_t position_ = 0;  // bytes absorbed into the current block, < kRate
};

Hash keccak256(ByteView data) noexcept;
// The hash of the characters of `text` (no terminating NUL), e.g. a function signature.
inline Hash keccak256(std::string_view text) noexcept {
  return keccak256(as_bytes(text));
}

}  // namespace br2k::eth
