// ABI encoding, selectors and value formatting.
// https://docs.soliditylang.org/en/latest/abi-spec.html#formal-specification-of-the-encoding
#include <br2k/eth/abi.hpp>

namespace br2k::eth::abi {
namespace {

using Kind = Type::Kind;

void append_word(Bytes& out, const U256& w) {
  out.insert(out.end(), w.bytes.begin(), w.bytes.end());
}

void append_padded(Bytes& out, ByteView b) {
  out.insert(out.end(), b.begin(), b.end());
  out.resize(out.size() + (32 - b.size() % 32) % 32, 0);
}

// Whether the 32-byte word is a valid uint<bits> (unsigned) or int<bits> (signed): every byte
// above the low bits/8 is 0, or for int<N> a copy of the sign bit.
bool fits(const U256& w, std::size_t bits, bool is_signed) noexcept {
  std::size_t high = 32 - bits / 8;  // bytes that must be filler
  std::uint8_t fill = 0;
  if (is_signed && high < 32 && (w.bytes[high] & 0x80) != 0)
    fill = 0xff;
  for (std::size_t i = 0; i < high; ++i)
    if (w.bytes[i] != fill)
      return false;
  return true;
}

Error mismatch(const Type& t, std::string_view what) {
  return make_error(AbiError::kTypeMismatch, t.canonical() + " given " + std::string(what));
}

std::string_view kind_name(const Value& v) noexcept {
  switch (v.data.index()) {
    case 0:
      return "a number";
    case 1:
      return "an address";
    case 2:
      return "a bool";
    case 3:
      return "bytes";
    case 4:
      return "a string";
    default:
      return "a list";
  }
}

Result<void> encode_value(const Type& t, const Value& v, Bytes& out, std::size_t depth);

// enc((v1, ..., vn)) where type i is types[repeat ? 0 : i]; appends to `out`.
Result<void> encode_sequence(const Type* types, bool repeat, const Value::List& values, Bytes& out,
                             std::size_t depth) {
  std::size_t head = 0;
  for (std::size_t i = 0; i < values.size(); ++i)
    head += types[repeat ? 0 : i].head_size();
  Bytes tail;
  for (std::size_t i = 0; i < values.size(); ++i) {
    const Type& t = types[repeat ? 0 : i];
    if (t.is_dynamic()) {
      append_word(out, U256::from_uint64(head + tail.size()));
      auto r = encode_value(t, values[i], tail, depth + 1);
      if (!r)
        return r;
    } else {
      auto r = encode_value(t, values[i], out, depth + 1);
      if (!r)
        return r;
    }
  }
  out.insert(out.end(), tail.begin(), tail.end());
  return {};
}

Result<void> encode_value(const Type& t, const Value& v, Bytes& out, std::size_t depth) {
  if (depth > kMaxDepth)
    return make_error(AbiError::kTooDeep);
  switch (t.kind) {
    case Kind::kUint:
    case Kind::kInt: {
      const U256* w = v.get_if<U256>();
      if (!w)
        return mismatch(t, kind_name(v));
      if (!fits(*w, t.size, t.kind == Kind::kInt))
        return make_error(AbiError::kValueOutOfRange, t.canonical());
      append_word(out, *w);
      return {};
    }
    case Kind::kAddress: {
      const Address* a = v.get_if<Address>();
      if (!a)
        return mismatch(t, kind_name(v));
      out.resize(out.size() + 12, 0);
      out.insert(out.end(), a->begin(), a->end());
      return {};
    }
    case Kind::kBool: {
      const bool* b = v.get_if<bool>();
      if (!b)
        return mismatch(t, kind_name(v));
      append_word(out, U256::from_uint64(*b ? 1 : 0));
      return {};
    }
    case Kind::kFixedBytes: {
      const Bytes* b = v.get_if<Bytes>();
      if (!b)
        return mismatch(t, kind_name(v));
      if (b->size() != t.size)
        return make_error(AbiError::kValueOutOfRange,
                          t.canonical() + " given " + std::to_string(b->size()) + " bytes");
      append_padded(out, *b);
      return {};
    }
    case Kind::kBytes:
    case Kind::kString: {
      ByteView b;
      if (t.kind == Kind::kBytes && v.get_if<Bytes>())
        b = v.get<Bytes>();
      else if (t.kind == Kind::kString && v.get_if<std::string>())
        b = as_bytes(v.get<std::string>());
      else
        return mismatch(t, kind_name(v));
      append_word(out, U256::from_uint64(b.size()));
      append_padded(out, b);
      return {};
    }
    case Kind::kArray:
    case Kind::kFixedArray:
    case Kind::kTuple: {
      const Value::List* list = v.get_if<Value::List>();
      if (!list)
        return mismatch(t, kind_name(v));
      if (t.kind == Kind::kTuple && list->size() != t.components.size())
        return mismatch(t, std::to_string(list->size()) + " values");
      if (t.kind == Kind::kFixedArray && list->size() != t.size)
        return mismatch(t, std::to_string(list->size()) + " elements");
      if (t.kind == Kind::kArray)
        append_word(out, U256::from_uint64(list->size()));
      return encode_sequence(t.components.data(), t.kind != Kind::kTuple, *list, out, depth);
    }
  }
  return mismatch(t, "an unknown type");
}

void append_quoted(std::string& out, std::string_view s) {
  static constexpr char kDigits[] = "0123456789abcdef";
  out += '"';
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20 || u == 0x7f) {
      out += "\\x";
      out += kDigits[u >> 4];
      out += kDigits[u & 0x0f];
    } else {
      out += c;
    }
  }
  out += '"';
}

}  // namespace

