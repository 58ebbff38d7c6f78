// Replicated writes of a BR2K service beside raw etcd puts on the same etcd cluster in the same
// run, and the catch-up rate of a restarted node (issue 4, "Benchmark").
//
// It starts a LocalCluster (three etcd members, three br2k-server nodes running the "numbers"
// app, no chain) and measures, with wrk (one thread, C keep-alive connections, C in {1, 16, 64}):
//   br2k: POST <leader>/numbers {"value": 1}: each reply means the entry was appended to the log
//         in etcd by a fenced transaction (group commit) and applied by the leader;
//   etcd: POST /v3/kv/put of a 256-byte value to one key on etcd member 0, the member the nodes'
//         etcd client talks to (it pins the first endpoint).
// Each concurrency runs R rounds in ABBA order (br2k first, then etcd first, ...), so drift in the
// shared machine's load or in etcd's state hits both peers alike; figures are means. Every reply
// that is not 2xx is counted (a 307 or 503 would mean the writes did not go through the leader),
// and the growth of the leader's log is checked against the 2xx replies.
//
// Catch-up: a follower is killed, the log is filled through the leader to at least
// --catchup-entries entries, and the follower is started again (empty: nodes keep no state on
// disk); the rate is log_size / (time from its restart until its applied index reaches the
// leader's log_size), polled every 20 ms. Its state hash is then compared with the leader's.
//
// Usage: replication_bench [--seconds S] [--concurrency 1,16,64] [--rounds R]
//                          [--catchup-entries N] [--dir PATH] [--json]
#include <unistd.h>

#include <algorithm>
#include <br2k/core/bytes.hpp>
#include <br2k/local/local_cluster.hpp>
#include <br2k/testing/http.hpp>
#include <br2k/testing/temp_dir.hpp>
#include <br2k/testing/wait.hpp>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "args.hpp"
#include "wrk.hpp"

namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;
using br2k::bench::WrkFigures;
using br2k::local::LocalCluster;

constexpr double kGoalThroughputRatio = 0.8;
constexpr double kGoalP99Ratio = 3.0;
constexpr double kGoalCatchup = 50'000;
constexpr int kGoalConnections = 64;

struct Args {
  int seconds = 5;
  std::vector<int> concurrency{1, 16, 64};
  int rounds = 2;
  std::uint64_t catchup_entries = 100'000;
  std::size_t value_size = 256;
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
    if (arg == "--seconds") {
      a.seconds = std::max(1, std::stoi(value()));
    } else if (arg == "--concurrency") {
      a.concurrency.clear();
      for (const auto& c : split(value()))
        a.concurrency.push_back(std::max(1, std::stoi(c)));
    } else if (arg == "--rounds") {
      a.rounds = std::max(1, std::stoi(value()));
    } else if (arg == "--catchup-entries") {
      a.catchup_entries = std::stoull(value());
    } else if (arg == "--dir") {
      a.dir = value();
    } else if (arg == "--json") {
      a.json = true;
    } else if (arg == "--help" || arg == "-h") {
      std::cout << "replication_bench [--seconds S] [--concurrency 1,16,64] [--rounds R]\n"
                   "                  [--catchup-entries N (0: skip)] [--dir PATH (keep logs)] "
                   "[--json]\n";
      std::exit(0);
    } else {
      throw std::invalid_argument("unknown argument " + arg);
    }
  }
  return a;
}

// Progress goes to stderr so that stdout holds only the table (or the JSON).
void note(const std::string& s) {
  std::fprintf(stderr, "replication_bench: %s\n", s.c_str());
  std::fflush(stderr);
}

json status_of(LocalCluster& c, int i, std::chrono::milliseconds timeout = 1000ms) {
  return json::parse(c.status(i, timeout), nullptr, false);
}

std::uint64_t u64(const json& j, const char* key) {
  return j.is_object() ? j.value(key, std::uint64_t{0}) : 0;
}

// The leader's log_size once it has stopped moving (writes still in flight when wrk stopped have
// been committed), or after 3 s.
std::uint64_t settled_log_size(LocalCluster& c, int leader) {
  std::uint64_t last = u64(status_of(c, leader), "log_size");
  br2k::testing::wait_until(3000ms, [&] {
    std::this_thread::sleep_for(100ms);
    auto now = u64(status_of(c, leader), "log_size");
    bool still = now == last;
    last = now;
    return still;
  });
  return last;
}

