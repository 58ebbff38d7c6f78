// RLP: the examples of https://ethereum.org/en/developers/docs/data-structures-and-encoding/rlp/
// (formerly the Ethereum wiki's RLP page), and canonical-form failures in the style of silkworm's
// core/rlp tests.
#include <gtest/gtest.h>

#include <br2k/eth/rlp.hpp>
#include <string>

namespace br2k::eth {
namespace {

Bytes hex(std::string_view h) {
  return from_hex(h).value();
}

std::string encoded_string(std::string_view s) {
  Bytes out;
  rlp::encode_string(out, as_bytes(s));
  return to_hex(out);
}

std::string encoded_uint(std::uint64_t v) {
  Bytes out;
  rlp::encode_uint(out, v);
  return to_hex(out);
}

constexpr std::string_view kLorem = "Lorem ipsum dolor sit amet, consectetur adipisicing elit";

TEST(RlpEncode, StringsFromTheSpec) {
  EXPECT_EQ(encoded_string("dog"), "83646f67");
  EXPECT_EQ(encoded_string(""), "80");
  EXPECT_EQ(encoded_string(std::string_view("\x00", 1)), "00");
  EXPECT_EQ(encoded_string("\x0f"), "0f");
  EXPECT_EQ(encoded_string(std::string_view("\x04\x00", 2)), "820400");
  EXPECT_EQ(encoded_string("\x80"), "8180");  // one byte >= 0x80 needs a header
  ASSERT_EQ(kLorem.size(), 56u);              // the first length that needs the long form
  EXPECT_EQ(encoded_string(kLorem), "b838" + to_hex(as_bytes(kLorem)));
}

TEST(RlpEncode, IntegersFromTheSpec) {
  EXPECT_EQ(encoded_uint(0), "80");
  EXPECT_EQ(encoded_uint(15), "0f");
  EXPECT_EQ(encoded_uint(1024), "820400");
  EXPECT_EQ(encoded_uint(0x7f), "7f");
  EXPECT_EQ(encoded_uint(0x80), "8180");
  EXPECT_EQ(encoded_uint(~0ull), "88ffffffffffffffff");
  Bytes out;
  rlp::encode_uint(out, U256::from_int64(-1));
  EXPECT_EQ(to_hex(out), "a0" + std::string(64, 'f'));
  out.clear();
  rlp::encode_uint(out, U256{});
  EXPECT_EQ(to_hex(out), "80");
}

TEST(RlpEncode, ListsFromTheSpec) {
  EXPECT_EQ(to_hex(rlp::ListEncoder().add_string("cat").add_string("dog").list()),
            "c88363617483646f67");
  EXPECT_EQ(to_hex(rlp::ListEncoder().list()), "c0");
  // The set-theoretical representation of three: [ [], [[]], [ [], [[]] ] ].
  rlp::ListEncoder empty, one, two, three;
  one.add_list(empty);
  two.add_list(empty).add_list(one);
  three.add_list(empty).add_list(one).add_list(two);
  EXPECT_EQ(to_hex(three.list()), "c7c0c1c0c3c0c1c0");
  // A list whose payload is 56 bytes or more takes the long form.
  rlp::ListEncoder long_list;
  long_list.add_string(kLorem);
  EXPECT_EQ(to_hex(long_list.list()).substr(0, 6), "f83ab8");
}

TEST(RlpDecode, StreamsStringsIntegersAndLists) {
  Bytes data = hex("c88363617483646f67");
  ByteView in = data;
  auto payload = rlp::decode_list_payload(in);
  ASSERT_TRUE(payload);
  EXPECT_TRUE(in.empty());
  auto cat = rlp::decode_string(*payload);
  auto dog = rlp::decode_string(*payload);
  ASSERT_TRUE(cat && dog);
  EXPECT_EQ(to_hex(*cat), "636174");
  EXPECT_EQ(to_hex(*dog), "646f67");
  EXPECT_TRUE(rlp::expect_end(*payload));

  struct UintCase {
    const char* hex;
    std::uint64_t value;
  };
  constexpr UintCase kUints[] = {
      {"80", 0}, {"0f", 15}, {"820400", 1024}, {"8180", 0x80}, {"88ffffffffffffffff", ~0ull}};
  for (const auto& c : kUints) {
    Bytes b = hex(c.hex);
    ByteView v = b;
    EXPECT_EQ(rlp::decode_uint64(v).value(), c.value) << c.hex;
    EXPECT_TRUE(v.empty());
  }
  Bytes big = hex("a0" + std::string(64, 'f'));
  ByteView v = big;
  EXPECT_EQ(rlp::decode_u256(v).value(), U256::from_int64(-1));
}

TEST(RlpDecode, RoundTripsTheSpecExamplesThroughTheTree) {
  for (std::string h :
       {"83646f67", "c88363617483646f67", "80", "c0", "0f", "820400", "c7c0c1c0c3c0c1c0"}) {
    Bytes input = hex(h);  // the decoded views point into it
    auto item = rlp::decode(input);
    ASSERT_TRUE(item) << h << ": " << item.error();
    EXPECT_EQ(to_hex(rlp::encode(*item)), h);
  }
  Bytes lorem_input = hex("b838" + to_hex(as_bytes(kLorem)));
  auto lorem = rlp::decode(lorem_input);
  ASSERT_TRUE(lorem);
  EXPECT_FALSE(lorem->is_list);
  EXPECT_EQ(std::string(lorem->string.begin(), lorem->string.end()), kLorem);

  Bytes three_input = hex("c7c0c1c0c3c0c1c0");
  auto three = rlp::decode(three_input);
  ASSERT_TRUE(three);
  ASSERT_EQ(three->items.size(), 3u);
  EXPECT_EQ(three->items[2].items[1].items.size(), 1u);
}

struct FailureCase {
  const char* hex;
  RlpError error;
};

// decode_uint64 failures (silkworm core/rlp/decode_test.cpp style: decode_failure<uint64_t>).
constexpr FailureCase kUintFailures[] = {
    {"", RlpError::kInputTooShort},
    {"8105", RlpError::kNonCanonicalSize},      // 0x05 must be encoded as itself
    {"8100", RlpError::kNonCanonicalSize},      // likewise 0x00
    {"b8020004", RlpError::kNonCanonicalSize},  // long form for 2 bytes
    {"00", RlpError::kLeadingZero},             // zero is 0x80
    {"820004", RlpError::kLeadingZero},
    {"b90000", RlpError::kLeadingZero},  // long-form length with a leading zero
    {"c0", RlpError::kUnexpectedList},
    {"8affffffffffffffffff7c", RlpError::kOverflow},  // 10 bytes
    {"89ffffffffffffffffff", RlpError::kOverflow},    // 9 bytes
    {"83ffff", RlpError::kInputTooShort},
    {"b8", RlpError::kInputTooShort},
    {"bfffffffffffffffff", RlpError::kInputTooShort},  // a 2^64-1 byte string
};

TEST(RlpDecode, RefusesNonCanonicalAndTruncatedIntegers) {
  for (const auto& c : kUintFailures) {
    Bytes b = hex(c.hex);
    ByteView v = b;
    auto r = rlp::decode_uint64(v);
    ASSERT_FALSE(r) << c.hex;
    EXPECT_TRUE(is_error(r.error(), c.error)) << c.hex << ": " << r.error();
    EXPECT_TRUE(r.error().is(Errc::kInvalidArgument));
    EXPECT_EQ(v.size(), b.size()) << "input consumed on failure: " << c.hex;
  }
}

// Whole-input tree decoding failures.
constexpr FailureCase kTreeFailures[] = {
    {"83646f6700", RlpError::kTrailingBytes},
    {"c0c0", RlpError::kTrailingBytes},
    {"83646f", RlpError::kInputTooShort},
    {"c28363", RlpError::kInputTooShort},  // element overruns its list
    {"c3836361", RlpError::kInputTooShort},
    {"f800", RlpError::kLeadingZero},
    {"f80100", RlpError::kNonCanonicalSize},  // long list form for 1 byte
    {"c28100", RlpError::kNonCanonicalSize},
};

TEST(RlpDecode, RefusesMalformedTrees) {
  for (const auto& c : kTreeFailures) {
    auto r = rlp::decode(hex(c.hex));
    ASSERT_FALSE(r) << c.hex;
    EXPECT_TRUE(is_error(r.error(), c.error)) << c.hex << ": " << r.error();
  }
}

TEST(RlpDecode, RefusesListWhereStringExpectedAndViceVersa) {
  Bytes list = hex("c0"), str = hex("80");
  ByteView l = list, s = str;
  EXPECT_TRUE(is_error(rlp::decode_string(l).error(), RlpError::kUnexpectedList));
  EXPECT_TRUE(is_error(rlp::decode_list_payload(s).error(), RlpError::kUnexpectedString));
  EXPECT_TRUE(is_error(rlp::expect_end(str).error(), RlpError::kTrailingBytes));
  EXPECT_EQ(make_error(RlpError::kLeadingZero).detail, "rlp: leading zero");
}

// Every byte of some valid encodings set to each value: a typed error or an item, never a crash.
TEST(RlpDecode, SurvivesEveryByteMutation) {
  rlp::ListEncoder list;
  list.add_string(kLorem).add_uint(1024).add_list(rlp::ListEncoder().add_string("cat"));
  for (const Bytes& valid : {hex("c7c0c1c0c3c0c1c0"), list.list()}) {
    for (std::size_t i = 0; i < valid.size(); ++i) {
      for (int b = 0; b < 256; ++b) {
        Bytes mutated = valid;
        mutated[i] = static_cast<std::uint8_t>(b);
        auto r = rlp::decode(mutated);
        if (r) {
          EXPECT_EQ(rlp::encode(*r), mutated);  // canonical: one encoding per value
        } else {
          EXPECT_TRUE(r.error().is(Errc::kInvalidArgument));
        }
      }
    }
  }
}

// `depth` lists, each holding the next; the innermost is empty. Built back to front.
Bytes nested(std::size_t depth) {
  Bytes reversed{0xc0};
  for (std::size_t i = 1; i < depth; ++i) {
    Bytes header;
    rlp::encode_header(header, true, reversed.size());
    reversed.insert(reversed.end(), header.rbegin(), header.rend());
  }
  return Bytes(reversed.rbegin(), reversed.rend());
}

TEST(RlpDecode, BoundsNestingDepth) {
  EXPECT_TRUE(rlp::decode(nested(rlp::kMaxDepth)));
  auto r = rlp::decode(nested(rlp::kMaxDepth + 1));
  ASSERT_FALSE(r);
  EXPECT_TRUE(is_error(r.error(), RlpError::kTooDeep));
  // Deep enough to overflow the stack of a decoder without a limit.
  auto deep = rlp::decode(nested(200000));
  ASSERT_FALSE(deep);
  EXPECT_TRUE(is_error(deep.error(), RlpError::kTooDeep));
}

}  // namespace
}  // namespace br2k::eth
