// ServiceClient: HTTP requests to a replicated BR2K service, identified by its registry id, that
// follow the leader through failovers.
//
// PROTOCOL.md, "Client side". Where to send a request, in order:
//   1. the cached location, kept fresh by the registry watcher's NewLocation events;
//   2. a hint from a replica that answered: `307` + `BR2K-Leader` (+ `BR2K-Epoch`), or the
//      `BR2K-Leader` header on any reply;
//   3. getServiceLocation from any configured RPC endpoint;
//   4. the next NewLocation event, waited for up to the request's deadline.
// A location with an epoch lower than the highest seen is never used (a stale leader's late
// transaction, a stale replica's hint). Besides the leader, the client remembers the replicas a
// reply named (`BR2K-Replicas`): when the leader does not answer, asking a live replica gives the
// new leader at once, without waiting for a block (this is what keeps failover short on chains
// with slow blocks).
//
// Retries: connection failures, timeouts, 503 and redirects are retried until the deadline with
// exponential backoff and full jitter (AWS architecture blog, "Exponential Backoff And Jitter"),
// re-resolving each time. Retries draw from a token bucket shared by the client's requests
// (retry budget): it refills at `retry_budget_per_second` plus `retry_budget_ratio` per success,
// so a thousand clients of a recovering leader add a bounded load, not a stampede. A request that
// may have reached the server is retried only if its method is idempotent (GET, HEAD, OPTIONS,
// PUT, DELETE) or it carries an Idempotency-Key; the client adds one (a random UUID) to every
// state-changing request (all but GET, HEAD, OPTIONS, TRACE) unless the caller set one or turned
// that off. Guarantee: with the key, exactly once
// (the server deduplicates); without it, at most once for non-idempotent methods.
//
// Claims: when the service has been unreachable for `claim_after` and no newer location appeared,
// the client sends sendClaim(id, location, epoch) once per failed location (and not more often than
// `claim_interval` per service), in the background, if a claim key is configured; retrying goes on.
//
// Thread-safety: all calls from coroutines on the executor given (single-threaded). See
// blocking_client.hpp for a synchronous facade.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <br2k/chain/rpc_client.hpp>
#include <br2k/eth/key.hpp>
#include <br2k/net/http_connection.hpp>
#include <br2k/registry/registry.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace br2k::client {

struct ServiceClientOptions {
  registry::ServiceId service{};
  chain::Address registry{};
  // The chain nodes: HTTP and WebSocket endpoints (see chain::RpcClientOptions).
  chain::RpcClientOptions rpc;
  // Deadline of a request that does not set its own.
  std::chrono::milliseconds request_timeout{30000};
  // The longest one attempt on one server may take (connect, send, answer).
  std::chrono::milliseconds attempt_timeout{10000};
  std::chrono::milliseconds connect_timeout{1000};
  // Connecting to a replica asked where the leader is, after an attempt on the leader failed: a
  // detour, so it is cut short (a replica on a cut-off host drops the SYN, and the whole
  // connect_timeout would go to it); the next attempt asks another replica.
  std::chrono::milliseconds replica_connect_timeout{250};
  // Backoff between attempts: full jitter over min(max, initial * 2^attempt).
  std::chrono::milliseconds backoff_initial{25};
  std::chrono::milliseconds backoff_max{1000};
  // Retry budget: tokens per second, plus this fraction of a token per successful request; at most
  // `retry_budget_burst` tokens are saved. A retry without a token waits for one.
  double retry_budget_per_second = 50;
  double retry_budget_ratio = 0.5;
  double retry_budget_burst = 100;
  // Follow NewLocation events (live over WebSocket, else polling).
  bool follow_events = true;
  std::chrono::milliseconds event_poll_interval{1000};
  std::uint64_t confirmations = 0;
  // Claims: unset key = no claims.
  std::shared_ptr<const eth::PrivateKey> claim_key;
  std::chrono::milliseconds claim_after{10000};
  std::chrono::milliseconds claim_interval{60000};
  std::string claim_reason = "unreachable";
  // Idle keep-alive connections kept per server.
  std::size_t max_idle_connections = 64;
  net::HttpLimits limits;
  std::optional<net::TlsOptions> tls;  // for https:// service locations
};

