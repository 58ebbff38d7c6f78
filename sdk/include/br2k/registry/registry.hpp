// Typed client of the ServiceRegistry contract (contracts/src/ServiceRegistry.sol).
//
// Views go through eth_call on any configured endpoint; state-changing calls are transactions
// signed by the TxSender given (none: a read-only client, whose writes fail with
// kInvalidArgument). Every refusal by the contract comes back as Errc::kReverted with the decoded
// custom error, e.g. "StaleEpoch(id=0x.., given=3, current=5)"; branch on it with
// chain::revert_name(error) == "StaleEpoch". An unknown service is kNotFound for the views.
//
// Thread-safety: as the Rpc and TxSender it uses (one single-threaded executor).
#pragma once

#include <br2k/chain/rpc.hpp>
#include <br2k/chain/tx_sender.hpp>
#include <br2k/chain/types.hpp>
#include <br2k/eth/abi.hpp>
#include <br2k/registry/artifacts.hpp>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace br2k::registry {

using chain::Address;
using chain::Hash;

// A service id is the contract's bytes32.
using ServiceId = Hash;

// "0x" and 64 hex digits: those bytes; otherwise a text of at most 32 bytes, left-aligned and
// zero-padded (as Solidity's bytes32("my-service")). Errors: kInvalidArgument (empty, too long).
Result<ServiceId> parse_service_id(std::string_view text);
// The text form when the id is printable text padded with zeros, else 0x-hex.
std::string to_string(const ServiceId& id);

struct Location {
  std::string url;
  std::uint64_t epoch = 0;
  friend bool operator==(const Location&, const Location&) = default;
};

// The whole record, as getService returns it.
struct ServiceRecord {
  Address provider{};
  std::uint64_t location_epoch = 0;
  std::string location;
  std::string name;
  std::string description;
  std::vector<Address> managers;
  std::string image;
  Hash image_digest{};
  std::uint64_t backup_version = 0;
  Hash snapshot_hash{};
  std::string backup_storage_location;
  Bytes backup_log;
};

struct Registration {
  ServiceId id{};
  std::string name;
  std::string description;
  std::string location;
  std::string image;
  Hash image_digest{};
};

// Events a watcher delivers. `log` is where the event sits on chain (block, log index, removed).
struct NewLocationEvent {
  ServiceId id{};
  std::string location;
  std::uint64_t epoch = 0;
};
struct ClaimEvent {
  ServiceId id{};
  std::string failed_location;
  Address claimer{};
  std::uint64_t failed_epoch = 0;
  std::string reason;
};
struct Event {
  std::variant<NewLocationEvent, ClaimEvent> body;
  chain::Log log;
};

// Decodes a NewLocation or Claim log of the registry. Errors: kNotFound for a log of another event,
// kMalformedReply for a log that does not decode.
Result<Event> decode_event(const chain::Log& log);
// Topic 0 of NewLocation and Claim.
const Hash& new_location_topic();
const Hash& claim_topic();

class RegistryClient {
 public:
  // `sender` may be null (read-only). Both must outlive the client.
  RegistryClient(chain::Rpc& rpc, Address contract, chain::TxSender* sender = nullptr);

  const Address& contract() const { return contract_; }

  // Deploys a new ServiceRegistry from the embedded bytecode; returns its address.
  static Task<Result<Address>> deploy(chain::TxSender& sender, Deadline deadline);

  // Views. Errors: kNotFound (no such service), kReverted, transport errors.
  Task<Result<Location>> get_service_location(ServiceId id, Deadline deadline);
  Task<Result<ServiceRecord>> get_service(ServiceId id, Deadline deadline);
  Task<Result<bool>> is_manager(ServiceId id, Address account, Deadline deadline);

  // Transactions: the receipt once mined. Errors: those of TxSender::transact (kReverted with
  // the contract's custom error, kOutcomeUnknown, ...).
  Task<Result<chain::Receipt>> register_service(Registration registration, Deadline deadline);
  Task<Result<chain::Receipt>> update_location(ServiceId id, std::string location,
                                               std::uint64_t epoch, Deadline deadline);
  Task<Result<chain::Receipt>> update_name(ServiceId id, std::string name, Deadline deadline);
  Task<Result<chain::Receipt>> update_description(ServiceId id, std::string description,
                                                  Deadline deadline);
  Task<Result<chain::Receipt>> update_image(ServiceId id, std::string image, Hash digest,
                                            Deadline deadline);
  Task<Result<chain::Receipt>> add_manager(ServiceId id, Address account, Deadline deadline);
  Task<Result<chain::Receipt>> remove_manager(ServiceId id, Address account, Deadline deadline);
  Task<Result<chain::Receipt>> send_claim(ServiceId id, std::string failed_location,
                                          std::uint64_t failed_epoch, std::string reason,
                                          Deadline deadline);
  Task<Result<chain::Receipt>> store_backup_log(ServiceId id, std::uint64_t version,
                                                Bytes encrypted_log, Hash snapshot_hash,
                                                std::string storage_location, Deadline deadline);

 private:
  Task<Result<std::vector<eth::abi::Value>>> view(std::string_view function,
                                                  std::vector<eth::abi::Value> args,
                                                  Deadline deadline);
  Task<Result<chain::Receipt>> transact(std::string_view function,
                                        std::vector<eth::abi::Value> args, Deadline deadline);

  chain::Rpc& rpc_;
  Address contract_;
  chain::TxSender* sender_;
};

// The contract's custom errors, for TxSenderOptions::custom_errors.
const std::vector<eth::abi::Signature>& registry_errors();

}  // namespace br2k::registry
