// One HTTP/1.1 keep-alive connection to one endpoint, plain or TLS, on Boost.Beast.
//
// Used by BR2K's clients (etcd's JSON gateway, Ethereum JSON-RPC) for unary exchanges and for
// newline-delimited streaming replies (etcd watch). Every operation takes a Deadline; on any error
// the connection is closed and must not be reused.
//
// Thread-safety: not thread-safe; one coroutine uses a connection at a time, on its executor.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/parser.hpp>
#include <br2k/core/error.hpp>
#include <br2k/net/http_message.hpp>
#include <br2k/net/options.hpp>
#include <br2k/net/task.hpp>
#include <br2k/net/url.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <variant>

namespace br2k::net {

// An OpenSSL client context for the options. Throws std::invalid_argument when a file cannot be
// loaded: this is start-up configuration.
std::shared_ptr<boost::asio::ssl::context> make_tls_context(const TlsOptions& options);

class HttpConnection {
 public:
  // REQUIRES: tls is non-null when url.tls().
  HttpConnection(boost::asio::any_io_executor ex, Url url,
                 std::shared_ptr<boost::asio::ssl::context> tls, HttpLimits limits = {});
  HttpConnection(const HttpConnection&) = delete;
  HttpConnection& operator=(const HttpConnection&) = delete;
  ~HttpConnection();

  const Url& url() const { return url_; }

  // Resolves, connects and (for TLS) handshakes. Errors: kUnavailable, kDeadlineExceeded,
  // kAuthFailed (TLS handshake refused).
  Task<Result<void>> connect(Deadline deadline);

  // Writes `request` and reads the whole response. `maybe_sent` is set once the request was written
  // completely, after which the server may have acted on it even if the response is lost.
  // Errors: kUnavailable (closed, reset), kDeadlineExceeded, kMalformedReply, kTooLarge.
  Task<Result<HttpResponse>> exchange(HttpRequest& request, Deadline deadline, bool& maybe_sent);

  // Writes `request` and reads the response header of a streaming reply. A non-200 reply is read
  // whole and returned as the response; a 200 leaves the body to read_line().
  Task<Result<HttpResponse>> open_stream(HttpRequest& request, Deadline deadline);

  // The next newline-terminated line of a streaming body (without the newline). No deadline: a
  // stream may be idle for long; close() from another coroutine ends the wait with kCancelled.
  // Errors: kUnavailable ("stream ended" or connection lost), kMalformedReply, kTooLarge.
  Task<Result<std::string>> read_line();

  // True when the connection can carry another request: open, kept alive, and neither closed by
  // the peer nor holding unexpected bytes (checked without blocking).
  bool reusable();
  // The part of reusable() that needs no system call: open, kept alive, and nothing unexpected
  // read. A connection that passes may still have been closed by the peer since.
  bool kept_alive() const { return open_ && keep_alive_ && !stream_parser_ && buffer_.size() == 0; }

  // Closes the socket; pending operations complete with errors.
  void close();

 private:
  using Plain = boost::beast::tcp_stream;
  // Asio's ssl::stream, not beast::ssl_stream: Beast's wrapper (a flat_stream) sent a header and
  // a body over 16 KB given in one write as the header alone and then stalled until the deadline
  // (strace: one 84-byte record, nothing after), so no TLS request over 16 KB ever left.
  using Tls = boost::asio::ssl::stream<boost::beast::tcp_stream>;

  // Writes the whole request by the deadline; closes the connection on failure.
  Task<Result<void>> write(HttpRequest& request, Deadline deadline);
  Plain& lowest();
  template <class F>
  decltype(auto) visit(F&& f);

  // The deadline of exchange() on a plain connection: one timer per connection, re-armed only
  // when a deadline is earlier than the one it waits for, instead of a timer started and
  // cancelled for every read and write (beast::tcp_stream's timeouts).
  struct Watchdog;
  std::shared_ptr<Watchdog> watchdog_;

  Url url_;
  std::shared_ptr<boost::asio::ssl::context> tls_context_;
  HttpLimits limits_;
  std::variant<std::monostate, Plain, Tls> stream_;
  boost::beast::flat_buffer buffer_;
  std::optional<boost::beast::http::response_parser<boost::beast::http::string_body>>
      stream_parser_;
  std::string header_out_;  // a request's serialized header, reused
  std::string pending_;     // streamed body bytes not yet returned as lines
  // Beast keeps a reference to the chunk callback, so it lives here, as long as the parser.
  std::function<std::size_t(std::uint64_t, std::string_view, boost::system::error_code&)> on_chunk_;
  bool open_ = false;
  bool keep_alive_ = false;
};

}  // namespace br2k::net
