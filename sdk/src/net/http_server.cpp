// HttpServer: listening, admitting connections, and shutdown. See http_server.hpp; one
// connection is served by Session (http_session.cpp).
#include <spdlog/spdlog.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <stdexcept>

#include "http_session.hpp"

namespace br2k::net {
namespace asio = boost::asio;
namespace beast = boost::beast;
using asio::ip::tcp;
using detail::ServerState;
using detail::Session;
constexpr auto kUse = asio::as_tuple(asio::use_awaitable);

namespace detail {

ServerState::ServerState(asio::any_io_executor ex, HttpHandler h, HttpServerOptions o)
    : executor(std::move(ex)),
      strand(asio::make_strand(executor)),
      handler(std::move(h)),
      options(std::move(o)),
      registry(options.metrics ? options.metrics : std::make_shared<MetricsRegistry>()),
      metrics(*registry, options.metrics_prefix),
      tls(options.tls ? make_server_tls_context(*options.tls) : nullptr),
      acceptor(strand),
      drained(strand) {}

}  // namespace detail

namespace {

// Connections beyond max_connections are answered 503 by at most this many coroutines at once;
// past that they are closed without a reply, so a flood cannot grow the server without bound.
constexpr std::size_t kMaxRefusing = 64;
// How long a refused connection may take to receive its 503, and to close afterwards.
constexpr std::chrono::milliseconds kRefuseWrite{1000};
constexpr std::chrono::milliseconds kRefuseLinger{500};
// After the drain deadline, how long stop() waits for cancelled handlers to return.
constexpr std::chrono::milliseconds kForceGrace{1000};

const std::string& too_many_connections_reply() {
  static const std::string reply = [] {
    const std::string body = error_response(beast::http::status::service_unavailable,
                                            "too many connections; retry later")
                                 .body();
    return "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
           "Retry-After: 1\r\nConnection: close\r\nContent-Length: " +
           std::to_string(body.size()) + "\r\n\r\n" + body;
  }();
  return reply;
}

std::vector<std::shared_ptr<Session>> live_sessions(ServerState& st) {
  std::vector<std::shared_ptr<Session>> live;
  for (auto& [raw, weak] : st.sessions) {
    if (auto s = weak.lock())
      live.push_back(std::move(s));
  }
  return live;
}

// Answers a connection beyond max_connections with a canned 503 before reading anything, then
// closes it gracefully. beast::tcp_stream's timeouts (which close the socket) fit here.
Task<void> refuse_connection(std::shared_ptr<ServerState> st, tcp::socket socket) {
  beast::tcp_stream stream(std::move(socket));
  stream.expires_after(std::min(kRefuseWrite, st->options.write_timeout));
  const std::string& reply = too_many_connections_reply();
  auto [wec, wn] = co_await asio::async_write(stream, asio::buffer(reply), kUse);
  if (!wec) {
    boost::system::error_code ec;
    stream.socket().shutdown(tcp::socket::shutdown_send, ec);
    // Discard the request the client sends meanwhile, so our close does not reset the 503.
    stream.expires_after(kRefuseLinger);
    char sink[2048];
    for (std::size_t total = 0; total < (1u << 20);) {
      auto [rec, n] = co_await stream.async_read_some(asio::buffer(sink), kUse);
      if (rec)
        break;
      total += n;
    }
  }
  stream.close();
  std::lock_guard lock(st->mu);
  --st->rejecting;
}

Task<void> run_session(std::shared_ptr<Session> session) {
  co_await session->run();
}

void admit(const std::shared_ptr<ServerState>& st, tcp::socket socket) {
  boost::system::error_code ec;
  socket.set_option(tcp::no_delay(true), ec);
  std::shared_ptr<Session> session;
  {
    std::lock_guard lock(st->mu);
    if (st->stopping)
      return;  // the socket closes as it goes out of scope
    if (st->sessions.size() >= st->options.max_connections) {
      // Under TLS a 503 would need a handshake first: the client sees the connection closed.
      if (st->tls) {
        st->metrics.connections_rejected.inc();
        return;
      }
      if (st->rejecting >= kMaxRefusing)
        return;
      ++st->rejecting;
    } else {
      session = std::make_shared<Session>(st, std::move(socket));
      st->sessions.emplace(session.get(), session);
    }
  }
  if (!session) {
    st->metrics.connections_rejected.inc();
    auto ex = socket.get_executor();
    asio::co_spawn(ex, refuse_connection(st, std::move(socket)), asio::detached);
    return;
  }
  st->metrics.connections_accepted.inc();
  st->metrics.connections_open.inc();
  auto ex = session->executor();
  auto slot = session->cancellation_slot();
  asio::co_spawn(ex, run_session(std::move(session)),
                 asio::bind_cancellation_slot(slot, asio::detached));
}

Task<void> accept_loop(std::shared_ptr<ServerState> st) {
  asio::steady_timer backoff(st->strand);
  for (;;) {
    // Each connection gets its own strand, so a thread-pool executor may serve several at once.
    asio::any_io_executor session_ex =
        st->options.single_threaded ? st->executor : asio::make_strand(st->executor);
    auto [ec, socket] = co_await st->acceptor.async_accept(session_ex, kUse);
    if (ec) {
      if (ec == asio::error::operation_aborted || !st->acceptor.is_open())
        co_return;
      if (ec == asio::error::connection_aborted)
        continue;
      // Out of descriptors (EMFILE) or similar: wait a little instead of spinning.
      spdlog::warn("http: accept on port {} failed: {}; retrying in 50 ms", st->port.load(),
                   ec.message());
      backoff.expires_after(std::chrono::milliseconds(50));
      co_await backoff.async_wait(kUse);
      continue;
    }
    admit(st, std::move(socket));
  }
}

// Waits until no session is left (true) or the deadline passes (false). Runs on the strand.
Task<bool> wait_drained(std::shared_ptr<ServerState> st, Deadline deadline) {
  {
    std::lock_guard lock(st->mu);
    if (st->sessions.empty())
      co_return true;
  }
  // The last session to end posts drained.cancel() to the strand, after this wait has begun.
  st->drained.expires_at(deadline);
  co_await st->drained.async_wait(kUse);
  std::lock_guard lock(st->mu);
  co_return st->sessions.empty();
}

Task<void> stop_on_strand(std::shared_ptr<ServerState> st, Deadline deadline) {
  std::vector<std::shared_ptr<Session>> live;
  {
    std::lock_guard lock(st->mu);
    if (st->stopping)
      co_return;
    st->stopping = true;
    live = live_sessions(*st);
  }
  boost::system::error_code ec;
  st->acceptor.close(ec);
  for (auto& s : live)
    s->drain();
  live.clear();
  if (co_await wait_drained(st, deadline))
    co_return;
  {
    std::lock_guard lock(st->mu);
    live = live_sessions(*st);
  }
  spdlog::warn("http: {} connection(s) still busy at the drain deadline; closing them",
               live.size());
  for (auto& s : live)
    s->close_now();
  live.clear();
  const Deadline grace = Clock::now() + kForceGrace;
  if (!co_await wait_drained(st, grace))
    spdlog::warn("http: a handler ignored cancellation; it will finish in the background");
}

}  // namespace

HttpServer::HttpServer(asio::any_io_executor executor, HttpHandler handler,
                       HttpServerOptions options) {
  if (!handler)
    throw std::invalid_argument("HttpServer: no handler");
  if (options.max_connections == 0 || options.header_limit == 0 || options.body_limit == 0)
    throw std::invalid_argument("HttpServer: max_connections and limits must be positive");
  for (auto t : {options.read_header_timeout, options.read_body_timeout, options.idle_timeout,
                 options.write_timeout}) {
    if (t <= std::chrono::milliseconds::zero())
      throw std::invalid_argument("HttpServer: timeouts must be positive");
  }
  state_ =
      std::make_shared<ServerState>(std::move(executor), std::move(handler), std::move(options));
}

HttpServer::~HttpServer() {
  asio::post(state_->strand, [st = state_] {
    std::vector<std::shared_ptr<Session>> live;
    {
      std::lock_guard lock(st->mu);
      st->stopping = true;
      live = live_sessions(*st);
    }
    boost::system::error_code ec;
    st->acceptor.close(ec);
    for (auto& s : live)
      s->close_now();
  });
}

Result<tcp::endpoint> HttpServer::start() {
  auto& st = *state_;
  {
    std::lock_guard lock(st.mu);
    if (st.started || st.stopping)
      return Error(Errc::kInvalidArgument, "HTTP server already started or stopped");
  }
  boost::system::error_code ec;
  auto address = asio::ip::make_address(st.options.listen_address, ec);
  if (ec) {
    return Error(Errc::kInvalidArgument,
                 "listen address '" + st.options.listen_address + "' is not an IP address");
  }
  const tcp::endpoint endpoint(address, st.options.port);
  const std::string where =
      "listen on " + st.options.listen_address + " port " + std::to_string(st.options.port) + ": ";
  auto fail = [&](const boost::system::error_code& e) {
    boost::system::error_code ignored;
    st.acceptor.close(ignored);
    return Error(Errc::kUnavailable, where + e.message());
  };
  if (st.acceptor.open(endpoint.protocol(), ec); ec)
    return fail(ec);
  // Lets a restarted server bind while old connections sit in TIME_WAIT; it does not allow two
  // listeners on one port on Linux.
  if (st.acceptor.set_option(tcp::acceptor::reuse_address(true), ec); ec)
    return fail(ec);
  if (st.options.reuse_port) {
    using reuse_port = asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>;
    if (st.acceptor.set_option(reuse_port(true), ec); ec)
      return fail(ec);
  }
  if (st.acceptor.bind(endpoint, ec); ec)
    return fail(ec);
  if (st.acceptor.listen(asio::socket_base::max_listen_connections, ec); ec)
    return fail(ec);
  auto bound = st.acceptor.local_endpoint(ec);
  if (ec)
    return fail(ec);
  {
    std::lock_guard lock(st.mu);
    st.started = true;
  }
  st.port = bound.port();
  asio::co_spawn(st.strand, accept_loop(state_), asio::detached);
  return bound;
}

Task<void> HttpServer::stop(Deadline drain_deadline) {
  co_await asio::co_spawn(state_->strand, stop_on_strand(state_, drain_deadline),
                          asio::use_awaitable);
}

std::uint16_t HttpServer::local_port() const {
  return state_->port.load();
}

std::size_t HttpServer::open_connections() const {
  std::lock_guard lock(state_->mu);
  return state_->sessions.size();
}

MetricsRegistry& HttpServer::metrics() const {
  return *state_->registry;
}

}  // namespace br2k::net
