// br2k-registry: the operators' command-line tool for the ServiceRegistry contract.
//
//   br2k-registry [global options] <command> [command options]
//
// Results go to stdout as JSON (one object; `watch` prints one object per line); errors go to
// stderr with exit status 1, usage errors with 2. The private key is read from a file or an
// environment variable and never printed.
#include <spdlog/sinks/stdout_color_sinks.h>  // also declares stderr_color_mt
#include <spdlog/spdlog.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/program_options.hpp>
#include <br2k/chain/rpc_client.hpp>
#include <br2k/chain/tx_sender.hpp>
#include <br2k/eth/key.hpp>
#include <br2k/registry/registry.hpp>
#include <br2k/registry/watcher.hpp>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace {

namespace asio = boost::asio;
namespace po = boost::program_options;
using namespace br2k;
using nlohmann::json;

constexpr const char* kUsage = R"(usage: br2k-registry [global options] <command> [options]

Commands:
  deploy            deploy a new ServiceRegistry contract; prints its address
  register          register a service (the key's account becomes its provider)
  update-location   publish a new location with a higher epoch (managers only)
  add-manager       allow an account to update a service (provider only)
  remove-manager    take that right away (provider only)
  show              print a service's whole record
  location          print a service's location and epoch
  claim             file a claim that a service's location does not answer
  watch             print NewLocation and Claim events, one JSON object per line

`br2k-registry <command> --help` describes a command's options.
)";

struct Global {
  std::vector<std::string> rpc;
  std::optional<std::uint64_t> chain_id;
  std::string key_file;
  std::string key_env = "BR2K_PRIVATE_KEY";
  std::string registry;
  double timeout = 60;
};

struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// What a command needs: RPC, an optional sender, the registry client.
struct Context {
  asio::io_context io;
  std::unique_ptr<chain::RpcClient> rpc;
  std::unique_ptr<chain::TxSender> sender;
  std::unique_ptr<registry::RegistryClient> client;
  Deadline deadline;
};

std::string checksum(const eth::Address& a) {
  return eth::to_checksum_address(a);
}

json receipt_json(const chain::Receipt& r) {
  return {{"transaction", chain::hex_hash(r.transaction_hash)},
          {"block", r.block_number},
          {"gas_used", r.gas_used},
          {"status", r.success ? "success" : "reverted"}};
}

json event_json(const registry::Event& e) {
  json j;
  if (const auto* n = std::get_if<registry::NewLocationEvent>(&e.body)) {
    j = {{"event", "NewLocation"},
         {"id", registry::to_string(n->id)},
         {"location", n->location},
         {"epoch", n->epoch}};
  } else {
    const auto& c = std::get<registry::ClaimEvent>(e.body);
    j = {{"event", "Claim"},
         {"id", registry::to_string(c.id)},
         {"failed_location", c.failed_location},
         {"claimer", checksum(c.claimer)},
         {"failed_epoch", c.failed_epoch},
         {"reason", c.reason}};
  }
  j["block"] = e.log.block_number;
  j["log_index"] = e.log.log_index;
  j["transaction"] = chain::hex_hash(e.log.transaction_hash);
  j["removed"] = e.log.removed;
  return j;
}

// Runs `task` on the context's io_context and returns its result.
template <class T>
Result<T> run(Context& ctx, std::function<Task<Result<T>>()> task) {
  std::optional<Result<T>> out;
  asio::co_spawn(
      ctx.io, [&]() -> Task<void> { out = co_await task(); },
      [](std::exception_ptr e) {
        if (e)
          std::rethrow_exception(e);
      });
  ctx.io.run();
  ctx.io.restart();
  return std::move(*out);
}

eth::Address parse_address_or_usage(const std::string& text, const char* what) {
  auto a = eth::parse_address(text);
  if (!a)
    throw UsageError(std::string(what) + ": " + a.error().message());
  return *a;
}

registry::ServiceId parse_id_or_usage(const std::string& text) {
  auto id = registry::parse_service_id(text);
  if (!id)
    throw UsageError(id.error().message());
  return *id;
}

