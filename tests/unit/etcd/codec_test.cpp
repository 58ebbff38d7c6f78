// The JSON gateway codec: replies captured from etcd 3.4.23, and malformed or truncated replies.
#include <gtest/gtest.h>

#include <br2k/core/bytes.hpp>
#include <br2k/etcd/codec.hpp>
#include <nlohmann/json.hpp>

namespace br2k::etcd {
namespace {

// Captured from `curl http://127.0.0.1:2379/v3/kv/range -d '{"key":"Zm9v"}'` on etcd 3.4.23.
constexpr const char* kRangeReply =
    R"({"header":{"cluster_id":"15118495548433857066","member_id":"13668033151171901709",)"
    R"("revision":"2","raft_term":"2"},"kvs":[{"key":"Zm9v","create_revision":"2",)"
    R"("mod_revision":"2","version":"1","value":"YmFy"}],"count":"1"})";

TEST(Codec, DecodesRangeReplyFromEtcd) {
  auto r = codec::decode_range(kRangeReply);
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(r->header.cluster_id, 15118495548433857066ull);
  EXPECT_EQ(r->header.revision, 2);
  ASSERT_EQ(r->kvs.size(), 1u);
  EXPECT_EQ(r->kvs[0].key, "foo");
  EXPECT_EQ(r->kvs[0].value, "bar");
  EXPECT_EQ(r->kvs[0].create_revision, 2);
  EXPECT_EQ(r->kvs[0].version, 1);
  EXPECT_EQ(r->count, 1);
  EXPECT_FALSE(r->more);
}

TEST(Codec, OmittedFieldsAreProto3Defaults) {
  auto r = codec::decode_range(R"({"header":{"revision":"9"}})");
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->kvs.empty());
  EXPECT_EQ(r->count, 0);
}

TEST(Codec, DecodesTxnWithBothResponseKinds) {
  // Captured from etcd 3.4.23: a put with prev_kv and a range in the success branch.
  auto r = codec::decode_txn(
      R"({"header":{"revision":"4"},"succeeded":true,"responses":[{"response_put":{"header":)"
      R"({"revision":"4"},"prev_kv":{"key":"Zm9v","create_revision":"2","mod_revision":"3",)"
      R"("version":"2","value":"YmF6"}}},{"response_range":{"header":{"revision":"4"},"kvs":)"
      R"([{"key":"Zm9v","create_revision":"2","mod_revision":"4","version":"3","value":"eA=="}],)"
      R"("count":"1"}}]})");
  ASSERT_TRUE(r) << r.error();
  EXPECT_TRUE(r->succeeded);
  ASSERT_EQ(r->responses.size(), 2u);
  const auto& put = std::get<PutResponse>(r->responses[0]);
  ASSERT_TRUE(put.prev_kv);
  EXPECT_EQ(put.prev_kv->value, "baz");
  const auto& range = std::get<RangeResponse>(r->responses[1]);
  EXPECT_EQ(range.kvs.at(0).value, "x");
}

TEST(Codec, DecodesWatchMessages) {
  auto created =
      codec::decode_watch_message(R"({"result":{"header":{"revision":"2"},"created":true}})");
  ASSERT_TRUE(created);
  EXPECT_TRUE(created->created);
  auto events = codec::decode_watch_message(
      R"({"result":{"header":{"revision":"5"},"events":[{"kv":{"key":"Zm9v","mod_revision":"3",)"
      R"("value":"YmF6"}},{"type":"DELETE","kv":{"key":"Zm9v","mod_revision":"5"}}]}})");
  ASSERT_TRUE(events);
  ASSERT_EQ(events->events.size(), 2u);
  EXPECT_EQ(events->events[0].type, Event::Type::kPut);
  EXPECT_EQ(events->events[1].type, Event::Type::kDelete);
  EXPECT_EQ(events->events[1].kv.mod_revision, 5);
  auto compacted = codec::decode_watch_message(
      R"({"result":{"header":{"raft_term":"2"},"canceled":true,"compact_revision":"3"}})");
  ASSERT_TRUE(compacted);
  EXPECT_TRUE(compacted->canceled);
  EXPECT_EQ(compacted->compact_revision, 3);
}

TEST(Codec, MalformedRepliesGiveTypedErrors) {
  const char* kBad[] = {
      "",                                                      // empty
      "not json",                                              // not JSON
      "[1,2]",                                                 // not an object
      R"({"header":{"revision":"2")",                          // truncated
      R"({"header":{"revision":"abc"}})",                      // integer that is not one
      R"({"header":{"revision":true}})",                       // wrong type
      R"({"kvs":[{"key":"%%%"}]})",                            // key not base64
      R"({"kvs":{"key":"Zm9v"}})",                             // kvs not an array
      R"({"header":{"revision":"99999999999999999999999"}})",  // overflow
  };
  for (const char* body : kBad) {
    auto r = codec::decode_range(body);
    ASSERT_FALSE(r) << body;
    EXPECT_TRUE(r.error().is(Errc::kMalformedReply)) << body << " -> " << r.error();
  }
  EXPECT_TRUE(codec::decode_watch_message(R"({"result":{"events":[{"type":"X","kv":{}}]}})")
                  .error()
                  .is(Errc::kMalformedReply));
  EXPECT_TRUE(codec::decode_watch_message(R"({"error":{"grpc_code":14,"message":"no leader"}})")
                  .error()
                  .is(Errc::kMalformedReply));
  EXPECT_TRUE(codec::decode_lease_keep_alive(R"({"ID":"1"})").error().is(Errc::kMalformedReply));
  EXPECT_TRUE(codec::decode_auth_token(R"({"token":""})").error().is(Errc::kMalformedReply));
}

// Regression (fuzz/corpus/etcd_codec_fuzz/regression_deep_watch_error): a watch line whose
// error is an array nested thousands of levels deep was dump()ed for the error detail, which
// recursed until the stack overflowed. Replies nested deeper than 128 levels are now malformed.
TEST(Codec, DeeplyNestedRepliesAreMalformedNotAStackOverflow) {
  for (std::size_t depth : {10'000u, 1'000'000u}) {
    const std::string line =
        R"({"error":)" + std::string(depth, '[') + std::string(depth, ']') + "}";
    auto r = codec::decode_watch_message(line);
    ASSERT_FALSE(r) << depth;
    EXPECT_TRUE(r.error().is(Errc::kMalformedReply)) << r.error();
  }
  const std::string deep_range = R"({"kvs":)" + std::string(200, '[') + std::string(200, ']') + "}";
  EXPECT_TRUE(codec::decode_range(deep_range).error().is(Errc::kMalformedReply));
  EXPECT_EQ(codec::decode_gateway_error(503, std::string(100'000, '[')).grpc_code, -1);
  auto flat = codec::decode_watch_message(R"({"error":"no leader"})");
  ASSERT_FALSE(flat);
  EXPECT_NE(flat.error().detail.find("no leader"), std::string::npos) << flat.error();
}

TEST(Codec, MapsGatewayErrorsToTypedErrors) {
  struct Case {
    unsigned status;
    const char* body;
    Errc want;
  };
  // Bodies as etcd 3.4.23's gateway sends them.
  const Case kCases[] = {
      {400, R"({"error":"etcdserver: mvcc: required revision has been compacted","code":11})",
       Errc::kCompacted},
      {404, R"({"error":"etcdserver: requested lease not found","code":5})", Errc::kNotFound},
      {400, R"({"error":"invalid character 'a'","code":3})", Errc::kInvalidArgument},
      {400, R"({"error":"etcdserver: too many operations in txn request","code":3})",
       Errc::kTooLarge},
      {503, R"({"error":"etcdserver: no leader","code":14})", Errc::kUnavailable},
      {503, R"({"error":"etcdserver: request timed out","code":14})", Errc::kOutcomeUnknown},
      // A watch refused before its stream starts (the member has no raft leader).
      {503,
       R"({"error":{"grpc_code":14,"http_code":503,"message":"etcdserver: no leader",)"
       R"("http_status":"Service Unavailable"}})",
       Errc::kUnavailable},
      {403, R"({"error":"etcdserver: permission denied","code":7})", Errc::kPermissionDenied},
      {400,
       R"({"error":"etcdserver: authentication failed, invalid user ID or password","code":3})",
       Errc::kAuthFailed},
      {401, R"({"error":"etcdserver: invalid auth token","code":16})", Errc::kAuthFailed},
      {500, R"({"error":"boom","code":13})", Errc::kServerError},
      {400,
       "CommonName of client sending a request against gateway will be ignored and not used as "
       "expected\n",
       Errc::kAuthFailed},
      {404, "Not Found\n", Errc::kMalformedReply},
      {502, R"({"error":"truncat)", Errc::kMalformedReply},
  };
  for (const auto& c : kCases) {
    auto e = codec::to_error(codec::decode_gateway_error(c.status, c.body));
    EXPECT_TRUE(e.is(c.want)) << c.body << " -> " << e;
  }
}

TEST(Codec, EncodesRequestsInTheGatewaysShape) {
  TxnRequest t;
  t.compare.push_back(Compare::create_revision("leader", Compare::Op::kEqual, 7));
  t.compare.push_back(Compare::value_of("log_size", Compare::Op::kEqual, "41"));
  t.success.push_back(PutRequest{.key = "log/42", .value = "x", .lease = 5});
  t.failure.push_back(RangeRequest::single("leader"));
  auto j = codec::encode(t);
  EXPECT_EQ(j["compare"][0]["target"], "CREATE");
  EXPECT_EQ(j["compare"][0]["create_revision"], "7");
  EXPECT_EQ(j["compare"][1]["target"], "VALUE");
  EXPECT_EQ(j["compare"][1]["value"], to_base64("41"));
  EXPECT_EQ(j["success"][0]["request_put"]["key"], to_base64("log/42"));
  EXPECT_EQ(j["success"][0]["request_put"]["lease"], "5");
  EXPECT_EQ(j["failure"][0]["request_range"]["key"], to_base64("leader"));
}

TEST(Codec, PrefixRangeEndIncrementsLastByte) {
  EXPECT_EQ(prefix_range_end("/br2k/a/"), "/br2k/a0");
  EXPECT_EQ(prefix_range_end("a\xff"), "b");
  EXPECT_EQ(prefix_range_end("\xff\xff"), std::string(1, '\0'));
  EXPECT_EQ(RangeRequest::prefix("log/").range_end, "log0");
}

}  // namespace
}  // namespace br2k::etcd
