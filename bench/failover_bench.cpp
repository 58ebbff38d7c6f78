// The client-visible failover gap through br2k-proxy (issue 5, "Benchmarks").
//
// For each configuration it starts a LocalCluster (anvil with the registry, three etcd members,
// three br2k-server nodes running the number-list app), a br2k-proxy and a client load through
// the proxy: C threads, each POSTing a unique number every 20-50 ms (uniformly random), one
// request at a time (the proxy holds a request during a failover, up to its 30 s deadline). Then,
// K times: the current leader is killed (SIGKILL), the killed node is started again after 1 s
// (as a supervisor would), and the next kill waits until the cluster is stable again (every node
// running and following the serving leader's epoch and caught up, the leader seeing all members,
// the proxy's location at that epoch, the registry's location at that epoch, a request through
// the proxy succeeded since) plus a random pause of 0.3-1.3 s, so that kills fall at random
// phases of the lease keep-alives (every TTL/3) and of etcd's expiry check (every 500 ms).
//
//   gap     = time from the kill to the first success of a request sent after the kill (what
//             an application behind the proxy sees; br2k-demo's definition);
//   elected = time from the kill until a node's status says it serves at a higher epoch
//             (polled every 10 ms: the server side of the gap; the restarted node may win);
//   switch  = time from the kill until the proxy's status shows the new epoch.
//
// Configurations (--configs picks a subset, in this order):
//   instant: anvil mining a block per transaction; etcd default timing (heartbeat 100 ms,
//            election 1000 ms); node lease TTL 2 s. Goal: p50 <= 2.5 s and p99 <= 4 s.
//   block12: the same with anvil mining a block every 12 s (switched with evm_setIntervalMining
//            once the cluster is up, so setup is not slowed): the new leader's location reaches
//            the chain up to 12 s later. Since each kill waits for the registry to show the
//            leader, it falls ~0.4 s after a block: the new leader's location is then ~11 s
//            from the chain, the worst case for a client that would wait for it.
//            Goal: p50 <= 2.5 s and p99 <= 4 s.
//   tuned:   instant mining; etcd tuned for a local network (heartbeat 50 ms, election 500 ms);
//            lease TTL 1 s. Goal: p50 <= 1 s.
// Every client request must succeed (a failure is reported), and at the end every acknowledged
// number must be in the list exactly once and the replicas identical.
//
// Run time is bounded by --budget (seconds for all configurations together, setup included;
// block12 gets a triple share; a configuration whose share is used up stops killing and reports
// the kills done). The defaults take about 6-7 minutes.
//
// Usage: failover_bench [--kills K] [--configs instant,block12,tuned] [--clients C]
//                       [--restart-after S] [--block-time S] [--budget S] [--no-wait-chain]
//                       [--dir PATH] [--json]
#include <algorithm>
#include <atomic>
#include <br2k/local/local_cluster.hpp>
#include <br2k/testing/http.hpp>
#include <br2k/testing/wait.hpp>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "args.hpp"

namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using br2k::local::LocalCluster;

struct Args {
  int kills = 20;
  std::vector<std::string> configs{"instant", "block12", "tuned"};
  int clients = 4;
  int period_min_ms = 20;
  int period_max_ms = 50;
  double restart_after_s = 1.0;
  int dwell_min_ms = 300;  // steady load between "stable" and the next kill
  int dwell_max_ms = 1300;
  double block_time_s = 12;
  double budget_s = 600;
  bool wait_chain = true;
  std::filesystem::path dir;
  bool json = false;
};

using br2k::bench::split;