void setup(Context& ctx, const Global& g, bool needs_key, bool needs_registry) {
  if (g.rpc.empty())
    throw UsageError("--rpc: at least one endpoint is required");
  chain::RpcClientOptions options;
  for (const auto& url : g.rpc) {
    if (url.rfind("ws://", 0) == 0 || url.rfind("wss://", 0) == 0)
      options.ws_endpoints.push_back(url);
    else
      options.http_endpoints.push_back(url);
  }
  options.chain_id = g.chain_id;
  try {
    ctx.rpc = std::make_unique<chain::RpcClient>(ctx.io.get_executor(), options);
  } catch (const std::invalid_argument& e) {
    throw UsageError(std::string("--rpc: ") + e.what());
  }
  ctx.deadline = Clock::now() + std::chrono::milliseconds(static_cast<long>(g.timeout * 1000));
  if (needs_key) {
    auto key = g.key_file.empty() ? eth::PrivateKey::from_env(g.key_env.c_str())
                                  : eth::PrivateKey::from_file(g.key_file);
    if (!key) {
      throw UsageError(
          "private key (" +
          (g.key_file.empty() ? "environment variable " + g.key_env : "file " + g.key_file) +
          "): " + key.error().message());
    }
    chain::TxSenderOptions sender_options;
    sender_options.chain_id = g.chain_id;
    sender_options.custom_errors = registry::registry_errors();
    ctx.sender = std::make_unique<chain::TxSender>(*ctx.rpc, std::move(*key), sender_options);
  }
  if (needs_registry) {
    std::string address = g.registry;
    if (address.empty()) {
      if (const char* env = std::getenv("BR2K_REGISTRY"))
        address = env;
    }
    if (address.empty())
      throw UsageError("--registry (or BR2K_REGISTRY) is required");
    ctx.client = std::make_unique<registry::RegistryClient>(
        *ctx.rpc, parse_address_or_usage(address, "--registry"), ctx.sender.get());
  }
}

// Parses a command's options; prints its help and returns nullopt for --help.
std::optional<po::variables_map> parse_command(const std::string& name, const char* summary,
                                               po::options_description& options,
                                               const std::vector<std::string>& args) {
  options.add_options()("help,h", "describe this command");
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(args).options(options).run(), vm);
    if (vm.count("help")) {
      std::cout << "usage: br2k-registry [global options] " << name << " [options]\n\n"
                << summary << "\n\n"
                << options << "\n";
      return std::nullopt;
    }
    po::notify(vm);
  } catch (const po::error& e) {
    throw UsageError(name + ": " + e.what());
  }
  return vm;
}

void print_result(const Result<chain::Receipt>& r) {
  if (!r)
    throw std::runtime_error(r.error().message());
  std::cout << receipt_json(*r).dump() << "\n";
}

int cmd_deploy(const Global& g, const std::vector<std::string>& args) {
  po::options_description o("deploy options");
  if (!parse_command("deploy", "Deploys a new ServiceRegistry from the bytecode built with BR2K.",
                     o, args))
    return 0;
  Context ctx;
  setup(ctx, g, true, false);
  auto address = run<eth::Address>(
      ctx, [&]() { return registry::RegistryClient::deploy(*ctx.sender, ctx.deadline); });
  if (!address)
    throw std::runtime_error(address.error().message());
  std::cout << json{{"registry", checksum(*address)}}.dump() << "\n";
  return 0;
}

int cmd_register(const Global& g, const std::vector<std::string>& args) {
  po::options_description o("register options");
  registry::Registration r;
  std::string id, digest;
  o.add_options()("id", po::value(&id)->required(),
                  "service id (text up to 32 bytes, or 0x+64 hex)")(
      "location", po::value(&r.location)->required(), "the service's URL")(
      "name", po::value(&r.name), "display name")("description", po::value(&r.description),
                                                  "description")("image", po::value(&r.image),
                                                                 "container image reference")(
      "image-digest", po::value(&digest), "sha256 digest of the image (0x + 64 hex)");
  if (!parse_command("register", "Registers a service; the key's account becomes its provider.", o,
                     args))
    return 0;
  r.id = parse_id_or_usage(id);
  if (!digest.empty()) {
    auto d = from_hex(digest);
    if (!d || d->size() != 32)
      throw UsageError("--image-digest: 0x and 64 hex digits");
    std::copy(d->begin(), d->end(), r.image_digest.begin());
  }
  Context ctx;
  setup(ctx, g, true, true);
  print_result(run<chain::Receipt>(
      ctx, [&]() { return ctx.client->register_service(std::move(r), ctx.deadline); }));
  return 0;
}

int cmd_update_location(const Global& g, const std::vector<std::string>& args) {
  po::options_description o("update-location options");
  std::string id, location;
  std::uint64_t epoch = 0;
  o.add_options()("id", po::value(&id)->required(), "service id")(
      "location", po::value(&location)->required(), "the new URL")(
      "epoch", po::value(&epoch)->required(), "the new epoch; must exceed the stored one");
  if (!parse_command("update-location", "Publishes a new location (managers only).", o, args))
    return 0;
  auto sid = parse_id_or_usage(id);
  Context ctx;
  setup(ctx, g, true, true);
  print_result(run<chain::Receipt>(
      ctx, [&]() { return ctx.client->update_location(sid, location, epoch, ctx.deadline); }));
  return 0;
}