// The etcd member that leads the raft group (POST /v3/maintenance/status), -1 if unknown.
int etcd_leader(LocalCluster& c) {
  for (int i = 0; i < c.etcd().size(); ++i) {
    auto r = c.etcd().request(i, "/v3/maintenance/status");
    r.method = "POST";
    r.body = "{}";
    auto res = br2k::testing::http_request(r);
    auto j = json::parse(res.body, nullptr, false);
    if (res.status != 200 || !j.is_object() || !j.contains("header"))
      continue;
    if (j["header"].value("member_id", std::string("a")) == j.value("leader", std::string("b")))
      return i;
  }
  return -1;
}

struct Peer {
  double ops_per_s = 0;
  double p50_ms = 0;
  double p99_ms = 0;
  std::uint64_t requests = 0;
  std::uint64_t non2xx = 0;
  std::uint64_t socket_errors = 0;
  std::map<int, std::uint64_t> statuses;

  void add(const WrkFigures& f, int rounds) {
    ops_per_s += f.ops_per_s / rounds;
    p50_ms += f.p50_ms / rounds;
    p99_ms += f.p99_ms / rounds;
    requests += f.requests;
    non2xx += f.bad_status;
    socket_errors += f.socket_errors;
    for (auto [code, n] : f.statuses)
      statuses[code] += n;
  }
  json to_json() const {
    json s = json::object();
    for (auto [code, n] : statuses)
      s[std::to_string(code)] = n;
    return {{"ops_per_s", ops_per_s},        {"p50_ms", p50_ms}, {"p99_ms", p99_ms},
            {"requests", requests},          {"non2xx", non2xx}, {"non2xx_by_status", s},
            {"socket_errors", socket_errors}};
  }
};

class Bench {
 public:
  Bench(const Args& a, LocalCluster& c, const std::filesystem::path& wrk_dir)
      : a_(a), c_(c), wrk_dir_(wrk_dir) {
    leader_ = c_.wait_leader(30s);
    epoch_ = c_.epoch_of(leader_);
    br2k_.url = c_.node_url(leader_) + "/numbers";
    br2k_.method = "POST";
    br2k_.body = R"({"value": 1})";
    br2k_.headers = {{"Content-Type", "application/json"}};
    br2k_.count_statuses = true;
    json put{{"key", br2k::to_base64("bench/k")},
             {"value", br2k::to_base64(std::string(a_.value_size, 'v'))}};
    etcd_.url = c_.etcd().client_url(0) + "/v3/kv/put";
    etcd_.method = "POST";
    etcd_.body = put.dump();
    etcd_.headers = {{"Content-Type", "application/json"}};
    etcd_.count_statuses = true;  // the same per-reply hook cost as the br2k runs
  }

  int leader() const { return leader_; }
  std::uint64_t epoch() const { return epoch_; }
  std::uint64_t appended() const { return appended_; }
  std::uint64_t ok_replies() const { return ok_replies_; }
  std::vector<std::string>& problems() { return problems_; }

  WrkFigures run_br2k(int connections, int seconds) {
    const auto before = u64(status_of(c_, leader_), "log_size");
    auto f = br2k::bench::run_wrk(
        br2k_, {.connections = connections, .seconds = seconds, .dir = wrk_dir_});
    const auto after = settled_log_size(c_, leader_);
    check_leader();
    // Every 2xx reply is an appended entry; requests still in flight when wrk stopped may have
    // been appended too (at most one per connection).
    const std::uint64_t grew = after - before;
    appended_ += grew;
    ok_replies_ += f.ok();
    if (grew < f.ok() || grew > f.ok() + static_cast<std::uint64_t>(connections)) {
      problems_.push_back("br2k at " + std::to_string(connections) +
                          " connections: " + std::to_string(f.ok()) +
                          " 2xx replies but the log grew by " + std::to_string(grew));
    }
    return f;
  }

