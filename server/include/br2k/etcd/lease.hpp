// A lease kept alive in the background: the basis of membership and leader election.
//
// The keeper renews the lease every TTL/3 (well before expiry) and, after a failed renewal, retries
// quickly on other members. It tracks a conservative local bound of the lease's life: the moment a
// renewal was *sent*, plus the TTL. etcd cannot expire the lease earlier than that, so while
// alive() holds, keys attached to the lease still exist (up to clock-rate drift, which etcd's
// minimum TTL leaves room for). When a renewal is refused (lease gone) or no renewal succeeds
// before the bound passes, the lease is lost and wait_lost() completes.
//
// With a grace period, a keeper whose bound passed keeps renewing for up to `grace` more before
// it gives up: alive() is false meanwhile (nothing may rely on the lease), but a renewal that
// succeeds proves the lease still lives (etcd extends every lease when it elects a new raft
// leader, which is when renewals stall) and makes it alive again with a fresh bound. A holder
// can then resume instead of starting over (the node's leader does: see Node's "suspended").
//
// Destroying the keeper stops the renewals (the lease then expires after its TTL); revoke() ends it
// at once. Thread-safety: as Client.
#pragma once

#include <br2k/etcd/client.hpp>

namespace br2k::etcd {

class LeaseKeeper {
 public:
  // Grants a lease of `ttl_seconds` and starts keeping it alive.
  static Task<Result<std::unique_ptr<LeaseKeeper>>> start(
      Client client, std::int64_t ttl_seconds, CallOptions call = {},
      std::chrono::milliseconds grace = std::chrono::milliseconds(0));
  LeaseKeeper(const LeaseKeeper&) = delete;
  LeaseKeeper& operator=(const LeaseKeeper&) = delete;
  ~LeaseKeeper();

  std::int64_t id() const;
  std::int64_t ttl_seconds() const;
  // Until when the lease certainly exists, by the local clock.
  Deadline valid_until() const;
  bool alive() const;
  // True once the lease is lost (or the keeper stopped): it will not be alive again.
  bool lost() const;
  std::size_t renewals() const;

  // Completes when the lease is lost (kNotFound: etcd says it is gone; kDeadlineExceeded: no
  // renewal succeeded in time) or the keeper stopped (kCancelled).
  Task<Error> wait_lost();

  // Stops renewing without revoking: the lease then expires after its TTL.
  void stop();

  // Stops renewing and revokes the lease, deleting its keys now.
  Task<Result<void>> revoke(CallOptions call = {});

  struct Core;  // shared with the renewal coroutine

 private:
  explicit LeaseKeeper(std::shared_ptr<Core> core);
  std::shared_ptr<Core> core_;
};

}  // namespace br2k::etcd