int cmd_manager(const Global& g, const std::vector<std::string>& args, bool add) {
  const std::string name = add ? "add-manager" : "remove-manager";
  po::options_description o(name + " options");
  std::string id, account;
  o.add_options()("id", po::value(&id)->required(), "service id")(
      "account", po::value(&account)->required(), "the manager's address");
  if (!parse_command(name,
                     add ? "Allows an account to update the service (provider only)."
                         : "Takes an account's right to update the service away (provider only).",
                     o, args))
    return 0;
  auto sid = parse_id_or_usage(id);
  auto a = parse_address_or_usage(account, "--account");
  Context ctx;
  setup(ctx, g, true, true);
  print_result(run<chain::Receipt>(ctx, [&]() {
    return add ? ctx.client->add_manager(sid, a, ctx.deadline)
               : ctx.client->remove_manager(sid, a, ctx.deadline);
  }));
  return 0;
}

int cmd_show(const Global& g, const std::vector<std::string>& args, bool location_only) {
  const std::string name = location_only ? "location" : "show";
  po::options_description o(name + " options");
  std::string id;
  o.add_options()("id", po::value(&id)->required(), "service id");
  if (!parse_command(name,
                     location_only ? "Prints the service's location and its epoch."
                                   : "Prints the service's whole record.",
                     o, args))
    return 0;
  auto sid = parse_id_or_usage(id);
  Context ctx;
  setup(ctx, g, false, true);
  if (location_only) {
    auto l = run<registry::Location>(
        ctx, [&]() { return ctx.client->get_service_location(sid, ctx.deadline); });
    if (!l)
      throw std::runtime_error(l.error().message());
    std::cout << json{{"location", l->url}, {"epoch", l->epoch}}.dump() << "\n";
    return 0;
  }
  auto s = run<registry::ServiceRecord>(
      ctx, [&]() { return ctx.client->get_service(sid, ctx.deadline); });
  if (!s)
    throw std::runtime_error(s.error().message());
  json managers = json::array();
  for (const auto& m : s->managers)
    managers.push_back(checksum(m));
  std::cout << json{{"id", registry::to_string(sid)},
                    {"provider", checksum(s->provider)},
                    {"location", s->location},
                    {"epoch", s->location_epoch},
                    {"name", s->name},
                    {"description", s->description},
                    {"managers", managers},
                    {"image", s->image},
                    {"image_digest", chain::hex_hash(s->image_digest)},
                    {"backup_version", s->backup_version},
                    {"snapshot_hash", chain::hex_hash(s->snapshot_hash)},
                    {"backup_storage_location", s->backup_storage_location},
                    {"backup_log_bytes", s->backup_log.size()}}
                   .dump(2)
            << "\n";
  return 0;
}

int cmd_claim(const Global& g, const std::vector<std::string>& args) {
  po::options_description o("claim options");
  std::string id, location, reason;
  std::uint64_t epoch = 0;
  o.add_options()("id", po::value(&id)->required(), "service id")(
      "location", po::value(&location)->required(), "the location that does not answer")(
      "epoch", po::value(&epoch)->required(), "that location's epoch (as `location` printed)")(
      "reason", po::value(&reason), "free text for the operators");
  if (!parse_command("claim", "Files a claim that the service's current location fails.", o, args))
    return 0;
  auto sid = parse_id_or_usage(id);
  Context ctx;
  setup(ctx, g, true, true);
  print_result(run<chain::Receipt>(
      ctx, [&]() { return ctx.client->send_claim(sid, location, epoch, reason, ctx.deadline); }));
  return 0;
}

