// The state of a Node shared by its coroutines (node.cpp: lifecycle, membership and election;
// sync.cpp: the sync loop; append.cpp: the leader's write path; node_http.cpp: the routes).
//
// Everything here runs on the node's single-threaded executor; no member is touched from another
// thread. Coroutines hold a shared_ptr to the Impl and end when `stopped` is set.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <br2k/etcd/client.hpp>
#include <br2k/etcd/lease.hpp>
#include <br2k/etcd/watch.hpp>
#include <br2k/net/http_server.hpp>
#include <br2k/server/log_entry.hpp>
#include <br2k/server/node.hpp>
#include <deque>
#include <list>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <unordered_map>
#include <utility>

namespace br2k::server {

// Wakes every coroutine waiting on it. A waiter that wakes re-checks its condition: notify() says
// "something changed", never what.
class Signal {
 public:
  explicit Signal(boost::asio::any_io_executor ex) : executor_(std::move(ex)) {}
  // Waits until the next notify() or `until`. Returns true if notified.
  Task<bool> wait(Deadline until);
  void notify();

 private:
  boost::asio::any_io_executor executor_;
  std::uint64_t generation_ = 0;
  std::list<boost::asio::steady_timer*> timers_;
};

Task<void> sleep_for(Clock::duration d);

// A write held on the leader until its entry is applied (or the leader gives up on it).
struct Pending {
  explicit Pending(boost::asio::any_io_executor ex) : done(std::move(ex)) {}
  LogEntry entry;
  std::size_t bytes = 0;         // encoded size
  std::string encoded;           // the entry as it goes to etcd
  bool sent = false;             // went out in a transaction (the outcome may be unknown)
  bool abandoned = false;        // its client stopped waiting before it was sent
  std::optional<Reply> reply;    // set once applied
  std::optional<Reply> failure;  // set when the leader gave up on it (503/504/307)
  Signal done;
};

struct KnownLeader {
  std::string node;
  std::string url;
  std::uint64_t epoch = 0;    // create revision of the leader key; 0: none
  std::int64_t revision = 0;  // etcd revision this knowledge is from
};

struct Node::Impl : std::enable_shared_from_this<Node::Impl> {
  Impl(boost::asio::any_io_executor ex, StateMachine& m, NodeOptions o);

  // ---- node.cpp: lifecycle, membership, election
  Task<void> run();
  Task<void> lead(std::uint64_t epoch);
  // After a suspension: true if the leader key is still this term's (quorum read).
  Task<bool> confirm_leadership(std::uint64_t my_term);
  void step_down(std::string_view why);
  Task<void> watch_leader();
  Task<void> watch_lease(std::uint64_t generation);
  Task<void> revoke_lost_lease(std::int64_t lease);
  Task<void> members_loop();
  Task<void> probe_leader();
  Task<void> keep_raft_leader_apart(std::uint64_t my_term);
  Task<void> progress_loop();
  Task<Result<std::uint64_t>> read_log_size();
  // Waits until applied >= index, or the deadline or a stop. True if reached.
  Task<bool> wait_applied(std::uint64_t index, Deadline until);
  void learn_leader(const std::optional<etcd::KeyValue>& kv, std::int64_t revision);
  bool leading() const { return role == Role::kLeader; }
  bool lease_valid() const;

  // ---- sync.cpp
  Task<void> sync_loop();
  // Applies one entry (REQUIRES index == applied + 1) and answers the pending write it is.
  void apply_entry(std::uint64_t index, std::string_view value);
  // Applies up to `index` by range now (the watch may lag), then waits for the sync loop until
  // `until`. True if applied >= index.
  Task<bool> catch_up(std::uint64_t index, Deadline until);

  // ---- append.cpp
  Task<net::HttpResponse> handle_write(Command command);
  Task<void> append_loop(std::uint64_t term);
  // After an append of unknown outcome: re-reads log_size and waits until it is applied.
  Task<bool> resolve(std::uint64_t term);
  void fail_pending(std::string_view why);

  // ---- node_http.cpp
  Task<net::HttpResponse> handle(net::HttpRequest&& request);
  net::HttpResponse to_http(const Reply& reply, unsigned version) const;
  net::HttpResponse not_leader(const net::HttpRequest& request, std::string_view target) const;
  void add_br2k_headers(net::HttpResponse& r) const;
  std::string status_json() const;

  boost::asio::any_io_executor executor;
  StateMachine& machine;
  NodeOptions options;
  Keys keys;
  etcd::Client etcd;
  ReplicatedState state;
  std::shared_ptr<net::MetricsRegistry> metrics;
  std::unique_ptr<net::HttpServer> http;
  std::string url;

  bool started = false;
  bool stopped = false;
  Role role = Role::kStarting;
  bool serving = false;
  bool suspended = false;   // leading, not serving: waiting for a lease renewal
  std::uint64_t epoch = 0;  // this node's epoch while it leads
  std::uint64_t term = 0;   // bumps at every step up and step down: ends a term's coroutines
  KnownLeader leader;
  std::uint64_t log_size = 0;  // the highest index known appended
  std::unique_ptr<etcd::LeaseKeeper> keeper;
  std::uint64_t lease_generation = 0;
  bool lease_lost = false;
  std::vector<std::string> members;
  NodeStatus counters;

  Signal changed;                     // role, leader, lease or stop changed
  std::size_t holding_suspended = 0;  // client requests held now by this suspended leader
  Signal applied;                     // the applied index moved
  Signal work;                        // writes queued for the appender

  std::shared_ptr<etcd::Watch> log_watch;
  std::shared_ptr<etcd::Watch> leader_watch;

  // The leader's writes: not yet sent, oldest first; and all held ones by (epoch, seq) and key.
  std::deque<std::shared_ptr<Pending>> queue;
  std::map<std::pair<std::uint64_t, std::uint64_t>, std::shared_ptr<Pending>> held;
  std::unordered_map<std::string, std::shared_ptr<Pending>> held_by_key;
  std::uint64_t next_seq = 1;
  // The planted fault's dice (test only): 0..99.
  unsigned drop_dice() { return static_cast<unsigned>(drop_rng() % 100); }
  std::minstd_rand drop_rng{12345};

  // Metrics, looked up once.
  net::Counter* m_appended = nullptr;
  net::Counter* m_transactions = nullptr;
  net::Counter* m_fenced = nullptr;
  net::Counter* m_elections = nullptr;
  net::Counter* m_step_downs = nullptr;
  net::Counter* m_suspensions = nullptr;
  net::Counter* m_duplicates = nullptr;
  net::Gauge* m_applied = nullptr;
  net::Gauge* m_log_size = nullptr;
  net::Gauge* m_epoch = nullptr;
  net::Gauge* m_leader = nullptr;
  net::Histogram* m_batch = nullptr;
};

}  // namespace br2k::server
