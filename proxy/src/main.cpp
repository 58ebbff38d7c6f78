// br2k-proxy: the local sidecar. Listens on a local address and forwards every request to the
// current leader of a BR2K service. Configuration from a JSON file (--config) and flags, flags
// winning. SIGTERM/SIGINT: stop accepting, let held requests finish (--drain-timeout), exit 0.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/program_options.hpp>
#include <br2k/proxy/proxy.hpp>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

namespace {

namespace po = boost::program_options;
using namespace br2k;
using nlohmann::json;

struct Settings {
  std::string service;
  std::string registry;
  std::vector<std::string> rpc;
  std::optional<std::uint64_t> chain_id;
  std::string listen = "127.0.0.1:8080";
  double request_timeout = 30;
  double attempt_timeout = 10;
  double connect_timeout = 1;
  double drain_timeout = 10;
  std::size_t max_pending = 4096;
  std::size_t max_connections = 1024;
  std::uint64_t body_limit = 1024 * 1024;
  std::uint32_t header_limit = 8 * 1024;
  // The CA that signed https:// replicas' certificates (default: the system's trust store).
  std::string tls_ca;
  std::string claim_key_file;
  std::string claim_key_env;
  double claim_after = 10;
  double claim_interval = 60;
  bool follow_events = true;
  std::size_t threads = 1;
  std::string log_level = "info";
};

// Reads the JSON configuration file into `s` (keys as the long flag names).
void read_config(const std::string& path, Settings& s) {
  std::ifstream in(path);
  if (!in)
    throw std::invalid_argument("--config: cannot read " + path);
  json j = json::parse(in, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    throw std::invalid_argument("--config: " + path + " is not a JSON object");
  for (auto& [k, v] : j.items()) {
    try {
      if (k == "service")
        s.service = v.get<std::string>();
      else if (k == "registry")
        s.registry = v.get<std::string>();
      else if (k == "rpc")
        s.rpc = v.get<std::vector<std::string>>();
      else if (k == "chain-id")
        s.chain_id = v.get<std::uint64_t>();
      else if (k == "listen")
        s.listen = v.get<std::string>();
      else if (k == "request-timeout")
        s.request_timeout = v.get<double>();
      else if (k == "attempt-timeout")
        s.attempt_timeout = v.get<double>();
      else if (k == "connect-timeout")
        s.connect_timeout = v.get<double>();
      else if (k == "drain-timeout")
        s.drain_timeout = v.get<double>();
      else if (k == "max-pending")
        s.max_pending = v.get<std::size_t>();
      else if (k == "max-connections")
        s.max_connections = v.get<std::size_t>();
      else if (k == "body-limit")
        s.body_limit = v.get<std::uint64_t>();
      else if (k == "header-limit")
        s.header_limit = v.get<std::uint32_t>();
      else if (k == "tls-ca")
        s.tls_ca = v.get<std::string>();
      else if (k == "claim-key-file")
        s.claim_key_file = v.get<std::string>();
      else if (k == "claim-key-env")
        s.claim_key_env = v.get<std::string>();
      else if (k == "claim-after")
        s.claim_after = v.get<double>();
      else if (k == "claim-interval")
        s.claim_interval = v.get<double>();
      else if (k == "follow-events")
        s.follow_events = v.get<bool>();
      else if (k == "threads")
        s.threads = v.get<std::size_t>();
      else if (k == "log-level")
        s.log_level = v.get<std::string>();
      else
        throw std::invalid_argument("--config: unknown key '" + k + "'");
    } catch (const json::exception& e) {
      throw std::invalid_argument("--config: key '" + k + "': " + e.what());
    }
  }
}

std::chrono::milliseconds seconds(double s) {
  return std::chrono::milliseconds(static_cast<std::int64_t>(s * 1000));
}

proxy::ProxyOptions to_options(const Settings& s) {
  proxy::ProxyOptions o;
  for (auto [name, value] : {std::pair{"--request-timeout", s.request_timeout},
                             {"--attempt-timeout", s.attempt_timeout},
                             {"--connect-timeout", s.connect_timeout},
                             {"--drain-timeout", s.drain_timeout}}) {
    if (!(value > 0) || value > 86400)
      throw std::invalid_argument(
          fmt::format("{}: must be more than 0 and at most 86400 seconds, not {}", name, value));
  }
  auto id = registry::parse_service_id(s.service);
  if (!id)
    throw std::invalid_argument("--service: " + id.error().message());
  o.client.service = *id;
  auto address = eth::parse_address(s.registry);
  if (!address)
    throw std::invalid_argument("--registry: " + address.error().message());
  o.client.registry = *address;
  if (s.rpc.empty())
    throw std::invalid_argument("--rpc: at least one endpoint is required");
  for (const auto& url : s.rpc) {
    if (url.rfind("ws://", 0) == 0 || url.rfind("wss://", 0) == 0)
      o.client.rpc.ws_endpoints.push_back(url);
    else
      o.client.rpc.http_endpoints.push_back(url);
  }
  o.client.rpc.chain_id = s.chain_id;
  if (!s.tls_ca.empty())
    o.client.tls = net::TlsOptions{.ca_file = s.tls_ca};
  o.client.follow_events = s.follow_events;
  o.client.request_timeout = seconds(s.request_timeout);
  o.client.attempt_timeout = seconds(s.attempt_timeout);
  o.client.connect_timeout = seconds(s.connect_timeout);
  o.client.claim_after = seconds(s.claim_after);
  o.client.claim_interval = seconds(s.claim_interval);
  o.client.limits.body_limit = std::max<std::uint64_t>(s.body_limit, 64 * 1024 * 1024);
  if (!s.claim_key_file.empty() || !s.claim_key_env.empty()) {
    auto key = s.claim_key_file.empty() ? eth::PrivateKey::from_env(s.claim_key_env.c_str())
                                        : eth::PrivateKey::from_file(s.claim_key_file);
    if (!key)
      throw std::invalid_argument("claim key: " + key.error().message());
    o.client.claim_key = std::make_shared<const eth::PrivateKey>(std::move(*key));
  }
  auto colon = s.listen.rfind(':');
  if (colon == std::string::npos)
    throw std::invalid_argument("--listen: ADDRESS:PORT");
  o.listen.listen_address = s.listen.substr(0, colon);
  if (!o.listen.listen_address.empty() && o.listen.listen_address.front() == '[')
    o.listen.listen_address = o.listen.listen_address.substr(1, o.listen.listen_address.size() - 2);
  try {
    o.listen.port = static_cast<std::uint16_t>(std::stoul(s.listen.substr(colon + 1)));
  } catch (const std::exception&) {
    throw std::invalid_argument("--listen: bad port in " + s.listen);
  }
  o.listen.max_connections = s.max_connections;
  o.listen.body_limit = s.body_limit;
  o.listen.header_limit = s.header_limit;
  o.listen.server_name = "br2k-proxy";
  o.listen.metrics_prefix = "br2k_proxy_http";
  o.max_pending = s.max_pending;
  o.request_timeout = seconds(s.request_timeout);
  if (s.threads == 0 || s.threads > 256)
    throw std::invalid_argument("--threads: between 1 and 256");
  o.threads = s.threads;
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  Settings s;
  po::options_description desc(
      "usage: br2k-proxy [--config FILE] [options]\n\n"
      "Forwards HTTP requests on a local address to the current leader of a BR2K service.\n"
      "Options (also keys of the JSON config file; flags win)");
  std::string config;
  desc.add_options()("help,h", "print this help")(
      "config", po::value(&config), "JSON configuration file")("service", po::value<std::string>(),
                                                               "service id in the registry")(
      "registry", po::value<std::string>(), "registry contract address")(
      "rpc", po::value<std::vector<std::string>>()->composing(),
      "chain endpoint, http(s):// or ws(s)://; repeat for failover")(
      "chain-id", po::value<std::uint64_t>(), "refuse nodes of another chain")(
      "listen", po::value<std::string>(), "ADDRESS:PORT to listen on (default 127.0.0.1:8080)")(
      "request-timeout", po::value<double>(), "seconds a request may be held (default 30)")(
      "attempt-timeout", po::value<double>(), "seconds one attempt may take (default 10)")(
      "connect-timeout", po::value<double>(),
      "seconds a connect to the leader may take (default 1; to a replica asked for the "
      "leader, at most 0.25)")("drain-timeout", po::value<double>(),
                               "seconds to finish held requests on SIGTERM")(
      "max-pending", po::value<std::size_t>(), "requests held at once (default 4096)")(
      "max-connections", po::value<std::size_t>(), "client connections (default 1024)")(
      "body-limit", po::value<std::uint64_t>(), "largest request body in bytes (default 1 MiB)")(
      "header-limit", po::value<std::uint32_t>(), "largest request header in bytes (8 KiB)")(
      "tls-ca", po::value<std::string>(),
      "PEM CA of https:// replicas' certificates (default: the system's trust store)")(
      "claim-key-file", po::value<std::string>(), "key that signs claims (none: no claims)")(
      "claim-key-env", po::value<std::string>(), "environment variable holding that key")(
      "claim-after", po::value<double>(), "seconds unreachable before a claim (default 10)")(
      "claim-interval", po::value<double>(), "least seconds between claims (default 60)")(
      "no-events", "do not follow NewLocation events (resolve on failure only)")(
      "threads", po::value<std::size_t>(),
      "event loops, each on its own thread with its own listener (SO_REUSEPORT) and "
      "connections to the leader (default 1)")("log-level", po::value<std::string>(),
                                               "trace, debug, info, warn, error");
  try {
    po::variables_map vm;
    po::store(po::parse_command_line(argc, argv, desc), vm);
    po::notify(vm);
    if (vm.count("help")) {
      std::cout << desc << "\n";
      return 0;
    }
    if (!config.empty())
      read_config(config, s);
    if (vm.count("service"))
      s.service = vm["service"].as<std::string>();
    if (vm.count("registry"))
      s.registry = vm["registry"].as<std::string>();
    if (vm.count("rpc"))
      s.rpc = vm["rpc"].as<std::vector<std::string>>();
    if (vm.count("chain-id"))
      s.chain_id = vm["chain-id"].as<std::uint64_t>();
    if (vm.count("listen"))
      s.listen = vm["listen"].as<std::string>();
    if (vm.count("request-timeout"))
      s.request_timeout = vm["request-timeout"].as<double>();
    if (vm.count("attempt-timeout"))
      s.attempt_timeout = vm["attempt-timeout"].as<double>();
    if (vm.count("connect-timeout"))
      s.connect_timeout = vm["connect-timeout"].as<double>();
    if (vm.count("drain-timeout"))
      s.drain_timeout = vm["drain-timeout"].as<double>();
    if (vm.count("max-pending"))
      s.max_pending = vm["max-pending"].as<std::size_t>();
    if (vm.count("max-connections"))
      s.max_connections = vm["max-connections"].as<std::size_t>();
    if (vm.count("body-limit"))
      s.body_limit = vm["body-limit"].as<std::uint64_t>();
    if (vm.count("header-limit"))
      s.header_limit = vm["header-limit"].as<std::uint32_t>();
    if (vm.count("tls-ca"))
      s.tls_ca = vm["tls-ca"].as<std::string>();
    if (vm.count("claim-key-file"))
      s.claim_key_file = vm["claim-key-file"].as<std::string>();
    if (vm.count("claim-key-env"))
      s.claim_key_env = vm["claim-key-env"].as<std::string>();
    if (vm.count("claim-after"))
      s.claim_after = vm["claim-after"].as<double>();
    if (vm.count("claim-interval"))
      s.claim_interval = vm["claim-interval"].as<double>();
    if (vm.count("no-events"))
      s.follow_events = false;
    if (vm.count("threads"))
      s.threads = vm["threads"].as<std::size_t>();
    if (vm.count("log-level"))
      s.log_level = vm["log-level"].as<std::string>();

    spdlog::set_level(spdlog::level::from_str(s.log_level));
    spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ [br2k-proxy] %v");
    auto options = to_options(s);

    boost::asio::io_context io(proxy::kOneThreadIo);
    proxy::Proxy p(io.get_executor(), std::move(options));
    auto bound = p.start();
    if (!bound) {
      std::cerr << "br2k-proxy: " << bound.error().message() << "\n";
      return 1;
    }
    // The bound port on stdout, for scripts that asked for port 0.
    std::cout << "listening on " << bound->address().to_string() << ":" << bound->port()
              << std::endl;
    boost::asio::signal_set signals(io, SIGINT, SIGTERM);
    signals.async_wait([&](const boost::system::error_code& ec, int signal) {
      if (ec)
        return;
      spdlog::info("signal {}: draining", signal);
      boost::asio::co_spawn(
          io,
          [&]() -> Task<void> {
            co_await p.stop(Clock::now() + seconds(s.drain_timeout));
            io.stop();
          },
          boost::asio::detached);
    });
    io.run();
    return 0;
  } catch (const std::invalid_argument& e) {
    std::cerr << "br2k-proxy: " << e.what() << "\n(see br2k-proxy --help)\n";
    return 2;
  } catch (const po::error& e) {
    std::cerr << "br2k-proxy: " << e.what() << "\n(see br2k-proxy --help)\n";
    return 2;
  }
}
