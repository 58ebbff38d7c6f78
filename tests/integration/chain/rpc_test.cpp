// RpcClient requests against a real anvil: over HTTP and over WebSocket, keep-alive, error
// objects, size limits, the chain-id check and configuration errors.
#include <gtest/gtest.h>

#include <br2k/chain/jsonrpc.hpp>
#include <br2k/chain/rpc_client.hpp>
#include <br2k/testing/anvil.hpp>

#include "chain_test.hpp"

namespace br2k::chain {
namespace {

using namespace std::chrono_literals;
using br2k::testing::Anvil;
using br2k::testing::AnvilOptions;
using testing::quantity;

class ChainRpc : public ::testing::Test, public testing::AsyncTest {
 protected:
  static void SetUpTestSuite() { anvil_ = new Anvil(); }
  static void TearDownTestSuite() {
    delete anvil_;
    anvil_ = nullptr;
  }

  Result<RpcReply> request(RpcClient& c, std::string method, Json params = Json::array(),
                           std::chrono::milliseconds timeout = 5000ms) {
    return run(c.request(std::move(method), std::move(params), deadline_after(timeout)));
  }
  Result<Json> call_json(RpcClient& c, std::string method, Json params = Json::array()) {
    return run(call(c, std::move(method), std::move(params), deadline_after(5000ms)));
  }

