// Node: lifecycle, membership and election. See node.hpp for the protocol and node_impl.hpp for
// how the parts share state.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <br2k/net/url.hpp>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "node_impl.hpp"

namespace br2k::server {

namespace asio = boost::asio;
using json = nlohmann::json;

std::string_view to_string(Role r) {
  switch (r) {
    case Role::kStarting:
      return "starting";
    case Role::kFollower:
      return "follower";
    case Role::kCandidate:
      return "candidate";
    case Role::kLeader:
      return "leader";
  }
  return "unknown";
}

Task<bool> Signal::wait(Deadline until) {
  asio::steady_timer timer(executor_, until);
  auto it = timers_.insert(timers_.end(), &timer);
  struct Unlink {
    std::list<asio::steady_timer*>& list;
    std::list<asio::steady_timer*>::iterator it;
    ~Unlink() { list.erase(it); }
  } unlink{timers_, it};
  const auto generation = generation_;
  co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
  co_return generation != generation_;
}

void Signal::notify() {
  ++generation_;
  for (auto* t : timers_)
    t->cancel();
}

Task<void> sleep_for(Clock::duration d) {
  asio::steady_timer t(co_await asio::this_coro::executor, d);
  co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
}

namespace {

void check_options(const NodeOptions& o) {
  if (o.node_id.empty() || o.node_id.size() > 64)
    throw std::invalid_argument("node: node_id must have 1 to 64 characters");
  for (char c : o.node_id) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-')
      throw std::invalid_argument("node: node_id may hold only [A-Za-z0-9._-]: " + o.node_id);
  }
  if (o.prefix.empty())
    throw std::invalid_argument("node: empty etcd prefix");
  if (o.lease_ttl_seconds < 1)
    throw std::invalid_argument("node: lease_ttl_seconds must be at least 1");
  if (o.lease_grace && o.lease_grace->count() < 0)
    throw std::invalid_argument("node: lease_grace must not be negative");
  if (o.suspended_hold.count() < 0)
    throw std::invalid_argument("node: suspended_hold must not be negative");
  if (o.max_batch_entries < 1 || o.max_batch_entries > 127)
    throw std::invalid_argument("node: max_batch_entries must be 1..127");
  if (o.sync_batch < 1 || o.max_pending < 1 || o.max_batch_bytes < 1024)
    throw std::invalid_argument("node: sync_batch, max_pending, max_batch_bytes too small");
  if (!o.advertise_url.empty() && !net::parse_url(o.advertise_url))
    throw std::invalid_argument("node: advertise_url is not a URL: " + o.advertise_url);
}

NodeOptions checked(NodeOptions o) {
  check_options(o);
  // The etcd client pins the first endpoint that answers: the member on this node's host comes
  // first, so that only a failure of this node's own host (when this node is cut off anyway)
  // costs its etcd calls an attempt timeout. With every node pinning the same first member, a
  // failure of that member's host stalled the leader's appends for an attempt timeout (2 s)
  // though the leader's own host was fine.
  if (!o.etcd_local.empty()) {
    auto& e = o.etcd.endpoints;
    auto local = std::find(e.begin(), e.end(), o.etcd_local);
    if (local != e.end()) {
      std::rotate(e.begin(), local, e.end());
      o.etcd.prefer_first = true;  // and it comes back to it after moving away
    }
  }
  return o;
}

}  // namespace

Node::Impl::Impl(asio::any_io_executor ex, StateMachine& m, NodeOptions o)
    : executor(ex),
      machine(m),
      options(checked(std::move(o))),
      keys(options.prefix),
      etcd(ex, options.etcd),
      state(m, options.state),
      metrics(options.metrics ? options.metrics : std::make_shared<net::MetricsRegistry>()),
      changed(ex),
      applied(ex),
      work(ex) {
  auto& r = *metrics;
  m_appended =
      &r.counter("br2k_node_appended_entries_total", "Entries appended as leader.").labels();
  m_transactions =
      &r.counter("br2k_node_append_transactions_total", "Append transactions committed.").labels();
  m_fenced =
      &r.counter("br2k_node_fenced_total", "Append transactions refused by the fence.").labels();
  m_elections = &r.counter("br2k_node_elections_won_total", "Elections won.").labels();
  m_step_downs = &r.counter("br2k_node_step_downs_total", "Times leadership was lost.").labels();
  m_suspensions = &r.counter("br2k_node_suspensions_total",
                             "Times a leader stopped serving to wait for a lease renewal.")
                       .labels();
  m_duplicates =
      &r.counter("br2k_node_duplicate_requests_total", "Writes answered from the applied-id table.")
           .labels();
  m_applied = &r.gauge("br2k_node_applied_index", "Highest log index applied.").labels();
  m_log_size = &r.gauge("br2k_node_log_size", "Highest log index known appended.").labels();
  m_epoch = &r.gauge("br2k_node_epoch", "Epoch of the known leader (0: none).").labels();
  m_leader = &r.gauge("br2k_node_is_leader", "1 while this node serves as leader.").labels();
  m_batch = &r.histogram("br2k_node_append_batch_entries", "Entries per append transaction.",
                         {1, 2, 4, 8, 16, 32, 64, 127})
                 .labels();
}