Args parse_args(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc)
        throw std::invalid_argument(arg + " needs a value");
      return argv[++i];
    };
    if (arg == "--kills") {
      a.kills = std::max(1, std::stoi(value()));
    } else if (arg == "--configs") {
      a.configs = split(value());
      for (const auto& c : a.configs) {
        if (c != "instant" && c != "block12" && c != "tuned")
          throw std::invalid_argument("--configs: instant, block12, tuned; not " + c);
      }
    } else if (arg == "--clients") {
      a.clients = std::max(1, std::stoi(value()));
    } else if (arg == "--restart-after") {
      a.restart_after_s = std::max(0.0, std::stod(value()));
    } else if (arg == "--block-time") {
      a.block_time_s = std::max(1.0, std::stod(value()));
    } else if (arg == "--budget") {
      a.budget_s = std::max(10.0, std::stod(value()));
    } else if (arg == "--no-wait-chain") {
      a.wait_chain = false;
    } else if (arg == "--dir") {
      a.dir = value();
    } else if (arg == "--json") {
      a.json = true;
    } else if (arg == "--help" || arg == "-h") {
      std::cout
          << "failover_bench [--kills K (20)] [--configs instant,block12,tuned] [--clients C (4)]\n"
             "               [--restart-after S (1)] [--block-time S (12, for block12)]\n"
             "               [--budget S (600, all configurations)] [--no-wait-chain]\n"
             "               [--dir PATH (keep data and logs)] [--json]\n";
      std::exit(0);
    } else {
      throw std::invalid_argument("unknown argument " + arg);
    }
  }
  return a;
}

void note(const std::string& s) {
  std::fprintf(stderr, "failover_bench: %s\n", s.c_str());
  std::fflush(stderr);
}

double seconds_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

struct Config {
  std::string name;
  std::string anvil;  // description
  std::optional<double> block_time;
  int heartbeat_ms = 100;
  int election_ms = 1000;
  std::int64_t lease_ttl = 2;
  double goal_p50_s = 2.5;
  std::optional<double> goal_p99_s;
};

Config make_config(const std::string& name, const Args& a) {
  Config c;
  c.name = name;
  c.anvil = "instant";
  if (name == "instant") {
    c.goal_p99_s = 4;
  } else if (name == "block12") {
    c.block_time = a.block_time_s;
    char s[32];
    std::snprintf(s, sizeof s, "%gs blocks", a.block_time_s);
    c.anvil = s;
    c.goal_p99_s = 4;
  } else {
    c.heartbeat_ms = 50;
    c.election_ms = 500;
    c.lease_ttl = 1;
    c.goal_p50_s = 1;
  }
  return c;
}

// The client load: threads POSTing unique numbers through the proxy.
class Load {
 public:
  struct Outcome {
    std::uint64_t value = 0;
    Clock::time_point start, end;
    long status = 0;
    std::string error;
  };

  Load(const std::string& url, const Args& a) {
    for (int c = 0; c < a.clients; ++c) {
      threads_.emplace_back([this, url, c, lo = a.period_min_ms, hi = a.period_max_ms] {
        std::mt19937 rng(std::random_device{}() + static_cast<unsigned>(c));
        std::uniform_int_distribution<int> pause(lo, hi);
        for (std::uint64_t seq = 1; !stop_; ++seq) {
          std::this_thread::sleep_for(std::chrono::milliseconds(pause(rng)));
          Outcome out;
          out.value = static_cast<std::uint64_t>(c + 1) * 1'000'000'000 + seq;
          br2k::testing::HttpRequest r;
          r.url = url + "/numbers";
          r.method = "POST";
          r.body = json{{"value", out.value}}.dump();
          r.headers = {"Content-Type: application/json"};
          r.timeout = 35s;  // the proxy holds a request up to its 30 s deadline
          out.start = Clock::now();
          auto res = br2k::testing::http_request(r);
          out.end = Clock::now();
          out.status = res.status;
          if (res.status != 200)
            out.error = res.error.empty() ? res.body : res.error;
          std::lock_guard lock(mu_);
          if (res.status == 200 && (!last_ok_start_ || out.start > *last_ok_start_))
            last_ok_start_ = out.start;
          outcomes_.push_back(std::move(out));
        }
      });
    }
  }
  ~Load() { stop(); }

  void stop() {
    stop_ = true;
    for (auto& t : threads_) {
      if (t.joinable())
        t.join();
    }
  }

