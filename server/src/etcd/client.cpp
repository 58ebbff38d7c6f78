// etcd v3 client over the JSON gateway: the failover loop and the unary calls. See client.hpp.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http/field.hpp>
#include <br2k/etcd/client.hpp>
#include <br2k/etcd/codec.hpp>
#include <br2k/etcd/watch.hpp>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>

#include "state.hpp"

namespace br2k::etcd {
namespace asio = boost::asio;
namespace http = boost::beast::http;
using nlohmann::json;

Client::State::State(asio::any_io_executor ex, ClientOptions opts)
    : executor(std::move(ex)), options(std::move(opts)) {
  if (options.endpoints.empty())
    throw std::invalid_argument("etcd client: no endpoints");
  bool any_tls = false;
  for (const auto& text : options.endpoints) {
    auto url = net::parse_url(text);
    if (!url)
      throw std::invalid_argument("etcd endpoint '" + text + "': " + url.error().detail);
    if (url->scheme != "http" && url->scheme != "https") {
      throw std::invalid_argument("etcd endpoint '" + text + "': must be http or https");
    }
    any_tls = any_tls || url->tls();
    endpoints.push_back({.url = std::move(*url), .text = text});
  }
  if (any_tls)
    tls = net::make_tls_context(options.tls.value_or(net::TlsOptions{}));
}

std::size_t Client::State::pick() {
  auto now = Clock::now();
  if (options.prefer_first && pinned != 0)
    maybe_probe_preferred();
  for (std::size_t k = 0; k < endpoints.size(); ++k) {
    std::size_t i = (pinned + k) % endpoints.size();
    if (endpoints[i].down_until <= now) {
      if (i != pinned) {
        spdlog::debug("etcd: moving from {} to {}", endpoints[pinned].text, endpoints[i].text);
        pinned = i;
      }
      return i;
    }
  }
  auto soonest = std::min_element(endpoints.begin(), endpoints.end(),
                                  [](auto& a, auto& b) { return a.down_until < b.down_until; });
  pinned = static_cast<std::size_t>(soonest - endpoints.begin());
  return pinned;
}

bool Client::State::all_down() const {
  auto now = Clock::now();
  return std::all_of(endpoints.begin(), endpoints.end(),
                     [&](const Endpoint& e) { return e.down_until > now; });
}

void Client::State::mark_failed(std::size_t i) {
  endpoints[i].down_until = Clock::now() + options.endpoint_quarantine;
  endpoints[i].idle.clear();  // connections to a failed member are suspect
}

Task<Result<std::unique_ptr<net::HttpConnection>>> Client::State::dial(std::size_t i,
                                                                       Deadline deadline) {
  auto conn =
      std::make_unique<net::HttpConnection>(executor, endpoints[i].url, tls, options.limits);
  auto r = co_await conn->connect(std::min(deadline, Clock::now() + options.dial_timeout));
  if (!r)
    co_return r.error();
  co_return conn;
}

net::HttpRequest Client::State::make_request(std::size_t i, std::string_view path,
                                             std::string body) const {
  net::HttpRequest req{http::verb::post, path, 11};
  req.set(http::field::host, endpoints[i].url.host_header());
  req.set(http::field::content_type, "application/json");
  if (!token.empty())
    req.set(http::field::authorization, token);
  req.body() = std::move(body);
  return req;
}

Task<Result<std::string>> Client::State::attempt(std::size_t i, std::string_view path,
                                                 const std::string& body, Deadline deadline,
                                                 bool& maybe_sent) {
  maybe_sent = false;
  std::unique_ptr<net::HttpConnection> conn;
  auto& idle = endpoints[i].idle;
  while (!idle.empty() && !conn) {
    conn = std::move(idle.back());
    idle.pop_back();
    if (!conn->reusable())
      conn.reset();
  }
  if (!conn) {
    auto d = co_await dial(i, deadline);
    if (!d)
      co_return d.error();
    conn = std::move(*d);
  }
  auto req = make_request(i, path, body);
  auto resp = co_await conn->exchange(req, deadline, maybe_sent);
  if (!resp)
    co_return resp.error();
  // `i` may have been marked failed (its pool cleared) while this attempt was in flight; returning
  // a healthy connection to the pool is still right.
  if (conn->reusable() && endpoints[i].idle.size() < options.max_idle_connections) {
    endpoints[i].idle.push_back(std::move(conn));
  }
  if (resp->result() == http::status::ok)
    co_return std::move(resp->body());
  co_return codec::to_error(codec::decode_gateway_error(resp->result_int(), resp->body()));
}

Task<Result<void>> Client::State::ensure_token(std::size_t i, Deadline deadline) {
  if (options.username.empty() || !token.empty())
    co_return Result<void>();
  json body{{"name", options.username}, {"password", options.password}};
  bool maybe_sent = false;
  auto r = co_await attempt(i, "/v3/auth/authenticate", body.dump(), deadline, maybe_sent);
  if (!r)
    co_return r.error();
  auto t = codec::decode_auth_token(*r);
  if (!t)
    co_return t.error();
  token = std::move(*t);
  co_return Result<void>();
}

namespace {

// The token expired (--auth-token-ttl) or predates an auth change: a fresh one may work.
bool is_invalid_token(const Error& e) {
  return e.is(Errc::kAuthFailed) &&
         (e.detail.find("invalid auth token") != std::string::npos ||
          e.detail.find("revision in header is old") != std::string::npos);
}

// A status that shows the member serving: it names a raft leader and reports no error. A token
// another member issued is refused (simple tokens are per member): that member answers too, and the
// call loop gets it a token of its own.
bool answers_with_leader(const Result<StatusResponse>& s) {
  return s ? s->leader != 0 && s->errors.empty() : is_invalid_token(s.error());
}

// A member's refusal that guarantees the request was not proposed to raft.
bool refused_before_proposal(const Error& e) {
  return e.is(Errc::kUnavailable) && (e.detail.find("no leader") != std::string::npos ||
                                      e.detail.find("too many requests") != std::string::npos ||
                                      e.detail.find("not capable") != std::string::npos);
}

}  // namespace

Task<Result<StatusResponse>> Client::State::status_of(std::size_t i, Deadline deadline) {
  bool maybe_sent = false;
  auto r = co_await attempt(i, "/v3/maintenance/status", "{}", deadline, maybe_sent);
  if (!r)
    co_return r.error();
  co_return codec::decode_status(*r);
}

void Client::State::maybe_probe_preferred() {
  const auto now = Clock::now();
  if (probing || now < next_probe)
    return;
  probing = true;
  next_probe = now + options.preferred_probe_interval;
  asio::co_spawn(
      executor,
      [self = shared_from_this()]() -> Task<void> {
        auto s = co_await self->status_of(0, Clock::now() + self->options.dial_timeout);
        self->probing = false;
        if (!answers_with_leader(s)) {
          self->mark_failed(0);
          co_return;
        }
        self->endpoints[0].down_until = {};  // it answers: no longer quarantined
        if (self->pinned != 0) {
          spdlog::info("etcd: back to the preferred member {} (from {})", self->endpoints[0].text,
                       self->endpoints[self->pinned].text);
          self->pinned = 0;
        }
      },
      asio::detached);
}

struct Client::State::Race {
  explicit Race(const asio::any_io_executor& ex) : done(ex, Deadline::max()) {}
  asio::steady_timer done;  // cancelled when the race ends, which wakes every caller waiting
  bool finished = false;
  std::size_t pending = 0;                 // probes not answered or failed yet
  std::optional<std::size_t> with_leader;  // the first member to answer with a raft leader
  std::optional<std::size_t> reachable;    // the first to answer without one
};

namespace {

// How long a race waits, after a member answered without a raft leader, for one that has one.
constexpr auto kSettle = std::chrono::milliseconds(50);

void end_race(Client::State& s, const std::shared_ptr<Client::State::Race>& r) {
  if (r->finished)
    return;
  r->finished = true;
  if (s.race == r)
    s.race.reset();
  r->done.cancel();
}

}  // namespace

bool Client::State::start_race(Deadline deadline) {
  const auto now = Clock::now();
  std::vector<std::size_t> up;
  for (std::size_t k = 1; k < endpoints.size(); ++k) {
    const std::size_t i = (pinned + k) % endpoints.size();
    if (endpoints[i].down_until <= now)
      up.push_back(i);
  }
  if (up.size() < 2)
    return false;  // nothing to choose between
  auto r = std::make_shared<Race>(executor);
  race = r;
  r->pending = up.size();
  const Deadline until = std::min(deadline, now + options.dial_timeout);
  for (const std::size_t i : up) {
    asio::co_spawn(
        executor,
        [self = shared_from_this(), r, i, until]() -> Task<void> {
          auto s = co_await self->status_of(i, until);
          bool settle = false;
          if (answers_with_leader(s)) {
            if (!r->with_leader)
              r->with_leader = i;
            end_race(*self, r);
          } else if (s) {
            settle = !r->reachable;
            if (settle)
              r->reachable = i;
          } else {
            self->mark_failed(i);
          }
          if (--r->pending == 0 || r->finished) {
            end_race(*self, r);
            co_return;
          }
          if (settle) {
            asio::steady_timer t(self->executor, kSettle);
            co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
            end_race(*self, r);
          }
        },
        asio::detached);
  }
  return true;
}

Task<std::size_t> Client::State::choose(Deadline deadline) {
  if (endpoints[pinned].down_until <= Clock::now() || (!race && !start_race(deadline)))
    co_return pick();
  auto r = race;
  if (!r->finished)
    co_await r->done.async_wait(asio::as_tuple(asio::use_awaitable));
  const auto winner = r->with_leader ? r->with_leader : r->reachable;
  if (winner && endpoints[*winner].down_until <= Clock::now()) {
    if (*winner != pinned) {
      spdlog::debug("etcd: moving from {} to {} (answered first)", endpoints[pinned].text,
                    endpoints[*winner].text);
      pinned = *winner;
    }
    co_return *winner;
  }
  co_return pick();
}

Task<Result<std::string>> Client::State::call(std::string_view path, std::string body, Retry retry,
                                              CallOptions call) {
  const Deadline deadline = deadline_of(call);
  Error last(Errc::kUnavailable, "no member tried");
  auto backoff = std::chrono::milliseconds(20);
  bool token_refreshed = false;
  asio::steady_timer timer(executor);
  for (;;) {
    if (Clock::now() >= deadline) {
      // A member that kept answering garbage is reported as such, not as slow.
      if (last.is(Errc::kMalformedReply))
        co_return last;
      co_return Error(Errc::kDeadlineExceeded, std::string(path) + ": " + last.message());
    }
    if (all_down()) {
      // Every member failed recently: back off (exponentially, capped) before trying again.
      timer.expires_at(std::min(deadline, Clock::now() + backoff));
      co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
      backoff = std::min(backoff * 2, std::chrono::milliseconds(500));
      if (Clock::now() >= deadline)
        continue;
    }
    const std::size_t i = co_await choose(deadline);
    const Deadline attempt_deadline = std::min(deadline, Clock::now() + options.attempt_timeout);
    if (auto a = co_await ensure_token(i, attempt_deadline); !a) {
      if (a.error().is(Errc::kAuthFailed))
        co_return a.error();
      last = a.error();
      mark_failed(i);
      continue;
    }
    bool maybe_sent = false;
    auto r = co_await attempt(i, path, body, attempt_deadline, maybe_sent);
    if (r)
      co_return std::move(*r);
    Error e = std::move(r.error());
    if (!e.detail.starts_with(endpoints[i].text))
      e.detail = endpoints[i].text + ": " + e.detail;
    if (is_invalid_token(e) && !token_refreshed) {
      // Simple tokens expire (--auth-token-ttl); get a fresh one and try once more.
      token.clear();
      token_refreshed = true;
      continue;
    }
    switch (static_cast<Errc>(e.code.value())) {
      case Errc::kUnavailable:
      case Errc::kDeadlineExceeded:
      case Errc::kCancelled:
        // The member failed or is too slow; move on if it is safe.
        mark_failed(i);
        if (retry == Retry::kAlways || !maybe_sent || refused_before_proposal(e)) {
          last = std::move(e);
          continue;
        }
        if (e.is(Errc::kDeadlineExceeded) && Clock::now() >= deadline)
          co_return e;
        co_return Error(Errc::kOutcomeUnknown, std::move(e.detail));
      case Errc::kOutcomeUnknown:
        mark_failed(i);
        if (retry == Retry::kAlways) {
          last = std::move(e);
          continue;
        }
        co_return e;
      case Errc::kMalformedReply:
        // A member that answers garbage is as good as down; reads may ask another one.
        mark_failed(i);
        if (retry == Retry::kAlways) {
          last = std::move(e);
          continue;
        }
        co_return e;
      default:
        co_return e;
    }
  }
}

Client::Client(asio::any_io_executor executor, ClientOptions options)
    : state_(std::make_shared<State>(std::move(executor), std::move(options))) {}

const ClientOptions& Client::options() const {
  return state_->options;
}
asio::any_io_executor Client::get_executor() const {
  return state_->executor;
}
std::string Client::current_endpoint() const {
  return state_->endpoints[state_->pinned].text;
}

namespace {

// Runs `call` on the state and decodes a successful body with `decode`.
template <class Decode>
auto call_and_decode(Client::State& s, std::string_view path, std::string body,
                     Client::State::Retry retry, CallOptions call, Decode decode)
    -> Task<decltype(decode(std::string_view{}))> {
  auto r = co_await s.call(path, std::move(body), retry, call);
  if (!r)
    co_return r.error();
  co_return decode(*r);
}

}  // namespace

using Retry = Client::State::Retry;

Task<Result<RangeResponse>> Client::range(RangeRequest request, CallOptions call) {
  co_return co_await call_and_decode(*state_, "/v3/kv/range", codec::encode(request).dump(),
                                     Retry::kAlways, call, codec::decode_range);
}

Task<Result<PutResponse>> Client::put(PutRequest request, CallOptions call) {
  co_return co_await call_and_decode(*state_, "/v3/kv/put", codec::encode(request).dump(),
                                     Retry::kIfNotSent, call, codec::decode_put);
}

Task<Result<DeleteRangeResponse>> Client::delete_range(DeleteRangeRequest request,
                                                       CallOptions call) {
  co_return co_await call_and_decode(*state_, "/v3/kv/deleterange", codec::encode(request).dump(),
                                     Retry::kIfNotSent, call, codec::decode_delete_range);
}

Task<Result<TxnResponse>> Client::txn(TxnRequest request, CallOptions call) {
  co_return co_await call_and_decode(*state_, "/v3/kv/txn", codec::encode(request).dump(),
                                     Retry::kIfNotSent, call, codec::decode_txn);
}

Task<Result<ResponseHeader>> Client::compact(std::int64_t revision, bool physical,
                                             CallOptions call) {
  json body{{"revision", std::to_string(revision)}, {"physical", physical}};
  co_return co_await call_and_decode(*state_, "/v3/kv/compaction", body.dump(), Retry::kIfNotSent,
                                     call, codec::decode_header_only);
}

Task<Result<LeaseGrantResponse>> Client::lease_grant(std::int64_t ttl_seconds, std::int64_t id,
                                                     CallOptions call) {
  if (ttl_seconds <= 0)
    co_return Error(Errc::kInvalidArgument, "lease TTL must be positive");
  json body{{"TTL", std::to_string(ttl_seconds)}, {"ID", std::to_string(id)}};
  co_return co_await call_and_decode(*state_, "/v3/lease/grant", body.dump(), Retry::kIfNotSent,
                                     call, codec::decode_lease_grant);
}

Task<Result<LeaseKeepAliveResponse>> Client::lease_keep_alive_once(std::int64_t id,
                                                                   CallOptions call) {
  json body{{"ID", std::to_string(id)}};
  auto r = co_await call_and_decode(*state_, "/v3/lease/keepalive", body.dump(), Retry::kAlways,
                                    call, codec::decode_lease_keep_alive);
  if (r && r->ttl <= 0)
    co_return Error(Errc::kNotFound, "lease " + std::to_string(id) + " gone");
  co_return r;
}

Task<Result<void>> Client::lease_revoke(std::int64_t id, CallOptions call) {
  json body{{"ID", std::to_string(id)}};
  auto r = co_await state_->call("/v3/lease/revoke", body.dump(), Retry::kIfNotSent, call);
  if (!r)
    co_return r.error();
  co_return Result<void>();
}

Task<Result<LeaseTimeToLiveResponse>> Client::lease_time_to_live(std::int64_t id, bool keys,
                                                                 CallOptions call) {
  json body{{"ID", std::to_string(id)}, {"keys", keys}};
  co_return co_await call_and_decode(*state_, "/v3/lease/timetolive", body.dump(), Retry::kAlways,
                                     call, codec::decode_lease_time_to_live);
}

Task<Result<StatusResponse>> Client::status(std::string endpoint, CallOptions call) {
  auto& eps = state_->endpoints;
  auto it = std::find_if(eps.begin(), eps.end(), [&](auto& e) { return e.text == endpoint; });
  if (it == eps.end())
    co_return Error(Errc::kInvalidArgument, "unknown endpoint " + endpoint);
  co_return co_await state_->status_of(static_cast<std::size_t>(it - eps.begin()),
                                       state_->deadline_of(call));
}

Task<Result<MemberListResponse>> Client::member_list(CallOptions call) {
  co_return co_await call_and_decode(*state_, "/v3/cluster/member/list", "{}", Retry::kAlways, call,
                                     codec::decode_member_list);
}

Task<Result<void>> Client::move_leader(std::string endpoint, std::uint64_t target,
                                       CallOptions call) {
  auto& eps = state_->endpoints;
  auto it = std::find_if(eps.begin(), eps.end(), [&](auto& e) { return e.text == endpoint; });
  if (it == eps.end())
    co_return Error(Errc::kInvalidArgument, "unknown endpoint " + endpoint);
  bool maybe_sent = false;
  // The gateway's JSON takes 64-bit integers as strings.
  auto r = co_await state_->attempt(
      static_cast<std::size_t>(it - eps.begin()), "/v3/maintenance/transfer-leadership",
      R"({"targetID":")" + std::to_string(target) + R"("})", state_->deadline_of(call), maybe_sent);
  if (!r)
    co_return r.error();
  auto h = codec::decode_header_only(*r);
  if (!h)
    co_return h.error();
  co_return Result<void>();
}

std::shared_ptr<Watch> Client::watch(WatchOptions options) {
  return std::make_shared<Watch>(*this, std::move(options));
}

}  // namespace br2k::etcd
