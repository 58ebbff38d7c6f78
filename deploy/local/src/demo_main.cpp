// br2k-demo: the README's main command. A real replicated service behind br2k-proxy survives
// leader failures while a client load runs through the proxy.
//
// It starts the local cluster (anvil with the registry, three etcd members, three br2k-server
// nodes running the papers' number-list service), a br2k-proxy, and client threads that POST
// unique numbers through the proxy at a steady rate. An attacker kills the current leader
// (SIGKILL) at random intervals; the supervisor restarts dead nodes after a delay. Progress is
// printed every second. At the end it prints each failover's client-visible gap (from the kill
// to the first success of a request sent after it) and a consistency verdict: every replica's
// state is identical and every acknowledged number is in the list exactly once.
// Ctrl-C ends the run early (the summary is still printed); nothing is left running.
#include <algorithm>
#include <atomic>
#include <boost/program_options.hpp>
#include <br2k/local/local_cluster.hpp>
#include <br2k/testing/http.hpp>
#include <br2k/testing/wait.hpp>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <thread>

namespace {

using Clock = std::chrono::steady_clock;
using json = nlohmann::json;
using namespace std::chrono_literals;

volatile std::sig_atomic_t g_stop = 0;
void on_signal(int) {
  g_stop = 1;
}

struct Outcome {
  std::uint64_t value = 0;
  Clock::time_point start, end;
  long status = 0;
  std::string error;
};

struct Failover {
  std::string node;
  std::uint64_t epoch_before = 0, epoch_after = 0;
  Clock::time_point killed;
  std::optional<double> gap_s;
};

double seconds_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

}  // namespace

