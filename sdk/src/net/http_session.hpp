// Private parts of HttpServer: the state its connections share, and one connection (Session).
//
// Thread-safety: ServerState's immutable members may be read from any thread; `sessions`,
// `rejecting` and `stopping` are guarded by `mu`; the acceptor and `drained` are used only on
// `strand`. A Session is used only on its own strand, except drain() and close_now(), which post
// to it.
#pragma once

#include <array>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <br2k/net/http_server.hpp>
#include <mutex>
#include <optional>
#include <tuple>
#include <unordered_map>

#include "socket_io.hpp"

namespace br2k::net::detail {

class Session;

// An OpenSSL server context with options' certificate and key (tls_context.cpp). Throws
// std::invalid_argument naming a file that cannot be loaded.
std::shared_ptr<boost::asio::ssl::context> make_server_tls_context(const TlsServerOptions& options);

// The server's own metrics; references into the registry, looked up once.
struct ServerMetrics {
  ServerMetrics(MetricsRegistry& registry, const std::string& prefix);
  // The requests_total child for a status code (codes outside 100-599 count as 5xx).
  Counter& requests(unsigned status) {
    return *by_class[status >= 100 && status < 600 ? status / 100 - 1 : 4];
  }

  Gauge& connections_open;
  Counter& connections_accepted;
  Counter& connections_rejected;
  Counter* by_class[5];
  Histogram& request_duration;
};

struct ServerState {
  ServerState(boost::asio::any_io_executor ex, HttpHandler h, HttpServerOptions o);

  const boost::asio::any_io_executor executor;  // connections' strands are made from it
  const boost::asio::strand<boost::asio::any_io_executor> strand;  // acceptor, drained, stop()
  const HttpHandler handler;
  const HttpServerOptions options;
  const std::shared_ptr<MetricsRegistry> registry;
  ServerMetrics metrics;
  // options.tls loaded; null for plain HTTP.
  const std::shared_ptr<boost::asio::ssl::context> tls;

  boost::asio::ip::tcp::acceptor acceptor;
  boost::asio::steady_timer drained;  // cancelled when the last session ends during stop()
  std::atomic<std::uint16_t> port{0};

  mutable std::mutex mu;
  // Live sessions; each is owned by its own coroutine, so a weak reference here.
  std::unordered_map<Session*, std::weak_ptr<Session>> sessions;
  std::size_t rejecting = 0;  // connections being answered 503
  bool started = false;
  bool stopping = false;
};

// One accepted connection: reads requests, calls the handler, writes responses (see the
// behaviour described in http_server.hpp).
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(std::shared_ptr<ServerState> server, boost::asio::ip::tcp::socket socket);
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // Serves the connection until it closes, then deregisters from the server. Never throws.
  // REQUIRES: runs on the socket's strand, spawned with cancellation_slot() bound.
  Task<void> run();
  // Thread-safe. Finishes the request in progress with `Connection: close`; an idle connection
  // closes at once.
  void drain();
  // Thread-safe. Closes the socket and cancels a running handler.
  void close_now();
  boost::asio::cancellation_slot cancellation_slot() { return cancel_.slot(); }
  boost::asio::any_io_executor executor() { return socket_.get_executor(); }

 private:
  enum class Phase { kIdle, kReading, kHandling, kWriting, kClosing };
  enum class ReadOutcome { kRequest, kRefused, kClosed };

  Task<void> serve();
  Task<bool> handshake();
  Task<boost::system::error_code> write(const std::array<boost::asio::const_buffer, 2>& out);
  Task<bool> wait_for_request(bool first);
  Task<ReadOutcome> read_request(HttpResponse& refusal);
  ReadOutcome refuse(const boost::system::error_code& ec, HttpResponse& refusal);
  ReadOutcome refuse(boost::beast::http::status status, std::string_view reason,
                     HttpResponse& refusal);
  std::optional<HttpResponse> check_header(const HttpRequest& req, bool& expect_continue);
  void handler_failed(const char* what);  // logs it; what is null for a non-std exception
  void finish_response(HttpResponse& res, unsigned version, bool head, bool close);
  Task<void> close_gracefully();
  void finish();

  // The deadline of the current read or write; the watchdog cancels the operation when it
  // passes (and sets timed_out_). A separate watchdog rather than beast::tcp_stream's timeouts,
  // because those close the socket and we want to answer a slow client with 408.
  void set_deadline(std::chrono::milliseconds d);
  void clear_deadline() { deadline_ = Deadline::max(); }
  static Task<void> watchdog(std::shared_ptr<Session> self);

  const std::shared_ptr<ServerState> server_;
  boost::asio::ip::tcp::socket socket_;
  // With TLS, reads and writes go through tls_; socket_'s cancel, shutdown and close serve both.
  std::optional<boost::asio::ssl::stream<boost::asio::ip::tcp::socket&>> tls_;
  boost::beast::flat_buffer buffer_;  // reused for every request of the connection
  std::string header_out_;            // a response's serialized header, reused
  std::optional<boost::beast::http::request_parser<boost::beast::http::string_body>> parser_;
  boost::asio::steady_timer timer_;
  boost::asio::cancellation_signal cancel_;
  Deadline deadline_ = Deadline::max();
  Phase phase_ = Phase::kIdle;
  bool timed_out_ = false;
  bool draining_ = false;
  bool closed_ = false;
  bool peer_closed_ = false;
};

}  // namespace br2k::net::detail
