// RLP encoding and canonical decoding.
// https://ethereum.org/en/developers/docs/data-structures-and-encoding/rlp/, Yellow Paper app. B.
#include <array>
#include <br2k/eth/rlp.hpp>
#include <limits>

namespace br2k::eth {

std::string_view to_string(RlpError e) noexcept {
  switch (e) {
    case RlpError::kInputTooShort:
      return "input too short";
    case RlpError::kTrailingBytes:
      return "trailing bytes";
    case RlpError::kLeadingZero:
      return "leading zero";
    case RlpError::kNonCanonicalSize:
      return "non-canonical size";
    case RlpError::kOverflow:
      return "integer overflow";
    case RlpError::kUnexpectedList:
      return "list where a string was expected";
    case RlpError::kUnexpectedString:
      return "string where a list was expected";
    case RlpError::kTooDeep:
      return "lists nested too deep";
  }
  return "unknown error";
}

Error make_error(RlpError e) {
  return Error(Errc::kInvalidArgument, "rlp: " + std::string(to_string(e)));
}

bool is_error(const Error& e, RlpError which) noexcept {
  constexpr std::string_view kPrefix = "rlp: ";
  std::string_view d = e.detail;
  return e.is(Errc::kInvalidArgument) && d.starts_with(kPrefix) &&
         d.substr(kPrefix.size()) == to_string(which);
}

namespace rlp {
namespace {

constexpr std::uint8_t kStringOffset = 0x80;
constexpr std::uint8_t kListOffset = 0xc0;
constexpr std::size_t kShortLimit = 56;  // payloads shorter than this use the one-byte header

// Minimal big-endian bytes of v into buf; returns how many (0 for v == 0).
std::size_t big_endian(std::uint64_t v, std::array<std::uint8_t, 8>& buf) noexcept {
  std::size_t n = 0;
  for (std::uint64_t t = v; t != 0; t >>= 8)
    ++n;
  for (std::size_t i = 0; i < n; ++i)
    buf[n - 1 - i] = static_cast<std::uint8_t>(v >> (8 * i));
  return n;
}

Result<Item> decode_item(ByteView& from, std::size_t depth) noexcept {
  ByteView in = from;
  auto h = decode_header(in);
  if (!h)
    return h.error();
  Item item;
  ByteView payload = in.first(h->payload_length);
  in = in.subspan(h->payload_length);
  if (!h->list) {
    item.string = payload;
  } else {
    if (depth >= kMaxDepth)
      return make_error(RlpError::kTooDeep);
    item.is_list = true;
    while (!payload.empty()) {
      auto child = decode_item(payload, depth + 1);
      if (!child)
        return child.error();
      item.items.push_back(std::move(*child));
    }
  }
  from = in;
  return item;
}

}  // namespace

void encode_header(Bytes& out, bool list, std::size_t payload_length) {
  std::uint8_t offset = list ? kListOffset : kStringOffset;
  if (payload_length < kShortLimit) {
    out.push_back(static_cast<std::uint8_t>(offset + payload_length));
    return;
  }
  std::array<std::uint8_t, 8> buf;
  std::size_t n = big_endian(payload_length, buf);
  out.push_back(static_cast<std::uint8_t>(offset + kShortLimit - 1 + n));
  out.insert(out.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(n));
}

void encode_string(Bytes& out, ByteView s) {
  if (s.size() == 1 && s[0] < kStringOffset) {
    out.push_back(s[0]);
    return;
  }
  encode_header(out, false, s.size());
  out.insert(out.end(), s.begin(), s.end());
}

void encode_uint(Bytes& out, std::uint64_t v) {
  std::array<std::uint8_t, 8> buf;
  std::size_t n = big_endian(v, buf);
  encode_string(out, ByteView(buf).first(n));
}

void encode_uint(Bytes& out, const U256& v) {
  encode_string(out, v.trimmed());
}

ListEncoder& ListEncoder::add_string(ByteView s) {
  encode_string(payload_, s);
  return *this;
}

ListEncoder& ListEncoder::add_uint(std::uint64_t v) {
  encode_uint(payload_, v);
  return *this;
}

ListEncoder& ListEncoder::add_uint(const U256& v) {
  encode_uint(payload_, v);
  return *this;
}

ListEncoder& ListEncoder::add_list(const ListEncoder& inner) {
  inner.append_list_to(payload_);
  return *this;
}

ListEncoder& ListEncoder::add_raw(ByteView encoded_item) {
  payload_.insert(payload_.end(), encoded_item.begin(), encoded_item.end());
  return *this;
}

Bytes ListEncoder::list() const {
  Bytes out;
  append_list_to(out);
  return out;
}

void ListEncoder::append_list_to(Bytes& out) const {
  encode_header(out, true, payload_.size());
  out.insert(out.end(), payload_.begin(), payload_.end());
}

Result<Header> decode_header(ByteView& from) noexcept {
  if (from.empty())
    return make_error(RlpError::kInputTooShort);
  ByteView in = from;
  std::uint8_t b = in[0];
  Header h;
  if (b < kStringOffset) {
    h.payload_length = 1;  // the byte is its own payload: do not consume it
  } else {
    in = in.subspan(1);
    h.list = b >= kListOffset;
    std::size_t short_length = static_cast<std::size_t>(b - (h.list ? kListOffset : kStringOffset));
    if (short_length < kShortLimit) {
      h.payload_length = short_length;
      if (!h.list && short_length == 1 && !in.empty() && in[0] < kStringOffset)
        return make_error(RlpError::kNonCanonicalSize);
    } else {
      std::size_t length_of_length = short_length - (kShortLimit - 1);  // 1..8
      if (in.size() < length_of_length)
        return make_error(RlpError::kInputTooShort);
      if (in[0] == 0)
        return make_error(RlpError::kLeadingZero);
      std::uint64_t length = 0;
      for (std::size_t i = 0; i < length_of_length; ++i)
        length = (length << 8) | in[i];
      in = in.subspan(length_of_length);
      if (length < kShortLimit)
        return make_error(RlpError::kNonCanonicalSize);
      if (length > std::numeric_limits<std::size_t>::max())
        return make_error(RlpError::kInputTooShort);
      h.payload_length = static_cast<std::size_t>(length);
    }
  }
  if (h.payload_length > in.size())
    return make_error(RlpError::kInputTooShort);
  from = in;
  return h;
}

Result<ByteView> decode_string(ByteView& from) noexcept {
  ByteView in = from;
  auto h = decode_header(in);
  if (!h)
    return h.error();
  if (h->list)
    return make_error(RlpError::kUnexpectedList);
  ByteView s = in.first(h->payload_length);
  from = in.subspan(h->payload_length);
  return s;
}

Result<ByteView> decode_list_payload(ByteView& from) noexcept {
  ByteView in = from;
  auto h = decode_header(in);
  if (!h)
    return h.error();
  if (!h->list)
    return make_error(RlpError::kUnexpectedString);
  ByteView payload = in.first(h->payload_length);
  from = in.subspan(h->payload_length);
  return payload;
}

Result<std::uint64_t> decode_uint64(ByteView& from) noexcept {
  ByteView in = from;
  auto s = decode_string(in);
  if (!s)
    return s.error();
  if (s->size() > 8)
    return make_error(RlpError::kOverflow);
  if (!s->empty() && (*s)[0] == 0)
    return make_error(RlpError::kLeadingZero);
  std::uint64_t v = 0;
  for (std::uint8_t b : *s)
    v = (v << 8) | b;
  from = in;
  return v;
}

Result<U256> decode_u256(ByteView& from) noexcept {
  ByteView in = from;
  auto s = decode_string(in);
  if (!s)
    return s.error();
  if (s->size() > 32)
    return make_error(RlpError::kOverflow);
  if (!s->empty() && (*s)[0] == 0)
    return make_error(RlpError::kLeadingZero);
  from = in;
  return U256::from_be(*s);
}

Result<void> expect_end(ByteView rest) noexcept {
  if (!rest.empty())
    return make_error(RlpError::kTrailingBytes);
  return {};
}

Result<Item> decode(ByteView input) noexcept {
  auto item = decode_item(input, 0);
  if (!item)
    return item;
  if (!input.empty())
    return make_error(RlpError::kTrailingBytes);
  return item;
}

Bytes encode(const Item& item) {
  if (!item.is_list) {
    Bytes out;
    encode_string(out, item.string);
    return out;
  }
  ListEncoder list;
  for (const Item& child : item.items)
    list.add_raw(encode(child));
  return list.list();
}

}  // namespace rlp
}  // namespace br2k::eth
