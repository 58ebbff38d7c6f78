// LocalCluster: see local_cluster.hpp.
#include <signal.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <br2k/chain/rpc_client.hpp>
#include <br2k/chain/tx_sender.hpp>
#include <br2k/eth/key.hpp>
#include <br2k/local/local_cluster.hpp>
#include <br2k/local/run_sync.hpp>
#include <br2k/registry/registry.hpp>
#include <br2k/testing/http.hpp>
#include <br2k/testing/ports.hpp>
#include <br2k/testing/wait.hpp>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace br2k::local {

using json = nlohmann::json;
using namespace std::chrono_literals;

const char* const kAnvilKeys[10] = {
    "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
    "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
    "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
    "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
    "0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a",
    "0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba",
    "0x92db14e403b83dfe3df233f83dfa3a0d7096f21ca9b0d6d6b8d88b2b4ec1564e",
    "0x4bbbf85ce3377467afe5d46f804f221813b2bb87f24d81f60f1fcdbf7cbf4356",
    "0xdbda1821b80551c9d65939329250298aa3472ba22feea921c0cf5d620ea67b97",
    "0x2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6",
};

LocalCluster::LocalCluster(LocalClusterOptions options) : options_(std::move(options)) {
  if (options_.nodes < 1 || options_.nodes > 9)
    throw std::invalid_argument("local cluster: 1 to 9 nodes");
  if (options_.server_binary.empty())
    throw std::invalid_argument("local cluster: server_binary is required");
  if (options_.dir.empty()) {
    temp_ = std::make_unique<testing::TempDir>();
    dir_ = temp_->path();
  } else {
    dir_ = options_.dir;
    std::filesystem::create_directories(dir_);
  }
  if (options_.tls) {
    if (options_.netns)
      throw std::invalid_argument("local cluster: tls is for 127.0.0.1, not with netns");
    certs_ = testing::make_test_certificates(dir_ / "tls");
  }
  if (options_.netns) {
    network_ = std::make_unique<testing::VirtualNetwork>(options_.nodes, dir_ / "network");
    options_.etcd.hosts.clear();
    options_.etcd.netns.clear();
    for (int i = 0; i < options_.nodes; ++i) {
      options_.etcd.hosts.push_back(network_->address(i));
      options_.etcd.netns.push_back(network_->netns(i));
    }
    if (options_.etcd.members != options_.nodes)
      throw std::invalid_argument("local cluster: with netns, one etcd member per node");
  }
  nodes_.resize(options_.nodes);
  for (int i = 0; i < options_.nodes; ++i) {
    if (network_)
      nodes_[i].host = network_->address(i);
    nodes_[i].port = testing::free_port();
    nodes_[i].key = kAnvilKeys[1 + i];
  }
  if (options_.chain)
    setup_chain();
  etcd_ = std::make_unique<testing::EtcdCluster>(options_.etcd);
  for (int i = 0; i < options_.nodes; ++i)
    spawn(i);
  wait_leader(options_.start_timeout);
}

LocalCluster::~LocalCluster() {
  for (auto& n : nodes_) {
    if (n.process)
      n.process->kill();
  }
  nodes_.clear();
  etcd_.reset();
  relay_.reset();
  anvil_.reset();
  network_.reset();
}

void LocalCluster::setup_chain() {
  testing::AnvilOptions ao;
  ao.block_time = options_.block_time;
  if (network_)
    ao.host = network_->gateway();
  anvil_ = std::make_unique<testing::Anvil>(ao);
  boost::asio::io_context io(1);
  chain::RpcClientOptions ro;
  ro.http_endpoints = {anvil_->http_url()};
  chain::RpcClient rpc(io.get_executor(), ro);
  chain::TxSenderOptions so;
  so.receipt_poll_interval = 20ms;
  so.custom_errors = registry::registry_errors();
  chain::TxSender sender(rpc, eth::PrivateKey::from_hex(kAnvilKeys[0]).value(), so);
  const auto deadline = [] { return Clock::now() + 60s; };
  auto address = run_sync(io, registry::RegistryClient::deploy(sender, deadline()));
  if (!address)
    throw std::runtime_error("local cluster: deploying the registry: " + address.error().message());
  registry::RegistryClient client(rpc, *address, &sender);
  registry::Registration r;
  r.id = registry::parse_service_id(options_.service).value();
  r.name = options_.service;
  r.description = "BR2K local cluster (" + options_.app + ")";
  r.location = node_url(0);  // until the first leader publishes itself (at epoch > 0)
  r.image = "br2k-server:" + options_.app;
  auto receipt = run_sync(io, client.register_service(r, deadline()));
  if (!receipt)
    throw std::runtime_error("local cluster: registering: " + receipt.error().message());
  for (int i = 0; i < options_.nodes; ++i) {
    auto key = eth::PrivateKey::from_hex(kAnvilKeys[1 + i]).value();
    auto added = run_sync(io, client.add_manager(r.id, key.address(), deadline()));
    if (!added)
      throw std::runtime_error("local cluster: adding a manager: " + added.error().message());
  }
  registry_ = eth::to_checksum_address(*address);
  if (options_.chain_relay)
    relay_ = std::make_unique<testing::TcpRelay>(anvil_->port(),
                                                 network_ ? network_->gateway() : "127.0.0.1");
}

