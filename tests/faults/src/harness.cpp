// The fault-injection harness: see harness.hpp.
#include <algorithm>
#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <br2k/chaos/linearizability.hpp>
#include <br2k/client/blocking_client.hpp>
#include <br2k/etcd/client.hpp>
#include <br2k/faults/harness.hpp>
#include <br2k/local/local_cluster.hpp>
#include <br2k/local/run_sync.hpp>
#include <br2k/server/log_entry.hpp>
#include <br2k/testing/http.hpp>
#include <br2k/testing/wait.hpp>
#include <cstdio>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <sstream>
#include <thread>

namespace br2k::faults {

using local::run_sync;
using json = nlohmann::json;
using SteadyClock = std::chrono::steady_clock;
using namespace std::chrono_literals;

namespace {

std::chrono::milliseconds ms(double s) {
  return std::chrono::milliseconds(static_cast<std::int64_t>(s * 1000));
}

double since(SteadyClock::time_point t0, SteadyClock::time_point t) {
  return std::chrono::duration<double>(t - t0).count();
}

// One request's outcome, for the numbers workload and the gap computation.
struct Outcome {
  int client = 0;
  std::uint64_t value = 0;
  SteadyClock::time_point start, end;
  int kind = 0;  // 0 ok, 1 failed (certainly not applied), 2 unknown
  std::string error;
};

// A client's view of one HTTP exchange, through the proxy or the SDK.
struct Reply {
  long status = 0;  // 0: no reply (error)
  std::string body;
  std::string error;
};

class Transport {
 public:
  virtual ~Transport() = default;
  virtual Reply send(const std::string& method, const std::string& target, std::string body) = 0;
};

class ProxyTransport final : public Transport {
 public:
  explicit ProxyTransport(std::string base) : base_(std::move(base)) {}
  Reply send(const std::string& method, const std::string& target, std::string body) override {
    testing::HttpRequest r;
    r.url = base_ + target;
    r.method = method;
    r.body = std::move(body);
    if (!r.body.empty())
      r.headers = {"Content-Type: application/json"};
    r.timeout = 70s;  // beyond the proxy's own request deadline
    auto res = testing::http_request(r);
    return {res.status, std::move(res.body), std::move(res.error)};
  }

 private:
  std::string base_;
};

class SdkTransport final : public Transport {
 public:
  explicit SdkTransport(client::BlockingServiceClient& c) : client_(c) {}
  Reply send(const std::string& method, const std::string& target, std::string body) override {
    namespace http = boost::beast::http;
    net::HttpRequest r{http::string_to_verb(method), target, 11};
    if (!body.empty()) {
      r.set(http::field::content_type, "application/json");
      r.body() = std::move(body);
      r.prepare_payload();
    }
    auto res = client_.request(std::move(r));
    if (!res)
      return {0, {}, res.error().message()};
    return {res->result_int(), res->body(), {}};
  }

