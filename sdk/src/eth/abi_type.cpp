// ABI type strings and signatures: parsing and canonical form.
// https://docs.soliditylang.org/en/latest/abi-spec.html#types
#include <algorithm>
#include <br2k/eth/abi_type.hpp>
#include <limits>
#include <optional>

namespace br2k::eth {

std::string_view to_string(AbiError e) noexcept {
  switch (e) {
    case AbiError::kBadType:
      return "bad type";
    case AbiError::kBadSignature:
      return "bad signature";
    case AbiError::kTypeMismatch:
      return "value does not match its type";
    case AbiError::kValueOutOfRange:
      return "value out of range for its type";
    case AbiError::kInputTooShort:
      return "input too short";
    case AbiError::kOffsetOutOfBounds:
      return "offset out of bounds";
    case AbiError::kLengthOutOfBounds:
      return "length out of bounds";
    case AbiError::kDirtyBits:
      return "dirty high-order or padding bits";
    case AbiError::kTooDeep:
      return "types nested too deep";
    case AbiError::kExpansionLimit:
      return "offsets reuse data beyond the expansion limit";
    case AbiError::kSelectorMismatch:
      return "selector mismatch";
  }
  return "unknown error";
}

Error make_error(AbiError e, std::string_view context) {
  std::string detail = "abi: ";
  detail += to_string(e);
  if (!context.empty()) {
    detail += ": ";
    detail += context;
  }
  return Error(Errc::kInvalidArgument, std::move(detail));
}

bool is_error(const Error& e, AbiError which) noexcept {
  constexpr std::string_view kPrefix = "abi: ";
  std::string_view d = e.detail;
  if (!e.is(Errc::kInvalidArgument) || !d.starts_with(kPrefix))
    return false;
  d.remove_prefix(kPrefix.size());
  std::string_view name = to_string(which);
  return d.starts_with(name) &&
         (d.size() == name.size() || d.substr(name.size()).starts_with(": "));
}

namespace abi {
namespace {

std::size_t saturating_mul(std::size_t a, std::size_t b) noexcept {
  if (a != 0 && b > std::numeric_limits<std::size_t>::max() / a)
    return std::numeric_limits<std::size_t>::max();
  return a * b;
}

std::size_t saturating_add(std::size_t a, std::size_t b) noexcept {
  return b > std::numeric_limits<std::size_t>::max() - a ? std::numeric_limits<std::size_t>::max()
                                                         : a + b;
}

// Levels in the type tree: 1 for an elementary type. The parser's own counter bounds its
// recursion; this bounds what the encoder and decoder will recurse through.
std::size_t nesting_depth(const Type& t) noexcept {
  std::size_t deepest = 0;
  for (const Type& c : t.components)
    deepest = std::max(deepest, nesting_depth(c));
  return deepest + 1;
}

bool is_digit(char c) noexcept {
  return c >= '0' && c <= '9';
}
bool is_ident_start(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '$';
}
bool is_ident_char(char c) noexcept {
  return is_ident_start(c) || is_digit(c);
}
bool is_space(char c) noexcept {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

// Recursive descent over a type or signature string. Every error carries the offending text.
class Parser {
 public:
  explicit Parser(std::string_view text) : text_(text) {}

  bool at_end() const noexcept { return pos_ == text_.size(); }
  char peek() const noexcept { return at_end() ? '\0' : text_[pos_]; }
  bool consume(char c) noexcept {
    if (peek() != c)
      return false;
    ++pos_;
    return true;
  }
  void skip_space() noexcept {
    while (!at_end() && is_space(text_[pos_]))
      ++pos_;
  }
  std::string_view identifier() noexcept {
    std::size_t start = pos_;
    if (!at_end() && is_ident_start(text_[pos_]))
      while (!at_end() && is_ident_char(text_[pos_]))
        ++pos_;
    return text_.substr(start, pos_ - start);
  }

  Error type_error(std::string_view why) const {
    return make_error(AbiError::kBadType, std::string(why) + " in \"" + std::string(text_) + "\"");
  }

  // type := ( "(" [type ("," type)*] ")" | elementary ) ("[" [digits] "]")*
  Result<Type> type(std::size_t depth) {
    if (depth >= kMaxDepth)
      return make_error(AbiError::kTooDeep, text_);
    Type t;
    if (consume('(')) {
      t.kind = Type::Kind::kTuple;
      t.size = 0;
      if (peek() == ')')
        return type_error("empty tuple");
      do {
        auto member = type(depth + 1);
        if (!member)
          return member.error();
        t.components.push_back(std::move(*member));
      } while (consume(','));
      if (!consume(')'))
        return type_error("unterminated tuple");
    } else {
      auto e = elementary(identifier());
      if (!e)
        return e.error();
      t = std::move(*e);
    }
    // Each array suffix wraps the type once more.
    while (consume('[')) {
      if (++depth >= kMaxDepth)
        return make_error(AbiError::kTooDeep, text_);
      if (consume(']')) {
        t = Type::array(std::move(t));
        continue;
      }
      auto n = number();
      if (!n || *n == 0 || *n > kMaxFixedArrayLength || !consume(']'))
        return type_error("bad array length");
      t = Type::fixed_array(std::move(t), *n);
    }
    return t;
  }

 private:
  // Decimal digits without a leading zero; nullopt when absent or too long.
  std::optional<std::size_t> number() noexcept {
    std::size_t start = pos_;
    while (!at_end() && is_digit(text_[pos_]))
      ++pos_;
    std::string_view digits = text_.substr(start, pos_ - start);
    if (digits.empty() || digits.size() > 9 || (digits.size() > 1 && digits[0] == '0'))
      return std::nullopt;
    std::size_t n = 0;
    for (char c : digits)
      n = n * 10 + static_cast<std::size_t>(c - '0');
    return n;
  }

  Result<Type> elementary(std::string_view name) {
    if (name == "address")
      return Type::address();
    if (name == "bool")
      return Type::boolean();
    if (name == "string")
      return Type::string();
    if (name == "bytes")
      return Type::bytes();
    if (name == "uint")
      return Type::unsigned_int(256);
    if (name == "int")
      return Type::signed_int(256);
    // uint<N>, int<N>, bytes<N>: the suffix is a number without leading zeros.
    for (std::string_view prefix : {"uint", "int", "bytes"}) {
      if (!name.starts_with(prefix))
        continue;
      std::string_view digits = name.substr(prefix.size());
      std::size_t n = 0;
      bool ok = !digits.empty() && digits.size() <= 3 && digits[0] != '0';
      for (char c : digits) {
        ok = ok && is_digit(c);
        n = n * 10 + static_cast<std::size_t>(c - '0');
      }
      if (!ok)
        break;
      if (prefix == "bytes") {
        if (n >= 1 && n <= 32)
          return Type::fixed_bytes(n);
      } else if (n >= 8 && n <= 256 && n % 8 == 0) {
        return prefix == "uint" ? Type::unsigned_int(n) : Type::signed_int(n);
      }
      break;
    }
    return type_error(name.empty() ? "missing type" : "unknown type \"" + std::string(name) + "\"");
  }

  std::string_view text_;
  std::size_t pos_ = 0;
};

}  // namespace

namespace {

bool valid_at(const Type& t, std::size_t depth) noexcept {
  if (depth > kMaxDepth)
    return false;
  switch (t.kind) {
    case Type::Kind::kUint:
    case Type::Kind::kInt:
      return t.components.empty() && t.size >= 8 && t.size <= 256 && t.size % 8 == 0;
    case Type::Kind::kFixedBytes:
      return t.components.empty() && t.size >= 1 && t.size <= 32;
    case Type::Kind::kAddress:
    case Type::Kind::kBool:
    case Type::Kind::kBytes:
    case Type::Kind::kString:
      return t.components.empty();
    case Type::Kind::kFixedArray:
      if (t.size == 0)
        return false;
      [[fallthrough]];
    case Type::Kind::kArray:
      return t.components.size() == 1 && valid_at(t.components.front(), depth + 1);
    case Type::Kind::kTuple:
      for (const Type& c : t.components)
        if (!valid_at(c, depth + 1))
          return false;
      return true;
  }
  return false;
}

}  // namespace

bool Type::valid() const noexcept {
  return valid_at(*this, 1);
}

bool Type::is_dynamic() const noexcept {
  switch (kind) {
    case Kind::kBytes:
    case Kind::kString:
    case Kind::kArray:
      return true;
    case Kind::kFixedArray:
      return components.front().is_dynamic();
    case Kind::kTuple:
      for (const Type& c : components)
        if (c.is_dynamic())
          return true;
      return false;
    default:
      return false;
  }
}

std::size_t Type::head_size() const noexcept {
  if (is_dynamic())
    return 32;
  switch (kind) {
    case Kind::kFixedArray:
      return saturating_mul(size, components.front().head_size());
    case Kind::kTuple: {
      std::size_t total = 0;
      for (const Type& c : components)
        total = saturating_add(total, c.head_size());
      return total;
    }
    default:
      return 32;
  }
}

std::string Type::canonical() const {
  switch (kind) {
    case Kind::kUint:
      return "uint" + std::to_string(size);
    case Kind::kInt:
      return "int" + std::to_string(size);
    case Kind::kAddress:
      return "address";
    case Kind::kBool:
      return "bool";
    case Kind::kFixedBytes:
      return "bytes" + std::to_string(size);
    case Kind::kBytes:
      return "bytes";
    case Kind::kString:
      return "string";
    case Kind::kArray:
      return components.front().canonical() + "[]";
    case Kind::kFixedArray:
      return components.front().canonical() + "[" + std::to_string(size) + "]";
    case Kind::kTuple: {
      std::string s = "(";
      for (std::size_t i = 0; i < components.size(); ++i) {
        if (i > 0)
          s += ',';
        s += components[i].canonical();
      }
      return s + ")";
    }
  }
  return "?";
}

Result<Type> parse_type(std::string_view text) noexcept {
  Parser p(text);
  auto t = p.type(0);
  if (!t)
    return t;
  if (!p.at_end())
    return p.type_error("unexpected characters");
  if (nesting_depth(*t) > kMaxDepth)
    return make_error(AbiError::kTooDeep, text);
  return t;
}

std::string Signature::canonical() const {
  std::string s = name + "(";
  for (std::size_t i = 0; i < params.size(); ++i) {
    if (i > 0)
      s += ',';
    s += params[i].type.canonical();
  }
  return s + ")";
}

std::vector<Type> Signature::types() const {
  std::vector<Type> out;
  out.reserve(params.size());
  for (const Param& p : params)
    out.push_back(p.type);
  return out;
}

Selector Signature::selector() const {
  Hash h = topic();
  return {h[0], h[1], h[2], h[3]};
}

Hash Signature::topic() const {
  return keccak256(std::string_view(canonical()));
}

Result<Signature> parse_signature(std::string_view text) noexcept {
  auto bad = [&](std::string_view why) {
    return make_error(AbiError::kBadSignature,
                      std::string(why) + " in \"" + std::string(text) + "\"");
  };
  Parser p(text);
  p.skip_space();
  Signature sig;
  sig.name = std::string(p.identifier());
  if (sig.name.empty())
    return bad("missing name");
  p.skip_space();
  if (!p.consume('('))
    return bad("missing '('");
  p.skip_space();
  if (!p.consume(')')) {
    do {
      p.skip_space();
      auto t = p.type(0);
      if (!t)
        return t.error();
      if (nesting_depth(*t) > kMaxDepth)
        return make_error(AbiError::kTooDeep, text);
      Param param{std::move(*t), {}, false};
      // Up to two words after the type: "indexed" and/or a name.
      for (int word = 0; word < 2; ++word) {
        p.skip_space();
        std::string_view ident = p.identifier();
        if (ident.empty())
          break;
        if (ident == "indexed" && word == 0 && param.name.empty()) {
          param.indexed = true;
        } else if (param.name.empty()) {
          param.name = std::string(ident);
        } else {
          return bad("unexpected word after a parameter");
        }
      }
      sig.params.push_back(std::move(param));
      p.skip_space();
    } while (p.consume(','));
    if (!p.consume(')'))
      return bad("missing ')'");
  }
  p.skip_space();
  if (!p.at_end())
    return bad("unexpected characters after ')'");
  return sig;
}

}  // namespace abi
}  // namespace br2k::eth
