// watcher_bench: the delay from a block being mined to the registry watcher's callback.
//
// A real anvil node that mines only on request (evm_mine), the registry deployed on it, and one
// updateLocation per round sent into the pool. Each round: t0, evm_mine, then the time until
//   - a bare eth_subscribe("logs") notification arrives (the peer: the node's own push latency),
//   - the live watcher (newHeads subscription, then eth_getLogs) calls back,
//   - a polling watcher (100 ms interval) calls back.
// Then back-fill: the live watcher's endpoint (a TCP relay) goes down, `--backfill` blocks are
// mined, the endpoint comes back at t0; reported is the time until the last of those events was
// delivered (reconnect, subscribe, eth_getLogs).
//
//   watcher_bench [--rounds N] [--backfill N] [--json]
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_future.hpp>
#include <br2k/chain/rpc_client.hpp>
#include <br2k/chain/tx_sender.hpp>
#include <br2k/eth/key.hpp>
#include <br2k/registry/registry.hpp>
#include <br2k/registry/watcher.hpp>
#include <br2k/testing/anvil.hpp>
#include <br2k/testing/tcp_relay.hpp>
#include <chrono>
#include <cstring>
#include <functional>
#include <future>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace {

using namespace br2k;
using chain::Json;
namespace asio = boost::asio;
using Ms = std::chrono::duration<double, std::milli>;

struct Stats {
  std::vector<double> ms;
  double pct(double p) const {
    if (ms.empty())
      return 0;
    auto v = ms;
    std::sort(v.begin(), v.end());
    return v[std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size())))];
  }
};

asio::io_context io;

template <class T>
T run(Task<T> t) {
  auto f = asio::co_spawn(io, std::move(t), asio::use_future);
  while (f.wait_for(std::chrono::seconds(0)) != std::future_status::ready) {
    if (io.stopped())
      io.restart();
    io.run_one_for(std::chrono::milliseconds(5));
  }
  return f.get();
}

void pump_until(const std::function<bool()>& done, std::chrono::seconds limit) {
  auto until = Clock::now() + limit;
  while (!done() && Clock::now() < until) {
    if (io.stopped())
      io.restart();
    io.run_one_for(std::chrono::milliseconds(1));
  }
}

}  // namespace

