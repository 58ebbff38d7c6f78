// ABI encoding and decoding: the examples of the Solidity ABI spec
// (https://docs.soliditylang.org/en/latest/abi-spec.html#examples and #use-of-dynamic-types),
// round trips, and hostile inputs.
#include <gtest/gtest.h>

#include <br2k/eth/abi.hpp>
#include <string>

namespace br2k::eth::abi {
namespace {

using List = Value::List;

Bytes hex(std::string_view h) {
  return from_hex(h).value();
}

Bytes bytes(std::string_view s) {
  return Bytes(s.begin(), s.end());
}

std::vector<Type> types(std::string_view signature) {
  return parse_signature(signature).value().types();
}

// A 32-byte word holding `v`, as hex.
std::string word(std::uint64_t v) {
  return to_hex(U256::from_uint64(v).bytes);
}

struct SpecCase {
  const char* signature;  // canonical
  std::vector<Value> values;
  std::string call_data;  // hex, selector included
};

// The Solidity ABI spec's worked examples, byte for byte.
const SpecCase kSpecCases[] = {
    {"baz(uint32,bool)",
     {69, true},
     "cdcd77c0"
     "0000000000000000000000000000000000000000000000000000000000000045"
     "0000000000000000000000000000000000000000000000000000000000000001"},
    {"bar(bytes3[2])",
     {List{bytes("abc"), bytes("def")}},
     "fce353f6"
     "6162630000000000000000000000000000000000000000000000000000000000"
     "6465660000000000000000000000000000000000000000000000000000000000"},
    {"sam(bytes,bool,uint256[])",
     {bytes("dave"), true, List{1, 2, 3}},
     "a5643bf2"
     "0000000000000000000000000000000000000000000000000000000000000060"
     "0000000000000000000000000000000000000000000000000000000000000001"
     "00000000000000000000000000000000000000000000000000000000000000a0"
     "0000000000000000000000000000000000000000000000000000000000000004"
     "6461766500000000000000000000000000000000000000000000000000000000"
     "0000000000000000000000000000000000000000000000000000000000000003"
     "0000000000000000000000000000000000000000000000000000000000000001"
     "0000000000000000000000000000000000000000000000000000000000000002"
     "0000000000000000000000000000000000000000000000000000000000000003"},
    {"f(uint256,uint32[],bytes10,bytes)",
     {0x123, List{0x456, 0x789}, bytes("1234567890"), bytes("Hello, world!")},
     "8be65246"
     "0000000000000000000000000000000000000000000000000000000000000123"
     "0000000000000000000000000000000000000000000000000000000000000080"
     "3132333435363738393000000000000000000000000000000000000000000000"
     "00000000000000000000000000000000000000000000000000000000000000e0"
     "0000000000000000000000000000000000000000000000000000000000000002"
     "0000000000000000000000000000000000000000000000000000000000000456"
     "0000000000000000000000000000000000000000000000000000000000000789"
     "000000000000000000000000000000000000000000000000000000000000000d"
     "48656c6c6f2c20776f726c642100000000000000000000000000000000000000"},
    {"g(uint256[][],string[])",
     {List{List{1, 2}, List{3}}, List{"one", "two", "three"}},
     "2289b18c"
     "0000000000000000000000000000000000000000000000000000000000000040"
     "0000000000000000000000000000000000000000000000000000000000000140"
     "0000000000000000000000000000000000000000000000000000000000000002"
     "0000000000000000000000000000000000000000000000000000000000000040"
     "00000000000000000000000000000000000000000000000000000000000000a0"
     "0000000000000000000000000000000000000000000000000000000000000002"
     "0000000000000000000000000000000000000000000000000000000000000001"
     "0000000000000000000000000000000000000000000000000000000000000002"
     "0000000000000000000000000000000000000000000000000000000000000001"
     "0000000000000000000000000000000000000000000000000000000000000003"
     "0000000000000000000000000000000000000000000000000000000000000003"
     "0000000000000000000000000000000000000000000000000000000000000060"
     "00000000000000000000000000000000000000000000000000000000000000a0"
     "00000000000000000000000000000000000000000000000000000000000000e0"
     "0000000000000000000000000000000000000000000000000000000000000003"
     "6f6e650000000000000000000000000000000000000000000000000000000000"
     "0000000000000000000000000000000000000000000000000000000000000003"
     "74776f0000000000000000000000000000000000000000000000000000000000"
     "0000000000000000000000000000000000000000000000000000000000000005"
     "7468726565000000000000000000000000000000000000000000000000000000"},
};

TEST(AbiSelector, MatchesTheSpec) {
  EXPECT_EQ(to_hex(function_selector("transfer(address,uint256)")), "a9059cbb");
  EXPECT_EQ(to_hex(function_selector("baz(uint32,bool)")), "cdcd77c0");
  EXPECT_EQ(to_hex(function_selector("Error(string)")), "08c379a0");
  EXPECT_EQ(to_hex(function_selector("Panic(uint256)")), "4e487b71");
  // ERC-20 Transfer event, as on every token's logs.
  EXPECT_EQ(to_hex(event_topic("Transfer(address,address,uint256)")),
            "ddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef");
  EXPECT_EQ(to_hex(event_topic("NewLocation(bytes32,string,uint64)")),
            "a774dc444a9eab558749333cb09eeec2ab90b7364798196fb8e792be845de509");
}

TEST(AbiEncode, ReproducesTheSpecExamples) {
  for (const auto& c : kSpecCases) {
    auto data = encode_call(c.signature, c.values);
    ASSERT_TRUE(data) << c.signature << ": " << data.error();
    EXPECT_EQ(to_hex(*data), c.call_data) << c.signature;
  }
  // "uint" is uint256 in the selector, as the spec's sam and f examples say.
  EXPECT_EQ(to_hex(encode_call("f(uint,uint32[],bytes10,bytes)", kSpecCases[3].values).value()),
            kSpecCases[3].call_data);
}

TEST(AbiDecode, ReadsTheSpecExamplesBack) {
  for (const auto& c : kSpecCases) {
    auto sig = parse_signature(c.signature).value();
    auto values = decode_call(sig.selector(), sig.types(), hex(c.call_data));
    ASSERT_TRUE(values) << c.signature << ": " << values.error();
    EXPECT_EQ(*values, c.values) << c.signature;
  }
  auto wrong = decode_call(function_selector("baz(uint32,bool)"), types("f(uint256)"),
                           hex(kSpecCases[2].call_data));
  EXPECT_TRUE(is_error(wrong.error(), AbiError::kSelectorMismatch));
}

// A struct return value, as ServiceRegistry.getService gives one: a single dynamic tuple is
// encoded behind an offset.
TEST(AbiEncode, EncodesADynamicTupleBehindAnOffset) {
  Type service = parse_type("(bytes32,string,uint64,address[])").value();
  Address a{};
  a[19] = 0xaa;
  Bytes id(32, 0x11);
  Value v = List{id, "node-1:8080", 7, List{a, a}};
  auto data = encode({service}, {v});
  ASSERT_TRUE(data) << data.error();
  std::string h = to_hex(*data);
  EXPECT_EQ(h.substr(0, 64), word(0x20));             // offset of the tuple
  EXPECT_EQ(h.substr(64, 64), std::string(64, '1'));  // bytes32 in the tuple's head
  EXPECT_EQ(h.substr(128, 64), word(0x80));           // string, relative to the tuple
  EXPECT_EQ(h.substr(192, 64), word(7));
  EXPECT_EQ(h.substr(256, 64), word(0xc0));  // address[]: 0x80 + length word + 1 padded word
  auto back = decode({service}, *data);
  ASSERT_TRUE(back) << back.error();
  EXPECT_EQ(back->at(0), v);
}

TEST(AbiEncode, RoundTripsEveryKind) {
  auto ts = types(
      "f(uint8,int8,int256,address,bool,bytes1,bytes32,bytes,string,int64[],bool[2],(string,"
      "uint16)[],string[2])");
  Address a = parse_address("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed").value();
  std::vector<Value> values = {255,
                               -128,
                               U256::from_int64(-1),
                               a,
                               false,
                               Bytes{0xff},
                               Bytes(32, 0xab),
                               Bytes{},
                               std::string("\xe2\x82\xac uro"),
                               List{-1, 0, INT64_MIN},
                               List{true, false},
                               List{List{"", 1}, List{"x", 65535}},
                               List{"a", "b"}};
  auto data = encode(ts, values);
  ASSERT_TRUE(data) << data.error();
  EXPECT_EQ(data->size() % 32, 0u);
  auto back = decode(ts, *data);
  ASSERT_TRUE(back) << back.error();
  EXPECT_EQ(*back, values);
  EXPECT_EQ(back->at(1).get<U256>().to_int64(), -128);
  EXPECT_EQ(to_hex(back->at(1).get<U256>().bytes), std::string(62, 'f') + "80");
}

TEST(AbiEncode, RefusesValuesThatDoNotFitTheirType) {
  auto check = [](const char* type, Value v, AbiError expected) {
    auto r = encode({parse_type(type).value()}, {std::move(v)});
    ASSERT_FALSE(r) << type;
    EXPECT_TRUE(is_error(r.error(), expected)) << type << ": " << r.error();
  };
  check("uint8", 256, AbiError::kValueOutOfRange);
  check("uint64", U256::from_int64(-1), AbiError::kValueOutOfRange);
  check("int8", 128, AbiError::kValueOutOfRange);
  check("int8", -129, AbiError::kValueOutOfRange);
  check("bytes10", bytes("123456789"), AbiError::kValueOutOfRange);
  check("uint256", true, AbiError::kTypeMismatch);
  check("bool", 1, AbiError::kTypeMismatch);
  check("string", bytes("x"), AbiError::kTypeMismatch);
  check("bytes", "x", AbiError::kTypeMismatch);
  check("address", Bytes(20, 0), AbiError::kTypeMismatch);
  check("bool[2]", List{true}, AbiError::kTypeMismatch);
  check("(bool,bool)", List{true}, AbiError::kTypeMismatch);
  check("uint256[]", 1, AbiError::kTypeMismatch);
  check("uint8[]", List{1, 256}, AbiError::kValueOutOfRange);
  EXPECT_TRUE(is_error(encode(types("f(bool,bool)"), {true}).error(), AbiError::kTypeMismatch));
  EXPECT_TRUE(is_error(encode({Type::unsigned_int(7)}, {1}).error(), AbiError::kBadType));
}

struct DecodeFailure {
  const char* what;
  const char* types;  // a signature whose parameters are the types
  std::string data;   // hex, no selector
  AbiError error;
};

const DecodeFailure kDecodeFailures[] = {
    {"empty input", "f(uint256)", "", AbiError::kInputTooShort},
    {"truncated word", "f(uint32,bool)", word(69) + word(1).substr(0, 62),
     AbiError::kInputTooShort},
    {"address with dirty high bits", "f(address)",
     "ff" + std::string(22, '0') + "5aaeb6053f3e94c9b9a09f33669435e7ef1beaed",
     AbiError::kDirtyBits},
    {"bool of 2", "f(bool)", word(2), AbiError::kDirtyBits},
    {"bool with a high bit", "f(bool)", "01" + std::string(62, '0'), AbiError::kDirtyBits},
    {"uint64 with bit 64 set", "f(uint64)", word(0).substr(0, 46) + "01" + std::string(16, 'f'),
     AbiError::kDirtyBits},
    {"uint8 of 256", "f(uint8)", word(256), AbiError::kDirtyBits},
    {"int8 of +128, not sign-extended", "f(int8)", word(0x80), AbiError::kDirtyBits},
    {"int8 of -1 with a zero high byte", "f(int8)", "00" + std::string(62, 'f'),
     AbiError::kDirtyBits},
    {"bytes3 with a 4th byte", "f(bytes3)", "61626364" + std::string(56, '0'),
     AbiError::kDirtyBits},
    {"offset past the end", "f(bytes)", word(0x1000), AbiError::kOffsetOutOfBounds},
    {"offset of 2^255", "f(string)", "80" + std::string(62, '0'), AbiError::kOffsetOutOfBounds},
    {"offset to the last byte", "f(bytes)", word(0x20) + word(0).substr(0, 62),
     AbiError::kInputTooShort},
    {"offset at the very end", "f(bytes)", word(0x20), AbiError::kInputTooShort},
    {"bytes length past the end", "f(bytes)", word(0x20) + word(33) + word(0),
     AbiError::kLengthOutOfBounds},
    {"bytes without its padding", "f(bytes)", word(0x20) + word(4) + "64617665",
     AbiError::kLengthOutOfBounds},
    {"huge bytes length", "f(bytes)", word(0x20) + std::string(64, 'f'),
     AbiError::kLengthOutOfBounds},
    {"length of 2^64-1", "f(string)", word(0x20) + word(~0ull), AbiError::kLengthOutOfBounds},
    {"huge array length", "f(uint256[])", word(0x20) + word(0xffffffff) + word(1),
     AbiError::kLengthOutOfBounds},
    {"array of dynamic elements, too long", "f(string[])", word(0x20) + word(3) + word(0x20),
     AbiError::kLengthOutOfBounds},
    {"inner offset past the end", "f(string[])", word(0x20) + word(1) + word(0x100),
     AbiError::kOffsetOutOfBounds},
    {"static tuple cut short", "f((uint256,uint256))", word(1), AbiError::kInputTooShort},
    {"fixed array cut short", "f(bool[3])", word(1) + word(0), AbiError::kInputTooShort},
};

TEST(AbiDecode, RefusesHostileInputWithTypedErrors) {
  for (const auto& c : kDecodeFailures) {
    auto r = decode(types(c.types), hex(c.data));
    ASSERT_FALSE(r) << c.what;
    EXPECT_TRUE(is_error(r.error(), c.error)) << c.what << ": " << r.error();
    EXPECT_TRUE(r.error().is(Errc::kInvalidArgument));
  }
}

TEST(AbiDecode, RefusesEveryTruncationOfAValidEncoding) {
  const auto& g = kSpecCases[4];
  Bytes full = hex(g.call_data);
  ByteView args = ByteView(full).subspan(4);
  auto ts = types(g.signature);
  for (std::size_t n = 0; n < args.size(); ++n)
    EXPECT_FALSE(decode(ts, args.first(n))) << n << " bytes";
  EXPECT_TRUE(decode(ts, args));
}

// A poor man's fuzzer, deterministic: every byte of every spec example set to values that make
// offsets and lengths interesting. Decoding must give values or a typed error, never crash (the
// ASan build checks reads).
TEST(AbiDecode, SurvivesEveryByteMutationOfTheSpecExamples) {
  for (const auto& c : kSpecCases) {
    Bytes data = hex(c.call_data);
    data.erase(data.begin(), data.begin() + 4);
    auto ts = types(c.signature);
    for (std::size_t i = 0; i < data.size(); ++i) {
      for (std::uint8_t b : {0x00, 0x01, 0x1f, 0x20, 0x7f, 0x80, 0xff}) {
        Bytes mutated = data;
        mutated[i] = b;
        auto r = decode(ts, mutated);
        if (!r) {
          EXPECT_TRUE(r.error().is(Errc::kInvalidArgument));
        }
      }
    }
  }
}

TEST(AbiDecode, IgnoresBytesAfterTheEncoding) {
  auto r = decode(types("f(uint32,bool)"), hex(word(69) + word(1) + "deadbeef"));
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, (std::vector<Value>{69, true}));
}

// uint256[][] whose n inner offsets all name one inner array of n elements: n * n values from
// about 2n words. Offsets that share data are legal to write but never produced by an encoder.
TEST(AbiDecode, RefusesOffsetsThatInflateASmallInput) {
  const std::size_t n = 200;
  std::string h = word(0x20) + word(n);
  for (std::size_t i = 0; i < n; ++i)
    h += word(32 * n);  // every element points just past the offsets
  h += word(n);
  for (std::size_t i = 0; i < n; ++i)
    h += word(i);
  auto r = decode(types("f(uint256[][])"), hex(h));
  ASSERT_FALSE(r);
  EXPECT_TRUE(is_error(r.error(), AbiError::kExpansionLimit)) << r.error();

  // The same with strings: n copies of one 8 KiB string.
  std::string s = word(0x20) + word(n);
  for (std::size_t i = 0; i < n; ++i)
    s += word(32 * n);
  s += word(8192) + std::string(2 * 8192, 'a');
  auto strings = decode(types("f(string[])"), hex(s));
  ASSERT_FALSE(strings);
  EXPECT_TRUE(is_error(strings.error(), AbiError::kExpansionLimit)) << strings.error();
}

// The expansion budget must never refuse what an encoder produces, even for shapes that cost
// the decoder more than one unit per word.
TEST(AbiDecode, AcceptsLargeWellFormedInputsWithinTheBudget) {
  List nested, strings, empty_arrays;
  for (int i = 0; i < 1000; ++i) {
    nested.push_back(List{Value(List{Value(List{i})})});  // ((i)) in a 1-tuple
    strings.push_back(std::string(static_cast<std::size_t>(i % 70), 'x'));
    empty_arrays.push_back(List{});
  }
  auto ts = types("f((((uint256)))[],string[],uint8[][])");
  std::vector<Value> values = {nested, strings, empty_arrays};
  auto data = encode(ts, values);
  ASSERT_TRUE(data) << data.error();
  auto back = decode(ts, *data);
  ASSERT_TRUE(back) << back.error();
  EXPECT_EQ(*back, values);
}

TEST(AbiDecode, ReadsIndexedTopics) {
  Hash topic{};
  topic[31] = 7;
  EXPECT_EQ(decode_topic(Type::unsigned_int(64), topic).value(), Value(7));
  Hash hashed = keccak256("node-1");
  EXPECT_EQ(decode_topic(Type::string(), hashed).value(),
            Value(Bytes(hashed.begin(), hashed.end())));
  topic[0] = 1;
  EXPECT_TRUE(is_error(decode_topic(Type::address(), topic).error(), AbiError::kDirtyBits));
}

TEST(AbiValue, PrintsForPeople) {
  auto t = parse_type("(uint256,int8,address,bool,bytes2,string,uint8[])").value();
  Value v = List{1024,
                 -5,
                 parse_address("0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed").value(),
                 true,
                 Bytes{0xab, 0xcd},
                 "say \"hi\"\n",
                 List{1, 2}};
  EXPECT_EQ(to_string(v, t),
            "(1024, -5, 0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed, true, 0xabcd, "
            "\"say \\\"hi\\\"\\x0a\", [1, 2])");
  EXPECT_EQ(to_string(Value(true), Type::string()), "?");
}

}  // namespace
}  // namespace br2k::eth::abi