int main(int argc, char** argv) {
  namespace po = boost::program_options;
  double duration = 60, rate = 20, kill_min = 8, kill_max = 15, restart_delay = 2, block_time = 0;
  int clients = 4;
  std::string dir;
  po::options_description desc(
      "usage: br2k-demo [options]\n\n"
      "Runs a replicated service behind br2k-proxy with a client load while the leader is killed\n"
      "at random intervals, then checks that no acknowledged request was lost or doubled.\n\n"
      "Options");
  desc.add_options()("help,h", "this help")("duration", po::value(&duration)->default_value(60),
                                            "seconds of load")(
      "rate", po::value(&rate)->default_value(20), "requests per second (all clients together)")(
      "clients", po::value(&clients)->default_value(4), "client threads")(
      "kill-min", po::value(&kill_min)->default_value(8), "least seconds between leader kills")(
      "kill-max", po::value(&kill_max)->default_value(15), "most seconds between leader kills")(
      "restart-delay", po::value(&restart_delay)->default_value(2),
      "seconds before the supervisor restarts a dead node")(
      "block-time", po::value(&block_time)->default_value(0),
      "anvil block time in seconds (0: a block per transaction)")(
      "dir", po::value(&dir), "keep data and logs here (default: a temporary directory)");
  po::variables_map vm;
  try {
    po::store(po::parse_command_line(argc, argv, desc), vm);
    po::notify(vm);
  } catch (const std::exception& e) {
    std::cerr << "br2k-demo: " << e.what() << "\n";
    return 2;
  }
  if (vm.count("help")) {
    std::cout << desc << "\n";
    return 0;
  }
  if (duration <= 0 || rate <= 0 || clients < 1 || kill_min <= 0 || kill_max < kill_min) {
    std::cerr << "br2k-demo: durations and rates must be positive, kill-max >= kill-min\n";
    return 2;
  }
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);

  br2k::local::LocalClusterOptions o;
  o.app = "numbers";
  o.service = "demo";
  o.server_binary = BR2K_SERVER_BIN;
  o.log_level = "info";
  if (block_time > 0)
    o.block_time = block_time;
  if (!dir.empty())
    o.dir = dir;
  try {
    std::cout << "br2k-demo: starting anvil + registry, 3 etcd members, 3 nodes..." << std::endl;
    br2k::local::LocalCluster cluster(o);
    br2k::local::LocalProxyOptions po_;
    po_.proxy_binary = BR2K_PROXY_BIN;
    br2k::local::LocalProxy proxy(cluster, po_);
    std::cout << cluster.describe() << "proxy " << proxy.url() << "\n"
              << "load: " << rate << " req/s from " << clients << " clients for " << duration
              << " s; the leader is killed every " << kill_min << "-" << kill_max << " s"
              << std::endl;

    std::mutex mu;
    std::vector<Outcome> outcomes;
    std::atomic<int> in_flight{0}, sent{0}, ok{0}, failed{0};
    std::atomic<bool> load_done{false};
    const auto t0 = Clock::now();
    const auto load_end = t0 + std::chrono::milliseconds(static_cast<long>(duration * 1000));
    std::vector<std::thread> threads;
    const auto period = std::chrono::duration<double>(clients / rate);
    for (int c = 0; c < clients; ++c) {
      threads.emplace_back([&, c] {
        auto next =
            Clock::now() + std::chrono::duration_cast<Clock::duration>(period * c / clients);
        for (std::uint64_t seq = 1; !g_stop && Clock::now() < load_end; ++seq) {
          std::this_thread::sleep_until(next);
          next += std::chrono::duration_cast<Clock::duration>(period);
          Outcome out;
          out.value = static_cast<std::uint64_t>(c + 1) * 1'000'000 + seq;
          br2k::testing::HttpRequest r;
          r.url = proxy.url() + "/numbers";
          r.method = "POST";
          r.body = json{{"value", out.value}}.dump();
          r.headers = {"Content-Type: application/json"};
          r.timeout = 35s;  // the proxy holds a request up to its 30 s deadline
          ++sent;
          ++in_flight;
          out.start = Clock::now();
          auto res = br2k::testing::http_request(r);
          out.end = Clock::now();
          --in_flight;
          out.status = res.status;
          out.error = res.status == 200 ? "" : (res.error.empty() ? res.body : res.error);
          (res.status == 200 ? ok : failed)++;
          std::lock_guard lock(mu);
          outcomes.push_back(std::move(out));
        }
      });
    }

    std::vector<Failover> failovers;
    std::mt19937 rng{std::random_device{}()};
    std::uniform_real_distribution<double> interval(kill_min, kill_max);
    auto next_kill = t0 + std::chrono::milliseconds(static_cast<long>(interval(rng) * 1000));
    auto next_print = t0 + 1s;
    const auto delay = std::chrono::milliseconds(static_cast<long>(restart_delay * 1000));
    std::uint64_t epoch = 0;
    std::string leader_name = "?";
    while (!g_stop && Clock::now() < load_end) {
      std::this_thread::sleep_for(100ms);
      cluster.supervise(delay);
      const auto now = Clock::now();
      if (now >= next_print) {
        next_print += 1s;
        if (auto l = cluster.leader(200ms)) {
          leader_name = cluster.node_id(*l);
          epoch = cluster.epoch_of(*l);
        } else {
          leader_name = "none";
        }
        std::printf(
            "t=%3.0fs sent=%d ok=%d failed=%d in-flight=%d failovers=%zu leader=%s "
            "epoch=%llu\n",
            seconds_between(t0, now), sent.load(), ok.load(), failed.load(), in_flight.load(),
            failovers.size(), leader_name.c_str(), static_cast<unsigned long long>(epoch));
        std::fflush(stdout);
      }
      if (now >= next_kill && now + 3s < load_end) {
        next_kill = now + std::chrono::milliseconds(static_cast<long>(interval(rng) * 1000));
        if (auto l = cluster.leader(500ms)) {
          Failover f;
          f.node = cluster.node_id(*l);
          f.epoch_before = cluster.epoch_of(*l);
          f.killed = Clock::now();
          cluster.kill_node(*l);
          std::printf("attacker: killed leader %s (epoch %llu)\n", f.node.c_str(),
                      static_cast<unsigned long long>(f.epoch_before));
          failovers.push_back(std::move(f));
        }
      }
    }
    load_done = true;
    std::cout << "load finished; waiting for requests in flight..." << std::endl;
    for (auto& t : threads)
      t.join();

    // Bring every node back, then check consistency.
    br2k::testing::wait_until(30s, [&] {
      cluster.supervise(0ms);
      for (int i = 0; i < cluster.size(); ++i)
        if (!cluster.node_running(i))
          return false;
      return true;
    });
    const int leader = cluster.wait_leader(30s);
    std::map<std::uint64_t, int> in_list;
    br2k::testing::HttpRequest get;
    get.url = proxy.url() + "/numbers";
    get.timeout = 30s;
    auto list = br2k::testing::http_request(get);
    if (list.status == 200) {
      const auto body =
          json::parse(list.body);  // named: a range-for over a temporary's member dangles
      for (const auto& v : body["values"])
        ++in_list[v.get<std::uint64_t>()];
    } else {
      std::printf("reading the list through the proxy failed: %ld %s\n", list.status,
                  (list.error.empty() ? list.body : list.error).c_str());
    }
    std::set<std::string> hashes;
    std::size_t applied_max = 0;
    bool replicas_same = br2k::testing::wait_until(
        30s,
        [&] {
          hashes.clear();
          for (int i = 0; i < cluster.size(); ++i) {
            br2k::testing::HttpRequest s;
            s.url = cluster.node_url(i) + "/-/br2k/state";
            auto r = br2k::testing::http_request(s);
            if (r.status != 200)
              return false;
            auto j = json::parse(r.body);
            applied_max = std::max<std::size_t>(applied_max, j["applied"].get<std::size_t>());
            hashes.insert(j["hash"].get<std::string>() + "@" + j["applied"].dump());
          }
          return hashes.size() == 1;
        },
        200ms);

    std::size_t acked = 0, acked_missing = 0, doubled = 0, unacked_applied = 0;
    for (const auto& o : outcomes) {
      auto it = in_list.find(o.value);
      const int n = it == in_list.end() ? 0 : it->second;
      if (o.status == 200) {
        ++acked;
        if (n == 0)
          ++acked_missing;
      } else if (n > 0) {
        ++unacked_applied;
      }
    }
    for (const auto& [v, n] : in_list)
      if (n > 1)
        ++doubled;
    for (auto& f : failovers) {
      std::optional<Clock::time_point> first;
      for (const auto& o : outcomes)
        if (o.status == 200 && o.start >= f.killed && (!first || o.end < *first))
          first = o.end;
      if (first)
        f.gap_s = seconds_between(f.killed, *first);
    }

    std::printf("\n== summary (%s)\n", g_stop ? "stopped early" : "complete");
    std::printf("requests: %zu sent, %zu succeeded, %zu failed\n", outcomes.size(), acked,
                outcomes.size() - acked);
    std::map<std::string, int> errors;
    for (const auto& o : outcomes)
      if (o.status != 200)
        ++errors[std::to_string(o.status) + " " + o.error.substr(0, 80)];
    for (const auto& [e, n] : errors)
      std::printf("  failed: %d x %s\n", n, e.c_str());
    std::printf("failovers: %zu (supervisor restarts: %d)\n", failovers.size(), cluster.restarts());
    std::vector<double> gaps;
    for (std::size_t i = 0; i < failovers.size(); ++i) {
      const auto& f = failovers[i];
      std::printf("  #%zu killed %s at t=%.1fs (epoch %llu): client-visible gap %s\n", i + 1,
                  f.node.c_str(), seconds_between(t0, f.killed),
                  static_cast<unsigned long long>(f.epoch_before),
                  f.gap_s ? (std::to_string(*f.gap_s).substr(0, 5) + " s").c_str() : "n/a");
      if (f.gap_s)
        gaps.push_back(*f.gap_s);
    }
    if (!gaps.empty()) {
      std::sort(gaps.begin(), gaps.end());
      std::printf("  gap p50 %.2f s, max %.2f s\n", gaps[gaps.size() / 2], gaps.back());
    }
    const bool exactly_once = acked_missing == 0 && doubled == 0 && list.status == 200;
    std::printf(
        "consistency: replicas %s (%zu entries applied, leader %s); acknowledged "
        "requests: %zu, missing %zu, applied twice %zu; unacknowledged but applied %zu\n",
        replicas_same ? "identical" : "DIFFER", applied_max, cluster.node_id(leader).c_str(), acked,
        acked_missing, doubled, unacked_applied);
    const bool pass = replicas_same && exactly_once;
    std::printf("verdict: %s\n", pass ? "PASS (every acknowledged request applied exactly once, "
                                        "replicas identical)"
                                      : "FAIL");
    return pass ? 0 : 1;
  } catch (const std::exception& e) {
    std::cerr << "br2k-demo: " << e.what() << "\n";
    return 1;
  }
}
