// BR2K's HTTP/1.1 server on Boost.Beast, used by br2k-server (the client API of a replica) and
// br2k-proxy (the local listener). Modelled on Beast's advanced servers: a listener, one
// coroutine per connection, a deadline on every read and write.
//
// Behaviour:
// - HTTP/1.1 with keep-alive, and HTTP/1.0 (kept alive only when the client asks). Chunked
//   request bodies are de-chunked by Beast's parser; the handler sees the whole body.
// - One request at a time per connection: a connection's requests are handled strictly in order,
//   one handler call at a time, and each response is written before the next request is parsed.
//   Pipelined requests are safe: those that arrived together already sit in the connection's
//   buffer and are parsed from it without another read, and responses leave in request order.
//   We do not read ahead while a handler runs: handlers must run one after another anyway (RFC
//   9112 section 9.3.2 allows parallel handling only of safe methods, and a BR2K leader must log
//   one client's writes in the order sent), so reading ahead would only overlap parsing, which
//   takes microseconds, with the handler. Keeping one owner of the socket also lets a read
//   timeout be answered with 408 without cancelling a write in progress.
// - Refusals: the server answers these itself (JSON body {"error": "..."}, see error_response())
//   and then closes the connection:
//     400 malformed request line, header or chunk; Transfer-Encoding not ending in chunked, or in
//         an HTTP/1.0 request; both Content-Length and Transfer-Encoding
//     408 the header (after its first byte) or the body not received in time
//     413 body larger than body_limit          417 an Expect other than 100-continue
//     431 header larger than header_limit      501 a transfer coding other than chunked
//     505 an HTTP major version other than 1
//     503 with Retry-After: 1 to a connection beyond max_connections (before reading anything)
//   A handler that throws gets its client a 500 {"error": "internal server error"} and an error
//   log line; the connection stays open.
// - Expect: 100-continue gets an interim "100 Continue" before the body is read.
// - Every response leaves with the request's HTTP version, a Connection header that says what
//   the server will do (close after `Connection: close`, an HTTP/1.0 request without keep-alive,
//   a handler's own `Connection: close`, a refusal, or during stop()), a Content-Length computed
//   from the body (none for 1xx, 204 and 304), Date, and Server unless the handler set them. The
//   reply to HEAD keeps the Content-Length of the body the handler returned and sends no body.
// - Closing is graceful: the server shuts its side down, then reads and discards what the client
//   still sends for up to 500 ms, so unread request bytes do not turn the close into a reset that
//   destroys the last response in flight (RFC 9112 section 9.6).
// - HTTPS with options.tls: the same server behind a TLS handshake (Asio's ssl::stream over the
//   connection's socket); everything above holds unchanged.
// - Metrics (in options.metrics, or a private registry), named <metrics_prefix>_...:
//     connections_open (gauge), connections_accepted_total, connections_rejected_total
//     (503 for max_connections), requests_total{class="1xx".."5xx"} (refusals included), and
//     request_duration_seconds (histogram, from a request's first byte being read to its
//     response being written).
//
// Threading: the server runs on the executor it is given, which may be an io_context run by one
// thread or a thread pool. Each connection runs on its own strand (unless
// options.single_threaded says the executor needs none), so one connection's handler
// calls never overlap; with a multi-threaded executor different connections' handler calls may
// run in parallel, and the handler must be thread-safe. start(), stop(), local_port() and
// open_connections() may be called from any thread, but start() and stop() not concurrently with
// each other.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <br2k/core/error.hpp>
#include <br2k/net/http_message.hpp>
#include <br2k/net/metrics.hpp>
#include <br2k/net/task.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace br2k::net {

// Answers one request. The request is the handler's to keep or move from; it lives until the
// returned task completes. The handler's errors should be responses (error_response() for the
// project's format); an exception becomes a 500. The handler runs on the connection's strand and
// must not block it. When stop() passes its drain deadline, a handler still running is cancelled
// through its coroutine's cancellation slot (its pending Asio operation fails with
// operation_aborted).
using HttpHandler = std::function<Task<HttpResponse>(HttpRequest&&)>;

