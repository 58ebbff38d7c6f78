// Small helpers the benchmark programs share for their command lines.
#pragma once

#include <sstream>
#include <string>
#include <vector>

namespace br2k::bench {

// "1,16,64" -> {"1", "16", "64"}; empty items are skipped.
inline std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  for (std::string item; std::getline(ss, item, ',');) {
    if (!item.empty())
      out.push_back(item);
  }
  return out;
}

}  // namespace br2k::bench
