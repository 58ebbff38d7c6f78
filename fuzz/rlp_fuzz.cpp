// Fuzz target: RLP (sdk/include/br2k/eth/rlp.hpp), the codec of transactions, log entries and
// replicated-state snapshots.
//
// Properties: no decoder crashes or throws; a failed decode leaves its input view unchanged; and
// since only the canonical form is accepted, whatever decodes re-encodes to exactly the bytes it
// came from (the tree decoder for the whole input, the streaming decoders item by item).
#include <algorithm>
#include <br2k/eth/rlp.hpp>
#include <cstddef>
#include <cstdint>

#include "fuzz_check.hpp"

namespace {

using br2k::Bytes;
using br2k::ByteView;
using br2k::fuzz::check;
namespace rlp = br2k::eth::rlp;

bool same(ByteView a, ByteView b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin());
}

// The bytes consumed between `before` and `after` (a suffix of it).
ByteView consumed(ByteView before, ByteView after) {
  return before.first(before.size() - after.size());
}

// Walks `in` as a sequence of items with the streaming decoders, descending into lists, and
// checks each against its re-encoding. Returns false at the first item that does not decode.
bool walk(ByteView in, std::size_t depth) {
  while (!in.empty()) {
    const ByteView before = in;
    // Each scalar decoder on the same item: whichever succeeds must round-trip.
    {
      ByteView v = in;
      if (auto n = rlp::decode_uint64(v)) {
        Bytes out;
        rlp::encode_uint(out, *n);
        check(same(out, consumed(in, v)), "decode_uint64 does not re-encode to its input");
      } else {
        check(v.size() == in.size(), "decode_uint64 consumed input on failure");
      }
    }
    {
      ByteView v = in;
      if (auto n = rlp::decode_u256(v)) {
        Bytes out;
        rlp::encode_uint(out, *n);
        check(same(out, consumed(in, v)), "decode_u256 does not re-encode to its input");
      } else {
        check(v.size() == in.size(), "decode_u256 consumed input on failure");
      }
    }
    ByteView h = in;
    auto header = rlp::decode_header(h);
    if (!header) {
      check(h.size() == in.size(), "decode_header consumed input on failure");
      ByteView s = in, l = in;
      check(!rlp::decode_string(s) && s.size() == in.size(), "decode_string accepts a bad header");
      check(!rlp::decode_list_payload(l) && l.size() == in.size(),
            "decode_list_payload accepts a bad header");
      return false;
    }
    check(header->payload_length <= h.size(), "decode_header: payload beyond the input");
    if (!header->list) {
      auto s = rlp::decode_string(in);
      check(bool(s), "decode_string refuses what decode_header accepted");
      Bytes out;
      rlp::encode_string(out, *s);
      check(same(out, consumed(before, in)), "decode_string does not re-encode to its input");
      ByteView l = before;
      check(!rlp::decode_list_payload(l) && l.size() == before.size(),
            "decode_list_payload accepts a string");
    } else {
      auto payload = rlp::decode_list_payload(in);
      check(bool(payload), "decode_list_payload refuses what decode_header accepted");
      Bytes out;
      rlp::encode_header(out, true, payload->size());
      out.insert(out.end(), payload->begin(), payload->end());
      check(same(out, consumed(before, in)), "list header does not re-encode to its input");
      ByteView s = before;
      check(!rlp::decode_string(s) && s.size() == before.size(), "decode_string accepts a list");
      if (depth < rlp::kMaxDepth && !walk(*payload, depth + 1))
        return false;
    }
  }
  check(bool(rlp::expect_end(in)), "expect_end refuses an empty rest");
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const ByteView input = br2k::fuzz::view(data, size);

  auto item = rlp::decode(input);
  if (item) {
    check(same(rlp::encode(*item), input), "decode then encode is not the identity");
  } else {
    check(item.error().is(br2k::Errc::kInvalidArgument), "rlp::decode: not kInvalidArgument");
  }
  if (!input.empty())
    check(!rlp::expect_end(input), "expect_end accepts trailing bytes");

  walk(input, 0);
  return 0;
}
