// br2k-server: runs one node of a BR2K replicated service (an example application: the key-value
// store or the papers' number list) from a JSON configuration file plus flags, flags winning.
// SIGTERM/SIGINT: drain HTTP (--drain-timeout), resign leadership, revoke the lease, exit 0.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/program_options.hpp>
#include <br2k/examples/kv_store.hpp>
#include <br2k/examples/number_list.hpp>
#include <br2k/server/node.hpp>
#include <br2k/server/registry_publisher.hpp>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

namespace {

namespace po = boost::program_options;
using namespace br2k;
using nlohmann::json;

struct Settings {
  std::string node_id;
  std::string service;
  std::string app = "kv";
  std::string listen = "127.0.0.1:8080";
  std::string advertise_url;
  // HTTPS for the node's clients: its certificate chain and key (PEM).
  std::string tls_cert;
  std::string tls_key;
  std::vector<std::string> etcd;
  std::string etcd_local;
  // etcd over TLS (https:// endpoints) and with a user: the password is read from a file or an
  // environment variable, never from the command line (where `ps` shows it) or the config file.
  std::string etcd_ca;
  std::string etcd_cert;
  std::string etcd_key;
  std::string etcd_user;
  std::string etcd_password_file;
  std::string etcd_password_env;
  std::string prefix;
  std::int64_t lease_ttl = 2;
  std::optional<std::int64_t> lease_grace_ms;  // unset: 3 x lease TTL
  std::string registry;
  std::vector<std::string> rpc;
  std::optional<std::uint64_t> chain_id;
  std::string key_file;
  std::string key_env;
  double write_timeout = 10;
  double suspended_hold = 1;
  double drain_timeout = 5;
  std::size_t max_connections = 1024;
  std::uint64_t body_limit = 1024 * 1024;
  std::uint32_t header_limit = 8 * 1024;
  std::uint64_t dedup_window = 100'000;
  bool no_dedup = false;
  unsigned test_drop_replies = 0;
  std::string log_level = "info";
};

template <class T>
void set_from(const json& v, T& out) {
  out = v.get<T>();
}

void read_config(const std::string& path, Settings& s) {
  std::ifstream in(path);
  if (!in)
    throw std::invalid_argument("--config: cannot read " + path);
  json j = json::parse(in, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    throw std::invalid_argument("--config: " + path + " is not a JSON object");
  for (auto& [k, v] : j.items()) {
    try {
      if (k == "node-id")
        set_from(v, s.node_id);
      else if (k == "service")
        set_from(v, s.service);
      else if (k == "app")
        set_from(v, s.app);
      else if (k == "listen")
        set_from(v, s.listen);
      else if (k == "advertise-url")
        set_from(v, s.advertise_url);
      else if (k == "tls-cert")
        set_from(v, s.tls_cert);
      else if (k == "tls-key")
        set_from(v, s.tls_key);
      else if (k == "etcd")
        set_from(v, s.etcd);
      else if (k == "etcd-local")
        set_from(v, s.etcd_local);
      else if (k == "etcd-ca")
        set_from(v, s.etcd_ca);
      else if (k == "etcd-cert")
        set_from(v, s.etcd_cert);
      else if (k == "etcd-key")
        set_from(v, s.etcd_key);
      else if (k == "etcd-user")
        set_from(v, s.etcd_user);
      else if (k == "etcd-password-file")
        set_from(v, s.etcd_password_file);
      else if (k == "etcd-password-env")
        set_from(v, s.etcd_password_env);
      else if (k == "prefix")
        set_from(v, s.prefix);
      else if (k == "lease-ttl")
        set_from(v, s.lease_ttl);
      else if (k == "lease-grace-ms")
        s.lease_grace_ms = v.get<std::int64_t>();
      else if (k == "registry")
        set_from(v, s.registry);
      else if (k == "rpc")
        set_from(v, s.rpc);
      else if (k == "chain-id")
        s.chain_id = v.get<std::uint64_t>();
      else if (k == "key-file")
        set_from(v, s.key_file);
      else if (k == "key-env")
        set_from(v, s.key_env);
      else if (k == "write-timeout")
        set_from(v, s.write_timeout);
      else if (k == "suspended-hold")
        set_from(v, s.suspended_hold);
      else if (k == "drain-timeout")
        set_from(v, s.drain_timeout);
      else if (k == "max-connections")
        set_from(v, s.max_connections);
      else if (k == "body-limit")
        set_from(v, s.body_limit);
      else if (k == "header-limit")
        set_from(v, s.header_limit);
      else if (k == "dedup-window")
        set_from(v, s.dedup_window);
      else if (k == "no-dedup")
        set_from(v, s.no_dedup);
      else if (k == "test-drop-replies")
        set_from(v, s.test_drop_replies);
      else if (k == "log-level")
        set_from(v, s.log_level);
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

std::pair<std::string, std::uint16_t> split_listen(const std::string& listen) {
  auto colon = listen.rfind(':');
  if (colon == std::string::npos)
    throw std::invalid_argument("--listen: ADDRESS:PORT");
  std::string address = listen.substr(0, colon);
  if (!address.empty() && address.front() == '[')
    address = address.substr(1, address.size() - 2);
  try {
    return {address, static_cast<std::uint16_t>(std::stoul(listen.substr(colon + 1)))};
  } catch (const std::exception&) {
    throw std::invalid_argument("--listen: bad port in " + listen);
  }
}

// etcd's TLS and user from the settings. Errors: std::invalid_argument naming the flag (never
// the password).
void set_etcd_security(const Settings& s, etcd::ClientOptions& o) {
  const bool https = std::any_of(s.etcd.begin(), s.etcd.end(),
                                 [](const std::string& u) { return u.starts_with("https://"); });
  if (s.etcd_cert.empty() != s.etcd_key.empty())
    throw std::invalid_argument("--etcd-cert and --etcd-key go together");
  if (!s.etcd_ca.empty() || !s.etcd_cert.empty()) {
    if (!https)
      throw std::invalid_argument("--etcd-ca/--etcd-cert need https:// --etcd endpoints");
    o.tls = net::TlsOptions{.ca_file = s.etcd_ca, .cert_file = s.etcd_cert, .key_file = s.etcd_key};
  }
  const bool has_password = !s.etcd_password_file.empty() || !s.etcd_password_env.empty();
  if (s.etcd_user.empty()) {
    if (has_password)
      throw std::invalid_argument("--etcd-password-file/--etcd-password-env need --etcd-user");
    return;
  }
  if (!s.etcd_password_file.empty() && !s.etcd_password_env.empty())
    throw std::invalid_argument("--etcd-password-file or --etcd-password-env, not both");
  std::string password;
  if (!s.etcd_password_env.empty()) {
    const char* v = std::getenv(s.etcd_password_env.c_str());
    if (v == nullptr)
      throw std::invalid_argument("--etcd-password-env: " + s.etcd_password_env + " is not set");
    password = v;
  } else if (!s.etcd_password_file.empty()) {
    std::ifstream in(s.etcd_password_file);
    if (!in || !std::getline(in, password))
      throw std::invalid_argument("--etcd-password-file: cannot read " + s.etcd_password_file);
    if (!password.empty() && password.back() == '\r')
      password.pop_back();
  } else {
    throw std::invalid_argument("--etcd-user needs --etcd-password-file or --etcd-password-env");
  }
  if (password.empty())
    throw std::invalid_argument("--etcd-user " + s.etcd_user + ": the password is empty");
  o.username = s.etcd_user;
  o.password = std::move(password);
}

}  // namespace

int main(int argc, char** argv) {
  Settings s;
  po::options_description desc(
      "usage: br2k-server [--config FILE] [options]\n\n"
      "Runs one node of a BR2K replicated service: a replica of the application beside an etcd\n"
      "cluster, elected leader by lease, publishing its location on the service registry.\n\n"
      "Options (also keys of the JSON config file; flags win)");
  std::string config;
  std::vector<std::string> etcd, rpc;
  desc.add_options()("help,h", "this help")("config", po::value(&config),
                                            "JSON configuration file")(
      "node-id", po::value<std::string>(), "this node's id, unique in the service (required)")(
      "service", po::value<std::string>(),
      "the service's registry id (text up to 32 bytes or 0x + 64 hex digits; required)")(
      "app", po::value<std::string>(),
      "the application: kv (key-value store) or numbers (default kv)")(
      "listen", po::value<std::string>(), "ADDRESS:PORT to serve HTTP on (default 127.0.0.1:8080)")(
      "advertise-url", po::value<std::string>(),
      "URL clients reach this node at (default from --listen)")(
      "tls-cert", po::value<std::string>(),
      "serve HTTPS with this PEM certificate chain (with --tls-key)")(
      "tls-key", po::value<std::string>(), "PEM private key of --tls-cert")(
      "etcd", po::value(&etcd)->multitoken(), "etcd client URLs (required)")(
      "etcd-local", po::value<std::string>(),
      "the --etcd URL of the member on this node's host: a leader keeps etcd's raft leader off "
      "its own host, so that a host failure costs one election, not two")(
      "etcd-ca", po::value<std::string>(),
      "PEM CA that signed the etcd members' certificates (https:// endpoints; default: the "
      "system's trust store)")("etcd-cert", po::value<std::string>(),
                               "PEM client certificate for etcd's --client-cert-auth")(
      "etcd-key", po::value<std::string>(), "PEM key of --etcd-cert")(
      "etcd-user", po::value<std::string>(), "etcd user (etcd auth enabled)")(
      "etcd-password-file", po::value<std::string>(),
      "file holding --etcd-user's password (its first line)")(
      "etcd-password-env", po::value<std::string>(),
      "environment variable holding --etcd-user's password")(
      "prefix", po::value<std::string>(), "etcd key prefix (default /br2k/<service>/)")(
      "lease-ttl", po::value<std::int64_t>(), "lease TTL in seconds (default 2)")(
      "lease-grace-ms", po::value<std::int64_t>(),
      "how long a leader whose renewals stall waits, suspended, for a renewal before stepping "
      "down (default 3 x lease TTL; 0: at once)")(
      "registry", po::value<std::string>(),
      "ServiceRegistry contract address (no publishing without it)")(
      "rpc", po::value(&rpc)->multitoken(), "chain RPC endpoints, http:// or ws://")(
      "chain-id", po::value<std::uint64_t>(), "expected chain id")(
      "key-file", po::value<std::string>(),
      "file holding the manager key (hex) for updateLocation")(
      "key-env", po::value<std::string>(), "environment variable holding the manager key")(
      "write-timeout", po::value<double>(), "seconds a write is held before 503 (default 10)")(
      "suspended-hold", po::value<double>(),
      "seconds a leader waiting for its lease renewal holds a request before 503 (default 1; "
      "0: at once)")("drain-timeout", po::value<double>(),
                     "seconds to drain on SIGTERM (default 5)")(
      "max-connections", po::value<std::size_t>(), "connections served at once (default 1024)")(
      "body-limit", po::value<std::uint64_t>(), "largest request body in bytes (default 1 MiB)")(
      "header-limit", po::value<std::uint32_t>(),
      "largest request header in bytes (default 8 KiB)")(
      "dedup-window", po::value<std::uint64_t>(), "entries an Idempotency-Key is remembered for")(
      "no-dedup", "TEST ONLY: apply duplicate requests again (fault-injection checks)")(
      "test-drop-replies", po::value<unsigned>(),
      "TEST ONLY: percent of committed writes whose reply is dropped (fault-injection checks)")(
      "log-level", po::value<std::string>(), "trace, debug, info, warn, error (default info)");
  po::variables_map vm;
  try {
    po::store(po::parse_command_line(argc, argv, desc), vm);
    po::notify(vm);
    if (vm.count("help")) {
      std::cout << desc << "\n";
      return 0;
    }
    if (!config.empty())
      read_config(config, s);
    if (vm.count("node-id"))
      s.node_id = vm["node-id"].as<std::string>();
    if (vm.count("service"))
      s.service = vm["service"].as<std::string>();
    if (vm.count("app"))
      s.app = vm["app"].as<std::string>();
    if (vm.count("listen"))
      s.listen = vm["listen"].as<std::string>();
    if (vm.count("advertise-url"))
      s.advertise_url = vm["advertise-url"].as<std::string>();
    if (!etcd.empty())
      s.etcd = etcd;
    if (vm.count("etcd-local"))
      s.etcd_local = vm["etcd-local"].as<std::string>();
    for (auto [flag, field] : {std::pair{"tls-cert", &s.tls_cert},
                               {"tls-key", &s.tls_key},
                               {"etcd-ca", &s.etcd_ca},
                               {"etcd-cert", &s.etcd_cert},
                               {"etcd-key", &s.etcd_key},
                               {"etcd-user", &s.etcd_user},
                               {"etcd-password-file", &s.etcd_password_file},
                               {"etcd-password-env", &s.etcd_password_env}}) {
      if (vm.count(flag))
        *field = vm[flag].as<std::string>();
    }
    if (vm.count("prefix"))
      s.prefix = vm["prefix"].as<std::string>();
    if (vm.count("lease-ttl"))
      s.lease_ttl = vm["lease-ttl"].as<std::int64_t>();
    if (vm.count("lease-grace-ms"))
      s.lease_grace_ms = vm["lease-grace-ms"].as<std::int64_t>();
    if (vm.count("registry"))
      s.registry = vm["registry"].as<std::string>();
    if (!rpc.empty())
      s.rpc = rpc;
    if (vm.count("chain-id"))
      s.chain_id = vm["chain-id"].as<std::uint64_t>();
    if (vm.count("key-file"))
      s.key_file = vm["key-file"].as<std::string>();
    if (vm.count("key-env"))
      s.key_env = vm["key-env"].as<std::string>();
    if (vm.count("write-timeout"))
      s.write_timeout = vm["write-timeout"].as<double>();
    if (vm.count("suspended-hold"))
      s.suspended_hold = vm["suspended-hold"].as<double>();
    if (vm.count("drain-timeout"))
      s.drain_timeout = vm["drain-timeout"].as<double>();
    if (vm.count("max-connections"))
      s.max_connections = vm["max-connections"].as<std::size_t>();
    if (vm.count("body-limit"))
      s.body_limit = vm["body-limit"].as<std::uint64_t>();
    if (vm.count("header-limit"))
      s.header_limit = vm["header-limit"].as<std::uint32_t>();
    if (vm.count("dedup-window"))
      s.dedup_window = vm["dedup-window"].as<std::uint64_t>();
    if (vm.count("no-dedup"))
      s.no_dedup = true;
    if (vm.count("test-drop-replies"))
      s.test_drop_replies = vm["test-drop-replies"].as<unsigned>();
    if (vm.count("log-level"))
      s.log_level = vm["log-level"].as<std::string>();

    spdlog::set_level(spdlog::level::from_str(s.log_level));
    if (s.node_id.empty())
      throw std::invalid_argument("--node-id is required");
    if (s.service.empty())
      throw std::invalid_argument("--service is required");
    if (s.etcd.empty())
      throw std::invalid_argument("--etcd: at least one endpoint is required");
    auto service_id = registry::parse_service_id(s.service);
    if (!service_id)
      throw std::invalid_argument("--service: " + service_id.error().message());

    std::unique_ptr<server::StateMachine> app;
    if (s.app == "kv")
      app = std::make_unique<examples::KvStore>();
    else if (s.app == "numbers")
      app = std::make_unique<examples::NumberList>();
    else
      throw std::invalid_argument("--app: kv or numbers, not " + s.app);

    boost::asio::io_context io(1);
    server::NodeOptions o;
    o.node_id = s.node_id;
    o.prefix = s.prefix.empty() ? server::Keys::for_service(s.service).prefix() : s.prefix;
    o.advertise_url = s.advertise_url;
    auto [address, port] = split_listen(s.listen);
    o.http.listen_address = address;
    o.http.port = port;
    o.http.max_connections = s.max_connections;
    o.http.body_limit = s.body_limit;
    o.http.header_limit = s.header_limit;
    o.http.server_name = "br2k-server";
    if (s.tls_cert.empty() != s.tls_key.empty())
      throw std::invalid_argument("--tls-cert and --tls-key go together");
    if (!s.tls_cert.empty()) {
      o.http.tls = net::TlsServerOptions{.cert_file = s.tls_cert, .key_file = s.tls_key};
      if (s.advertise_url.starts_with("http://"))
        throw std::invalid_argument("--advertise-url: an https:// URL with --tls-cert");
    }
    o.etcd.endpoints = s.etcd;
    set_etcd_security(s, o.etcd);
    if (!s.etcd_local.empty() &&
        std::find(s.etcd.begin(), s.etcd.end(), s.etcd_local) == s.etcd.end())
      throw std::invalid_argument("--etcd-local: " + s.etcd_local + " is not one of --etcd");
    o.etcd_local = s.etcd_local;
    o.lease_ttl_seconds = s.lease_ttl;
    if (s.lease_grace_ms)
      o.lease_grace = std::chrono::milliseconds(*s.lease_grace_ms);
    o.write_timeout = seconds(s.write_timeout);
    o.suspended_hold = seconds(s.suspended_hold);
    o.state.dedup_window = s.dedup_window;
    o.state.deduplicate = !s.no_dedup;
    if (s.no_dedup)
      spdlog::warn("--no-dedup: duplicate requests WILL be applied twice (test only)");
    o.test_drop_replies_percent = std::min(s.test_drop_replies, 100u);
    if (s.test_drop_replies > 0)
      spdlog::warn("--test-drop-replies {}: replies WILL be dropped after commit (test only)",
                   s.test_drop_replies);
    if (!s.registry.empty()) {
      server::RegistryPublisherOptions p;
      for (const auto& url : s.rpc) {
        if (url.starts_with("ws://") || url.starts_with("wss://"))
          p.rpc.ws_endpoints.push_back(url);
        else
          p.rpc.http_endpoints.push_back(url);
      }
      p.rpc.chain_id = s.chain_id;
      auto address = eth::parse_address(s.registry);
      if (!address)
        throw std::invalid_argument("--registry: " + address.error().message());
      p.registry = *address;
      p.service = *service_id;
      if (s.key_file.empty() && s.key_env.empty())
        throw std::invalid_argument("--registry needs --key-file or --key-env (a manager key)");
      auto key = s.key_file.empty() ? eth::PrivateKey::from_env(s.key_env.c_str())
                                    : eth::PrivateKey::from_file(s.key_file);
      if (!key)
        throw std::invalid_argument("manager key: " + key.error().message());
      p.key = std::make_shared<const eth::PrivateKey>(std::move(*key));
      o.publisher = std::make_shared<server::RegistryPublisher>(io.get_executor(), std::move(p));
    }
    server::Node node(io.get_executor(), *app, std::move(o));
    auto ep = node.start();
    if (!ep) {
      std::cerr << "br2k-server: " << ep.error().message() << "\n";
      return 1;
    }
    boost::asio::signal_set signals(io, SIGINT, SIGTERM);
    signals.async_wait([&](const boost::system::error_code& ec, int sig) {
      if (ec)
        return;
      spdlog::info("br2k-server: signal {}: stopping", sig);
      boost::asio::co_spawn(
          io,
          [&]() -> Task<void> {
            co_await node.stop(deadline_after(seconds(s.drain_timeout)));
            io.stop();
          },
          boost::asio::detached);
    });
    io.run();
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "br2k-server: " << e.what() << "\n(see --help)\n";
    return 2;
  }
}
