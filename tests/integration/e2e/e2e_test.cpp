// End to end: real br2k-server nodes beside a real etcd cluster, the registry on a real anvil,
// and clients going through br2k-proxy (a process) or the SDK's ServiceClient (in process).
// Issue 5's tests: zero client-visible failures across leader kills with every acknowledged write
// applied exactly once; the switch to a new leader from each source (event, replica hint, chain
// lookup); one claim per failed location; stale locations ignored; bad requests refused.
#include <gtest/gtest.h>

#include <br2k/chain/rpc_client.hpp>
#include <br2k/client/blocking_client.hpp>
#include <br2k/client/service_client.hpp>
#include <br2k/eth/key.hpp>
#include <br2k/local/local_cluster.hpp>
#include <br2k/registry/watcher.hpp>
#include <br2k/testing/http.hpp>
#include <br2k/testing/ports.hpp>
#include <br2k/testing/process.hpp>
#include <br2k/testing/temp_dir.hpp>
#include <br2k/testing/wait.hpp>
#include <fstream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "../async_test.hpp"
#include "../net/raw_http.hpp"

namespace br2k::testing {
namespace {

namespace http = boost::beast::http;
using json = nlohmann::json;
using local::LocalCluster;
using local::LocalClusterOptions;
using local::LocalProxy;
using namespace std::chrono_literals;

LocalClusterOptions options(std::string app = "numbers") {
  LocalClusterOptions o;
  o.app = std::move(app);
  o.server_binary = BR2K_SERVER_BIN;
  return o;
}

local::LocalProxyOptions proxy_options(std::vector<std::string> extra = {}) {
  local::LocalProxyOptions o;
  o.proxy_binary = BR2K_PROXY_BIN;
  o.extra_args = std::move(extra);
  return o;
}

HttpResponse send(const std::string& url, std::string method = "GET", std::string body = {},
                  std::vector<std::string> headers = {}, std::chrono::milliseconds timeout = 35s) {
  HttpRequest r;
  r.url = url;
  r.method = std::move(method);
  r.body = std::move(body);
  r.headers = std::move(headers);
  r.timeout = timeout;
  return http_request(r);
}

// Waits until every node runs, has applied the same entries and holds the same state.
bool replicas_identical(LocalCluster& c) {
  return wait_until(
      30s,
      [&] {
        std::set<std::string> states;
        for (int i = 0; i < c.size(); ++i) {
          auto r = send(c.node_url(i) + "/-/br2k/state", "GET", {}, {}, 1s);
          if (r.status != 200)
            return false;
          auto j = json::parse(r.body);
          states.insert(j["hash"].get<std::string>() + j["applied"].dump());
        }
        return states.size() == 1;
      },
      200ms);
}

class E2ETest : public ::testing::Test, public AsyncTest {
 protected:
  void TearDown() override {
    for (auto& c : clients_)
      c->stop();
    pump_for(50ms);
  }

  struct Change {
    std::string url;
    std::uint64_t epoch = 0;
    client::Source source{};
  };

  std::shared_ptr<client::ServiceClient> make_client(LocalCluster& c, bool ws_alive = true) {
    client::ServiceClientOptions o;
    o.service = registry::parse_service_id(c.options().service).value();
    o.registry = eth::parse_address(c.registry()).value();
    o.rpc.http_endpoints = {c.anvil()->http_url()};
    // A dead WebSocket endpoint: a port nobody listens on.
    o.rpc.ws_endpoints = {ws_alive ? c.anvil()->ws_url()
                                   : "ws://127.0.0.1:" + std::to_string(free_port())};
    o.event_poll_interval = ws_alive ? 1000ms : 600'000ms;  // no polling fallback to speak of
    o.request_timeout = 20s;
    o.attempt_timeout = 2s;
    auto client = client::ServiceClient::create(io_.get_executor(), o);
    client->on_location_change([this](const auto&, const registry::Location& l, client::Source s) {
      changes_.push_back({l.url, l.epoch, s});
    });
    client->start();
    clients_.push_back(client);
    return client;
  }

  Result<net::HttpResponse> request(client::ServiceClient& c, http::verb verb, std::string target,
                                    std::string body = {}) {
    net::HttpRequest r{verb, target, 11};
    r.body() = std::move(body);
    if (!r.body().empty())
      r.set(http::field::content_type, "application/json");
    return run(c.request(std::move(r)));
  }

