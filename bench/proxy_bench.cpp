// Proxy overhead (issue 5, "Benchmarks"): the same request sent directly to the leader, through
// br2k-proxy, and through HAProxy in front of the same three nodes, in the same run with the
// same load generator.
//
// It starts a LocalCluster (anvil with the registry, three etcd members, three br2k-server nodes
// running the key-value app), a br2k-proxy (LocalProxy) and HAProxy (Debian's haproxy, a child
// process with a generated configuration in the cluster's directory) configured the usual way
// for a leader behind a health check: one backend with the three nodes, `option httpchk GET
// /-/br2k/leader` (200 only on the serving leader, 503 elsewhere), `http-check expect status
// 200`, `inter 1s fall 2 rise 1`, keep-alive, timeouts set, HAProxy's default thread count.
//
// Each operation is measured with wrk (one thread, C keep-alive connections, C in {1, 16, 64})
// on the three paths:
//   direct:  the leader's own URL;
//   proxy:   br2k-proxy (it forwards over pooled connections to the leader);
//   haproxy: HAProxy's frontend.
// Operations: `read` is GET /kv/bench (a 64-byte value, answered from the leader's applied
// state: the path where the proxy's own cost shows); `write` is PUT /kv/bench-w (replicated
// through etcd, so the proxy's cost is a small part of it), each with an Idempotency-Key of its
// own on every path, so the leader records the same deduplication entry whichever way a write
// came (br2k-proxy would add one to a write without a key). Each concurrency runs R rounds in
// ABBA order (direct, proxy, haproxy, then haproxy, proxy, direct, ...) so that drift in the
// shared machine's load hits all three alike; figures are means over rounds. Every non-2xx reply
// is counted (a 307 would mean a request reached a follower). The CPU time the proxy and HAProxy
// use per request is read from /proc.
//
// Goals (read): proxy throughput >= 0.9 of direct and >= HAProxy's, and < 150 us added at p50
// over direct.
//
// Usage: proxy_bench [--seconds S] [--connections 1,16,64] [--rounds R] [--ops read,write]
//                    [--proxy-threads N] [--haproxy-threads N] [--paced-rate R]
//                    [--leader-cpu P] [--dir PATH] [--json]
//
// Threads: br2k-proxy's --threads and HAProxy's nbthread; both default to one per CPU (HAProxy's
// own default), so that the two run alike.
//
// Server-bound runs (reads, --leader-cpu P, default 25): the saturated reads again with the
// leader limited to P % of one CPU by a cgroup CPU quota (bench/cpu_cap.hpp), so that the
// leader is the bottleneck and wrk and the proxies have CPU to spare: the case of a sidecar
// proxy on its clients' hosts in front of a busy service. Above, the two CPUs are shared, so a
// proxy's own work per request comes out of wrk's and the leader's, and no proxy can reach 0.9
// of direct (HAProxy's ratio there is about that of br2k-proxy). Skipped, and said so, where no
// cgroup CPU controller can be written.
//
// Paced runs (reads, --paced-rate R, default 4000/s): each connection waits a random time of mean
// round(C * 1000 / R) ms (at least 1; exponentially distributed, so that the C connections'
// requests arrive spread out like independent clients', not in bursts of C) before each
// request, so the load is about R/s, well under what the machine can carry on any path. Latency
// at saturation is mostly queueing (C / throughput); the paced p50s show what a hop adds to one
// request at a load the machine carries.
#include <unistd.h>

#include <algorithm>
#include <array>
#include <br2k/local/local_cluster.hpp>
#include <br2k/testing/http.hpp>
#include <br2k/testing/ports.hpp>
#include <br2k/testing/process.hpp>
#include <br2k/testing/temp_dir.hpp>
#include <br2k/testing/wait.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <thread>

#include "args.hpp"
#include "cpu_cap.hpp"
#include "wrk.hpp"

namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;
using br2k::bench::WrkFigures;
using br2k::local::LocalCluster;

constexpr double kGoalDirectRatio = 0.9;
constexpr double kGoalHaproxyRatio = 1.0;
constexpr double kGoalAddedP50Us = 150;

