// BlockingServiceClient: see blocking_client.hpp.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_future.hpp>
#include <br2k/client/blocking_client.hpp>
#include <future>
#include <thread>

namespace br2k::client {

namespace asio = boost::asio;
namespace http = boost::beast::http;

struct BlockingServiceClient::Impl {
  asio::io_context io{1};
  asio::executor_work_guard<asio::io_context::executor_type> work{io.get_executor()};
  std::shared_ptr<ServiceClient> client;
  std::thread thread;

  // Runs `f` on the client's thread and returns its result.
  template <class F>
  auto on_thread(F f) const -> decltype(f()) {
    std::packaged_task<decltype(f())()> task(std::move(f));
    auto result = task.get_future();
    asio::post(const_cast<asio::io_context&>(io), [&task] { task(); });
    return result.get();
  }
};

BlockingServiceClient::BlockingServiceClient(ServiceClientOptions options)
    : impl_(std::make_unique<Impl>()) {
  impl_->client = ServiceClient::create(impl_->io.get_executor(), std::move(options));
  impl_->thread = std::thread([impl = impl_.get()] { impl->io.run(); });
  impl_->on_thread([impl = impl_.get()] {
    impl->client->start();
    return 0;
  });
}

BlockingServiceClient::~BlockingServiceClient() {
  impl_->on_thread([impl = impl_.get()] {
    impl->client->stop();
    return 0;
  });
  impl_->work.reset();
  // stop() ends the background work; what remains (closing connections) is bounded by their
  // deadlines. Stop the context so the thread does not wait for them.
  impl_->io.stop();
  impl_->thread.join();
}

Result<net::HttpResponse> BlockingServiceClient::request(net::HttpRequest request,
                                                         RequestOptions options) {
  auto fut = asio::co_spawn(
      impl_->io, impl_->client->request(std::move(request), std::move(options)), asio::use_future);
  return fut.get();
}

Result<net::HttpResponse> BlockingServiceClient::get(std::string_view target,
                                                     RequestOptions options) {
  net::HttpRequest r{http::verb::get, target, 11};
  return request(std::move(r), std::move(options));
}

namespace {
net::HttpRequest with_body(http::verb verb, std::string_view target, std::string body,
                           std::string_view content_type) {
  net::HttpRequest r{verb, target, 11};
  r.set(http::field::content_type, content_type);
  r.body() = std::move(body);
  r.prepare_payload();
  return r;
}
}  // namespace

Result<net::HttpResponse> BlockingServiceClient::post(std::string_view target, std::string body,
                                                      std::string_view content_type,
                                                      RequestOptions options) {
  return request(with_body(http::verb::post, target, std::move(body), content_type),
                 std::move(options));
}

Result<net::HttpResponse> BlockingServiceClient::put(std::string_view target, std::string body,
                                                     std::string_view content_type,
                                                     RequestOptions options) {
  return request(with_body(http::verb::put, target, std::move(body), content_type),
                 std::move(options));
}

std::optional<registry::Location> BlockingServiceClient::location() const {
  return impl_->on_thread([c = impl_->client] { return c->location(); });
}

ClientStats BlockingServiceClient::stats() const {
  return impl_->on_thread([c = impl_->client] { return c->stats(); });
}

}  // namespace br2k::client
