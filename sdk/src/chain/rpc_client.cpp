// RpcClient: endpoints, the failover policy and requests over HTTP and WebSocket. See
// rpc_client.hpp; subscriptions are in subscription.cpp.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http/field.hpp>
#include <br2k/chain/jsonrpc.hpp>
#include <br2k/chain/rpc_client.hpp>
#include <stdexcept>

#include "client_state.hpp"

namespace br2k::chain {
namespace asio = boost::asio;
namespace http = boost::beast::http;

namespace {

using std::chrono::milliseconds;

// The URL without its path and query, which often carry an API key ("https://host/v3/<key>").
std::string redact(const net::Url& url) {
  return url.origin() + (url.target == "/" ? "" : "/...");
}

}  // namespace

RpcClient::State::State(asio::any_io_executor ex, RpcClientOptions opts)
    : executor(std::move(ex)), options(std::move(opts)) {
  if (options.http_endpoints.empty() && options.ws_endpoints.empty())
    throw std::invalid_argument("chain rpc: no endpoints");
  if (options.attempt_timeout <= milliseconds::zero() ||
      options.dial_timeout <= milliseconds::zero() ||
      options.endpoint_quarantine <= milliseconds::zero() ||
      options.max_endpoint_quarantine < options.endpoint_quarantine ||
      options.ws_idle_timeout <= milliseconds::zero()) {
    throw std::invalid_argument(
        "chain rpc: timeouts and quarantine must be positive (max_endpoint_quarantine at least "
        "endpoint_quarantine)");
  }
  if (options.subscription_queue_limit == 0)
    throw std::invalid_argument("chain rpc: subscription_queue_limit must be positive");
  bool any_tls = false;
  auto add = [&](const std::string& text, EndpointKind kind) {
    auto url = net::parse_url(text);
    // Not echoing the URL itself: it may hold an API key.
    if (!url)
      throw std::invalid_argument("chain rpc: malformed endpoint URL: " + url.error().detail);
    const bool ws = url->scheme == "ws" || url->scheme == "wss";
    if (ws != (kind == EndpointKind::kWebSocket)) {
      throw std::invalid_argument("chain rpc: endpoint " + redact(*url) + " must be " +
                                  (kind == EndpointKind::kWebSocket ? "ws(s)://" : "http(s)://"));
    }
    any_tls = any_tls || url->tls();
    Endpoint e;
    e.label = redact(*url);
    e.url = std::move(*url);
    e.kind = kind;
    endpoints.push_back(std::move(e));
    return endpoints.size() - 1;
  };
  for (const auto& text : options.http_endpoints)
    requests.members.push_back(add(text, EndpointKind::kHttp));
  for (const auto& text : options.ws_endpoints)
    subscriptions.members.push_back(add(text, EndpointKind::kWebSocket));
  if (requests.members.empty())
    requests.members = subscriptions.members;
  if (any_tls)
    tls = net::make_tls_context(options.tls.value_or(net::TlsOptions{}));
}

std::string RpcClient::State::with_label(std::size_t i, const std::string& detail) const {
  const auto& label = endpoints[i].label;
  return detail.starts_with(label) ? detail : label + ": " + detail;
}

Error RpcClient::State::give_up(const Attempts& a, bool deadline_passed) const {
  // An endpoint that kept answering garbage is reported as such, not as slow or down.
  if (a.last.is(Errc::kMalformedReply))
    return a.last;
  if (deadline_passed)
    return Error(Errc::kDeadlineExceeded, a.what + ": deadline passed; last: " + a.last.message());
  return Error(Errc::kUnavailable, a.what + ": no endpoint answered; last: " + a.last.message());
}

Task<Result<std::size_t>> RpcClient::State::choose(Pool& pool, Attempts& a) {
  auto pin = [&](std::size_t k) {
    if (k != pool.pinned) {
      spdlog::info("chain rpc: switching from {} to {}", endpoints[pool.members[pool.pinned]].label,
                   endpoints[pool.members[k]].label);
      pool.pinned = k;
    }
    a.tried[pool.members[k]] = true;
    return pool.members[k];
  };
  const std::size_t n = pool.members.size();
  asio::steady_timer timer(executor);
  for (;;) {
    const auto now = Clock::now();
    if (now >= a.deadline)
      co_return give_up(a, true);
    for (std::size_t k = 0; k < n; ++k) {
      const std::size_t m = (pool.pinned + k) % n;
      if (endpoints[pool.members[m]].down_until <= now)
        co_return pin(m);
    }
    // Every endpoint is quarantined.
    const bool all_wrong_chain =
        std::all_of(pool.members.begin(), pool.members.end(),
                    [&](std::size_t i) { return endpoints[i].wrong_chain; });
    if (all_wrong_chain) {
      co_return Error(Errc::kInvalidArgument, endpoints[pool.members[0]].wrong_chain_detail);
    }
    // Rather than fail at once, try those this call has not tried, the soonest back first (an
    // endpoint serving another chain waits for its quarantine to end).
    std::optional<std::size_t> best;
    std::size_t soonest = 0;
    for (std::size_t k = 0; k < n; ++k) {
      const auto& e = endpoints[pool.members[k]];
      if (e.down_until < endpoints[pool.members[soonest]].down_until)
        soonest = k;
      if (!a.tried[pool.members[k]] && !e.wrong_chain &&
          (!best || e.down_until < endpoints[pool.members[*best]].down_until)) {
        best = k;
      }
    }
    if (best)
      co_return pin(*best);
    // Each was tried: wait for the first to come out of quarantine, if that is before the deadline.
    const Deadline back = endpoints[pool.members[soonest]].down_until;
    if (back >= a.deadline)
      co_return give_up(a, false);
    timer.expires_at(back);
    co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
  }
}

void RpcClient::State::succeeded(std::size_t i) {
  auto& e = endpoints[i];
  if (e.consecutive_failures > 0)
    spdlog::info("chain rpc: {} answers again", e.label);
  e.consecutive_failures = 0;
  e.down_until = {};
  e.wrong_chain = false;
}

void RpcClient::State::failed(std::size_t i, const Error& error, bool wrong_chain) {
  auto& e = endpoints[i];
  ++e.consecutive_failures;
  auto quarantine = options.endpoint_quarantine;
  for (std::size_t k = 1;
       k < e.consecutive_failures && quarantine < options.max_endpoint_quarantine; ++k) {
    quarantine *= 2;
  }
  quarantine = std::min(quarantine, options.max_endpoint_quarantine);
  e.down_until = Clock::now() + quarantine;
  e.last_error = error.message();
  e.chain_checked = false;
  e.wrong_chain = wrong_chain;
  if (wrong_chain)
    e.wrong_chain_detail = error.detail;
  // Connections to a failed endpoint are suspect.
  e.idle_http.clear();
  e.idle_ws.clear();
  spdlog::warn("chain rpc: {} failed ({}); passed over for {} ms", e.label, error.message(),
               quarantine.count());
}

Task<Result<std::unique_ptr<net::HttpConnection>>> RpcClient::State::dial_http(std::size_t i,
                                                                               Deadline deadline) {
  auto conn =
      std::make_unique<net::HttpConnection>(executor, endpoints[i].url, tls, options.limits);
  auto r = co_await conn->connect(std::min(deadline, Clock::now() + options.dial_timeout));
  if (!r)
    co_return r.error();
  ++connections_opened;
  co_return conn;
}

Task<Result<std::unique_ptr<WsConnection>>> RpcClient::State::dial_ws(std::size_t i,
                                                                      Deadline deadline) {
  auto conn =
      std::make_unique<WsConnection>(executor, endpoints[i].url, tls, options.limits.body_limit);
  auto r = co_await conn->connect(std::min(deadline, Clock::now() + options.dial_timeout));
  if (!r)
    co_return r.error();
  ++connections_opened;
  co_return conn;
}

Task<Result<RpcReply>> RpcClient::State::attempt_http(std::size_t i, const std::string& body,
                                                      std::uint64_t id, Deadline deadline) {
  std::unique_ptr<net::HttpConnection> conn;
  auto& idle = endpoints[i].idle_http;
  while (!idle.empty() && !conn) {
    conn = std::move(idle.back());
    idle.pop_back();
    if (!conn->reusable())
      conn.reset();
  }
  const bool reused = conn != nullptr;
  if (!conn) {
    auto d = co_await dial_http(i, deadline);
    if (!d)
      co_return d.error();
    conn = std::move(*d);
  }
  net::HttpRequest req{http::verb::post, conn->url().target, 11};
  req.set(http::field::host, conn->url().host_header());
  req.set(http::field::content_type, "application/json");
  req.set(http::field::user_agent, "br2k");
  req.body() = body;
  bool maybe_sent = false;
  auto resp = co_await conn->exchange(req, deadline, maybe_sent);
  if (!resp && reused && resp.error().is(Errc::kUnavailable)) {
    // The node may have closed the idle keep-alive connection just as it was taken (before
    // reusable() could see it): that says nothing about the node, so retry once on a fresh one.
    auto d = co_await dial_http(i, deadline);
    if (!d)
      co_return d.error();
    conn = std::move(*d);
    resp = co_await conn->exchange(req, deadline, maybe_sent);
  }
  if (!resp)
    co_return resp.error();
  // `i` may have failed (its pool cleared) while this attempt was in flight; a connection that is
  // itself healthy may still go back.
  if (conn->reusable() && endpoints[i].idle_http.size() < options.max_idle_connections)
    endpoints[i].idle_http.push_back(std::move(conn));
  const unsigned status = resp->result_int();
  if (status == 200)
    co_return decode_reply(std::string_view(resp->body()), id);
  if (status >= 500 || status == 429)
    co_return Error(Errc::kUnavailable, "HTTP " + std::to_string(status));
  // Some nodes send a JSON-RPC error with a 4xx status; anything else means a wrong endpoint.
  auto reply = decode_reply(std::string_view(resp->body()), id);
  if (reply)
    co_return std::move(reply);
  co_return Error(Errc::kUnavailable, "HTTP " + std::to_string(status));
}

Task<Result<RpcReply>> RpcClient::State::exchange_ws(WsConnection& conn, const std::string& body,
                                                     std::uint64_t id, Deadline deadline,
                                                     std::vector<Json>* early) {
  if (auto w = co_await conn.write(body, deadline); !w)
    co_return w.error();
  for (;;) {
    auto text = co_await conn.read(deadline);
    if (!text)
      co_return text.error();
    auto message = parse_json(*text);
    if (!message)
      co_return message.error();
    if (is_notification(*message)) {
      if (early)
        early->push_back(std::move(*message));
      continue;
    }
    co_return decode_reply(std::move(*message), id);
  }
}

Task<Result<RpcReply>> RpcClient::State::attempt_ws(std::size_t i, const std::string& body,
                                                    std::uint64_t id, Deadline deadline) {
  std::unique_ptr<WsConnection> conn;
  auto& idle = endpoints[i].idle_ws;
  while (!idle.empty() && !conn) {
    conn = std::move(idle.back());
    idle.pop_back();
    if (!conn->reusable())
      conn.reset();
  }
  const bool reused = conn != nullptr;
  if (!conn) {
    auto d = co_await dial_ws(i, deadline);
    if (!d)
      co_return d.error();
    conn = std::move(*d);
  }
  auto reply = co_await exchange_ws(*conn, body, id, deadline, nullptr);
  if (!reply && reused && reply.error().is(Errc::kUnavailable)) {
    // As for HTTP: an idle connection the node closed is no sign of a failing node.
    auto d = co_await dial_ws(i, deadline);
    if (!d)
      co_return d.error();
    conn = std::move(*d);
    reply = co_await exchange_ws(*conn, body, id, deadline, nullptr);
  }
  if (reply && conn->reusable() && endpoints[i].idle_ws.size() < options.max_idle_connections)
    endpoints[i].idle_ws.push_back(std::move(conn));
  co_return std::move(reply);
}

Result<void> RpcClient::State::check_chain(std::size_t i, RpcReply reply) {
  if (reply.error) {
    return Error(Errc::kUnavailable, "eth_chainId refused: " + std::to_string(reply.error->code) +
                                         " " + reply.error->message);
  }
  auto chain = decode_quantity(reply.result);
  if (!chain)
    return Error(Errc::kMalformedReply, "eth_chainId: " + chain.error().detail);
  if (*chain != *options.chain_id) {
    return Error(Errc::kInvalidArgument, "endpoint " + endpoints[i].label + " serves chain " +
                                             std::to_string(*chain) + ", expected " +
                                             std::to_string(*options.chain_id));
  }
  endpoints[i].chain_checked = true;
  return {};
}

Task<Result<void>> RpcClient::State::ensure_chain(std::size_t i, Deadline deadline,
                                                  WsConnection* conn) {
  if (!options.chain_id || endpoints[i].chain_checked)
    co_return Result<void>();
  const std::uint64_t id = next_id++;
  const std::string body = encode_request(id, "eth_chainId", Json::array());
  Result<RpcReply> reply = Error(Errc::kUnavailable);
  if (conn) {
    reply = co_await exchange_ws(*conn, body, id, deadline, nullptr);
  } else if (endpoints[i].kind == EndpointKind::kHttp) {
    reply = co_await attempt_http(i, body, id, deadline);
  } else {
    reply = co_await attempt_ws(i, body, id, deadline);
  }
  if (!reply) {
    // kInvalidArgument is kept for a chain mismatch (say, a bad TLS server name is not one).
    if (reply.error().is(Errc::kInvalidArgument))
      co_return Error(Errc::kUnavailable, reply.error().detail);
    co_return reply.error();
  }
  co_return check_chain(i, std::move(*reply));
}

Task<Result<RpcReply>> RpcClient::State::attempt(std::size_t i, const std::string& body,
                                                 std::uint64_t id, Deadline deadline,
                                                 bool& wrong_chain) {
  wrong_chain = false;
  if (auto c = co_await ensure_chain(i, deadline); !c) {
    wrong_chain = c.error().is(Errc::kInvalidArgument);
    co_return c.error();
  }
  if (endpoints[i].kind == EndpointKind::kHttp)
    co_return co_await attempt_http(i, body, id, deadline);
  co_return co_await attempt_ws(i, body, id, deadline);
}

RpcClient::RpcClient(asio::any_io_executor executor, RpcClientOptions options)
    : state_(std::make_shared<State>(std::move(executor), std::move(options))) {}

RpcClient::~RpcClient() = default;

Task<Result<RpcReply>> RpcClient::request(std::string method, Json params, Deadline deadline) {
  auto s = state_;  // the state outlives this call even if the client does not
  const std::uint64_t id = s->next_id++;
  const std::string body = encode_request(id, method, params);
  State::Attempts a(deadline, s->endpoints.size(), method);
  for (;;) {
    auto chosen = co_await s->choose(s->requests, a);
    if (!chosen)
      co_return chosen.error();
    const std::size_t i = *chosen;
    const Deadline attempt_deadline = std::min(deadline, Clock::now() + s->options.attempt_timeout);
    bool wrong_chain = false;
    auto reply = co_await s->attempt(i, body, id, attempt_deadline, wrong_chain);
    if (reply) {
      s->succeeded(i);
      co_return std::move(reply);
    }
    // A chain mismatch names its endpoint already.
    Error e(reply.error().code,
            wrong_chain ? reply.error().detail : s->with_label(i, reply.error().detail));
    if (e.is(Errc::kTooLarge))
      co_return e;  // every node would send the same reply
    if (Clock::now() >= deadline && !e.is(Errc::kMalformedReply)) {
      co_return Error(Errc::kDeadlineExceeded, method + ": " + e.detail);
    }
    s->failed(i, e, wrong_chain);
    a.last = std::move(e);
  }
}

std::vector<EndpointHealth> RpcClient::health() const {
  std::vector<EndpointHealth> out;
  const auto now = Clock::now();
  for (const auto& e : state_->endpoints) {
    out.push_back({.url = e.label,
                   .kind = e.kind,
                   .healthy = e.consecutive_failures == 0,
                   .quarantined = e.down_until > now,
                   .consecutive_failures = e.consecutive_failures,
                   .last_error = e.last_error});
  }
  return out;
}

std::uint64_t RpcClient::connections_opened() const {
  return state_->connections_opened;
}

}  // namespace br2k::chain