bool Node::Impl::lease_valid() const {
  return keeper && !lease_lost && keeper->alive() && Clock::now() < keeper->valid_until();
}

Task<Result<std::uint64_t>> Node::Impl::read_log_size() {
  auto req = etcd::RangeRequest::single(keys.log_size());
  auto r = co_await etcd.range(std::move(req));
  if (!r)
    co_return r.error();
  if (r->kvs.empty())
    co_return std::uint64_t{0};
  auto n = parse_counter(r->kvs.front().value);
  if (!n)
    co_return Error(Errc::kMalformedReply, "log_size holds '" + r->kvs.front().value + "'");
  log_size = std::max(log_size, *n);
  m_log_size->set(static_cast<double>(log_size));
  co_return *n;
}

Task<bool> Node::Impl::wait_applied(std::uint64_t index, Deadline until) {
  while (state.applied_index() < index) {
    if (stopped || Clock::now() >= until)
      co_return false;
    co_await applied.wait(std::min(until, Clock::now() + std::chrono::milliseconds(200)));
  }
  co_return true;
}

void Node::Impl::learn_leader(const std::optional<etcd::KeyValue>& kv, std::int64_t revision) {
  if (revision < leader.revision)
    return;  // older news
  KnownLeader next;
  next.revision = revision;
  if (kv) {
    auto j = json::parse(kv->value, nullptr, false);
    if (j.is_object() && j.contains("node") && j["node"].is_string() && j.contains("url") &&
        j["url"].is_string()) {
      next.node = j["node"].get<std::string>();
      next.url = j["url"].get<std::string>();
      next.epoch = static_cast<std::uint64_t>(kv->create_revision);
    } else {
      spdlog::warn("node {}: leader key holds '{}'", options.node_id, kv->value);
    }
  }
  const bool different = next.epoch != leader.epoch;
  leader = std::move(next);
  m_epoch->set(static_cast<double>(leader.epoch));
  if (different) {
    spdlog::info("node {}: leader is {} ({}) at epoch {}", options.node_id,
                 leader.node.empty() ? "none" : leader.node, leader.url, leader.epoch);
    if (leading() && leader.epoch != epoch)
      step_down("the leader key changed");
    changed.notify();
  }
}

// Follows the `leader` key for the node's whole life: a range, then a watch from the revision
// after it; on any watch error, range again.
Task<void> Node::Impl::watch_leader() {
  auto self = shared_from_this();
  while (!stopped) {
    auto req = etcd::RangeRequest::single(keys.leader());
    auto r = co_await etcd.range(std::move(req));
    if (!r) {
      co_await sleep_for(std::chrono::milliseconds(100));
      continue;
    }
    learn_leader(r->kvs.empty() ? std::nullopt : std::optional(r->kvs.front()), r->header.revision);
    etcd::WatchOptions wo{.key = keys.leader(), .start_revision = r->header.revision + 1};
    leader_watch = etcd.watch(std::move(wo));
    auto w = leader_watch;
    while (!stopped) {
      auto batch = co_await w->next();
      if (!batch) {
        if (!stopped)
          spdlog::debug("node {}: leader watch: {}", options.node_id, batch.error().message());
        break;
      }
      for (const auto& ev : batch->events) {
        if (ev.type == etcd::Event::Type::kPut)
          learn_leader(ev.kv, ev.kv.mod_revision);
        else
          learn_leader(std::nullopt, ev.kv.mod_revision);
      }
    }
    w->cancel();
  }
}