struct Args {
  int seconds = 3;
  std::vector<int> connections{1, 16, 64};
  int rounds = 2;
  std::vector<std::string> ops{"read", "write"};
  int proxy_threads = 0;    // 0: one per CPU
  int haproxy_threads = 0;  // 0: HAProxy's default (one per CPU)
  // The paced runs (reads): about this many requests per second over each connection count
  // (0: none). Latency added at a load the machine can carry, not queueing at saturation.
  int paced_rate = 4000;
  // The server-bound reads: the leader limited to this percent of one CPU (0: none).
  int leader_cpu = 25;
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
    } else if (arg == "--connections") {
      a.connections.clear();
      for (const auto& c : split(value()))
        a.connections.push_back(std::max(1, std::stoi(c)));
    } else if (arg == "--rounds") {
      a.rounds = std::max(1, std::stoi(value()));
    } else if (arg == "--ops") {
      a.ops = split(value());
      for (const auto& op : a.ops) {
        if (op != "read" && op != "write")
          throw std::invalid_argument("--ops: read and/or write, not " + op);
      }
    } else if (arg == "--paced-rate") {
      a.paced_rate = std::max(0, std::stoi(value()));
    } else if (arg == "--leader-cpu") {
      a.leader_cpu = std::clamp(std::stoi(value()), 0, 100);
    } else if (arg == "--proxy-threads") {
      a.proxy_threads = std::max(0, std::stoi(value()));
    } else if (arg == "--haproxy-threads") {
      a.haproxy_threads = std::max(0, std::stoi(value()));
    } else if (arg == "--dir") {
      a.dir = value();
    } else if (arg == "--json") {
      a.json = true;
    } else if (arg == "--help" || arg == "-h") {
      std::cout << "proxy_bench [--seconds S] [--connections 1,16,64] [--rounds R]\n"
                   "            [--ops read,write] [--proxy-threads N (0: one per CPU)]\n"
                   "            [--haproxy-threads N (0: its default)]\n"
                   "            [--paced-rate R (req/s of the paced read runs; 0: none)]\n"
                   "            [--leader-cpu P (% of a CPU in the server-bound runs; 0: none)]\n"
                   "            [--dir PATH (keep data and logs)] [--json]\n";
      std::exit(0);
    } else {
      throw std::invalid_argument("unknown argument " + arg);
    }
  }
  return a;
}

// Progress goes to stderr so that stdout holds only the table (or the JSON).
void note(const std::string& s) {
  std::fprintf(stderr, "proxy_bench: %s\n", s.c_str());
  std::fflush(stderr);
}

// User + system CPU seconds a process (all its threads) has used so far; 0 if unknown.
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
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  return (std::stod(f[11]) + std::stod(f[12])) / ticks;
}

// HAProxy in front of the cluster's nodes, health-checking /-/br2k/leader.
class Haproxy {
 public:
  Haproxy(LocalCluster& c, int threads) {
    port_ = br2k::testing::free_port();
    const auto cfg = c.dir() / "haproxy.cfg";
    std::ofstream out(cfg, std::ios::trunc);
    out << "# Generated by proxy_bench: the leader of a BR2K service behind a health check.\n"
           "global\n"
           "  maxconn 4096\n";
    if (threads > 0)
      out << "  nbthread " << threads << "\n";
    out << "defaults\n"
           "  mode http\n"
           "  option http-keep-alive\n"
           "  timeout connect 1s\n"
           "  timeout client 30s\n"
           "  timeout server 30s\n"
           "  timeout http-request 10s\n"
           "  timeout http-keep-alive 30s\n"
           "  timeout check 1s\n"
           "frontend br2k\n"
           "  bind 127.0.0.1:"
        << port_
        << "\n"
           "  default_backend leader\n"
           "backend leader\n"
           "  option httpchk GET /-/br2k/leader\n"
           "  http-check expect status 200\n"
           "  default-server inter 1s fall 2 rise 1\n";
    for (int i = 0; i < c.size(); ++i)
      out << "  server " << c.node_id(i) << " 127.0.0.1:" << c.node_port(i) << " check\n";
    out.close();
    if (!out)
      throw std::runtime_error("cannot write " + cfg.string());
    process_ = std::make_unique<br2k::testing::Process>(br2k::testing::ProcessOptions{
        .argv = {"haproxy", "-f", cfg.string(), "-db"}, .log_file = c.dir() / "haproxy.log"});
  }

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  br2k::testing::Process& process() { return *process_; }