struct TlsServerOptions {
  std::string cert_file;  // PEM: the server's certificate, then any intermediates
  std::string key_file;   // PEM: its private key
};

struct HttpServerOptions {
  // An IPv4 or IPv6 address literal (no host names).
  std::string listen_address = "127.0.0.1";
  // 0: an ephemeral port; start() and local_port() report the one bound.
  std::uint16_t port = 0;
  // Connections served at once; one more gets a 503 with Retry-After and is closed.
  std::size_t max_connections = 1024;
  // Largest request header (request line and fields) in bytes; beyond it: 431.
  std::uint32_t header_limit = 8 * 1024;
  // Largest request body in bytes, after de-chunking; beyond it: 413.
  std::uint64_t body_limit = 1024 * 1024;
  // From a request's first byte to the end of its header; also how long a new connection may
  // take to send its first byte (then it is closed without a reply).
  std::chrono::milliseconds read_header_timeout{10'000};
  // From the end of the header to the end of the body.
  std::chrono::milliseconds read_body_timeout{30'000};
  // How long a kept-alive connection may wait for its next request; then it is closed quietly.
  std::chrono::milliseconds idle_timeout{60'000};
  // Writing one response (the client must read it this fast).
  std::chrono::milliseconds write_timeout{30'000};
  // The Server header added to responses that lack one; empty: none.
  std::string server_name = "br2k";
  // Where the server's metrics go; null: a private registry (see metrics()).
  std::shared_ptr<MetricsRegistry> metrics;
  // Prefix of the server's metric names; two servers sharing a registry need different ones.
  std::string metrics_prefix = "br2k_http_server";
  // True when the executor is run by one thread (or is a strand): connections then run on it
  // directly rather than on a strand each, which saves the strand's dispatch on every operation.
  // With a multi-threaded executor this must stay false.
  bool single_threaded = false;
  // HTTPS: every connection starts with a TLS handshake (TLS 1.2 or later), which must finish
  // within read_header_timeout. The constructor loads the files and throws
  // std::invalid_argument when it cannot. A connection beyond max_connections is closed without
  // a reply (a 503 would need a handshake first).
  std::optional<TlsServerOptions> tls;
  // SO_REUSEPORT: several servers (of this process, or of processes of the same user) listen on
  // one port and the kernel spreads new connections over them; each must set it.
  bool reuse_port = false;
};

namespace detail {
struct ServerState;
}

class HttpServer {
 public:
  // Nothing is bound until start(). Throws std::invalid_argument for an empty handler, a zero
  // max_connections or limit, or a non-positive timeout (start-up configuration).
  // REQUIRES: the executor's execution context outlives the server and its connections.
  HttpServer(boost::asio::any_io_executor executor, HttpHandler handler,
             HttpServerOptions options = {});
  // Stops accepting and closes every connection at once, cancelling running handlers, without
  // waiting for them; call stop() first for a graceful shutdown. The server's internal state
  // lives until the last connection has ended, but the handler must not use objects that die
  // with the caller after this returns, so prefer stop().
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds and listens, then accepts connections on the executor. Returns the bound endpoint.
  // Errors: kInvalidArgument (listen_address is not an IP literal; called twice or after stop()),
  // kUnavailable (address in use, not available on this host, permission denied, ...).
  Result<boost::asio::ip::tcp::endpoint> start();

  // Graceful shutdown (the programs' SIGTERM): stops accepting at once (new connections are
  // refused), closes idle connections, lets requests already being read or handled finish and
  // their responses go out with `Connection: close` until `drain_deadline`, then closes what is
  // left and cancels handlers still running. Completes when every connection has ended, or 1 s
  // after the deadline if a handler ignores cancellation (it then ends in the background).
  // Calling it again, or concurrently, completes at once.
  Task<void> stop(Deadline drain_deadline);

  // The bound port; 0 before start().
  std::uint16_t local_port() const;
  // Connections being served now (not counting ones being refused with 503).
  std::size_t open_connections() const;
  // The registry holding the server's metrics (options.metrics, or the private one).
  MetricsRegistry& metrics() const;

 private:
  std::shared_ptr<detail::ServerState> state_;
};

}  // namespace br2k::net
