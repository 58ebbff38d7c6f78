// JSON-RPC 2.0 requests, replies and notifications. See jsonrpc.hpp.
#include <br2k/chain/jsonrpc.hpp>
#include <br2k/core/json_guard.hpp>
#include <br2k/eth/types.hpp>
#include <limits>

namespace br2k::chain {
namespace {

Error malformed(std::string what) {
  return Error(Errc::kMalformedReply, std::move(what));
}

// A short, bounded excerpt of a value for error details (a bad reply can be megabytes).
std::string excerpt(const Json& value) {
  std::string text = value.dump();
  constexpr std::size_t kMax = 80;
  if (text.size() > kMax) {
    text.resize(kMax);
    text += "...";
  }
  return text;
}

// Replies nested deeper than kMaxJsonDepth are refused before parsing: see json_guard.hpp.

Result<RpcError> decode_error_object(Json& error) {
  if (!error.is_object())
    return malformed("JSON-RPC error is not an object: " + excerpt(error));
  auto code = error.find("code");
  if (code == error.end() || !code->is_number_integer())
    return malformed("JSON-RPC error code is not an integer: " + excerpt(error));
  if (code->is_number_unsigned() &&
      code->get<std::uint64_t>() > std::uint64_t(std::numeric_limits<std::int64_t>::max())) {
    return malformed("JSON-RPC error code out of range: " + excerpt(error));
  }
  auto message = error.find("message");
  if (message == error.end() || !message->is_string())
    return malformed("JSON-RPC error message is not a string: " + excerpt(error));
  RpcError e;
  e.code = code->get<std::int64_t>();
  e.message = std::move(message->get_ref<std::string&>());
  if (auto data = error.find("data"); data != error.end())
    e.data = std::move(*data);
  return e;
}

}  // namespace

std::string encode_request(std::uint64_t id, std::string_view method, const Json& params) {
  // Concatenated rather than built as a Json object so that params are serialized once and never
  // copied into a temporary tree.
  std::string text = R"({"jsonrpc":"2.0","id":)";
  text += std::to_string(id);
  text += R"(,"method":)";
  text += Json(method).dump();
  text += R"(,"params":)";
  text += params.is_null() ? std::string("[]") : params.dump();
  text += '}';
  return text;
}

Result<Json> parse_json(std::string_view text) {
  if (json_nests_deeper_than(text, kMaxJsonDepth))
    return malformed("reply nests deeper than " + std::to_string(kMaxJsonDepth) + " levels");
  Json value = Json::parse(text, /*cb=*/nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded()) {
    std::string head(text.substr(0, 60));
    return malformed("reply is not JSON: '" + head + (text.size() > 60 ? "...'" : "'"));
  }
  return json_value(std::move(value));
}

Result<RpcReply> decode_reply(Json&& message, std::uint64_t id) {
  if (!message.is_object())
    return malformed("reply is not a JSON object: " + excerpt(message));
  auto version = message.find("jsonrpc");
  if (version == message.end() || *version != "2.0")
    return malformed("reply is not JSON-RPC 2.0: " + excerpt(message));
  auto result = message.find("result");
  auto error = message.find("error");
  const bool has_result = result != message.end();
  const bool has_error = error != message.end();
  if (has_result == has_error) {
    return malformed(std::string("reply has ") +
                     (has_result ? "both result and error" : "neither") + ": " + excerpt(message));
  }
  auto reply_id = message.find("id");
  if (reply_id == message.end())
    return malformed("reply has no id: " + excerpt(message));
  const bool id_matches = reply_id->is_number_integer() && *reply_id == Json(id);
  if (!id_matches && !(reply_id->is_null() && has_error)) {
    return malformed("reply id " + excerpt(*reply_id) + " does not match request id " +
                     std::to_string(id));
  }
  RpcReply reply;
  if (has_result) {
    reply.result = std::move(*result);
    return reply;
  }
  auto e = decode_error_object(*error);
  if (!e)
    return e.error();
  reply.error = std::move(*e);
  return reply;
}

Result<RpcReply> decode_reply(std::string_view text, std::uint64_t id) {
  auto message = parse_json(text);
  if (!message)
    return message.error();
  return decode_reply(std::move(*message), id);
}

bool is_notification(const Json& message) {
  return message.is_object() && message.contains("method");
}

Result<Notification> decode_notification(Json&& message) {
  if (!message.is_object())
    return malformed("notification is not a JSON object: " + excerpt(message));
  auto version = message.find("jsonrpc");
  auto method = message.find("method");
  auto params = message.find("params");
  if (version == message.end() || *version != "2.0" || method == message.end() ||
      *method != "eth_subscription" || params == message.end() || !params->is_object()) {
    return malformed("not an eth_subscription notification: " + excerpt(message));
  }
  auto subscription = params->find("subscription");
  auto result = params->find("result");
  if (subscription == params->end() || !subscription->is_string() || result == params->end()) {
    return malformed("notification without subscription or result: " + excerpt(message));
  }
  Notification n;
  n.subscription = std::move(subscription->get_ref<std::string&>());
  n.result = std::move(*result);
  return n;
}

Result<std::uint64_t> decode_quantity(const Json& value) {
  if (!value.is_string())
    return malformed("quantity is not a string: " + excerpt(value));
  const auto& text = value.get_ref<const std::string&>();
  if (text.size() < 3 || text[0] != '0' || (text[1] != 'x' && text[1] != 'X'))
    return malformed("quantity is not 0x-prefixed hex: " + excerpt(value));
  auto word = eth::U256::from_hex(text);
  if (!word)
    return malformed("bad quantity " + excerpt(value) + ": " + word.error().detail);
  auto n = word->to_uint64();
  if (!n)
    return malformed("quantity " + text + " does not fit 64 bits");
  return *n;
}

}  // namespace br2k::chain