int cmd_watch(const Global& g, const std::vector<std::string>& args) {
  po::options_description o("watch options");
  std::string id;
  std::optional<std::uint64_t> from_block;
  std::uint64_t confirmations = 0, count = 0;
  o.add_options()("id", po::value(&id), "only this service (default: every service)")(
      "from-block", po::value<std::uint64_t>(), "first block (default: from now on)")(
      "confirmations", po::value(&confirmations), "blocks on top before an event is printed")(
      "count", po::value(&count), "exit after this many events (default: run until Ctrl-C)")(
      "poll", "poll over HTTP even if a WebSocket endpoint is given")(
      "no-locations", "leave NewLocation events out")("no-claims", "leave Claim events out");
  auto vm = parse_command(
      "watch", "Prints NewLocation and Claim events as JSON lines, each exactly once.", o, args);
  if (!vm)
    return 0;
  if (vm->count("from-block"))
    from_block = (*vm)["from-block"].as<std::uint64_t>();
  Context ctx;
  setup(ctx, g, false, true);
  registry::WatcherOptions options;
  options.contract = ctx.client->contract();
  if (!id.empty())
    options.service = parse_id_or_usage(id);
  options.from_block = from_block;
  options.confirmations = confirmations;
  options.polling_only = vm->count("poll") > 0;
  options.new_location = vm->count("no-locations") == 0;
  options.claims = vm->count("no-claims") == 0;
  std::uint64_t seen = 0;
  std::shared_ptr<registry::Watcher> watcher;
  asio::signal_set signals(ctx.io, SIGINT, SIGTERM);
  watcher = registry::Watcher::create(ctx.io.get_executor(), *ctx.rpc, options,
                                      [&](const registry::Event& e) {
                                        std::cout << event_json(e).dump() << std::endl;
                                        if (count != 0 && ++seen >= count) {
                                          watcher->stop();
                                          signals.cancel();
                                        }
                                      });
  signals.async_wait([&](const boost::system::error_code& ec, int) {
    if (!ec)
      watcher->stop();
  });
  watcher->start();
  ctx.io.run();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // Logs go to stderr: stdout carries only the command's JSON (one object per line for `watch`).
  spdlog::set_default_logger(spdlog::stderr_color_mt("br2k-registry"));
  spdlog::set_level(spdlog::level::warn);
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
  Global g;
  po::options_description global("Global options");
  global.add_options()("help,h", "print this help")(
      "rpc", po::value(&g.rpc)->composing(),
      "chain node endpoint, http(s):// or ws(s)://; repeat for failover")(
      "chain-id", po::value<std::uint64_t>(), "refuse nodes of another chain")(
      "key-file", po::value(&g.key_file), "file holding the hex private key")(
      "key-env", po::value(&g.key_env)->default_value(g.key_env),
      "environment variable holding the hex private key (when no --key-file)")(
      "registry", po::value(&g.registry), "registry contract address (or BR2K_REGISTRY)")(
      "timeout", po::value(&g.timeout)->default_value(g.timeout), "seconds for the whole command")(
      "log-level", po::value<std::string>()->default_value("warn"),
      "trace, debug, info, warn, error");
  po::options_description hidden;
  hidden.add_options()("command", po::value<std::string>())("args",
                                                            po::value<std::vector<std::string>>());
  po::options_description all;
  all.add(global).add(hidden);
  po::positional_options_description positional;
  positional.add("command", 1).add("args", -1);

  try {
    po::variables_map vm;
    auto parsed = po::command_line_parser(argc, argv)
                      .options(all)
                      .positional(positional)
                      .allow_unregistered()
                      .run();
    po::store(parsed, vm);
    po::notify(vm);
    if (!vm.count("command")) {
      std::cout << kUsage << "\n" << global << "\n";
      return vm.count("help") ? 0 : 2;
    }
    if (vm.count("chain-id"))
      g.chain_id = vm["chain-id"].as<std::uint64_t>();
    spdlog::set_level(spdlog::level::from_str(vm["log-level"].as<std::string>()));
    const auto command = vm["command"].as<std::string>();
    auto args = po::collect_unrecognized(parsed.options, po::include_positional);
    args.erase(args.begin());  // the command itself
    if (vm.count("help"))
      args.push_back("--help");

    if (command == "deploy")
      return cmd_deploy(g, args);
    if (command == "register")
      return cmd_register(g, args);
    if (command == "update-location")
      return cmd_update_location(g, args);
    if (command == "add-manager")
      return cmd_manager(g, args, true);
    if (command == "remove-manager")
      return cmd_manager(g, args, false);
    if (command == "show")
      return cmd_show(g, args, false);
    if (command == "location")
      return cmd_show(g, args, true);
    if (command == "claim")
      return cmd_claim(g, args);
    if (command == "watch")
      return cmd_watch(g, args);
    if (command == "help") {
      std::cout << kUsage << "\n" << global << "\n";
      return 0;
    }
    throw UsageError("unknown command '" + command + "'");
  } catch (const UsageError& e) {
    std::cerr << "br2k-registry: " << e.what() << "\n(see br2k-registry --help)\n";
    return 2;
  } catch (const po::error& e) {
    std::cerr << "br2k-registry: " << e.what() << "\n(see br2k-registry --help)\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "br2k-registry: " << e.what() << "\n";
    return 1;
  }
}