  WrkFigures run_etcd(int connections, int seconds) {
    return br2k::bench::run_wrk(etcd_,
                                {.connections = connections, .seconds = seconds, .dir = wrk_dir_});
  }

  void check_leader() {
    auto j = status_of(c_, leader_);
    if (!j.is_object() || !j.value("serving", false) || u64(j, "epoch") != epoch_) {
      problems_.push_back("the leader changed: " + c_.node_id(leader_) + " status " + j.dump());
      leader_ = c_.wait_leader(30s);
      epoch_ = c_.epoch_of(leader_);
      br2k_.url = c_.node_url(leader_) + "/numbers";
    }
  }

 private:
  const Args& a_;
  LocalCluster& c_;
  std::filesystem::path wrk_dir_;
  int leader_ = 0;
  std::uint64_t epoch_ = 0;
  br2k::bench::WrkRequest br2k_;
  br2k::bench::WrkRequest etcd_;
  std::uint64_t appended_ = 0;
  std::uint64_t ok_replies_ = 0;
  std::vector<std::string> problems_;
};

// User + system CPU seconds a process has used so far (/proc/<pid>/stat); 0 if unknown.
double cpu_seconds(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto paren = text.rfind(')');  // the command name may hold spaces
  if (paren == std::string::npos)
    return 0;
  std::istringstream fields(text.substr(paren + 2));
  std::vector<std::string> f;
  for (std::string x; fields >> x && f.size() < 15;)
    f.push_back(x);
  if (f.size() < 13)
    return 0;
  // After the name: state(3) ... utime(14), stime(15), counted from pid = 1.
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  return (std::stod(f[11]) + std::stod(f[12])) / ticks;
}

struct Catchup {
  bool ran = false;
  std::uint64_t entries = 0;  // the leader's log_size = what the restarted node applied
  double seconds = 0;         // restart -> applied == entries
  double first_answer_s = 0;  // restart -> first /-/br2k/status reply
  std::uint64_t applied_at_first_answer = 0;
  double fill_seconds = 0;
  // CPU seconds used during the catch-up by the restarted node and by each etcd member.
  double node_cpu_s = 0;
  std::vector<double> etcd_cpu_s;
  bool state_matches = false;
  int node = -1;
  double entries_per_s() const { return seconds > 0 ? static_cast<double>(entries) / seconds : 0; }
};

