// JSON-RPC 2.0 messages as Ethereum nodes speak them: building requests, checking replies and
// subscription notifications.
//
// https://www.jsonrpc.org/specification (request, response, error object) and, for
// notifications, https://geth.ethereum.org/docs/interacting-with-geth/rpc/pubsub
//
// No I/O. Decoders never throw on bad input: anything a node should not send is kMalformedReply.
// Thread-safety: pure functions.
#pragma once

#include <br2k/chain/rpc.hpp>
#include <br2k/core/error.hpp>
#include <cstdint>
#include <string>
#include <string_view>

namespace br2k::chain {

// The text of `{"jsonrpc":"2.0","id":<id>,"method":<method>,"params":<params>}`. Null params are
// sent as [] (some nodes refuse a missing or null params member).
std::string encode_request(std::uint64_t id, std::string_view method, const Json& params);

// JSON text to a value. Errors: kMalformedReply (not JSON, empty, or nested deeper than 128
// levels).
Result<Json> parse_json(std::string_view text);

// Checks that `message` is the reply to request `id` and takes it apart, moving the result (which
// may be large: logs, blocks) out of `message` rather than copying it.
// A valid reply is an object with "jsonrpc": "2.0", the request's id, and exactly one of "result"
// or "error"; an error is an object with an integer "code" and a string "message". A null id is
// accepted only with an error (the node could not read the request's id: JSON-RPC 2.0 section 5).
// Errors: kMalformedReply naming what is wrong.
Result<RpcReply> decode_reply(Json&& message, std::uint64_t id);
// The same from JSON text.
Result<RpcReply> decode_reply(std::string_view text, std::uint64_t id);

// One eth_subscription notification:
// {"jsonrpc":"2.0","method":"eth_subscription","params":{"subscription":"0x..","result":..}}
struct Notification {
  std::string subscription;
  Json result;
};

// True when `message` is a notification (it has a "method" member) rather than a reply.
bool is_notification(const Json& message);

// Takes a notification apart, moving its result out of `message`.
// Errors: kMalformedReply when it is not a well-formed eth_subscription notification.
Result<Notification> decode_notification(Json&& message);

// A JSON-RPC quantity ("0x7a69") that fits 64 bits, e.g. eth_chainId's result.
// Errors: kMalformedReply when it is not a hex string or does not fit.
Result<std::uint64_t> decode_quantity(const Json& value);

}  // namespace br2k::chain
