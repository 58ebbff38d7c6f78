// call(): a JSON-RPC error object becomes kServerError "<method>: <code> <message>"; transport
// errors pass through. Driven by a fake Rpc (the seam the SDK's users also fake).
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <br2k/chain/rpc.hpp>

namespace br2k::chain {
namespace {

class CannedRpc final : public Rpc {
 public:
  explicit CannedRpc(Result<RpcReply> reply) : reply_(std::move(reply)) {}
  Task<Result<RpcReply>> request(std::string method, Json params, Deadline) override {
    last_method = std::move(method);
    last_params = std::move(params);
    co_return reply_;
  }
  Task<Result<std::unique_ptr<Subscription>>> subscribe(Json, Deadline) override {
    co_return Error(Errc::kUnavailable, "not here");
  }
  std::string last_method;
  Json last_params;

 private:
  Result<RpcReply> reply_;
};

Result<Json> run_call(Rpc& rpc, std::string method, Json params) {
  boost::asio::io_context io;
  auto fut = boost::asio::co_spawn(
      io, call(rpc, std::move(method), std::move(params), deadline_after(std::chrono::seconds(1))),
      boost::asio::use_future);
  io.run();
  return fut.get();
}

TEST(Call, ReturnsTheResult) {
  RpcReply reply;
  reply.result = "0x10";
  CannedRpc rpc(reply);
  auto r = run_call(rpc, "eth_blockNumber", Json::array());
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(*r, "0x10");
  EXPECT_EQ(rpc.last_method, "eth_blockNumber");
  EXPECT_EQ(rpc.last_params, Json::array());
}

TEST(Call, ErrorObjectBecomesServerError) {
  RpcReply reply;
  reply.error = RpcError{.code = -32601, .message = "Method not found"};
  CannedRpc rpc(reply);
  auto r = run_call(rpc, "eth_nope", Json::array());
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(Errc::kServerError)) << r.error();
  EXPECT_EQ(r.error().detail, "eth_nope: -32601 Method not found");
}

TEST(Call, TransportErrorPassesThrough) {
  CannedRpc rpc(Error(Errc::kUnavailable, "all down"));
  auto r = run_call(rpc, "eth_chainId", Json::array());
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(Errc::kUnavailable));
  EXPECT_EQ(r.error().detail, "all down");
}

}  // namespace
}  // namespace br2k::chain
