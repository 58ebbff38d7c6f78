// Private: one WebSocket client connection (RFC 6455) to a JSON-RPC endpoint, plain or TLS, on
// Boost.Beast.
//
// Two ways to bound its operations: per-operation deadlines (the TCP stream's expiry, for pooled
// request connections, which sit idle between requests), or, after keep_alive(), Beast's own idle
// timeout with keep-alive pings (for subscriptions, whose reader always has a read pending). On
// any error the connection is closed and must not be reused.
//
// Thread-safety: not thread-safe; used from one executor. At most one read and one write at a time.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <br2k/core/error.hpp>
#include <br2k/net/task.hpp>
#include <br2k/net/url.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string_view>
#include <variant>

namespace br2k::chain {

class WsConnection {
 public:
  // REQUIRES: tls is non-null when url.tls(). `message_limit` bounds each message read.
  WsConnection(boost::asio::any_io_executor ex, net::Url url,
               std::shared_ptr<boost::asio::ssl::context> tls, std::uint64_t message_limit);
  WsConnection(const WsConnection&) = delete;
  WsConnection& operator=(const WsConnection&) = delete;
  ~WsConnection();

  const net::Url& url() const { return url_; }

  // Resolves, connects, handshakes TLS (wss) and upgrades to WebSocket by the deadline.
  // Errors: kUnavailable (refused, reset, upgrade declined), kDeadlineExceeded, kAuthFailed (TLS
  // handshake refused), kMalformedReply (the upgrade reply is not HTTP).
  Task<Result<void>> connect(Deadline deadline);

  // Sends one text message. Errors: kUnavailable, kDeadlineExceeded.
  Task<Result<void>> write(std::string_view text, Deadline deadline);

  // Reads one whole message. The view points into this connection's buffer and is valid until the
  // next read. Without a deadline it waits as long as keep_alive() allows (or forever without it).
  // Errors: kUnavailable (closed by the peer, reset, peer silent past the idle timeout),
  // kDeadlineExceeded, kTooLarge (over message_limit), kCancelled (close() was called).
  Task<Result<std::string_view>> read(std::optional<Deadline> deadline);

  // From now on reads are bounded by Beast's idle timeout: a ping after idle/2 without traffic, and
  // the connection is given up when the peer stays silent for `idle`.
  // REQUIRES: a read is kept pending (pongs are only seen by a read).
  void keep_alive(std::chrono::milliseconds idle);

  // True when the connection is open, idle and has nothing unexpected to read (checked without
  // blocking: a peer that closed it has left a close frame or an EOF).
  bool reusable();

  // Closes the socket; pending operations complete with errors.
  void close();

 private:
  using Plain = boost::beast::websocket::stream<boost::beast::tcp_stream>;
  using Tls = boost::beast::websocket::stream<boost::beast::ssl_stream<boost::beast::tcp_stream>>;

  // Closes the socket after a failure (close() is the owner's request).
  void shut();
  boost::beast::tcp_stream& lowest();
  template <class F>
  decltype(auto) visit(F&& f);

  net::Url url_;
  std::shared_ptr<boost::asio::ssl::context> tls_context_;
  std::variant<std::monostate, Plain, Tls> stream_;
  boost::beast::flat_buffer buffer_;
  bool open_ = false;
  bool closed_by_us_ = false;
};

}  // namespace br2k::chain
