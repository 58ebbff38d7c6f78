// A guard for untrusted JSON text, used before parsing replies from etcd and chain nodes.
//
// nlohmann's parser is iterative, but dump() (used for error details) and copies recurse, so a
// reply of some tens of kilobytes of '[' overflows the stack of whatever prints or copies it (found
// by the fuzz targets: fuzz/corpus/{jsonrpc,etcd_codec}_fuzz/regression_deep_*). Replies BR2K reads
// nest a few levels, so anything deeper than kMaxJsonDepth is refused before it is parsed.
//
// Thread-safety: pure functions.
#pragma once

#include <cstddef>
#include <string_view>

namespace br2k {

inline constexpr std::size_t kMaxJsonDepth = 128;

// Whether the brackets outside strings nest deeper than `max`: the depth of valid JSON, and an
// upper bound for text the parser refuses anyway. One pass, no allocation.
inline bool json_nests_deeper_than(std::string_view text, std::size_t max = kMaxJsonDepth) {
  std::size_t depth = 0;
  bool in_string = false, escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped)
        escaped = false;
      else if (c == '\\')
        escaped = true;
      else if (c == '"')
        in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > max)
        return true;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return false;
}

}  // namespace br2k
