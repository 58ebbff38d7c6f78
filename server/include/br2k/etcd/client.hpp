// Asynchronous client for the etcd v3 API, spoken through etcd's gRPC-JSON gateway over HTTP/1.1.
//
// Why the JSON gateway and not gRPC: the gateway is served by every etcd 3.4 member on its client
// port, needs no gRPC/protobuf toolchain (not among BR2K's dependencies), and rides on the same
// Boost.Beast HTTP stack as the rest of BR2K. Its costs are base64/JSON encoding and one
// HTTP/1.1 connection per concurrent request (kept alive and pooled), which the benchmark under
// bench/ measures against a plain load generator on the same endpoint.
//
// Failover: the client pins one member and moves to the next when that member fails. Each call
// has a deadline (CallOptions, or ClientOptions::call_timeout); each attempt on one member is
// bounded by ClientOptions::attempt_timeout, so a dead or frozen member costs at most that long.
// Retry guarantees, per call:
//   - range, lease_keep_alive_once, lease_time_to_live, status, member_list: retried on another
//     member after any failure (they change nothing);
//   - put, delete_range, txn, compact, lease_grant, lease_revoke: retried only when the request
//     certainly did not reach a member (connect refused, member reported "no leader"); otherwise
//     the call fails with kOutcomeUnknown or kDeadlineExceeded and the caller decides. Use a
//     transaction with compares to make a retry safe (PROTOCOL.md: fenced appends).
//
// GCC 12 note: inside a coroutine, pass a named request to a call you co_await
// (`PutRequest p{...}; co_await c.put(std::move(p));`), not a braced temporary
// (`co_await c.put({...})`): GCC 12 destroys such a temporary twice (fixed in GCC 13).
//
// Thread-safety: Client is a cheap copyable handle to shared state. All calls on one Client (and
// its Watch and LeaseKeeper objects) must come from coroutines on one single-threaded executor
// (an io_context run by one thread, or a strand).
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <br2k/core/error.hpp>
#include <br2k/etcd/types.hpp>
#include <br2k/net/options.hpp>
#include <br2k/net/task.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace br2k::etcd {

struct ClientOptions {
  // Client URLs of the members, "http://127.0.0.1:2379" or "https://...". At least one.
  std::vector<std::string> endpoints;
  // Deadline of a call that does not set its own.
  std::chrono::milliseconds call_timeout{5000};
  // The longest one attempt on one member may take before the call moves on (or, for a request
  // that may have been applied, fails with kOutcomeUnknown).
  std::chrono::milliseconds attempt_timeout{2000};
  // The longest a TCP connect (and TLS handshake) may take.
  std::chrono::milliseconds dial_timeout{1000};
  // How long a member that failed is passed over before it is tried again.
  std::chrono::milliseconds endpoint_quarantine{2000};
  // TLS for https:// endpoints: CA and, for client-certificate authentication, cert and key.
  std::optional<net::TlsOptions> tls;
  // Username/password authentication; empty username: none. The password is never logged.
  std::string username;
  std::string password;
  // Idle keep-alive connections kept per member.
  std::size_t max_idle_connections = 128;
  net::HttpLimits limits;
  // A watch whose stream has been silent this long checks that its member still answers and still
  // has a raft leader, and moves to another member if not.
  std::chrono::milliseconds watch_probe_interval{1000};
  // endpoints[0] is the preferred member (the one on this host): after calls moved away from it,
  // a background check (maintenance status, within dial_timeout, at most once per
  // preferred_probe_interval, quarantined or not) brings them back as soon as it answers and has
  // a raft leader. Without it, a client that left its member once (the member restarted, its
  // host was cut off, or it timed out a forwarded request during a raft election) would stay on a
  // remote one for good, and pay an attempt timeout when that one's host fails.
  bool prefer_first = false;
  std::chrono::milliseconds preferred_probe_interval{200};
};

struct CallOptions {
  std::optional<Deadline> deadline;  // empty: now + ClientOptions::call_timeout
};

class Watch;
struct WatchOptions;

class Client {
 public:
  // Throws std::invalid_argument for an empty endpoint list, a malformed URL, or https endpoints
  // without usable TLS files: these are start-up configuration errors.
  Client(boost::asio::any_io_executor executor, ClientOptions options);

  const ClientOptions& options() const;
  boost::asio::any_io_executor get_executor() const;
  // The member calls currently go to.
  std::string current_endpoint() const;

  // Errors of every call: kUnavailable (no member answered), kDeadlineExceeded, kOutcomeUnknown
  // (state-changing calls only), kAuthFailed, kPermissionDenied, kMalformedReply, and those named.
  Task<Result<RangeResponse>> range(RangeRequest request, CallOptions call = {});  // kCompacted
  Task<Result<PutResponse>> put(PutRequest request, CallOptions call = {});
  Task<Result<DeleteRangeResponse>> delete_range(DeleteRangeRequest request, CallOptions call = {});
  // A transaction whose compares fail is not an error: the response says succeeded = false.
  // kTooLarge when it has more operations than the cluster allows (--max-txn-ops, default 128).
  Task<Result<TxnResponse>> txn(TxnRequest request, CallOptions call = {});
  // Discards history before `revision`. kCompacted when it already was.
  Task<Result<ResponseHeader>> compact(std::int64_t revision, bool physical = false,
                                       CallOptions call = {});

  Task<Result<LeaseGrantResponse>> lease_grant(std::int64_t ttl_seconds, std::int64_t id = 0,
                                               CallOptions call = {});
  // One renewal. kNotFound when the lease no longer exists.
  Task<Result<LeaseKeepAliveResponse>> lease_keep_alive_once(std::int64_t id,
                                                             CallOptions call = {});
  // kNotFound when the lease does not exist.
  Task<Result<void>> lease_revoke(std::int64_t id, CallOptions call = {});
  // For an expired or unknown lease: ttl == -1 (not an error).
  Task<Result<LeaseTimeToLiveResponse>> lease_time_to_live(std::int64_t id, bool keys = false,
                                                           CallOptions call = {});

  // Status of one member, asked directly (no failover): leader id, raft term and index.
  Task<Result<StatusResponse>> status(std::string endpoint, CallOptions call = {});
  Task<Result<MemberListResponse>> member_list(CallOptions call = {});
  // Asks the member at `endpoint`, which must be the raft leader, to hand leadership to member
  // `target` (etcd's MoveLeader, /v3/maintenance/transfer-leadership). Errors: the member's
  // refusal (not the leader, unknown target) as kUnavailable / kInvalidArgument, or the call's.
  Task<Result<void>> move_leader(std::string endpoint, std::uint64_t target, CallOptions call = {});

  // Starts watching; see watch.hpp. The watch keeps this client's shared state alive.
  std::shared_ptr<Watch> watch(WatchOptions options);

  struct State;  // shared by the client's handles, watches and lease keepers

 private:
  friend class Watch;
  friend class LeaseKeeper;
  std::shared_ptr<State> state_;
};

}  // namespace br2k::etcd
