// RegistryPublisher: publishes a new leader's location on the ServiceRegistry contract.
//
// publish() returns at once; a background coroutine sends updateLocation(id, url, epoch) and
// retries it with exponential backoff until it is mined, so a slow or failing chain never holds up
// serving (PROTOCOL.md, "Leader election"). Only the newest publication matters: one queued while
// another is in flight replaces it. A StaleEpoch refusal means the registry already holds a newer
// epoch (a later leader published first): the publication is dropped, not retried.
//
// Thread-safety: construct and call on one single-threaded executor (the engine's).
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <br2k/chain/rpc_client.hpp>
#include <br2k/chain/tx_sender.hpp>
#include <br2k/registry/registry.hpp>
#include <br2k/server/location_publisher.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>

namespace br2k::server {

struct RegistryPublisherOptions {
  chain::RpcClientOptions rpc;
  chain::Address registry{};
  registry::ServiceId service{};
  std::shared_ptr<const eth::PrivateKey> key;  // a manager of the service
  // Deadline of one updateLocation transaction (estimate, send, receipt).
  std::chrono::milliseconds transaction_timeout{30000};
  std::chrono::milliseconds backoff_initial{200};
  std::chrono::milliseconds backoff_max{10000};
};

class RegistryPublisher final : public LocationPublisher {
 public:
  struct Status {
    std::optional<registry::Location> wanted;     // the newest publication asked for
    std::optional<registry::Location> published;  // the newest one mined
    std::uint64_t attempts = 0;
    std::uint64_t failures = 0;
    std::string last_error;
  };

  // Throws std::invalid_argument for bad RPC configuration or a missing key.
  RegistryPublisher(boost::asio::any_io_executor executor, RegistryPublisherOptions options);
  ~RegistryPublisher() override;

  void publish(std::string url, std::uint64_t epoch) override;
  // Stops retrying; a transaction in flight may still be mined.
  void stop();
  const Status& status() const;

  struct State;

 private:
  std::shared_ptr<State> state_;
};

}  // namespace br2k::server
