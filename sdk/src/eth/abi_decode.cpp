// ABI decoding of untrusted data.
// https://docs.soliditylang.org/en/latest/abi-spec.html#formal-specification-of-the-encoding
//
// Every read goes through word_at(), which checks the position against the end of the data;
// offsets and lengths are compared with the bytes left before any arithmetic that could overflow
// and before anything is allocated. A well-formed encoding reads each of its words once, so the
// decoder charges every word read, every element of a dynamic array and every 32 bytes copied
// against a budget of a few times the input's size: offsets aimed at the same bytes (legal to
// express, never produced by an encoder) cannot turn kilobytes of input into gigabytes of values.
#include <algorithm>
#include <br2k/eth/abi.hpp>

namespace br2k::eth::abi {
namespace {

using Kind = Type::Kind;

class Decoder {
 public:
  explicit Decoder(ByteView data) : data_(data), budget_(4 * (data.size() / 32) + 64) {}

  // The values of the tuple at `start`: type i is types[repeat ? 0 : i], `count` of them.
  Result<Value::List> sequence(const Type* types, bool repeat, std::size_t count, std::size_t start,
                               std::size_t depth) noexcept {
    Value::List values;
    values.reserve(count);
    std::size_t pos = start;
    for (std::size_t i = 0; i < count; ++i) {
      const Type& t = types[repeat ? 0 : i];
      Result<Value> v;
      if (t.is_dynamic()) {
        auto target = offset_at(pos, start);
        if (!target)
          return target.error();
        v = value(t, *target, depth + 1);
        pos += 32;
      } else {
        v = value(t, pos, depth + 1);
        pos += t.head_size();  // value() has checked that the whole static encoding fits
      }
      if (!v)
        return v.error();
      values.push_back(std::move(*v));
    }
    return values;
  }

 private:
  // The word at `pos`. Errors: kInputTooShort.
  Result<const U256*> word_at(std::size_t pos) noexcept {
    if (pos > data_.size() || data_.size() - pos < 32)
      return make_error(AbiError::kInputTooShort);
    if (!charge(1))
      return make_error(AbiError::kExpansionLimit);
    // U256 is exactly its 32 bytes; copy to stay clear of alignment and aliasing questions.
    std::copy_n(data_.begin() + static_cast<std::ptrdiff_t>(pos), 32, scratch_.bytes.begin());
    return &scratch_;
  }

  // An offset in the head at `pos`, relative to `base`; returns the absolute position it names,
  // which is within the data. Errors: kInputTooShort, kOffsetOutOfBounds.
  Result<std::size_t> offset_at(std::size_t pos, std::size_t base) noexcept {
    auto w = word_at(pos);
    if (!w)
      return w.error();
    auto off = (*w)->to_uint64();
    if (!off || *off > data_.size() - base)
      return make_error(AbiError::kOffsetOutOfBounds);
    return base + static_cast<std::size_t>(*off);
  }

  // A length word at `pos`, checked so that length * unit bytes fit after it (unit 0: no check).
  // Errors: kInputTooShort, kLengthOutOfBounds.
  Result<std::size_t> length_at(std::size_t pos, std::size_t unit) noexcept {
    auto w = word_at(pos);
    if (!w)
      return w.error();
    auto n = (*w)->to_uint64();
    std::size_t room = data_.size() - (pos + 32);
    if (!n || (unit != 0 && *n > room / unit))
      return make_error(AbiError::kLengthOutOfBounds);
    return static_cast<std::size_t>(*n);
  }

