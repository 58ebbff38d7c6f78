// LocalCluster: a whole BR2K deployment on one machine's loopback, for the launcher
// (br2k-cluster), the tests, the benchmarks and the demo.
//
// It starts, in order: anvil (a real EVM node) with a freshly deployed ServiceRegistry and the
// service registered (the dev account is the provider; each node gets its own funded account,
// added as a manager, so nodes never share a nonce); a real etcd cluster (three members by
// default); and the nodes, each a br2k-server process with its own log file. Nodes can be killed
// (SIGKILL), paused (SIGSTOP), resumed and restarted on the same port; supervise() restarts
// dead nodes after a delay, as Kubernetes restarts a pod.
//
// Everything it starts is a child registered with the test guardian: nothing outlives the
// owning process, even when it is killed. The destructor stops every node, etcd and anvil and
// removes the data directory.
//
// Thread-safety: one LocalCluster must be used from one thread.
#pragma once

#include <sys/types.h>

#include <br2k/testing/anvil.hpp>
#include <br2k/testing/etcd_cluster.hpp>
#include <br2k/testing/process.hpp>
#include <br2k/testing/tcp_relay.hpp>
#include <br2k/testing/temp_dir.hpp>
#include <br2k/testing/tls_certs.hpp>
#include <br2k/testing/virtual_network.hpp>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace br2k::local {

struct LocalClusterOptions {
  int nodes = 3;
  std::string app = "kv";        // br2k-server --app
  std::string service = "demo";  // registry id (text) and etcd prefix /br2k/<service>/
  // With the chain: anvil, the registry, and publishing by the leaders. Without: etcd only.
  bool chain = true;
  std::optional<double> block_time;  // anvil --block-time; unset: a block per transaction
  // Leaders publish their location on the registry (false: the registry keeps the location it
  // was registered with; for tests of the client's own resolution).
  bool publish = true;
  // Nodes (and LocalProxy) reach anvil through a TCP relay, so the chain endpoint can be taken
  // down and up (chain_relay()->stop()/start()) while the chain itself lives on.
  bool chain_relay = false;
  testing::EtcdClusterOptions etcd;
  std::int64_t lease_ttl = 2;
  std::filesystem::path server_binary;  // br2k-server; required
  std::vector<std::string> node_args;   // appended to every node's command line
  std::string log_level = "info";
  // Where the data and logs go; empty: a fresh temporary directory, removed at the end.
  std::filesystem::path dir;
  std::chrono::milliseconds start_timeout{30000};
  // Each node (its br2k-server and its etcd member) runs on its own host of a VirtualNetwork
  // (its own network namespace, address 10.x.y.(10+i)); anvil, the chain relay, proxies and
  // clients stay in the calling process's namespace, on the network's gateway address. Lets
  // tests cut, split and impair real links (network()). Needs root; see VirtualNetwork.
  bool netns = false;
  // The nodes serve HTTPS with certificates of a throw-away CA (ca_file(); certificates for
  // 127.0.0.1, so not with netns); node_url() is https, and LocalProxy trusts that CA.
  bool tls = false;
};

class LocalCluster {
 public:
  // Starts everything and waits until a leader serves. Errors: throws std::runtime_error with
  // the relevant log tail when a part does not start.
  explicit LocalCluster(LocalClusterOptions options);
  ~LocalCluster();
  LocalCluster(const LocalCluster&) = delete;
  LocalCluster& operator=(const LocalCluster&) = delete;

  const LocalClusterOptions& options() const { return options_; }
  int size() const { return static_cast<int>(nodes_.size()); }
  testing::EtcdCluster& etcd() { return *etcd_; }
  testing::Anvil* anvil() { return anvil_.get(); }
  // The chain endpoints nodes and proxies use (the relay's when there is one).
  std::string chain_http_url() const;
  std::string chain_ws_url() const;
  testing::TcpRelay* chain_relay() { return relay_.get(); }
  // The network the nodes live on (options.netns), else null. Node i is host i.
  testing::VirtualNetwork* network() { return network_.get(); }
  // The registry's address (0x...), empty without the chain.
  const std::string& registry() const { return registry_; }
  // The etcd key prefix of the service.
  std::string prefix() const { return "/br2k/" + options_.service + "/"; }
  const std::filesystem::path& dir() const { return dir_; }
  // The CA of the nodes' certificates (options.tls); empty without TLS.
  const std::filesystem::path& ca_file() const { return certs_.ca_file; }

