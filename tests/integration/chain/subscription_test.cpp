// eth_subscribe over WebSocket on real anvil nodes: newHeads in order, deadlines, close and
// destruction while next() waits, a consumer that falls behind, a killed or frozen node, and
// subscribe's own failover and errors.
#include <gtest/gtest.h>
#include <signal.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <br2k/chain/rpc_client.hpp>
#include <br2k/testing/anvil.hpp>
#include <optional>

#include "chain_test.hpp"

namespace br2k::chain {
namespace {

using namespace std::chrono_literals;
using br2k::testing::Anvil;
using testing::dead_url;
using testing::quantity;

// Runs next() in the background and records its outcome.
Task<void> next_into(Subscription* s, Deadline deadline, std::optional<Result<Json>>* out) {
  auto r = co_await s->next(deadline);
  *out = std::move(r);
}

// Resumes a SIGSTOPped node however the test ends.
struct Resume {
  pid_t pid;
  ~Resume() { ::kill(pid, SIGCONT); }
};

class ChainSubscription : public ::testing::Test, public testing::AsyncTest {
 protected:
  static void SetUpTestSuite() { anvil_ = new Anvil(); }
  static void TearDownTestSuite() {
    delete anvil_;
    anvil_ = nullptr;
  }

  RpcClient client(const Anvil& a, RpcClientOptions o = {}) {
    o.http_endpoints = {a.http_url()};
    if (o.ws_endpoints.empty())
      o.ws_endpoints = {a.ws_url()};
    return RpcClient(io_.get_executor(), o);
  }
  std::unique_ptr<Subscription> subscribe_heads(RpcClient& c) {
    auto s = run(c.subscribe(Json::array({"newHeads"}), deadline_after(5s)));
    EXPECT_TRUE(s) << s.error();
    return s ? std::move(*s) : nullptr;
  }
  std::uint64_t mine(RpcClient& c) {
    auto r = run(call(c, "evm_mine", Json::array(), deadline_after(5s)));
    EXPECT_TRUE(r) << r.error();
    auto n = run(call(c, "eth_blockNumber", Json::array(), deadline_after(5s)));
    EXPECT_TRUE(n) << n.error();
    return n ? quantity(*n) : 0;
  }

