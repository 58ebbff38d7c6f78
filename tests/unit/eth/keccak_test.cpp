// Keccak-256 known answers: the Keccak team's empty-message digest, the well-known "abc" and
// "quick brown fox" digests, multi-block inputs (cross-checked with js-sha3 0.8, the hash solc
// uses), and selectors from the Solidity ABI spec.
#include <gtest/gtest.h>

#include <br2k/eth/keccak.hpp>
#include <string>

namespace br2k::eth {
namespace {

struct HashCase {
  std::string input;
  const char* digest;
};

const HashCase kCases[] = {
    // Keccak team, ShortMsgKAT_256 Len = 0 (and Ethereum's empty code hash).
    {"", "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"},
    {"abc", "4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45"},
    {"The quick brown fox jumps over the lazy dog",
     "4d741b6f1eb29cb2a9b9911c82f56fa8d73b04959d3d9d222895df6c0b28aa15"},
    // Around the 136-byte rate: js-sha3 0.8 (keccak256).
    {std::string(135, '\xa3'), "3d28d08c3dacab77392064a939f3e7f8d03f2e02e2c664ac08a05f63ac652626"},
    {std::string(136, '\xa3'), "b82d89d96e5575d11a9e1f4cabb2a45e60899e69a19a724cd796bdcf13511018"},
    {std::string(137, '\xa3'), "ec8008a74e50bc7d6b22c3ad85402bf10e6d4449f3c8618e36c461b8a44eeafb"},
    {std::string(200, '\xa3'), "3a57666b048777f2c953dc4456f45a2588e1cb6f2da760122d530ac2ce607d4a"},
};

TEST(Keccak256, MatchesKnownAnswers) {
  for (const auto& c : kCases)
    EXPECT_EQ(to_hex(keccak256(c.input)), c.digest) << c.input.size() << " bytes";
}

TEST(Keccak256, IsNotSha3_256) {
  // SHA3-256("") is a7ffc6f8...; Keccak's original padding gives c5d24601...
  EXPECT_NE(to_hex(keccak256("")).substr(0, 8), "a7ffc6f8");
}

TEST(Keccak256, IncrementalUpdatesGiveTheOneShotDigest) {
  std::string input(200, '\xa3');
  for (std::size_t split : {0, 1, 100, 135, 136, 137, 199, 200}) {
    Keccak256 h;
    h.update(as_bytes(input).first(split)).update(as_bytes(input).subspan(split));
    EXPECT_EQ(to_hex(h.finalize()), kCases[6].digest) << split;
  }
  Keccak256 bytewise;
  for (char c : input)
    bytewise.update(as_bytes(std::string_view(&c, 1)));
  EXPECT_EQ(to_hex(bytewise.finalize()), kCases[6].digest);
}

TEST(Keccak256, GivesSolidityFunctionSelectors) {
  // ERC-20 transfer; the Solidity ABI spec's baz example.
  EXPECT_EQ(to_hex(keccak256("transfer(address,uint256)")).substr(0, 8), "a9059cbb");
  EXPECT_EQ(to_hex(keccak256("baz(uint32,bool)")).substr(0, 8), "cdcd77c0");
}

}  // namespace
}  // namespace br2k::eth