  // Waits until `n` requests in a row get 200: the followers are marked down and every request
  // reaches the leader.
  void wait_leader_only(const std::string& path, int n, std::chrono::milliseconds timeout) {
    int in_a_row = 0;
    const bool ok = br2k::testing::wait_until(
        timeout,
        [&] {
          if (!process_->running())
            throw std::runtime_error("haproxy exited:\n" + process_->log_tail());
          br2k::testing::HttpRequest r;
          r.url = url() + path;
          r.timeout = 1s;
          auto res = br2k::testing::http_request(r);
          in_a_row = res.status == 200 ? in_a_row + 1 : 0;
          return in_a_row >= n;
        },
        20ms);
    if (!ok)
      throw std::runtime_error("haproxy does not send every request to the leader:\n" +
                               process_->log_tail());
  }

 private:
  std::uint16_t port_ = 0;
  std::unique_ptr<br2k::testing::Process> process_;
};

enum PathKind { kDirect = 0, kProxy = 1, kHaproxy = 2 };
const char* const kPathNames[3] = {"direct", "proxy", "haproxy"};

struct Peer {
  double ops_per_s = 0;
  double p50_ms = 0;
  double p99_ms = 0;
  std::uint64_t requests = 0;
  std::uint64_t non2xx = 0;
  std::uint64_t socket_errors = 0;
  std::map<int, std::uint64_t> statuses;
  double cpu_s = 0;         // CPU of the middle process (proxy, haproxy) during the runs
  double leader_cpu_s = 0;  // CPU of the leader node during the same runs

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
  double cpu_us_per_request() const {
    return requests ? cpu_s * 1e6 / static_cast<double>(requests) : 0;
  }
  double leader_cpu_us_per_request() const {
    return requests ? leader_cpu_s * 1e6 / static_cast<double>(requests) : 0;
  }
  json to_json() const {
    json s = json::object();
    for (auto [code, n] : statuses)
      s[std::to_string(code)] = n;
    return {{"ops_per_s", ops_per_s},
            {"p50_ms", p50_ms},
            {"p99_ms", p99_ms},
            {"requests", requests},
            {"non2xx", non2xx},
            {"non2xx_by_status", s},
            {"socket_errors", socket_errors},
            {"cpu_us_per_request", cpu_us_per_request()},
            {"leader_cpu_us_per_request", leader_cpu_us_per_request()}};
  }
};

class Bench {
 public:
  Bench(LocalCluster& c, br2k::local::LocalProxy& proxy, Haproxy& haproxy,
        const std::filesystem::path& wrk_dir)
      : c_(c), proxy_(proxy), haproxy_(haproxy), wrk_dir_(wrk_dir) {
    leader_ = c_.wait_leader(30s);
    epoch_ = c_.epoch_of(leader_);
  }

  int leader() const { return leader_; }
  std::uint64_t epoch() const { return epoch_; }
  std::vector<std::string>& problems() { return problems_; }

  static br2k::bench::WrkRequest request(const std::string& op) {
    br2k::bench::WrkRequest r;
    if (op == "read") {
      r.url = "/kv/bench";
    } else {
      r.url = "/kv/bench-w";
      r.method = "PUT";
      r.body = std::string(64, 'w');
      r.headers = {{"Content-Type", "application/octet-stream"}};
      // Each write carries its own key on every path, so the leader does the same work for all
      // three (see WrkRequest::unique_header).
      r.unique_header = "Idempotency-Key";
    }
    r.count_statuses = true;  // the same per-reply hook cost on every path
    return r;
  }

  std::string base(PathKind p) const {
    switch (p) {
      case kDirect:
        return c_.node_url(leader_);
      case kProxy:
        return proxy_.url();
      case kHaproxy:
        return haproxy_.url();
    }
    return {};
  }