std::string LocalCluster::chain_http_url() const {
  if (relay_)
    return relay_->url("http");
  return anvil_ ? anvil_->http_url() : std::string();
}

std::string LocalCluster::chain_ws_url() const {
  if (relay_)
    return relay_->url("ws");
  return anvil_ ? anvil_->ws_url() : std::string();
}

void LocalCluster::spawn(int i) {
  auto& n = nodes_.at(i);
  testing::ProcessOptions po;
  po.argv = {options_.server_binary.string(),
             "--node-id",
             node_id(i),
             "--service",
             options_.service,
             "--app",
             options_.app,
             "--listen",
             n.host + ":" + std::to_string(n.port),
             "--lease-ttl",
             std::to_string(options_.lease_ttl),
             "--log-level",
             options_.log_level,
             "--etcd"};
  for (const auto& url : etcd_->client_urls())
    po.argv.push_back(url);
  if (i < etcd_->size())
    po.argv.insert(po.argv.end(), {"--etcd-local", etcd_->client_url(i)});
  if (anvil_ && options_.publish) {
    po.argv.insert(po.argv.end(), {"--registry", registry_, "--rpc", chain_http_url(),
                                   chain_ws_url(), "--key-env", "BR2K_NODE_KEY"});
    po.env.emplace_back("BR2K_NODE_KEY", n.key);
  }
  if (options_.tls) {
    po.argv.insert(po.argv.end(), {"--tls-cert", certs_.server_cert_file.string(), "--tls-key",
                                   certs_.server_key_file.string()});
  }
  for (const auto& a : options_.node_args)
    po.argv.push_back(a);
  po.log_file = node_log(i);
  if (network_)
    po.netns = network_->netns(i);
  n.process = std::make_unique<testing::Process>(po);
  n.down_since.reset();
}

std::string LocalCluster::node_url(int i) const {
  return (options_.tls ? "https://" : "http://") + nodes_.at(i).host + ":" +
         std::to_string(nodes_.at(i).port);
}

std::filesystem::path LocalCluster::node_log(int i) const {
  return dir_ / (node_id(i) + ".log");
}

pid_t LocalCluster::node_pid(int i) const {
  const auto& p = nodes_.at(i).process;
  return p ? p->pid() : -1;
}

bool LocalCluster::node_running(int i) {
  auto& n = nodes_.at(i);
  return n.process && n.process->running();
}

void LocalCluster::kill_node(int i) {
  auto& n = nodes_.at(i);
  if (n.process)
    n.process->kill();
  n.down_since = std::chrono::steady_clock::now();
}

void LocalCluster::pause_node(int i) {
  if (auto& p = nodes_.at(i).process)
    p->pause();
}

void LocalCluster::resume_node(int i) {
  if (auto& p = nodes_.at(i).process)
    p->resume();
}

void LocalCluster::stop_node(int i) {
  auto& n = nodes_.at(i);
  if (n.process)
    n.process->terminate(10s);
  n.down_since = std::chrono::steady_clock::now();
}

void LocalCluster::start_node(int i) {
  if (node_running(i))
    return;
  spawn(i);
}

int LocalCluster::supervise(std::chrono::milliseconds delay) {
  int restarted = 0;
  const auto now = std::chrono::steady_clock::now();
  for (int i = 0; i < size(); ++i) {
    auto& n = nodes_[i];
    if (node_running(i))
      continue;
    if (!n.down_since)
      n.down_since = now;  // found dead (crashed)
    if (now - *n.down_since >= delay) {
      spawn(i);
      ++restarted;
      ++restarts_;
    }
  }
  return restarted;
}

std::string LocalCluster::status(int i, std::chrono::milliseconds timeout) {
  testing::HttpRequest r;
  r.url = node_url(i) + "/-/br2k/status";
  r.ca_file = ca_file().string();
  r.timeout = timeout;
  auto res = testing::http_request(r);
  return res.status == 200 ? res.body : std::string();
}

