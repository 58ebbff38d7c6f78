// Test base for the registry and transaction tests: a real anvil node, an RPC client, a sender
// with anvil's first dev account, and a freshly deployed ServiceRegistry.
#pragma once

#include <gtest/gtest.h>

#include <br2k/chain/rpc_client.hpp>
#include <br2k/chain/tx_sender.hpp>
#include <br2k/eth/key.hpp>
#include <br2k/registry/registry.hpp>
#include <br2k/testing/anvil.hpp>
#include <memory>
#include <string>
#include <string_view>

#include "../async_test.hpp"

namespace br2k::testing {

// Accounts 1 and 2 of anvil's default mnemonic ("test test ... junk"), funded like account 0.
inline constexpr std::string_view kSecondKey =
    "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";
inline constexpr std::string_view kThirdKey =
    "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a";

inline eth::PrivateKey key(std::string_view hex) {
  return eth::PrivateKey::from_hex(hex).value();
}

inline chain::TxSenderOptions registry_sender_options() {
  chain::TxSenderOptions o;
  o.receipt_poll_interval = std::chrono::milliseconds(20);
  o.custom_errors = registry::registry_errors();
  return o;
}

class RegistryTestBase : public ::testing::Test, public AsyncTest {
 protected:
  explicit RegistryTestBase(AnvilOptions anvil_options = {}) : anvil_(std::move(anvil_options)) {}

  void SetUp() override {
    chain::RpcClientOptions options;
    options.http_endpoints = {anvil_.http_url()};
    options.ws_endpoints = {anvil_.ws_url()};
    rpc_ = std::make_unique<chain::RpcClient>(io_.get_executor(), options);
    sender_ = std::make_unique<chain::TxSender>(*rpc_, key(Anvil::kDevPrivateKey),
                                                registry_sender_options());
    if (deploy_) {
      auto address = run(registry::RegistryClient::deploy(*sender_, deadline()));
      ASSERT_TRUE(address) << address.error();
      registry_ = std::make_unique<registry::RegistryClient>(*rpc_, *address, sender_.get());
    }
  }

  static Deadline deadline(std::chrono::milliseconds d = std::chrono::milliseconds(20000)) {
    return Clock::now() + d;
  }

  registry::ServiceId id(std::string_view text) { return registry::parse_service_id(text).value(); }

  // Registers `name` with the dev account as provider, at location `location`.
  void register_service(std::string_view name, std::string location = "http://127.0.0.1:1/") {
    registry::Registration r;
    r.id = id(name);
    r.name = std::string(name);
    r.description = "test service";
    r.location = std::move(location);
    r.image = "registry.example/app:1";
    auto receipt = run(registry_->register_service(std::move(r), deadline()));
    ASSERT_TRUE(receipt) << receipt.error();
  }

  Anvil anvil_;
  bool deploy_ = true;
  std::unique_ptr<chain::RpcClient> rpc_;
  std::unique_ptr<chain::TxSender> sender_;
  std::unique_ptr<registry::RegistryClient> registry_;
};

}  // namespace br2k::testing
