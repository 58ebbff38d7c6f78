// TxSender: nonces, fees, gas, signing, receipts. See tx_sender.hpp.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <br2k/chain/tx_sender.hpp>
#include <br2k/eth/revert.hpp>
#include <br2k/eth/transaction.hpp>
#include <cctype>
#include <limits>

namespace br2k::chain {
namespace {

namespace asio = boost::asio;
using nlohmann::json;

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

bool contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

Task<void> sleep_until(Deadline until) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  timer.expires_at(until);
  boost::system::error_code ec;
  co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
}

std::uint64_t saturating_add(std::uint64_t a, std::uint64_t b) {
  return a > std::numeric_limits<std::uint64_t>::max() - b
             ? std::numeric_limits<std::uint64_t>::max()
             : a + b;
}

std::uint64_t saturating_mul(std::uint64_t a, std::uint64_t b) {
  if (a != 0 && b > std::numeric_limits<std::uint64_t>::max() / a)
    return std::numeric_limits<std::uint64_t>::max();
  return a * b;
}

// A quantity reply ("0x..") as uint64.
Result<std::uint64_t> reply_quantity(const json& result, std::string_view method) {
  json wrapped = {{"result", result}};
  auto q = parse_quantity(wrapped, "result");
  if (!q)
    return Error(Errc::kMalformedReply, std::string(method) + ": " + q.error().detail);
  return *q;
}

json call_object(const Address& from, const std::optional<Address>& to, ByteView data,
                 const U256& value) {
  json tx = {{"from", hex_data(from)}, {"data", hex_data(data)}};
  if (to)
    tx["to"] = hex_data(*to);
  if (!value.is_zero())
    tx["value"] = value.to_hex();
  return tx;
}

}  // namespace

// Signing lives outside the coroutines: GCC 12 miscompiles coroutine frames holding these structs
// ("array used as initializer").
Result<Bytes> TxSender::sign_transaction(FeeMode mode, std::uint64_t chain, std::uint64_t nonce,
                                         std::uint64_t priority_fee, std::uint64_t base_fee,
                                         std::uint64_t gas_price, std::uint64_t gas,
                                         const TxRequest& request) const {
  if (mode == FeeMode::kEip1559) {
    eth::Eip1559Transaction tx;
    tx.chain_id = chain;
    tx.nonce = nonce;
    tx.max_priority_fee_per_gas = U256::from_uint64(priority_fee);
    tx.max_fee_per_gas = U256::from_uint64(
        saturating_add(saturating_mul(base_fee, options_.base_fee_multiplier), priority_fee));
    tx.gas_limit = gas;
    tx.to = request.to;
    tx.value = request.value;
    tx.data = request.data;
    return eth::sign(tx, *key_);
  }
  eth::LegacyTransaction tx;
  tx.nonce = nonce;
  tx.gas_price = U256::from_uint64(gas_price);
  tx.gas_limit = gas;
  tx.to = request.to;
  tx.value = request.value;
  tx.data = request.data;
  tx.chain_id = chain;
  return eth::sign(tx, *key_);
}

std::string_view revert_name(const Error& error) {
  if (!error.is(Errc::kReverted))
    return {};
  std::string_view d = error.detail;
  auto paren = d.find('(');
  if (paren == std::string_view::npos || paren == 0)
    return {};
  auto name = d.substr(0, paren);
  for (char c : name)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_')
      return {};
  return name;
}

Error error_from_rpc(const RpcError& error, std::span<const eth::abi::Signature> custom_errors,
                     std::string_view method) {
  if (error.data.is_string()) {
    const auto& text = error.data.get_ref<const std::string&>();
    if (text.size() >= 2 && text[0] == '0' && text[1] == 'x') {
      if (auto bytes = from_hex(text)) {
        auto revert = eth::abi::decode_revert(*bytes, custom_errors);
        if (revert)
          return {Errc::kReverted, revert->describe()};
        return {Errc::kReverted, "undecodable revert data " + text};
      }
    }
  }
  if (contains(lower(error.message), "revert"))
    return {Errc::kReverted, "reason not given: " + error.message};
  return {Errc::kServerError,
          std::string(method) + ": " + std::to_string(error.code) + " " + error.message};
}

