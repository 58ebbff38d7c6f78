// The fault-injection harness (issue 6): builds a whole BR2K world on this machine (a LocalCluster:
// anvil + registry, etcd members, br2k-server nodes; a br2k-proxy), runs a client workload through
// the proxy (or the SDK) while nemeses inject faults, then checks the outcome and reports it in
// the papers' shape (failed requests out of N, leader changes, synchronization) plus the
// client-visible gap of each fault.
//
// Nemeses (combinable; each targets a random node or the current leader):
//   kill      SIGKILL of a node's application and its etcd member; both restarted after
//             `restart_delay_s`
//   pause     SIGSTOP of a node's application and its etcd member for the fault's duration
//             (longer than the lease), then SIGCONT
//   quorum    two etcd members killed (quorum lost), restarted at the end of the fault
//   chain     the chain RPC endpoint of nodes and proxy goes down (a relay in front of anvil)
//   partition the node's network link goes down: its application and etcd member reach nobody
//             and nobody reaches them (each node lives in its own network namespace)
//   split     the nodes split into a minority holding the target and a majority; the halves
//             cannot reach each other, clients and the chain still reach both
//   lossy     a bad link: 20% of the target's packets lost, 10% duplicated and all delayed
//             30 +- 20 ms, each way
//   slow      a far link: the target's packets delayed 250 +- 50 ms each way (500 ms round trips
//             against etcd's 100 ms heartbeat)
//             (loss and duplication by nftables, delay by NFQUEUE and br2k-netdelay: this
//             kernel has no tc netem)
// The network nemeses run the nodes in a testing::VirtualNetwork (root needed).
//
// Workloads: "numbers" (the papers' service: unique numbers POSTed, so each acknowledged request
// can be traced) and "kv" (reads, writes of unique values and compare-and-set on a few keys,
// recorded as a history for the linearizability checker).
//
// Checks after every run: every acknowledged request applied exactly once and none twice; replicas'
// state hashes equal within 30 s of the last fault; lpi of every live node reaches log_size; log
// indices 1..n without gap or overwrite (each key written once); epochs in the log never decrease;
// a deposed leader committed nothing after its lease ended (no entry of epoch E was written at or
// after the creation of the next epoch's leader key); the kv history linearizable; and no client
// request failed or ended unknown.
//
// Thread-safety: run() is synchronous; call it from one thread.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace br2k::faults {

struct Profile {
  std::string name;
  std::string workload = "numbers";  // "numbers" or "kv"
  bool via_sdk = false;              // clients use the SDK (BlockingServiceClient), not the proxy
  int clients = 2;
  double rate = 2;         // requests per second, all clients together
  double duration_s = 60;  // of the workload
  // The kinds of fault, taken in rounds: each kind once per round, in a random order, so a run of
  // N faults has min(N, kinds) different kinds (drawn independently, three faults of four kinds
  // were all of the two that leave the leader in place one run in eight).
  std::vector<std::string> nemeses = {"pause"};
  bool target_leader = false;                             // else a random node
  double fault_every_min_s = 10, fault_every_max_s = 15;  // from one fault's start to the next
  double fault_duration_s = 5;
  double restart_delay_s = 2;  // kill: how long a killed node stays down
  int nodes = 3;               // and as many etcd members, one per node
  double lease_ttl_s = 2;
  // The planted fault: deduplication off and 30% of committed replies held past the proxy's
  // attempt timeout (so it retries them). The checks must then report the run as failed.
  bool planted_fault = false;
  std::uint32_t seed = 0;  // 0: random
};

// The papers' experiments and CI's scaled profiles, by name.
std::vector<Profile> builtin_profiles();
std::optional<Profile> find_profile(const std::string& name);

struct FaultRecord {
  std::string nemesis;
  std::string target;  // node id(s)
  double start_s = 0, end_s = 0;
  std::optional<double> gap_s;  // from the fault's start to the first success of a later request
};

struct Check {
  std::string name;
  bool ok = false;
  std::string detail;
};

struct Report {
  Profile profile;
  std::size_t requests = 0, succeeded = 0, failed = 0, unknown = 0;
  std::size_t leader_changes = 0;
  bool synchronized = false;  // replicas identical after the run
  std::uint64_t log_size = 0;
  std::vector<FaultRecord> faults;
  std::vector<Check> checks;
  std::string linearizability;  // verdict summary (kv workload)
  bool passed() const;
  // The papers' table row and the faults, as text.
  std::string table() const;
  std::string json() const;
};

struct RunOptions {
  std::filesystem::path server_binary;
  std::filesystem::path proxy_binary;
  std::filesystem::path dir;  // keep data and logs here; empty: a temporary directory
  bool progress = true;       // a line per second on stderr
};

// Runs one profile end to end. Throws std::runtime_error if the world cannot be built.
Report run(const Profile& profile, const RunOptions& options);

}  // namespace br2k::faults
