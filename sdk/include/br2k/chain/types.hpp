// The JSON-RPC objects BR2K reads from chain nodes: logs, block headers and receipts.
//
// https://ethereum.org/en/developers/docs/apis/json-rpc/ (eth_getLogs, eth_getBlockByNumber,
// eth_getTransactionReceipt). Nodes are not trusted to be well formed: parsing returns
// kMalformedReply naming the field, never throws.
//
// Thread-safety: plain values and pure functions.
#pragma once

#include <br2k/core/bytes.hpp>
#include <br2k/core/error.hpp>
#include <br2k/eth/keccak.hpp>
#include <br2k/eth/types.hpp>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace br2k::chain {

using eth::Address;
using eth::Hash;
using eth::U256;

struct Log {
  Address address{};
  std::vector<Hash> topics;
  Bytes data;
  std::uint64_t block_number = 0;
  Hash block_hash{};
  Hash transaction_hash{};
  std::uint64_t log_index = 0;  // position in its block
  bool removed = false;         // true: the block left the canonical chain (a reorg)
};

struct BlockHeader {
  std::uint64_t number = 0;
  Hash hash{};
  Hash parent_hash{};
  std::uint64_t timestamp = 0;
  std::optional<U256> base_fee_per_gas;  // absent before London (EIP-1559)
};

struct Receipt {
  Hash transaction_hash{};
  std::uint64_t block_number = 0;
  Hash block_hash{};
  bool success = false;  // status 1
  std::uint64_t gas_used = 0;
  U256 effective_gas_price;
  std::optional<Address> contract_address;  // contract creations
  std::vector<Log> logs;
};

// Errors: kMalformedReply, detail naming the field.
Result<Log> parse_log(const nlohmann::json& j);
Result<BlockHeader> parse_block_header(const nlohmann::json& j);
Result<Receipt> parse_receipt(const nlohmann::json& j);

// JSON-RPC quantities ("0x1a") and data ("0x...").
Result<std::uint64_t> parse_quantity(const nlohmann::json& j, std::string_view field);
Result<U256> parse_quantity_u256(const nlohmann::json& j, std::string_view field);
Result<Hash> parse_hash(const nlohmann::json& j, std::string_view field);
Result<Address> parse_address_field(const nlohmann::json& j, std::string_view field);
Result<Bytes> parse_data(const nlohmann::json& j, std::string_view field);

std::string quantity(std::uint64_t v);  // "0x1a"
std::string hex_data(ByteView bytes);   // "0x..." (lower case)
std::string hex_hash(const Hash& h);

}  // namespace br2k::chain
