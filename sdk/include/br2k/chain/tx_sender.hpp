// Sends transactions signed locally: nonces, fees, gas estimation, receipts and revert reasons.
//
// One TxSender per account. It signs with libsecp256k1 (br2k/eth/key.hpp) and never sends the key
// anywhere; the key is never logged. Per transaction:
//   1. gas: eth_estimateGas (a call that would revert fails here with kReverted and the decoded
//      reason, before any nonce is used), times `gas_margin`;
//   2. fees: EIP-1559 (https://eips.ethereum.org/EIPS/eip-1559) when the latest block has a base
//      fee, else a legacy EIP-155 transaction (https://eips.ethereum.org/EIPS/eip-155) at
//      eth_gasPrice, or as forced by `fee_mode`;
//   3. nonce: allocated locally without a suspension point, so concurrent senders on the executor
//      get distinct nonces. A nonce whose transaction the node refused is released and reused by
//      the next transaction (no gap stalls later ones); on "nonce too low" the sender resyncs from
//      eth_getTransactionCount(pending) and signs again (another process used the account);
//   4. send, then wait for the receipt: polled every `receipt_poll_interval`, re-broadcasting the
//      same signed bytes if the node forgot the transaction (a restarted node): resending is
//      harmless, it is the same transaction. A mined transaction that reverted is replayed with
//      eth_call at its block to recover the reason.
//
// Guarantees: transact() is at-most-once per call in effect (one signed transaction, one nonce;
// retries resend those same bytes). After kOutcomeUnknown the transaction may still be mined;
// wait_receipt(hash) continues the wait.
//
// Thread-safety: use from coroutines on one single-threaded executor, with the Rpc it was given
// (which must outlive it).
#pragma once

#include <br2k/chain/rpc.hpp>
#include <br2k/chain/types.hpp>
#include <br2k/eth/abi_type.hpp>
#include <br2k/eth/key.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string_view>
#include <vector>

namespace br2k::chain {

enum class FeeMode { kAuto, kEip1559, kLegacy };

struct TxSenderOptions {
  // The chain the transactions are for (EIP-155 replay protection). Unset: asked from the node
  // once. When set and the node serves another chain, every call fails with kInvalidArgument.
  std::optional<std::uint64_t> chain_id;
  FeeMode fee_mode = FeeMode::kAuto;
  // Gas limit = estimate * gas_margin (estimates can be low when state changes before mining).
  double gas_margin = 1.25;
  // EIP-1559 max fee = base fee * base_fee_multiplier + priority fee.
  std::uint64_t base_fee_multiplier = 2;
  // Used when the node does not answer eth_maxPriorityFeePerGas.
  U256 default_priority_fee = U256::from_uint64(1'000'000'000);  // 1 gwei
  std::chrono::milliseconds receipt_poll_interval{100};
  // While waiting, a transaction the node no longer knows is sent again this often.
  std::chrono::milliseconds rebroadcast_interval{2000};
  // Custom errors of the contracts called, to decode revert data ("StaleEpoch(...)").
  std::vector<eth::abi::Signature> custom_errors;
};

struct TxRequest {
  std::optional<Address> to;  // empty: contract creation
  Bytes data;
  U256 value;
  std::optional<std::uint64_t> gas_limit;  // empty: estimated
  // Custom errors to decode this transaction's reverts with; empty: TxSenderOptions'. Not owned.
  std::span<const eth::abi::Signature> custom_errors;
};

class TxSender {
 public:
  TxSender(Rpc& rpc, eth::PrivateKey key, TxSenderOptions options = {});
  // A key shared with others (several senders of one account in one process: each keeps its own
  // nonce state and resyncs on conflicts).
  TxSender(Rpc& rpc, std::shared_ptr<const eth::PrivateKey> key, TxSenderOptions options = {});
  TxSender(const TxSender&) = delete;
  TxSender& operator=(const TxSender&) = delete;

  const Address& address() const { return address_; }

  // Estimates, signs, sends and waits for the receipt until `deadline`.
  // Errors: kReverted (the estimate or the mined transaction reverted; detail: decoded reason),
  // kOutcomeUnknown (sent, no receipt by the deadline; detail has the hash), kInvalidArgument
  // (wrong chain id, the node refused the transaction, e.g. insufficient funds), kUnavailable,
  // kDeadlineExceeded (nothing was sent), kMalformedReply.
  Task<Result<Receipt>> transact(TxRequest request, Deadline deadline);

  // Waits for a sent transaction's receipt. `raw`, when given, is re-broadcast if the node
  // forgot the transaction. Errors: kOutcomeUnknown at the deadline, kReverted, and transport
  // errors of the polls only when the deadline passes.
  Task<Result<Receipt>> wait_receipt(const Hash& tx_hash, Deadline deadline, Bytes raw = {});

  // eth_call from this account. Errors: kReverted with the decoded reason, transport errors.
  Task<Result<Bytes>> call(const Address& to, ByteView data, Deadline deadline,
                           std::string block = "latest",
                           std::span<const eth::abi::Signature> custom_errors = {});

  // Counters for tests and metrics.
  struct Stats {
    std::uint64_t sent = 0;
    std::uint64_t resyncs = 0;          // nonce re-read after "nonce too low"
    std::uint64_t released_nonces = 0;  // refused transactions whose nonce was reused
    std::uint64_t rebroadcasts = 0;
  };
  const Stats& stats() const { return stats_; }

 private:
  Task<Result<std::uint64_t>> ensure_chain(Deadline deadline);
  Task<Result<void>> ensure_nonce(Deadline deadline);
  std::uint64_t take_nonce();
  Result<Bytes> sign_transaction(FeeMode mode, std::uint64_t chain, std::uint64_t nonce,
                                 std::uint64_t priority_fee, std::uint64_t base_fee,
                                 std::uint64_t gas_price, std::uint64_t gas,
                                 const TxRequest& request) const;
  void release_nonce(std::uint64_t nonce);
  Error revert_error(const RpcError& error, std::span<const eth::abi::Signature> errors,
                     std::string_view method) const;
  // Waits for the receipt; a reverted one is replayed with eth_call for its reason.
  Task<Result<Receipt>> finish(const TxRequest& request, std::uint64_t gas, const Hash& hash,
                               Deadline deadline, Bytes raw);
  // The receipt whatever its status.
  Task<Result<Receipt>> poll_receipt(const Hash& tx_hash, Deadline deadline, Bytes raw);

  Rpc& rpc_;
  std::shared_ptr<const eth::PrivateKey> key_;
  Address address_;
  TxSenderOptions options_;
  std::optional<std::uint64_t> chain_id_;
  std::optional<std::uint64_t> next_nonce_;
  std::set<std::uint64_t> released_;  // nonces below next_nonce_ free for reuse
  Stats stats_;
};

// The error name of a kReverted error ("StaleEpoch" for "StaleEpoch(id=.., given=3, ..)"); empty
// for other errors. What callers branch on: `if (revert_name(e) == "StaleEpoch")`.
std::string_view revert_name(const Error& error);

// Decodes the revert data of a JSON-RPC error object (eth_call, eth_estimateGas): kReverted with
// the decoded reason, or the error as kServerError / kInvalidArgument when it is not a revert.
Error error_from_rpc(const RpcError& error, std::span<const eth::abi::Signature> custom_errors,
                     std::string_view method);

}  // namespace br2k::chain