struct RequestOptions {
  std::optional<Deadline> deadline;  // empty: now + request_timeout
  // Add an Idempotency-Key to a state-changing request that has none (makes it retryable).
  bool add_idempotency_key = true;
};

// Counters for status pages and metrics; read on the client's executor.
struct ClientStats {
  std::uint64_t requests = 0;
  std::uint64_t succeeded = 0;  // got a reply from the leader (any status but 307/503)
  std::uint64_t failed = 0;     // returned an error to the caller
  std::uint64_t attempts = 0;
  std::uint64_t retries = 0;
  std::uint64_t failovers = 0;      // the location changed to another URL
  std::uint64_t stale_ignored = 0;  // locations refused for a lower epoch
  std::uint64_t hints = 0;          // locations learned from replicas
  std::uint64_t chain_lookups = 0;  // getServiceLocation calls
  std::uint64_t events = 0;         // NewLocation events received for the service
  std::uint64_t claims_sent = 0;
  std::uint64_t claims_failed = 0;
  // Attempts in flight to a leader that a newer location replaced, cut short and sent to the new
  // leader at once (only those that may be sent again: idempotent or with an Idempotency-Key).
  std::uint64_t abandoned = 0;
};

// Where a location came from.
enum class Source { kEvent, kHint, kChain };

class ServiceClient : public std::enable_shared_from_this<ServiceClient> {
 public:
  // Throws std::invalid_argument for bad configuration (see chain::RpcClient).
  static std::shared_ptr<ServiceClient> create(boost::asio::any_io_executor executor,
                                               ServiceClientOptions options);
  ~ServiceClient();

  // Starts following events and resolves the location once in the background.
  void start();
  // Stops the watcher and background work; requests in flight end with kCancelled.
  void stop();

  // Sends `request` (its target is the path and query; Host is set by the client) to the leader.
  // Returns the leader's reply, whatever its status, except 307 and 503 which are retried.
  // Errors: kDeadlineExceeded (no reply before the deadline: when the request may have been
  // applied and it carried no Idempotency-Key, kOutcomeUnknown instead), kTooLarge, kCancelled.
  Task<Result<net::HttpResponse>> request(net::HttpRequest request, RequestOptions options = {});

  // The location requests go to now, if any.
  std::optional<registry::Location> location() const;
  const ClientStats& stats() const;
  // Called on the executor when the location changes: (old, new, source).
  void on_location_change(std::function<void(const std::optional<registry::Location>&,
                                             const registry::Location&, Source)>
                              callback);
  // The RPC client's endpoints, for status pages.
  std::vector<chain::EndpointHealth> rpc_health() const;

  // Sharing what one client learns with others (br2k-proxy's worker threads: one client per
  // thread, each on its own executor; the caller posts these to the receiving client's executor).
  // Takes a location another client learned when its epoch is higher than the one used now (a
  // lower or equal epoch is dropped without counting it as stale); returns whether requests now
  // go there (on_location_change is called as for any change).
  bool adopt_location(const registry::Location& location, Source source);
  // Counts an attempt that another client saw fail at `url` toward this client's unreachability
  // (chain lookup, and a claim after claim_after when this client has the claim key).
  void report_unreachable(const std::string& url);
  // Called on the executor when an attempt to the current leader fails (connection refused or
  // reset, timeout, 503 without a hint), with the leader's URL.
  void on_unreachable(std::function<void(const std::string& url)> callback);

  struct State;

 private:
  explicit ServiceClient(std::shared_ptr<State> state);
  std::shared_ptr<State> state_;
};

// Whether a method is idempotent in HTTP's sense (RFC 9110, 9.2.2).
bool is_idempotent(std::string_view method);
// Whether a method is safe (RFC 9110, 9.2.1: GET, HEAD, OPTIONS, TRACE): it changes nothing, so
// it needs no Idempotency-Key; every other request gets one.
bool is_safe(std::string_view method);

}  // namespace br2k::client