  static inline Anvil* anvil_ = nullptr;
};

TEST_F(ChainRpc, Http_AnswersChainIdAndBlockNumber) {
  RpcClient c(io_.get_executor(), {.http_endpoints = {anvil_->http_url()}});
  auto id = call_json(c, "eth_chainId");
  ASSERT_TRUE(id) << id.error();
  EXPECT_EQ(quantity(*id), 31337u);
  auto before = call_json(c, "eth_blockNumber");
  ASSERT_TRUE(before) << before.error();
  ASSERT_TRUE(call_json(c, "evm_mine"));
  auto after = call_json(c, "eth_blockNumber");
  ASSERT_TRUE(after) << after.error();
  EXPECT_EQ(quantity(*after), quantity(*before) + 1);
}

TEST_F(ChainRpc, Ws_RequestsGoOverWebSocketWhenNoHttpEndpoint) {
  RpcClient c(io_.get_executor(), {.ws_endpoints = {anvil_->ws_url()}});
  auto id = call_json(c, "eth_chainId");
  ASSERT_TRUE(id) << id.error();
  EXPECT_EQ(quantity(*id), 31337u);
  auto before = call_json(c, "eth_blockNumber");
  ASSERT_TRUE(before) << before.error();
  ASSERT_TRUE(call_json(c, "evm_mine"));
  auto after = call_json(c, "eth_blockNumber");
  ASSERT_TRUE(after) << after.error();
  EXPECT_EQ(quantity(*after), quantity(*before) + 1);
  auto health = c.health();
  ASSERT_EQ(health.size(), 1u);
  EXPECT_EQ(health[0].kind, EndpointKind::kWebSocket);
  EXPECT_TRUE(health[0].healthy);
  EXPECT_EQ(c.connections_opened(), 1u) << "one pooled WebSocket connection for all four calls";
}

TEST_F(ChainRpc, Http_SequentialCallsReuseOneConnection) {
  RpcClient c(io_.get_executor(), {.http_endpoints = {anvil_->http_url()}});
  const std::size_t sockets_before = testing::tcp_sockets_on_port(anvil_->port());
  constexpr int kCalls = 50;
  for (int k = 0; k < kCalls; ++k) {
    auto r = call_json(c, "eth_blockNumber");
    ASSERT_TRUE(r) << k << ": " << r.error();
  }
  EXPECT_EQ(c.connections_opened(), 1u);
  // Seen from the kernel, not from the client's own counter: one connection is two sockets (both
  // ends on loopback); a connection per call would leave ~2 x 50 sockets (most in TIME_WAIT).
  const std::size_t sockets_after = testing::tcp_sockets_on_port(anvil_->port());
  EXPECT_LE(sockets_after, sockets_before + 2)
      << "before " << sockets_before << ", after " << sockets_after;
}

TEST_F(ChainRpc, Ws_SequentialCallsReuseOneConnection) {
  RpcClient c(io_.get_executor(), {.ws_endpoints = {anvil_->ws_url()}});
  const std::size_t sockets_before = testing::tcp_sockets_on_port(anvil_->port());
  for (int k = 0; k < 50; ++k) {
    auto r = call_json(c, "eth_blockNumber");
    ASSERT_TRUE(r) << k << ": " << r.error();
  }
  EXPECT_EQ(c.connections_opened(), 1u);
  EXPECT_LE(testing::tcp_sockets_on_port(anvil_->port()), sockets_before + 2);
}

TEST_F(ChainRpc, ErrorObjectIsAReplyNotAFailure) {
  RpcClient c(io_.get_executor(), {.http_endpoints = {anvil_->http_url()}});
  auto nope = request(c, "eth_noSuchMethod");
  ASSERT_TRUE(nope) << nope.error();
  ASSERT_TRUE(nope->error);
  EXPECT_EQ(nope->error->code, -32601);
  EXPECT_EQ(nope->error->message, "Method not found");

  auto bad_params = request(c, "eth_getBalance", Json::array({"0xzz", "latest"}));
  ASSERT_TRUE(bad_params) << bad_params.error();
  ASSERT_TRUE(bad_params->error);
  EXPECT_EQ(bad_params->error->code, -32602);

  auto as_call = call_json(c, "eth_noSuchMethod");
  ASSERT_FALSE(as_call);
  EXPECT_TRUE(as_call.error().is(Errc::kServerError)) << as_call.error();
  EXPECT_EQ(as_call.error().detail, "eth_noSuchMethod: -32601 Method not found");

  // The node answered: it is not a failing endpoint.
  EXPECT_TRUE(c.health().at(0).healthy);
  EXPECT_EQ(c.connections_opened(), 1u);
}

TEST_F(ChainRpc, Ws_ErrorObjectIsAReply) {
  RpcClient c(io_.get_executor(), {.ws_endpoints = {anvil_->ws_url()}});
  auto nope = request(c, "eth_noSuchMethod");
  ASSERT_TRUE(nope) << nope.error();
  ASSERT_TRUE(nope->error);
  // anvil 1.7.1 over WebSocket answers an unknown method with -32602 ("data did not match any
  // variant of untagged enum EthRpcCall"), over HTTP with -32601.
  EXPECT_EQ(nope->error->code, -32602) << nope->error->message;
}

TEST_F(ChainRpc, ReplyOverTheLimitIsTooLarge) {
  for (bool ws : {false, true}) {
    // Not `(ws ? a : b) = {ws ? x() : y()}`: GCC 12 loses the string in that braced list.
    RpcClientOptions o;
    if (ws) {
      o.ws_endpoints = {anvil_->ws_url()};
    } else {
      o.http_endpoints = {anvil_->http_url()};
    }
    o.limits.body_limit = 200;  // a block with its header fields is well over 200 bytes
    RpcClient c(io_.get_executor(), o);
    auto small = request(c, "eth_chainId");
    ASSERT_TRUE(small) << small.error();
    auto t0 = Clock::now();
    auto block = request(c, "eth_getBlockByNumber", Json::array({"latest", false}));
    ASSERT_FALSE(block) << (ws ? "ws" : "http");
    EXPECT_TRUE(block.error().is(Errc::kTooLarge)) << block.error();
    EXPECT_LT(Clock::now() - t0, 1s) << "not retried: every node sends the same reply";
  }
}

TEST_F(ChainRpc, ChainId_MatchingEndpointIsUsed) {
  RpcClient c(io_.get_executor(), {.http_endpoints = {anvil_->http_url()}, .chain_id = 31337});
  for (int k = 0; k < 3; ++k) {
    auto r = call_json(c, "eth_blockNumber");
    ASSERT_TRUE(r) << r.error();
  }
  EXPECT_TRUE(c.health().at(0).healthy);
}

TEST_F(ChainRpc, ChainId_WrongChainIsInvalidArgument) {
  Anvil other(AnvilOptions{.chain_id = 999});
  for (bool ws : {false, true}) {
    RpcClientOptions o{.chain_id = 31337};
    if (ws) {
      o.ws_endpoints = {other.ws_url()};
    } else {
      o.http_endpoints = {other.http_url()};
    }
    RpcClient c(io_.get_executor(), o);
    auto t0 = Clock::now();
    auto r = request(c, "eth_blockNumber");
    ASSERT_FALSE(r);
    EXPECT_TRUE(r.error().is(Errc::kInvalidArgument)) << r.error();
    const std::string url = ws ? other.ws_url() : other.http_url();
    EXPECT_EQ(r.error().detail, "endpoint " + url + " serves chain 999, expected 31337");
    EXPECT_LT(Clock::now() - t0, 1s) << "no waiting for a wrong chain to change";
    if (ws) {
      auto s = run(c.subscribe(Json::array({"newHeads"}), deadline_after(5s)));
      ASSERT_FALSE(s);
      EXPECT_TRUE(s.error().is(Errc::kInvalidArgument)) << s.error();
    }
  }
}

TEST_F(ChainRpc, ChainId_WrongEndpointIsSkipped) {
  Anvil other(AnvilOptions{.chain_id = 999});
  RpcClient c(io_.get_executor(),
              {.http_endpoints = {other.http_url(), anvil_->http_url()}, .chain_id = 31337});
  for (int k = 0; k < 5; ++k) {
    auto id = call_json(c, "eth_chainId");
    ASSERT_TRUE(id) << id.error();
    EXPECT_EQ(quantity(*id), 31337u);
  }
  auto health = c.health();
  ASSERT_EQ(health.size(), 2u);
  EXPECT_FALSE(health[0].healthy);
  EXPECT_EQ(health[0].consecutive_failures, 1u) << "checked once, then passed over";
  EXPECT_NE(health[0].last_error.find("serves chain 999"), std::string::npos)
      << health[0].last_error;
  EXPECT_TRUE(health[1].healthy);
}

TEST_F(ChainRpc, HealthListsEndpointsWithoutTheirPaths) {
  RpcClient c(io_.get_executor(),
              {.http_endpoints = {"http://127.0.0.1:1/v3/secret-api-key", anvil_->http_url()},
               .ws_endpoints = {"wss://node.example:8546/ws/secret"}});
  auto health = c.health();
  ASSERT_EQ(health.size(), 3u);
  EXPECT_EQ(health[0].url, "http://127.0.0.1:1/...");
  EXPECT_EQ(health[0].kind, EndpointKind::kHttp);
  EXPECT_EQ(health[1].url, anvil_->http_url());
  EXPECT_EQ(health[2].url, "wss://node.example:8546/...");
  EXPECT_EQ(health[2].kind, EndpointKind::kWebSocket);
  for (const auto& h : health) {
    EXPECT_TRUE(h.healthy);
    EXPECT_EQ(h.consecutive_failures, 0u);
  }
  // The dead first endpoint's error names it without its secret path.
  auto r = request(c, "eth_chainId");
  ASSERT_TRUE(r) << r.error();
  health = c.health();
  EXPECT_FALSE(health[0].healthy);
  EXPECT_EQ(health[0].last_error.find("secret"), std::string::npos) << health[0].last_error;
}

TEST_F(ChainRpc, Constructor_RejectsBadConfiguration) {
  auto ex = io_.get_executor();
  auto make = [&](RpcClientOptions o) { RpcClient c(ex, std::move(o)); };
  EXPECT_THROW(make({}), std::invalid_argument);
  EXPECT_THROW(make({.http_endpoints = {"not a url"}}), std::invalid_argument);
  EXPECT_THROW(make({.http_endpoints = {"http://127.0.0.1:99999"}}), std::invalid_argument);
  EXPECT_THROW(make({.http_endpoints = {anvil_->ws_url()}}), std::invalid_argument);
  EXPECT_THROW(make({.ws_endpoints = {anvil_->http_url()}}), std::invalid_argument);
  RpcClientOptions zero_timeout{.http_endpoints = {anvil_->http_url()}};
  zero_timeout.attempt_timeout = 0ms;
  EXPECT_THROW(make(zero_timeout), std::invalid_argument);
  EXPECT_NO_THROW(make({.http_endpoints = {anvil_->http_url()}}));
}

}  // namespace
}  // namespace br2k::chain
