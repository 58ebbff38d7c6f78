// Keccak-f[1600] and the sponge around it, hand-written because neither OpenSSL 3.0 nor
// libsecp256k1 provides Keccak-256 (see keccak.hpp).
//
// https://keccak.team/keccak_specs_summary.html: state of 25 little-endian 64-bit lanes, 24
// rounds of theta, rho, pi, chi, iota. Lanes are loaded byte by byte, so the code does not depend
// on the host's byte order.
#include <br2k/eth/keccak.hpp>

namespace br2k::eth {
namespace {

constexpr std::uint64_t kRoundConstants[24] = {
    0x0000000000000001, 0x0000000000008082, 0x800000000000808a, 0x8000000080008000,
    0x000000000000808b, 0x0000000080000001, 0x8000000080008081, 0x8000000000008009,
    0x000000000000008a, 0x0000000000000088, 0x0000000080008009, 0x000000008000000a,
    0x000000008000808b, 0x800000000000008b, 0x8000000000008089, 0x8000000000008003,
    0x8000000000008002, 0x8000000000000080, 0x000000000000800a, 0x800000008000000a,
    0x8000000080008081, 0x8000000000008080, 0x0000000080000001, 0x8000000080008008};

// rho offsets and pi lane order, in the order the combined rho-pi step visits the lanes.
constexpr int kRotations[24] = {1,  3,  6,  10, 15, 21, 28, 36, 45, 55, 2,  14,
                                27, 41, 56, 8,  25, 43, 62, 18, 39, 61, 20, 44};
constexpr int kPiLanes[24] = {10, 7,  11, 17, 18, 3, 5,  16, 8,  21, 24, 4,
                              15, 23, 19, 13, 12, 2, 20, 14, 22, 9,  6,  1};

constexpr std::uint64_t rotl(std::uint64_t x, int n) noexcept {
  return (x << n) | (x >> (64 - n));
}

void keccak_f1600(std::array<std::uint64_t, 25>& st) noexcept {
  std::uint64_t bc[5];
  for (std::uint64_t rc : kRoundConstants) {
    // theta
    for (int i = 0; i < 5; ++i)
      bc[i] = st[i] ^ st[i + 5] ^ st[i + 10] ^ st[i + 15] ^ st[i + 20];
    for (int i = 0; i < 5; ++i) {
      std::uint64_t t = bc[(i + 4) % 5] ^ rotl(bc[(i + 1) % 5], 1);
      for (int j = 0; j < 25; j += 5)
        st[j + i] ^= t;
    }
    // rho and pi
    std::uint64_t t = st[1];
    for (int i = 0; i < 24; ++i) {
      int j = kPiLanes[i];
      std::uint64_t next = st[j];
      st[j] = rotl(t, kRotations[i]);
      t = next;
    }
    // chi
    for (int j = 0; j < 25; j += 5) {
      for (int i = 0; i < 5; ++i)
        bc[i] = st[j + i];
      for (int i = 0; i < 5; ++i)
        st[j + i] ^= ~bc[(i + 1) % 5] & bc[(i + 2) % 5];
    }
    // iota
    st[0] ^= rc;
  }
}

std::uint64_t load_le64(const std::uint8_t* p) noexcept {
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i)
    v = (v << 8) | p[i];
  return v;
}

}  // namespace

Keccak256& Keccak256::update(ByteView data) noexcept {
  std::size_t i = 0;
  // Whole blocks at a block boundary go in lane by lane; the rest byte by byte.
  while (i < data.size()) {
    if (position_ == 0 && data.size() - i >= kRate) {
      for (std::size_t lane = 0; lane < kRate / 8; ++lane)
        state_[lane] ^= load_le64(data.data() + i + 8 * lane);
      keccak_f1600(state_);
      i += kRate;
      continue;
    }
    state_[position_ / 8] ^= std::uint64_t{data[i]} << (8 * (position_ % 8));
    ++i;
    if (++position_ == kRate) {
      keccak_f1600(state_);
      position_ = 0;
    }
  }
  return *this;
}

Hash Keccak256::finalize() noexcept {
  // Keccak's multi-rate padding pad10*1 with the original domain byte 0x01 (SHA3 uses 0x06).
  state_[position_ / 8] ^= std::uint64_t{0x01} << (8 * (position_ % 8));
  state_[(kRate - 1) / 8] ^= std::uint64_t{0x80} << (8 * ((kRate - 1) % 8));
  keccak_f1600(state_);
  Hash out;
  for (std::size_t i = 0; i < out.size(); ++i)
    out[i] = static_cast<std::uint8_t>(state_[i / 8] >> (8 * (i % 8)));
  return out;
}

Hash keccak256(ByteView data) noexcept {
  return Keccak256().update(data).finalize();
}

}  // namespace br2k::eth
