// RpcClient: the real Rpc. Ethereum JSON-RPC over HTTP keep-alive and WebSocket, to several
// endpoints with failover (PROTOCOL.md, "Resolving the leader": no single RPC endpoint may be a
// single point of failure).
//
// Requests go over HTTP POST on pooled keep-alive connections (br2k::net::HttpConnection) to the
// HTTP endpoints; when none is configured, over pooled WebSocket connections to the WebSocket
// endpoints. Subscriptions always get a WebSocket connection of their own.
//
// Failover, in the shape of LogCabin's LeaderRPC: the client pins one endpoint and keeps using it
// while it works. Each attempt on one endpoint is bounded by min(attempt_timeout, deadline). A
// transport failure, an HTTP 5xx or 429, or a malformed reply puts the endpoint in quarantine
// (endpoint_quarantine, doubling with each consecutive failure up to max_endpoint_quarantine) and
// the request moves to the next endpoint (a reused keep-alive connection that fails is first
// replaced by a fresh one: the node may just have closed it while idle). An error object in the
// reply is an answer, not a failure. When every endpoint is quarantined, the call first tries
// each one it has not tried yet (soonest out of quarantine first), then waits for the next
// quarantine to end while its deadline allows, and otherwise fails with kUnavailable before the
// deadline rather than at it.
//
// Guarantee: request() is at least once. A request whose attempt failed after it was sent may
// have been executed by that node and is sent again to another one; only send requests that are
// safe to repeat (see Rpc::request).
//
// Chain id: with options.chain_id set, each endpoint's eth_chainId is checked before its first use
// and again after each quarantine; an endpoint that serves another chain is quarantined like a
// failed one, so an endpoint configured for the wrong network is never used.
//
// Logging: endpoint switches (info) and failures (warn) through spdlog. Endpoints are logged and
// reported without their path and query, which often hold an API key.
//
// Thread-safety: as Rpc. All calls on one RpcClient and its subscriptions come from coroutines on
// one single-threaded executor (an io_context run by one thread, or a strand), like
// br2k::etcd::Client. Several calls may be in flight at once; each uses its own connection.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <br2k/chain/rpc.hpp>
#include <br2k/net/options.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace br2k::chain {

struct RpcClientOptions {
  // "http://127.0.0.1:8545", "https://host/path". Tried in order (the first one is preferred).
  std::vector<std::string> http_endpoints;
  // "ws://127.0.0.1:8545", "wss://host/path": for subscriptions, and for requests when
  // http_endpoints is empty. At least one endpoint in all.
  std::vector<std::string> ws_endpoints;
  // The chain every endpoint must serve (31337 for anvil); unset: not checked.
  std::optional<std::uint64_t> chain_id;
  // The longest one attempt on one endpoint may take before the request moves on.
  std::chrono::milliseconds attempt_timeout{2000};
  // The longest a TCP connect plus TLS and WebSocket handshakes may take.
  std::chrono::milliseconds dial_timeout{1000};
  // How long a failed endpoint is passed over: doubles with each consecutive failure, up to the
  // maximum; a success resets it.
  std::chrono::milliseconds endpoint_quarantine{500};
  std::chrono::milliseconds max_endpoint_quarantine{10000};
  // Idle keep-alive connections kept per endpoint.
  std::size_t max_idle_connections = 16;
  // body_limit bounds each HTTP reply and each WebSocket message (kTooLarge above it).
  net::HttpLimits limits;
  // TLS for https:// and wss:// endpoints; unset: the system's trust store, peer verified.
  std::optional<net::TlsOptions> tls;
  // A subscription's connection is pinged after half this long without traffic and given up
  // (kUnavailable) when the peer stays silent for all of it: detects a frozen or cut-off node.
  std::chrono::milliseconds ws_idle_timeout{10000};
  // Notifications a subscription holds for a consumer that falls behind; one more ends the
  // subscription with kUnavailable "subscription overflow" instead of growing without bound.
  std::size_t subscription_queue_limit = 4096;
};

enum class EndpointKind { kHttp, kWebSocket };

// One endpoint's state, for status pages and tests.
struct EndpointHealth {
  std::string url;  // without path and query
  EndpointKind kind = EndpointKind::kHttp;
  // False after a failure, until a request or subscription on it succeeds again.
  bool healthy = true;
  bool quarantined = false;  // passed over now
  std::size_t consecutive_failures = 0;
  std::string last_error;  // the most recent failure's message; empty if none ever
};

class RpcClient final : public Rpc {
 public:
  // Throws std::invalid_argument for bad configuration: no endpoint, a malformed URL, a URL of
  // the wrong scheme for its list, non-positive timeouts, TLS files that cannot be loaded.
  RpcClient(boost::asio::any_io_executor executor, RpcClientOptions options);
  ~RpcClient() override;

  // See Rpc::request and the failover notes above. At least once.
  // Errors: kUnavailable (no endpoint answered before the deadline allowed another try),
  // kDeadlineExceeded, kMalformedReply (the last endpoint tried answered garbage), kTooLarge
  // (the reply exceeds limits.body_limit; not retried: every node would send the same),
  // kInvalidArgument (every endpoint serves another chain than options.chain_id).
  Task<Result<RpcReply>> request(std::string method, Json params, Deadline deadline) override;

  // See Rpc::subscribe. Opens a WebSocket connection of its own to the first healthy WebSocket
  // endpoint (failover as for requests), sends eth_subscribe and returns once the node has given
  // the subscription id. The subscription lives until close(), destruction, or the loss of its
  // connection; it does not need this client to stay alive.
  // Errors: as request(); kUnavailable also when no WebSocket endpoint is configured;
  // kServerError "eth_subscribe: <code> <message>" when the node refuses.
  Task<Result<std::unique_ptr<Subscription>>> subscribe(Json params, Deadline deadline) override;

  // Every configured endpoint, HTTP ones first, each list in configured order.
  std::vector<EndpointHealth> health() const;

  // Connections opened so far (HTTP and WebSocket, successful dials only). With keep-alive,
  // sequential requests to a healthy endpoint open one.
  std::uint64_t connections_opened() const;

  struct State;  // shared with in-flight calls

 private:
  std::shared_ptr<State> state_;
};

}  // namespace br2k::chain
