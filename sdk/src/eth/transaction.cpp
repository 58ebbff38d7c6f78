// Signing hashes, signing and the raw encoding of EIP-1559 and legacy (EIP-155) transactions.
// https://eips.ethereum.org/EIPS/eip-1559, https://eips.ethereum.org/EIPS/eip-155
#include <br2k/eth/rlp.hpp>
#include <br2k/eth/transaction.hpp>
#include <string>

namespace br2k::eth {
namespace {

void add_recipient(rlp::ListEncoder& list, const std::optional<Address>& to) {
  if (to)
    list.add_string(ByteView(*to));
  else
    list.add_string(ByteView());
}

// [chain_id, nonce, max_priority_fee_per_gas, max_fee_per_gas, gas_limit, to, value, data,
//  access_list]
rlp::ListEncoder unsigned_fields(const Eip1559Transaction& tx) {
  rlp::ListEncoder list;
  list.add_uint(tx.chain_id)
      .add_uint(tx.nonce)
      .add_uint(tx.max_priority_fee_per_gas)
      .add_uint(tx.max_fee_per_gas)
      .add_uint(tx.gas_limit);
  add_recipient(list, tx.to);
  list.add_uint(tx.value).add_string(ByteView(tx.data)).add_list(rlp::ListEncoder());
  return list;
}

// [nonce, gas_price, gas_limit, to, value, data]
rlp::ListEncoder legacy_fields(const LegacyTransaction& tx) {
  rlp::ListEncoder list;
  list.add_uint(tx.nonce).add_uint(tx.gas_price).add_uint(tx.gas_limit);
  add_recipient(list, tx.to);
  list.add_uint(tx.value).add_string(ByteView(tx.data));
  return list;
}

void add_signature(rlp::ListEncoder& list, const Signature& signature) {
  list.add_uint(U256{signature.r}).add_uint(U256{signature.s});
}

}  // namespace

std::string_view to_string(TxError e) noexcept {
  switch (e) {
    case TxError::kEmpty:
      return "empty input";
    case TxError::kUnsupportedType:
      return "unsupported transaction type";
    case TxError::kFieldCount:
      return "wrong number of fields";
    case TxError::kBadRecipient:
      return "recipient is neither empty nor 20 bytes";
    case TxError::kAccessListNotEmpty:
      return "non-empty access list";
    case TxError::kBadV:
      return "invalid v or y parity";
    case TxError::kBadSignature:
      return "non-canonical signature";
    case TxError::kUnrecoverable:
      return "no sender recovers from the signature";
    case TxError::kChainIdTooLarge:
      return "chain id too large for EIP-155";
  }
  return "unknown error";
}

Error make_error(TxError e) {
  return Error(Errc::kInvalidArgument, "tx: " + std::string(to_string(e)));
}

bool is_error(const Error& e, TxError which) noexcept {
  constexpr std::string_view kPrefix = "tx: ";
  std::string_view d = e.detail;
  return e.is(Errc::kInvalidArgument) && d.starts_with(kPrefix) &&
         d.substr(kPrefix.size()) == to_string(which);
}

Bytes signing_data(const Eip1559Transaction& tx) {
  Bytes out{kEip1559TransactionType};
  unsigned_fields(tx).append_list_to(out);
  return out;
}

Bytes signing_data(const LegacyTransaction& tx) {
  rlp::ListEncoder list = legacy_fields(tx);
  if (tx.chain_id)
    list.add_uint(*tx.chain_id).add_uint(0).add_uint(0);
  return list.list();
}

Hash signing_hash(const Eip1559Transaction& tx) {
  return keccak256(ByteView(signing_data(tx)));
}

Hash signing_hash(const LegacyTransaction& tx) {
  return keccak256(ByteView(signing_data(tx)));
}

Result<Bytes> encode_signed(const Eip1559Transaction& tx, const Signature& signature) {
  if (signature.y_parity > 1)
    return make_error(TxError::kBadV);
  rlp::ListEncoder list = unsigned_fields(tx);
  list.add_uint(signature.y_parity);
  add_signature(list, signature);
  Bytes out{kEip1559TransactionType};
  list.append_list_to(out);
  return out;
}

Result<Bytes> encode_signed(const LegacyTransaction& tx, const Signature& signature) {
  if (signature.y_parity > 1)
    return make_error(TxError::kBadV);
  if (tx.chain_id && *tx.chain_id > kMaxLegacyChainId)
    return make_error(TxError::kChainIdTooLarge);
  const std::uint64_t v =
      tx.chain_id ? signature.y_parity + *tx.chain_id * 2 + 35 : signature.y_parity + 27u;
  rlp::ListEncoder list = legacy_fields(tx);
  list.add_uint(v);
  add_signature(list, signature);
  return list.list();
}

Result<Bytes> sign(const Eip1559Transaction& tx, const PrivateKey& key) {
  auto signature = key.sign(signing_hash(tx));
  if (!signature)
    return signature.error();
  return encode_signed(tx, *signature);
}

Result<Bytes> sign(const LegacyTransaction& tx, const PrivateKey& key) {
  if (tx.chain_id && *tx.chain_id > kMaxLegacyChainId)
    return make_error(TxError::kChainIdTooLarge);
  auto signature = key.sign(signing_hash(tx));
  if (!signature)
    return signature.error();
  return encode_signed(tx, *signature);
}

}  // namespace br2k::eth
