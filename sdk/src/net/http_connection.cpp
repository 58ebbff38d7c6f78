// HTTP/1.1 connection on Boost.Beast. See http_connection.hpp.
#include <sys/socket.h>

#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <br2k/net/http_connection.hpp>
#include <cerrno>
#include <stdexcept>

#include "socket_io.hpp"

namespace br2k::net {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;
constexpr auto kUse = asio::as_tuple(asio::use_awaitable);

namespace {

// Translates a transport error into BR2K's typed errors.
Error io_error(const boost::system::error_code& ec, const Url& url, std::string_view during) {
  std::string detail = std::string(during) + " " + url.host_header() + ": " + ec.message();
  if (ec == beast::error::timeout)
    return Error(Errc::kDeadlineExceeded, std::move(detail));
  if (ec == asio::error::operation_aborted)
    return Error(Errc::kCancelled, std::move(detail));
  if (ec == http::error::body_limit || ec == http::error::header_limit ||
      ec == http::error::buffer_overflow) {
    return Error(Errc::kTooLarge, std::move(detail));
  }
  if (ec == http::error::partial_message)
    return Error(Errc::kMalformedReply, "truncated " + detail);
  if (ec.category() == make_error_code(http::error::end_of_stream).category() &&
      ec != http::error::end_of_stream) {
    return Error(Errc::kMalformedReply, std::move(detail));
  }
  if (ec.category() == asio::error::get_ssl_category() ||
      ec.category() == asio::ssl::error::get_stream_category()) {
    if (during == "TLS handshake")
      return Error(Errc::kAuthFailed, std::move(detail));
  }
  return Error(Errc::kUnavailable, std::move(detail));
}

}  // namespace

// Cancels the socket's operations once `deadline` passes. Shared with its pending timer handler,
// so it outlives the connection until that handler has run; `socket` is null once the connection
// is gone. An idle connection's timer fires at most once more (at the last deadline) and stops.
struct HttpConnection::Watchdog {
  explicit Watchdog(asio::any_io_executor ex) : timer(std::move(ex)) {}

  asio::steady_timer timer;
  Deadline deadline = Deadline::max();  // of the operation in flight; max: none
  tcp::socket* socket = nullptr;
  bool armed = false;  // a wait is pending
  bool fired = false;  // the deadline passed and the operation was cancelled

  static void arm(const std::shared_ptr<Watchdog>& w) {
    w->armed = true;
    w->timer.expires_at(w->deadline);
    w->timer.async_wait([w](const boost::system::error_code&) { wake(w); });
  }

  static void wake(const std::shared_ptr<Watchdog>& w) {
    w->armed = false;
    if (!w->socket || w->deadline == Deadline::max())
      return;  // gone, or nothing in flight: the next operation arms it again
    if (Clock::now() >= w->deadline) {
      w->fired = true;
      w->deadline = Deadline::max();
      boost::system::error_code ec;
      w->socket->cancel(ec);
      return;
    }
    arm(w);  // woken early (an earlier deadline, or a later one now): wait for the current one
  }

  // An operation with this deadline begins.
  static void start(const std::shared_ptr<Watchdog>& w, Deadline d) {
    w->fired = false;
    w->deadline = d;
    if (!w->armed)
      arm(w);
    else if (d < w->timer.expiry())
      w->timer.cancel();  // wake() waits again, for `d`
  }

