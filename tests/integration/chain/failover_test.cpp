// Endpoint failover on real anvil nodes: a killed node is left for the next within the deadline,
// a dead endpoint costs about one dial, and with every endpoint dead a call fails with
// kUnavailable before its deadline.
#include <gtest/gtest.h>

#include <br2k/chain/rpc_client.hpp>
#include <br2k/testing/anvil.hpp>

#include "chain_test.hpp"

namespace br2k::chain {
namespace {

using namespace std::chrono_literals;
using br2k::testing::Anvil;
using testing::dead_url;
using testing::quantity;

class ChainFailover : public ::testing::Test, public testing::AsyncTest {
 protected:
  Result<Json> call_json(RpcClient& c, std::string method, Deadline deadline) {
    return run(call(c, std::move(method), Json::array(), deadline));
  }
  // Tells two anvil nodes apart: a block mined on one only.
  Result<std::uint64_t> block_number(RpcClient& c) {
    auto r = call_json(c, "eth_blockNumber", deadline_after(3s));
    if (!r)
      return r.error();
    return quantity(*r);
  }
};

TEST_F(ChainFailover, KilledNode_CallsMoveToTheSecondWithinTheDeadline) {
  for (bool ws : {false, true}) {
    Anvil first;
    Anvil second;
    RpcClientOptions o{.attempt_timeout = 1000ms};
    if (ws) {
      o.ws_endpoints = {first.ws_url(), second.ws_url()};
    } else {
      o.http_endpoints = {first.http_url(), second.http_url()};
    }
    RpcClient c(io_.get_executor(), o);
    ASSERT_TRUE(call_json(c, "evm_mine", deadline_after(3s)));  // block 1, on the first only
    auto on_first = block_number(c);
    ASSERT_TRUE(on_first) << on_first.error();
    EXPECT_EQ(*on_first, 1u);

    first.kill();
    auto t0 = Clock::now();
    auto on_second = block_number(c);
    auto took = Clock::now() - t0;
    ASSERT_TRUE(on_second) << on_second.error();
    EXPECT_EQ(*on_second, 0u) << "answered by the second node";
    EXPECT_LT(took, 1s) << "a refused connection fails over at once";

    // Later calls stay on the second node without dialing the dead one again.
    for (int k = 0; k < 10; ++k) {
      auto r = block_number(c);
      ASSERT_TRUE(r) << r.error();
      EXPECT_EQ(*r, 0u);
    }
    auto health = c.health();
    EXPECT_FALSE(health[0].healthy);
    EXPECT_EQ(health[0].consecutive_failures, 1u);
    EXPECT_TRUE(health[1].healthy);
  }
}

TEST_F(ChainFailover, DeadFirstEndpoint_CostsAboutOneDial) {
  Anvil anvil;
  RpcClient c(io_.get_executor(), {.http_endpoints = {dead_url(), anvil.http_url()}});
  auto t0 = Clock::now();
  auto first = block_number(c);
  auto first_took = Clock::now() - t0;
  ASSERT_TRUE(first) << first.error();
  EXPECT_LT(first_took, 500ms);
  auto t1 = Clock::now();
  for (int k = 0; k < 20; ++k) {
    auto r = block_number(c);
    ASSERT_TRUE(r) << r.error();
  }
  EXPECT_LT(Clock::now() - t1, 2s);
  auto health = c.health();
  EXPECT_EQ(health[0].consecutive_failures, 1u) << "the dead endpoint was dialed once";
  EXPECT_FALSE(health[0].last_error.empty());
  EXPECT_EQ(c.connections_opened(), 1u) << "one connection to the live node, kept alive";
}

TEST_F(ChainFailover, AllEndpointsDead_UnavailableBeforeTheDeadline) {
  for (bool ws : {false, true}) {
    RpcClientOptions o;
    if (ws) {
      o.ws_endpoints = {dead_url("ws"), dead_url("ws")};
    } else {
      o.http_endpoints = {dead_url(), dead_url()};
    }
    RpcClient c(io_.get_executor(), o);
    const auto deadline = deadline_after(3s);
    auto r = call_json(c, "eth_blockNumber", deadline);
    ASSERT_FALSE(r);
    EXPECT_TRUE(r.error().is(Errc::kUnavailable)) << r.error();
    EXPECT_LT(Clock::now(), deadline) << "gave up before the deadline";
    for (const auto& h : c.health()) {
      EXPECT_FALSE(h.healthy);
      EXPECT_GE(h.consecutive_failures, 2u) << "retried once its quarantine ended";
    }
    // A second call right away does not fail instantly: it tries each endpoint once more.
    const auto failures_before = c.health()[0].consecutive_failures;
    auto again = call_json(c, "eth_blockNumber", deadline_after(500ms));
    ASSERT_FALSE(again);
    EXPECT_TRUE(again.error().is(Errc::kUnavailable)) << again.error();
    EXPECT_GT(c.health()[0].consecutive_failures, failures_before);
  }
}

TEST_F(ChainFailover, RestartedNodeIsUsedAgainDespiteItsQuarantine) {
  Anvil anvil;
  // A quarantine longer than a restart takes.
  RpcClient c(io_.get_executor(), {.http_endpoints = {anvil.http_url()},
                                   .endpoint_quarantine = 8000ms,
                                   .max_endpoint_quarantine = 10000ms});
  ASSERT_TRUE(block_number(c));
  anvil.kill();
  auto down = call_json(c, "eth_blockNumber", deadline_after(300ms));
  ASSERT_FALSE(down);
  anvil.restart();
  ASSERT_TRUE(c.health()[0].quarantined);
  // The only endpoint is quarantined, but a call tries it rather than failing at once.
  auto up = block_number(c);
  ASSERT_TRUE(up) << up.error();
  EXPECT_TRUE(c.health()[0].healthy);
}

TEST_F(ChainFailover, ShortDeadlineIsDeadlineExceeded) {
  RpcClient c(io_.get_executor(), {.http_endpoints = {dead_url()}});
  auto r = call_json(c, "eth_blockNumber", Clock::now());
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(Errc::kDeadlineExceeded)) << r.error();
}

}  // namespace
}  // namespace br2k::chain