  pid_t middle_pid(PathKind p) {
    switch (p) {
      case kProxy:
        return proxy_.process().pid();
      case kHaproxy:
        return haproxy_.process().pid();
      default:
        return -1;
    }
  }

  void run(PathKind p, const std::string& op, int connections, int seconds, Peer* into, int rounds,
           int delay_ms = 0) {
    auto r = request(op);
    r.url = base(p) + r.url;
    if (!r.unique_header.empty())
      r.unique_prefix = "bench-" + std::to_string(++runs_);
    r.delay_ms = delay_ms;
    r.random_delay = true;  // arrivals spread out, not in bursts of C (see wrk.hpp)
    const pid_t pid = middle_pid(p);
    const pid_t leader_pid = c_.node_pid(leader_);
    const double cpu0 = pid > 0 ? cpu_seconds(pid) : 0;
    const double leader0 = leader_pid > 0 ? cpu_seconds(leader_pid) : 0;
    auto f =
        br2k::bench::run_wrk(r, {.connections = connections, .seconds = seconds, .dir = wrk_dir_});
    const double cpu1 = pid > 0 ? cpu_seconds(pid) : 0;
    const double leader1 = leader_pid > 0 ? cpu_seconds(leader_pid) : 0;
    check_leader();
    if (into) {
      into->add(f, rounds);
      into->cpu_s += cpu1 - cpu0;
      into->leader_cpu_s += leader1 - leader0;
    }
  }

  void check_leader() {
    auto j = json::parse(c_.status(leader_, 1000ms), nullptr, false);
    if (!j.is_object() || !j.value("serving", false) ||
        j.value("epoch", std::uint64_t{0}) != epoch_) {
      problems_.push_back("the leader changed: " + c_.node_id(leader_) + " status " + j.dump());
      leader_ = c_.wait_leader(30s);
      epoch_ = c_.epoch_of(leader_);
    }
  }

 private:
  LocalCluster& c_;
  br2k::local::LocalProxy& proxy_;
  Haproxy& haproxy_;
  std::filesystem::path wrk_dir_;
  int leader_ = 0;
  std::uint64_t epoch_ = 0;
  std::vector<std::string> problems_;
  int runs_ = 0;  // wrk runs so far: each writes under keys of its own
};

