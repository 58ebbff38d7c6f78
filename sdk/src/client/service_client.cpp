// ServiceClient: leader resolution, retries with backoff and a retry budget, claims.
// See service_client.hpp for the behaviour.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/field.hpp>
#include <br2k/chain/tx_sender.hpp>
#include <br2k/client/service_client.hpp>
#include <br2k/registry/watcher.hpp>
#include <cstring>
#include <list>
#include <map>
#include <random>
#include <set>

namespace br2k::client {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using registry::Location;

namespace {

constexpr std::string_view kLeaderHeader = "BR2K-Leader";
constexpr std::string_view kEpochHeader = "BR2K-Epoch";
constexpr std::string_view kReplicasHeader = "BR2K-Replicas";
constexpr std::string_view kIdempotencyHeader = "Idempotency-Key";

std::string_view trim_view(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
    s.remove_suffix(1);
  return s;
}

std::string trim(std::string_view s) {
  return std::string(trim_view(s));
}

std::optional<std::uint64_t> parse_u64(std::string_view s) {
  std::uint64_t v = 0;
  if (s.empty() || s.size() > 19)
    return std::nullopt;
  for (char c : s) {
    if (c < '0' || c > '9')
      return std::nullopt;
    v = v * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return v;
}

}  // namespace

bool is_safe(std::string_view method) {
  return method == "GET" || method == "HEAD" || method == "OPTIONS" || method == "TRACE";
}

bool is_idempotent(std::string_view method) {
  return method == "GET" || method == "HEAD" || method == "OPTIONS" || method == "PUT" ||
         method == "DELETE" || method == "TRACE";
}

struct ServiceClient::State : std::enable_shared_from_this<ServiceClient::State> {
  State(asio::any_io_executor ex, ServiceClientOptions o)
      : executor(std::move(ex)),
        options(std::move(o)),
        rpc(std::make_unique<chain::RpcClient>(executor, options.rpc)),
        registry(*rpc, options.registry),
        rng(std::random_device{}()) {
    if (options.tls)
      tls = net::make_tls_context(*options.tls);
    tokens = options.retry_budget_burst;
    refilled = Clock::now();
    if (options.claim_key) {
      chain::TxSenderOptions sender_options;
      sender_options.chain_id = options.rpc.chain_id;
      sender_options.custom_errors = registry::registry_errors();
      claim_sender = std::make_unique<chain::TxSender>(*rpc, options.claim_key, sender_options);
      claim_registry.emplace(*rpc, options.registry, claim_sender.get());
    }
  }

  asio::any_io_executor executor;
  ServiceClientOptions options;
  std::unique_ptr<chain::RpcClient> rpc;
  registry::RegistryClient registry;
  std::unique_ptr<chain::TxSender> claim_sender;
  std::optional<registry::RegistryClient> claim_registry;
  std::shared_ptr<asio::ssl::context> tls;
  std::shared_ptr<registry::Watcher> watcher;
  bool stopped = false;

  // Where requests go.
  std::optional<Location> current;
  std::vector<std::string> replicas;  // from BR2K-Replicas; asked for hints when the leader fails
  std::string last_replicas_header;   // the BR2K-Replicas value `replicas` was parsed from
  // The last URL parsed for a request, and what requests to it need (the leader's, nearly
  // always). Shared, so that an attempt in flight keeps its own while another replaces it.
  struct Target {
    net::Url url;
    std::string origin;  // the pool's key
    std::string host;    // the Host header
    std::string base;    // the URL's path without a trailing '/', prefixed to request targets
  };
  std::string parsed_url;
  std::shared_ptr<const Target> parsed_cache;
  std::size_t next_replica = 0;
  std::set<asio::steady_timer*> waiters;  // wait_change() timers, cancelled on a change
  std::function<void(const std::optional<Location>&, const Location&, Source)> on_change;
  std::function<void(const std::string&)> on_unreachable;

  // Chain lookups: one at a time, not more often than every lookup_interval.
  bool lookup_running = false;
  Deadline last_lookup{};
  static constexpr auto kLookupInterval = std::chrono::milliseconds(200);

