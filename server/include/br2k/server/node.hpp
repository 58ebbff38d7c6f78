// Node: one replica of a BR2K service: the replication engine (PROTOCOL.md, "Replication") and
// the node's HTTP server.
//
// What a node does, in order:
//   1. Serves HTTP at once: until it knows a leader, client requests get 503 + Retry-After; the
//      node's own routes (/-/br2k/...) always answer.
//   2. Sync loop (all roles, all the time): applies log/<i> strictly in index order, exactly
//      once, reading missing ranges in batches and following the log by an etcd watch from the
//      revision it last read; records lpi/<node> (batched) and, on the leader, ssi.
//   3. Membership: grants a lease (lease_ttl), keeps it alive and attaches members/<node> to it.
//   4. Election: once caught up with log_size, creates `leader` with its lease only if it does
//      not exist. Its create revision is the epoch (the fencing token). Losers watch the key.
//   5. As leader: applies everything up to log_size, asks the publisher to publish its URL and
//      epoch (background), then serves. Writes are appended by group commit: the requests that
//      wait while one transaction is in flight go together in the next,
//          if log_size == n and create_revision(leader) == epoch
//          then put log/<n+1..n+k>, put log_size = n+k
//      and each request is answered with its entry's reply once the leader has applied it.
//      Read-only requests are answered from applied state while the lease certainly holds.
//   Followers probe the leader's address: when it refuses connections (the process is gone) they
//   end its term at once (delete `leader` with a compare on its epoch) instead of waiting out
//   its lease; a leader that is slow, paused or partitioned is not affected.
//   When its renewals stall past the lease's bound (etcd electing a raft leader, or without
//   quorum), the leader suspends: serves nothing, keeps renewing for lease_grace, and serves
//   again at the same epoch once a renewal succeeds and the leader key is still its own.
//   6. Steps down when its lease is lost, the leader key changes, or a fenced write fails: the
//      requests it holds get 503 (retry elsewhere; with an Idempotency-Key the retry is applied
//      at most once), and it rejoins as a follower with a new lease.
//   Followers answer client requests with 307 to the leader (Location: the same target on the
//   leader; BR2K-Leader, BR2K-Epoch headers).
//
// Every reply to a client request carries BR2K-Leader and BR2K-Epoch (when a leader is known) and
// BR2K-Replicas (the live members' URLs), which the SDK and proxy use to follow the leader.
//
// Node routes: GET /-/br2k/health (200 when the node runs its loops; 503 otherwise),
// /-/br2k/leader (200 only on the serving leader: a load balancer's health check),
// /-/br2k/status (JSON: node, role, epoch, leader, log_size, applied, members, counters),
// /-/br2k/state (applied index and state hash, for consistency checks), /-/br2k/metrics.
//
// Thread-safety: a Node and its StateMachine run on one single-threaded executor; construct,
// start and stop it from that executor's thread or before it runs.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <br2k/etcd/client.hpp>
#include <br2k/net/http_server.hpp>
#include <br2k/net/metrics.hpp>
#include <br2k/server/location_publisher.hpp>
#include <br2k/server/replicated_state.hpp>
#include <br2k/server/state_machine.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace br2k::server {