  // Whether a request started at or after `t` has succeeded.
  bool succeeded_since(Clock::time_point t) {
    std::lock_guard lock(mu_);
    return last_ok_start_ && *last_ok_start_ >= t;
  }

  // After stop().
  const std::vector<Outcome>& outcomes() const { return outcomes_; }

 private:
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::vector<Outcome> outcomes_;
  std::optional<Clock::time_point> last_ok_start_;
  std::vector<std::thread> threads_;
};

json parse(const std::string& s) {
  return json::parse(s, nullptr, false);
}

// j[key], or null when j is not an object or has no such key (operator[] on a const json
// without the key is undefined).
json member(const json& j, const char* key) {
  return j.is_object() && j.contains(key) ? j[key] : json();
}

std::uint64_t u64(const json& j, const char* key) {
  if (!j.is_object() || !j.contains(key) || !j[key].is_number_unsigned())
    return 0;
  return j[key].get<std::uint64_t>();
}

// Waits until the cluster is stable (see the header comment); sets the leader's index and
// epoch and returns true, or returns false on timeout (with the reason in `why`).
struct Stable {
  int leader = -1;
  std::uint64_t epoch = 0;
};
bool wait_stable(LocalCluster& c, br2k::local::LocalProxy& proxy, Load& load, bool wait_chain,
                 std::chrono::milliseconds timeout, std::string& why, Stable& found) {
  const auto since = Clock::now();
  return br2k::testing::wait_until(
      timeout,
      [&] {
        for (int i = 0; i < c.size(); ++i) {
          if (!c.node_running(i)) {
            why = c.node_id(i) + " is not running";
            return false;
          }
        }
        auto l = c.leader(300ms);
        if (!l) {
          why = "no serving leader";
          return false;
        }
        const auto ls = parse(c.status(*l, 300ms));
        const auto epoch = u64(ls, "epoch");
        const auto log_size = u64(ls, "log_size");
        const auto members = member(ls, "members");
        if (!members.is_array() || static_cast<int>(members.size()) < c.size()) {
          why = "the leader sees members " + members.dump();
          return false;
        }
        for (int i = 0; i < c.size(); ++i) {
          if (i == *l)
            continue;
          const auto s = parse(c.status(i, 300ms));
          if (!s.is_object() || s.value("role", "") == "starting" ||
              !member(s, "leader").is_object() || u64(s, "epoch") != epoch ||
              u64(s, "applied") + 200 < log_size) {
            why = c.node_id(i) + " is not a caught-up follower of epoch " + std::to_string(epoch) +
                  ": " + (s.is_object() ? s.dump().substr(0, 300) : "no status");
            return false;
          }
        }
        const auto ps = parse(proxy.status());
        if (u64(ps, "epoch") != epoch) {
          why = "the proxy is at epoch " + std::to_string(u64(ps, "epoch")) + ", the leader at " +
                std::to_string(epoch);
          return false;
        }
        if (wait_chain) {
          const auto [url, chain_epoch] = c.registry_location();
          if (chain_epoch != epoch || url != c.node_url(*l)) {
            why = "the registry says " + url + " at epoch " + std::to_string(chain_epoch) +
                  ", the leader is at epoch " + std::to_string(epoch);
            return false;
          }
        }
        if (!load.succeeded_since(since)) {
          why = "no request through the proxy has succeeded yet";
          return false;
        }
        found = {*l, epoch};
        return true;
      },
      100ms);
}

struct Kill {
  std::string node;
  std::uint64_t epoch_before = 0, epoch_after = 0;
  std::string new_leader;
  Clock::time_point killed;
  std::optional<double> elected_s, proxy_switch_s, gap_s;
  double stable_after_s = 0;  // kill -> stable again
};

