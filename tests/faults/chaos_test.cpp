// The fault-injection suite in CI: the papers' experiments in their scaled profiles, the key-value
// workload with every nemesis and the linearizability check, and the planted fault that the checks
// must catch (harness.hpp).
#include <gtest/gtest.h>

#include <br2k/faults/harness.hpp>
#include <br2k/testing/virtual_network.hpp>
#include <iostream>

namespace br2k::faults {
namespace {

RunOptions run_options() {
  RunOptions o;
  o.server_binary = BR2K_SERVER_BIN;
  o.proxy_binary = BR2K_PROXY_BIN;
  o.progress = false;
  return o;
}

Report run_profile(const std::string& name) {
  auto p = find_profile(name);
  if (!p)
    throw std::runtime_error("no profile " + name);
  auto r = run(*p, run_options());
  std::cout << r.table() << r.json() << "\n";
  return r;
}

void expect_passed(const Report& r) {
  for (const auto& c : r.checks)
    EXPECT_TRUE(c.ok) << c.name << ": " << c.detail;
  EXPECT_GT(r.succeeded, 0u);
}

// The network nemeses need root (network namespaces); they are skipped, loudly, where it lacks.
#define SKIP_WITHOUT_NAMESPACES()                                               \
  if (auto why = testing::VirtualNetwork::unsupported_reason(); !why.empty()) { \
    GTEST_SKIP() << why;                                                        \
  }

TEST(Chaos, Paper000ShapeNodesFailAtRandom) {
  SKIP_WITHOUT_NAMESPACES();
  auto r = run_profile("ci-paper000");
  expect_passed(r);
  EXPECT_GE(r.faults.size(), 2u);
}

TEST(Chaos, Paper001ShapeTheLeaderIsPaused) {
  auto r = run_profile("ci-paper001");
  expect_passed(r);
  EXPECT_GE(r.leader_changes, 1u);
}

TEST(Chaos, KvThroughTheProxyUnderEveryNemesisIsLinearizable) {
  auto r = run_profile("ci-kv");
  expect_passed(r);
  EXPECT_EQ(r.linearizability, "linearizable");
}

TEST(Chaos, KvThroughTheSdkIsLinearizable) {
  auto r = run_profile("ci-kv-sdk");
  expect_passed(r);
  EXPECT_EQ(r.linearizability, "linearizable");
}

TEST(Chaos, KvUnderNetworkFaultsOnTheLeaderIsLinearizable) {
  SKIP_WITHOUT_NAMESPACES();
  auto r = run_profile("ci-net");
  expect_passed(r);
  EXPECT_EQ(r.linearizability, "linearizable");
  EXPECT_GE(r.leader_changes, 1u);
}

TEST(Chaos, FiveNodesUnderEveryNodeAndNetworkFault) {
  SKIP_WITHOUT_NAMESPACES();
  auto r = run_profile("ci-five");
  expect_passed(r);
  EXPECT_EQ(r.linearizability, "linearizable");
}

// Deduplication off and replies held back after commit (so the proxy retries them): the run must
// be reported as failed, by the exactly-once check.
TEST(Chaos, ThePlantedFaultIsCaught) {
  auto r = run_profile("ci-planted");
  EXPECT_FALSE(r.passed());
  bool caught = false;
  for (const auto& c : r.checks)
    if (c.name.starts_with("every acknowledged request applied exactly once"))
      caught = !c.ok;
  EXPECT_TRUE(caught) << r.table();
}

}  // namespace
}  // namespace br2k::faults
