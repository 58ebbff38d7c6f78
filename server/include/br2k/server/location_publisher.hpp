// Where a new leader announces itself: the seam between the engine and the service registry.
//
// The engine calls publish() once it has caught up and before it serves (PROTOCOL.md, "Leader
// election"). publish() must return at once; the work (an updateLocation transaction) happens in
// the background and is retried there, so a slow chain never holds up serving.
// RegistryPublisher (registry_publisher.hpp) is the real one.
//
// Thread-safety: called on the engine's executor.
#pragma once

#include <cstdint>
#include <string>

namespace br2k::server {

class LocationPublisher {
 public:
  LocationPublisher() = default;
  LocationPublisher(const LocationPublisher&) = delete;
  LocationPublisher& operator=(const LocationPublisher&) = delete;
  virtual ~LocationPublisher() = default;

  // Asks for `url` to be published as the service's location at `epoch`. A call with an epoch
  // not above the last one asked for is ignored.
  virtual void publish(std::string url, std::uint64_t epoch) = 0;
};

}  // namespace br2k::server