struct Result {
  Config config;
  std::vector<Kill> kills;
  bool stopped_early = false;
  std::string stop_reason;
  std::size_t sent = 0, ok = 0, failed = 0;
  std::map<std::string, int> errors;
  std::size_t acked_missing = 0, doubled = 0, unacked_applied = 0;
  bool list_read = false, replicas_same = false;
  json proxy_status;
  std::vector<std::string> log_errors;
  std::size_t log_warnings = 0;
  double seconds = 0;
  std::vector<double> gaps() const {
    std::vector<double> g;
    for (const auto& k : kills) {
      if (k.gap_s)
        g.push_back(*k.gap_s);
    }
    std::sort(g.begin(), g.end());
    return g;
  }
};

// Nearest-rank percentile of sorted values.
double percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty())
    return 0;
  auto rank = static_cast<std::size_t>(std::ceil(p / 100 * static_cast<double>(sorted.size())));
  return sorted[std::clamp<std::size_t>(rank, 1, sorted.size()) - 1];
}

std::vector<double> collect(const std::vector<Kill>& kills, std::optional<double> Kill::*field) {
  std::vector<double> v;
  for (const auto& k : kills) {
    if (k.*field)
      v.push_back(*(k.*field));
  }
  std::sort(v.begin(), v.end());
  return v;
}

// Error and warning lines of the nodes' and the proxy's logs.
void scan_logs(LocalCluster& c, const std::filesystem::path& proxy_log, Result& r) {
  auto scan = [&](const std::string& who, const std::filesystem::path& file) {
    std::ifstream in(file);
    for (std::string line; std::getline(in, line);) {
      // Nodes log "[time] [level] text", the proxy "time level [br2k-proxy] text".
      auto has = [&](const std::string& level) {
        return line.find("[" + level + "]") != std::string::npos ||
               line.find(" " + level + " [") != std::string::npos;
      };
      if (has("error") || has("critical"))
        r.log_errors.push_back(who + ": " + line);
      else if (has("warning"))
        ++r.log_warnings;
    }
  };
  for (int i = 0; i < c.size(); ++i)
    scan(c.node_id(i), c.node_log(i));
  scan("proxy", proxy_log);
}

