// Parsing of JSON-RPC logs, block headers and receipts.
#include <br2k/chain/types.hpp>

namespace br2k::chain {
namespace {

using nlohmann::json;

Error malformed(std::string_view field, std::string_view what) {
  return {Errc::kMalformedReply, std::string(field) + ": " + std::string(what)};
}

const json* member(const json& j, std::string_view field) {
  if (!j.is_object())
    return nullptr;
  auto it = j.find(field);
  return it == j.end() ? nullptr : &*it;
}

}  // namespace

Result<std::uint64_t> parse_quantity(const json& j, std::string_view field) {
  const json* v = member(j, field);
  if (!v || !v->is_string())
    return malformed(field, "missing or not a string");
  auto u = U256::from_hex(v->get_ref<const std::string&>());
  if (!u)
    return malformed(field, "not a hex quantity");
  auto small = u->to_uint64();
  if (!small)
    return malformed(field, "does not fit 64 bits");
  return *small;
}

Result<U256> parse_quantity_u256(const json& j, std::string_view field) {
  const json* v = member(j, field);
  if (!v || !v->is_string())
    return malformed(field, "missing or not a string");
  auto u = U256::from_hex(v->get_ref<const std::string&>());
  if (!u)
    return malformed(field, "not a hex quantity");
  return *u;
}

Result<Bytes> parse_data(const json& j, std::string_view field) {
  const json* v = member(j, field);
  if (!v || !v->is_string())
    return malformed(field, "missing or not a string");
  const auto& s = v->get_ref<const std::string&>();
  if (s.size() < 2 || s[0] != '0' || s[1] != 'x')
    return malformed(field, "no 0x prefix");
  auto b = from_hex(s);
  if (!b)
    return malformed(field, "not hex data");
  return std::move(*b);
}

Result<Hash> parse_hash(const json& j, std::string_view field) {
  auto b = parse_data(j, field);
  if (!b)
    return b.error();
  if (b->size() != 32)
    return malformed(field, "not 32 bytes");
  Hash h;
  std::copy(b->begin(), b->end(), h.begin());
  return h;
}

Result<Address> parse_address_field(const json& j, std::string_view field) {
  auto b = parse_data(j, field);
  if (!b)
    return b.error();
  if (b->size() != 20)
    return malformed(field, "not 20 bytes");
  Address a;
  std::copy(b->begin(), b->end(), a.begin());
  return a;
}

namespace {

// Parses one field into `out`; on failure keeps the first error. Lets a parser read as a list of
// fields: `ok = ok && field(err, out.x, parse_hash(j, "x"));`.
template <class T, class U>
bool field(Error& error, U& out, Result<T> parsed) {
  if (!parsed) {
    error = parsed.error();
    return false;
  }
  out = std::move(*parsed);
  return true;
}

// An optional field: absent or null leaves `out` as it is.
template <class T, class U, class Parse>
bool optional_field(Error& error, const json& j, std::string_view name, U& out, Parse parse) {
  const json* v = member(j, name);
  if (!v || v->is_null())
    return true;
  return field<T>(error, out, parse(j, name));
}

}  // namespace

Result<Log> parse_log(const json& j) {
  if (!j.is_object())
    return malformed("log", "not an object");
  Log log;
  Error e;
  if (!field(e, log.address, parse_address_field(j, "address")))
    return e;
  const json* topics = member(j, "topics");
  if (!topics || !topics->is_array() || topics->size() > 4)
    return malformed("topics", "not a list");
  for (const auto& t : *topics) {
    json wrapped = {{"topic", t}};
    Hash h;
    if (!field(e, h, parse_hash(wrapped, "topic")))
      return e;
    log.topics.push_back(h);
  }
  bool ok = field(e, log.data, parse_data(j, "data")) &&
            field(e, log.block_number, parse_quantity(j, "blockNumber")) &&
            field(e, log.block_hash, parse_hash(j, "blockHash")) &&
            field(e, log.transaction_hash, parse_hash(j, "transactionHash")) &&
            field(e, log.log_index, parse_quantity(j, "logIndex"));
  if (!ok)
    return e;
  if (const json* removed = member(j, "removed"); removed && !removed->is_null()) {
    if (!removed->is_boolean())
      return malformed("removed", "not a boolean");
    log.removed = removed->get<bool>();
  }
  return log;
}

Result<BlockHeader> parse_block_header(const json& j) {
  if (!j.is_object())
    return malformed("block", "not an object");
  BlockHeader b;
  Error e;
  bool ok = field(e, b.number, parse_quantity(j, "number")) &&
            field(e, b.hash, parse_hash(j, "hash")) &&
            field(e, b.parent_hash, parse_hash(j, "parentHash")) &&
            field(e, b.timestamp, parse_quantity(j, "timestamp")) &&
            optional_field<U256>(e, j, "baseFeePerGas", b.base_fee_per_gas, parse_quantity_u256);
  if (!ok)
    return e;
  return b;
}

Result<Receipt> parse_receipt(const json& j) {
  if (!j.is_object())
    return malformed("receipt", "not an object");
  Receipt r;
  Error e;
  std::uint64_t status = 0;
  bool ok =
      field(e, r.transaction_hash, parse_hash(j, "transactionHash")) &&
      field(e, r.block_number, parse_quantity(j, "blockNumber")) &&
      field(e, r.block_hash, parse_hash(j, "blockHash")) &&
      field(e, status, parse_quantity(j, "status")) &&
      field(e, r.gas_used, parse_quantity(j, "gasUsed")) &&
      optional_field<U256>(e, j, "effectiveGasPrice", r.effective_gas_price, parse_quantity_u256) &&
      optional_field<Address>(e, j, "contractAddress", r.contract_address, parse_address_field);
  if (!ok)
    return e;
  if (status > 1)
    return malformed("status", "neither 0 nor 1");
  r.success = status == 1;
  const json* logs = member(j, "logs");
  if (!logs || !logs->is_array())
    return malformed("logs", "not a list");
  for (const auto& l : *logs) {
    auto log = parse_log(l);
    if (!log)
      return log.error();
    r.logs.push_back(std::move(*log));
  }
  return r;
}

std::string quantity(std::uint64_t v) {
  return U256::from_uint64(v).to_hex();
}

std::string hex_data(ByteView bytes) {
  return "0x" + to_hex(bytes);
}

std::string hex_hash(const Hash& h) {
  return hex_data(h);
}

}  // namespace br2k::chain