Task<void> Node::Impl::watch_lease(std::uint64_t generation) {
  auto self = shared_from_this();
  if (generation != lease_generation || !keeper)
    co_return;  // that lease is gone already
  // wait_lost() holds the keeper's state itself: safe if `keeper` is replaced meanwhile.
  auto why = co_await keeper->wait_lost();
  if (generation != lease_generation || stopped)
    co_return;
  spdlog::warn("node {}: lease lost: {}", options.node_id, why.message());
  lease_lost = true;
  if (leading())
    step_down("lease lost");
  changed.notify();
}

// A lease this node gave up because it could not renew it in time may still live in etcd: etcd
// extends every lease when it elects a new raft leader, which is when renewals fail for a while
// (the raft leader's host failed). Its keys (members/<node>, and the leader key when this node
// led) would then hold the service for up to a TTL more with nobody serving. Revoking it as soon
// as etcd answers again frees the leader key at once. Only this node's own keys go: a newer
// leader's key has its own lease.
Task<void> Node::Impl::revoke_lost_lease(std::int64_t lease) {
  auto self = shared_from_this();
  const auto until =
      Clock::now() + std::chrono::seconds(options.lease_ttl_seconds) + std::chrono::seconds(1);
  while (!stopped && Clock::now() < until) {
    etcd::CallOptions call{
        .deadline = std::min<Deadline>(until, Clock::now() + std::chrono::milliseconds(500))};
    auto r = co_await etcd.lease_revoke(lease, call);
    if (r) {
      spdlog::info("node {}: revoked the lost lease {}", options.node_id, lease);
      co_return;
    }
    if (r.error().is(Errc::kNotFound))
      co_return;  // expired already
    co_await sleep_for(std::chrono::milliseconds(100));
  }
}

// Membership and election, for the node's whole life: a lease and members/<node>; catch up;
// campaign; follow or lead; on losing the lease, start over with a new one.
Task<void> Node::Impl::run() {
  auto self = shared_from_this();
  std::chrono::milliseconds backoff{100};
  while (!stopped) {
    const auto grace =
        options.lease_grace.value_or(std::chrono::milliseconds(3000 * options.lease_ttl_seconds));
    auto k = co_await etcd::LeaseKeeper::start(etcd, options.lease_ttl_seconds, {}, grace);
    if (!k) {
      spdlog::warn("node {}: lease grant failed: {}", options.node_id, k.error().message());
      co_await sleep_for(backoff);
      backoff = std::min(backoff * 2, std::chrono::milliseconds(2000));
      continue;
    }
    keeper = std::move(*k);
    lease_lost = false;
    const auto generation = ++lease_generation;
    asio::co_spawn(executor, watch_lease(generation), asio::detached);
    const std::int64_t lease = keeper->id();

    json member{{"url", url},
                {"version", options.version},
                {"started", std::chrono::duration_cast<std::chrono::milliseconds>(
                                std::chrono::system_clock::now().time_since_epoch())
                                .count()}};
    const etcd::PutRequest put{
        .key = keys.member(options.node_id), .value = member.dump(), .lease = lease};
    // Until it is registered, no reply lists this node in BR2K-Replicas: a put that failed (etcd
    // busy, or its outcome unknown) is sent again while the lease lives; it is idempotent.
    for (auto wait = std::chrono::milliseconds(100); !stopped && lease_valid();
         wait = std::min(wait * 2, std::chrono::milliseconds(2000))) {
      auto p = co_await etcd.put(put);
      if (p)
        break;
      if (!stopped)
        spdlog::warn("node {}: registering member: {}", options.node_id, p.error().message());
      co_await sleep_for(wait);
    }
    changed.notify();
    backoff = std::chrono::milliseconds(100);
    if (role == Role::kStarting)
      role = Role::kFollower;

    // Campaign whenever there is no leader; otherwise follow it.
    while (!stopped && lease_valid()) {
      if (leader.epoch != 0) {
        role = Role::kFollower;
        co_await changed.wait(Clock::now() + std::chrono::milliseconds(500));
        continue;
      }
      // Catch up before campaigning (PROTOCOL.md, "Applying").
      auto n = co_await read_log_size();
      if (!n) {
        co_await sleep_for(std::chrono::milliseconds(100));
        continue;
      }
      if (!co_await catch_up(*n, Clock::now() + std::chrono::seconds(1)))
        continue;
      if (leader.epoch != 0 || !lease_valid())
        continue;
      role = Role::kCandidate;
      json value{{"node", options.node_id}, {"url", url}};
      etcd::TxnRequest t;
      t.compare.push_back(
          etcd::Compare::create_revision(keys.leader(), etcd::Compare::Op::kEqual, 0));
      t.success.push_back(
          etcd::PutRequest{.key = keys.leader(), .value = value.dump(), .lease = lease});
      t.failure.push_back(etcd::RangeRequest::single(keys.leader()));
      auto r = co_await etcd.txn(std::move(t));
      if (stopped)
        break;
      std::optional<std::uint64_t> won;
      if (r && r->succeeded) {
        won = static_cast<std::uint64_t>(r->header.revision);
      } else {
        // Lost, or unknown: the leader key says who won (our own lease: we did).
        auto req = etcd::RangeRequest::single(keys.leader());
        auto cur = co_await etcd.range(std::move(req));
        if (!cur) {
          co_await sleep_for(std::chrono::milliseconds(100));
          continue;
        }
        if (!cur->kvs.empty() && cur->kvs.front().lease == lease)
          won = static_cast<std::uint64_t>(cur->kvs.front().create_revision);
        else
          learn_leader(cur->kvs.empty() ? std::nullopt : std::optional(cur->kvs.front()),
                       cur->header.revision);
      }
      if (won) {
        co_await lead(*won);
        break;  // start over with a fresh lease after leading
      }
      role = Role::kFollower;
    }
    if (leading())
      step_down(stopped ? "stopping" : "lease lost");
    if (stopped)
      break;
    if (keeper) {
      // lease_valid(), not lease_lost: the latter is set by watch_lease(), which may not have run
      // yet when lead() returns on the lease's deadline (the leader's case, the one that matters).
      if (!stopped && !lease_valid())
        asio::co_spawn(executor, revoke_lost_lease(keeper->id()), asio::detached);
      keeper->stop();
      keeper.reset();
    }
    co_await sleep_for(std::chrono::milliseconds(50));
  }
}