  bool eventually(const std::function<bool()>& pred, std::chrono::milliseconds limit = 20s) {
    auto until = Clock::now() + limit;
    while (!pred() && Clock::now() < until)
      pump_for(20ms);
    return pred();
  }

  std::vector<std::shared_ptr<client::ServiceClient>> clients_;
  std::vector<Change> changes_;
};

TEST_F(E2ETest, ThroughTheProxyLeaderKillsCostNoRequestAndEveryWriteIsAppliedOnce) {
  LocalCluster c(options("numbers"));
  LocalProxy proxy(c, proxy_options());
  std::atomic<bool> done{false};
  std::mutex mu;
  std::map<std::uint64_t, long> outcome;  // value -> status
  std::vector<std::thread> clients;
  for (int t = 0; t < 3; ++t) {
    clients.emplace_back([&, t] {
      for (std::uint64_t i = 1; !done; ++i) {
        const std::uint64_t value = (t + 1) * 1'000'000 + i;
        auto r = send(proxy.url() + "/numbers", "POST", json{{"value", value}}.dump(),
                      {"Content-Type: application/json"});
        {
          std::lock_guard lock(mu);
          outcome[value] = r.status;
        }
        std::this_thread::sleep_for(50ms);
      }
    });
  }
  for (int kill = 0; kill < 3; ++kill) {
    std::this_thread::sleep_for(2s);
    const int leader = c.wait_leader(20s);
    c.kill_node(leader);
    c.wait_leader(20s, leader);
    std::this_thread::sleep_for(1s);
    c.start_node(leader);
  }
  std::this_thread::sleep_for(1s);
  done = true;
  for (auto& t : clients)
    t.join();

  std::size_t failed = 0;
  for (const auto& [v, status] : outcome)
    failed += status != 200;
  EXPECT_EQ(failed, 0u) << "of " << outcome.size();
  EXPECT_GT(outcome.size(), 50u);
  auto list = send(proxy.url() + "/numbers");
  ASSERT_EQ(list.status, 200) << list.body;
  const auto body = json::parse(list.body);
  std::map<std::uint64_t, int> applied;
  for (const auto& v : body["values"])
    ++applied[v.get<std::uint64_t>()];
  for (const auto& [v, status] : outcome) {
    if (status == 200) {
      EXPECT_EQ(applied[v], 1) << "acknowledged value " << v;
    }
  }
  for (const auto& [v, n] : applied)
    EXPECT_EQ(n, 1) << "value " << v << " applied " << n << " times";
  EXPECT_TRUE(replicas_identical(c));
  auto status = json::parse(proxy.status());
  EXPECT_GE(status["failovers"].get<int>(), 3) << status.dump();
}

// HTTPS replicas (br2k-server --tls-cert): the proxy verifies their certificates against
// --tls-ca, follows the leader across a kill, and a body larger than one TLS record goes through.
TEST_F(E2ETest, ThroughTheProxyToHttpsReplicasAcrossALeaderKill) {
  auto o = options("kv");
  o.tls = true;
  LocalCluster c(o);
  LocalProxy proxy(c, proxy_options());
  const std::string big(60'000, 'b');  // more than one TLS record; the kv app takes 64 KB
  auto put = send(proxy.url() + "/kv/big", "PUT", big);
  ASSERT_EQ(put.status, 200) << put.body;
  const int first = c.wait_leader(20s);
  ASSERT_TRUE(c.node_url(first).starts_with("https://")) << c.node_url(first);
  EXPECT_EQ(json::parse(proxy.status())["leader"], c.node_url(first));
  c.kill_node(first);
  for (int i = 0; i < 5; ++i) {
    auto r = send(proxy.url() + "/kv/k" + std::to_string(i), "PUT", "v" + std::to_string(i));
    EXPECT_EQ(r.status, 200) << r.body;
  }
  const int second = c.wait_leader(20s, first);
  EXPECT_NE(second, first);
  auto get = send(proxy.url() + "/kv/big");
  ASSERT_EQ(get.status, 200) << get.body;
  EXPECT_EQ(json::parse(get.body)["value"].get<std::string>(), big);
  EXPECT_EQ(json::parse(proxy.status())["leader"], c.node_url(second));
  // A node answers plain HTTP with nothing (it waits for a TLS ClientHello).
  EXPECT_EQ(send("http://127.0.0.1:" + std::to_string(c.node_port(second)) + "/-/br2k/health",
                 "GET", {}, {}, 2s)
                .status,
            0);
}

TEST_F(E2ETest, AnIdleClientSwitchesOnTheNewLocationEvent) {
  LocalCluster c(options("kv"));
  const int first = c.wait_leader(20s);
  ASSERT_TRUE(wait_until(20s, [&] { return c.registry_location().second == c.epoch_of(first); }));
  auto client = make_client(c);
  ASSERT_TRUE(eventually(
      [&] { return client->location() && client->location()->url == c.node_url(first); }));
  c.kill_node(first);
  const int second = c.wait_leader(20s, first);
  // No request is made: only the event can tell the client.
  ASSERT_TRUE(eventually([&] { return client->location()->url == c.node_url(second); }))
      << "location " << client->location()->url;
  EXPECT_EQ(changes_.back().source, client::Source::kEvent);
  EXPECT_EQ(changes_.back().epoch, c.epoch_of(second));
  EXPECT_EQ(client->stats().hints, 0u);
  auto r = request(*client, http::verb::put, "/kv/a", "1");
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(r->result_int(), 200);
}

TEST_F(E2ETest, AReplicaHintBeatsASlowChain) {
  auto dbg = options("kv");
  if (const char* d = std::getenv("BR2K_E2E_DIR"))
    dbg.dir = d;
  LocalCluster c(dbg);
  const int first = c.wait_leader(20s);
  ASSERT_TRUE(wait_until(20s, [&] { return c.registry_location().second == c.epoch_of(first); }));
  // The leader's replies name every replica (BR2K-Replicas) once all have registered.
  ASSERT_TRUE(wait_until(20s, [&] { return json::parse(c.status(first))["members"].size() == 3; }))
      << c.status(first);
  auto client = make_client(c);
  auto r = request(*client, http::verb::put, "/kv/a", "1");
  ASSERT_TRUE(r && r->result_int() == 200);
  // From now on no block is mined: the new leader's publication waits in the mempool.
  auto automine = json_rpc(c.anvil()->http_url(), "evm_setAutomine", "[false]");
  ASSERT_EQ(automine.status, 200);
  ASSERT_EQ(automine.body.find("error"), std::string::npos) << automine.body;
  const auto events_before = client->stats().events;
  const auto first_epoch = c.epoch_of(first);
  c.kill_node(first);
  r = request(*client, http::verb::put, "/kv/b", "2");
  ASSERT_TRUE(r) << r.error() << "\n" << testing::file_tail(c.node_log((first + 1) % 3), 20);
  EXPECT_EQ(r->result_int(), 200);
  const int second = c.wait_leader(5s);
  EXPECT_EQ(client->location()->url, c.node_url(second));
  EXPECT_EQ(changes_.back().source, client::Source::kHint);
  EXPECT_EQ(client->stats().events, events_before);
  EXPECT_EQ(c.registry_location().second, first_epoch);  // the chain has not moved yet
  // The block comes later; the client stays where it is.
  const auto failovers = client->stats().failovers;
  ASSERT_EQ(json_rpc(c.anvil()->http_url(), "evm_mine").status, 200);
  EXPECT_TRUE(eventually([&] { return client->stats().events > events_before; }));
  EXPECT_EQ(client->location()->url, c.node_url(second));
  EXPECT_EQ(client->stats().failovers, failovers);
}

TEST_F(E2ETest, WithTheWebSocketEndpointDeadGetServiceLocationFindsTheNewLeader) {
  LocalCluster c(options("kv"));
  const int first = c.wait_leader(20s);
  ASSERT_TRUE(wait_until(20s, [&] { return c.registry_location().second == c.epoch_of(first); }));
  auto client = make_client(c, /*ws_alive=*/false);
  ASSERT_TRUE(eventually([&] { return client->location().has_value(); }));
  // The client never got a reply, so it knows no replica to ask: only the chain can tell it.
  c.kill_node(first);
  auto r = request(*client, http::verb::put, "/kv/a", "1");
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(r->result_int(), 200);
  const int second = c.wait_leader(5s);
  EXPECT_EQ(client->location()->url, c.node_url(second));
  EXPECT_EQ(changes_.back().source, client::Source::kChain);
  EXPECT_EQ(client->stats().events, 0u);
  EXPECT_EQ(client->stats().hints, 0u);
  EXPECT_GE(client->stats().chain_lookups, 2u);
}

TEST_F(E2ETest, AStaleLocationOnChainIsIgnored) {
  auto o = options("kv");
  o.publish = false;  // the chain keeps the registration's location (epoch 0)
  LocalCluster c(o);
  const int leader = c.wait_leader(20s);
  auto client = make_client(c);
  auto r = request(*client, http::verb::put, "/kv/a", "1");
  ASSERT_TRUE(r && r->result_int() == 200);
  const auto epoch = client->location()->epoch;
  ASSERT_EQ(client->location()->url, c.node_url(leader));
  ASSERT_GT(epoch, 1u);
  // A late publication with an epoch below the one the client has seen (higher than the chain's).
  {
    chain::RpcClientOptions ro;
    ro.http_endpoints = {c.anvil()->http_url()};
    chain::RpcClient rpc(io_.get_executor(), ro);
    chain::TxSenderOptions so;
    so.custom_errors = registry::registry_errors();
    chain::TxSender sender(rpc, eth::PrivateKey::from_hex(local::kAnvilKeys[0]).value(), so);
    registry::RegistryClient registry(rpc, eth::parse_address(c.registry()).value(), &sender);
    auto receipt = run(registry.update_location(registry::parse_service_id("demo").value(),
                                                "http://127.0.0.1:1", 1, Clock::now() + 20s));
    ASSERT_TRUE(receipt) << receipt.error();
  }
  EXPECT_TRUE(eventually([&] { return client->stats().stale_ignored >= 1; }));
  EXPECT_EQ(client->location()->url, c.node_url(leader));
  r = request(*client, http::verb::put, "/kv/b", "2");
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(r->result_int(), 200);
}

TEST_F(E2ETest, WithEveryReplicaDownOneClaimPerFailedLocationIsOnChain) {
  LocalCluster c(options("kv"));
  const int leader = c.wait_leader(20s);
  const auto epoch = c.epoch_of(leader);
  ASSERT_TRUE(wait_until(20s, [&] { return c.registry_location().second == epoch; }));
  auto po = proxy_options({"--claim-key-env", "BR2K_CLAIM_KEY", "--claim-after", "1",
                           "--claim-interval", "0", "--request-timeout", "2"});
  po.env.emplace_back("BR2K_CLAIM_KEY", local::kAnvilKeys[9]);
  LocalProxy proxy(c, po);
  ASSERT_EQ(send(proxy.url() + "/kv/a", "PUT", "1").status, 200);
  for (int i = 0; i < c.size(); ++i)
    c.kill_node(i);
  // Requests keep failing for several claim_after periods.
  for (int i = 0; i < 4; ++i)
    EXPECT_EQ(send(proxy.url() + "/kv/a", "PUT", "2").status, 504);
  ASSERT_TRUE(wait_until(10s, [&] {
    auto s = json::parse(proxy.status(), nullptr, false);
    return s.is_object() && s["claims_sent"].get<int>() >= 1;
  })) << proxy.status();
  std::this_thread::sleep_for(1s);
  EXPECT_EQ(json::parse(proxy.status())["claims_sent"], 1);

  std::vector<registry::ClaimEvent> claims;
  chain::RpcClientOptions ro;
  ro.http_endpoints = {c.anvil()->http_url()};
  chain::RpcClient rpc(io_.get_executor(), ro);
  registry::WatcherOptions w;
  w.contract = eth::parse_address(c.registry()).value();
  w.from_block = 0;
  w.new_location = false;
  w.polling_only = true;
  w.poll_interval = 100ms;
  auto watcher = registry::Watcher::create(io_.get_executor(), rpc, w, [&](const auto& e) {
    claims.push_back(std::get<registry::ClaimEvent>(e.body));
  });
  watcher->start();
  pump_for(1500ms);
  watcher->stop();
  pump_for(50ms);
  ASSERT_EQ(claims.size(), 1u);
  EXPECT_EQ(claims[0].failed_location, c.node_url(leader));
  EXPECT_EQ(claims[0].failed_epoch, epoch);
  EXPECT_EQ(claims[0].claimer, eth::PrivateKey::from_hex(local::kAnvilKeys[9]).value().address());
}

TEST_F(E2ETest, TheProxyRefusesBadRequestsClearlyAndKeepsServing) {
  LocalCluster c(options("kv"));
  LocalProxy proxy(c, proxy_options({"--body-limit", "65536"}));
  EXPECT_EQ(send(proxy.url() + "/kv/a", "PUT", std::string(70'000, 'x')).status, 413);
  {
    RawClient raw(proxy.port());
    raw.send("GARBAGE\r\n\r\n");
    auto r = raw.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 400);
  }
  EXPECT_EQ(send(proxy.url() + "/kv/a", "PUT", "x", {"X-Big: " + std::string(9000, 'h')}).status,
            431);
  // The service's own refusals come through unchanged.
  auto bad = send(proxy.url() + "/kv/a", "PATCH", "x");
  EXPECT_EQ(bad.status, 405);
  EXPECT_NE(bad.body.find("error"), std::string::npos);
  EXPECT_EQ(send(proxy.url() + "/kv/a", "PUT", "fine").status, 200);
  auto get = send(proxy.url() + "/kv/a");
  ASSERT_EQ(get.status, 200);
  EXPECT_EQ(json::parse(get.body)["value"], "fine");
}

// Bad settings stop br2k-proxy before it listens, with exit status 2 and the setting named.
TEST(ProxySettings, AreRefusedWithTheSettingNamed) {
  TempDir dir;
  const std::vector<std::string> base = {
      BR2K_PROXY_BIN, "--service",         "demo", "--registry", "0x" + std::string(40, '1'),
      "--rpc",        "http://127.0.0.1:1"};
  auto run = [&](std::vector<std::string> extra) {
    auto argv = base;
    argv.insert(argv.end(), extra.begin(), extra.end());
    return run_command({argv, {}, dir.path() / "proxy.log"}, 30s);
  };
  for (const auto* flag :
       {"--connect-timeout", "--attempt-timeout", "--request-timeout", "--drain-timeout"}) {
    for (const auto* value : {"0", "-1"}) {
      auto r = run({flag, value});
      EXPECT_EQ(r.exit_status, 2) << flag << " " << value << ": " << r.output;
      EXPECT_NE(r.output.find(std::string(flag) + ": must be more than 0"), std::string::npos)
          << r.output;
    }
  }
  const auto config = dir.path() / "proxy.json";
  std::ofstream(config) << R"({"connect-timeout": 0.5, "listen-on": "127.0.0.1:1"})";
  auto r = run({"--config", config.string()});
  EXPECT_EQ(r.exit_status, 2) << r.output;
  EXPECT_NE(r.output.find("unknown key 'listen-on'"), std::string::npos) << r.output;
}

TEST_F(E2ETest, TheBlockingClientFollowsTheLeaderFromAnyThread) {
  LocalCluster c(options("numbers"));
  const int first = c.wait_leader(20s);
  ASSERT_TRUE(wait_until(20s, [&] { return c.registry_location().second == c.epoch_of(first); }));
  client::ServiceClientOptions o;
  o.service = registry::parse_service_id(c.options().service).value();
  o.registry = eth::parse_address(c.registry()).value();
  o.rpc.http_endpoints = {c.anvil()->http_url()};
  o.rpc.ws_endpoints = {c.anvil()->ws_url()};
  o.request_timeout = 20s;
  client::BlockingServiceClient client(o);
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 5; ++i) {
        auto r = client.post("/numbers", json{{"value", t * 10 + i}}.dump());
        ok += r && r->result_int() == 200;
      }
    });
  }
  for (auto& t : threads)
    t.join();
  EXPECT_EQ(ok.load(), 20);
  c.kill_node(first);
  auto r = client.post("/numbers", "{\"value\": 99}");
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(r->result_int(), 200);
  auto list = client.get("/numbers/count");
  ASSERT_TRUE(list);
  EXPECT_EQ(json::parse(list->body())["count"], 21);
  const int second = c.wait_leader(5s);
  EXPECT_EQ(client.location()->url, c.node_url(second));
  EXPECT_GE(client.stats().failovers, 1u);
}

}  // namespace
}  // namespace br2k::testing
