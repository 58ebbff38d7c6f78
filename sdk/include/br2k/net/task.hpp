// Coroutine and deadline vocabulary shared by every BR2K network component.
//
// Task<T> is an Asio awaitable. Every network operation takes a Deadline: an absolute point on the
// steady clock after which it gives up with Errc::kDeadlineExceeded.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>

namespace br2k {

template <class T = void>
using Task = boost::asio::awaitable<T>;

using Clock = std::chrono::steady_clock;
using Deadline = Clock::time_point;

inline Deadline deadline_after(Clock::duration d) {
  return Clock::now() + d;
}

inline Clock::duration remaining(Deadline d) {
  auto r = d - Clock::now();
  return r > Clock::duration::zero() ? r : Clock::duration::zero();
}

}  // namespace br2k