// Leads at `epoch` until deposed: catch up with log_size, publish, serve.
Task<void> Node::Impl::lead(std::uint64_t e) {
  role = Role::kLeader;
  epoch = e;
  const auto my_term = ++term;
  ++counters.elections_won;
  m_elections->inc();
  leader = KnownLeader{options.node_id, url, e,
                       std::max<std::int64_t>(leader.revision, static_cast<std::int64_t>(e))};
  m_epoch->set(static_cast<double>(e));
  spdlog::info("node {}: elected leader at epoch {}", options.node_id, e);
  changed.notify();

  // Apply everything appended before serving.
  while (term == my_term && !stopped) {
    auto n = co_await read_log_size();
    if (!n) {
      co_await sleep_for(std::chrono::milliseconds(100));
      continue;
    }
    if (co_await catch_up(*n, Clock::now() + std::chrono::seconds(1)))
      break;
  }
  if (term != my_term || stopped)
    co_return;
  log_size = std::max(log_size, state.applied_index());
  if (options.publisher)
    options.publisher->publish(url, e);
  serving = true;
  m_leader->set(1);
  spdlog::info("node {}: serving as leader at epoch {} from index {}", options.node_id, e,
               state.applied_index());
  asio::co_spawn(executor, append_loop(my_term), asio::detached);
  if (!options.etcd_local.empty())
    asio::co_spawn(executor, keep_raft_leader_apart(my_term), asio::detached);
  // Serve while the lease certainly holds. When it may have ended but etcd has not said so
  // (renewals stall: etcd is electing a raft leader or has no quorum), suspend: serve nothing,
  // keep the term (the append loop's fenced transactions stay safe), and let the keeper renew
  // through its grace. A renewal that succeeds proves the lease, and with it the leader key,
  // lived on: confirm the key and serve again at the same epoch. A lost lease ends the term.
  while (term == my_term && !stopped) {
    if (lease_valid()) {
      if (suspended) {
        if (!co_await confirm_leadership(my_term))
          break;
        if (!lease_valid())
          continue;
        suspended = false;
        serving = true;
        m_leader->set(1);
        spdlog::info("node {}: lease renewed; serving again as leader at epoch {}", options.node_id,
                     e);
        changed.notify();
      }
      co_await changed.wait(Clock::now() + std::chrono::milliseconds(250));
      continue;
    }
    if (!keeper || keeper->lost())
      break;
    if (!suspended) {
      suspended = true;
      serving = false;
      ++counters.suspensions;
      m_suspensions->inc();
      m_leader->set(0);
      spdlog::warn(
          "node {}: lease {} not renewed in time; suspended at epoch {} until a renewal "
          "succeeds (or the grace ends)",
          options.node_id, keeper->id(), e);
      changed.notify();
    }
    co_await changed.wait(Clock::now() + std::chrono::milliseconds(50));
  }
}