  Result<Value> value(const Type& t, std::size_t pos, std::size_t depth) noexcept {
    if (depth > kMaxDepth)
      return make_error(AbiError::kTooDeep);
    switch (t.kind) {
      case Kind::kUint:
      case Kind::kInt:
      case Kind::kAddress:
      case Kind::kBool:
      case Kind::kFixedBytes: {
        auto w = word_at(pos);
        if (!w)
          return w.error();
        return word_value(t, **w);
      }
      case Kind::kBytes:
      case Kind::kString: {
        auto n = length_at(pos, 1);
        if (!n)
          return n.error();
        std::size_t padded = *n + (32 - *n % 32) % 32;
        if (padded > data_.size() - (pos + 32))
          return make_error(AbiError::kLengthOutOfBounds);
        if (!charge(padded / 32))
          return make_error(AbiError::kExpansionLimit);
        auto first = data_.begin() + static_cast<std::ptrdiff_t>(pos + 32);
        auto last = first + static_cast<std::ptrdiff_t>(*n);
        if (t.kind == Kind::kBytes)
          return Value(Bytes(first, last));
        return Value(std::string(first, last));
      }
      case Kind::kArray: {
        const Type& element = t.components.front();
        auto n = length_at(pos, element.head_size());
        if (!n)
          return n.error();
        // Before allocating: the length check above cannot bound elements that take no bytes.
        if (!charge(*n))
          return make_error(AbiError::kExpansionLimit);
        auto list = sequence(&element, true, *n, pos + 32, depth);
        if (!list)
          return list.error();
        return Value(std::move(*list));
      }
      case Kind::kFixedArray:
      case Kind::kTuple: {
        // A static one must fit entirely, so the caller may step over it by head_size().
        if (!t.is_dynamic() && (pos > data_.size() || t.head_size() > data_.size() - pos))
          return make_error(AbiError::kInputTooShort);
        bool fixed = t.kind == Kind::kFixedArray;
        auto list =
            sequence(t.components.data(), fixed, fixed ? t.size : t.components.size(), pos, depth);
        if (!list)
          return list.error();
        return Value(std::move(*list));
      }
    }
    return make_error(AbiError::kTypeMismatch, "unknown type");
  }

  bool charge(std::size_t units) noexcept {
    if (units > budget_)
      return false;
    budget_ -= units;
    return true;
  }

  ByteView data_;
  std::size_t budget_;
  U256 scratch_;

 public:
  // One 32-byte word as a value type, refusing bits the type leaves clear.
  static Result<Value> word_value(const Type& t, const U256& w) noexcept {
    auto all_equal = [&](std::size_t from, std::size_t to, std::uint8_t fill) {
      for (std::size_t i = from; i < to; ++i)
        if (w.bytes[i] != fill)
          return false;
      return true;
    };
    switch (t.kind) {
      case Kind::kUint:
        if (!all_equal(0, 32 - t.size / 8, 0))
          return make_error(AbiError::kDirtyBits, t.canonical());
        return Value(w);
      case Kind::kInt: {
        std::size_t high = 32 - t.size / 8;
        std::uint8_t fill = (high < 32 && (w.bytes[high] & 0x80)) ? 0xff : 0x00;
        if (!all_equal(0, high, fill))
          return make_error(AbiError::kDirtyBits, t.canonical());
        return Value(w);
      }
      case Kind::kAddress: {
        if (!all_equal(0, 12, 0))
          return make_error(AbiError::kDirtyBits, "address");
        Address a;
        std::copy(w.bytes.begin() + 12, w.bytes.end(), a.begin());
        return Value(a);
      }
      case Kind::kBool:
        if (!all_equal(0, 31, 0) || w.bytes[31] > 1)
          return make_error(AbiError::kDirtyBits, "bool");
        return Value(w.bytes[31] == 1);
      case Kind::kFixedBytes:
        if (!all_equal(t.size, 32, 0))
          return make_error(AbiError::kDirtyBits, t.canonical());
        return Value(Bytes(w.bytes.begin(), w.bytes.begin() + static_cast<std::ptrdiff_t>(t.size)));
      default:
        return make_error(AbiError::kTypeMismatch, t.canonical() + " is not a value type");
    }
  }
};

}  // namespace

Result<std::vector<Value>> decode(const std::vector<Type>& types, ByteView data) noexcept {
  for (const Type& t : types)
    if (!t.valid())
      return make_error(AbiError::kBadType, "malformed Type value");
  return Decoder(data).sequence(types.data(), false, types.size(), 0, 0);
}

Result<std::vector<Value>> decode_call(const Selector& selector, const std::vector<Type>& types,
                                       ByteView data) noexcept {
  if (data.size() < selector.size())
    return make_error(AbiError::kInputTooShort, "no selector");
  if (!std::equal(selector.begin(), selector.end(), data.begin()))
    return make_error(AbiError::kSelectorMismatch);
  return decode(types, data.subspan(selector.size()));
}

Result<Value> decode_topic(const Type& type, const Hash& topic) noexcept {
  if (!type.valid())
    return make_error(AbiError::kBadType, "malformed Type value");
  U256 w;
  w.bytes = topic;
  switch (type.kind) {
    case Kind::kUint:
    case Kind::kInt:
    case Kind::kAddress:
    case Kind::kBool:
    case Kind::kFixedBytes:
      return Decoder::word_value(type, w);
    default:
      return Value(Bytes(topic.begin(), topic.end()));
  }
}

}  // namespace br2k::eth::abi