Catchup run_catchup(const Args& a, LocalCluster& c, Bench& b, double write_rate) {
  Catchup r;
  r.ran = true;
  const int leader = b.leader();
  r.node = (leader + 1) % c.size();
  note("catch-up: killing follower " + c.node_id(r.node));
  c.kill_node(r.node);

  // Fill the log to the target through the leader, wrk at 64 connections.
  const auto fill_start = std::chrono::steady_clock::now();
  std::uint64_t size = settled_log_size(c, leader);
  for (int attempt = 0; size < a.catchup_entries; ++attempt) {
    if (attempt >= 5)
      throw std::runtime_error("catch-up: the log holds only " + std::to_string(size) +
                               " entries after 5 fill runs");
    const double rate = std::max(write_rate, 200.0);
    const auto missing = static_cast<double>(a.catchup_entries - size);
    const int secs = std::clamp(static_cast<int>(std::ceil(missing / rate * 1.1)) + 1, 1, 120);
    note("catch-up: log holds " + std::to_string(size) + " entries; writing " +
         std::to_string(a.catchup_entries - size) + " more (wrk -c64 for " + std::to_string(secs) +
         " s)");
    auto f = b.run_br2k(kGoalConnections, secs);
    if (f.bad_status || f.socket_errors) {
      b.problems().push_back("catch-up fill: " + std::to_string(f.bad_status) + " non-2xx, " +
                             std::to_string(f.socket_errors) + " socket errors");
    }
    if (f.ops_per_s > 0)
      write_rate = f.ops_per_s;
    size = settled_log_size(c, b.leader());
  }
  r.fill_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - fill_start).count();
  const int now_leader = b.leader();
  r.entries = settled_log_size(c, now_leader);

  note("catch-up: restarting " + c.node_id(r.node) + " to apply " + std::to_string(r.entries) +
       " entries");
  std::vector<double> etcd_cpu0;
  for (int i = 0; i < c.etcd().size(); ++i)
    etcd_cpu0.push_back(cpu_seconds(c.etcd().pid(i)));
  const auto t0 = std::chrono::steady_clock::now();
  c.start_node(r.node);
  bool answered = false;
  const auto limit = std::chrono::milliseconds(
      std::max<std::uint64_t>(60'000, r.entries / 5));  // >= 5,000 entries/s, else give up
  const bool done = br2k::testing::wait_until(
      limit,
      [&] {
        auto j = status_of(c, r.node, 200ms);
        if (!j.is_object())
          return false;
        const auto now = std::chrono::steady_clock::now();
        const auto applied = u64(j, "applied");
        if (!answered) {
          answered = true;
          r.first_answer_s = std::chrono::duration<double>(now - t0).count();
          r.applied_at_first_answer = applied;
        }
        if (applied >= r.entries) {
          r.seconds = std::chrono::duration<double>(now - t0).count();
          return true;
        }
        return false;
      },
      20ms);
  r.node_cpu_s = cpu_seconds(c.node_pid(r.node));
  for (int i = 0; i < c.etcd().size(); ++i)
    r.etcd_cpu_s.push_back(cpu_seconds(c.etcd().pid(i)) - etcd_cpu0[i]);
  if (!done) {
    throw std::runtime_error("catch-up: " + c.node_id(r.node) + " did not apply " +
                             std::to_string(r.entries) + " entries in " +
                             std::to_string(limit.count()) + " ms; status " + c.status(r.node) +
                             "\nlog tail:\n" + br2k::testing::file_tail(c.node_log(r.node), 15));
  }
  // Consistency: the same applied index gives the same state hash.
  auto state = [&](int i) {
    br2k::testing::HttpRequest q;
    q.url = c.node_url(i) + "/-/br2k/state";
    q.timeout = 2s;
    return json::parse(br2k::testing::http_request(q).body, nullptr, false);
  };
  json s_leader = state(now_leader), s_node;
  br2k::testing::wait_until(5000ms, [&] {
    s_node = state(r.node);
    return s_node.is_object() && u64(s_node, "applied") >= u64(s_leader, "applied");
  });
  r.state_matches = s_leader.is_object() && s_node.is_object() &&
                    s_leader.value("applied", json()) == s_node.value("applied", json()) &&
                    s_leader.value("hash", json()) == s_node.value("hash", json());
  if (!r.state_matches)
    b.problems().push_back("catch-up: state differs: leader " + s_leader.dump() + ", " +
                           c.node_id(r.node) + " " + s_node.dump());
  return r;
}

// Every line the nodes logged (at --log-level warn, each one is a warning or an error), and
// etcd's error lines.
std::vector<std::string> log_lines(LocalCluster& c) {
  std::vector<std::string> out;
  for (int i = 0; i < c.size(); ++i) {
    std::ifstream in(c.node_log(i));
    for (std::string line; std::getline(in, line);) {
      if (!line.empty())
        out.push_back(c.node_id(i) + ": " + line);
    }
  }
  for (int i = 0; i < c.etcd().size(); ++i) {
    std::istringstream in(c.etcd().member_log(i));
    for (std::string line; std::getline(in, line);) {
      if (line.find("\"level\":\"error\"") != std::string::npos ||
          line.find("panic") != std::string::npos)
        out.push_back("etcd " + std::to_string(i) + ": " + line);
    }
  }
  return out;
}

std::string yes(bool met) {
  return met ? "met" : "MISSED";
}

}  // namespace