  std::string node_url(int i) const;
  std::uint16_t node_port(int i) const { return nodes_.at(i).port; }
  std::string node_id(int i) const { return "n" + std::to_string(i + 1); }
  std::filesystem::path node_log(int i) const;
  pid_t node_pid(int i) const;
  bool node_running(int i);

  void kill_node(int i);    // SIGKILL
  void pause_node(int i);   // SIGSTOP
  void resume_node(int i);  // SIGCONT
  void stop_node(int i);    // SIGTERM (graceful: resigns), SIGKILL after 10 s
  // Starts node i again on its port (no-op if it runs).
  void start_node(int i);
  // Restarts nodes that have been dead for at least `delay`; returns how many it restarted.
  int supervise(std::chrono::milliseconds delay);
  // Restarts so far by supervise().
  int restarts() const { return restarts_; }

  // The node's /-/br2k/status as JSON text; empty when it does not answer in `timeout`.
  std::string status(int i, std::chrono::milliseconds timeout = std::chrono::milliseconds(500));
  // The index of the node serving as leader (the highest epoch if several claim it), if any.
  std::optional<int> leader(std::chrono::milliseconds timeout = std::chrono::milliseconds(500));
  // Waits until a node serves as leader (other than `not_this`, if set).
  // Errors: throws std::runtime_error on timeout.
  int wait_leader(std::chrono::milliseconds timeout, std::optional<int> not_this = std::nullopt);
  // The leader's epoch as its status says; 0 if none.
  std::uint64_t epoch_of(int i);

  // The service's location and epoch on chain ("" and 0 without the chain or on error).
  std::pair<std::string, std::uint64_t> registry_location();

  // A one-line summary of where everything listens.
  std::string describe() const;

 private:
  struct Node {
    std::string host = "127.0.0.1";
    std::uint16_t port = 0;
    std::string key;  // the node's manager key (hex)
    std::unique_ptr<testing::Process> process;
    std::optional<std::chrono::steady_clock::time_point> down_since;
  };
  void setup_chain();
  void spawn(int i);

  LocalClusterOptions options_;
  std::unique_ptr<testing::TempDir> temp_;
  std::filesystem::path dir_;
  testing::TestCertificates certs_;                   // options.tls
  std::unique_ptr<testing::VirtualNetwork> network_;  // before (destroyed after) what runs on it
  std::unique_ptr<testing::Anvil> anvil_;
  std::unique_ptr<testing::TcpRelay> relay_;
  std::string registry_;
  std::unique_ptr<testing::EtcdCluster> etcd_;
  std::vector<Node> nodes_;
  int restarts_ = 0;
};

struct LocalProxyOptions {
  std::filesystem::path proxy_binary;  // br2k-proxy; required
  // Chain endpoints; empty: the cluster's anvil over HTTP and WebSocket.
  std::vector<std::string> rpc;
  std::vector<std::string> extra_args;                   // appended to the command line
  std::vector<std::pair<std::string, std::string>> env;  // added to its environment
  std::string log_level = "info";
};

// A br2k-proxy process in front of a LocalCluster's service (the cluster needs the chain).
class LocalProxy {
 public:
  // Starts the proxy on a free port and waits until its status route answers.
  // Errors: throws std::runtime_error with its log tail if it does not start.
  LocalProxy(LocalCluster& cluster, LocalProxyOptions options);
  ~LocalProxy();
  LocalProxy(const LocalProxy&) = delete;
  LocalProxy& operator=(const LocalProxy&) = delete;

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::uint16_t port() const { return port_; }
  testing::Process& process() { return *process_; }
  // /-/br2k/status as JSON text; empty when it does not answer.
  std::string status();

 private:
  std::uint16_t port_ = 0;
  std::unique_ptr<testing::Process> process_;
};

// Private keys of anvil's default mnemonic ("test test ... junk"), accounts 0..9, each funded
// with 10000 ETH. Account 0 deploys and provides; nodes use 1, 2, ...
extern const char* const kAnvilKeys[10];

}  // namespace br2k::local
