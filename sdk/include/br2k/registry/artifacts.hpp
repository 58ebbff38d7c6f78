// The ServiceRegistry contract as the build compiled it, and its parsed ABI.
//
// The ABI and creation bytecode are embedded at build time from the pinned solc's output
// (contracts/CMakeLists.txt, sdk/cmake/embed_registry.cmake), never hand-copied: the typed
// registry client looks every function, event and error up here by name, so a contract change
// that the client does not follow fails loudly (tests/unit/registry) instead of silently.
//
// Thread-safety: immutable after first use; safe from any thread.
#pragma once

#include <br2k/core/error.hpp>
#include <br2k/eth/abi_type.hpp>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace br2k::registry {

struct Artifacts {
  std::string_view abi_json;      // the ABI: a JSON array
  std::string_view bytecode_hex;  // creation bytecode, hex without 0x
};

const Artifacts& service_registry_artifacts();

// One function of an ABI: its signature (with parameter names) and its outputs.
struct Function {
  eth::abi::Signature signature;
  std::vector<eth::abi::Type> outputs;
  bool view = false;  // view or pure
};

// Functions, events and custom errors of a contract ABI, by name (overloads are not used by
// BR2K's contract and are refused).
class ContractAbi {
 public:
  // Errors: kInvalidArgument for JSON that is not a Solidity ABI.
  static Result<ContractAbi> parse(std::string_view abi_json);

  // nullptr when absent.
  const Function* function(std::string_view name) const;
  const eth::abi::Signature* event(std::string_view name) const;
  const std::vector<eth::abi::Signature>& errors() const { return errors_; }
  const std::map<std::string, Function, std::less<>>& functions() const { return functions_; }
  const std::map<std::string, eth::abi::Signature, std::less<>>& events() const { return events_; }

 private:
  std::map<std::string, Function, std::less<>> functions_;
  std::map<std::string, eth::abi::Signature, std::less<>> events_;
  std::vector<eth::abi::Signature> errors_;
};

// The embedded ServiceRegistry ABI, parsed once. Throws std::logic_error if the embedded ABI does
// not parse (a build defect).
const ContractAbi& service_registry_abi();

}  // namespace br2k::registry