// A quorum read of the leader key after a suspension: the lease lived on, so its keys did, but
// the key may have been deleted (a resignation, an operator) and taken by another node while
// this node's watch lagged. Reads are served again only once the key is known to be this
// term's. Retries while the lease holds; false when the term ended.
Task<bool> Node::Impl::confirm_leadership(std::uint64_t my_term) {
  while (term == my_term && !stopped && lease_valid()) {
    auto req = etcd::RangeRequest::single(keys.leader());
    etcd::CallOptions call{.deadline = keeper->valid_until()};
    auto r = co_await etcd.range(std::move(req), call);
    if (term != my_term || stopped)
      co_return false;
    if (!r) {
      co_await sleep_for(std::chrono::milliseconds(50));
      continue;
    }
    const bool ours = !r->kvs.empty() &&
                      static_cast<std::uint64_t>(r->kvs.front().create_revision) == epoch &&
                      keeper && r->kvs.front().lease == keeper->id();
    if (!ours) {
      learn_leader(r->kvs.empty() ? std::nullopt : std::optional(r->kvs.front()),
                   r->header.revision);
      step_down("the leader key is no longer this term's");
      co_return false;
    }
    co_return true;
  }
  co_return false;
}

void Node::Impl::step_down(std::string_view why) {
  if (role != Role::kLeader)
    return;
  spdlog::warn("node {}: stepping down from epoch {}: {}", options.node_id, epoch, why);
  ++term;
  serving = false;
  suspended = false;
  role = Role::kFollower;
  epoch = 0;
  ++counters.step_downs;
  m_step_downs->inc();
  m_leader->set(0);
  fail_pending(why);
  work.notify();
  changed.notify();
}

// While leading: if etcd's raft leader is the member on this node's host, hand raft leadership
// to another member (NodeOptions::etcd_local says why). Best effort: a failed check or move is
// tried again at the next interval; etcd stays correct either way.
Task<void> Node::Impl::keep_raft_leader_apart(std::uint64_t my_term) {
  auto self = shared_from_this();
  auto quick = [] { return etcd::CallOptions{.deadline = Clock::now() + std::chrono::seconds(1)}; };
  while (term == my_term && !stopped) {
    auto status = co_await etcd.status(options.etcd_local, quick());
    if (term != my_term || stopped)
      break;
    if (status && status->leader != 0 && status->leader == status->header.member_id) {
      auto members = co_await etcd.member_list(quick());
      std::optional<etcd::Member> target;
      if (members) {
        for (const auto& m : members->members) {
          if (m.id == status->header.member_id || m.is_learner || m.client_urls.empty())
            continue;
          // A member that answers: hand leadership to one that can take it.
          auto other = std::find(options.etcd.endpoints.begin(), options.etcd.endpoints.end(),
                                 m.client_urls.front());
          if (other == options.etcd.endpoints.end())
            continue;
          auto s = co_await etcd.status(*other, quick());
          if (s && s->errors.empty()) {
            target = m;
            break;
          }
        }
      }
      if (target && term == my_term && !stopped) {
        auto moved = co_await etcd.move_leader(options.etcd_local, target->id, quick());
        if (moved)
          spdlog::info("node {}: etcd's raft leader moved from the member on this host to {}",
                       options.node_id, target->name);
        else
          spdlog::debug("node {}: moving etcd's raft leader to {}: {}", options.node_id,
                        target->name, moved.error().message());
      }
    }
    co_await sleep_for(options.raft_apart_interval);
  }
}

