// WebSocket client connection on Boost.Beast. See ws_connection.hpp.
#include "ws_connection.hpp"

#include <sys/socket.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/websocket/error.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <cerrno>
#include <stdexcept>
#include <vector>

namespace br2k::chain {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using asio::ip::tcp;
constexpr auto kUse = asio::as_tuple(asio::use_awaitable);

namespace {

// Translates a transport error into BR2K's typed errors, as net::HttpConnection does.
Error io_error(const boost::system::error_code& ec, const net::Url& url, std::string_view during) {
  std::string detail = std::string(during) + " " + url.origin() + ": " + ec.message();
  if (ec == beast::error::timeout)
    return Error(Errc::kDeadlineExceeded, std::move(detail));
  if (ec == asio::error::operation_aborted)
    return Error(Errc::kCancelled, std::move(detail));
  if (ec == websocket::error::message_too_big || ec == websocket::error::buffer_overflow ||
      ec == beast::http::error::body_limit || ec == beast::http::error::header_limit) {
    return Error(Errc::kTooLarge, std::move(detail));
  }
  if (ec.category() == make_error_code(beast::http::error::end_of_stream).category() &&
      ec != beast::http::error::end_of_stream) {
    return Error(Errc::kMalformedReply, std::move(detail));  // the upgrade reply is not HTTP
  }
  if (during == "TLS handshake" && (ec.category() == asio::error::get_ssl_category() ||
                                    ec.category() == asio::ssl::error::get_stream_category())) {
    return Error(Errc::kAuthFailed, std::move(detail));
  }
  return Error(Errc::kUnavailable, std::move(detail));
}

}  // namespace

template <class F>
decltype(auto) WsConnection::visit(F&& f) {
  if (auto* p = std::get_if<Plain>(&stream_))
    return f(*p);
  return f(std::get<Tls>(stream_));
}

WsConnection::WsConnection(asio::any_io_executor ex, net::Url url,
                           std::shared_ptr<asio::ssl::context> tls, std::uint64_t message_limit)
    : url_(std::move(url)), tls_context_(std::move(tls)) {
  if (url_.tls()) {
    if (!tls_context_)
      throw std::invalid_argument("TLS endpoint without a TLS context");
    stream_.emplace<Tls>(ex, *tls_context_);
  } else {
    stream_.emplace<Plain>(ex);
  }
  visit([&](auto& ws) {
    ws.read_message_max(message_limit);
    // Deadlines come from the TCP stream's expiry until keep_alive() hands over to Beast.
    ws.set_option(websocket::stream_base::timeout{websocket::stream_base::none(),
                                                  websocket::stream_base::none(), false});
    ws.set_option(websocket::stream_base::decorator(
        [](websocket::request_type& req) { req.set(beast::http::field::user_agent, "br2k"); }));
  });
}

WsConnection::~WsConnection() {
  shut();
}

beast::tcp_stream& WsConnection::lowest() {
  if (auto* p = std::get_if<Plain>(&stream_))
    return beast::get_lowest_layer(*p);
  return beast::get_lowest_layer(std::get<Tls>(stream_));
}

Task<Result<void>> WsConnection::connect(Deadline deadline) {
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
    if (result.index() == 1)
      co_return Error(Errc::kDeadlineExceeded, "resolving " + url_.host);
    auto [rec, results] = std::get<0>(result);
    if (rec)
      co_return io_error(rec, url_, "resolve");
    for (const auto& r : results)
      endpoints.push_back(r.endpoint());
  }
  lowest().expires_at(deadline);
  auto [cec, ep] = co_await lowest().async_connect(endpoints, kUse);
  if (cec) {
    shut();
    co_return io_error(cec, url_, "connect");
  }
  lowest().socket().set_option(tcp::no_delay(true));
  if (auto* tls = std::get_if<Tls>(&stream_)) {
    auto& ssl = tls->next_layer();
    if (!SSL_set_tlsext_host_name(ssl.native_handle(), url_.host.c_str())) {
      shut();
      co_return Error(Errc::kInvalidArgument, "bad TLS server name " + url_.host);
    }
    ssl.set_verify_callback(asio::ssl::host_name_verification(url_.host));
    auto [hec] = co_await ssl.async_handshake(asio::ssl::stream_base::client, kUse);
    if (hec) {
      shut();
      co_return io_error(hec, url_, "TLS handshake");
    }
  }
  auto [wec] = co_await visit(
      [&](auto& ws) { return ws.async_handshake(url_.host_header(), url_.target, kUse); });
  if (wec) {
    shut();
    co_return io_error(wec, url_, "WebSocket upgrade");
  }
  lowest().expires_never();
  visit([](auto& ws) { ws.text(true); });
  open_ = true;
  co_return Result<void>();
}

Task<Result<void>> WsConnection::write(std::string_view text, Deadline deadline) {
  if (!open_)
    co_return Error(Errc::kUnavailable, "connection to " + url_.origin() + " closed");
  lowest().expires_at(deadline);
  auto [ec, n] = co_await visit(
      [&](auto& ws) { return ws.async_write(asio::buffer(text.data(), text.size()), kUse); });
  if (ec) {
    shut();
    co_return io_error(ec, url_, "write to");
  }
  lowest().expires_never();
  co_return Result<void>();
}

Task<Result<std::string_view>> WsConnection::read(std::optional<Deadline> deadline) {
  if (!open_) {
    co_return Error(closed_by_us_ ? Errc::kCancelled : Errc::kUnavailable,
                    "connection to " + url_.origin() + " closed");
  }
  buffer_.clear();
  if (deadline)
    lowest().expires_at(*deadline);
  auto [ec, n] = co_await visit([&](auto& ws) { return ws.async_read(buffer_, kUse); });
  if (ec) {
    shut();
    if (closed_by_us_)
      co_return Error(Errc::kCancelled, "connection to " + url_.origin() + " closed");
    if (ec == websocket::error::closed)
      co_return Error(Errc::kUnavailable, url_.origin() + " closed the WebSocket connection");
    if (ec == beast::error::timeout && !deadline)
      co_return Error(Errc::kUnavailable, url_.origin() + " stopped answering pings");
    co_return io_error(ec, url_, "read from");
  }
  if (deadline)
    lowest().expires_never();
  auto data = buffer_.cdata();
  co_return std::string_view(static_cast<const char*>(data.data()), data.size());
}

void WsConnection::keep_alive(std::chrono::milliseconds idle) {
  lowest().expires_never();
  websocket::stream_base::timeout opt{};
  // The closing handshake, if one is ever started, is bounded by the same time.
  opt.handshake_timeout = idle;
  opt.idle_timeout = idle;
  opt.keep_alive_pings = true;
  visit([&](auto& ws) { ws.set_option(opt); });
}

bool WsConnection::reusable() {
  if (!open_ || !visit([](auto& ws) { return ws.is_open(); }))
    return false;
  // Between requests nothing is expected: a close frame, a ping or an EOF makes the connection
  // suspect, and a fresh one is cheap compared with a request lost on a half-closed one.
  char byte;
  ssize_t n = ::recv(lowest().socket().native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

void WsConnection::close() {
  closed_by_us_ = true;
  shut();
}

void WsConnection::shut() {
  open_ = false;
  auto& s = lowest();
  boost::system::error_code ec;
  s.socket().shutdown(tcp::socket::shutdown_both, ec);
  s.close();
}

}  // namespace br2k::chain