Selector function_selector(std::string_view signature) noexcept {
  Hash h = keccak256(signature);
  return {h[0], h[1], h[2], h[3]};
}

Hash event_topic(std::string_view signature) noexcept {
  return keccak256(signature);
}

Result<Bytes> encode(const std::vector<Type>& types, const std::vector<Value>& values) {
  if (types.size() != values.size())
    return make_error(AbiError::kTypeMismatch, std::to_string(types.size()) + " types given " +
                                                   std::to_string(values.size()) + " values");
  for (const Type& t : types)
    if (!t.valid())
      return make_error(AbiError::kBadType, "malformed Type value");
  Bytes out;
  auto r = encode_sequence(types.data(), false, values, out, 0);
  if (!r)
    return r.error();
  return out;
}

Result<Bytes> encode_call(const Selector& selector, const std::vector<Type>& types,
                          const std::vector<Value>& values) {
  auto args = encode(types, values);
  if (!args)
    return args;
  Bytes out(selector.begin(), selector.end());
  out.insert(out.end(), args->begin(), args->end());
  return out;
}

Result<Bytes> encode_call(std::string_view signature, const std::vector<Value>& values) {
  auto sig = parse_signature(signature);
  if (!sig)
    return sig.error();
  return encode_call(sig->selector(), sig->types(), values);
}

std::string to_string(const Value& value, const Type& type) {
  if (!type.valid())
    return "?";
  switch (type.kind) {
    case Kind::kUint:
    case Kind::kInt: {
      const U256* w = value.get_if<U256>();
      if (!w)
        break;
      if (type.kind == Kind::kUint || !w->is_negative())
        return w->to_decimal();
      U256 magnitude;  // two's complement negation: invert, add one
      unsigned carry = 1;
      for (int i = 31; i >= 0; --i) {
        unsigned b = static_cast<std::uint8_t>(~w->bytes[i]) + carry;
        magnitude.bytes[i] = static_cast<std::uint8_t>(b);
        carry = b >> 8;
      }
      return "-" + magnitude.to_decimal();
    }
    case Kind::kAddress:
      if (const Address* a = value.get_if<Address>())
        return to_checksum_address(*a);
      break;
    case Kind::kBool:
      if (const bool* b = value.get_if<bool>())
        return *b ? "true" : "false";
      break;
    case Kind::kFixedBytes:
    case Kind::kBytes:
      if (const Bytes* b = value.get_if<Bytes>())
        return "0x" + to_hex(*b);
      break;
    case Kind::kString:
      if (const std::string* s = value.get_if<std::string>()) {
        std::string out;
        append_quoted(out, *s);
        return out;
      }
      break;
    case Kind::kArray:
    case Kind::kFixedArray:
    case Kind::kTuple: {
      const Value::List* list = value.get_if<Value::List>();
      if (!list || (type.kind == Kind::kTuple && list->size() != type.components.size()))
        break;
      bool tuple = type.kind == Kind::kTuple;
      std::string out = tuple ? "(" : "[";
      for (std::size_t i = 0; i < list->size(); ++i) {
        if (i > 0)
          out += ", ";
        out += to_string((*list)[i], type.components[tuple ? i : 0]);
      }
      return out + (tuple ? ")" : "]");
    }
  }
  return "?";
}

}  // namespace br2k::eth::abi