struct NodeOptions {
  // This node's id: unique in the service, [A-Za-z0-9._-], at most 64 bytes. Required.
  std::string node_id;
  // The service's etcd key prefix (Keys::for_service(id).prefix()). Required.
  std::string prefix;
  // The URL clients reach this node at ("http://127.0.0.1:8080"); empty: http://<listen>:<port>.
  std::string advertise_url;
  net::HttpServerOptions http;
  etcd::ClientOptions etcd;
  // TTL of the node's lease, in seconds: how long a dead leader holds the service (etcd's minimum
  // at default timing is 2).
  std::int64_t lease_ttl_seconds = 2;
  // How long a leader whose lease renewals stall stays leader, suspended, past the moment its
  // lease may have ended (unset: 3 x lease_ttl_seconds; zero: steps down at once). Renewals stall
  // while etcd elects a new raft leader (or has no quorum), and the new raft leader extends every
  // lease: a suspended leader serves nothing (no bound on its lease: a read could be stale), keeps
  // renewing, and when a renewal succeeds and the leader key is still its own, serves again at the
  // same epoch. Stepping down instead meant a new election, a new epoch on chain and every client
  // moving, for a lease that had never ended. When etcd says the lease is gone, or the grace
  // passes, it steps down as before.
  std::optional<std::chrono::milliseconds> lease_grace;
  // Group commit: entries per transaction (etcd allows --max-txn-ops, default 128, operations per
  // transaction; each entry is one, log_size one more) and bytes per transaction (etcd's
  // --max-request-bytes is 1.5 MiB by default).
  std::size_t max_batch_entries = 126;
  std::size_t max_batch_bytes = 1024 * 1024;
  // Entries read per range while catching up.
  std::size_t sync_batch = 2000;
  // Writes held on the leader at once (queued or being committed); one more gets 503.
  std::size_t max_pending = 10'000;
  // How long the leader holds a write before answering 503 (its outcome is then unknown; a retry
  // with the same Idempotency-Key is safe).
  std::chrono::milliseconds write_timeout{10'000};
  // How long a suspended leader (see lease_grace) holds a client request before answering 503:
  // the suspension usually ends within etcd's election (a second or two) with the leader serving
  // again at the same epoch, and a request held until then is served at once, where a 503 sends
  // its client into a backoff that outlasts the resumption (up to a second). Kept below clients'
  // attempt timeouts: a request without an Idempotency-Key that times out is of unknown outcome to
  // its client, though a held one was never acted on. At most max_pending are held. Zero: 503 at
  // once.
  std::chrono::milliseconds suspended_hold{1000};
  // Largest Idempotency-Key accepted (bytes).
  std::size_t max_idempotency_key = 255;
  // How often lpi/<node> (and ssi on the leader) are written when they changed.
  std::chrono::milliseconds progress_interval{250};
  // How often a follower checks that the leader's address still accepts TCP connections; two
  // refusals in a row (its process is gone) end the leader's term at once instead of after its
  // lease. Zero: never (failover then always waits for the lease).
  std::chrono::milliseconds leader_probe_interval{100};
  // The client URL (one of etcd.endpoints) of the etcd member on this node's host, if there is
  // one. A leader whose own host also holds etcd's raft leader hands raft leadership to another
  // member (MoveLeader): when such a host fails, etcd must first elect a new raft leader, and a
  // new raft leader extends every lease (by an election timeout), so the dead leader's lease
  // outlives it by seconds; apart, a host failure costs one of the two, not both. The node's
  // etcd client also tries this member first, and returns to it when it answers again. Empty: off.
  std::string etcd_local;
  // How often a serving leader checks where etcd's raft leader is (with etcd_local).
  std::chrono::milliseconds raft_apart_interval{3000};
  // How often the members list (for BR2K-Replicas and status) is refreshed.
  std::chrono::milliseconds members_interval{1000};
  ReplicatedStateOptions state;
  // Publishes the leader's location (null: none, e.g. in tests without a chain).
  std::shared_ptr<LocationPublisher> publisher;
  // Where metrics go (null: a private registry).
  std::shared_ptr<net::MetricsRegistry> metrics;
  // The application's version, recorded in members/<node>.
  std::string version = "0.1.0";
  // TEST ONLY (issue 6's planted fault): this percentage of committed writes get their reply only
  // after `test_drop_hold`, past a client's attempt timeout, as if the reply were lost after the
  // commit (the client retries). 0 in production.
  unsigned test_drop_replies_percent = 0;
  std::chrono::milliseconds test_drop_hold{3000};
};

enum class Role { kStarting, kFollower, kCandidate, kLeader };
std::string_view to_string(Role r);

struct NodeStatus {
  std::string node_id;
  std::string url;
  Role role = Role::kStarting;
  bool serving = false;     // a leader that has caught up and serves clients
  bool suspended = false;   // a leader waiting for a lease renewal (see lease_grace)
  std::uint64_t epoch = 0;  // the current leader's epoch (0: none known)
  std::string leader_id;    // empty: none known
  std::string leader_url;
  std::uint64_t log_size = 0;  // the highest index this node knows to be appended
  std::uint64_t applied = 0;
  std::vector<std::string> members;  // live members' URLs
  std::uint64_t elections_won = 0;
  std::uint64_t step_downs = 0;
  std::uint64_t suspensions = 0;           // times a leader stopped serving to wait for its lease
  std::uint64_t held_while_suspended = 0;  // requests held while suspended (suspended_hold)
  std::uint64_t appended = 0;              // entries this node appended as leader
  std::uint64_t transactions = 0;          // append transactions committed
  std::uint64_t fenced = 0;                // append transactions refused by the fence
  std::uint64_t duplicates = 0;            // requests answered from the applied-id table
};

class Node {
 public:
  // Throws std::invalid_argument for bad options (start-up configuration).
  // REQUIRES: `machine` outlives the node.
  Node(boost::asio::any_io_executor executor, StateMachine& machine, NodeOptions options);
  ~Node();
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  // Binds the HTTP server and starts the loops. Errors: those of HttpServer::start.
  Result<boost::asio::ip::tcp::endpoint> start();
  // Stops serving (drains HTTP until `drain_deadline`), resigns leadership (deletes `leader` if
  // it holds it) and revokes its lease so a successor is elected at once.
  Task<void> stop(Deadline drain_deadline);

  NodeStatus status() const;
  const std::string& url() const;
  std::uint16_t local_port() const;
  const ReplicatedState& state() const;

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace br2k::server
