// One connection of HttpServer. See http_session.hpp; the behaviour is described in
// http_server.hpp.
#include "http_session.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/rfc7230.hpp>
#include <boost/beast/http/write.hpp>
#include <charconv>
#include <ctime>

namespace br2k::net::detail {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;
constexpr auto kUse = asio::as_tuple(asio::use_awaitable);

namespace {

// How long, and how many bytes, a closing connection reads and discards (see close_gracefully).
constexpr std::chrono::milliseconds kLinger{500};
constexpr std::size_t kLingerBytes = 1 << 20;
// What one read asks the socket for while waiting for a request or lingering.
constexpr std::size_t kReadChunk = 8192;

// The Date header value (RFC 9110 section 5.6.7, IMF-fixdate), formatted at most once a second
// per thread. Hand-written rather than strftime because %a and %b depend on the locale.
std::string_view http_date() {
  static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  thread_local std::time_t cached = -1;
  thread_local char text[40];
  thread_local int length = 0;
  const std::time_t now = std::time(nullptr);
  if (now != cached) {
    std::tm tm{};
    gmtime_r(&now, &tm);
    length = std::snprintf(text, sizeof text, "%s, %02d %s %04d %02d:%02d:%02d GMT",
                           kDays[tm.tm_wday % 7], tm.tm_mday, kMonths[tm.tm_mon % 12],
                           tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
    cached = now;
  }
  return {text, static_cast<std::size_t>(length)};
}

bool is_http_error(const boost::system::error_code& ec) {
  return ec.category() == make_error_code(http::error::end_of_stream).category();
}

// Whether the unparsed request line ends in a well-formed "HTTP/d.d" other than 1.0 and 1.1. Beast
// reports such a version as bad_version, as it does a bad line ending or a space in the target;
// only the first deserves a 505 rather than a 400.
bool names_http_version(const beast::flat_buffer& buffer) {
  std::string_view data(static_cast<const char*>(buffer.data().data()), buffer.size());
  auto eol = data.find("\r\n");
  if (eol == std::string_view::npos || eol < 8)
    return false;
  std::string_view v = data.substr(eol - 8, 8);
  auto digit = [](char c) { return c >= '0' && c <= '9'; };
  return v.starts_with("HTTP/") && digit(v[5]) && v[6] == '.' && digit(v[7]) &&
         data[eol - 9] == ' ' && v != "HTTP/1.0" && v != "HTTP/1.1";
}

std::string peer_of(const tcp::socket& s) {
  boost::system::error_code ec;
  auto ep = s.remote_endpoint(ec);
  return ec ? std::string("unknown peer")
            : ep.address().to_string() + ":" + std::to_string(ep.port());
}

}  // namespace

ServerMetrics::ServerMetrics(MetricsRegistry& r, const std::string& p)
    : connections_open(r.gauge(p + "_connections_open", "HTTP connections being served.").labels()),
      connections_accepted(
          r.counter(p + "_connections_accepted_total", "HTTP connections accepted and served.")
              .labels()),
      connections_rejected(r.counter(p + "_connections_rejected_total",
                                     "HTTP connections answered 503 because max_connections "
                                     "were open.")
                               .labels()),
      by_class{},
      request_duration(r.histogram(p + "_request_duration_seconds",
                                   "Time from reading a request's first byte to writing its "
                                   "response.",
                                   default_duration_buckets())
                           .labels()) {
  auto& requests =
      r.counter(p + "_requests_total", "HTTP responses written, by status class.", {"class"});
  static constexpr std::string_view kClasses[] = {"1xx", "2xx", "3xx", "4xx", "5xx"};
  for (std::size_t i = 0; i < 5; ++i)
    by_class[i] = &requests.labels({kClasses[i]});
}

Session::Session(std::shared_ptr<ServerState> server, tcp::socket socket)
    : server_(std::move(server)), socket_(std::move(socket)), timer_(socket_.get_executor()) {
  if (server_->tls)
    tls_.emplace(socket_, *server_->tls);
}

void Session::drain() {
  asio::post(socket_.get_executor(), [self = shared_from_this()] {
    self->draining_ = true;
    if (self->phase_ == Phase::kIdle) {
      boost::system::error_code ec;
      self->socket_.cancel(ec);
    }
  });
}

void Session::close_now() {
  asio::post(socket_.get_executor(), [self = shared_from_this()] {
    if (self->closed_)
      return;
    self->draining_ = true;
    self->closed_ = true;
    boost::system::error_code ec;
    self->socket_.close(ec);
    self->timer_.cancel();
    self->cancel_.emit(asio::cancellation_type::terminal);
  });
}

void Session::set_deadline(std::chrono::milliseconds d) {
  timed_out_ = false;
  deadline_ = Clock::now() + d;
  // Only an earlier deadline needs the watchdog woken; a later one it finds when its timer fires.
  if (deadline_ < timer_.expiry())
    timer_.expires_at(deadline_);
}

Task<void> Session::watchdog(std::shared_ptr<Session> self) {
  while (!self->closed_) {
    if (self->deadline_ <= Clock::now()) {
      self->timed_out_ = true;
      self->clear_deadline();
      boost::system::error_code ec;
      self->socket_.cancel(ec);
    }
    self->timer_.expires_at(self->deadline_);
    co_await self->timer_.async_wait(kUse);
  }
}

Task<void> Session::run() {
  asio::co_spawn(socket_.get_executor(), watchdog(shared_from_this()), asio::detached);
  try {
    if (co_await handshake())
      co_await serve();
  } catch (const std::exception& e) {
    // After close_now() cancelled the coroutine, its next operation throws.
    spdlog::debug("http: connection from {} ended: {}", peer_of(socket_), e.what());
  }
  finish();
}

Task<void> Session::serve() {
  const auto& o = server_->options;
  for (bool first = true;; first = false) {
    if (buffer_.size() == 0) {
      // Separate statements: GCC 12 miscompiles some co_await inside && and ?:.
      const bool more = co_await wait_for_request(first);
      if (!more)
        break;
    }
    phase_ = Phase::kReading;
    const auto start = Clock::now();
    HttpResponse res;
    unsigned version = 11;
    bool head = false;
    bool close = true;
    auto outcome = co_await read_request(res);
    if (outcome == ReadOutcome::kClosed)
      break;
    if (outcome == ReadOutcome::kRequest) {
      HttpRequest req = parser_->release();
      version = req.version();
      head = req.method() == http::verb::head;
      const bool client_close = !req.keep_alive();
      phase_ = Phase::kHandling;
      // The handler's exception becomes a 500, caught here rather than in a coroutine of its
      // own (one frame and two moves of every reply fewer).
      bool failed = false;
      try {
        res = co_await server_->handler(std::move(req));
      } catch (const std::exception& e) {
        handler_failed(e.what());
        failed = true;
      } catch (...) {
        handler_failed(nullptr);
        failed = true;
      }
      if (failed)
        res = error_response(http::status::internal_server_error, "internal server error");
      // A handler's own `Connection: close` is honoured (its response is HTTP/1.1 by default).
      close = client_close || !res.keep_alive();
    }
    close = close || draining_;
    finish_response(res, version, head, close);
    phase_ = Phase::kWriting;
    set_deadline(o.write_timeout);
    // The header as one string and the body as is: one gathered write (see serialize_header).
    serialize_header(res, header_out_);
    const std::array<asio::const_buffer, 2> out{asio::buffer(header_out_),
                                                asio::buffer(res.body())};
    // Plain TCP calls send_all here rather than through write(): one coroutine frame fewer
    // per request on the path every request takes.
    boost::system::error_code ec;
    if (tls_)
      ec = co_await write(out);
    else
      ec = co_await send_all(socket_, out);
    clear_deadline();
    server_->metrics.requests(res.result_int()).inc();
    server_->metrics.request_duration.observe(
        std::chrono::duration<double>(Clock::now() - start).count());
    if (ec)
      co_return;  // the client is gone or reads too slowly: nothing more to tell it
    if (close)
      break;
  }
  co_await close_gracefully();
}

// The TLS handshake (none without TLS), within read_header_timeout. A client that fails it gets
// no reply: there is no channel to send one on.
Task<bool> Session::handshake() {
  if (!tls_)
    co_return true;
  set_deadline(server_->options.read_header_timeout);
  auto [ec] = co_await tls_->async_handshake(asio::ssl::stream_base::server, kUse);
  clear_deadline();
  if (ec) {
    spdlog::debug("http: TLS handshake with {} failed: {}", peer_of(socket_), ec.message());
    co_return false;
  }
  co_return true;
}

// Writes `out` whole (the 100 Continue, and every response with TLS): plain TCP takes
// send_all's fast path; TLS, Asio's composed write (asio::ssl::stream gathers the buffers itself).
Task<boost::system::error_code> Session::write(const std::array<asio::const_buffer, 2>& out) {
  if (!tls_)
    co_return co_await send_all(socket_, out);
  auto [ec, n] = co_await asio::async_write(*tls_, out, kUse);
  co_return ec;
}

Task<bool> Session::wait_for_request(bool first) {
  if (draining_)
    co_return false;
  phase_ = Phase::kIdle;
  const auto& o = server_->options;
  set_deadline(first ? o.read_header_timeout : o.idle_timeout);
  std::tuple<boost::system::error_code, std::size_t> got;
  if (tls_)
    got = co_await tls_->async_read_some(buffer_.prepare(kReadChunk), kUse);
  else
    got = co_await socket_.async_read_some(buffer_.prepare(kReadChunk), kUse);
  auto [ec, n] = got;
  clear_deadline();
  if (ec) {
    // Idle too long, closed by the client, or drained: close without a reply.
    peer_closed_ = ec == asio::error::eof;
    co_return false;
  }
  buffer_.commit(n);
  co_return true;
}

Task<Session::ReadOutcome> Session::read_request(HttpResponse& refusal) {
  const auto& o = server_->options;
  parser_.emplace();
  parser_->header_limit(o.header_limit);
  parser_->body_limit(o.body_limit);
  set_deadline(o.read_header_timeout);
  // The header is usually in buffer_ already (wait_for_request read it): parsed without a wait.
  boost::system::error_code hec;
  if (tls_)
    hec = co_await read_http(*tls_, buffer_, *parser_, ReadUntil::kHeader);
  else
    hec = co_await read_http(socket_, buffer_, *parser_, ReadUntil::kHeader);
  clear_deadline();
  if (hec)
    co_return refuse(hec, refusal);
  bool expect_continue = false;
  if (auto r = check_header(parser_->get(), expect_continue)) {
    refusal = std::move(*r);
    co_return ReadOutcome::kRefused;
  }
  if (!parser_->is_done()) {
    if (expect_continue) {
      static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      set_deadline(o.write_timeout);
      const auto wec = co_await write({asio::buffer(kContinue), asio::const_buffer()});
      clear_deadline();
      if (wec)
        co_return ReadOutcome::kClosed;
    }
    set_deadline(o.read_body_timeout);
    boost::system::error_code bec;
    if (tls_)
      bec = co_await read_http(*tls_, buffer_, *parser_, ReadUntil::kMessage);
    else
      bec = co_await read_http(socket_, buffer_, *parser_, ReadUntil::kMessage);
    clear_deadline();
    if (bec)
      co_return refuse(bec, refusal);
  }
  co_return ReadOutcome::kRequest;
}

Session::ReadOutcome Session::refuse(http::status status, std::string_view reason,
                                     HttpResponse& refusal) {
  spdlog::debug("http: refusing a request from {}: {} {}", peer_of(socket_),
                static_cast<unsigned>(status), reason);
  refusal = error_response(status, reason);
  return ReadOutcome::kRefused;
}

Session::ReadOutcome Session::refuse(const boost::system::error_code& ec, HttpResponse& refusal) {
  const auto& o = server_->options;
  if (timed_out_) {
    const bool body = parser_->is_header_done();
    const auto limit = body ? o.read_body_timeout : o.read_header_timeout;
    return refuse(http::status::request_timeout,
                  std::string(body ? "request body" : "request header") + " not received within " +
                      std::to_string(limit.count()) + " ms",
                  refusal);
  }
  if (ec == http::error::header_limit || ec == http::error::buffer_overflow) {
    return refuse(http::status::request_header_fields_too_large,
                  "request header larger than " + std::to_string(o.header_limit) + " bytes",
                  refusal);
  }
  if (ec == http::error::body_limit) {
    return refuse(http::status::payload_too_large,
                  "request body larger than " + std::to_string(o.body_limit) + " bytes", refusal);
  }
  if (ec == http::error::end_of_stream || ec == http::error::partial_message) {
    peer_closed_ = true;  // the client stopped sending mid-request
    return ReadOutcome::kClosed;
  }
  if (ec == http::error::bad_version && names_http_version(buffer_)) {
    return refuse(http::status::http_version_not_supported,
                  "HTTP version not supported; use HTTP/1.1", refusal);
  }
  if (is_http_error(ec))
    return refuse(http::status::bad_request, "malformed request: " + ec.message(), refusal);
  return ReadOutcome::kClosed;  // reset by the client, or closed by close_now()
}

std::optional<HttpResponse> Session::check_header(const HttpRequest& req, bool& expect_continue) {
  // RFC 9112 section 6.1: chunked must be the final coding; any other coding we cannot undo.
  // Beast de-chunks only when chunked is final and otherwise reads no body, so a request whose
  // framing it would misread is refused here, before its body is taken for the next request.
  auto te = req.equal_range(http::field::transfer_encoding);
  if (te.first != te.second) {
    if (req.version() == 10)
      return error_response(http::status::bad_request, "Transfer-Encoding in HTTP/1.0 request");
    std::size_t codings = 0;
    bool chunked_last = false;
    std::string other;
    for (auto it = te.first; it != te.second; ++it) {
      for (auto token : http::token_list(it->value())) {
        ++codings;
        chunked_last = beast::iequals(token, "chunked");
        if (!chunked_last && other.empty())
          other.assign(token.data(), token.size());
      }
    }
    if (!chunked_last)
      return error_response(http::status::bad_request, "Transfer-Encoding must end in chunked");
    if (codings > 1 && !other.empty()) {
      return error_response(http::status::not_implemented,
                            "transfer coding '" + other + "' not supported; send chunked only");
    }
    if (codings > 1)
      return error_response(http::status::bad_request, "chunked applied more than once");
  }
  expect_continue = false;
  // RFC 9110 section 10.1.1; an HTTP/1.0 server ignores Expect.
  if (req.version() >= 11 && req.count(http::field::expect) > 0) {
    auto expect = req.find(http::field::expect);
    if (req.count(http::field::expect) > 1 || !beast::iequals(expect->value(), "100-continue"))
      return error_response(http::status::expectation_failed, "only 100-continue is supported");
    expect_continue = true;
  }
  return std::nullopt;
}

void Session::handler_failed(const char* what) {
  if (what && closed_) {
    spdlog::debug("http: handler cancelled at shutdown: {}", what);
  } else {
    spdlog::error("http: handler failed on a request from {}: {}", peer_of(socket_),
                  what ? what : "unknown exception");
  }
}

void Session::finish_response(HttpResponse& res, unsigned version, bool head, bool close) {
  const auto& o = server_->options;
  // One pass over the fields (a handful) tells which of the lookups below can be skipped.
  bool has_server = false, has_date = false, has_te = false, has_connection = false;
  std::size_t lengths = 0;
  std::string_view length;
  for (const auto& f : res) {
    switch (f.name()) {
      case http::field::server:
        has_server = true;
        break;
      case http::field::date:
        has_date = true;
        break;
      case http::field::transfer_encoding:
        has_te = true;
        break;
      case http::field::connection:
        has_connection = true;
        break;
      case http::field::content_length:
        ++lengths;
        length = std::string_view(f.value().data(), f.value().size());
        break;
      default:
        break;
    }
  }
  res.version(version);
  // Without a Connection field, an HTTP/1.1 response kept alive needs none.
  if (has_connection || close || version != 11)
    res.keep_alive(!close);
  if (!o.server_name.empty() && !has_server)
    res.set(http::field::server, o.server_name);
  if (!has_date)
    res.set(http::field::date, http_date());
  // The body is always sent whole with a Content-Length: a string body's size is known, and a
  // handler's Transfer-Encoding would not match what goes out.
  if (has_te)
    res.erase(http::field::transfer_encoding);
  const unsigned status = res.result_int();
  if (status / 100 == 1 || status == 204 || status == 304) {
    res.body().clear();
    res.erase(http::field::content_length);
  } else if (head) {
    if (!res.body().empty() || !res.has_content_length())
      res.content_length(res.body().size());
    res.body().clear();
  } else {
    // Set unless the one Content-Length there already says the body's size.
    char digits[24];
    const auto end = std::to_chars(digits, digits + sizeof digits, res.body().size()).ptr;
    if (lengths != 1 || length != std::string_view(digits, static_cast<std::size_t>(end - digits)))
      res.content_length(res.body().size());
  }
}

Task<void> Session::close_gracefully() {
  phase_ = Phase::kClosing;
  boost::system::error_code ec;
  socket_.shutdown(tcp::socket::shutdown_send, ec);
  if (ec || peer_closed_ || closed_)
    co_return;
  // Read and discard what the client still sends until it closes its side: closing with unread
  // bytes would send a reset, which can destroy our last response before the client reads it.
  set_deadline(std::min(kLinger, server_->options.read_header_timeout));
  for (std::size_t discarded = 0; discarded < kLingerBytes;) {
    buffer_.clear();
    auto [rec, n] = co_await socket_.async_read_some(buffer_.prepare(kReadChunk), kUse);
    if (rec)
      break;
    discarded += n;
  }
  clear_deadline();
}

void Session::finish() {
  closed_ = true;
  boost::system::error_code ec;
  socket_.close(ec);
  timer_.cancel();  // ends the watchdog
  parser_.reset();
  {
    std::lock_guard lock(server_->mu);
    server_->sessions.erase(this);
    if (server_->stopping && server_->sessions.empty())
      asio::post(server_->strand, [server = server_] { server->drained.cancel(); });
  }
  server_->metrics.connections_open.dec();
}

}  // namespace br2k::net::detail
