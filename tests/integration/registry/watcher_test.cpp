// The registry watcher against a real anvil node: exactly-once delivery live, across forced
// WebSocket disconnects, across an endpoint restart with a second endpoint, in polling mode, with
// confirmations, and through a chain reorganisation.
#include <br2k/registry/watcher.hpp>
#include <br2k/testing/tcp_relay.hpp>

#include "registry_test_base.hpp"

namespace br2k::testing {
namespace {

using chain::Json;
using registry::Watcher;

class WatcherTest : public RegistryTestBase {
 protected:
  void SetUp() override {
    RegistryTestBase::SetUp();
    register_service("svc-a");
    register_service("svc-b");
  }
  void TearDown() override {
    if (watcher_)
      watcher_->stop();
    pump_for(std::chrono::milliseconds(50));
  }

  // Starts a watcher from now on, over its own RPC client with the given endpoints.
  void start_watcher(std::vector<std::string> http, std::vector<std::string> ws,
                     registry::WatcherOptions options = {}) {
    chain::RpcClientOptions rpc_options;
    rpc_options.http_endpoints = std::move(http);
    rpc_options.ws_endpoints = std::move(ws);
    rpc_options.attempt_timeout = std::chrono::milliseconds(1000);
    watch_rpc_ = std::make_unique<chain::RpcClient>(io_.get_executor(), rpc_options);
    options.contract = registry_->contract();
    options.call_timeout = std::chrono::milliseconds(3000);
    if (options.poll_interval == std::chrono::milliseconds(1000))
      options.poll_interval = std::chrono::milliseconds(100);
    options.resubscribe_interval = std::chrono::milliseconds(300);
    watcher_ = Watcher::create(io_.get_executor(), *watch_rpc_, options,
                               [this](const registry::Event& e) { events_.push_back(e); });
    watcher_->start();
    // From now on: wait until the watcher has its starting block.
    ASSERT_TRUE(run([&]() -> Task<bool> {
      for (int i = 0; i < 500 && !watcher_->cursor(); ++i)
        co_await sleep_for(std::chrono::milliseconds(10));
      co_return watcher_->cursor().has_value();
    }()));
  }

  void update(std::uint64_t epoch, std::string_view service = "svc-a") {
    auto r = run(registry_->update_location(id(service), "http://leader-" + std::to_string(epoch),
                                            epoch, deadline()));
    ASSERT_TRUE(r) << r.error();
  }

  // Waits until `n` events arrived, then a little longer to catch duplicates.
  void wait_for_events(std::size_t n, std::chrono::seconds limit = std::chrono::seconds(20)) {
    run([&]() -> Task<void> {
      auto until = Clock::now() + limit;
      while (events_.size() < n && Clock::now() < until)
        co_await sleep_for(std::chrono::milliseconds(10));
    }());
    pump_for(std::chrono::milliseconds(400));
  }

  // The epochs of the NewLocation events delivered, in delivery order.
  std::vector<std::uint64_t> epochs() const {
    std::vector<std::uint64_t> out;
    for (const auto& e : events_)
      if (auto* n = std::get_if<registry::NewLocationEvent>(&e.body); n && !e.log.removed)
        out.push_back(n->epoch);
    return out;
  }

  static std::vector<std::uint64_t> range(std::uint64_t from, std::uint64_t to) {
    std::vector<std::uint64_t> v;
    for (auto i = from; i <= to; ++i)
      v.push_back(i);
    return v;
  }

