// ABI type strings and signatures (https://docs.soliditylang.org/en/latest/abi-spec.html#types).
#include <gtest/gtest.h>

#include <br2k/eth/abi_type.hpp>
#include <string>

namespace br2k::eth::abi {
namespace {

struct CanonicalCase {
  const char* text;
  const char* canonical;
};

constexpr CanonicalCase kTypes[] = {
    {"uint", "uint256"},
    {"int", "int256"},
    {"uint8", "uint8"},
    {"int136", "int136"},
    {"address", "address"},
    {"bool", "bool"},
    {"bytes1", "bytes1"},
    {"bytes32", "bytes32"},
    {"bytes", "bytes"},
    {"string", "string"},
    {"uint[]", "uint256[]"},
    {"bytes3[2]", "bytes3[2]"},
    {"uint256[][]", "uint256[][]"},
    {"string[2][]", "string[2][]"},
    {"(bytes32,string,uint64,address[])", "(bytes32,string,uint64,address[])"},
    {"(uint,(bool,bytes)[])[3]", "(uint256,(bool,bytes)[])[3]"},
};

TEST(AbiType, ParsesAndPrintsCanonicalTypes) {
  for (const auto& c : kTypes) {
    auto t = parse_type(c.text);
    ASSERT_TRUE(t) << c.text << ": " << t.error();
    EXPECT_EQ(t->canonical(), c.canonical);
    EXPECT_TRUE(t->valid());
  }
}

TEST(AbiType, BuildsTheStructure) {
  auto t = parse_type("(bytes32,string,uint64,address[])").value();
  EXPECT_EQ(t, Type::tuple({Type::fixed_bytes(32), Type::string(), Type::unsigned_int(64),
                            Type::array(Type::address())}));
  EXPECT_TRUE(t.is_dynamic());
  EXPECT_EQ(t.head_size(), 32u);
  auto fixed = parse_type("(uint8,bytes3[2])").value();
  EXPECT_FALSE(fixed.is_dynamic());
  EXPECT_EQ(fixed.head_size(), 96u);
  EXPECT_TRUE(parse_type("string[2]").value().is_dynamic());
}

constexpr const char* kBadTypes[] = {
    "",           "uint7",       "uint0",      "uint264",     "uint08",   "int1024",
    "bytes0",     "bytes33",     "bytes01",    "fixed128x18", "function", "foo",
    "uint256 ",   " uint256",    "(uint256",   "(uint256,)",  "()",       "uint256[",
    "uint256[0]", "uint256[01]", "uint256[x]", "uint256]",    "(bool)x",  "uint256[2000000]",
};

TEST(AbiType, RefusesMalformedTypes) {
  for (const char* text : kBadTypes) {
    auto t = parse_type(text);
    ASSERT_FALSE(t) << text;
    EXPECT_TRUE(is_error(t.error(), AbiError::kBadType)) << text << ": " << t.error();
  }
}

TEST(AbiType, RefusesNestingBeyondTheLimit) {
  std::string deep_array = "uint256";
  for (std::size_t i = 0; i < kMaxDepth; ++i)
    deep_array += "[]";
  EXPECT_TRUE(is_error(parse_type(deep_array).error(), AbiError::kTooDeep));
  std::string deep_tuple = std::string(10000, '(') + "bool" + std::string(10000, ')');
  EXPECT_TRUE(is_error(parse_type(deep_tuple).error(), AbiError::kTooDeep));
  std::string ok = "uint256";
  for (std::size_t i = 1; i < kMaxDepth; ++i)
    ok += "[]";
  EXPECT_TRUE(parse_type(ok));
}

TEST(AbiType, ValidRejectsHandBuiltNonsense) {
  EXPECT_FALSE(Type::unsigned_int(7).valid());
  EXPECT_FALSE(Type::fixed_bytes(33).valid());
  EXPECT_FALSE(Type::fixed_array(Type::boolean(), 0).valid());
  EXPECT_FALSE((Type{Type::Kind::kArray, 0, {}}).valid());
  EXPECT_TRUE(Type::tuple({Type::boolean(), Type::array(Type::string())}).valid());
}

TEST(AbiSignature, ParsesCanonicalAndHumanReadableForms) {
  auto s = parse_signature("NewLocation(bytes32 indexed serviceId, string location, uint64 epoch)");
  ASSERT_TRUE(s) << s.error();
  EXPECT_EQ(s->canonical(), "NewLocation(bytes32,string,uint64)");
  ASSERT_EQ(s->params.size(), 3u);
  EXPECT_TRUE(s->params[0].indexed);
  EXPECT_EQ(s->params[0].name, "serviceId");
  EXPECT_FALSE(s->params[1].indexed);
  EXPECT_EQ(s->params[2].name, "epoch");
  // keccak256("NewLocation(bytes32,string,uint64)"), cross-checked with js-sha3.
  EXPECT_EQ(to_hex(s->topic()), "a774dc444a9eab558749333cb09eeec2ab90b7364798196fb8e792be845de509");

  auto t = parse_signature("transfer(address to, uint amount)").value();
  EXPECT_EQ(t.canonical(), "transfer(address,uint256)");
  EXPECT_EQ(to_hex(t.selector()), "a9059cbb");
  EXPECT_EQ(t.types(), (std::vector<Type>{Type::address(), Type::unsigned_int()}));

  EXPECT_EQ(parse_signature("f()").value().canonical(), "f()");
  EXPECT_EQ(parse_signature(" g ( (uint256,string)[] s , bool ) ").value().canonical(),
            "g((uint256,string)[],bool)");
  EXPECT_EQ(parse_signature("h(uint256 indexed)").value().params[0].indexed, true);
}

TEST(AbiSignature, RefusesMalformedSignatures) {
  for (const char* text : {"", "(uint256)", "1f()", "f", "f(", "f(uint256", "f(uint256,)",
                           "f(uint256) x", "f(uint256 a b)", "f(uint256 a indexed)"}) {
    auto s = parse_signature(text);
    ASSERT_FALSE(s) << text;
    EXPECT_TRUE(is_error(s.error(), AbiError::kBadSignature) ||
                is_error(s.error(), AbiError::kBadType))
        << text << ": " << s.error();
  }
  EXPECT_TRUE(is_error(parse_signature("f(uint7)").error(), AbiError::kBadType));
}

}  // namespace
}  // namespace br2k::eth::abi