// A follower's fast path for a crashed leader. When the leader's own address refuses TCP
// connections, nothing listens there: its process is gone (the host is up and says so), so
// waiting out its lease only keeps the service down. Two refusals in a row end its term: the
// follower deletes `leader` if it still has that epoch's create revision, and the election runs at
// once. Safe: the old process cannot append (it is gone, and any append would fail on the fence)
// and cannot answer reads at that address (nothing listens). A leader that is slow, partitioned or
// paused does not refuse connections (they time out), so it keeps its lease as before.
Task<void> Node::Impl::probe_leader() {
  auto self = shared_from_this();
  int refusals = 0;
  std::uint64_t probed = 0;
  while (!stopped) {
    co_await sleep_for(options.leader_probe_interval);
    if (stopped)
      break;
    if (leading() || leader.epoch == 0 || leader.node == options.node_id || !lease_valid()) {
      refusals = 0;
      continue;
    }
    if (leader.epoch != probed) {
      probed = leader.epoch;
      refusals = 0;
    }
    auto u = net::parse_url(leader.url);
    if (!u)
      continue;
    boost::system::error_code ec;
    auto address = asio::ip::make_address(u->host, ec);
    if (ec)
      continue;  // host names: no probe (a refusal would not name one process)
    auto socket = std::make_shared<asio::ip::tcp::socket>(executor);
    asio::steady_timer timer(executor, std::chrono::milliseconds(300));
    timer.async_wait([socket](const boost::system::error_code& e) {
      if (!e)
        socket->close();
    });
    asio::ip::tcp::endpoint endpoint(address, static_cast<unsigned short>(std::stoul(u->port)));
    auto [cec] = co_await socket->async_connect(endpoint, asio::as_tuple(asio::use_awaitable));
    timer.cancel();
    socket->close();
    if (cec != asio::error::connection_refused) {
      refusals = 0;
      continue;
    }
    if (++refusals < 2 || leader.epoch != probed)
      continue;
    refusals = 0;
    spdlog::warn(
        "node {}: the leader {} ({}) refuses connections: its process is gone; ending "
        "epoch {} without waiting for its lease",
        options.node_id, leader.node, leader.url, probed);
    etcd::TxnRequest t;
    t.compare.push_back(etcd::Compare::create_revision(keys.leader(), etcd::Compare::Op::kEqual,
                                                       static_cast<std::int64_t>(probed)));
    t.success.push_back(etcd::DeleteRangeRequest{.key = keys.leader()});
    co_await etcd.txn(std::move(t));
  }
}

// Refreshes the live members' URLs (BR2K-Replicas, status).
Task<void> Node::Impl::members_loop() {
  auto self = shared_from_this();
  while (!stopped) {
    auto req = etcd::RangeRequest::prefix(keys.members_prefix());
    req.serializable = true;
    auto r = co_await etcd.range(std::move(req));
    if (r) {
      std::vector<std::string> urls;
      for (const auto& kv : r->kvs) {
        auto j = json::parse(kv.value, nullptr, false);
        if (j.is_object() && j.contains("url") && j["url"].is_string())
          urls.push_back(j["url"].get<std::string>());
      }
      members = std::move(urls);
    }
    // Sooner after a membership or leadership change (this node's own registration included), so
    // that BR2K-Replicas is complete from the first replies on.
    co_await changed.wait(Clock::now() + options.members_interval);
  }
}

// Records lpi/<node> and, on the leader, ssi (fenced), when they moved.
Task<void> Node::Impl::progress_loop() {
  auto self = shared_from_this();
  std::uint64_t written_lpi = 0, written_ssi = 0;
  while (!stopped) {
    co_await sleep_for(options.progress_interval);
    const auto a = state.applied_index();
    if (a != written_lpi) {
      etcd::PutRequest p{.key = keys.lpi(options.node_id), .value = std::to_string(a)};
      if (co_await etcd.put(std::move(p)))
        written_lpi = a;
    }
    if (serving && a != written_ssi) {
      etcd::TxnRequest t;
      t.compare.push_back(etcd::Compare::create_revision(keys.leader(), etcd::Compare::Op::kEqual,
                                                         static_cast<std::int64_t>(epoch)));
      t.success.push_back(etcd::PutRequest{.key = keys.ssi(), .value = std::to_string(a)});
      auto r = co_await etcd.txn(std::move(t));
      if (r && r->succeeded)
        written_ssi = a;
    }
  }
}