  static inline Anvil* anvil_ = nullptr;
};

TEST_F(ChainSubscription, NewHeads_ArriveInOrder) {
  auto c = client(*anvil_);
  auto sub = subscribe_heads(c);
  ASSERT_TRUE(sub);
  EXPECT_EQ(sub->endpoint(), anvil_->ws_url());
  std::vector<std::uint64_t> mined;
  for (int k = 0; k < 5; ++k)
    mined.push_back(mine(c));
  for (auto want : mined) {
    auto head = run(sub->next(deadline_after(5s)));
    ASSERT_TRUE(head) << head.error();
    EXPECT_EQ(quantity(head->at("number")), want);
    EXPECT_TRUE(head->contains("hash"));
  }
}

TEST_F(ChainSubscription, NextHitsItsDeadlineAndStaysUsable) {
  auto c = client(*anvil_);
  auto sub = subscribe_heads(c);
  ASSERT_TRUE(sub);
  auto t0 = Clock::now();
  auto none = run(sub->next(deadline_after(200ms)));
  auto took = Clock::now() - t0;
  ASSERT_FALSE(none);
  EXPECT_TRUE(none.error().is(Errc::kDeadlineExceeded)) << none.error();
  EXPECT_GE(took, 200ms);
  EXPECT_LT(took, 1s);
  auto n = mine(c);
  auto head = run(sub->next(deadline_after(5s)));
  ASSERT_TRUE(head) << head.error();
  EXPECT_EQ(quantity(head->at("number")), n);
}

TEST_F(ChainSubscription, Close_EndsAPendingNextWithCancelled) {
  auto c = client(*anvil_);
  auto sub = subscribe_heads(c);
  ASSERT_TRUE(sub);
  std::optional<Result<Json>> got;
  boost::asio::co_spawn(io_, next_into(sub.get(), deadline_after(10s), &got),
                        boost::asio::detached);
  pump_for(100ms);
  EXPECT_FALSE(got);
  sub->close();
  ASSERT_TRUE(pump_until([&] { return got.has_value(); }, 2000ms));
  ASSERT_FALSE(*got);
  EXPECT_TRUE(got->error().is(Errc::kCancelled)) << got->error();
  auto after = run(sub->next(deadline_after(1s)));
  ASSERT_FALSE(after);
  EXPECT_TRUE(after.error().is(Errc::kCancelled)) << after.error();
}

TEST_F(ChainSubscription, Destruction_EndsAPendingNextWithCancelled) {
  auto c = client(*anvil_);
  auto sub = subscribe_heads(c);
  ASSERT_TRUE(sub);
  std::optional<Result<Json>> got;
  boost::asio::co_spawn(io_, next_into(sub.get(), deadline_after(10s), &got),
                        boost::asio::detached);
  pump_for(100ms);
  sub.reset();
  ASSERT_TRUE(pump_until([&] { return got.has_value(); }, 2000ms));
  ASSERT_FALSE(*got);
  EXPECT_TRUE(got->error().is(Errc::kCancelled)) << got->error();
  // Blocks mined after the destruction find no reader left behind.
  mine(c);
  pump_for(200ms);
}

TEST_F(ChainSubscription, SlowConsumer_EndsWithOverflowInsteadOfGrowing) {
  auto c = client(*anvil_, {.subscription_queue_limit = 3});
  auto sub = subscribe_heads(c);
  ASSERT_TRUE(sub);
  std::vector<std::uint64_t> mined;
  for (int k = 0; k < 6; ++k)
    mined.push_back(mine(c));
  pump_for(300ms);
  for (int k = 0; k < 3; ++k) {
    auto head = run(sub->next(deadline_after(1s)));
    ASSERT_TRUE(head) << k << ": " << head.error();
    EXPECT_EQ(quantity(head->at("number")), mined[static_cast<std::size_t>(k)]);
  }
  auto over = run(sub->next(deadline_after(1s)));
  ASSERT_FALSE(over);
  EXPECT_TRUE(over.error().is(Errc::kUnavailable)) << over.error();
  EXPECT_NE(over.error().detail.find("subscription overflow"), std::string::npos) << over.error();
  EXPECT_TRUE(c.health().at(1).healthy) << "the consumer's fault, not the node's";
}

TEST_F(ChainSubscription, KilledNode_NextFailsPromptly) {
  Anvil own;
  auto c = client(own);
  auto sub = subscribe_heads(c);
  ASSERT_TRUE(sub);
  own.kill();
  auto t0 = Clock::now();
  auto r = run(sub->next(deadline_after(10s)));
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(Errc::kUnavailable)) << r.error();
  EXPECT_LT(Clock::now() - t0, 1s);
  EXPECT_FALSE(c.health().at(1).healthy) << "the lost connection marks its endpoint";
}

TEST_F(ChainSubscription, FrozenNode_IsDetectedByPings) {
  Anvil own;
  auto c = client(own, {.ws_idle_timeout = 1000ms});
  auto sub = subscribe_heads(c);
  ASSERT_TRUE(sub);
  ASSERT_EQ(::kill(own.pid(), SIGSTOP), 0);
  Resume resume{own.pid()};
  auto t0 = Clock::now();
  auto r = run(sub->next(deadline_after(10s)));
  auto took = Clock::now() - t0;
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(Errc::kUnavailable)) << r.error();
  EXPECT_LT(took, 3s) << "a ping unanswered for the idle timeout ends it";
}

TEST_F(ChainSubscription, NoWebSocketEndpoint_IsUnavailable) {
  RpcClient c(io_.get_executor(), {.http_endpoints = {anvil_->http_url()}});
  auto t0 = Clock::now();
  auto s = run(c.subscribe(Json::array({"newHeads"}), deadline_after(5s)));
  ASSERT_FALSE(s);
  EXPECT_TRUE(s.error().is(Errc::kUnavailable)) << s.error();
  EXPECT_LT(Clock::now() - t0, 100ms);
}

TEST_F(ChainSubscription, DeadFirstEndpoint_SubscribesOnTheSecond) {
  auto c = client(*anvil_, {.ws_endpoints = {dead_url("ws"), anvil_->ws_url()}});
  auto sub = subscribe_heads(c);
  ASSERT_TRUE(sub);
  EXPECT_EQ(sub->endpoint(), anvil_->ws_url());
  auto n = mine(c);
  auto head = run(sub->next(deadline_after(5s)));
  ASSERT_TRUE(head) << head.error();
  EXPECT_EQ(quantity(head->at("number")), n);
  EXPECT_FALSE(c.health().at(1).healthy);
}

TEST_F(ChainSubscription, RefusedSubscription_IsServerError) {
  auto c = client(*anvil_);
  auto s = run(c.subscribe(Json::array({"noSuchKind"}), deadline_after(5s)));
  ASSERT_FALSE(s);
  EXPECT_TRUE(s.error().is(Errc::kServerError)) << s.error();
  EXPECT_TRUE(c.health().at(1).healthy) << "the node answered";
}

}  // namespace
}  // namespace br2k::chain
