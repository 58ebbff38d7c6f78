// The JSON-RPC codec: replies and notifications as anvil and geth send them, and replies no node
// should send (each must be kMalformedReply, never an exception).
//
// Valid shapes: https://www.jsonrpc.org/specification sections 4-5; notifications:
// https://geth.ethereum.org/docs/interacting-with-geth/rpc/pubsub
#include <gtest/gtest.h>

#include <br2k/chain/jsonrpc.hpp>

namespace br2k::chain {
namespace {

TEST(JsonRpc, EncodesRequest) {
  auto text = encode_request(7, "eth_getBalance", Json::array({"0xab", "latest"}));
  EXPECT_EQ(text,
            R"({"jsonrpc":"2.0","id":7,"method":"eth_getBalance","params":["0xab","latest"]})");
  auto parsed = Json::parse(text);
  EXPECT_EQ(parsed["id"], 7);
}

TEST(JsonRpc, NullParamsAreSentAsEmptyArray) {
  EXPECT_EQ(encode_request(1, "eth_blockNumber", Json()),
            R"({"jsonrpc":"2.0","id":1,"method":"eth_blockNumber","params":[]})");
}

TEST(JsonRpc, MethodIsEscaped) {
  auto text = encode_request(1, "a\"b", Json::array());
  EXPECT_EQ(Json::parse(text)["method"], "a\"b");
}

TEST(JsonRpc, DecodesResult) {
  // Captured from anvil 1.7.1: eth_chainId.
  auto r = decode_reply(std::string_view(R"({"jsonrpc":"2.0","id":1,"result":"0x7a69"})"), 1);
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(r->result, "0x7a69");
  EXPECT_FALSE(r->error);
}

TEST(JsonRpc, NullResultIsAResult) {
  // Captured from anvil 1.7.1: eth_getTransactionReceipt of an unknown transaction.
  auto r = decode_reply(std::string_view(R"({"jsonrpc":"2.0","id":3,"result":null})"), 3);
  ASSERT_TRUE(r) << r.error();
  EXPECT_TRUE(r->result.is_null());
  EXPECT_FALSE(r->error);
}

TEST(JsonRpc, DecodesErrorObjectWithData) {
  // A reverting eth_call: the revert data is the error's data.
  auto r = decode_reply(
      std::string_view(
          R"({"jsonrpc":"2.0","id":9,"error":{"code":3,"message":"execution reverted","data":"0x08c379a0"}})"),
      9);
  ASSERT_TRUE(r) << r.error();
  ASSERT_TRUE(r->error);
  EXPECT_EQ(r->error->code, 3);
  EXPECT_EQ(r->error->message, "execution reverted");
  EXPECT_EQ(r->error->data, "0x08c379a0");
}

TEST(JsonRpc, ErrorWithoutDataHasNullData) {
  // Captured from anvil 1.7.1: an unknown method.
  auto r = decode_reply(
      std::string_view(
          R"({"jsonrpc":"2.0","id":2,"error":{"code":-32601,"message":"Method not found"}})"),
      2);
  ASSERT_TRUE(r) << r.error();
  ASSERT_TRUE(r->error);
  EXPECT_EQ(r->error->code, -32601);
  EXPECT_TRUE(r->error->data.is_null());
}

TEST(JsonRpc, NullIdIsAcceptedWithAnError) {
  // Section 5: a node that could not read the request's id answers with id null. Captured from
  // anvil 1.7.1, sent a body that is not JSON.
  auto r = decode_reply(
      std::string_view(
          R"({"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"Invalid request"}})"),
      4);
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(r->error->code, -32600);
}

TEST(JsonRpc, BadRepliesAreMalformed) {
  struct Case {
    const char* what;
    const char* text;
  };
  const Case kCases[] = {
      {"not JSON", "<html>502 Bad Gateway</html>"},
      {"empty", ""},
      {"truncated", R"({"jsonrpc":"2.0","id":1,"res)"},
      {"an array (batch reply)", R"([{"jsonrpc":"2.0","id":1,"result":"0x1"}])"},
      {"a string", R"("0x1")"},
      {"no jsonrpc member", R"({"id":1,"result":"0x1"})"},
      {"JSON-RPC 1.0", R"({"jsonrpc":"1.0","id":1,"result":"0x1"})"},
      {"jsonrpc a number", R"({"jsonrpc":2.0,"id":1,"result":"0x1"})"},
      {"wrong id", R"({"jsonrpc":"2.0","id":2,"result":"0x1"})"},
      {"id as a string", R"({"jsonrpc":"2.0","id":"1","result":"0x1"})"},
      {"id as a float", R"({"jsonrpc":"2.0","id":1.5,"result":"0x1"})"},
      {"no id", R"({"jsonrpc":"2.0","result":"0x1"})"},
      {"null id with a result", R"({"jsonrpc":"2.0","id":null,"result":"0x1"})"},
      {"both result and error",
       R"({"jsonrpc":"2.0","id":1,"result":"0x1","error":{"code":1,"message":"x"}})"},
      {"neither result nor error", R"({"jsonrpc":"2.0","id":1})"},
      {"error a string", R"({"jsonrpc":"2.0","id":1,"error":"boom"})"},
      {"error code a string",
       R"({"jsonrpc":"2.0","id":1,"error":{"code":"-32000","message":"x"}})"},
      {"error code a float", R"({"jsonrpc":"2.0","id":1,"error":{"code":-32000.5,"message":"x"}})"},
      {"error code too big",
       R"({"jsonrpc":"2.0","id":1,"error":{"code":18446744073709551615,"message":"x"}})"},
      {"error without code", R"({"jsonrpc":"2.0","id":1,"error":{"message":"x"}})"},
      {"error without message", R"({"jsonrpc":"2.0","id":1,"error":{"code":-32000}})"},
      {"error message a number", R"({"jsonrpc":"2.0","id":1,"error":{"code":-32000,"message":5}})"},
  };
  for (const auto& c : kCases) {
    Result<RpcReply> r = Error();
    EXPECT_NO_THROW(r = decode_reply(std::string_view(c.text), 1)) << c.what;
    ASSERT_FALSE(r) << c.what;
    EXPECT_TRUE(r.error().is(Errc::kMalformedReply)) << c.what << ": " << r.error();
  }
}

