// br2k-chaos: runs a fault-injection profile by hand (the papers' full experiments take 10 to 83
// minutes) and prints the papers' table, each fault's client-visible gap and the checks; --json
// writes the same as JSON. Exit status 0 when every check passed.
#include <boost/program_options.hpp>
#include <br2k/faults/harness.hpp>
#include <fstream>
#include <iostream>

int main(int argc, char** argv) {
  namespace po = boost::program_options;
  std::vector<std::string> profiles;
  std::string json_file, dir;
  std::uint32_t seed = 0;
  po::options_description desc(
      "usage: br2k-chaos --profile NAME [--profile NAME ...] [options]\n\n"
      "Runs BR2K's fault-injection profiles: a whole local deployment, a client workload through\n"
      "br2k-proxy or the SDK, nemeses (kill, pause, quorum loss, chain endpoint loss), then the\n"
      "checks (exactly once, identical replicas, lpi, log shape, fencing, linearizability).\n\n"
      "Options");
  desc.add_options()("help,h", "this help")("list", "list the profiles")(
      "profile", po::value(&profiles)->composing(), "a profile to run (repeatable)")(
      "json", po::value(&json_file), "write the reports as JSON lines to this file")(
      "seed", po::value(&seed), "random seed (0: random)")("dir", po::value(&dir),
                                                           "keep data and logs here");
  po::variables_map vm;
  try {
    po::store(po::parse_command_line(argc, argv, desc), vm);
    po::notify(vm);
  } catch (const std::exception& e) {
    std::cerr << "br2k-chaos: " << e.what() << "\n";
    return 2;
  }
  if (vm.count("help") || (profiles.empty() && !vm.count("list"))) {
    std::cout << desc << "\n";
    return vm.count("help") ? 0 : 2;
  }
  if (vm.count("list")) {
    for (const auto& p : br2k::faults::builtin_profiles())
      std::cout << p.name << ": " << p.workload << " via " << (p.via_sdk ? "sdk" : "proxy") << ", "
                << p.clients << " clients, " << p.rate << " req/s, " << p.duration_s
                << " s, faults every " << p.fault_every_min_s << "-" << p.fault_every_max_s
                << " s lasting " << p.fault_duration_s << " s"
                << (p.target_leader ? " on the leader" : " on a random node")
                << (p.planted_fault ? " [planted fault: must FAIL]" : "") << "\n";
    return 0;
  }
  br2k::faults::RunOptions o;
  o.server_binary = BR2K_SERVER_BIN;
  o.proxy_binary = BR2K_PROXY_BIN;
  if (!dir.empty())
    o.dir = dir;
  std::ofstream json;
  if (!json_file.empty())
    json.open(json_file);
  bool all = true;
  for (const auto& name : profiles) {
    auto p = br2k::faults::find_profile(name);
    if (!p) {
      std::cerr << "br2k-chaos: no profile '" << name << "' (see --list)\n";
      return 2;
    }
    p->seed = seed;
    try {
      auto r = br2k::faults::run(*p, o);
      std::cout << r.table() << std::flush;
      if (json)
        json << r.json() << "\n";
      all = all && r.passed();
    } catch (const std::exception& e) {
      std::cerr << "br2k-chaos: " << name << ": " << e.what() << "\n";
      all = false;
    }
  }
  return all ? 0 : 1;
}