// Lines of the nodes' logs (at --log-level warn, each one is a warning or an error), the
// proxy's log (warn), HAProxy's output (but the expected lines), and etcd's error lines.
std::vector<std::string> log_lines(LocalCluster& c, const std::filesystem::path& proxy_log,
                                   const std::filesystem::path& haproxy_log) {
  std::vector<std::string> out;
  auto add_file = [&](const std::string& who, const std::filesystem::path& file) {
    std::ifstream in(file);
    for (std::string line; std::getline(in, line);) {
      // Expected: br2k-proxy prints where it listens; HAProxy reports the followers failing
      // the leader check ("Server leader/n1 is DOWN").
      if (line.empty() || line.starts_with("listening on ") ||
          (line.find("Server leader/") != std::string::npos &&
           line.find(" is DOWN, reason: Layer7 wrong status, code: 503") != std::string::npos))
        continue;
      out.push_back(who + ": " + line);
    }
  };
  for (int i = 0; i < c.size(); ++i)
    add_file(c.node_id(i), c.node_log(i));
  add_file("proxy", proxy_log);
  add_file("haproxy", haproxy_log);
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
  o.app = "kv";
  o.service = "bench";
  o.chain = true;  // the proxy resolves the service through the registry
  o.server_binary = BR2K_SERVER_BIN;
  o.log_level = "warn";
  o.dir = a.dir;
  note("starting anvil + registry, etcd (3 members) and 3 br2k-server nodes");
  LocalCluster cluster(o);
  br2k::local::LocalProxyOptions po;
  po.proxy_binary = BR2K_PROXY_BIN;
  po.log_level = "warn";
  const int proxy_threads =
      a.proxy_threads > 0 ? a.proxy_threads : std::max(1, int(std::thread::hardware_concurrency()));
  po.extra_args = {"--threads", std::to_string(proxy_threads)};
  note("starting br2k-proxy (" + std::to_string(proxy_threads) + " threads)");
  br2k::local::LocalProxy proxy(cluster, po);
  const auto proxy_log = proxy.process().log_file();

  // The key the reads get, written once through the leader.
  const int first_leader = cluster.wait_leader(30s);
  {
    br2k::testing::HttpRequest put;
    put.url = cluster.node_url(first_leader) + "/kv/bench";
    put.method = "PUT";
    put.body = std::string(64, 'v');
    put.headers = {"Content-Type: application/octet-stream"};
    put.timeout = 10s;
    auto res = br2k::testing::http_request(put);
    if (res.status != 200)
      throw std::runtime_error("PUT /kv/bench on the leader: " + std::to_string(res.status) + " " +
                               res.body + res.error);
  }
  note("starting haproxy");
  Haproxy haproxy(cluster, a.haproxy_threads);
  haproxy.wait_leader_only("/kv/bench", 30, 30s);
  // The proxy has resolved the leader once its first request succeeds.
  {
    br2k::testing::HttpRequest get;
    get.url = proxy.url() + "/kv/bench";
    get.timeout = 30s;
    auto res = br2k::testing::http_request(get);
    if (res.status != 200)
      throw std::runtime_error("GET /kv/bench through the proxy: " + std::to_string(res.status) +
                               " " + res.body + res.error);
  }

  br2k::testing::TempDir wrk_temp;  // wrk's script and output; kept under --dir if given
  Bench bench(cluster, proxy, haproxy, a.dir.empty() ? wrk_temp.path() : a.dir / "wrk");
  note("leader " + cluster.node_id(bench.leader()) + " at " + cluster.node_url(bench.leader()) +
       ", epoch " + std::to_string(bench.epoch()) + "; proxy " + proxy.url() + "; haproxy " +
       haproxy.url());

  const std::string haproxy_threads =
      a.haproxy_threads > 0 ? std::to_string(a.haproxy_threads) : "default (one per CPU)";
  json out{{"benchmark", "proxy"},
           {"nodes", cluster.size()},
           {"seconds_per_run", a.seconds},
           {"rounds", a.rounds},
           {"cpus", std::thread::hardware_concurrency()},
           {"proxy_threads", proxy_threads},
           {"haproxy_threads", a.haproxy_threads},
           {"read", "GET /kv/bench (64-byte value)"},
           {"write", "PUT /kv/bench-w (64-byte value)"},
           {"runs", json::array()}};
  if (!a.json) {
    std::printf(
        "proxy overhead: the same request directly to the leader, through br2k-proxy, through "
        "HAProxy\n"
        "(httpchk GET /-/br2k/leader, inter 1s fall 2 rise 1, keep-alive, nbthread %s); "
        "br2k-proxy --threads %d\n"
        "read: GET /kv/bench (64 B), write: PUT /kv/bench-w (64 B); wrk -t1, %d rounds of %d s "
        "in ABBA order, means; %u CPUs shared by wrk, the proxies, nodes, etcd and anvil\n",
        haproxy_threads.c_str(), proxy_threads, a.rounds, a.seconds,
        std::thread::hardware_concurrency());
    std::printf(
        "%-5s %5s | %9s %7s %7s | %9s %7s %7s | %9s %7s %7s | %7s %7s %7s | %7s %7s | %8s %8s\n",
        "op", "conns", "direct/s", "p50 ms", "p99 ms", "proxy/s", "p50 ms", "p99 ms", "haprox/s",
        "p50 ms", "p99 ms", "prx/dir", "prx/hap", "hap/dir", "+p50 us", "hap +us", "prx cpu",
        "hap cpu");
    std::fflush(stdout);
  }

  // One measurement of the three paths: `rounds` rounds in ABBA order (direct, proxy, HAProxy,
  // then backwards), so that drift in the machine's load hits all three alike.
  auto measure = [&](const std::string& op, int c, int delay_ms) {
    std::array<Peer, 3> peers;
    for (int round = 0; round < a.rounds; ++round) {
      std::vector<PathKind> order{kDirect, kProxy, kHaproxy};
      if (round % 2 == 1)
        std::reverse(order.begin(), order.end());
      for (PathKind p : order)
        bench.run(p, op, c, a.seconds, &peers[p], a.rounds, delay_ms);
    }
    return peers;
  };
  auto count_errors = [](const std::array<Peer, 3>& peers) {
    std::uint64_t n = 0;
    for (const auto& peer : peers)
      n += peer.non2xx + peer.socket_errors;
    return n;
  };
  auto add_peers = [](json& run, const std::array<Peer, 3>& peers) {
    for (PathKind k : {kDirect, kProxy, kHaproxy})
      run[kPathNames[k]] = peers[k].to_json();
  };

  struct GoalRow {
    int connections;
    double direct_ratio, haproxy_ratio, added_p50_us, haproxy_direct_ratio;
  };
  std::uint64_t total_errors = 0;
  // One saturated measurement of `op` at `c` connections: warmed up, measured, printed as a row
  // of the table (and the leader's CPU per request under it), added to `runs`.
  auto saturated_row = [&](const std::string& op, int c, json& runs) {
    // Warm up every path (connections, pools, caches).
    for (PathKind p : {kDirect, kProxy, kHaproxy})
      bench.run(p, op, c, 1, nullptr, 1);
    const auto peers = measure(op, c, 0);
    const Peer &d = peers[kDirect], &p = peers[kProxy], &h = peers[kHaproxy];
    const double pd = d.ops_per_s > 0 ? p.ops_per_s / d.ops_per_s : 0;
    const double ph = h.ops_per_s > 0 ? p.ops_per_s / h.ops_per_s : 0;
    const double added_us = (p.p50_ms - d.p50_ms) * 1000;
    const double hd = d.ops_per_s > 0 ? h.ops_per_s / d.ops_per_s : 0;
    const double hap_added_us = (h.p50_ms - d.p50_ms) * 1000;
    const std::uint64_t errors = count_errors(peers);
    total_errors += errors;
    json run{{"op", op},
             {"connections", c},
             {"proxy_direct_ratio", pd},
             {"proxy_haproxy_ratio", ph},
             {"proxy_added_p50_us", added_us},
             {"haproxy_direct_ratio", hd},
             {"haproxy_added_p50_us", hap_added_us}};
    add_peers(run, peers);
    runs.push_back(run);
    if (!a.json) {
      std::printf(
          "%-5s %5d | %9.0f %7.3f %7.3f | %9.0f %7.3f %7.3f | %9.0f %7.3f %7.3f | %7.2f %7.2f "
          "%7.2f | %7.0f %7.0f | %6.1fus %6.1fus%s\n",
          op.c_str(), c, d.ops_per_s, d.p50_ms, d.p99_ms, p.ops_per_s, p.p50_ms, p.p99_ms,
          h.ops_per_s, h.p50_ms, h.p99_ms, pd, ph, hd, added_us, hap_added_us,
          p.cpu_us_per_request(), h.cpu_us_per_request(), errors ? "  (errors!)" : "");
      // Where the rest of the CPU goes: a proxy that costs the leader more per request (fewer
      // requests per read, more wake-ups) lowers throughput on a shared machine by itself.
      std::printf(
          "      leader node's CPU per request: direct %.1fus, via br2k-proxy %.1fus, "
          "via HAProxy %.1fus\n",
          d.leader_cpu_us_per_request(), p.leader_cpu_us_per_request(),
          h.leader_cpu_us_per_request());
      std::fflush(stdout);
    }
    return GoalRow{c, pd, ph, added_us, hd};
  };
  const bool reads = std::find(a.ops.begin(), a.ops.end(), "read") != a.ops.end();
  std::vector<GoalRow> goal_rows;
  for (const auto& op : a.ops) {
    for (int c : a.connections) {
      note("measuring " + op + " at " + std::to_string(c) + " connections");
      const GoalRow row = saturated_row(op, c, out["runs"]);
      if (op == "read")
        goal_rows.push_back(row);
    }
  }

  // Server-bound reads: the same three paths with the leader limited to a share of one CPU, so
  // that the service is what runs out of CPU, not the two CPUs that wrk, a proxy and the nodes
  // share above (where a proxy's own work per request is taken from the leader and wrk, and no
  // proxy reaches 0.9 of direct). This is the case a sidecar proxy on its clients' hosts is in.
  std::vector<GoalRow> bound_rows;
  std::string bound_skipped;
  if (a.leader_cpu > 0 && reads) {
    std::optional<br2k::bench::CpuCap> cap;
    try {
      cap.emplace(cluster.node_pid(bench.leader()), a.leader_cpu);
    } catch (const std::exception& e) {
      bound_skipped = e.what();
      note("server-bound reads skipped: " + bound_skipped);
    }
    if (cap) {
      if (!a.json) {
        std::printf(
            "\nserver-bound reads: the leader limited to %d%% of one CPU (cgroup CPU quota, 10 ms "
            "periods), the rest as above\n",
            a.leader_cpu);
        std::fflush(stdout);
      }
      out["server_bound"] = {{"leader_cpu_percent", a.leader_cpu}, {"runs", json::array()}};
      for (int c : a.connections) {
        note("measuring server-bound reads at " + std::to_string(c) + " connections");
        bound_rows.push_back(saturated_row("read", c, out["server_bound"]["runs"]));
      }
    }
  }

  struct PacedRow {
    int connections;
    double added_p50_us;
  };
  std::vector<PacedRow> paced_rows;
  if (a.paced_rate > 0 && reads) {
    if (!a.json) {
      std::printf(
          "\npaced reads: about %d req/s in all (each connection waits the delay before each "
          "request)\n%-5s %5s %5s | %9s %7s %7s | %9s %7s %7s | %9s %7s %7s | %7s %7s\n",
          a.paced_rate, "op", "conns", "delay", "direct/s", "p50 ms", "p99 ms", "proxy/s", "p50 ms",
          "p99 ms", "haprox/s", "p50 ms", "p99 ms", "+p50 us", "hap +us");
      std::fflush(stdout);
    }
    for (int c : a.connections) {
      const int delay_ms = std::max(1, static_cast<int>(std::lround(c * 1000.0 / a.paced_rate)));
      note("measuring paced reads at " + std::to_string(c) + " connections, " +
           std::to_string(delay_ms) + " ms between a connection's requests");
      const auto peers = measure("read", c, delay_ms);
      const Peer &d = peers[kDirect], &p = peers[kProxy], &h = peers[kHaproxy];
      const double added_us = (p.p50_ms - d.p50_ms) * 1000;
      const double hap_added_us = (h.p50_ms - d.p50_ms) * 1000;
      const std::uint64_t errors = count_errors(peers);
      total_errors += errors;
      paced_rows.push_back({c, added_us});
      json run{{"op", "read"},
               {"paced_delay_ms", delay_ms},
               {"connections", c},
               {"proxy_added_p50_us", added_us},
               {"haproxy_added_p50_us", hap_added_us}};
      add_peers(run, peers);
      out["paced_runs"].push_back(run);
      if (!a.json) {
        std::printf(
            "%-5s %5d %3dms | %9.0f %7.3f %7.3f | %9.0f %7.3f %7.3f | %9.0f %7.3f %7.3f | %7.0f "
            "%7.0f%s\n",
            "read", c, delay_ms, d.ops_per_s, d.p50_ms, d.p99_ms, p.ops_per_s, p.p50_ms, p.p99_ms,
            h.ops_per_s, h.p50_ms, h.p99_ms, added_us, hap_added_us, errors ? "  (errors!)" : "");
        std::fflush(stdout);
      }
    }
  }

  const auto logged = log_lines(cluster, proxy_log, haproxy.process().log_file());
  auto& problems = bench.problems();
  bool all_direct = !goal_rows.empty(), all_haproxy = !goal_rows.empty(),
       all_p50 = !goal_rows.empty();
  json goals = json::array();
  for (const auto& g : goal_rows) {
    const bool md = g.direct_ratio >= kGoalDirectRatio;
    const bool mh = g.haproxy_ratio >= kGoalHaproxyRatio;
    const bool mp = g.added_p50_us < kGoalAddedP50Us;
    all_direct = all_direct && md;
    all_haproxy = all_haproxy && mh;
    all_p50 = all_p50 && mp;
    goals.push_back(
        {{"connections", g.connections},
         {"proxy_direct_ratio",
          {{"goal", kGoalDirectRatio}, {"value", g.direct_ratio}, {"met", md}}},
         {"proxy_haproxy_ratio",
          {{"goal", kGoalHaproxyRatio}, {"value", g.haproxy_ratio}, {"met", mh}}},
         {"added_p50_us", {{"goal", kGoalAddedP50Us}, {"value", g.added_p50_us}, {"met", mp}}}});
  }
  out["goals_read"] = goals;
  json bound_goals = json::array();
  for (const auto& g : bound_rows)
    bound_goals.push_back({{"connections", g.connections},
                           {"proxy_direct_ratio",
                            {{"goal", kGoalDirectRatio},
                             {"value", g.direct_ratio},
                             {"met", g.direct_ratio >= kGoalDirectRatio}}},
                           {"haproxy_direct_ratio", g.haproxy_direct_ratio}});
  out["goals_read_server_bound"] = bound_goals;
  if (!bound_skipped.empty())
    out["server_bound_skipped"] = bound_skipped;
  json paced_goals = json::array();
  for (const auto& g : paced_rows)
    paced_goals.push_back({{"connections", g.connections},
                           {"added_p50_us",
                            {{"goal", kGoalAddedP50Us},
                             {"value", g.added_p50_us},
                             {"met", g.added_p50_us < kGoalAddedP50Us}}}});
  out["goals_read_paced"] = paced_goals;
  out["goals_read_met_at_every_concurrency"] = {{"proxy_direct_ratio", all_direct},
                                                {"proxy_haproxy_ratio", all_haproxy},
                                                {"added_p50_us", all_p50}};
  out["checks"] = {{"non2xx_and_socket_errors", total_errors},
                   {"problems", problems},
                   {"log_lines", logged.size()}};
  if (a.json) {
    out["log"] = logged;
    std::cout << out.dump(2) << "\n";
  } else {
    std::printf(
        "columns: prx/dir, prx/hap, hap/dir = throughput ratios; +p50 us, hap +us = p50 added over "
        "direct by the proxy, by HAProxy; cpu = CPU time of the proxy / HAProxy process per "
        "request\n");
    for (const auto& g : goal_rows) {
      std::printf(
          "goals (read, %2d conns): proxy >= %.1f x direct: %.2f %s; proxy >= HAProxy: %.2f %s; "
          "added p50 < %.0f us: %.0f %s\n",
          g.connections, kGoalDirectRatio, g.direct_ratio,
          yes(g.direct_ratio >= kGoalDirectRatio).c_str(), g.haproxy_ratio,
          yes(g.haproxy_ratio >= kGoalHaproxyRatio).c_str(), kGoalAddedP50Us, g.added_p50_us,
          yes(g.added_p50_us < kGoalAddedP50Us).c_str());
    }
    for (const auto& g : bound_rows)
      std::printf(
          "goal (server-bound read, %2d conns): proxy >= %.1f x direct: %.2f %s (HAProxy %.2f)\n",
          g.connections, kGoalDirectRatio, g.direct_ratio,
          yes(g.direct_ratio >= kGoalDirectRatio).c_str(), g.haproxy_direct_ratio);
    if (!bound_skipped.empty())
      std::printf("server-bound reads skipped: %s\n", bound_skipped.c_str());
    for (const auto& g : paced_rows)
      std::printf("goal (paced read, %2d conns): added p50 < %.0f us: %.0f %s\n", g.connections,
                  kGoalAddedP50Us, g.added_p50_us, yes(g.added_p50_us < kGoalAddedP50Us).c_str());
    std::printf("checks: %llu non-2xx replies or socket errors; %zu log lines (warn and above)\n",
                static_cast<unsigned long long>(total_errors), logged.size());
    for (const auto& p : problems)
      std::printf("  problem: %s\n", p.c_str());
    for (std::size_t i = 0; i < logged.size() && i < 10; ++i)
      std::printf("  log: %s\n", logged[i].c_str());
    if (logged.size() > 10)
      std::printf("  log: ... %zu more\n", logged.size() - 10);
  }
  note("stopping haproxy, the proxy and the cluster");
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "proxy_bench: %s\n", e.what());
  return 1;
}