TEST(JsonRpc, MalformedDetailIsBounded) {
  std::string huge = R"({"jsonrpc":"2.0","id":2,"result":")" + std::string(100000, 'a') + "\"}";
  auto r = decode_reply(std::string_view(huge), 1);
  ASSERT_FALSE(r);
  EXPECT_LT(r.error().detail.size(), 300u);
}

// Regression (fuzz/corpus/jsonrpc_fuzz/regression_deep_nesting): a reply nested thousands of
// levels deep parsed, and the excerpt of a malformed-reply error (dump(), recursive) then
// overflowed the stack. Deep nesting is now refused as malformed before parsing.
TEST(JsonRpc, DeeplyNestedRepliesAreMalformedNotAStackOverflow) {
  // The reply object and `depth` arrays inside it: depth + 1 levels.
  auto nested = [](std::size_t depth) {
    return R"({"jsonrpc":"2.0","id":1,"result":)" + std::string(depth, '[') +
           std::string(depth, ']') + "}";
  };
  for (std::size_t depth : {128u, 10'000u, 1'000'000u}) {
    auto r = decode_reply(std::string_view(nested(depth)), 1);
    ASSERT_FALSE(r) << depth;
    EXPECT_TRUE(r.error().is(Errc::kMalformedReply)) << r.error();
    auto parsed = parse_json(std::string(depth, '{'));
    ASSERT_FALSE(parsed);
    EXPECT_TRUE(parsed.error().is(Errc::kMalformedReply));
  }
  // 128 levels are accepted, and brackets inside strings do not count.
  auto ok = decode_reply(std::string_view(nested(127)), 1);
  ASSERT_TRUE(ok) << ok.error();
  EXPECT_FALSE(decode_quantity(ok->result));
  const std::string in_string =
      R"({"jsonrpc":"2.0","id":1,"result":")" + std::string(1000, '[') + R"(\"]"})";
  EXPECT_TRUE(decode_reply(std::string_view(in_string), 1));
}

TEST(JsonRpc, ResultIsMovedNotCopied) {
  Json message = Json::parse(R"({"jsonrpc":"2.0","id":1,"result":{"logs":[1,2,3]}})");
  auto r = decode_reply(std::move(message), 1);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->result["logs"].size(), 3u);
}

TEST(JsonRpc, DecodesNotification) {
  // A newHeads notification in the shape of geth's pubsub documentation (header trimmed).
  Json message = Json::parse(
      R"({"jsonrpc":"2.0","method":"eth_subscription","params":{"subscription":"0x9cef478923ff08bf67fde6c64013158d","result":{"number":"0x1b4","hash":"0xdc0818cf"}}})");
  ASSERT_TRUE(is_notification(message));
  auto n = decode_notification(std::move(message));
  ASSERT_TRUE(n) << n.error();
  EXPECT_EQ(n->subscription, "0x9cef478923ff08bf67fde6c64013158d");
  EXPECT_EQ(n->result["number"], "0x1b4");
}

TEST(JsonRpc, ReplyIsNotANotification) {
  EXPECT_FALSE(is_notification(Json::parse(R"({"jsonrpc":"2.0","id":1,"result":"0x1"})")));
  EXPECT_FALSE(is_notification(Json::parse("[1]")));
}

TEST(JsonRpc, BadNotificationsAreMalformed) {
  const char* kCases[] = {
      R"({"jsonrpc":"2.0","method":"eth_other","params":{"subscription":"0x1","result":1}})",
      R"({"jsonrpc":"2.0","method":"eth_subscription","params":[1]})",
      R"({"jsonrpc":"2.0","method":"eth_subscription","params":{"result":1}})",
      R"({"jsonrpc":"2.0","method":"eth_subscription","params":{"subscription":1,"result":1}})",
      R"({"jsonrpc":"2.0","method":"eth_subscription","params":{"subscription":"0x1"}})",
      R"({"method":"eth_subscription","params":{"subscription":"0x1","result":1}})",
  };
  for (const char* text : kCases) {
    auto n = decode_notification(Json::parse(text));
    ASSERT_FALSE(n) << text;
    EXPECT_TRUE(n.error().is(Errc::kMalformedReply)) << text;
  }
}

TEST(JsonRpc, DecodesQuantity) {
  EXPECT_EQ(decode_quantity("0x7a69").value(), 31337u);
  EXPECT_EQ(decode_quantity("0x0").value(), 0u);
  EXPECT_EQ(decode_quantity("0xffffffffffffffff").value(), 0xffffffffffffffffull);
  for (Json bad : {Json("7a69"), Json("0x"), Json("0xzz"), Json("0x10000000000000000"), Json(5),
                   Json(nullptr)}) {
    auto q = decode_quantity(bad);
    ASSERT_FALSE(q) << bad;
    EXPECT_TRUE(q.error().is(Errc::kMalformedReply)) << bad;
  }
}

}  // namespace
}  // namespace br2k::chain
