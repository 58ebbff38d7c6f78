// BlockingServiceClient: the ServiceClient behind a synchronous facade, for applications that do
// not use Asio. It owns an io_context run by one background thread; every call hands its work to
// that thread and waits for the result.
//
//   br2k::client::ServiceClientOptions o;
//   o.service = br2k::registry::parse_service_id("demo").value();
//   o.registry = br2k::eth::parse_address("0x...").value();
//   o.rpc.http_endpoints = {"http://127.0.0.1:8545"};
//   o.rpc.ws_endpoints = {"ws://127.0.0.1:8545"};
//   br2k::client::BlockingServiceClient client(o);
//   auto reply = client.post("/numbers", "{\"value\": 7}");  // follows the leader, retries safely
//   if (reply) std::cout << reply->body() << "\n"; else std::cerr << reply.error() << "\n";
//
// Guarantees and errors are ServiceClient's (service_client.hpp): a POST gets an Idempotency-Key,
// so it is applied exactly once however many times it is retried.
//
// Thread-safety: every method may be called from any thread, concurrently; requests from several
// threads run concurrently on the background thread. Do not call it from inside an Asio handler
// of its own thread (it would wait for itself).
#pragma once

#include <br2k/client/service_client.hpp>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace br2k::client {

class BlockingServiceClient {
 public:
  // Starts the background thread and the client (resolution begins at once).
  // Throws std::invalid_argument for bad configuration, as ServiceClient::create.
  explicit BlockingServiceClient(ServiceClientOptions options);
  // Stops the client (requests in flight end with kCancelled) and joins the thread.
  ~BlockingServiceClient();
  BlockingServiceClient(const BlockingServiceClient&) = delete;
  BlockingServiceClient& operator=(const BlockingServiceClient&) = delete;

  // ServiceClient::request, waited for.
  Result<net::HttpResponse> request(net::HttpRequest request, RequestOptions options = {});
  // Conveniences: GET `target`; POST/PUT `body` (Content-Type application/json unless given).
  Result<net::HttpResponse> get(std::string_view target, RequestOptions options = {});
  Result<net::HttpResponse> post(std::string_view target, std::string body,
                                 std::string_view content_type = "application/json",
                                 RequestOptions options = {});
  Result<net::HttpResponse> put(std::string_view target, std::string body,
                                std::string_view content_type = "application/json",
                                RequestOptions options = {});

  // Snapshots taken on the background thread.
  std::optional<registry::Location> location() const;
  ClientStats stats() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace br2k::client
