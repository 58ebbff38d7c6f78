// Decoding of raw signed transactions (EIP-2718 envelope: type 0x02 EIP-1559, or a legacy RLP
// list) with sender recovery. https://eips.ethereum.org/EIPS/eip-2718
//
// The input is hostile: every field goes through rlp.hpp's canonical decoders, the field count is
// checked before any field is read, and the signature must be canonical before recovery.
#include <br2k/eth/rlp.hpp>
#include <br2k/eth/transaction.hpp>
#include <optional>

namespace br2k::eth {
namespace {

constexpr std::size_t kEip1559FieldCount = 12;
constexpr std::size_t kLegacyFieldCount = 9;
constexpr std::uint8_t kFirstListHeader = 0xc0;

// Number of items in a list payload, without decoding them.
Result<std::size_t> count_items(ByteView payload) noexcept {
  std::size_t n = 0;
  while (!payload.empty()) {
    auto h = rlp::decode_header(payload);
    if (!h)
      return h.error();
    // A single byte below 0x80 is its own item: decode_header reports {false, 1} without
    // advancing, so skipping payload_length bytes is right in both cases.
    payload = payload.subspan(h->payload_length);
    ++n;
  }
  return n;
}

// Reads fields in order; the first failure sticks and later reads return defaults, so the
// caller checks `error` once after reading every field.
class FieldReader {
 public:
  explicit FieldReader(ByteView payload) noexcept : rest_(payload) {}

  std::uint64_t u64() noexcept { return read(rlp::decode_uint64(rest_), std::uint64_t{0}); }
  U256 u256() noexcept { return read(rlp::decode_u256(rest_), U256{}); }
  ByteView string() noexcept { return read(rlp::decode_string(rest_), ByteView()); }
  ByteView list() noexcept { return read(rlp::decode_list_payload(rest_), ByteView()); }

  std::optional<Address> recipient() noexcept {
    ByteView s = string();
    if (s.empty())
      return std::nullopt;
    Address a{};
    if (s.size() != a.size()) {
      fail(make_error(TxError::kBadRecipient));
      return std::nullopt;
    }
    std::copy(s.begin(), s.end(), a.begin());
    return a;
  }

  std::array<std::uint8_t, 32> word() noexcept { return u256().bytes; }

  void fail(Error e) noexcept {
    if (!error)
      error = std::move(e);
  }

  std::optional<Error> error;

 private:
  template <class T>
  T read(Result<T> r, T fallback) noexcept {
    if (error)
      return fallback;
    if (!r) {
      error = r.error();
      return fallback;
    }
    return *r;
  }

  ByteView rest_;
};

// The list payload of `body`, which must hold exactly one list of `fields` items.
Result<ByteView> list_payload(ByteView body, std::size_t fields) noexcept {
  auto payload = rlp::decode_list_payload(body);
  if (!payload)
    return payload.error();
  if (auto end = rlp::expect_end(body); !end)
    return end.error();
  auto count = count_items(*payload);
  if (!count)
    return count.error();
  if (*count != fields)
    return make_error(TxError::kFieldCount);
  return *payload;
}

Result<DecodedTransaction> finish(DecodedTransaction decoded, const Hash& signing_hash,
                                  ByteView raw) noexcept {
  if (!is_canonical(decoded.signature))
    return make_error(TxError::kBadSignature);
  auto sender = recover_address(signing_hash, decoded.signature);
  if (!sender)
    return make_error(TxError::kUnrecoverable);
  decoded.sender = *sender;
  decoded.hash = transaction_hash(raw);
  return decoded;
}

Result<DecodedTransaction> decode_eip1559(ByteView raw) noexcept {
  auto payload = list_payload(raw.subspan(1), kEip1559FieldCount);
  if (!payload)
    return payload.error();
  FieldReader in(*payload);
  Eip1559Transaction tx;
  tx.chain_id = in.u64();
  tx.nonce = in.u64();
  tx.max_priority_fee_per_gas = in.u256();
  tx.max_fee_per_gas = in.u256();
  tx.gas_limit = in.u64();
  tx.to = in.recipient();
  tx.value = in.u256();
  ByteView data = in.string();
  if (!in.list().empty())
    in.fail(make_error(TxError::kAccessListNotEmpty));
  const std::uint64_t y_parity = in.u64();
  DecodedTransaction decoded;
  decoded.signature.r = in.word();
  decoded.signature.s = in.word();
  if (in.error)
    return *in.error;
  if (y_parity > 1)
    return make_error(TxError::kBadV);
  decoded.signature.y_parity = static_cast<std::uint8_t>(y_parity);
  tx.data.assign(data.begin(), data.end());
  const Hash hash = signing_hash(tx);
  decoded.transaction = std::move(tx);
  return finish(std::move(decoded), hash, raw);
}

Result<DecodedTransaction> decode_legacy(ByteView raw) noexcept {
  auto payload = list_payload(raw, kLegacyFieldCount);
  if (!payload)
    return payload.error();
  FieldReader in(*payload);
  LegacyTransaction tx;
  tx.nonce = in.u64();
  tx.gas_price = in.u256();
  tx.gas_limit = in.u64();
  tx.to = in.recipient();
  tx.value = in.u256();
  ByteView data = in.string();
  const std::uint64_t v = in.u64();
  DecodedTransaction decoded;
  decoded.signature.r = in.word();
  decoded.signature.s = in.word();
  if (in.error)
    return *in.error;
  // https://eips.ethereum.org/EIPS/eip-155: v = 27 + parity unprotected, else
  // chain_id * 2 + 35 + parity.
  if (v == 27 || v == 28) {
    decoded.signature.y_parity = static_cast<std::uint8_t>(v - 27);
  } else if (v >= 35) {
    tx.chain_id = (v - 35) / 2;
    if (*tx.chain_id > kMaxLegacyChainId)  // v = 2^64 - 1: this chain's other parity overflows
      return make_error(TxError::kChainIdTooLarge);
    decoded.signature.y_parity = static_cast<std::uint8_t>((v - 35) % 2);
  } else {
    return make_error(TxError::kBadV);
  }
  tx.data.assign(data.begin(), data.end());
  const Hash hash = signing_hash(tx);
  decoded.transaction = std::move(tx);
  return finish(std::move(decoded), hash, raw);
}

}  // namespace

Result<DecodedTransaction> decode_transaction(ByteView raw) noexcept {
  if (raw.empty())
    return make_error(TxError::kEmpty);
  if (raw[0] == kEip1559TransactionType)
    return decode_eip1559(raw);
  if (raw[0] >= kFirstListHeader)
    return decode_legacy(raw);
  return make_error(TxError::kUnsupportedType);
}

}  // namespace br2k::eth