int main(int argc, char** argv) {
  int rounds = 50;
  int backfill = 20;
  bool json_out = false;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--rounds") && i + 1 < argc)
      rounds = std::atoi(argv[++i]);
    else if (!std::strcmp(argv[i], "--backfill") && i + 1 < argc)
      backfill = std::atoi(argv[++i]);
    else if (!std::strcmp(argv[i], "--json"))
      json_out = true;
    else {
      std::cerr << "usage: watcher_bench [--rounds N] [--backfill N] [--json]\n";
      return 2;
    }
  }
  spdlog::set_level(spdlog::level::err);

  testing::Anvil anvil(testing::AnvilOptions{.extra_args = {"--no-mining"}});
  testing::TcpRelay relay(anvil.port());
  auto deadline = [] { return Clock::now() + std::chrono::seconds(30); };

  chain::RpcClientOptions o;
  o.http_endpoints = {anvil.http_url()};
  o.ws_endpoints = {anvil.ws_url()};
  chain::RpcClient rpc(io.get_executor(), o);
  chain::TxSenderOptions so;
  so.receipt_poll_interval = std::chrono::milliseconds(5);
  so.custom_errors = registry::registry_errors();
  chain::TxSender sender(rpc, eth::PrivateKey::from_hex(testing::Anvil::kDevPrivateKey).value(),
                         so);
  auto mine = [&]() -> Task<Result<Json>> {
    co_return co_await chain::call(rpc, "evm_mine", Json::array(), deadline());
  };

  // Deploy and register: each transaction needs a block, mined while the sender waits.
  auto with_mining = [&](auto make_task) {
    auto f = asio::co_spawn(io, make_task(), asio::use_future);
    while (f.wait_for(std::chrono::seconds(0)) != std::future_status::ready) {
      run(mine());
      for (int i = 0; i < 20; ++i)
        io.run_one_for(std::chrono::milliseconds(1));
    }
    return f.get();
  };
  auto address = with_mining([&] { return registry::RegistryClient::deploy(sender, deadline()); });
  if (!address) {
    std::cerr << "deploy: " << address.error() << "\n";
    return 1;
  }
  registry::RegistryClient client(rpc, *address, &sender);
  auto id = registry::parse_service_id("bench").value();
  registry::Registration reg;
  reg.id = id;
  reg.location = "http://127.0.0.1:1/";
  auto registered = with_mining([&] { return client.register_service(reg, deadline()); });
  if (!registered) {
    std::cerr << "register: " << registered.error() << "\n";
    return 1;
  }

  // The peer: a bare logs subscription.
  Json filter = {{"address", chain::hex_data(*address)}};
  Json sub_params = Json::array({"logs", filter});
  auto sub = run(rpc.subscribe(sub_params, deadline()));
  if (!sub) {
    std::cerr << "subscribe: " << sub.error() << "\n";
    return 1;
  }
  std::uint64_t raw_seen = 0;
  std::optional<Clock::time_point> raw_at;
  asio::co_spawn(
      io,
      [&]() -> Task<void> {
        for (;;) {
          auto n = co_await (*sub)->next(Clock::now() + std::chrono::hours(1));
          if (!n)
            co_return;
          ++raw_seen;
          raw_at = Clock::now();
        }
      },
      asio::detached);

  // The watchers: live over the relay, and polling.
  chain::RpcClientOptions wo;
  wo.http_endpoints = {relay.url("http")};
  wo.ws_endpoints = {relay.url("ws")};
  wo.attempt_timeout = std::chrono::milliseconds(500);
  wo.endpoint_quarantine = std::chrono::milliseconds(50);
  wo.max_endpoint_quarantine = std::chrono::milliseconds(200);
  chain::RpcClient watch_rpc(io.get_executor(), wo);
  registry::WatcherOptions w;
  w.contract = *address;
  w.service = id;
  w.resubscribe_interval = std::chrono::milliseconds(100);
  w.poll_interval = std::chrono::milliseconds(100);
  std::uint64_t live_seen = 0, poll_seen = 0;
  std::optional<Clock::time_point> live_at, poll_at;
  auto live = registry::Watcher::create(io.get_executor(), watch_rpc, w, [&](const auto&) {
    ++live_seen;
    live_at = Clock::now();
  });
  registry::WatcherOptions pw = w;
  pw.polling_only = true;
  chain::RpcClient poll_rpc(io.get_executor(), o);
  auto polling = registry::Watcher::create(io.get_executor(), poll_rpc, pw, [&](const auto&) {
    ++poll_seen;
    poll_at = Clock::now();
  });
  live->start();
  polling->start();
  pump_until([&] { return live->mode() == registry::Watcher::Mode::kLive && polling->cursor(); },
             std::chrono::seconds(10));

  Stats raw, live_stats, poll_stats;
  std::uint64_t epoch = 0;
  auto send_update = [&](std::uint64_t e) {
    // Into the pool; mined by the next evm_mine.
    asio::co_spawn(
        io,
        [&, e]() -> Task<void> {
          auto r = co_await client.update_location(id, "http://leader-" + std::to_string(e), e,
                                                   deadline());
          if (!r)
            std::cerr << "update: " << r.error() << "\n";
        },
        asio::detached);
  };
  auto pending = [&]() -> Task<std::uint64_t> {
    auto r = co_await chain::call(rpc, "txpool_status", Json::array(), deadline());
    if (!r)
      co_return 0;
    auto p = eth::U256::from_hex((*r)["pending"].get<std::string>());
    co_return p ? p->to_uint64().value_or(0) : 0;
  };
  for (int i = 0; i < rounds; ++i) {
    send_update(++epoch);
    pump_until([&] { return run(pending()) > 0; }, std::chrono::seconds(10));
    const auto raw_before = raw_seen, live_before = live_seen, poll_before = poll_seen;
    auto t0 = Clock::now();
    run(mine());
    pump_until(
        [&] { return raw_seen > raw_before && live_seen > live_before && poll_seen > poll_before; },
        std::chrono::seconds(10));
    if (raw_seen > raw_before)
      raw.ms.push_back(Ms(*raw_at - t0).count());
    if (live_seen > live_before)
      live_stats.ms.push_back(Ms(*live_at - t0).count());
    if (poll_seen > poll_before)
      poll_stats.ms.push_back(Ms(*poll_at - t0).count());
  }

  // Back-fill: the live watcher's endpoint is down while blocks with events are mined.
  relay.stop();
  pump_until([&] { return live->mode() == registry::Watcher::Mode::kPolling; },
             std::chrono::seconds(10));
  const auto before_down = live_seen;
  for (int i = 0; i < backfill; ++i) {
    send_update(++epoch);
    pump_until([&] { return run(pending()) > 0; }, std::chrono::seconds(10));
    run(mine());
  }
  auto t_up = Clock::now();
  relay.start();
  pump_until([&] { return live_seen >= before_down + static_cast<std::uint64_t>(backfill); },
             std::chrono::seconds(20));
  const double backfill_ms = Ms(*live_at - t_up).count();
  const bool backfill_complete = live_seen == before_down + static_cast<std::uint64_t>(backfill);

  live->stop();
  polling->stop();
  (*sub)->close();
  for (int i = 0; i < 50; ++i)
    io.run_one_for(std::chrono::milliseconds(2));

  auto row = [](const char* name, const Stats& s, const Stats& peer) {
    std::printf("%-34s %6zu %9.2f %9.2f %9.2f %8.2f\n", name, s.ms.size(), s.pct(0.5), s.pct(0.99),
                s.ms.empty() ? 0.0 : *std::max_element(s.ms.begin(), s.ms.end()),
                peer.pct(0.5) > 0 ? s.pct(0.5) / peer.pct(0.5) : 0.0);
  };
  if (json_out) {
    Json j = {
        {"rounds", rounds},
        {"raw_subscription", {{"p50_ms", raw.pct(0.5)}, {"p99_ms", raw.pct(0.99)}}},
        {"live_watcher", {{"p50_ms", live_stats.pct(0.5)}, {"p99_ms", live_stats.pct(0.99)}}},
        {"polling_watcher", {{"p50_ms", poll_stats.pct(0.5)}, {"p99_ms", poll_stats.pct(0.99)}}},
        {"backfill",
         {{"events", backfill},
          {"complete", backfill_complete},
          {"endpoint_up_to_last_event_ms", backfill_ms}}}};
    std::cout << j.dump(2) << "\n";
  } else {
    std::printf("block mined (evm_mine) -> callback, %d rounds, anvil on loopback\n", rounds);
    std::printf("%-34s %6s %9s %9s %9s %8s\n", "path", "n", "p50 ms", "p99 ms", "max ms", "x peer");
    row("eth_subscribe(logs), bare (peer)", raw, raw);
    row("watcher, live (newHeads+getLogs)", live_stats, raw);
    row("watcher, polling every 100 ms", poll_stats, raw);
    std::printf(
        "back-fill: %d events mined while the endpoint was down; endpoint up -> last "
        "delivered: %.2f ms (%s)\n",
        backfill, backfill_ms, backfill_complete ? "all delivered once" : "INCOMPLETE");
  }
  return backfill_complete ? 0 : 1;
}
