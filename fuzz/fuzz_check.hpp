// What the fuzz targets share: a check that reports a broken property as a crash libFuzzer
// records (not only memory errors and undefined behaviour are bugs: a decoder that accepts
// something it cannot re-encode, or throws on bad input, is one too).
//
// Thread-safety: libFuzzer calls each target from one thread.
#pragma once

#include <br2k/core/bytes.hpp>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace br2k::fuzz {

// Aborts (a crash for libFuzzer, which saves the input) when `ok` is false.
inline void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "fuzz property violated: %s\n", what);
    std::abort();
  }
}

inline ByteView view(const std::uint8_t* data, std::size_t size) {
  return {data, size};
}

inline std::string_view text(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

}  // namespace br2k::fuzz