Node::Node(asio::any_io_executor executor, StateMachine& machine, NodeOptions options)
    : impl_(std::make_shared<Impl>(std::move(executor), machine, std::move(options))) {}

Node::~Node() {
  impl_->stopped = true;
  if (impl_->log_watch)
    impl_->log_watch->cancel();
  if (impl_->leader_watch)
    impl_->leader_watch->cancel();
  if (impl_->keeper)
    impl_->keeper->stop();
  impl_->changed.notify();
  impl_->applied.notify();
  impl_->work.notify();
}

Result<asio::ip::tcp::endpoint> Node::start() {
  auto& s = *impl_;
  if (s.started)
    return Error(Errc::kInvalidArgument, "node: started twice");
  s.started = true;
  auto http_options = s.options.http;
  if (!http_options.metrics)
    http_options.metrics = s.metrics;
  std::weak_ptr<Impl> weak = impl_;
  s.http = std::make_unique<net::HttpServer>(
      s.executor,
      [weak](net::HttpRequest&& r) -> Task<net::HttpResponse> {
        auto self = weak.lock();
        if (!self)
          co_return net::error_response(boost::beast::http::status::service_unavailable,
                                        "node stopping");
        co_return co_await self->handle(std::move(r));
      },
      http_options);
  auto ep = s.http->start();
  if (!ep)
    return ep.error();
  s.url = s.options.advertise_url.empty()
              ? std::string(s.options.http.tls ? "https://" : "http://") +
                    s.options.http.listen_address + ":" + std::to_string(ep->port())
              : s.options.advertise_url;
  s.counters.node_id = s.options.node_id;
  spdlog::info("node {}: listening on {} (etcd prefix {})", s.options.node_id, s.url,
               s.keys.prefix());
  asio::co_spawn(s.executor, s.sync_loop(), asio::detached);
  asio::co_spawn(s.executor, s.watch_leader(), asio::detached);
  asio::co_spawn(s.executor, s.members_loop(), asio::detached);
  if (s.options.leader_probe_interval.count() > 0)
    asio::co_spawn(s.executor, s.probe_leader(), asio::detached);
  asio::co_spawn(s.executor, s.progress_loop(), asio::detached);
  asio::co_spawn(s.executor, s.run(), asio::detached);
  return ep;
}

Task<void> Node::stop(Deadline drain_deadline) {
  auto self = impl_;
  auto& s = *self;
  if (s.stopped)
    co_return;
  if (s.http)
    co_await s.http->stop(drain_deadline);
  s.stopped = true;
  // Resign: a successor need not wait for the lease to expire.
  if (s.leading()) {
    const auto e = s.epoch;
    s.step_down("stopping");
    etcd::TxnRequest t;
    t.compare.push_back(etcd::Compare::create_revision(s.keys.leader(), etcd::Compare::Op::kEqual,
                                                       static_cast<std::int64_t>(e)));
    t.success.push_back(etcd::DeleteRangeRequest{.key = s.keys.leader()});
    etcd::CallOptions call{.deadline = deadline_after(std::chrono::seconds(2))};
    co_await s.etcd.txn(std::move(t), call);
  }
  if (s.log_watch)
    s.log_watch->cancel();
  if (s.leader_watch)
    s.leader_watch->cancel();
  if (s.keeper) {
    etcd::CallOptions call{.deadline = deadline_after(std::chrono::seconds(2))};
    co_await s.keeper->revoke(call);
  }
  s.changed.notify();
  s.applied.notify();
  s.work.notify();
}

NodeStatus Node::status() const {
  const auto& s = *impl_;
  NodeStatus st = s.counters;
  st.url = s.url;
  st.role = s.role;
  st.serving = s.serving;
  st.suspended = s.suspended;
  st.epoch = s.leader.epoch;
  st.leader_id = s.leader.node;
  st.leader_url = s.leader.url;
  st.log_size = std::max(s.log_size, s.state.applied_index());
  st.applied = s.state.applied_index();
  st.members = s.members;
  st.duplicates = s.state.duplicates();
  return st;
}

const std::string& Node::url() const {
  return impl_->url;
}

std::uint16_t Node::local_port() const {
  return impl_->http ? impl_->http->local_port() : 0;
}

const ReplicatedState& Node::state() const {
  return impl_->state;
}

}  // namespace br2k::server