  // Unreachability and claims.
  std::optional<Clock::time_point> unreachable_since;
  std::set<std::pair<std::string, std::uint64_t>> claimed;
  std::optional<Clock::time_point> last_claim;

  // Retry budget (token bucket).
  double tokens = 0;
  Clock::time_point refilled;

  // Idle keep-alive connections by origin, with when each was released.
  struct IdleConnection {
    std::unique_ptr<net::HttpConnection> connection;
    Clock::time_point since;
  };
  std::map<std::string, std::vector<IdleConnection>, std::less<>> idle;
  // A connection idle for less than this is reused without first checking (a recv syscall)
  // whether the server closed it, when the request may be sent again: should the server have
  // closed it, the request is sent once more on a fresh connection (see request()).
  static constexpr auto kTrustIdleFor = std::chrono::milliseconds(100);
  std::mt19937_64 rng;
  ClientStats stats;

  // Attempts in flight that may be sent again (idempotent, or with an Idempotency-Key), with the
  // URL each went to. When the location moves to another URL at a higher epoch, those to the old
  // one are abandoned: their connections are closed and they go to the new leader at once,
  // instead of waiting out the attempt timeout on a leader that is gone silent (its node
  // partitioned or paused). Resending is safe: the old leader can commit nothing once the new
  // epoch exists (fencing), and the new leader answers a key it has applied from its record.
  struct InFlight {
    std::string url;
    net::HttpConnection* connection;
    bool abandoned = false;
  };
  std::list<InFlight> in_flight;