Result run_config(const Config& cfg, const Args& a, Clock::time_point deadline) {
  Result r;
  r.config = cfg;
  const auto t_start = Clock::now();
  br2k::local::LocalClusterOptions o;
  o.app = "numbers";
  o.service = "failover";
  o.server_binary = BR2K_SERVER_BIN;
  o.etcd.heartbeat_ms = cfg.heartbeat_ms;
  o.etcd.election_ms = cfg.election_ms;
  o.lease_ttl = cfg.lease_ttl;
  o.log_level = "info";
  if (!a.dir.empty())
    o.dir = a.dir / cfg.name;
  note(cfg.name + ": starting anvil + registry, etcd (heartbeat " +
       std::to_string(cfg.heartbeat_ms) + " ms, election " + std::to_string(cfg.election_ms) +
       " ms), 3 nodes (lease TTL " + std::to_string(cfg.lease_ttl) + " s)");
  LocalCluster cluster(o);
  if (cfg.block_time) {
    char params[32];
    std::snprintf(params, sizeof params, "[%lld]", static_cast<long long>(*cfg.block_time));
    auto res =
        br2k::testing::json_rpc(cluster.anvil()->http_url(), "evm_setIntervalMining", params);
    auto j = parse(res.body);
    if (res.status != 200 || !j.is_object() || j.contains("error"))
      throw std::runtime_error("evm_setIntervalMining: " + res.body + res.error);
    auto automine =
        parse(br2k::testing::json_rpc(cluster.anvil()->http_url(), "anvil_getAutomine").body);
    if (!automine.is_object() || automine.value("result", true))
      throw std::runtime_error("anvil still mines a block per transaction: " + automine.dump());
    note(cfg.name + ": anvil now mines a block every " + std::string(params) + " s");
  }
  br2k::local::LocalProxyOptions po;
  po.proxy_binary = BR2K_PROXY_BIN;
  po.log_level = "info";
  br2k::local::LocalProxy proxy(cluster, po);
  const auto proxy_log = proxy.process().log_file();
  Load load(proxy.url(), a);

  std::string why;
  Stable stable;
  if (!wait_stable(cluster, proxy, load, a.wait_chain, 60s, why, stable))
    throw std::runtime_error(cfg.name + ": the cluster is not stable after start: " + why);
  const auto restart_after = std::chrono::milliseconds(static_cast<long>(a.restart_after_s * 1000));
  std::mt19937 rng{std::random_device{}()};
  std::uniform_int_distribution<int> dwell(a.dwell_min_ms, a.dwell_max_ms);
  for (int k = 0; k < a.kills; ++k) {
    if (Clock::now() >= deadline) {
      r.stopped_early = true;
      r.stop_reason = "its share of --budget is used up";
      break;
    }
    // Some steady load before the kill, for a random time: the kill must not fall at a fixed
    // phase of the periodic processes that set the gap (the node's lease keep-alive every
    // TTL/3, etcd's check for expired leases every 500 ms).
    std::this_thread::sleep_for(std::chrono::milliseconds(dwell(rng)));
    Kill kill;
    const int victim = stable.leader;
    kill.node = cluster.node_id(victim);
    kill.epoch_before = stable.epoch;
    cluster.kill_node(victim);
    kill.killed = Clock::now();
    bool restarted = false;
    const bool recovered = br2k::testing::wait_until(
        60s,
        [&] {
          const auto now = Clock::now();
          if (!restarted && now - kill.killed >= restart_after) {
            cluster.start_node(victim);
            restarted = true;
          }
          if (!kill.elected_s) {
            // The restarted victim may win the election too (it runs again after 1 s).
            for (int i = 0; i < cluster.size(); ++i) {
              if (i == victim && !restarted)
                continue;
              const auto s = parse(cluster.status(i, 100ms));
              if (s.is_object() && s.value("serving", false) &&
                  u64(s, "epoch") > kill.epoch_before) {
                kill.elected_s = seconds_between(kill.killed, Clock::now());
                kill.new_leader = cluster.node_id(i);
                kill.epoch_after = u64(s, "epoch");
              }
            }
          }
          if (!kill.proxy_switch_s && u64(parse(proxy.status()), "epoch") > kill.epoch_before)
            kill.proxy_switch_s = seconds_between(kill.killed, Clock::now());
          return restarted && kill.elected_s && kill.proxy_switch_s;
        },
        10ms);
    if (!recovered) {
      r.kills.push_back(kill);
      r.stopped_early = true;
      r.stop_reason = "no new leader or the proxy did not switch within 60 s after kill " +
                      std::to_string(k + 1);
      break;
    }
    const bool is_stable = wait_stable(cluster, proxy, load, a.wait_chain, 60s, why, stable);
    kill.stable_after_s = seconds_between(kill.killed, Clock::now());
    r.kills.push_back(kill);
    note(cfg.name + ": kill " + std::to_string(k + 1) + "/" + std::to_string(a.kills) + " of " +
         kill.node + " (epoch " + std::to_string(kill.epoch_before) + "): " + kill.new_leader +
         " serves epoch " + std::to_string(kill.epoch_after) + " after " +
         std::to_string(*kill.elected_s).substr(0, 5) + " s, proxy switched after " +
         std::to_string(*kill.proxy_switch_s).substr(0, 5) + " s, stable after " +
         std::to_string(kill.stable_after_s).substr(0, 5) + " s");
    if (!is_stable) {
      r.stopped_early = true;
      r.stop_reason = "not stable within 60 s after kill " + std::to_string(k + 1) + ": " + why;
      break;
    }
  }
  std::this_thread::sleep_for(300ms);
  load.stop();
  const auto& outcomes = load.outcomes();

  // Gaps: from each kill to the first success of a request sent after it.
  for (auto& kill : r.kills) {
    std::optional<Clock::time_point> first;
    for (const auto& out : outcomes) {
      if (out.status == 200 && out.start >= kill.killed && (!first || out.end < *first))
        first = out.end;
    }
    if (first)
      kill.gap_s = seconds_between(kill.killed, *first);
  }
  r.sent = outcomes.size();
  for (const auto& out : outcomes) {
    if (out.status == 200) {
      ++r.ok;
    } else {
      ++r.failed;
      ++r.errors[std::to_string(out.status) + " " + out.error.substr(0, 100)];
    }
  }

  // Consistency: every acknowledged number in the list exactly once, replicas identical.
  std::map<std::uint64_t, int> in_list;
  br2k::testing::HttpRequest get;
  get.url = proxy.url() + "/numbers";
  get.timeout = 30s;
  auto list = br2k::testing::http_request(get);
  if (list.status == 200) {
    const auto body = parse(list.body);  // named: a range-for over a temporary's member dangles
    const auto values = member(body, "values");
    if (values.is_array()) {
      r.list_read = true;
      for (const auto& v : values)
        ++in_list[v.get<std::uint64_t>()];
    }
  }
  if (!r.list_read)
    note(cfg.name + ": reading the list through the proxy failed: " + std::to_string(list.status) +
         " " + list.error);
  for (const auto& out : outcomes) {
    auto it = in_list.find(out.value);
    const int n = it == in_list.end() ? 0 : it->second;
    if (out.status == 200 && n == 0)
      ++r.acked_missing;
    if (out.status != 200 && n > 0)
      ++r.unacked_applied;
  }
  for (const auto& [v, n] : in_list) {
    if (n > 1)
      ++r.doubled;
  }
  r.replicas_same = br2k::testing::wait_until(
      30s,
      [&] {
        std::set<std::string> hashes;
        for (int i = 0; i < cluster.size(); ++i) {
          br2k::testing::HttpRequest s;
          s.url = cluster.node_url(i) + "/-/br2k/state";
          auto res = br2k::testing::http_request(s);
          const auto j = parse(res.body);
          if (res.status != 200 || !j.is_object())
            return false;
          hashes.insert(j.value("hash", std::string()) + "@" + member(j, "applied").dump());
        }
        return hashes.size() == 1;
      },
      200ms);
  r.proxy_status = parse(proxy.status());
  scan_logs(cluster, proxy_log, r);
  r.seconds = seconds_between(t_start, Clock::now());
  note(cfg.name + ": done in " + std::to_string(static_cast<int>(r.seconds)) +
       " s; stopping the proxy and the cluster");
  return r;
}