TxSender::TxSender(Rpc& rpc, eth::PrivateKey key, TxSenderOptions options)
    : TxSender(rpc, std::make_shared<const eth::PrivateKey>(std::move(key)), std::move(options)) {}

TxSender::TxSender(Rpc& rpc, std::shared_ptr<const eth::PrivateKey> key, TxSenderOptions options)
    : rpc_(rpc), key_(std::move(key)), address_(key_->address()), options_(std::move(options)) {}

Error TxSender::revert_error(const RpcError& error, std::span<const eth::abi::Signature> errors,
                             std::string_view method) const {
  return error_from_rpc(error, errors.empty() ? options_.custom_errors : errors, method);
}

Task<Result<std::uint64_t>> TxSender::ensure_chain(Deadline deadline) {
  if (chain_id_)
    co_return *chain_id_;
  auto r = co_await chain::call(rpc_, "eth_chainId", json::array(), deadline);
  if (!r)
    co_return r.error();
  auto id = reply_quantity(*r, "eth_chainId");
  if (!id)
    co_return id.error();
  if (options_.chain_id && *options_.chain_id != *id) {
    co_return Error(Errc::kInvalidArgument, "the node serves chain " + std::to_string(*id) +
                                                ", expected " + std::to_string(*options_.chain_id));
  }
  chain_id_ = *id;
  co_return *id;
}

Task<Result<void>> TxSender::ensure_nonce(Deadline deadline) {
  if (next_nonce_)
    co_return Result<void>();
  json params = json::array({hex_data(address_), "pending"});
  auto r = co_await chain::call(rpc_, "eth_getTransactionCount", std::move(params), deadline);
  if (!r)
    co_return r.error();
  auto n = reply_quantity(*r, "eth_getTransactionCount");
  if (!n)
    co_return n.error();
  // Another transact() may have synced while this one waited: its allocations stand.
  if (!next_nonce_)
    next_nonce_ = *n;
  co_return Result<void>();
}

std::uint64_t TxSender::take_nonce() {
  if (!released_.empty()) {
    auto n = *released_.begin();
    released_.erase(released_.begin());
    return n;
  }
  return (*next_nonce_)++;
}

void TxSender::release_nonce(std::uint64_t nonce) {
  ++stats_.released_nonces;
  if (!next_nonce_ || nonce >= *next_nonce_)
    return;
  released_.insert(nonce);
  // Free nonces at the top are simply not allocated yet.
  while (!released_.empty() && *released_.rbegin() + 1 == *next_nonce_) {
    released_.erase(std::prev(released_.end()));
    --*next_nonce_;
  }
}

Task<Result<Bytes>> TxSender::call(const Address& to, ByteView data, Deadline deadline,
                                   std::string block,
                                   std::span<const eth::abi::Signature> custom_errors) {
  json params = json::array({call_object(address_, to, data, U256()), std::move(block)});
  auto r = co_await rpc_.request("eth_call", std::move(params), deadline);
  if (!r)
    co_return r.error();
  if (r->error)
    co_return revert_error(*r->error, custom_errors, "eth_call");
  if (!r->result.is_string())
    co_return Error(Errc::kMalformedReply, "eth_call: not a string");
  auto bytes = from_hex(r->result.get_ref<const std::string&>());
  if (!bytes)
    co_return Error(Errc::kMalformedReply, "eth_call: not hex data");
  co_return std::move(*bytes);
}