  void abandon(const std::string& url) {
    for (auto& f : in_flight) {
      if (f.url == url && !f.abandoned) {
        f.abandoned = true;
        ++stats.abandoned;
        f.connection->close();  // the pending read completes with an error
      }
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Locations

  // Offers a location; returns whether requests now go there.
  bool offer(const Location& l, Source source) {
    if (current && l.epoch < current->epoch) {
      ++stats.stale_ignored;
      spdlog::debug("br2k client: ignoring {} at epoch {} (have epoch {})", l.url, l.epoch,
                    current->epoch);
      return false;
    }
    if (current && l.epoch == current->epoch)
      return false;  // same leader (or a conflict)
    auto old = current;
    current = l;
    if (old && old->url != l.url) {
      ++stats.failovers;
      abandon(old->url);
    }
    if (source == Source::kHint)
      ++stats.hints;
    unreachable_since.reset();
    spdlog::info("br2k client: service {} at {} (epoch {}, from {})",
                 registry::to_string(options.service), l.url, l.epoch,
                 source == Source::kEvent  ? "event"
                 : source == Source::kHint ? "replica"
                                           : "chain");
    wake_waiters();
    if (on_change)
      on_change(old, l, source);
    return true;
  }

  // Learns from a reply's BR2K headers.
  void learn(const net::HttpResponse& r, const std::string& from_url) {
    // One pass over the fields for the three BR2K headers (the first of each, as find() would).
    std::optional<std::string_view> replicas_value, epoch_value, leader_value;
    for (const auto& f : r) {
      if (f.name() != http::field::unknown)
        continue;
      const auto name = f.name_string();
      const std::string_view value(f.value().data(), f.value().size());
      if (!replicas_value && boost::beast::iequals(name, kReplicasHeader))
        replicas_value = value;
      else if (!epoch_value && boost::beast::iequals(name, kEpochHeader))
        epoch_value = value;
      else if (!leader_value && boost::beast::iequals(name, kLeaderHeader))
        leader_value = value;
    }
    // Every reply of a leader carries the same BR2K headers: parse them only when they change.
    if (replicas_value && *replicas_value != last_replicas_header) {
      last_replicas_header.assign(replicas_value->data(), replicas_value->size());
      std::vector<std::string> list;
      std::string_view v = *replicas_value;
      while (!v.empty()) {
        auto comma = v.find(',');
        auto item = trim(v.substr(0, comma));
        if (!item.empty() && net::parse_url(item))
          list.push_back(std::move(item));
        if (comma == std::string_view::npos)
          break;
        v.remove_prefix(comma + 1);
      }
      if (!list.empty() && list.size() <= 64)
        replicas = std::move(list);
    }
    std::optional<std::uint64_t> epoch;
    if (epoch_value)
      epoch = parse_u64(trim_view(*epoch_value));
    std::string_view leader = leader_value ? trim_view(*leader_value) : std::string_view();
    if (leader.empty() && r.result_int() != 307 && r.result_int() != 503)
      leader = from_url;
    if (!leader.empty() && epoch && current && current->url == leader && current->epoch == *epoch)
      return;  // what we know already
    if (!leader.empty() && epoch && net::parse_url(leader))
      offer({std::string(leader), *epoch}, Source::kHint);
  }

  // Looks the location up on chain in the background (coalesced and rate-limited).
  void refresh_from_chain() {
    if (lookup_running || stopped || Clock::now() - last_lookup < kLookupInterval)
      return;
    lookup_running = true;
    last_lookup = Clock::now();
    asio::co_spawn(
        executor,
        [self = shared_from_this()]() -> Task<void> {
          ++self->stats.chain_lookups;
          auto l = co_await self->registry.get_service_location(
              self->options.service, Clock::now() + self->options.rpc.attempt_timeout * 2);
          self->lookup_running = false;
          if (self->stopped)
            co_return;
          if (l)
            self->offer(*l, Source::kChain);
          else
            spdlog::debug("br2k client: getServiceLocation: {}", l.error().message());
        },
        asio::detached);
  }

  void wake_waiters() {
    for (auto* t : waiters)
      t->cancel();
  }

  // Waits until the location changes, the client stops, or `until`.
  Task<void> wait_change(Deadline until) {
    asio::steady_timer timer(executor, until);
    waiters.insert(&timer);
    boost::system::error_code ec;
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    waiters.erase(&timer);
  }

  // ---------------------------------------------------------------------------------------------
  // Failures and claims

  void note_failure(const std::string& url) {
    if (!current || current->url != url)
      return;
    if (on_unreachable)
      on_unreachable(url);
    auto now = Clock::now();
    if (!unreachable_since)
      unreachable_since = now;
    refresh_from_chain();
    if (!claim_registry || now - *unreachable_since < options.claim_after)
      return;
    auto key = std::make_pair(current->url, current->epoch);
    if (claimed.count(key))
      return;
    if (last_claim && now - *last_claim < options.claim_interval)
      return;
    claimed.insert(key);
    last_claim = now;
    asio::co_spawn(
        executor,
        [self = shared_from_this(), failed = *current]() -> Task<void> {
          co_await self->claim(failed);
        },
        asio::detached);
  }

  Task<void> claim(Location failed) {
    // A newer location may already be on chain: then there is nothing to claim.
    auto deadline = Clock::now() + std::chrono::seconds(60);
    auto onchain = co_await registry.get_service_location(options.service, deadline);
    if (onchain && onchain->epoch > failed.epoch) {
      offer(*onchain, Source::kChain);
      co_return;
    }
    spdlog::warn("br2k client: service {} unreachable at {} (epoch {}) for {} ms; sending a claim",
                 registry::to_string(options.service), failed.url, failed.epoch,
                 options.claim_after.count());
    auto r = co_await claim_registry->send_claim(options.service, failed.url, failed.epoch,
                                                 options.claim_reason, deadline);
    if (r) {
      ++stats.claims_sent;
      spdlog::info("br2k client: claim sent in block {}", r->block_number);
    } else {
      ++stats.claims_failed;
      spdlog::warn("br2k client: claim failed: {}", r.error().message());
      // StaleClaim: the location moved on; the watcher or a lookup will bring it. Anything
      // else (chain unreachable): allow another try after claim_interval.
      if (chain::revert_name(r.error()) != "StaleClaim")
        claimed.erase(std::make_pair(failed.url, failed.epoch));
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Retry budget and backoff

  Task<bool> take_retry_token(Deadline deadline) {
    for (;;) {
      auto now = Clock::now();
      double secs = std::chrono::duration<double>(now - refilled).count();
      tokens =
          std::min(options.retry_budget_burst, tokens + secs * options.retry_budget_per_second);
      refilled = now;
      if (tokens >= 1) {
        tokens -= 1;
        co_return true;
      }
      auto wait = std::chrono::duration<double>((1 - tokens) / options.retry_budget_per_second);
      auto until = now + std::chrono::duration_cast<Clock::duration>(wait);
      if (until >= deadline || options.retry_budget_per_second <= 0)
        co_return false;
      asio::steady_timer t(executor, until);
      boost::system::error_code ec;
      co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      if (stopped)
        co_return false;
    }
  }

  void reward_success() {
    tokens = std::min(options.retry_budget_burst, tokens + options.retry_budget_ratio);
  }

  Clock::duration backoff(int attempt) {
    auto cap = std::min<std::int64_t>(options.backoff_max.count(), options.backoff_initial.count()
                                                                       << std::min(attempt, 20));
    std::uniform_int_distribution<std::int64_t> d(0, std::max<std::int64_t>(cap, 1));
    return std::chrono::milliseconds(d(rng));
  }

  // ---------------------------------------------------------------------------------------------
  // Connections

  // A pooled connection to `t`, else a new one. `unchecked` is set when a pooled connection is
  // returned without asking the socket whether the server closed it (only when `may_trust`, and
  // it was idle for less than kTrustIdleFor). A `detour` (a replica asked where the leader is)
  // connects within replica_connect_timeout.
  Task<Result<std::unique_ptr<net::HttpConnection>>> acquire(const Target& t, Deadline deadline,
                                                             bool may_trust, bool& unchecked,
                                                             bool detour) {
    unchecked = false;
    const net::Url& url = t.url;
    if (auto it = idle.find(t.origin); it != idle.end()) {
      auto& list = it->second;
      const auto now = may_trust ? Clock::now() : Clock::time_point{};
      while (!list.empty()) {
        auto c = std::move(list.back());
        list.pop_back();
        if (may_trust && now - c.since < kTrustIdleFor && c.connection->kept_alive()) {
          unchecked = true;
          co_return std::move(c.connection);
        }
        if (c.connection->reusable())
          co_return std::move(c.connection);
      }
    }
    if (url.tls() && !tls) {
      net::TlsOptions defaults;
      tls = net::make_tls_context(defaults);
    }
    auto c = std::make_unique<net::HttpConnection>(executor, url, url.tls() ? tls : nullptr,
                                                   options.limits);
    const auto connect_timeout =
        detour ? std::min(options.connect_timeout, options.replica_connect_timeout)
               : options.connect_timeout;
    auto connected = co_await c->connect(std::min(deadline, Clock::now() + connect_timeout));
    if (!connected)
      co_return connected.error();
    co_return std::move(c);
  }

  void release(const Target& t, std::unique_ptr<net::HttpConnection> c) {
    // Whether the server closed it meanwhile is checked when it is taken again (acquire()).
    if (!c->kept_alive())
      return;
    auto it = idle.find(t.origin);
    if (it == idle.end())
      it = idle.emplace(t.origin, std::vector<IdleConnection>()).first;
    if (it->second.size() < options.max_idle_connections)
      it->second.push_back({std::move(c), Clock::now()});
  }
};

std::shared_ptr<ServiceClient> ServiceClient::create(asio::any_io_executor executor,
                                                     ServiceClientOptions options) {
  return std::shared_ptr<ServiceClient>(
      new ServiceClient(std::make_shared<State>(std::move(executor), std::move(options))));
}

ServiceClient::ServiceClient(std::shared_ptr<State> state) : state_(std::move(state)) {}

ServiceClient::~ServiceClient() {
  stop();
}

void ServiceClient::start() {
  auto& s = *state_;
  if (s.options.follow_events) {
    registry::WatcherOptions w;
    w.contract = s.options.registry;
    w.service = s.options.service;
    w.claims = false;
    w.confirmations = s.options.confirmations;
    w.poll_interval = s.options.event_poll_interval;
    s.watcher = registry::Watcher::create(
        s.executor, *s.rpc, w, [weak = std::weak_ptr<State>(state_)](const registry::Event& e) {
          auto self = weak.lock();
          if (!self || e.log.removed)
            return;  // a reorg never lowers the epoch seen
          if (const auto* n = std::get_if<registry::NewLocationEvent>(&e.body)) {
            ++self->stats.events;
            self->offer({n->location, n->epoch}, Source::kEvent);
          }
        });
    s.watcher->start();
  }
  s.refresh_from_chain();
}

void ServiceClient::stop() {
  auto& s = *state_;
  if (s.stopped)
    return;
  s.stopped = true;
  if (s.watcher)
    s.watcher->stop();
  s.wake_waiters();
  for (auto& [origin, list] : s.idle)
    for (auto& c : list)
      c.connection->close();
  s.idle.clear();
}

std::optional<Location> ServiceClient::location() const {
  return state_->current;
}

const ClientStats& ServiceClient::stats() const {
  return state_->stats;
}

void ServiceClient::on_location_change(
    std::function<void(const std::optional<Location>&, const Location&, Source)> callback) {
  state_->on_change = std::move(callback);
}

std::vector<chain::EndpointHealth> ServiceClient::rpc_health() const {
  return state_->rpc->health();
}

bool ServiceClient::adopt_location(const Location& location, Source source) {
  auto& s = *state_;
  if (s.stopped || (s.current && location.epoch <= s.current->epoch))
    return false;
  return s.offer(location, source);
}

void ServiceClient::report_unreachable(const std::string& url) {
  if (!state_->stopped)
    state_->note_failure(url);
}

void ServiceClient::on_unreachable(std::function<void(const std::string& url)> callback) {
  state_->on_unreachable = std::move(callback);
}

namespace {

// Registers an attempt in State::in_flight for its lifetime (nothing for an empty URL: an
// attempt that may not be sent again is never abandoned).
class InFlightGuard {
 public:
  InFlightGuard(ServiceClient::State& s, const std::string& url, net::HttpConnection* c) : s_(s) {
    if (!url.empty())
      it_ = s_.in_flight.insert(s_.in_flight.end(), {url, c});
  }
  ~InFlightGuard() {
    if (it_)
      s_.in_flight.erase(*it_);
  }
  InFlightGuard(const InFlightGuard&) = delete;
  InFlightGuard& operator=(const InFlightGuard&) = delete;
  bool abandoned() const { return it_ && (*it_)->abandoned; }
  void set_connection(net::HttpConnection* c) {
    if (it_)
      (*it_)->connection = c;
  }

 private:
  ServiceClient::State& s_;
  std::optional<std::list<ServiceClient::State::InFlight>::iterator> it_;
};

}  // namespace

Task<Result<net::HttpResponse>> ServiceClient::request(net::HttpRequest request,
                                                       RequestOptions options) {
  auto state = state_;  // alive for the whole request
  auto& s = *state;
  const Deadline deadline = options.deadline.value_or(Clock::now() + s.options.request_timeout);
  ++s.stats.requests;
  const std::string method(request.method_string());
  bool has_key = request.find(kIdempotencyHeader) != request.end();
  // Every state-changing request gets a key, PUT and DELETE included: HTTP calls them idempotent,
  // but applying one twice is visible (a read between the two applications sees the value come
  // back after another client's write), so a retry must be deduplicated like a POST.
  if (!has_key && options.add_idempotency_key && !is_safe(method)) {
    std::uniform_int_distribution<std::uint64_t> d;
    std::array<std::uint8_t, 16> id;
    for (int i = 0; i < 2; ++i) {
      auto v = d(s.rng);
      std::memcpy(id.data() + 8 * i, &v, 8);
    }
    id[6] = static_cast<std::uint8_t>((id[6] & 0x0f) | 0x40);  // UUID version 4
    id[8] = static_cast<std::uint8_t>((id[8] & 0x3f) | 0x80);  // RFC 4122 variant
    auto hex = to_hex(id);
    request.set(kIdempotencyHeader, hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" +
                                        hex.substr(12, 4) + "-" + hex.substr(16, 4) + "-" +
                                        hex.substr(20));
    has_key = true;
  }
  const bool retry_after_send = has_key || is_idempotent(method);
  const std::string target(request.target());

  Error last(Errc::kUnavailable, "no location known for the service");
  bool maybe_applied = false;
  std::string next_url;          // a replica to ask, or a hint to follow, for the next attempt only
  bool next_is_replica = false;  // next_url is a replica asked where the leader is
  int attempt = 0;
  int quick_redirects = 0;
  auto fail = [&](Error e) {
    ++s.stats.failed;
    if (maybe_applied && !retry_after_send && e.is(Errc::kDeadlineExceeded))
      e.code = make_error_code(Errc::kOutcomeUnknown);
    return e;
  };

  for (;;) {
    if (s.stopped)
      co_return fail(Error(Errc::kCancelled, "client stopped"));
    if (Clock::now() >= deadline)
      co_return fail(
          Error(Errc::kDeadlineExceeded, "no reply before the deadline; last: " + last.message()));
    // Where to: a one-off hint or replica, else the current location, else wait for one.
    std::string url = std::exchange(next_url, std::string());
    const bool asking_replica = std::exchange(next_is_replica, false);
    if (url.empty() && s.current)
      url = s.current->url;
    if (url.empty()) {
      s.refresh_from_chain();
      co_await s.wait_change(std::min(deadline, Clock::now() + std::chrono::milliseconds(250)));
      continue;
    }
    if (url != s.parsed_url || !s.parsed_cache) {
      auto p = net::parse_url(url);
      s.parsed_url = url;
      s.parsed_cache.reset();
      if (p) {
        State::Target t{*p, p->origin(), p->host_header(), p->target == "/" ? "" : p->target};
        if (!t.base.empty() && t.base.back() == '/')
          t.base.pop_back();
        s.parsed_cache = std::make_shared<const State::Target>(std::move(t));
      } else {
        last = Error(Errc::kInvalidArgument, "location " + url + ": " + p.error().detail);
        s.parsed_url.clear();
      }
    }
    const std::shared_ptr<const State::Target> parsed = s.parsed_cache;
    if (!parsed) {
      if (s.current && s.current->url == url) {
        // A malformed location on chain: only a newer one can help.
        s.refresh_from_chain();
        co_await s.wait_change(std::min(deadline, Clock::now() + s.options.backoff_max));
      }
      continue;
    }

    ++s.stats.attempts;
    const Deadline attempt_deadline = std::min(deadline, Clock::now() + s.options.attempt_timeout);
    bool sent = false;
    bool abandoned = false;
    Result<net::HttpResponse> reply = Error(Errc::kUnavailable);
    bool unchecked = false;
    auto conn =
        co_await s.acquire(*parsed, attempt_deadline, retry_after_send, unchecked, asking_replica);
    if (conn) {
      // The request itself is sent (no copy): what an attempt changes, it sets every time.
      if (parsed->base.empty()) {
        if (request.target() != target)
          request.target(target);
      } else {
        request.target(parsed->base + target);
      }
      request.set(http::field::host, parsed->host);
      request.keep_alive(true);
      InFlightGuard tracked(s, retry_after_send ? url : std::string(), conn->get());
      reply = co_await (*conn)->exchange(request, attempt_deadline, sent);
      if (!reply && unchecked && reply.error().is(Errc::kUnavailable) && !tracked.abandoned()) {
        // The server may have closed the idle connection as it was taken (acquire() did not
        // ask): that says nothing about the server, so send once more on a fresh connection,
        // as if the check had found it closed. Only done for requests that may be sent again.
        bool ignored = false;
        conn = co_await s.acquire(*parsed, attempt_deadline, false, ignored, asking_replica);
        if (conn) {
          tracked.set_connection(conn->get());
          reply = co_await (*conn)->exchange(request, attempt_deadline, sent);
        } else {
          reply = conn.error();
        }
      }
      abandoned = !reply && tracked.abandoned();
      if (reply)
        s.release(*parsed, std::move(*conn));
    } else {
      reply = conn.error();
    }

    bool retry_now = false;
    std::optional<Clock::duration> wait;
    if (!reply && abandoned) {
      // A newer leader replaced the one this attempt went to: straight to it.
      last = Error(Errc::kUnavailable,
                   url + " was replaced by " + (s.current ? s.current->url : std::string()));
      maybe_applied = maybe_applied || sent;
      retry_now = true;
    } else if (!reply) {
      last = reply.error();
      if (reply.error().is(Errc::kTooLarge))
        co_return fail(reply.error());
      if (sent) {
        maybe_applied = true;
        if (!retry_after_send) {
          ++s.stats.failed;
          co_return Error(Errc::kOutcomeUnknown,
                          method + " " + target + " may have been applied: " + last.message());
        }
      }
      s.note_failure(url);
      // Ask a replica where the leader is now.
      for (std::size_t i = 0; i < s.replicas.size(); ++i) {
        const auto& r = s.replicas[s.next_replica++ % s.replicas.size()];
        if (r != url) {
          next_url = r;
          next_is_replica = true;
          break;
        }
      }
      wait = s.backoff(attempt);
    } else {
      const auto status = reply->result_int();
      s.learn(*reply, url);
      if (status == 307 || status == 308) {
        auto it = reply->find(kLeaderHeader);
        std::string hint = it != reply->end() ? trim(it->value()) : std::string();
        if (hint.empty()) {
          if (auto loc = reply->find(http::field::location); loc != reply->end()) {
            // A plain redirect: the same path on another origin.
            auto to = net::parse_url(trim(loc->value()));
            if (to)
              hint = to->origin();
          }
        }
        last = Error(Errc::kUnavailable, url + " redirected to " + hint);
        if (!hint.empty() && hint != url) {
          // Follow it once; if it was a BR2K hint with an epoch, learn() already made it current.
          if (!s.current || s.current->url != hint)
            next_url = hint;
          retry_now = ++quick_redirects <= 3;
        }
        if (!retry_now)
          wait = s.backoff(attempt);
      } else if (status == 503) {
        last = Error(Errc::kUnavailable, url + " answered 503");
        if (s.current && s.current->url == url)
          s.note_failure(url);
        wait = s.backoff(attempt);
        if (auto ra = reply->find(http::field::retry_after); ra != reply->end()) {
          if (auto secs = parse_u64(trim(ra->value())))
            wait = std::min<Clock::duration>(*wait, std::chrono::seconds(*secs));
        }
      } else {
        // The leader's answer, whatever it is.
        if (s.current && s.current->url == url)
          s.unreachable_since.reset();
        s.reward_success();
        ++s.stats.succeeded;
        co_return std::move(reply);
      }
    }

    if (spdlog::should_log(spdlog::level::debug)) {
      using std::chrono::duration_cast;
      using std::chrono::milliseconds;
      spdlog::debug(
          "br2k client: {} {} attempt {} to {}: {}; next {}", method, target, attempt, url,
          last.message(),
          retry_now ? std::string("at once")
          : wait    ? "within " + std::to_string(duration_cast<milliseconds>(*wait).count()) + " ms"
                    : std::string("after a change"));
    }
    ++attempt;
    ++s.stats.retries;
    if (!co_await s.take_retry_token(deadline))
      co_return fail(Error(Errc::kDeadlineExceeded,
                           "retry budget exhausted before the deadline; last: " + last.message()));
    if (!retry_now && wait) {
      auto until = std::min(deadline, Clock::now() + *wait);
      if (!next_url.empty()) {
        // Asking a replica is cheap: do not wait the whole backoff for it.
        until = std::min(until, Clock::now() + std::chrono::milliseconds(5));
      }
      co_await s.wait_change(until);
    }
  }
}

}  // namespace br2k::client