std::string yes(bool met) {
  return met ? "met" : "MISSED";
}

std::string fmt(const char* f, double v) {
  char s[64];
  std::snprintf(s, sizeof s, f, v);
  return s;
}

}  // namespace

int main(int argc, char** argv) try {
  const Args a = parse_args(argc, argv);
  const auto t0 = Clock::now();
  const auto budget_end = t0 + std::chrono::milliseconds(static_cast<long>(a.budget_s * 1000));
  std::vector<Result> results;
  // Each configuration gets a share of what is left of the budget, weighted by how long a kill
  // takes there (block12 waits for a block between kills).
  auto weight = [](const std::string& name) { return name == "block12" ? 3 : 1; };
  for (std::size_t i = 0; i < a.configs.size(); ++i) {
    int weights_left = 0;
    for (std::size_t j = i; j < a.configs.size(); ++j)
      weights_left += weight(a.configs[j]);
    const auto now = Clock::now();
    const auto share =
        (budget_end - std::min(now, budget_end)) * weight(a.configs[i]) / weights_left;
    results.push_back(run_config(make_config(a.configs[i], a), a, now + share));
  }

  json out{{"benchmark", "failover"},
           {"kills_per_config", a.kills},
           {"clients", a.clients},
           {"client_period_ms", {a.period_min_ms, a.period_max_ms}},
           {"restart_after_s", a.restart_after_s},
           {"wait_for_chain_between_kills", a.wait_chain},
           {"configs", json::array()}};
  bool all_ok = true;
  for (const auto& r : results) {
    const auto g = r.gaps();
    const auto elected = collect(r.kills, &Kill::elected_s);
    const auto switched = collect(r.kills, &Kill::proxy_switch_s);
    const double p50 = percentile(g, 50), p99 = percentile(g, 99);
    const bool p50_met = !g.empty() && p50 <= r.config.goal_p50_s;
    const bool p99_met = !r.config.goal_p99_s || (!g.empty() && p99 <= *r.config.goal_p99_s);
    const bool consistent =
        r.list_read && r.acked_missing == 0 && r.doubled == 0 && r.replicas_same;
    all_ok = all_ok && r.failed == 0 && consistent && !r.stopped_early;
    json kills = json::array();
    for (const auto& k : r.kills) {
      kills.push_back({{"node", k.node},
                       {"epoch_before", k.epoch_before},
                       {"new_leader", k.new_leader},
                       {"epoch_after", k.epoch_after},
                       {"gap_s", k.gap_s ? json(*k.gap_s) : json()},
                       {"elected_s", k.elected_s ? json(*k.elected_s) : json()},
                       {"proxy_switch_s", k.proxy_switch_s ? json(*k.proxy_switch_s) : json()},
                       {"stable_after_s", k.stable_after_s}});
    }
    json errors = json::object();
    for (const auto& [e, n] : r.errors)
      errors[e] = n;
    json goals{{"p50_s", {{"goal", r.config.goal_p50_s}, {"value", p50}, {"met", p50_met}}}};
    if (r.config.goal_p99_s)
      goals["p99_s"] = {{"goal", *r.config.goal_p99_s}, {"value", p99}, {"met", p99_met}};
    out["configs"].push_back(
        {{"name", r.config.name},
         {"anvil", r.config.anvil},
         {"etcd_heartbeat_ms", r.config.heartbeat_ms},
         {"etcd_election_ms", r.config.election_ms},
         {"lease_ttl_s", r.config.lease_ttl},
         {"kills", r.kills.size()},
         {"stopped_early", r.stopped_early ? json(r.stop_reason) : json(false)},
         {"gap_s", {{"p50", p50}, {"p99", p99}, {"max", g.empty() ? 0 : g.back()}, {"values", g}}},
         {"elected_s",
          {{"p50", percentile(elected, 50)}, {"max", elected.empty() ? 0 : elected.back()}}},
         {"proxy_switch_s",
          {{"p50", percentile(switched, 50)}, {"max", switched.empty() ? 0 : switched.back()}}},
         {"requests",
          {{"sent", r.sent}, {"succeeded", r.ok}, {"failed", r.failed}, {"errors", errors}}},
         {"consistency",
          {{"list_read", r.list_read},
           {"acknowledged_missing", r.acked_missing},
           {"applied_twice", r.doubled},
           {"unacknowledged_applied", r.unacked_applied},
           {"replicas_identical", r.replicas_same}}},
         {"proxy_status", r.proxy_status},
         {"log_errors", r.log_errors},
         {"log_warnings", r.log_warnings},
         {"seconds", r.seconds},
         {"goals", goals},
         {"per_kill", kills}});
  }
  out["seconds"] = seconds_between(t0, Clock::now());

  if (a.json) {
    std::cout << out.dump(2) << "\n";
    return all_ok ? 0 : 1;
  }
  std::printf(
      "failover: client-visible gap through br2k-proxy = time from a SIGKILL of the leader to the "
      "first success of a request sent after it\n"
      "%d client threads, each one POST /numbers every %d-%d ms; the killed node restarts after "
      "%.1f s; the next kill waits until the cluster%s %s stable\n",
      a.clients, a.period_min_ms, a.period_max_ms, a.restart_after_s,
      a.wait_chain ? ", the proxy and the registry" : " and the proxy", "are");
  std::printf("%-8s %-12s %-11s %5s | %5s %6s %6s %6s | %7s %7s | %7s %6s | %s\n", "config",
              "anvil", "etcd hb/el", "lease", "kills", "p50 s", "p99 s", "max s", "elect50",
              "switch50", "reqs", "failed", "goals");
  for (const auto& r : results) {
    const auto g = r.gaps();
    const auto elected = collect(r.kills, &Kill::elected_s);
    const auto switched = collect(r.kills, &Kill::proxy_switch_s);
    const double p50 = percentile(g, 50), p99 = percentile(g, 99);
    std::string goals = "p50 <= " + fmt("%.1f", r.config.goal_p50_s) + " s " +
                        yes(!g.empty() && p50 <= r.config.goal_p50_s);
    if (r.config.goal_p99_s)
      goals += ", p99 <= " + fmt("%.0f", *r.config.goal_p99_s) + " s " +
               yes(!g.empty() && p99 <= *r.config.goal_p99_s);
    if (r.failed)
      goals += ", 0 failed MISSED";
    std::printf(
        "%-8s %-12s %-11s %4llds | %5zu %6.2f %6.2f %6.2f | %7.2f %7.2f | %7zu %6zu | %s\n",
        r.config.name.c_str(), r.config.anvil.c_str(),
        (std::to_string(r.config.heartbeat_ms) + "/" + std::to_string(r.config.election_ms) + "ms")
            .c_str(),
        static_cast<long long>(r.config.lease_ttl), r.kills.size(), p50, p99,
        g.empty() ? 0.0 : g.back(), percentile(elected, 50), percentile(switched, 50), r.sent,
        r.failed, goals.c_str());
  }
  std::printf(
      "columns: p50/p99/max s = client-visible gap (p99 nearest rank); elect50 = kill -> a "
      "node serves at a higher epoch (p50); switch50 = kill -> the proxy's location at the new "
      "epoch "
      "(p50)\n");
  for (const auto& r : results) {
    std::string gaps;
    for (const auto& k : r.kills)
      gaps += (gaps.empty() ? "" : " ") + (k.gap_s ? fmt("%.2f", *k.gap_s) : std::string("n/a"));
    std::printf("%s gaps (s, in kill order): %s\n", r.config.name.c_str(), gaps.c_str());
    if (r.stopped_early)
      std::printf("  stopped early after %zu kills: %s\n", r.kills.size(), r.stop_reason.c_str());
    for (const auto& [e, n] : r.errors)
      std::printf("  failed: %d x %s\n", n, e.c_str());
    const auto& ps = r.proxy_status;
    std::printf(
        "  consistency: %s (acknowledged missing %zu, applied twice %zu, unacknowledged but "
        "applied %zu, replicas %s); proxy: failovers %s, hints %s, chain lookups %s, events %s, "
        "retries %s; node/proxy logs: %zu errors, %zu warnings; %.0f s\n",
        r.list_read && r.acked_missing == 0 && r.doubled == 0 && r.replicas_same ? "ok" : "FAILED",
        r.acked_missing, r.doubled, r.unacked_applied, r.replicas_same ? "identical" : "DIFFER",
        ps.is_object() ? ps.value("failovers", json()).dump().c_str() : "?",
        ps.is_object() ? ps.value("hints", json()).dump().c_str() : "?",
        ps.is_object() ? ps.value("chain_lookups", json()).dump().c_str() : "?",
        ps.is_object() ? ps.value("location_events", json()).dump().c_str() : "?",
        ps.is_object() ? ps.value("retries", json()).dump().c_str() : "?", r.log_errors.size(),
        r.log_warnings, r.seconds);
    for (std::size_t i = 0; i < r.log_errors.size() && i < 5; ++i)
      std::printf("  log: %s\n", r.log_errors[i].c_str());
    if (r.log_errors.size() > 5)
      std::printf("  log: ... %zu more\n", r.log_errors.size() - 5);
  }
  std::printf("total %.0f s\n", seconds_between(t0, Clock::now()));
  return all_ok ? 0 : 1;
} catch (const std::exception& e) {
  std::fprintf(stderr, "failover_bench: %s\n", e.what());
  return 1;
}
