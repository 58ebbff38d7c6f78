// br2k-registry, the operators' tool, run as a program against a real anvil node.
#include <gtest/gtest.h>

#include <br2k/testing/anvil.hpp>
#include <br2k/testing/process.hpp>
#include <br2k/testing/temp_dir.hpp>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace br2k::testing {
namespace {

using nlohmann::json;

class RegistryCliTest : public ::testing::Test {
 protected:
  CommandResult cli(std::vector<std::string> args, bool with_key = true) {
    std::vector<std::string> argv = {BR2K_REGISTRY_CLI, "--rpc", anvil_.http_url(), "--timeout",
                                     "30"};
    if (!registry_.empty())
      argv.insert(argv.end(), {"--registry", registry_});
    argv.insert(argv.end(), args.begin(), args.end());
    ProcessOptions options{argv, {}, dir_.path() / "cli.log"};
    if (with_key)
      options.env.emplace_back("BR2K_PRIVATE_KEY", std::string(Anvil::kDevPrivateKey));
    return run_command(options, std::chrono::seconds(60));
  }

  // The last line of the output, as JSON.
  static json last_json(const CommandResult& r) {
    std::istringstream in(r.output);
    std::string line, last;
    while (std::getline(in, line))
      if (!line.empty() && line[0] == '{')
        last = line;
    return json::parse(last, nullptr, false);
  }

  void deploy() {
    auto r = cli({"deploy"});
    ASSERT_EQ(r.exit_status, 0) << r.output;
    registry_ = last_json(r)["registry"].get<std::string>();
    ASSERT_EQ(registry_.size(), 42u);
  }

  Anvil anvil_;
  TempDir dir_;
  std::string registry_;
};

TEST_F(RegistryCliTest, DeployRegisterUpdateShowClaimAndWatch) {
  deploy();
  auto reg = cli({"register", "--id", "svc-cli", "--location", "http://a:1/", "--name", "Cli"});
  ASSERT_EQ(reg.exit_status, 0) << reg.output;
  EXPECT_EQ(last_json(reg)["status"], "success");
  auto upd =
      cli({"update-location", "--id", "svc-cli", "--location", "http://b:2/", "--epoch", "5"});
  ASSERT_EQ(upd.exit_status, 0) << upd.output;

  auto loc = cli({"location", "--id", "svc-cli"}, false);
  ASSERT_EQ(loc.exit_status, 0) << loc.output;
  EXPECT_EQ(last_json(loc), (json{{"location", "http://b:2/"}, {"epoch", 5}}));

  auto show = cli({"show", "--id", "svc-cli"}, false);
  ASSERT_EQ(show.exit_status, 0) << show.output;
  auto record = json::parse(show.output.substr(show.output.find('{')));
  EXPECT_EQ(record["name"], "Cli");
  EXPECT_EQ(record["provider"], std::string(Anvil::kDevAddress));
  EXPECT_EQ(record["managers"].size(), 1u);

  auto claim = cli({"claim", "--id", "svc-cli", "--location", "http://b:2/", "--epoch", "5",
                    "--reason", "no answer"});
  ASSERT_EQ(claim.exit_status, 0) << claim.output;

  // Everything so far, from block 0, as JSON lines: registration's location, the update, the claim.
  auto watch = cli({"watch", "--id", "svc-cli", "--from-block", "0", "--count", "3"}, false);
  ASSERT_EQ(watch.exit_status, 0) << watch.output;
  std::istringstream lines(watch.output);
  std::vector<json> events;
  for (std::string line; std::getline(lines, line);)
    if (!line.empty() && line[0] == '{')
      events.push_back(json::parse(line));
  ASSERT_EQ(events.size(), 3u) << watch.output;
  EXPECT_EQ(events[0]["event"], "NewLocation");
  EXPECT_EQ(events[0]["epoch"], 0);
  EXPECT_EQ(events[1]["location"], "http://b:2/");
  EXPECT_EQ(events[2]["event"], "Claim");
  EXPECT_EQ(events[2]["reason"], "no answer");
  EXPECT_EQ(events[2]["claimer"], std::string(Anvil::kDevAddress));
}

TEST_F(RegistryCliTest, RefusalsAreDecodedOnStderrWithExitStatusOne) {
  deploy();
  ASSERT_EQ(cli({"register", "--id", "svc", "--location", "http://a/"}).exit_status, 0);
  ASSERT_EQ(cli({"update-location", "--id", "svc", "--location", "http://b/", "--epoch", "3"})
                .exit_status,
            0);
  auto stale = cli({"update-location", "--id", "svc", "--location", "http://c/", "--epoch", "2"});
  EXPECT_EQ(stale.exit_status, 1);
  EXPECT_NE(stale.output.find("StaleEpoch"), std::string::npos) << stale.output;
  auto missing = cli({"location", "--id", "nope"}, false);
  EXPECT_EQ(missing.exit_status, 1);
  EXPECT_NE(missing.output.find("not found"), std::string::npos) << missing.output;
}

TEST_F(RegistryCliTest, HelpAndUsageErrors) {
  auto help = cli({"--help"}, false);
  EXPECT_EQ(help.exit_status, 0);
  EXPECT_NE(help.output.find("update-location"), std::string::npos);
  for (const char* command : {"deploy", "register", "update-location", "add-manager",
                              "remove-manager", "show", "location", "claim", "watch"}) {
    auto r = cli({command, "--help"}, false);
    EXPECT_EQ(r.exit_status, 0) << command << r.output;
    EXPECT_NE(r.output.find(std::string("usage: br2k-registry [global options] ") + command),
              std::string::npos)
        << r.output;
  }
  EXPECT_EQ(cli({"frobnicate"}, false).exit_status, 2);
  EXPECT_EQ(cli({"register", "--location", "http://x/"}).exit_status, 2);  // no --id
  auto no_key = cli({"deploy"}, false);
  EXPECT_EQ(no_key.exit_status, 2);
  EXPECT_NE(no_key.output.find("BR2K_PRIVATE_KEY"), std::string::npos) << no_key.output;
  auto bad_address = cli({"add-manager", "--id", "x", "--account", "0x1234"});
  EXPECT_EQ(bad_address.exit_status, 2) << bad_address.output;
}

TEST_F(RegistryCliTest, TheKeyNeverAppearsInOutput) {
  // A malformed key in the file: the error names the file, never its content.
  auto file = dir_.path() / "key";
  const std::string secret = "0x11112222333344445555666677778888999900001111222233334444zzzz";
  std::ofstream(file) << secret << "\n";
  std::vector<std::string> argv = {BR2K_REGISTRY_CLI, "--rpc",       anvil_.http_url(),
                                   "--key-file",      file.string(), "deploy"};
  auto r = run_command({argv, {}, dir_.path() / "cli.log"}, std::chrono::seconds(30));
  EXPECT_EQ(r.exit_status, 2);
  EXPECT_EQ(r.output.find("1111222233334444"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find(file.string()), std::string::npos) << r.output;
}

}  // namespace
}  // namespace br2k::testing
