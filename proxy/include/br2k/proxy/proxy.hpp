// br2k-proxy's core: a local HTTP/1.1 listener that forwards every request to the current leader
// of a BR2K service through the failover-aware ServiceClient, so an unmodified application talking
// plain HTTP to 127.0.0.1 never sees a failover (PROTOCOL.md, "Proxy").
//
// Per request: hop-by-hop headers are dropped (RFC 9110 7.6.1), an Idempotency-Key is added to a
// state-changing request (any method but GET, HEAD, OPTIONS, TRACE) that lacks one (so it can be
// retried safely across a failover), and the request is held (retried with backoff, re-resolving
// the leader) until the leader answers or its deadline passes. At most `max_pending` requests are
// held at once; one more gets 503 at once. Errors the proxy generates use the project's JSON error
// format ({"error": "..."}):
//   504 no answer before the deadline, 502 the request may have been applied but its answer was
//   lost (only without an Idempotency-Key), 503 the pending limit is reached or the proxy stops.
// Routes of its own: /-/br2k/status (JSON: service, current leader and epoch, counters, RPC
// endpoints' health) and /metrics (Prometheus).
//
// Threads (`threads` > 1): the proxy then runs that many event loops, the first on the executor
// given, the others each on a thread of its own. Each loop has its own listener on the same port
// (SO_REUSEPORT: the kernel spreads new connections over them), its own ServiceClient and pool of
// connections to the leader, so a request is handled on one thread from accept to answer with no
// lock on its path. The first loop's client is the control client: it follows NewLocation events
// and sends claims; a location any client learns (event, replica hint, chain) is passed to the
// others at once, and the others' failed attempts count toward the control client's claim.
//
// Thread-safety: construct, start() and stop() on the executor given, which must be run by one
// thread (the ServiceClient's requirement); the proxy starts and joins its other threads itself.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/detail/concurrency_hint.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <br2k/client/service_client.hpp>
#include <br2k/net/http_server.hpp>
#include <chrono>
#include <memory>

namespace br2k::proxy {

// The concurrency hint of an event loop run by one thread that starts every operation on its own
// sockets itself (the proxy's loops, and br2k-proxy's first loop): Asio then skips the lock it
// otherwise takes per socket operation (the reactor's per-descriptor mutex). Work may still be
// posted to it from other threads (the scheduler keeps its lock).
inline constexpr int kOneThreadIo = BOOST_ASIO_CONCURRENCY_HINT_UNSAFE_IO;

struct ProxyOptions {
  net::HttpServerOptions listen;  // address, port, limits, timeouts
  client::ServiceClientOptions client;
  // Requests held at once (waiting for a leader or its answer); one more gets 503.
  std::size_t max_pending = 4096;
  // Deadline of a forwarded request (from its arrival at the proxy).
  std::chrono::milliseconds request_timeout{30000};
  // Event loops (see above); at least 1.
  std::size_t threads = 1;
};

class Proxy {
 public:
  // Throws std::invalid_argument for bad configuration.
  Proxy(boost::asio::any_io_executor executor, ProxyOptions options);
  ~Proxy();
  Proxy(const Proxy&) = delete;
  Proxy& operator=(const Proxy&) = delete;

  // Starts the service client and the listener. Errors: those of HttpServer::start.
  Result<boost::asio::ip::tcp::endpoint> start();
  // Graceful stop (SIGTERM): stops accepting, lets held requests finish until `drain_deadline`.
  Task<void> stop(Deadline drain_deadline);

  // The control client (the first event loop's).
  client::ServiceClient& client();
  std::uint16_t local_port() const;
  // What /-/br2k/status answers (figures summed over the event loops).
  Task<std::string> status_json();

  struct State;

 private:
  std::shared_ptr<State> state_;
};

}  // namespace br2k::proxy