std::uint64_t LocalCluster::epoch_of(int i) {
  auto j = json::parse(status(i), nullptr, false);
  if (!j.is_object() || !j.value("serving", false))
    return 0;
  return j.value("epoch", std::uint64_t{0});
}

std::optional<int> LocalCluster::leader(std::chrono::milliseconds timeout) {
  std::optional<int> best;
  std::uint64_t best_epoch = 0;
  for (int i = 0; i < size(); ++i) {
    if (!node_running(i))
      continue;
    auto j = json::parse(status(i, timeout), nullptr, false);
    if (!j.is_object() || !j.value("serving", false))
      continue;
    auto e = j.value("epoch", std::uint64_t{0});
    if (e > best_epoch) {
      best_epoch = e;
      best = i;
    }
  }
  return best;
}

int LocalCluster::wait_leader(std::chrono::milliseconds timeout, std::optional<int> not_this) {
  std::optional<int> found;
  bool ok = testing::wait_until(timeout, [&] {
    found = leader();
    return found && (!not_this || *found != *not_this);
  });
  if (!ok) {
    std::ostringstream s;
    s << "local cluster: no leader within " << timeout.count() << " ms";
    for (int i = 0; i < size(); ++i)
      s << "\n--- " << node_id(i) << " log tail:\n" << testing::file_tail(node_log(i), 15);
    throw std::runtime_error(s.str());
  }
  return *found;
}

std::pair<std::string, std::uint64_t> LocalCluster::registry_location() {
  if (!anvil_)
    return {"", 0};
  boost::asio::io_context io(1);
  chain::RpcClientOptions ro;
  ro.http_endpoints = {anvil_->http_url()};
  chain::RpcClient rpc(io.get_executor(), ro);
  registry::RegistryClient client(rpc, eth::parse_address(registry_).value());
  auto l =
      run_sync(io, client.get_service_location(registry::parse_service_id(options_.service).value(),
                                               Clock::now() + 5s));
  if (!l)
    return {"", 0};
  return {l->url, l->epoch};
}

std::string LocalCluster::describe() const {
  std::ostringstream s;
  if (anvil_)
    s << "anvil " << anvil_->http_url() << " (registry " << registry_ << ", service '"
      << options_.service << "')\n";
  s << "etcd " << etcd_->endpoints() << " (prefix " << prefix() << ")\n";
  for (int i = 0; i < size(); ++i) {
    s << node_id(i) << " " << node_url(i) << " (log " << node_log(i).string();
    if (network_)
      s << ", network namespace " << network_->netns(i).string();
    s << ")\n";
  }
  if (network_)
    s << "network: gateway " << network_->gateway() << ", hosts on a bridge\n";
  return s.str();
}

LocalProxy::LocalProxy(LocalCluster& cluster, LocalProxyOptions options) {
  if (!cluster.anvil())
    throw std::invalid_argument("local proxy: the cluster runs without the chain");
  if (options.rpc.empty())
    options.rpc = {cluster.chain_http_url(), cluster.chain_ws_url()};
  port_ = testing::free_port();
  testing::ProcessOptions po;
  po.argv = {options.proxy_binary.string(),
             "--service",
             cluster.options().service,
             "--registry",
             cluster.registry(),
             "--listen",
             "127.0.0.1:" + std::to_string(port_),
             "--log-level",
             options.log_level};
  for (const auto& r : options.rpc) {
    po.argv.push_back("--rpc");
    po.argv.push_back(r);
  }
  if (cluster.options().tls)
    po.argv.insert(po.argv.end(), {"--tls-ca", cluster.ca_file().string()});
  for (const auto& a : options.extra_args)
    po.argv.push_back(a);
  po.env = options.env;
  po.log_file = cluster.dir() / ("proxy-" + std::to_string(port_) + ".log");
  process_ = std::make_unique<testing::Process>(po);
  if (!testing::wait_until(15s, [&] { return !status().empty() || !process_->running(); }) ||
      !process_->running())
    throw std::runtime_error("local proxy did not start:\n" + process_->log_tail());
}

LocalProxy::~LocalProxy() {
  if (process_)
    process_->kill();
}

std::string LocalProxy::status() {
  testing::HttpRequest r;
  r.url = url() + "/-/br2k/status";
  r.timeout = 500ms;
  auto res = testing::http_request(r);
  return res.status == 200 ? res.body : std::string();
}

}  // namespace br2k::local