 private:
  client::BlockingServiceClient& client_;
};

// 2xx: applied; a 4xx the service or proxy refused (413, 400, 409 for CAS is a result); 503 from
// the proxy at its pending limit: refused; anything else (no reply, 502, 504): unknown.
int classify(const Reply& r) {
  if (r.status >= 200 && r.status < 300)
    return 0;
  if (r.status >= 400 && r.status < 500)
    return 1;
  if (r.status == 503)
    return 1;
  return 2;
}

struct LogRow {
  std::uint64_t index = 0;
  std::int64_t version = 0;
  std::int64_t mod_revision = 0;
  server::LogEntry entry;
  bool decoded = false;
};

// Reads every log entry, lpi/ and log_size of the service from etcd.
struct EtcdView {
  std::vector<LogRow> log;
  std::map<std::string, std::uint64_t> lpi;
  std::uint64_t log_size = 0;
  std::string error;
};

EtcdView read_etcd(local::LocalCluster& c) {
  EtcdView v;
  boost::asio::io_context io(1);
  etcd::Client client(io.get_executor(), {.endpoints = c.etcd().client_urls()});
  server::Keys keys(c.prefix());
  std::uint64_t next = 1;
  for (;;) {
    etcd::RangeRequest req{
        .key = keys.log(next), .range_end = keys.log(next + 5000), .limit = 5000};
    auto r = run_sync(
        io, [&]() -> Task<Result<etcd::RangeResponse>> { co_return co_await client.range(req); }());
    if (!r) {
      v.error = "reading the log: " + r.error().message();
      return v;
    }
    for (const auto& kv : r->kvs) {
      LogRow row;
      row.index = keys.log_index(kv.key).value_or(0);
      row.version = kv.version;
      row.mod_revision = kv.mod_revision;
      auto e = server::decode_log_entry(kv.value);
      row.decoded = e.has_value();
      if (e)
        row.entry = std::move(*e);
      v.log.push_back(std::move(row));
    }
    if (r->kvs.size() < 5000)
      break;
    next += 5000;
  }
  auto lpi = run_sync(io, [&]() -> Task<Result<etcd::RangeResponse>> {
    auto req = etcd::RangeRequest::prefix(keys.lpi_prefix());
    co_return co_await client.range(std::move(req));
  }());
  if (lpi) {
    for (const auto& kv : lpi->kvs)
      v.lpi[kv.key.substr(keys.lpi_prefix().size())] = server::parse_counter(kv.value).value_or(0);
  }
  auto size = run_sync(io, [&]() -> Task<Result<etcd::RangeResponse>> {
    auto req = etcd::RangeRequest::single(keys.log_size());
    co_return co_await client.range(std::move(req));
  }());
  if (size && !size->kvs.empty())
    v.log_size = server::parse_counter(size->kvs.front().value).value_or(0);
  return v;
}

// One fault in progress.
struct ActiveFault {
  std::string nemesis;
  std::vector<int> nodes;    // node (and etcd member) indices
  std::vector<int> members;  // etcd members only (quorum)
  SteadyClock::time_point start, heal_at;
  std::size_t record = 0;
};

}  // namespace

std::vector<Profile> builtin_profiles() {
  std::vector<Profile> p;
  // Seed 000, Table 2: 2 requests/s for 10 minutes; a 20-second network failure of a random node,
  // or of the leader, every 60, 30 or 25 s: the node's link goes down (its application and etcd
  // member reach nobody and nobody reaches them).
  for (double every : {60.0, 30.0, 25.0}) {
    for (bool leader : {false, true}) {
      Profile f;
      f.name = "paper000-" + std::string(leader ? "leader" : "random") + "-" +
               std::to_string(static_cast<int>(every));
      f.workload = "numbers";
      f.clients = 1;
      f.rate = 2;
      f.duration_s = 600;
      f.nemeses = {"partition"};
      f.target_leader = leader;
      f.fault_every_min_s = f.fault_every_max_s = every;
      f.fault_duration_s = 20;
      p.push_back(f);
    }
  }
  // Seed 001, Tables 3 and 4: five users send 10,000 requests each at 2/s while the leader's node
  // is paused for 15 s at random intervals of 30 to 120 s.
  {
    Profile f;
    f.name = "paper001";
    f.workload = "numbers";
    f.clients = 5;
    f.rate = 10;
    f.duration_s = 5000;
    f.nemeses = {"pause"};
    f.target_leader = true;
    f.fault_every_min_s = 30;
    f.fault_every_max_s = 120;
    f.fault_duration_s = 15;
    p.push_back(f);
  }
  // The scaled profiles CI runs (the same shapes, minutes not hours).
  {
    Profile f;
    f.name = "ci-paper000";
    f.workload = "numbers";
    f.clients = 2;
    f.rate = 10;
    f.duration_s = 40;
    f.nemeses = {"partition"};
    f.target_leader = false;
    f.fault_every_min_s = f.fault_every_max_s = 10;
    f.fault_duration_s = 5;
    p.push_back(f);
    f.name = "ci-paper001";
    f.nemeses = {"pause"};
    f.clients = 5;
    f.target_leader = true;
    f.fault_every_min_s = 8;
    f.fault_every_max_s = 12;
    p.push_back(f);
  }
  {
    Profile f;
    f.name = "ci-kv";
    f.workload = "kv";
    f.clients = 4;
    f.rate = 20;
    f.duration_s = 40;
    f.nemeses = {"kill", "pause", "quorum", "chain"};
    f.target_leader = true;
    f.fault_every_min_s = 7;
    f.fault_every_max_s = 10;
    f.fault_duration_s = 4;
    p.push_back(f);
    f.name = "ci-kv-sdk";
    f.via_sdk = true;
    f.nemeses = {"kill", "pause"};
    f.duration_s = 30;
    p.push_back(f);
  }
  {
    // The network nemeses on the leader: its link cut, the cluster split with the leader in the
    // minority (clients still reach both halves), its packets lost and duplicated.
    Profile f;
    f.name = "ci-net";
    f.workload = "kv";
    f.clients = 4;
    f.rate = 20;
    f.duration_s = 35;
    f.nemeses = {"partition", "split", "lossy", "slow"};
    f.target_leader = true;
    f.fault_every_min_s = 7;
    f.fault_every_max_s = 9;
    f.fault_duration_s = 4;
    p.push_back(f);
    // Five nodes (five etcd members): faults on the leader and on random nodes alike.
    f.name = "ci-five";
    f.nodes = 5;
    f.duration_s = 35;
    f.nemeses = {"kill", "pause", "partition", "split"};
    f.target_leader = false;
    p.push_back(f);
  }
  {
    Profile f;
    f.name = "ci-planted";
    f.workload = "numbers";
    f.clients = 2;
    f.rate = 10;
    f.duration_s = 15;
    f.nemeses = {};
    f.planted_fault = true;
    p.push_back(f);
  }
  return p;
}

std::optional<Profile> find_profile(const std::string& name) {
  for (auto& p : builtin_profiles())
    if (p.name == name)
      return p;
  return std::nullopt;
}

bool Report::passed() const {
  return std::all_of(checks.begin(), checks.end(), [](const Check& c) { return c.ok; });
}

std::string Report::table() const {
  std::ostringstream s;
  char line[512];
  std::vector<double> gaps;
  for (const auto& f : faults)
    if (f.gap_s)
      gaps.push_back(*f.gap_s);
  std::sort(gaps.begin(), gaps.end());
  auto pct = [&](double q) {
    return gaps.empty()
               ? 0.0
               : gaps[std::min(gaps.size() - 1, static_cast<std::size_t>(q * gaps.size()))];
  };
  std::snprintf(line, sizeof line, "%-22s | %8s | %14s | %7s | %14s | %15s | %6s | %17s\n",
                "profile", "requests", "failed (of N)", "unknown", "leader changes",
                "synchronization", "faults", "gap p50/max (s)");
  s << line;
  std::snprintf(line, sizeof line,
                "%-22s | %8zu | %14zu | %7zu | %14zu | %15s | %6zu | %8.2f/%-8.2f\n",
                profile.name.c_str(), requests, failed, unknown, leader_changes,
                synchronized ? "identical" : "DIFFER", faults.size(), pct(0.5),
                gaps.empty() ? 0.0 : gaps.back());
  s << line;
  for (std::size_t i = 0; i < faults.size(); ++i) {
    const auto& f = faults[i];
    std::snprintf(line, sizeof line, "  fault %2zu  %-7s %-8s t=%6.1f..%6.1f s  gap %s\n", i + 1,
                  f.nemesis.c_str(), f.target.c_str(), f.start_s, f.end_s,
                  f.gap_s ? (std::to_string(*f.gap_s).substr(0, 5) + " s").c_str() : "n/a");
    s << line;
  }
  for (const auto& c : checks)
    s << "  check " << (c.ok ? "ok   " : "FAIL ") << c.name << (c.detail.empty() ? "" : ": ")
      << c.detail << "\n";
  s << "  verdict: " << (passed() ? "PASS" : "FAIL") << "\n";
  return s.str();
}

std::string Report::json() const {
  nlohmann::json j;
  j["profile"] = profile.name;
  j["workload"] = profile.workload;
  j["via"] = profile.via_sdk ? "sdk" : "proxy";
  j["requests"] = requests;
  j["succeeded"] = succeeded;
  j["failed"] = failed;
  j["unknown"] = unknown;
  j["leader_changes"] = leader_changes;
  j["synchronized"] = synchronized;
  j["log_size"] = log_size;
  j["linearizability"] = linearizability;
  j["passed"] = passed();
  for (const auto& f : faults) {
    nlohmann::json x{
        {"nemesis", f.nemesis}, {"target", f.target}, {"start_s", f.start_s}, {"end_s", f.end_s}};
    x["gap_s"] = f.gap_s ? nlohmann::json(*f.gap_s) : nlohmann::json();
    j["faults"].push_back(x);
  }
  for (const auto& c : checks)
    j["checks"].push_back({{"name", c.name}, {"ok", c.ok}, {"detail", c.detail}});
  return j.dump();
}

Report run(const Profile& profile, const RunOptions& options) {
  Report report;
  report.profile = profile;
  std::mt19937 rng(profile.seed ? profile.seed : std::random_device{}());
  std::vector<std::string> round;  // the kinds of fault left in this round (see Profile::nemeses)
  auto next_nemesis = [&] {
    if (round.empty()) {
      round = profile.nemeses;
      std::shuffle(round.begin(), round.end(), rng);
    }
    auto n = std::move(round.back());
    round.pop_back();
    return n;
  };
  auto uses = [&](const char* nemesis) {
    return std::find(profile.nemeses.begin(), profile.nemeses.end(), nemesis) !=
           profile.nemeses.end();
  };
  const bool chain_fault = uses("chain");
  const bool network_faults = uses("partition") || uses("split") || uses("lossy") || uses("slow");
  if (network_faults) {
    if (auto why = testing::VirtualNetwork::unsupported_reason(); !why.empty())
      throw std::runtime_error("the network nemeses need network namespaces: " + why);
  }

  local::LocalClusterOptions co;
  co.nodes = profile.nodes;
  co.etcd.members = profile.nodes;
  co.app = profile.workload == "kv" ? "kv" : "numbers";
  co.server_binary = options.server_binary;
  co.lease_ttl = static_cast<std::int64_t>(profile.lease_ttl_s);
  co.chain_relay = chain_fault;
  co.netns = network_faults;
  co.dir = options.dir;
  if (profile.planted_fault)
    co.node_args = {"--no-dedup", "--test-drop-replies", "30"};
  local::LocalCluster cluster(co);

  std::unique_ptr<local::LocalProxy> proxy;
  std::unique_ptr<client::BlockingServiceClient> sdk;
  std::unique_ptr<Transport> transport;
  if (profile.via_sdk) {
    client::ServiceClientOptions so;
    so.service = registry::parse_service_id(co.service).value();
    so.registry = eth::parse_address(cluster.registry()).value();
    so.rpc.http_endpoints = {cluster.chain_http_url()};
    so.rpc.ws_endpoints = {cluster.chain_ws_url()};
    so.request_timeout = 60s;
    so.attempt_timeout = profile.planted_fault ? 1s : 3s;
    sdk = std::make_unique<client::BlockingServiceClient>(so);
    transport = std::make_unique<SdkTransport>(*sdk);
  } else {
    local::LocalProxyOptions po;
    po.proxy_binary = options.proxy_binary;
    // Logs kept (--dir) are for finding out why: every retry's reason is a debug line.
    po.log_level = options.dir.empty() ? "warn" : "debug";
    po.extra_args = {"--request-timeout", "60", "--attempt-timeout",
                     profile.planted_fault ? "1" : "3"};
    proxy = std::make_unique<local::LocalProxy>(cluster, po);
    transport = std::make_unique<ProxyTransport>(proxy->url());
  }

  // ---- workload
  std::mutex mu;
  std::vector<Outcome> outcomes;
  chaos::Recorder recorder;
  std::atomic<bool> stop{false};
  std::atomic<int> sent{0}, ok{0}, bad{0};
  const auto t0 = SteadyClock::now();
  const auto end = t0 + ms(profile.duration_s);
  const std::vector<std::string> kv_keys = {"a", "b", "c"};
  std::vector<std::thread> clients;
  const auto period = std::chrono::duration<double>(profile.clients / profile.rate);
  for (int c = 0; c < profile.clients; ++c) {
    // Seeded here: `rng` belongs to this thread (the nemeses use it while the clients run).
    const std::uint32_t client_seed = rng() + static_cast<std::uint32_t>(c);
    clients.emplace_back([&, c, client_seed] {
      std::mt19937 crng(client_seed);
      std::map<std::string, std::optional<std::string>> last_seen;
      auto next = SteadyClock::now() +
                  std::chrono::duration_cast<SteadyClock::duration>(period * c / profile.clients);
      for (std::uint64_t seq = 1; !stop && SteadyClock::now() < end; ++seq) {
        std::this_thread::sleep_until(next);
        next += std::chrono::duration_cast<SteadyClock::duration>(period);
        Outcome out;
        out.client = c;
        out.start = SteadyClock::now();
        ++sent;
        if (profile.workload == "numbers") {
          out.value = static_cast<std::uint64_t>(c + 1) * 1'000'000'000 + seq;
          auto r = transport->send("POST", "/numbers", json{{"value", out.value}}.dump());
          out.kind = classify(r);
          out.error = out.kind == 0 ? ""
                                    : std::to_string(r.status) + " " +
                                          (r.error.empty() ? r.body : r.error).substr(0, 100);
        } else {
          const auto& key = kv_keys[crng() % kv_keys.size()];
          const auto dice = crng() % 10;
          const std::string unique = "c" + std::to_string(c) + "-" + std::to_string(seq);
          chaos::Op op;
          op.key = key;
          std::string method, target = "/kv/" + key, body;
          if (dice < 4) {
            op.kind = chaos::OpKind::kRead;
            method = "GET";
          } else if (dice < 8) {
            op.kind = chaos::OpKind::kWrite;
            op.value = unique;
            method = "PUT";
            body = unique;
          } else {
            op.kind = chaos::OpKind::kCas;
            op.expect = last_seen[key];
            op.value = unique;
            method = "POST";
            target += "/cas";
            body =
                json{{"expect", op.expect ? json(*op.expect) : json()}, {"value", unique}}.dump();
          }
          auto id = recorder.invoke(c, op);
          auto r = transport->send(method, target, body);
          chaos::OpResult res;
          if (op.kind == chaos::OpKind::kRead && (r.status == 200 || r.status == 404)) {
            if (r.status == 200)
              res.value = json::parse(r.body, nullptr, false).value("value", std::string());
            last_seen[key] = res.value;
            recorder.ok(id, res);
            out.kind = 0;
          } else if (op.kind == chaos::OpKind::kCas && (r.status == 200 || r.status == 409)) {
            res.ok = r.status == 200;
            if (!res.ok) {
              auto j = json::parse(r.body, nullptr, false);
              if (j.is_object() && j.contains("value")) {
                res.value_known = true;
                if (j["value"].is_string())
                  res.value = j["value"].get<std::string>();
              }
              last_seen[key] = res.value;
            } else {
              last_seen[key] = unique;
            }
            recorder.ok(id, res);
            out.kind = 0;
          } else if (op.kind == chaos::OpKind::kWrite && r.status == 200) {
            last_seen[key] = unique;
            recorder.ok(id, res);
            out.kind = 0;
          } else {
            out.kind = classify(r) == 1 ? 1 : 2;
            out.error = std::to_string(r.status) + " " +
                        (r.error.empty() ? r.body : r.error).substr(0, 100);
            if (out.kind == 1)
              recorder.failed(id);
            else
              recorder.unknown(id);
          }
        }
        out.end = SteadyClock::now();
        (out.kind == 0 ? ok : bad)++;
        std::lock_guard lock(mu);
        outcomes.push_back(std::move(out));
      }
    });
  }

  // ---- nemeses
  std::vector<ActiveFault> active;
  std::set<std::uint64_t> epochs_seen;
  std::uint64_t last_epoch = 0;
  auto next_fault = t0 + ms(std::uniform_real_distribution<double>(profile.fault_every_min_s,
                                                                   profile.fault_every_max_s)(rng));
  auto next_poll = t0;
  auto next_print = t0 + 1s;
  auto pick_node = [&]() -> int {
    if (profile.target_leader) {
      if (auto l = cluster.leader(300ms))
        return *l;
    }
    return static_cast<int>(rng() % cluster.size());
  };
  auto heal = [&](ActiveFault& f) {
    if (f.nemesis == "kill") {
      for (int i : f.nodes) {
        cluster.etcd().restart(i);
        cluster.start_node(i);
      }
    } else if (f.nemesis == "pause") {
      for (int i : f.nodes) {
        cluster.etcd().resume(i);
        cluster.resume_node(i);
      }
    } else if (f.nemesis == "quorum") {
      for (int m : f.members)
        cluster.etcd().restart(m);
    } else if (f.nemesis == "chain") {
      cluster.chain_relay()->start();
    } else if (f.nemesis == "partition") {
      for (int i : f.nodes)
        cluster.network()->reconnect(i);
    } else if (f.nemesis == "split") {
      cluster.network()->unsplit();
    } else if (f.nemesis == "lossy" || f.nemesis == "slow") {
      for (int i : f.nodes)
        cluster.network()->unimpair(i);
    }
    report.faults[f.record].end_s = since(t0, SteadyClock::now());
  };
  while (SteadyClock::now() < end) {
    std::this_thread::sleep_for(50ms);
    const auto now = SteadyClock::now();
    for (auto it = active.begin(); it != active.end();) {
      if (now >= it->heal_at) {
        heal(*it);
        it = active.erase(it);
      } else {
        ++it;
      }
    }
    if (now >= next_poll) {
      next_poll = now + 500ms;
      if (auto l = cluster.leader(300ms)) {
        auto e = cluster.epoch_of(*l);
        if (e && e != last_epoch) {
          epochs_seen.insert(e);
          last_epoch = e;
        }
      }
    }
    if (options.progress && now >= next_print) {
      next_print += 1s;
      std::fprintf(stderr, "[%s] t=%4.0fs sent=%d ok=%d failed/unknown=%d faults=%zu epoch=%llu\n",
                   profile.name.c_str(), since(t0, now), sent.load(), ok.load(), bad.load(),
                   report.faults.size(), static_cast<unsigned long long>(last_epoch));
    }
    if (!profile.nemeses.empty() && active.empty() && now >= next_fault && now + 8s < end) {
      next_fault = now + ms(std::uniform_real_distribution<double>(profile.fault_every_min_s,
                                                                   profile.fault_every_max_s)(rng));
      ActiveFault f;
      f.nemesis = next_nemesis();
      f.start = now;
      FaultRecord rec;
      rec.nemesis = f.nemesis;
      rec.start_s = since(t0, now);
      if (f.nemesis == "kill" || f.nemesis == "pause") {
        int i = pick_node();
        f.nodes = {i};
        rec.target = cluster.node_id(i);
        if (f.nemesis == "kill") {
          cluster.kill_node(i);
          cluster.etcd().kill(i);
          f.heal_at = now + ms(profile.restart_delay_s);
        } else {
          cluster.pause_node(i);
          cluster.etcd().pause(i);
          f.heal_at = now + ms(profile.fault_duration_s);
        }
      } else if (f.nemesis == "quorum") {
        // Every member but one: no quorum (members of the nodes other than the leader's).
        const int keep = cluster.leader(300ms).value_or(0);
        for (int m = 0; m < cluster.size(); ++m)
          if (m != keep) {
            cluster.etcd().kill(m);
            f.members.push_back(m);
          }
        rec.target = "etcd-quorum";
        f.heal_at = now + ms(profile.fault_duration_s);
      } else if (f.nemesis == "chain") {
        cluster.chain_relay()->stop();
        rec.target = "chain-rpc";
        f.heal_at = now + ms(profile.fault_duration_s);
      } else if (f.nemesis == "partition" || f.nemesis == "lossy" || f.nemesis == "slow") {
        int i = pick_node();
        f.nodes = {i};
        rec.target = cluster.node_id(i);
        if (f.nemesis == "partition")
          cluster.network()->isolate(i);
        else if (f.nemesis == "lossy")
          cluster.network()->impair(
              i, {.loss_percent = 20, .duplicate_percent = 10, .delay_ms = 30, .jitter_ms = 20});
        else
          cluster.network()->impair(i, {.delay_ms = 250, .jitter_ms = 50});
        f.heal_at = now + ms(profile.fault_duration_s);
      } else if (f.nemesis == "split") {
        // The minority: the target and random others, (n-1)/2 nodes in all.
        const int target = pick_node();
        std::vector<int> others;
        for (int i = 0; i < cluster.size(); ++i)
          if (i != target)
            others.push_back(i);
        std::shuffle(others.begin(), others.end(), rng);
        f.nodes = {target};
        for (int k = 1; k < std::max(1, (cluster.size() - 1) / 2); ++k)
          f.nodes.push_back(others[k - 1]);
        for (int i : f.nodes)
          rec.target += (rec.target.empty() ? "" : "+") + cluster.node_id(i);
        rec.target += "|rest";
        cluster.network()->split(f.nodes);
        f.heal_at = now + ms(profile.fault_duration_s);
      }
      f.record = report.faults.size();
      report.faults.push_back(rec);
      active.push_back(std::move(f));
    }
  }
  for (auto& f : active)
    heal(f);
  active.clear();
  const auto last_fault_end = SteadyClock::now();
  stop = true;
  for (auto& t : clients)
    t.join();

  // ---- checks
  auto add = [&](std::string name, bool ok, std::string detail = {}) {
    report.checks.push_back({std::move(name), ok, std::move(detail)});
  };
  for (int i = 0; i < cluster.size(); ++i) {
    if (!cluster.node_running(i))
      cluster.start_node(i);
  }
  int leader = -1;
  try {
    leader = cluster.wait_leader(30s);
  } catch (const std::exception& e) {
    add("a leader after the run", false, e.what());
  }
  for (const auto& o : outcomes) {
    ++report.requests;
    if (o.kind == 0)
      ++report.succeeded;
    else if (o.kind == 1)
      ++report.failed;
    else
      ++report.unknown;
  }
  report.leader_changes = epochs_seen.empty() ? 0 : epochs_seen.size() - 1;
  {
    std::map<std::string, int> errors;
    for (const auto& o : outcomes)
      if (o.kind != 0)
        ++errors[o.error];
    std::string detail =
        std::to_string(report.failed + report.unknown) + " of " + std::to_string(report.requests);
    for (const auto& [e, n] : errors)
      detail += "; " + std::to_string(n) + " x " + e;
    add("no client request failed or ended unknown", report.failed + report.unknown == 0, detail);
  }
  for (auto& f : report.faults) {
    const auto start = t0 + ms(f.start_s);
    std::optional<SteadyClock::time_point> first;
    for (const auto& o : outcomes)
      if (o.kind == 0 && o.start >= start && (!first || o.end < *first))
        first = o.end;
    if (first)
      f.gap_s = since(start, *first);
  }

  // Replicas identical within 30 s of the last fault.
  std::string states;
  report.synchronized = testing::wait_until(
      std::chrono::duration_cast<std::chrono::milliseconds>(
          std::max<SteadyClock::duration>(1s, last_fault_end + 30s - SteadyClock::now())),
      [&] {
        std::set<std::string> seen;
        states.clear();
        for (int i = 0; i < cluster.size(); ++i) {
          testing::HttpRequest r;
          r.url = cluster.node_url(i) + "/-/br2k/state";
          r.timeout = 1s;
          auto res = testing::http_request(r);
          if (res.status != 200)
            return false;
          auto j = json::parse(res.body, nullptr, false);
          if (!j.is_object())
            return false;
          seen.insert(j["hash"].get<std::string>() + "@" + j["applied"].dump());
          states += cluster.node_id(i) + "=" + j["applied"].dump() + " ";
        }
        return seen.size() == 1;
      },
      200ms);
  add("replicas identical within 30 s of the last fault", report.synchronized, states);

  EtcdView view;
  bool lpi_ok = testing::wait_until(
      10s,
      [&] {
        view = read_etcd(cluster);
        if (!view.error.empty())
          return false;
        for (int i = 0; i < cluster.size(); ++i) {
          auto it = view.lpi.find(cluster.node_id(i));
          if (it == view.lpi.end() || it->second != view.log_size)
            return false;
        }
        return true;
      },
      300ms);
  report.log_size = view.log_size;
  {
    std::string detail = "log_size " + std::to_string(view.log_size) + ";";
    for (const auto& [n, v] : view.lpi)
      detail += " " + n + "=" + std::to_string(v);
    add("lpi of every node reaches log_size", lpi_ok, detail + view.error);
  }
  {
    bool contiguous = view.log.size() == view.log_size;
    bool once = true, decoded = true, epochs_grow = true;
    std::string detail;
    std::uint64_t prev_epoch = 0;
    std::set<std::uint64_t> log_epochs;
    for (std::size_t i = 0; i < view.log.size(); ++i) {
      const auto& row = view.log[i];
      if (row.index != i + 1 && contiguous) {
        contiguous = false;
        detail += "gap at " + std::to_string(i + 1) + "; ";
      }
      if (row.version != 1 && once) {
        once = false;
        detail += "log/" + std::to_string(row.index) + " written " + std::to_string(row.version) +
                  " times; ";
      }
      decoded = decoded && row.decoded;
      if (row.entry.epoch < prev_epoch && epochs_grow) {
        epochs_grow = false;
        detail += "epoch falls at " + std::to_string(row.index) + "; ";
      }
      prev_epoch = std::max(prev_epoch, row.entry.epoch);
      log_epochs.insert(row.entry.epoch);
    }
    add("log indices 1..n without gap or overwrite", contiguous && once && decoded,
        std::to_string(view.log.size()) + " entries; " + detail);
    add("epochs in the log never decrease", epochs_grow, detail);
    // No entry of epoch E committed at or after the next leader's key was created (its epoch).
    std::set<std::uint64_t> all_epochs = log_epochs;
    all_epochs.insert(epochs_seen.begin(), epochs_seen.end());
    std::size_t late = 0;
    std::string first_late;
    for (const auto& row : view.log) {
      auto next = all_epochs.upper_bound(row.entry.epoch);
      if (next != all_epochs.end() && row.mod_revision >= static_cast<std::int64_t>(*next)) {
        if (!late++)
          first_late = "log/" + std::to_string(row.index) + " of epoch " +
                       std::to_string(row.entry.epoch) + " at revision " +
                       std::to_string(row.mod_revision) + " >= epoch " + std::to_string(*next);
      }
    }
    add("a deposed leader committed nothing after its lease ended", late == 0,
        std::to_string(all_epochs.size()) + " epochs; " +
            (late ? std::to_string(late) + " late entries, first " + first_late : ""));
  }

  if (profile.workload == "numbers") {
    std::map<std::uint64_t, int> applied;
    // What the replicas hold (applied state), read from the leader.
    std::string list_error;
    if (leader >= 0) {
      testing::HttpRequest r;
      r.url = cluster.node_url(leader) + "/numbers";
      r.timeout = 10s;
      auto res = testing::http_request(r);
      if (res.status == 200) {
        const auto body = json::parse(res.body, nullptr, false);
        if (body.is_object())
          for (const auto& v : body["values"])
            ++applied[v.get<std::uint64_t>()];
      } else {
        list_error = "reading the list: " + std::to_string(res.status);
      }
    }
    std::size_t missing = 0, doubled = 0;
    for (const auto& o : outcomes)
      if (o.kind == 0 && applied[o.value] == 0)
        ++missing;
    for (const auto& [v, n] : applied)
      doubled += n > 1;
    add("every acknowledged request applied exactly once, none twice",
        missing == 0 && doubled == 0 && list_error.empty(),
        std::to_string(missing) + " acknowledged missing, " + std::to_string(doubled) +
            " values applied more than once" + list_error);
  } else {
    auto history = recorder.history();
    auto result = chaos::check(history);
    report.linearizability = std::string(chaos::to_string(result.verdict));
    add("kv history linearizable (" + std::to_string(history.size()) + " operations)", result.ok(),
        result.ok() ? "" : result.summary());
  }
  return report;
}

}  // namespace br2k::faults
