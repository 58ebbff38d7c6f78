// Parsing of a Solidity JSON ABI into signatures.
//
// https://docs.soliditylang.org/en/latest/abi-spec.html#json
#include <br2k/registry/artifacts.hpp>
#include <nlohmann/json.hpp>
#include <stdexcept>

namespace br2k::registry {
namespace {

using nlohmann::json;

Error bad(std::string what) {
  return {Errc::kInvalidArgument, "contract ABI: " + std::move(what)};
}

// A JSON ABI parameter's type as a type string: "tuple[]" with components becomes "(..)[]".
Result<std::string> type_string(const json& param) {
  if (!param.is_object() || !param.contains("type") || !param["type"].is_string())
    return bad("parameter without a type");
  std::string type = param["type"].get<std::string>();
  if (type.rfind("tuple", 0) != 0)
    return type;
  if (!param.contains("components") || !param["components"].is_array())
    return bad("tuple without components");
  std::string inner = "(";
  bool first = true;
  for (const auto& c : param["components"]) {
    auto t = type_string(c);
    if (!t)
      return t.error();
    if (!first)
      inner += ',';
    inner += *t;
    first = false;
  }
  inner += ')';
  return inner + type.substr(5);  // the array suffix, if any
}

// "name(type name, type indexed name, ...)" for parse_signature, keeping names for display.
Result<eth::abi::Signature> signature_of(const json& entry, const char* list) {
  if (!entry.contains("name") || !entry["name"].is_string())
    return bad("entry without a name");
  std::string text = entry["name"].get<std::string>() + "(";
  if (entry.contains(list)) {
    if (!entry[list].is_array())
      return bad(std::string(list) + " is not a list");
    bool first = true;
    for (const auto& p : entry[list]) {
      auto t = type_string(p);
      if (!t)
        return t.error();
      if (!first)
        text += ", ";
      text += *t;
      if (p.value("indexed", false))
        text += " indexed";
      if (auto name = p.value("name", std::string()); !name.empty())
        text += " " + name;
      first = false;
    }
  }
  text += ")";
  auto sig = eth::abi::parse_signature(text);
  if (!sig)
    return bad(text + ": " + sig.error().detail);
  return std::move(*sig);
}

}  // namespace

Result<ContractAbi> ContractAbi::parse(std::string_view abi_json) {
  json doc = json::parse(abi_json, nullptr, false);
  if (doc.is_discarded() || !doc.is_array())
    return bad("not a JSON array");
  ContractAbi abi;
  for (const auto& entry : doc) {
    if (!entry.is_object() || !entry.contains("type") || !entry["type"].is_string())
      return bad("entry without a type");
    const auto kind = entry["type"].get<std::string>();
    if (kind == "function") {
      Function f;
      auto sig = signature_of(entry, "inputs");
      if (!sig)
        return sig.error();
      f.signature = std::move(*sig);
      json outputs_entry = {{"name", "outputs"},
                            {"outputs", entry.value("outputs", json::array())}};
      auto outputs = signature_of(outputs_entry, "outputs");
      if (!outputs)
        return outputs.error();
      f.outputs = outputs->types();
      auto mutability = entry.value("stateMutability", std::string());
      f.view = mutability == "view" || mutability == "pure";
      auto name = f.signature.name;
      if (!abi.functions_.emplace(name, std::move(f)).second)
        return bad("overloaded " + name);
    } else if (kind == "event") {
      auto sig = signature_of(entry, "inputs");
      if (!sig)
        return sig.error();
      auto name = sig->name;
      if (!abi.events_.emplace(name, std::move(*sig)).second)
        return bad("overloaded " + name);
    } else if (kind == "error") {
      auto sig = signature_of(entry, "inputs");
      if (!sig)
        return sig.error();
      abi.errors_.push_back(std::move(*sig));
    }
    // constructor, fallback, receive: nothing to look up.
  }
  return abi;
}

const Function* ContractAbi::function(std::string_view name) const {
  auto it = functions_.find(name);
  return it == functions_.end() ? nullptr : &it->second;
}

const eth::abi::Signature* ContractAbi::event(std::string_view name) const {
  auto it = events_.find(name);
  return it == events_.end() ? nullptr : &it->second;
}

const ContractAbi& service_registry_abi() {
  static const ContractAbi abi = [] {
    auto parsed = ContractAbi::parse(service_registry_artifacts().abi_json);
    if (!parsed)
      throw std::logic_error("embedded ServiceRegistry ABI: " + parsed.error().message());
    return std::move(*parsed);
  }();
  return abi;
}

}  // namespace br2k::registry
