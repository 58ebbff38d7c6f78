// Ethereum transactions: signing hashes, signing, the raw signed encoding eth_sendRawTransaction
// takes, and a decoder of raw signed transactions that recovers the sender.
//
// Two kinds are supported:
//  - EIP-1559 (type 2, https://eips.ethereum.org/EIPS/eip-1559), with an always-empty access list:
//      signing hash = keccak256(0x02 || rlp([chain_id, nonce, max_priority_fee_per_gas,
//                               max_fee_per_gas, gas_limit, to, value, data, access_list]))
//      raw          = 0x02 || rlp([... the nine fields ..., y_parity, r, s])
//  - legacy, with EIP-155 replay protection when a chain id is set
//    (https://eips.ethereum.org/EIPS/eip-155):
//      signing hash = keccak256(rlp([nonce, gas_price, gas_limit, to, value, data, chain_id, 0,
//      0]))
//                     (without a chain id: the first six fields only)
//      raw          = rlp([nonce, gas_price, gas_limit, to, value, data, v, r, s])
//      v            = y_parity + chain_id * 2 + 35   (without a chain id: y_parity + 27)
// Integers are RLP's minimal big-endian strings; `to` is the empty string for contract creation.
//
// Thread-safety: plain values and pure functions (signing uses the key's shared, read-only
// libsecp256k1 context; see key.hpp).
#pragma once

#include <br2k/core/bytes.hpp>
#include <br2k/core/error.hpp>
#include <br2k/eth/keccak.hpp>
#include <br2k/eth/key.hpp>
#include <br2k/eth/types.hpp>
#include <cstdint>
#include <limits>
#include <optional>
#include <string_view>
#include <variant>

namespace br2k::eth {

// EIP-2718 type byte of EIP-1559 transactions.
inline constexpr std::uint8_t kEip1559TransactionType = 0x02;
// The largest legacy chain id whose EIP-155 v (chain_id * 2 + 36) fits in 64 bits.
inline constexpr std::uint64_t kMaxLegacyChainId =
    (std::numeric_limits<std::uint64_t>::max() - 36) / 2;

struct Eip1559Transaction {
  std::uint64_t chain_id = 0;
  std::uint64_t nonce = 0;
  U256 max_priority_fee_per_gas;
  U256 max_fee_per_gas;
  std::uint64_t gas_limit = 0;
  std::optional<Address> to;  // nullopt: contract creation
  U256 value;
  Bytes data;
  // Access list: always empty, encoded as the empty list 0xc0.

  friend bool operator==(const Eip1559Transaction&, const Eip1559Transaction&) = default;
};

struct LegacyTransaction {
  std::uint64_t nonce = 0;
  U256 gas_price;
  std::uint64_t gas_limit = 0;
  std::optional<Address> to;  // nullopt: contract creation
  U256 value;
  Bytes data;
  // Set: EIP-155 replay protection (at most kMaxLegacyChainId). Unset: a pre-EIP-155
  // transaction, valid on every chain that accepts unprotected transactions.
  std::optional<std::uint64_t> chain_id;

  friend bool operator==(const LegacyTransaction&, const LegacyTransaction&) = default;
};

// Why a transaction was refused. Reported as Errc::kInvalidArgument with detail
// "tx: <to_string(e)>" (see make_error / is_error). RLP-level faults come as RlpError instead.
enum class [[nodiscard]] TxError : std::uint8_t{
    kEmpty = 1,           // decode: no bytes at all
    kUnsupportedType,     // decode: a first byte that is neither 0x02 nor an RLP list header
                          // (e.g. 0x01 access-list or 0x03 blob transactions)
    kFieldCount,          // decode: the list does not hold the kind's number of fields
    kBadRecipient,        // decode: `to` is neither empty nor 20 bytes
    kAccessListNotEmpty,  // decode: a non-empty access list (not supported)
    kBadV,                // y_parity not 0 or 1; a legacy v neither 27, 28 nor >= 35
    kBadSignature,        // decode: r or s zero or not below n, or s above n/2 (EIP-2)
    kUnrecoverable,       // decode: no public key recovers from the signature
    kChainIdTooLarge,     // a legacy chain id above kMaxLegacyChainId
};

std::string_view to_string(TxError e) noexcept;
// Error(Errc::kInvalidArgument, "tx: " + to_string(e)).
Error make_error(TxError e);
// Whether `e` is what make_error(which) returns.
bool is_error(const Error& e, TxError which) noexcept;

// The bytes the signing hash covers: 0x02 || rlp([nine fields]) for EIP-1559; for legacy,
// rlp([six fields, chain_id, 0, 0]) or rlp([six fields]) (the EIP-155 "signing data").
Bytes signing_data(const Eip1559Transaction& tx);
Bytes signing_data(const LegacyTransaction& tx);
// keccak256(signing_data(tx)): the digest the sender signs.
Hash signing_hash(const Eip1559Transaction& tx);
Hash signing_hash(const LegacyTransaction& tx);

// The raw signed transaction for a given signature (what eth_sendRawTransaction takes).
// Errors: TxError::kBadV (y_parity above 1); for legacy also kChainIdTooLarge.
Result<Bytes> encode_signed(const Eip1559Transaction& tx, const Signature& signature);
Result<Bytes> encode_signed(const LegacyTransaction& tx, const Signature& signature);

// Signs tx with `key` and returns the raw signed transaction. Deterministic (RFC 6979).
// Errors: those of PrivateKey::sign; for legacy also TxError::kChainIdTooLarge.
Result<Bytes> sign(const Eip1559Transaction& tx, const PrivateKey& key);
Result<Bytes> sign(const LegacyTransaction& tx, const PrivateKey& key);

// The transaction hash (what eth_sendRawTransaction returns and receipts are looked up by):
// keccak256 of the raw signed bytes, the type byte included.
inline Hash transaction_hash(ByteView raw) noexcept {
  return keccak256(raw);
}

struct DecodedTransaction {
  std::variant<LegacyTransaction, Eip1559Transaction> transaction;
  Signature signature;  // for legacy, y_parity is taken out of v
  Address sender{};     // recovered from the signature over the signing hash
  Hash hash{};          // transaction_hash(raw)
};

// Decodes a raw signed transaction, either kind, treating it as hostile: only canonical RLP with
// exactly the kind's fields and nothing after them, `to` empty or 20 bytes, an empty access list,
// a canonical signature (is_canonical) from which a sender recovers. Whatever decodes re-encodes
// to exactly `raw`.
// Errors (Errc::kInvalidArgument): RlpError (kInputTooShort, kTrailingBytes, kLeadingZero,
// kNonCanonicalSize, kOverflow for integers wider than the field, kUnexpectedList,
// kUnexpectedString) and TxError (kEmpty, kUnsupportedType, kFieldCount, kBadRecipient,
// kAccessListNotEmpty, kBadV, kChainIdTooLarge, kBadSignature, kUnrecoverable).
Result<DecodedTransaction> decode_transaction(ByteView raw) noexcept;

}  // namespace br2k::eth
