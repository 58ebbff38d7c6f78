// RegistryClient: typed calls of the ServiceRegistry contract. See registry.hpp.
#include <br2k/eth/abi.hpp>
#include <br2k/registry/registry.hpp>
#include <stdexcept>

namespace br2k::registry {
namespace {

using eth::U256;
using eth::abi::Value;
using nlohmann::json;

Value id_value(const ServiceId& id) {
  return Value(Bytes(id.begin(), id.end()));
}

const Function& function_or_throw(std::string_view name) {
  const Function* f = service_registry_abi().function(name);
  // The embedded ABI is the build's own: a missing function is a defect, not bad input.
  if (!f)
    throw std::logic_error("ServiceRegistry ABI has no function " + std::string(name));
  return *f;
}

Result<std::uint64_t> as_u64(const Value& v, std::string_view field) {
  const auto* u = v.get_if<U256>();
  auto small = u ? u->to_uint64() : std::nullopt;
  if (!small)
    return Error(Errc::kMalformedReply, std::string(field) + ": not a uint64");
  return *small;
}

template <class T>
Result<T> as(const Value& v, std::string_view field) {
  const auto* p = v.get_if<T>();
  if (!p)
    return Error(Errc::kMalformedReply, std::string(field) + ": wrong type");
  return *p;
}

Result<Hash> as_hash(const Value& v, std::string_view field) {
  auto b = as<Bytes>(v, field);
  if (!b)
    return b.error();
  if (b->size() != 32)
    return Error(Errc::kMalformedReply, std::string(field) + ": not 32 bytes");
  Hash h;
  std::copy(b->begin(), b->end(), h.begin());
  return h;
}

Hash topic_of(std::string_view event) {
  const auto* sig = service_registry_abi().event(event);
  if (!sig)
    throw std::logic_error("ServiceRegistry ABI has no event " + std::string(event));
  return sig->topic();
}

}  // namespace

Result<ServiceId> parse_service_id(std::string_view text) {
  ServiceId id{};
  if (text.size() == 66 && text.substr(0, 2) == "0x") {
    auto bytes = from_hex(text);
    if (!bytes)
      return Error(Errc::kInvalidArgument, "service id: not hex");
    std::copy(bytes->begin(), bytes->end(), id.begin());
    return id;
  }
  if (text.empty())
    return Error(Errc::kInvalidArgument, "service id: empty");
  if (text.size() > id.size())
    return Error(Errc::kInvalidArgument, "service id: longer than 32 bytes (use 0x and 64 digits)");
  std::copy(text.begin(), text.end(), id.begin());
  return id;
}

std::string to_string(const ServiceId& id) {
  std::size_t n = 0;
  while (n < id.size() && id[n] != 0)
    ++n;
  bool text = n > 0;
  for (std::size_t i = 0; i < id.size(); ++i) {
    if (i < n && (id[i] < 0x21 || id[i] > 0x7e))
      text = false;
    if (i >= n && id[i] != 0)
      text = false;
  }
  if (text)
    return std::string(id.begin(), id.begin() + static_cast<std::ptrdiff_t>(n));
  return chain::hex_hash(id);
}

const Hash& new_location_topic() {
  static const Hash topic = topic_of("NewLocation");
  return topic;
}

const Hash& claim_topic() {
  static const Hash topic = topic_of("Claim");
  return topic;
}

const std::vector<eth::abi::Signature>& registry_errors() {
  return service_registry_abi().errors();
}

Result<Event> decode_event(const chain::Log& log) {
  if (log.topics.empty())
    return Error(Errc::kNotFound, "anonymous log");
  const bool is_location = log.topics[0] == new_location_topic();
  const bool is_claim = log.topics[0] == claim_topic();
  if (!is_location && !is_claim)
    return Error(Errc::kNotFound, "not a NewLocation or Claim log");
  const auto& sig = *service_registry_abi().event(is_location ? "NewLocation" : "Claim");
  std::vector<eth::abi::Type> data_types;
  std::vector<const eth::abi::Param*> indexed;
  for (const auto& p : sig.params) {
    if (p.indexed)
      indexed.push_back(&p);
    else
      data_types.push_back(p.type);
  }
  if (log.topics.size() != indexed.size() + 1)
    return Error(Errc::kMalformedReply, sig.name + ": wrong number of topics");
  auto data = eth::abi::decode(data_types, log.data);
  if (!data)
    return Error(Errc::kMalformedReply, sig.name + ": " + data.error().detail);
  // Rebuild the parameters in declaration order.
  std::vector<Value> values;
  std::size_t next_topic = 1;
  std::size_t next_data = 0;
  for (const auto& p : sig.params) {
    if (p.indexed) {
      auto v = eth::abi::decode_topic(p.type, log.topics[next_topic++]);
      if (!v)
        return Error(Errc::kMalformedReply, sig.name + ": " + v.error().detail);
      values.push_back(std::move(*v));
    } else {
      values.push_back(std::move((*data)[next_data++]));
    }
  }
  Event event;
  event.log = log;
  auto id = as_hash(values[0], "id");
  if (!id)
    return id.error();
  if (is_location) {
    // NewLocation(bytes32 indexed id, string location, uint64 indexed epoch)
    if (values.size() != 3)
      return Error(Errc::kMalformedReply, "NewLocation: arity");
    NewLocationEvent e;
    e.id = *id;
    auto location = as<std::string>(values[1], "location");
    auto epoch = as_u64(values[2], "epoch");
    if (!location)
      return location.error();
    if (!epoch)
      return epoch.error();
    e.location = std::move(*location);
    e.epoch = *epoch;
    event.body = std::move(e);
  } else {
    // Claim(bytes32 indexed id, string failedLocation, address indexed claimer,
    //       uint64 failedEpoch, string reason)
    if (values.size() != 5)
      return Error(Errc::kMalformedReply, "Claim: arity");
    ClaimEvent e;
    e.id = *id;
    auto location = as<std::string>(values[1], "failedLocation");
    auto claimer = as<Address>(values[2], "claimer");
    auto epoch = as_u64(values[3], "failedEpoch");
    auto reason = as<std::string>(values[4], "reason");
    if (!location)
      return location.error();
    if (!claimer)
      return claimer.error();
    if (!epoch)
      return epoch.error();
    if (!reason)
      return reason.error();
    e.failed_location = std::move(*location);
    e.claimer = *claimer;
    e.failed_epoch = *epoch;
    e.reason = std::move(*reason);
    event.body = std::move(e);
  }
  return event;
}

RegistryClient::RegistryClient(chain::Rpc& rpc, Address contract, chain::TxSender* sender)
    : rpc_(rpc), contract_(contract), sender_(sender) {}

Task<Result<Address>> RegistryClient::deploy(chain::TxSender& sender, Deadline deadline) {
  auto code = from_hex(service_registry_artifacts().bytecode_hex);
  if (!code)
    co_return Error(Errc::kInvalidArgument, "embedded bytecode is not hex");
  chain::TxRequest request;
  request.data = std::move(*code);
  request.custom_errors = registry_errors();
  auto receipt = co_await sender.transact(std::move(request), deadline);
  if (!receipt)
    co_return receipt.error();
  if (!receipt->contract_address)
    co_return Error(Errc::kMalformedReply, "deployment receipt without a contract address");
  co_return *receipt->contract_address;
}

Task<Result<std::vector<Value>>> RegistryClient::view(std::string_view name,
                                                      std::vector<Value> args, Deadline deadline) {
  const Function& f = function_or_throw(name);
  auto data = eth::abi::encode_call(f.signature.selector(), f.signature.types(), args);
  if (!data)
    co_return data.error();
  json params = json::array(
      {{{"to", chain::hex_data(contract_)}, {"data", chain::hex_data(*data)}}, "latest"});
  auto reply = co_await rpc_.request("eth_call", std::move(params), deadline);
  if (!reply)
    co_return reply.error();
  if (reply->error) {
    auto e = chain::error_from_rpc(*reply->error, registry_errors(), "eth_call");
    if (chain::revert_name(e) == "UnknownService")
      e.code = make_error_code(Errc::kNotFound);
    co_return e;
  }
  if (!reply->result.is_string())
    co_return Error(Errc::kMalformedReply, "eth_call: result is not a string");
  auto bytes = from_hex(reply->result.get_ref<const std::string&>());
  if (!bytes)
    co_return Error(Errc::kMalformedReply, "eth_call: result is not hex");
  if (bytes->empty())
    co_return Error(Errc::kNotFound, "no contract at " + eth::to_checksum_address(contract_));
  auto values = eth::abi::decode(f.outputs, *bytes);
  if (!values)
    co_return Error(Errc::kMalformedReply, std::string(name) + ": " + values.error().detail);
  co_return std::move(*values);
}

Task<Result<chain::Receipt>> RegistryClient::transact(std::string_view name,
                                                      std::vector<Value> args, Deadline deadline) {
  if (!sender_)
    co_return Error(Errc::kInvalidArgument, std::string(name) + ": read-only registry client");
  const Function& f = function_or_throw(name);
  auto data = eth::abi::encode_call(f.signature.selector(), f.signature.types(), args);
  if (!data)
    co_return data.error();
  chain::TxRequest request;
  request.to = contract_;
  request.data = std::move(*data);
  request.custom_errors = registry_errors();
  co_return co_await sender_->transact(std::move(request), deadline);
}

Task<Result<Location>> RegistryClient::get_service_location(ServiceId id, Deadline deadline) {
  std::vector<Value> args{id_value(id)};
  auto values = co_await view("getServiceLocation", std::move(args), deadline);
  if (!values)
    co_return values.error();
  if (values->size() != 2)
    co_return Error(Errc::kMalformedReply, "getServiceLocation: arity");
  auto url = as<std::string>((*values)[0], "location");
  auto epoch = as_u64((*values)[1], "epoch");
  if (!url)
    co_return url.error();
  if (!epoch)
    co_return epoch.error();
  co_return Location{std::move(*url), *epoch};
}

Task<Result<ServiceRecord>> RegistryClient::get_service(ServiceId id, Deadline deadline) {
  std::vector<Value> args{id_value(id)};
  auto values = co_await view("getService", std::move(args), deadline);
  if (!values)
    co_return values.error();
  const auto* tuple = values->size() == 1 ? (*values)[0].get_if<Value::List>() : nullptr;
  if (!tuple || tuple->size() != 12)
    co_return Error(Errc::kMalformedReply, "getService: arity");
  const auto& t = *tuple;
  ServiceRecord r;
  auto provider = as<Address>(t[0], "provider");
  auto epoch = as_u64(t[1], "locationEpoch");
  auto location = as<std::string>(t[2], "location");
  auto name = as<std::string>(t[3], "name");
  auto description = as<std::string>(t[4], "description");
  auto managers = as<Value::List>(t[5], "managers");
  auto image = as<std::string>(t[6], "image");
  auto digest = as_hash(t[7], "imageDigest");
  auto backup_version = as_u64(t[8], "backupVersion");
  auto snapshot = as_hash(t[9], "snapshotHash");
  auto storage = as<std::string>(t[10], "backupStorageLocation");
  auto log = as<Bytes>(t[11], "backupLog");
  std::optional<Error> bad;
  auto check = [&bad](const auto& field) {
    if (!bad && !field)
      bad = field.error();
  };
  check(provider);
  check(epoch);
  check(location);
  check(name);
  check(description);
  check(managers);
  check(image);
  check(digest);
  check(backup_version);
  check(snapshot);
  check(storage);
  check(log);
  if (bad)
    co_return *bad;
  r.provider = *provider;
  r.location_epoch = *epoch;
  r.location = std::move(*location);
  r.name = std::move(*name);
  r.description = std::move(*description);
  for (const auto& m : *managers) {
    auto a = as<Address>(m, "managers");
    if (!a)
      co_return a.error();
    r.managers.push_back(*a);
  }
  r.image = std::move(*image);
  r.image_digest = *digest;
  r.backup_version = *backup_version;
  r.snapshot_hash = *snapshot;
  r.backup_storage_location = std::move(*storage);
  r.backup_log = std::move(*log);
  co_return r;
}

Task<Result<bool>> RegistryClient::is_manager(ServiceId id, Address account, Deadline deadline) {
  std::vector<Value> args{id_value(id), Value(account)};
  auto values = co_await view("isManager", std::move(args), deadline);
  if (!values)
    co_return values.error();
  if (values->size() != 1)
    co_return Error(Errc::kMalformedReply, "isManager: arity");
  co_return as<bool>((*values)[0], "isManager");
}

Task<Result<chain::Receipt>> RegistryClient::register_service(Registration r, Deadline deadline) {
  std::vector<Value> args{id_value(r.id),
                          Value(std::move(r.name)),
                          Value(std::move(r.description)),
                          Value(std::move(r.location)),
                          Value(std::move(r.image)),
                          Value(Bytes(r.image_digest.begin(), r.image_digest.end()))};
  co_return co_await transact("register", std::move(args), deadline);
}

Task<Result<chain::Receipt>> RegistryClient::update_location(ServiceId id, std::string location,
                                                             std::uint64_t epoch,
                                                             Deadline deadline) {
  std::vector<Value> args{id_value(id), Value(std::move(location)), Value(epoch)};
  co_return co_await transact("updateLocation", std::move(args), deadline);
}

Task<Result<chain::Receipt>> RegistryClient::update_name(ServiceId id, std::string name,
                                                         Deadline deadline) {
  std::vector<Value> args{id_value(id), Value(std::move(name))};
  co_return co_await transact("updateName", std::move(args), deadline);
}

Task<Result<chain::Receipt>> RegistryClient::update_description(ServiceId id,
                                                                std::string description,
                                                                Deadline deadline) {
  std::vector<Value> args{id_value(id), Value(std::move(description))};
  co_return co_await transact("updateDescription", std::move(args), deadline);
}

Task<Result<chain::Receipt>> RegistryClient::update_image(ServiceId id, std::string image,
                                                          Hash digest, Deadline deadline) {
  std::vector<Value> args{id_value(id), Value(std::move(image)),
                          Value(Bytes(digest.begin(), digest.end()))};
  co_return co_await transact("updateImage", std::move(args), deadline);
}

Task<Result<chain::Receipt>> RegistryClient::add_manager(ServiceId id, Address account,
                                                         Deadline deadline) {
  std::vector<Value> args{id_value(id), Value(account)};
  co_return co_await transact("addManager", std::move(args), deadline);
}

Task<Result<chain::Receipt>> RegistryClient::remove_manager(ServiceId id, Address account,
                                                            Deadline deadline) {
  std::vector<Value> args{id_value(id), Value(account)};
  co_return co_await transact("removeManager", std::move(args), deadline);
}

Task<Result<chain::Receipt>> RegistryClient::send_claim(ServiceId id, std::string failed_location,
                                                        std::uint64_t failed_epoch,
                                                        std::string reason, Deadline deadline) {
  std::vector<Value> args{id_value(id), Value(std::move(failed_location)), Value(failed_epoch),
                          Value(std::move(reason))};
  co_return co_await transact("sendClaim", std::move(args), deadline);
}

Task<Result<chain::Receipt>> RegistryClient::store_backup_log(ServiceId id, std::uint64_t version,
                                                              Bytes encrypted_log,
                                                              Hash snapshot_hash,
                                                              std::string storage_location,
                                                              Deadline deadline) {
  std::vector<Value> args{id_value(id), Value(version), Value(std::move(encrypted_log)),
                          Value(Bytes(snapshot_hash.begin(), snapshot_hash.end())),
                          Value(std::move(storage_location))};
  co_return co_await transact("storeBackupLog", std::move(args), deadline);
}

}  // namespace br2k::registry
