// run_sync(): runs one coroutine to completion on a private io_context, for the synchronous setup
// and check code of the local cluster, the fault harness and the tools.
//
// Thread-safety: the io_context must not be run by another thread at the same time.
#pragma once

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <br2k/net/task.hpp>
#include <chrono>

namespace br2k::local {

template <class T>
T run_sync(boost::asio::io_context& io, Task<T> task) {
  auto fut = boost::asio::co_spawn(io, std::move(task), boost::asio::use_future);
  while (fut.wait_for(std::chrono::seconds(0)) != std::future_status::ready) {
    if (io.stopped())
      io.restart();
    io.run_one_for(std::chrono::milliseconds(10));
  }
  return fut.get();
}

}  // namespace br2k::local
