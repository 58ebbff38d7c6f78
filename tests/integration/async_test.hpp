// AsyncTest: running coroutines from a synchronous GoogleTest body.
//
// Background coroutines (lease keepers, watchers) keep the context busy, so run() drives it one
// handler at a time until the awaited task finishes, instead of io_context::run().
#pragma once

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_future.hpp>
#include <br2k/net/task.hpp>
#include <chrono>
#include <future>
#include <stdexcept>
#include <thread>

namespace br2k::testing {

class AsyncTest {
 protected:
  template <class T>
  T run(Task<T> task, std::chrono::seconds limit = std::chrono::seconds(60)) {
    auto fut = boost::asio::co_spawn(io_, std::move(task), boost::asio::use_future);
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (fut.wait_for(std::chrono::seconds(0)) != std::future_status::ready) {
      if (std::chrono::steady_clock::now() > deadline)
        throw std::runtime_error("task hung");
      // A context that ran out of work is stopped until restarted.
      if (io_.stopped())
        io_.restart();
      io_.run_one_for(std::chrono::milliseconds(10));
    }
    return fut.get();
  }

  // Lets background coroutines run for `d` of wall time.
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

  static Task<void> sleep_for(std::chrono::milliseconds d) {
    boost::asio::steady_timer t(co_await boost::asio::this_coro::executor, d);
    co_await t.async_wait(boost::asio::use_awaitable);
  }

  boost::asio::io_context io_;
};

}  // namespace br2k::testing