Task<Result<Receipt>> TxSender::transact(TxRequest request, Deadline deadline) {
  auto chain = co_await ensure_chain(deadline);
  if (!chain)
    co_return chain.error();

  // 1. Gas. A call that would revert stops here, before it uses a nonce.
  std::uint64_t gas = 0;
  if (request.gas_limit) {
    gas = *request.gas_limit;
  } else {
    json params = json::array({call_object(address_, request.to, request.data, request.value)});
    auto r = co_await rpc_.request("eth_estimateGas", std::move(params), deadline);
    if (!r)
      co_return r.error();
    if (r->error) {
      auto e = revert_error(*r->error, request.custom_errors, "eth_estimateGas");
      // A refusal that is not a revert (e.g. insufficient funds for the value) is the caller's.
      if (e.is(Errc::kServerError))
        e.code = make_error_code(Errc::kInvalidArgument);
      co_return e;
    }
    auto estimate = reply_quantity(r->result, "eth_estimateGas");
    if (!estimate)
      co_return estimate.error();
    gas = static_cast<std::uint64_t>(static_cast<double>(*estimate) * options_.gas_margin);
  }

  // 2. Fees.
  FeeMode mode = options_.fee_mode;
  std::uint64_t base_fee = 0;
  std::uint64_t priority_fee = 0;
  std::uint64_t gas_price = 0;
  if (mode != FeeMode::kLegacy) {
    json params = json::array({"latest", false});
    auto r = co_await chain::call(rpc_, "eth_getBlockByNumber", std::move(params), deadline);
    if (!r)
      co_return r.error();
    auto header = parse_block_header(*r);
    if (!header)
      co_return header.error();
    if (header->base_fee_per_gas) {
      auto fee = header->base_fee_per_gas->to_uint64();
      if (!fee)
        co_return Error(Errc::kServerError, "base fee does not fit 64 bits");
      base_fee = *fee;
      mode = FeeMode::kEip1559;
    } else if (mode == FeeMode::kEip1559) {
      co_return Error(Errc::kInvalidArgument, "the chain has no base fee (not EIP-1559)");
    } else {
      mode = FeeMode::kLegacy;
    }
  }
  if (mode == FeeMode::kEip1559) {
    auto r = co_await rpc_.request("eth_maxPriorityFeePerGas", json::array(), deadline);
    if (!r)
      co_return r.error();
    std::optional<std::uint64_t> fee;
    if (!r->error) {
      if (auto q = reply_quantity(r->result, "eth_maxPriorityFeePerGas"))
        fee = *q;
    }
    priority_fee = fee && *fee > 0 ? *fee : options_.default_priority_fee.to_uint64().value_or(0);
  } else {
    auto r = co_await chain::call(rpc_, "eth_gasPrice", json::array(), deadline);
    if (!r)
      co_return r.error();
    auto price = reply_quantity(*r, "eth_gasPrice");
    if (!price)
      co_return price.error();
    gas_price = *price;
  }

  // 3. Nonce, sign, send. A refused transaction releases its nonce; "nonce too low" resyncs.
  for (int attempt = 0; attempt < 4; ++attempt) {
    if (auto synced = co_await ensure_nonce(deadline); !synced)
      co_return synced.error();
    const std::uint64_t nonce = take_nonce();
    Result<Bytes> raw =
        sign_transaction(mode, *chain, nonce, priority_fee, base_fee, gas_price, gas, request);
    if (!raw) {
      release_nonce(nonce);
      co_return raw.error();
    }
    Hash hash = eth::transaction_hash(*raw);
    json send_params = json::array({hex_data(*raw)});
    auto sent = co_await rpc_.request("eth_sendRawTransaction", std::move(send_params), deadline);
    if (!sent) {
      // The node may have it: do not reuse the nonce; wait (and re-broadcast) instead.
      if (sent.error().is(Errc::kDeadlineExceeded))
        co_return Error(
            Errc::kOutcomeUnknown,
            "transaction " + hex_hash(hash) + " may have been sent: " + sent.error().message());
      co_return co_await finish(request, gas, hash, deadline, std::move(*raw));
    }
    if (sent->error) {
      auto message = lower(sent->error->message);
      if (contains(message, "already known") || contains(message, "known transaction")) {
        // Our own earlier broadcast of these bytes: it is in the pool.
      } else if (contains(message, "nonce too low") || contains(message, "nonce has already")) {
        // Another sender used the account: resync and sign again with a fresh nonce.
        ++stats_.resyncs;
        next_nonce_.reset();
        released_.clear();
        continue;
      } else {
        release_nonce(nonce);
        if (contains(message, "revert"))
          co_return revert_error(*sent->error, request.custom_errors, "eth_sendRawTransaction");
        co_return Error(Errc::kInvalidArgument,
                        "the node refused the transaction: " + sent->error->message);
      }
    }
    ++stats_.sent;
    spdlog::debug("tx {} sent from {} nonce {}", hex_hash(hash), eth::to_checksum_address(address_),
                  nonce);
    co_return co_await finish(request, gas, hash, deadline, std::move(*raw));
  }
  co_return Error(Errc::kUnavailable, "nonce kept being taken by another sender");
}

