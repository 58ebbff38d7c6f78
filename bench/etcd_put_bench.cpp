// Put throughput and latency of br2k's etcd client against a three-member cluster, beside wrk (a
// plain HTTP load generator) sending the identical request to the same gateway endpoint in the
// same run. Both run on one thread with C keep-alive connections, C in {1, 16, 64}.
//
// Usage: etcd_put_bench [--seconds S] [--concurrency 1,16,64] [--value-size N] [--rounds R]
//                       [--endpoints URL,URL,...] [--json]
// Each concurrency runs R rounds in alternating order (wrk first, then the client first, ...), so
// drift in the shared machine's load or in etcd's state hits both peers alike; figures are means.
// Without --endpoints it starts its own three-member cluster (br2k::testing::EtcdCluster).
#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <br2k/core/bytes.hpp>
#include <br2k/etcd/client.hpp>
#include <br2k/testing/etcd_cluster.hpp>
#include <br2k/testing/process.hpp>
#include <br2k/testing/temp_dir.hpp>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "args.hpp"
#include "wrk.hpp"

namespace {

using namespace std::chrono_literals;
using br2k::Clock;

struct Figures {
  double ops_per_s = 0;
  double p50_ms = 0;
  double p99_ms = 0;
  std::uint64_t errors = 0;
};

struct Args {
  int seconds = 5;
  std::vector<int> concurrency{1, 16, 64};
  std::size_t value_size = 256;
  int rounds = 2;
  std::vector<std::string> endpoints;
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
      a.seconds = std::stoi(value());
    } else if (arg == "--concurrency") {
      a.concurrency.clear();
      for (const auto& c : split(value()))
        a.concurrency.push_back(std::stoi(c));
    } else if (arg == "--value-size") {
      a.value_size = std::stoul(value());
    } else if (arg == "--rounds") {
      a.rounds = std::max(1, std::stoi(value()));
    } else if (arg == "--endpoints") {
      a.endpoints = split(value());
    } else if (arg == "--json") {
      a.json = true;
    } else if (arg == "--help" || arg == "-h") {
      std::cout << "etcd_put_bench [--seconds S] [--concurrency 1,16,64] [--value-size N] "
                   "[--rounds R] [--endpoints URL,...] [--json]\n";
      std::exit(0);
    } else {
      throw std::invalid_argument("unknown argument " + arg);
    }
  }
  return a;
}

double percentile(std::vector<double>& v, double p) {
  if (v.empty())
    return 0;
  auto k = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1));
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
  return v[k];
}

// C coroutines on one thread, each putting the same key and value in a loop for `seconds`.
Figures run_client(const Args& a, const std::string& endpoint, int concurrency) {
  boost::asio::io_context io;
  br2k::etcd::Client client(io.get_executor(), {.endpoints = {endpoint}});
  const std::string value(a.value_size, 'v');
  std::vector<double> latencies;
  std::uint64_t errors = 0;
  const auto start = Clock::now();
  const auto end = start + std::chrono::seconds(a.seconds);
  for (int w = 0; w < concurrency; ++w) {
    boost::asio::co_spawn(
        io,
        [&]() -> br2k::Task<void> {
          while (Clock::now() < end) {
            br2k::etcd::PutRequest put{.key = "bench/k", .value = value};
            auto t0 = Clock::now();
            auto r = co_await client.put(std::move(put));
            auto t1 = Clock::now();
            if (r) {
              latencies.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
            } else {
              ++errors;
            }
          }
        },
        boost::asio::detached);
  }
  io.run();
  double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  Figures f;
  f.ops_per_s = static_cast<double>(latencies.size()) / elapsed;
  f.p50_ms = percentile(latencies, 0.50);
  f.p99_ms = percentile(latencies, 0.99);
  f.errors = errors;
  return f;
}

