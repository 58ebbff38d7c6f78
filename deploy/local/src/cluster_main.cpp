// br2k-cluster: runs a whole BR2K service on this machine's loopback and supervises it.
//
// Starts anvil with the ServiceRegistry deployed and the service registered, three etcd members
// and three br2k-server nodes (by default), prints where everything listens, then supervises: a
// node that dies is restarted after --restart-delay, as Kubernetes would restart a pod. Ctrl-C
// (SIGINT) or SIGTERM stops everything and removes the data (unless --dir was given).
#include <signal.h>

#include <boost/program_options.hpp>
#include <br2k/local/local_cluster.hpp>
#include <csignal>
#include <iostream>
#include <thread>

namespace {

volatile std::sig_atomic_t g_stop = 0;
void on_signal(int) {
  g_stop = 1;
}

}  // namespace

int main(int argc, char** argv) {
  namespace po = boost::program_options;
  br2k::local::LocalClusterOptions o;
  o.server_binary = BR2K_SERVER_BIN;
  double restart_delay = 3, block_time = 0;
  std::string dir, server;
  po::options_description desc(
      "usage: br2k-cluster [options]\n\n"
      "Runs a BR2K service on loopback: anvil + registry, etcd members and br2k-server nodes,\n"
      "restarting nodes that die. Ctrl-C stops everything.\n\nOptions");
  desc.add_options()("help,h", "this help")("nodes", po::value(&o.nodes)->default_value(3),
                                            "nodes (each beside an etcd member)")(
      "app", po::value(&o.app)->default_value("kv"), "application: kv or numbers")(
      "service", po::value(&o.service)->default_value("demo"), "service id on the registry")(
      "restart-delay", po::value(&restart_delay)->default_value(3),
      "seconds before a dead node is restarted (negative: never)")(
      "block-time", po::value(&block_time)->default_value(0),
      "anvil block time in seconds (0: a block per transaction)")(
      "lease-ttl", po::value(&o.lease_ttl)->default_value(2), "node lease TTL in seconds")(
      "dir", po::value(&dir), "keep data and logs here (default: a temporary directory)")(
      "server", po::value(&server), "br2k-server binary (default: the one built with this)")(
      "log-level", po::value(&o.log_level)->default_value("info"), "nodes' log level")(
      "netns", po::bool_switch(&o.netns),
      "each node and its etcd member on a host of its own (a network namespace; root needed), "
      "so that links can be cut by hand: `nsenter --net=<netns> ip link set eth0 down`");
  po::variables_map vm;
  try {
    po::store(po::parse_command_line(argc, argv, desc), vm);
    po::notify(vm);
  } catch (const std::exception& e) {
    std::cerr << "br2k-cluster: " << e.what() << "\n";
    return 2;
  }
  if (vm.count("help")) {
    std::cout << desc << "\n";
    return 0;
  }
  if (block_time > 0)
    o.block_time = block_time;
  if (!dir.empty())
    o.dir = dir;
  if (!server.empty())
    o.server_binary = server;
  o.etcd.members = o.nodes;
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  try {
    std::cout << "br2k-cluster: starting " << o.nodes << " nodes..." << std::endl;
    br2k::local::LocalCluster cluster(o);
    std::cout << cluster.describe();
    auto leader = cluster.leader();
    std::cout << "leader: " << (leader ? cluster.node_id(*leader) : "none yet")
              << "\nready; Ctrl-C stops everything" << std::endl;
    while (!g_stop) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      if (restart_delay >= 0) {
        int n =
            cluster.supervise(std::chrono::milliseconds(static_cast<long>(restart_delay * 1000)));
        if (n > 0)
          std::cout << "restarted " << n << " node(s)" << std::endl;
      }
    }
    std::cout << "br2k-cluster: stopping" << std::endl;
  } catch (const std::exception& e) {
    std::cerr << "br2k-cluster: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