  // The operation ended: nothing to cancel (the timer, if armed, finds that when it fires).
  void stop() { deadline = Deadline::max(); }
};

HttpConnection::HttpConnection(asio::any_io_executor ex, Url url,
                               std::shared_ptr<asio::ssl::context> tls, HttpLimits limits)
    : url_(std::move(url)), tls_context_(std::move(tls)), limits_(limits) {
  on_chunk_ = [this](std::uint64_t, std::string_view body,
                     boost::system::error_code& ec) -> std::size_t {
    if (pending_.size() + body.size() > limits_.line_limit) {
      ec = http::error::body_limit;
      return 0;
    }
    pending_.append(body);
    return body.size();
  };
  if (url_.tls()) {
    if (!tls_context_)
      throw std::invalid_argument("TLS endpoint without a TLS context");
    stream_.emplace<Tls>(ex, *tls_context_);
  } else {
    stream_.emplace<Plain>(ex);
  }
}

HttpConnection::~HttpConnection() {
  close();
  if (watchdog_) {
    watchdog_->socket = nullptr;
    if (watchdog_->armed)
      watchdog_->timer.cancel();
  }
}

HttpConnection::Plain& HttpConnection::lowest() {
  if (auto* p = std::get_if<Plain>(&stream_))
    return *p;
  return beast::get_lowest_layer(std::get<Tls>(stream_));
}

template <class F>
decltype(auto) HttpConnection::visit(F&& f) {
  if (auto* p = std::get_if<Plain>(&stream_))
    return f(*p);
  return f(std::get<Tls>(stream_));
}

Task<Result<void>> HttpConnection::connect(Deadline deadline) {
  using namespace asio::experimental::awaitable_operators;
  auto ex = co_await asio::this_coro::executor;
  std::vector<tcp::endpoint> endpoints;
  boost::system::error_code ec;
  auto addr = asio::ip::make_address(url_.host, ec);
  auto port = static_cast<unsigned short>(std::stoi(url_.port));
  if (!ec) {
    endpoints.emplace_back(addr, port);
  } else {
    // Name resolution has no timeout of its own; race it against the deadline.
    tcp::resolver resolver(ex);
    asio::steady_timer timer(ex, deadline);
    auto result =
        co_await (resolver.async_resolve(url_.host, url_.port, kUse) || timer.async_wait(kUse));
    if (result.index() == 1) {
      co_return Error(Errc::kDeadlineExceeded, "resolving " + url_.host);
    }
    auto [rec, results] = std::get<0>(result);
    if (rec)
      co_return io_error(rec, url_, "resolve");
    for (const auto& r : results)
      endpoints.push_back(r.endpoint());
  }
  lowest().expires_at(deadline);
  auto [cec, ep] = co_await lowest().async_connect(endpoints, kUse);
  if (cec) {
    close();
    co_return io_error(cec, url_, "connect");
  }
  lowest().socket().set_option(tcp::no_delay(true));
  if (auto* tls = std::get_if<Tls>(&stream_)) {
    if (!SSL_set_tlsext_host_name(tls->native_handle(), url_.host.c_str())) {
      close();
      co_return Error(Errc::kInvalidArgument, "bad TLS server name " + url_.host);
    }
    tls->set_verify_callback(asio::ssl::host_name_verification(url_.host));
    auto [hec] = co_await tls->async_handshake(asio::ssl::stream_base::client, kUse);
    if (hec) {
      close();
      co_return io_error(hec, url_, "TLS handshake");
    }
  }
  lowest().expires_never();
  open_ = true;
  keep_alive_ = true;
  co_return Result<void>();
}

Task<Result<void>> HttpConnection::write(HttpRequest& request, Deadline deadline) {
  if (!open_) {
    co_return Error(Errc::kUnavailable, "connection to " + url_.host_header() + " closed");
  }
  request.prepare_payload();  // a Content-Length (or none): never chunked, so the body goes as is
  serialize_header(request, header_out_);
  const std::array<asio::const_buffer, 2> out{asio::buffer(header_out_),
                                              asio::buffer(request.body())};
  lowest().expires_at(deadline);
  auto [ec, n] = co_await visit([&](auto& s) { return asio::async_write(s, out, kUse); });
  if (ec) {
    close();
    co_return io_error(ec, url_, "write to");
  }
  co_return Result<void>();
}

Task<Result<HttpResponse>> HttpConnection::exchange(HttpRequest& request, Deadline deadline,
                                                    bool& maybe_sent) {
  maybe_sent = false;
  if (auto* plain = std::get_if<Plain>(&stream_)) {
    // The same exchange on the socket itself, with the watchdog's deadline.
    if (!open_) {
      co_return Error(Errc::kUnavailable, "connection to " + url_.host_header() + " closed");
    }
    auto& socket = plain->socket();
    if (!watchdog_) {
      watchdog_ = std::make_shared<Watchdog>(socket.get_executor());
      watchdog_->socket = &socket;
    }
    request.prepare_payload();  // a Content-Length (or none): never chunked
    serialize_header(request, header_out_);
    const std::array<asio::const_buffer, 2> out{asio::buffer(header_out_),
                                                asio::buffer(request.body())};
    Watchdog::start(watchdog_, deadline);
    if (auto ec = co_await detail::send_all(socket, out)) {
      watchdog_->stop();
      close();
      co_return io_error(watchdog_->fired ? beast::error::timeout : ec, url_, "write to");
    }
    maybe_sent = true;
    http::response_parser<http::string_body> parser;
    parser.header_limit(limits_.header_limit);
    parser.body_limit(limits_.body_limit);
    parser.skip(request.method() == http::verb::head);  // see below
    const auto rec =
        co_await detail::read_http(socket, buffer_, parser, detail::ReadUntil::kMessage);
    watchdog_->stop();
    if (rec) {
      close();
      co_return io_error(watchdog_->fired ? beast::error::timeout : rec, url_, "read from");
    }
    keep_alive_ = parser.get().keep_alive();
    co_return parser.release();
  }
  if (auto w = co_await write(request, deadline); !w)
    co_return w.error();
  maybe_sent = true;
  http::response_parser<http::string_body> parser;
  parser.header_limit(limits_.header_limit);
  parser.body_limit(limits_.body_limit);
  // The reply to HEAD has the headers of a GET reply (Content-Length included) but no body
  // (RFC 9110 9.3.2): without this the parser waits for bytes that never come.
  parser.skip(request.method() == http::verb::head);
  auto [rec, rn] =
      co_await visit([&](auto& s) { return http::async_read(s, buffer_, parser, kUse); });
  if (rec) {
    close();
    co_return io_error(rec, url_, "read from");
  }
  lowest().expires_never();
  keep_alive_ = parser.get().keep_alive();
  co_return parser.release();
}

Task<Result<HttpResponse>> HttpConnection::open_stream(HttpRequest& request, Deadline deadline) {
  if (auto w = co_await write(request, deadline); !w)
    co_return w.error();
  stream_parser_.emplace();
  stream_parser_->header_limit(limits_.header_limit);
  stream_parser_->body_limit(boost::none);  // a stream is unbounded; each line is bounded instead
  pending_.clear();
  auto [hec, hn] = co_await visit(
      [&](auto& s) { return http::async_read_header(s, buffer_, *stream_parser_, kUse); });
  if (hec) {
    close();
    co_return io_error(hec, url_, "read from");
  }
  if (stream_parser_->get().result() != http::status::ok) {
    stream_parser_->body_limit(limits_.body_limit);
    auto [rec, rn] = co_await visit(
        [&](auto& s) { return http::async_read(s, buffer_, *stream_parser_, kUse); });
    close();
    if (rec)
      co_return io_error(rec, url_, "read from");
    co_return stream_parser_->release();
  }
  lowest().expires_never();
  // Take the body as it arrives instead of storing it in the message (see on_chunk_).
  stream_parser_->on_chunk_body(on_chunk_);
  HttpResponse header_only;
  header_only.base() = stream_parser_->get().base();
  co_return header_only;
}

Task<Result<std::string>> HttpConnection::read_line() {
  if (!stream_parser_)
    co_return Error(Errc::kUnavailable, "no open stream");
  for (;;) {
    auto nl = pending_.find('\n');
    if (nl != std::string::npos) {
      std::string line = pending_.substr(0, nl);
      pending_.erase(0, nl + 1);
      co_return line;
    }
    if (!open_)
      co_return Error(Errc::kCancelled, "stream from " + url_.host_header() + " closed");
    if (stream_parser_->is_done()) {
      close();
      co_return Error(Errc::kUnavailable, "stream from " + url_.host_header() + " ended");
    }
    if (!stream_parser_->chunked()) {
      // Not a newline-delimited chunked stream: read the rest and treat it as lines.
      auto [ec, n] = co_await visit(
          [&](auto& s) { return http::async_read(s, buffer_, *stream_parser_, kUse); });
      if (ec) {
        close();
        co_return io_error(ec, url_, "read from");
      }
      pending_ += stream_parser_->get().body();
      if (!pending_.empty() && pending_.back() != '\n')
        pending_.push_back('\n');
      continue;
    }
    auto [ec, n] = co_await visit(
        [&](auto& s) { return http::async_read_some(s, buffer_, *stream_parser_, kUse); });
    if (ec) {
      bool was_open = open_;
      close();
      if (!was_open)
        co_return Error(Errc::kCancelled, "stream closed");
      co_return io_error(ec, url_, "read from");
    }
  }
}

bool HttpConnection::reusable() {
  if (!kept_alive())
    return false;
  // A peer that closed an idle connection has left an EOF (or an alert) to read: peek for it
  // without blocking, so a stale pooled connection is never handed a request.
  char byte;
  auto fd = lowest().socket().native_handle();
  ssize_t n = ::recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

void HttpConnection::close() {
  open_ = false;
  auto& s = lowest();
  boost::system::error_code ec;
  s.socket().shutdown(tcp::socket::shutdown_both, ec);
  s.close();
}

}  // namespace br2k::net
