// Test helpers for the chain RPC client: running coroutines from a synchronous GoogleTest body,
// endpoints with nothing behind them, and counting TCP connections to a port.
//
// The reader coroutines of subscriptions keep the context busy, so run() drives it one handler at
// a time until the awaited task finishes, instead of io_context::run().
#pragma once

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <br2k/chain/rpc_client.hpp>
#include <br2k/net/task.hpp>
#include <br2k/testing/ports.hpp>
#include <chrono>
#include <cstdint>
#include <fstream>
#include <future>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>

namespace br2k::chain::testing {

class AsyncTest {
 protected:
  template <class T>
  T run(Task<T> task, std::chrono::seconds limit = std::chrono::seconds(60)) {
    auto fut = boost::asio::co_spawn(io_, std::move(task), boost::asio::use_future);
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (fut.wait_for(std::chrono::seconds(0)) != std::future_status::ready) {
      if (std::chrono::steady_clock::now() > deadline)
        throw std::runtime_error("task hung");
      if (io_.stopped())
        io_.restart();
      io_.run_one_for(std::chrono::milliseconds(10));
    }
    return fut.get();
  }

  // Lets background coroutines (subscription readers) run for `d` of wall time.
  void pump_for(std::chrono::milliseconds d) {
    auto until = std::chrono::steady_clock::now() + d;
    while (std::chrono::steady_clock::now() < until) {
      if (io_.stopped())
        io_.restart();
      if (io_.run_one_until(until) == 0)
        std::this_thread::sleep_until(
            std::min(until, std::chrono::steady_clock::now() + std::chrono::milliseconds(5)));
    }
  }

  // Drives the context until `done` holds or `limit` passes; returns whether it held.
  template <class Pred>
  bool pump_until(Pred done, std::chrono::milliseconds limit) {
    auto until = std::chrono::steady_clock::now() + limit;
    while (!done()) {
      if (std::chrono::steady_clock::now() >= until)
        return false;
      if (io_.stopped())
        io_.restart();
      io_.run_one_for(std::chrono::milliseconds(5));
    }
    return true;
  }

  boost::asio::io_context io_;
};

// A loopback URL with nothing listening behind it: connecting is refused at once.
inline std::string dead_url(std::string_view scheme = "http") {
  return std::string(scheme) + "://127.0.0.1:" + std::to_string(br2k::testing::free_port());
}

// TCP sockets (IPv4, any state but LISTEN) with `port` at either end, from /proc/net/tcp. One
// loopback connection shows up twice (its client and its server side) and stays listed in
// TIME_WAIT for a while after it closes, so a client that opens a connection per request leaves a
// trail here that a keep-alive client does not.
inline std::size_t tcp_sockets_on_port(std::uint16_t port) {
  std::ifstream in("/proc/net/tcp");
  std::string line;
  std::getline(in, line);  // header
  std::size_t n = 0;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string slot, local, remote, state;
    fields >> slot >> local >> remote >> state;
    if (state == "0A")  // LISTEN
      continue;
    auto port_of = [](const std::string& addr) {
      return static_cast<std::uint16_t>(std::stoul(addr.substr(addr.find(':') + 1), nullptr, 16));
    };
    if (port_of(local) == port || port_of(remote) == port)
      ++n;
  }
  return n;
}

// eth_blockNumber, eth_chainId and friends return quantities.
inline std::uint64_t quantity(const Json& value) {
  auto text = value.get<std::string>();
  return std::stoull(text, nullptr, 16);
}

}  // namespace br2k::chain::testing