int main(int argc, char** argv) try {
  const Args a = parse_args(argc, argv);
  br2k::local::LocalClusterOptions o;
  o.app = "numbers";
  o.chain = false;
  o.server_binary = BR2K_SERVER_BIN;
  o.log_level = "warn";
  o.dir = a.dir;
  note("starting etcd (3 members) and 3 br2k-server nodes");
  LocalCluster cluster(o);
  br2k::testing::TempDir wrk_temp;  // wrk's script and output; kept under --dir if given
  Bench bench(a, cluster, a.dir.empty() ? wrk_temp.path() : a.dir / "wrk");
  const int etcd_lead = etcd_leader(cluster);
  note("leader " + cluster.node_id(bench.leader()) + " at " + cluster.node_url(bench.leader()) +
       ", epoch " + std::to_string(bench.epoch()) + "; etcd raft leader: member " +
       std::to_string(etcd_lead));

  json out{{"benchmark", "replication"},
           {"nodes", cluster.size()},
           {"etcd_members", cluster.etcd().size()},
           {"etcd_put_member", 0},
           {"etcd_raft_leader_member", etcd_lead},
           {"seconds_per_run", a.seconds},
           {"rounds", a.rounds},
           {"etcd_value_size", a.value_size},
           {"runs", json::array()}};
  if (!a.json) {
    std::printf(
        "replicated writes (wrk POST /numbers on the leader) vs raw etcd put (wrk POST "
        "/v3/kv/put, %zu-byte value, member 0)\n"
        "3 nodes, 3 etcd members, wrk -t1, %d rounds of %d s in ABBA order, means\n",
        a.value_size, a.rounds, a.seconds);
    std::printf("%5s | %10s %7s %7s %7s | %10s %7s %7s %7s | %6s %6s\n", "conns", "br2k op/s",
                "p50 ms", "p99 ms", "non-2xx", "etcd op/s", "p50 ms", "p99 ms", "non-2xx", "tput",
                "p99");
    std::fflush(stdout);
  }
  double rate_at_goal = 0, tput_ratio_at_goal = -1, p99_ratio_at_goal = -1;
  std::uint64_t total_non2xx = 0;
  for (int c : a.concurrency) {
    note("measuring at " + std::to_string(c) + " connections");
    // Warm up both (connections, etcd's backend, the page cache).
    (void)bench.run_br2k(c, 1);
    (void)bench.run_etcd(c, 1);
    Peer b, e;
    for (int round = 0; round < a.rounds; ++round) {
      if (round % 2 == 0) {
        b.add(bench.run_br2k(c, a.seconds), a.rounds);
        e.add(bench.run_etcd(c, a.seconds), a.rounds);
      } else {
        e.add(bench.run_etcd(c, a.seconds), a.rounds);
        b.add(bench.run_br2k(c, a.seconds), a.rounds);
      }
    }
    const double tput = e.ops_per_s > 0 ? b.ops_per_s / e.ops_per_s : 0;
    const double p99 = e.p99_ms > 0 ? b.p99_ms / e.p99_ms : 0;
    total_non2xx += b.non2xx + e.non2xx + b.socket_errors + e.socket_errors;
    if (c == kGoalConnections) {
      rate_at_goal = b.ops_per_s;
      tput_ratio_at_goal = tput;
      p99_ratio_at_goal = p99;
    }
    out["runs"].push_back({{"concurrency", c},
                           {"br2k", b.to_json()},
                           {"etcd", e.to_json()},
                           {"throughput_ratio", tput},
                           {"p99_ratio", p99}});
    if (!a.json) {
      std::printf("%5d | %10.0f %7.2f %7.2f %7llu | %10.0f %7.2f %7.2f %7llu | %6.2f %6.2f%s\n", c,
                  b.ops_per_s, b.p50_ms, b.p99_ms,
                  static_cast<unsigned long long>(b.non2xx + b.socket_errors), e.ops_per_s,
                  e.p50_ms, e.p99_ms, static_cast<unsigned long long>(e.non2xx + e.socket_errors),
                  tput, p99,
                  b.non2xx + e.non2xx + b.socket_errors + e.socket_errors ? "  (errors!)" : "");
      std::fflush(stdout);
    }
  }
  if (rate_at_goal <= 0 && !out["runs"].empty())
    rate_at_goal = out["runs"].back()["br2k"]["ops_per_s"].get<double>();

  Catchup cu;
  if (a.catchup_entries > 0)
    cu = run_catchup(a, cluster, bench, rate_at_goal);

  const auto logged = log_lines(cluster);
  auto& problems = bench.problems();
  const bool tput_met = tput_ratio_at_goal >= kGoalThroughputRatio;
  const bool p99_met = p99_ratio_at_goal >= 0 && p99_ratio_at_goal <= kGoalP99Ratio;
  const bool catchup_met = cu.entries_per_s() >= kGoalCatchup;

  out["checks"] = {{"non2xx_and_socket_errors", total_non2xx},
                   {"entries_appended", bench.appended()},
                   {"br2k_2xx_replies", bench.ok_replies()},
                   {"problems", problems},
                   {"node_log_lines", logged.size()}};
  if (cu.ran) {
    out["catchup"] = {{"node", cluster.node_id(cu.node)},
                      {"entries", cu.entries},
                      {"seconds", cu.seconds},
                      {"entries_per_s", cu.entries_per_s()},
                      {"first_status_after_s", cu.first_answer_s},
                      {"applied_at_first_status", cu.applied_at_first_answer},
                      {"state_matches_leader", cu.state_matches},
                      {"fill_seconds", cu.fill_seconds},
                      {"node_cpu_s", cu.node_cpu_s},
                      {"etcd_cpu_s", cu.etcd_cpu_s}};
  }
  out["goals"] = {
      {"throughput_ratio_at_64",
       {{"goal", kGoalThroughputRatio}, {"value", tput_ratio_at_goal}, {"met", tput_met}}},
      {"p99_ratio_at_64",
       {{"goal", kGoalP99Ratio}, {"value", p99_ratio_at_goal}, {"met", p99_met}}},
      {"catchup_entries_per_s",
       {{"goal", kGoalCatchup}, {"value", cu.entries_per_s()}, {"met", catchup_met}}}};

  if (a.json) {
    out["node_log"] = logged;
    std::cout << out.dump(2) << "\n";
  } else {
    if (cu.ran) {
      std::printf(
          "catch-up: %s restarted empty applied %llu entries in %.2f s = %.0f entries/s "
          "(first status reply after %.2f s, at applied %llu; state hash %s the leader's)\n",
          cluster.node_id(cu.node).c_str(), static_cast<unsigned long long>(cu.entries), cu.seconds,
          cu.entries_per_s(), cu.first_answer_s,
          static_cast<unsigned long long>(cu.applied_at_first_answer),
          cu.state_matches ? "matches" : "DIFFERS FROM");
      std::string etcd_cpu;
      for (std::size_t i = 0; i < cu.etcd_cpu_s.size(); ++i) {
        char part[48];
        std::snprintf(part, sizeof part, "%s%zu: %.2f s", i ? ", " : "", i, cu.etcd_cpu_s[i]);
        etcd_cpu += part;
      }
      std::printf("catch-up CPU: %s %.2f s; etcd members %s\n", cluster.node_id(cu.node).c_str(),
                  cu.node_cpu_s, etcd_cpu.c_str());
    }
    std::printf(
        "checks: %llu non-2xx replies or socket errors; log grew by %llu for %llu 2xx "
        "replies; %zu node log lines (warn and above)\n",
        static_cast<unsigned long long>(total_non2xx),
        static_cast<unsigned long long>(bench.appended()),
        static_cast<unsigned long long>(bench.ok_replies()), logged.size());
    for (const auto& p : problems)
      std::printf("  problem: %s\n", p.c_str());
    for (std::size_t i = 0; i < logged.size() && i < 10; ++i)
      std::printf("  log: %s\n", logged[i].c_str());
    if (logged.size() > 10)
      std::printf("  log: ... %zu more\n", logged.size() - 10);
    if (tput_ratio_at_goal >= 0) {
      std::printf(
          "goals at %d connections: throughput ratio >= %.1f: %.2f %s; p99 ratio <= %.0f: "
          "%.2f %s\n",
          kGoalConnections, kGoalThroughputRatio, tput_ratio_at_goal, yes(tput_met).c_str(),
          kGoalP99Ratio, p99_ratio_at_goal, yes(p99_met).c_str());
    } else {
      std::printf("goals at %d connections: not measured (add %d to --concurrency)\n",
                  kGoalConnections, kGoalConnections);
    }
    if (cu.ran)
      std::printf("goal: catch-up >= %.0f entries/s: %.0f %s\n", kGoalCatchup, cu.entries_per_s(),
                  yes(catchup_met).c_str());
  }
  note("stopping the cluster");
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "replication_bench: %s\n", e.what());
  return 1;
}
