// Revert data: Error(string), Panic(uint256) and custom errors.
// https://docs.soliditylang.org/en/latest/control-structures.html#revert
#include <br2k/eth/revert.hpp>

namespace br2k::eth::abi {
namespace {

Signature builtin(std::string_view name, Type type, std::string_view param) {
  return Signature{std::string(name), {Param{std::move(type), std::string(param), false}}};
}

}  // namespace

std::string_view panic_description(const U256& code) noexcept {
  // https://docs.soliditylang.org/en/latest/control-structures.html#panic-via-assert-and-error-via-require
  auto c = code.to_uint64();
  if (!c)
    return {};
  switch (*c) {
    case 0x00:
      return "generic compiler-inserted panic";
    case 0x01:
      return "assertion failed";
    case 0x11:
      return "arithmetic overflow or underflow";
    case 0x12:
      return "division or modulo by zero";
    case 0x21:
      return "invalid enum value";
    case 0x22:
      return "incorrectly encoded storage byte array";
    case 0x31:
      return "pop() on an empty array";
    case 0x32:
      return "array index out of bounds";
    case 0x41:
      return "too much memory allocated";
    case 0x51:
      return "call to a zero-initialized internal function";
    default:
      return {};
  }
}

Result<Revert> decode_revert(ByteView data, std::span<const Signature> custom_errors) noexcept {
  Revert r;
  r.data.assign(data.begin(), data.end());
  if (data.empty())
    return r;
  if (data.size() < 4) {
    r.kind = Revert::Kind::kUnknown;
    return r;
  }
  Selector selector = {data[0], data[1], data[2], data[3]};
  if (selector == kErrorSelector) {
    r.kind = Revert::Kind::kError;
    r.signature = builtin("Error", Type::string(), "reason");
  } else if (selector == kPanicSelector) {
    r.kind = Revert::Kind::kPanic;
    r.signature = builtin("Panic", Type::unsigned_int(256), "code");
  } else {
    r.kind = Revert::Kind::kUnknown;
    for (const Signature& e : custom_errors) {
      if (e.selector() == selector) {
        r.kind = Revert::Kind::kCustom;
        r.signature = e;
        break;
      }
    }
    if (r.kind == Revert::Kind::kUnknown)
      return r;
  }
  auto args = decode(r.signature.types(), data.subspan(4));
  if (!args)
    return args.error();
  r.args = std::move(*args);
  if (r.kind == Revert::Kind::kError)
    r.reason = r.args[0].get<std::string>();
  if (r.kind == Revert::Kind::kPanic)
    r.panic_code = r.args[0].get<U256>();
  return r;
}

std::string Revert::describe() const {
  switch (kind) {
    case Kind::kEmpty:
      return "no revert data";
    case Kind::kUnknown:
      return "unknown revert data 0x" + to_hex(data);
    case Kind::kPanic: {
      std::string s = "Panic(" + panic_code.to_hex();
      std::string_view what = panic_description(panic_code);
      if (!what.empty()) {
        s += ": ";
        s += what;
      }
      return s + ")";
    }
    case Kind::kError:
    case Kind::kCustom:
      break;
  }
  std::string s = signature.name + "(";
  for (std::size_t i = 0; i < args.size() && i < signature.params.size(); ++i) {
    if (i > 0)
      s += ", ";
    const Param& p = signature.params[i];
    if (kind == Kind::kCustom && !p.name.empty())
      s += p.name + "=";
    s += to_string(args[i], p.type);
  }
  return s + ")";
}

}  // namespace br2k::eth::abi