// wrk with one thread and C connections, POSTing the same put request.
Figures run_wrk(const Args& a, const std::string& endpoint, int concurrency,
                const std::filesystem::path& dir) {
  nlohmann::json body{{"key", br2k::to_base64("bench/k")},
                      {"value", br2k::to_base64(std::string(a.value_size, 'v'))}};
  br2k::bench::WrkRequest request{.url = endpoint + "/v3/kv/put",
                                  .method = "POST",
                                  .body = body.dump(),
                                  .headers = {{"Content-Type", "application/json"}}};
  auto w =
      br2k::bench::run_wrk(request, {.connections = concurrency, .seconds = a.seconds, .dir = dir});
  return {.ops_per_s = w.ops_per_s,
          .p50_ms = w.p50_ms,
          .p99_ms = w.p99_ms,
          .errors = w.bad_status + w.socket_errors};
}

}  // namespace

int main(int argc, char** argv) try {
  Args a = parse_args(argc, argv);
  std::unique_ptr<br2k::testing::EtcdCluster> cluster;
  if (a.endpoints.empty()) {
    cluster = std::make_unique<br2k::testing::EtcdCluster>();
    a.endpoints = cluster->client_urls();
  }
  br2k::testing::TempDir dir;
  const std::string& endpoint = a.endpoints.front();
  nlohmann::json out{{"benchmark", "etcd_put"},      {"members", a.endpoints.size()},
                     {"seconds_per_run", a.seconds}, {"rounds", a.rounds},
                     {"value_size", a.value_size},   {"runs", nlohmann::json::array()}};
  if (!a.json) {
    std::printf(
        "etcd put: br2k client vs wrk, %zu-member cluster, %d rounds of %d s, %zu-byte values\n",
        a.endpoints.size(), a.rounds, a.seconds, a.value_size);
    std::printf("%5s | %12s %8s %8s | %12s %8s %8s | %6s\n", "conns", "client op/s", "p50 ms",
                "p99 ms", "wrk op/s", "p50 ms", "p99 ms", "ratio");
  }
  for (int c : a.concurrency) {
    // Warm up etcd and the page cache, then alternate the peers so drift hits both.
    (void)run_client({.seconds = 1, .value_size = a.value_size}, endpoint, c);
    Figures w, b;
    auto add = [&](Figures& sum, const Figures& f) {
      sum.ops_per_s += f.ops_per_s / a.rounds;
      sum.p50_ms += f.p50_ms / a.rounds;
      sum.p99_ms += f.p99_ms / a.rounds;
      sum.errors += f.errors;
    };
    for (int round = 0; round < a.rounds; ++round) {
      if (round % 2 == 0) {
        add(w, run_wrk(a, endpoint, c, dir.path()));
        add(b, run_client(a, endpoint, c));
      } else {
        add(b, run_client(a, endpoint, c));
        add(w, run_wrk(a, endpoint, c, dir.path()));
      }
    }
    double ratio = w.ops_per_s > 0 ? b.ops_per_s / w.ops_per_s : 0;
    out["runs"].push_back({{"concurrency", c},
                           {"client",
                            {{"ops_per_s", b.ops_per_s},
                             {"p50_ms", b.p50_ms},
                             {"p99_ms", b.p99_ms},
                             {"errors", b.errors}}},
                           {"wrk",
                            {{"ops_per_s", w.ops_per_s},
                             {"p50_ms", w.p50_ms},
                             {"p99_ms", w.p99_ms},
                             {"errors", w.errors}}},
                           {"throughput_ratio", ratio}});
    if (!a.json) {
      std::printf("%5d | %12.0f %8.2f %8.2f | %12.0f %8.2f %8.2f | %6.2f%s\n", c, b.ops_per_s,
                  b.p50_ms, b.p99_ms, w.ops_per_s, w.p50_ms, w.p99_ms, ratio,
                  b.errors + w.errors ? "  (errors!)" : "");
      std::fflush(stdout);
    }
  }
  if (a.json) {
    std::cout << out.dump(2) << "\n";
  } else {
    std::printf("goal: ratio >= 0.90 at 64 connections\n");
  }
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "etcd_put_bench: %s\n", e.what());
  return 1;
}
