// Ethereum JSON-RPC: the calls and subscriptions BR2K makes to chain nodes.
//
// https://ethereum.org/en/developers/docs/apis/json-rpc/ and, for eth_subscribe,
// https://geth.ethereum.org/docs/interacting-with-geth/rpc/pubsub
//
// `Rpc` is the seam the transaction sender, the registry client and the watcher use: RpcClient is
// the real one (HTTP keep-alive and WebSocket endpoints with failover); tests may pass a fake.
//
// Thread-safety: an Rpc and its subscriptions are used from coroutines on one single-threaded
// executor (an io_context run by one thread, or a strand).
#pragma once

#include <br2k/core/error.hpp>
#include <br2k/net/task.hpp>
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace br2k::chain {

using Json = nlohmann::json;

// Result<Json> holding a value. nlohmann::json converts implicitly to nearly any type (Error
// included), which makes Result<Json>'s converting constructors ambiguous: say which side it is.
inline Result<Json> json_value(Json value) {
  return Result<Json>(boost::system::in_place_value, std::move(value));
}

// The "error" member of a JSON-RPC response: the node answered and refused. For eth_call and
// eth_estimateGas of a reverting call, `data` holds the revert data as a hex string.
struct RpcError {
  std::int64_t code = 0;
  std::string message;
  Json data;  // null when absent
};

// What a node answered: exactly one of a result (possibly null) or an error object.
struct RpcReply {
  Json result;
  std::optional<RpcError> error;
};

// One live eth_subscribe subscription. It ends when its connection is lost; subscribe again
// (and back-fill what was missed: a subscription never replays).
class Subscription {
 public:
  Subscription() = default;
  Subscription(const Subscription&) = delete;
  Subscription& operator=(const Subscription&) = delete;
  // Unsubscribes (best effort) and closes its connection.
  virtual ~Subscription() = default;

  // The next notification's `result` (a log object for "logs", a block header for "newHeads").
  // Waits until `deadline`; kDeadlineExceeded leaves the subscription usable.
  // Errors: kDeadlineExceeded, kUnavailable (connection lost, or the consumer fell too far
  // behind: the subscription is over), kCancelled (after close()), kMalformedReply, kTooLarge (a
  // notification over the size limit). Notifications received before a loss are delivered first.
  // REQUIRES: one next() at a time.
  virtual Task<Result<Json>> next(Deadline deadline) = 0;
  // Ends the subscription; a pending next() completes with kCancelled.
  virtual void close() = 0;
  // The endpoint (URL) it lives on, for logs and status.
  virtual const std::string& endpoint() const = 0;
};

class Rpc {
 public:
  Rpc() = default;
  Rpc(const Rpc&) = delete;
  Rpc& operator=(const Rpc&) = delete;
  virtual ~Rpc() = default;

  // Sends one request and returns the node's reply; a JSON-RPC error object is a reply, not an
  // Error. At least once: after a transport failure the request may be sent again to another
  // endpoint, so callers only send requests that are safe to repeat (every eth_ method BR2K uses
  // is: a signed transaction resent is the same transaction).
  // Errors: kUnavailable (no endpoint answered), kDeadlineExceeded, kMalformedReply,
  // kInvalidArgument (every endpoint serves another chain than the configured chain id).
  virtual Task<Result<RpcReply>> request(std::string method, Json params, Deadline deadline) = 0;

  // eth_subscribe with `params` (["logs", {filter}] or ["newHeads"]) on a WebSocket endpoint.
  // Errors: as request(); kUnavailable also when no WebSocket endpoint is configured or works;
  // kServerError when the node refuses the subscription.
  virtual Task<Result<std::unique_ptr<Subscription>>> subscribe(Json params, Deadline deadline) = 0;
};

// request() whose error object becomes Error{kServerError, "<method>: <code> <message>"}.
Task<Result<Json>> call(Rpc& rpc, std::string method, Json params, Deadline deadline);

}  // namespace br2k::chain
