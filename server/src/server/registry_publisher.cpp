// RegistryPublisher: see registry_publisher.hpp.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <br2k/server/registry_publisher.hpp>
#include <stdexcept>

namespace br2k::server {

namespace asio = boost::asio;

struct RegistryPublisher::State : std::enable_shared_from_this<RegistryPublisher::State> {
  State(asio::any_io_executor ex, RegistryPublisherOptions o)
      : executor(std::move(ex)), options(std::move(o)), timer(executor) {
    if (!options.key)
      throw std::invalid_argument("registry publisher: no key");
    rpc = std::make_unique<chain::RpcClient>(executor, options.rpc);
    chain::TxSenderOptions sender_options;
    sender_options.chain_id = options.rpc.chain_id;
    sender_options.custom_errors = registry::registry_errors();
    sender = std::make_unique<chain::TxSender>(*rpc, options.key, sender_options);
    client = std::make_unique<registry::RegistryClient>(*rpc, options.registry, sender.get());
  }

  asio::any_io_executor executor;
  RegistryPublisherOptions options;
  std::unique_ptr<chain::RpcClient> rpc;
  std::unique_ptr<chain::TxSender> sender;
  std::unique_ptr<registry::RegistryClient> client;
  asio::steady_timer timer;
  bool running = false;
  bool stopped = false;
  Status status;

  Task<void> run() {
    auto self = shared_from_this();
    int failures = 0;
    while (!stopped && status.wanted &&
           (!status.published || status.published->epoch < status.wanted->epoch)) {
      registry::Location want = *status.wanted;
      ++status.attempts;
      auto r = co_await client->update_location(options.service, want.url, want.epoch,
                                                Clock::now() + options.transaction_timeout);
      if (stopped)
        break;
      if (r) {
        status.published = want;
        failures = 0;
        spdlog::info("registry: published {} at epoch {} (block {})", want.url, want.epoch,
                     r->block_number);
        continue;  // a newer one may have been asked for meanwhile
      }
      ++status.failures;
      status.last_error = r.error().message();
      if (chain::revert_name(r.error()) == "StaleEpoch") {
        // A later leader (or this one, by an earlier attempt whose receipt was lost) holds the
        // registry at this epoch or beyond: nothing left to do for it.
        spdlog::info("registry: epoch {} already superseded on chain: {}", want.epoch,
                     status.last_error);
        if (status.wanted && status.wanted->epoch == want.epoch) {
          status.published = want;  // no longer ours to publish
        }
        continue;
      }
      auto backoff = std::min<std::int64_t>(
          options.backoff_max.count(), options.backoff_initial.count() << std::min(failures, 16));
      ++failures;
      spdlog::warn("registry: publishing {} at epoch {} failed ({}); retrying in {} ms", want.url,
                   want.epoch, status.last_error, backoff);
      timer.expires_after(std::chrono::milliseconds(backoff));
      boost::system::error_code ec;
      co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
    running = false;
  }
};

RegistryPublisher::RegistryPublisher(asio::any_io_executor executor,
                                     RegistryPublisherOptions options)
    : state_(std::make_shared<State>(std::move(executor), std::move(options))) {}

RegistryPublisher::~RegistryPublisher() {
  stop();
}

void RegistryPublisher::publish(std::string url, std::uint64_t epoch) {
  auto& s = *state_;
  if (s.stopped)
    return;
  if (s.status.wanted && s.status.wanted->epoch >= epoch)
    return;
  s.status.wanted = registry::Location{std::move(url), epoch};
  if (s.running) {
    s.timer.cancel();  // a retry waiting in backoff goes at once with the newer location
    return;
  }
  s.running = true;
  asio::co_spawn(
      s.executor, [st = state_]() { return st->run(); }, asio::detached);
}

void RegistryPublisher::stop() {
  state_->stopped = true;
  state_->timer.cancel();
}

const RegistryPublisher::Status& RegistryPublisher::status() const {
  return state_->status;
}

}  // namespace br2k::server