Task<Result<Receipt>> TxSender::finish(const TxRequest& request, std::uint64_t gas,
                                       const Hash& hash, Deadline deadline, Bytes raw) {
  auto receipt = co_await poll_receipt(hash, deadline, std::move(raw));
  if (!receipt || receipt->success)
    co_return receipt;
  // Mined but reverted: replay it at its block for the reason.
  json params = json::array({call_object(address_, request.to, request.data, request.value),
                             quantity(receipt->block_number)});
  params[0]["gas"] = quantity(gas);
  auto replay = co_await rpc_.request("eth_call", std::move(params), deadline);
  if (replay && replay->error)
    co_return revert_error(*replay->error, request.custom_errors, "eth_call");
  co_return Error(Errc::kReverted, "reason not recovered: transaction " + hex_hash(hash) +
                                       " reverted in block " + quantity(receipt->block_number));
}

Task<Result<Receipt>> TxSender::wait_receipt(const Hash& tx_hash, Deadline deadline, Bytes raw) {
  auto receipt = co_await poll_receipt(tx_hash, deadline, std::move(raw));
  if (receipt && !receipt->success)
    co_return Error(Errc::kReverted, "reason not recovered: transaction " + hex_hash(tx_hash) +
                                         " reverted in block " + quantity(receipt->block_number));
  co_return receipt;
}

Task<Result<Receipt>> TxSender::poll_receipt(const Hash& tx_hash, Deadline deadline, Bytes raw) {
  const std::string hash_hex = hex_hash(tx_hash);
  auto next_rebroadcast = Clock::now() + options_.rebroadcast_interval;
  Error last(Errc::kOutcomeUnknown, "no receipt yet");
  for (;;) {
    json receipt_params = json::array({hash_hex});
    auto r =
        co_await rpc_.request("eth_getTransactionReceipt", std::move(receipt_params), deadline);
    if (r && !r->error && !r->result.is_null()) {
      auto receipt = parse_receipt(r->result);
      if (!receipt)
        co_return receipt.error();
      co_return std::move(*receipt);
    }
    if (!r)
      last = r.error();
    if (!raw.empty() && Clock::now() >= next_rebroadcast) {
      next_rebroadcast = Clock::now() + options_.rebroadcast_interval;
      json known_params = json::array({hash_hex});
      auto known =
          co_await rpc_.request("eth_getTransactionByHash", std::move(known_params), deadline);
      if (known && !known->error && known->result.is_null()) {
        ++stats_.rebroadcasts;
        spdlog::info("tx {}: the node does not know it; sending it again", hash_hex);
        json resend_params = json::array({hex_data(raw)});
        co_await rpc_.request("eth_sendRawTransaction", std::move(resend_params), deadline);
      }
    }
    auto wake = std::min(deadline, Clock::now() + options_.receipt_poll_interval);
    if (Clock::now() >= deadline)
      break;
    co_await sleep_until(wake);
    if (Clock::now() >= deadline)
      break;
  }
  co_return Error(
      Errc::kOutcomeUnknown,
      "transaction " + hash_hex + " sent; no receipt by the deadline (" + last.message() + ")");
}

}  // namespace br2k::chain
