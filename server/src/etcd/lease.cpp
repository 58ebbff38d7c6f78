// Lease keep-alive loop. See lease.hpp.
#include <spdlog/spdlog.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <br2k/etcd/lease.hpp>

namespace br2k::etcd {
namespace asio = boost::asio;
constexpr auto kUse = asio::as_tuple(asio::use_awaitable);

struct LeaseKeeper::Core {
  Core(Client c, std::int64_t lease, std::int64_t ttl, Deadline until,
       std::chrono::milliseconds grace_period)
      : client(std::move(c)),
        id(lease),
        ttl_seconds(ttl),
        grace(grace_period),
        valid_until(until),
        sleep(client.get_executor()),
        lost_signal(client.get_executor(), Deadline::max()) {}

  void mark_lost(Error why) {
    if (lost)
      return;
    lost = true;
    reason = std::move(why);
    lost_signal.cancel();
  }

  // Renews every TTL/3; after a failure, every 100 ms until the validity bound (and the grace
  // after it) passes.
  static Task<void> run(std::shared_ptr<Core> self) {
    const auto period = std::chrono::milliseconds(self->ttl_seconds * 1000 / 3);
    const auto retry = std::chrono::milliseconds(100);
    auto wait = period;
    while (!self->lost) {
      self->sleep.expires_after(wait);
      co_await self->sleep.async_wait(kUse);
      if (self->lost)
        break;
      const Deadline give_up = self->valid_until + self->grace;
      if (Clock::now() >= give_up) {
        self->mark_lost(Error(Errc::kDeadlineExceeded,
                              "lease " + std::to_string(self->id) + " not renewed in time"));
        break;
      }
      const auto sent = Clock::now();
      // Within the bound, a renewal may take until the bound; in the grace, one try at a time
      // (a member that hangs must not use up the grace).
      const Deadline until =
          sent < self->valid_until
              ? self->valid_until
              : std::min(give_up, sent + std::chrono::milliseconds(self->ttl_seconds * 1000 / 3));
      auto r = co_await self->client.lease_keep_alive_once(self->id, {.deadline = until});
      if (self->lost)
        break;
      if (r) {
        self->valid_until = std::max(self->valid_until, sent + std::chrono::seconds(r->ttl));
        ++self->renewals;
        wait = period;
      } else if (r.error().is(Errc::kNotFound)) {
        self->mark_lost(r.error());
      } else {
        spdlog::warn("etcd: renewing lease {} failed: {}", self->id, r.error().message());
        wait = retry;
      }
    }
  }

  Client client;
  std::int64_t id;
  std::int64_t ttl_seconds;
  std::chrono::milliseconds grace;
  Deadline valid_until;
  bool lost = false;
  Error reason;
  std::size_t renewals = 0;
  asio::steady_timer sleep;
  asio::steady_timer lost_signal;
};

Task<Result<std::unique_ptr<LeaseKeeper>>> LeaseKeeper::start(Client client,
                                                              std::int64_t ttl_seconds,
                                                              CallOptions call,
                                                              std::chrono::milliseconds grace) {
  const auto sent = Clock::now();
  auto g = co_await client.lease_grant(ttl_seconds, 0, call);
  if (!g)
    co_return g.error();
  auto core = std::make_shared<Core>(client, g->id, g->ttl, sent + std::chrono::seconds(g->ttl),
                                     std::max(grace, std::chrono::milliseconds(0)));
  asio::co_spawn(client.get_executor(), Core::run(core), asio::detached);
  co_return std::unique_ptr<LeaseKeeper>(new LeaseKeeper(std::move(core)));
}

LeaseKeeper::LeaseKeeper(std::shared_ptr<Core> core) : core_(std::move(core)) {}
LeaseKeeper::~LeaseKeeper() {
  stop();
}

std::int64_t LeaseKeeper::id() const {
  return core_->id;
}
std::int64_t LeaseKeeper::ttl_seconds() const {
  return core_->ttl_seconds;
}
Deadline LeaseKeeper::valid_until() const {
  return core_->valid_until;
}
bool LeaseKeeper::alive() const {
  return !core_->lost && Clock::now() < core_->valid_until;
}
bool LeaseKeeper::lost() const {
  return core_->lost;
}
std::size_t LeaseKeeper::renewals() const {
  return core_->renewals;
}

Task<Error> LeaseKeeper::wait_lost() {
  auto core = core_;
  if (!core->lost)
    co_await core->lost_signal.async_wait(kUse);
  co_return core->reason;
}

void LeaseKeeper::stop() {
  core_->mark_lost(Error(Errc::kCancelled, "lease keeper stopped"));
  core_->sleep.cancel();
}

Task<Result<void>> LeaseKeeper::revoke(CallOptions call) {
  stop();
  co_return co_await core_->client.lease_revoke(core_->id, call);
}

}  // namespace br2k::etcd