  std::unique_ptr<chain::RpcClient> watch_rpc_;
  std::shared_ptr<Watcher> watcher_;
  std::vector<registry::Event> events_;
};

TEST_F(WatcherTest, LiveSubscriptionDeliversEveryEventOnceInOrder) {
  start_watcher({anvil_.http_url()}, {anvil_.ws_url()});
  for (std::uint64_t e = 1; e <= 10; ++e)
    update(e);
  auto user = std::make_unique<chain::TxSender>(*rpc_, key(kThirdKey), registry_sender_options());
  registry::RegistryClient as_user(*rpc_, registry_->contract(), user.get());
  ASSERT_TRUE(run(as_user.send_claim(id("svc-a"), "http://leader-10", 10, "down", deadline())));
  wait_for_events(11);
  EXPECT_EQ(watcher_->mode(), Watcher::Mode::kLive);
  EXPECT_EQ(epochs(), range(1, 10));
  ASSERT_EQ(events_.size(), 11u);
  const auto* claim = std::get_if<registry::ClaimEvent>(&events_.back().body);
  ASSERT_NE(claim, nullptr);
  EXPECT_EQ(claim->claimer, user->address());
  EXPECT_EQ(claim->failed_epoch, 10u);
  EXPECT_EQ(watcher_->stats().subscriptions, 1u);
}

TEST_F(WatcherTest, ForcedWebSocketDisconnectsWhileEventsAreEmittedLoseNothing) {
  TcpRelay relay(anvil_.port());
  start_watcher({anvil_.http_url()}, {relay.url("ws")});
  for (std::uint64_t e = 1; e <= 30; ++e) {
    update(e);
    if (e % 5 == 0)
      relay.drop_connections();
  }
  wait_for_events(30);
  EXPECT_EQ(epochs(), range(1, 30));
  EXPECT_GE(watcher_->stats().subscriptions, 3u);
}

TEST_F(WatcherTest, RestartOfItsEndpointMovesItToTheSecondWithoutLossOrRepeat) {
  TcpRelay a(anvil_.port());
  TcpRelay b(anvil_.port());
  start_watcher({a.url("http"), b.url("http")}, {a.url("ws"), b.url("ws")});
  for (std::uint64_t e = 1; e <= 10; ++e)
    update(e);
  wait_for_events(10);
  a.stop();  // the endpoint in use goes down: connections reset, new ones refused
  for (std::uint64_t e = 11; e <= 20; ++e)
    update(e);
  wait_for_events(20);
  a.start();  // and comes back
  for (std::uint64_t e = 21; e <= 30; ++e)
    update(e);
  wait_for_events(30);
  EXPECT_EQ(epochs(), range(1, 30));
  EXPECT_GE(watcher_->stats().subscriptions, 2u);
  EXPECT_GE(b.accepted(), 1u);
}

TEST_F(WatcherTest, PollingModeDeliversTheSame) {
  registry::WatcherOptions options;
  options.polling_only = true;
  start_watcher({anvil_.http_url()}, {anvil_.ws_url()}, options);
  for (std::uint64_t e = 1; e <= 10; ++e)
    update(e);
  wait_for_events(10);
  EXPECT_EQ(watcher_->mode(), Watcher::Mode::kPolling);
  EXPECT_EQ(epochs(), range(1, 10));
  EXPECT_EQ(watcher_->stats().subscriptions, 0u);
}

TEST_F(WatcherTest, WithoutAWebSocketEndpointItPolls) {
  start_watcher({anvil_.http_url()}, {});
  for (std::uint64_t e = 1; e <= 5; ++e)
    update(e);
  wait_for_events(5);
  EXPECT_EQ(watcher_->mode(), Watcher::Mode::kPolling);
  EXPECT_EQ(epochs(), range(1, 5));
}

TEST_F(WatcherTest, FiltersByService) {
  registry::WatcherOptions options;
  options.service = id("svc-b");
  start_watcher({anvil_.http_url()}, {anvil_.ws_url()}, options);
  update(1, "svc-a");
  update(1, "svc-b");
  update(2, "svc-a");
  update(2, "svc-b");
  wait_for_events(2);
  ASSERT_EQ(events_.size(), 2u);
  for (const auto& e : events_)
    EXPECT_EQ(std::get<registry::NewLocationEvent>(e.body).id, id("svc-b"));
  EXPECT_EQ(epochs(), range(1, 2));
}

TEST_F(WatcherTest, BackFillsFromAGivenBlock) {
  // Events before the watcher starts are delivered when it starts from an earlier block.
  for (std::uint64_t e = 1; e <= 3; ++e)
    update(e);
  registry::WatcherOptions options;
  options.from_block = 0;
  options.service = id("svc-a");
  start_watcher({anvil_.http_url()}, {anvil_.ws_url()}, options);
  wait_for_events(4);
  EXPECT_EQ(epochs(), range(0, 3));  // registration's epoch 0, then 1..3
}

TEST_F(WatcherTest, ConfirmationsHoldAnEventUntilBlocksAreBuiltOnIt) {
  registry::WatcherOptions options;
  options.confirmations = 2;
  start_watcher({anvil_.http_url()}, {anvil_.ws_url()}, options);
  update(1);
  pump_for(std::chrono::milliseconds(500));
  EXPECT_TRUE(events_.empty());
  ASSERT_TRUE(run(chain::call(*rpc_, "evm_mine", Json::array(), deadline())));
  pump_for(std::chrono::milliseconds(500));
  EXPECT_TRUE(events_.empty());
  ASSERT_TRUE(run(chain::call(*rpc_, "evm_mine", Json::array(), deadline())));
  wait_for_events(1);
  EXPECT_EQ(epochs(), range(1, 1));
}

TEST_F(WatcherTest, AReorganisationReportsOrphanedEventsAsRemovedAndDeliversTheNewOnes) {
  start_watcher({anvil_.http_url()}, {anvil_.ws_url()});
  update(1);
  auto snapshot = run(chain::call(*rpc_, "evm_snapshot", Json::array(), deadline()));
  ASSERT_TRUE(snapshot) << snapshot.error();
  update(2);  // will be orphaned
  wait_for_events(2);
  ASSERT_EQ(epochs(), range(1, 2));
  // Back to the snapshot: the block holding epoch 2 leaves the chain; a different history is
  // built in its place, longer than the old one.
  ASSERT_TRUE(run(chain::call(*rpc_, "evm_revert", Json::array({*snapshot}), deadline())));
  // The account's nonce went back with the chain: a new sender reads it afresh.
  auto contract = registry_->contract();
  sender_ = std::make_unique<chain::TxSender>(*rpc_, key(Anvil::kDevPrivateKey),
                                              registry_sender_options());
  registry_ = std::make_unique<registry::RegistryClient>(*rpc_, contract, sender_.get());
  update(3);
  ASSERT_TRUE(run(chain::call(*rpc_, "evm_mine", Json::array(), deadline())));
  wait_for_events(4);
  std::vector<std::pair<std::uint64_t, bool>> seen;
  for (const auto& e : events_)
    seen.emplace_back(std::get<registry::NewLocationEvent>(e.body).epoch, e.log.removed);
  const std::vector<std::pair<std::uint64_t, bool>> expected = {
      {1, false}, {2, false}, {2, true}, {3, false}};
  EXPECT_EQ(seen, expected);
  EXPECT_EQ(watcher_->stats().reorgs, 1u);
}

}  // namespace
}  // namespace br2k::testing
