// Fuzz target: what BR2K reads from Ethereum JSON-RPC nodes (sdk/include/br2k/chain/jsonrpc.hpp,
// types.hpp): replies, eth_subscription notifications, and the logs, block headers, receipts,
// quantities and data inside their results.
//
// Input: one message as a node would send it (an HTTP reply body or a WebSocket frame).
// Properties: nothing crashes or throws; every refusal is kMalformedReply; parsing the text and
// decoding the value agree with decoding the text.
#include <br2k/chain/jsonrpc.hpp>
#include <br2k/chain/types.hpp>
#include <cstddef>
#include <cstdint>
#include <utility>

#include "fuzz_check.hpp"

namespace {

using br2k::Errc;
using br2k::fuzz::check;
namespace chain = br2k::chain;
using chain::Json;

template <class R>
void expect_typed(const R& r, const char* what) {
  if (!r)
    check(r.error().is(Errc::kMalformedReply), what);
}

// A result as the registry client and the watcher take it apart.
void read_result(const Json& result) {
  expect_typed(chain::decode_quantity(result), "decode_quantity: not kMalformedReply");
  expect_typed(chain::parse_log(result), "parse_log: not kMalformedReply");
  expect_typed(chain::parse_block_header(result), "parse_block_header: not kMalformedReply");
  expect_typed(chain::parse_receipt(result), "parse_receipt: not kMalformedReply");
  // eth_call returns data; a revert's data sits in the error object (see read_error).
  const Json wrapped = {{"data", result}};
  expect_typed(chain::parse_data(wrapped, "data"), "parse_data: not kMalformedReply");
  expect_typed(chain::parse_hash(wrapped, "data"), "parse_hash: not kMalformedReply");
  expect_typed(chain::parse_quantity_u256(wrapped, "data"), "parse_quantity_u256: not typed");
  // eth_getLogs: a list of logs.
  if (result.is_array()) {
    std::size_t n = 0;
    for (const auto& item : result) {
      if (++n > 64)
        break;
      expect_typed(chain::parse_log(item), "parse_log (list): not kMalformedReply");
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto text = br2k::fuzz::text(data, size);

  // The request id a reply is checked against: 1, or the reply's own id when it is one.
  auto parsed = chain::parse_json(text);
  std::uint64_t id = 1;
  if (parsed && parsed->is_object()) {
    auto it = parsed->find("id");
    if (it != parsed->end() && it->is_number_unsigned())
      id = it->get<std::uint64_t>();
  }

  auto from_text = chain::decode_reply(text, id);
  expect_typed(from_text, "decode_reply(text): not kMalformedReply");
  if (!parsed) {
    check(parsed.error().is(Errc::kMalformedReply), "parse_json: not kMalformedReply");
    check(!from_text, "decode_reply accepts text parse_json refuses");
    return 0;
  }

  if (chain::is_notification(*parsed)) {
    auto n = chain::decode_notification(Json(*parsed));
    expect_typed(n, "decode_notification: not kMalformedReply");
    if (n)
      read_result(n->result);
  }

  auto reply = chain::decode_reply(std::move(*parsed), id);
  expect_typed(reply, "decode_reply(json): not kMalformedReply");
  check(bool(reply) == bool(from_text), "decode_reply of the text and of its JSON disagree");
  if (!reply)
    return 0;
  if (reply->error) {
    const Json wrapped = {{"data", reply->error->data}};
    expect_typed(chain::parse_data(wrapped, "data"), "parse_data (revert): not kMalformedReply");
  } else {
    read_result(reply->result);
  }
  return 0;
}
