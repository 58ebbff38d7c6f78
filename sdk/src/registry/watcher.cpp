// Watcher: exactly-once delivery of registry events over live subscriptions and polling.
// See watcher.hpp for the design.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <br2k/registry/watcher.hpp>

namespace br2k::registry {
namespace {

namespace asio = boost::asio;
using chain::Json;

}  // namespace

std::shared_ptr<Watcher> Watcher::create(asio::any_io_executor executor, chain::Rpc& rpc,
                                         WatcherOptions options, Callback callback) {
  return std::shared_ptr<Watcher>(
      new Watcher(std::move(executor), rpc, std::move(options), std::move(callback)));
}

Watcher::Watcher(asio::any_io_executor executor, chain::Rpc& rpc, WatcherOptions options,
                 Callback callback)
    : executor_(std::move(executor)),
      rpc_(rpc),
      options_(std::move(options)),
      callback_(std::move(callback)),
      timer_(std::make_shared<asio::steady_timer>(executor_)) {}

Watcher::~Watcher() = default;

void Watcher::start() {
  asio::co_spawn(
      executor_, [self = shared_from_this()]() { return self->run(); }, asio::detached);
}

void Watcher::stop() {
  stopped_ = true;
  mode_ = Mode::kStopped;
  timer_->cancel();
  if (subscription_)
    subscription_->close();
}

Deadline Watcher::call_deadline() const {
  return Clock::now() + options_.call_timeout;
}

Task<void> Watcher::sleep_for(std::chrono::milliseconds d) {
  auto timer = timer_;  // stop() cancels it
  timer->expires_after(d);
  boost::system::error_code ec;
  co_await timer->async_wait(asio::redirect_error(asio::use_awaitable, ec));
}

Json Watcher::filter(std::uint64_t from, std::uint64_t to) const {
  Json topic0 = Json::array();
  if (options_.new_location)
    topic0.push_back(chain::hex_hash(new_location_topic()));
  if (options_.claims)
    topic0.push_back(chain::hex_hash(claim_topic()));
  Json topics = Json::array({topic0});
  if (options_.service)
    topics.push_back(chain::hex_hash(*options_.service));
  return Json{{"address", chain::hex_data(options_.contract)},
              {"fromBlock", chain::quantity(from)},
              {"toBlock", chain::quantity(to)},
              {"topics", std::move(topics)}};
}

Task<Result<chain::BlockHeader>> Watcher::header(std::string block) {
  Json params = Json::array({std::move(block), false});
  auto r = co_await chain::call(rpc_, "eth_getBlockByNumber", std::move(params), call_deadline());
  if (!r)
    co_return r.error();
  if (r->is_null())
    co_return Error(Errc::kNotFound, "no such block");
  co_return chain::parse_block_header(*r);
}

Task<Result<void>> Watcher::check_reorg() {
  if (!cursor_ || *cursor_ == 0)
    co_return Result<void>();
  auto last = hashes_.find(*cursor_ - 1);
  if (last == hashes_.end())
    co_return Result<void>();
  auto now = co_await header(chain::quantity(last->first));
  if (now && now->hash == last->second)
    co_return Result<void>();
  if (!now && !now.error().is(Errc::kNotFound))
    co_return now.error();

  // The chain under the cursor changed: find the newest remembered block still on it.
  ++stats_.reorgs;
  std::optional<std::uint64_t> fork;
  for (auto it = std::make_reverse_iterator(std::next(last)); it != hashes_.rend(); ++it) {
    auto h = co_await header(chain::quantity(it->first));
    if (!h && !h.error().is(Errc::kNotFound))
      co_return h.error();
    if (h && h->hash == it->second) {
      fork = it->first;
      break;
    }
  }
  const std::uint64_t resume = fork ? *fork + 1 : hashes_.begin()->first;
  spdlog::warn("registry watcher: chain reorganisation below block {}; re-reading from block {}",
               *cursor_, resume);
  if (!fork) {
    spdlog::error("registry watcher: reorganisation deeper than the {} blocks remembered",
                  options_.reorg_window);
  }
  // Report what the orphaned blocks had delivered, newest first, then forget them.
  for (auto it = delivered_.rbegin(); it != delivered_.rend() && it->first >= resume; ++it) {
    for (auto e = it->second.rbegin(); e != it->second.rend(); ++e) {
      Event removed = *e;
      removed.log.removed = true;
      ++stats_.removed;
      if (!stopped_)
        callback_(removed);
    }
  }
  delivered_.erase(delivered_.lower_bound(resume), delivered_.end());
  hashes_.erase(hashes_.lower_bound(resume), hashes_.end());
  cursor_ = resume;
  co_return Result<void>();
}

Task<Result<void>> Watcher::advance(std::optional<chain::BlockHeader> head) {
  if (!cursor_)
    co_return Result<void>();
  // A new head whose parent is the block we covered last cannot hide a reorg below it.
  const bool chained = head && *cursor_ > 0 && head->number == *cursor_ &&
                       hashes_.count(*cursor_ - 1) && hashes_[*cursor_ - 1] == head->parent_hash;
  if (!chained) {
    if (auto r = co_await check_reorg(); !r)
      co_return r;
  }
  bool head_from_rpc = false;
  if (!head || options_.confirmations > 0) {
    auto latest = co_await header("latest");
    if (!latest)
      co_return latest.error();
    if (!head || latest->number >= head->number) {
      head = *latest;
      head_from_rpc = true;
    }
  }
  if (head->number < options_.confirmations)
    co_return Result<void>();
  const std::uint64_t target = head->number - options_.confirmations;

  while (!stopped_ && *cursor_ <= target) {
    const std::uint64_t from = *cursor_;
    const std::uint64_t to =
        std::min(target, from + std::max<std::uint64_t>(options_.max_blocks_per_query, 1) - 1);
    // The hash of the range's last block, for reorg detection, asked before the logs from the
    // same RPC: a node that has the block has its logs (a subscription's head may come from a
    // node ahead of the one answering calls). A log of that block with another hash means the
    // chain moved in between: the round is retried.
    Hash to_hash{};
    if (to == head->number && head_from_rpc) {
      to_hash = head->hash;
    } else {
      auto h = co_await header(chain::quantity(to));
      if (!h)
        co_return h.error();
      to_hash = h->hash;
    }
    Json params = Json::array({filter(from, to)});
    auto logs = co_await chain::call(rpc_, "eth_getLogs", std::move(params), call_deadline());
    if (!logs)
      co_return logs.error();
    if (!logs->is_array())
      co_return Error(Errc::kMalformedReply, "eth_getLogs: not a list");
    std::vector<chain::Log> parsed;
    parsed.reserve(logs->size());
    for (const auto& j : *logs) {
      auto log = chain::parse_log(j);
      if (!log)
        co_return log.error();
      if (log->removed)
        continue;
      if (log->block_number < from || log->block_number > to)
        co_return Error(Errc::kMalformedReply, "eth_getLogs: a log outside the range asked");
      if (log->block_number == to && log->block_hash != to_hash)
        co_return Error(Errc::kUnavailable, "the chain moved during eth_getLogs");
      parsed.push_back(std::move(*log));
    }
    std::sort(parsed.begin(), parsed.end(), [](const chain::Log& a, const chain::Log& b) {
      return std::tie(a.block_number, a.log_index) < std::tie(b.block_number, b.log_index);
    });
    for (auto& log : parsed) {
      if (stopped_)
        co_return Result<void>();
      auto event = decode_event(log);
      if (!event) {
        if (event.error().is(Errc::kNotFound))
          continue;
        spdlog::warn("registry watcher: skipping an undecodable log in block {}: {}",
                     log.block_number, event.error().message());
        continue;
      }
      hashes_[log.block_number] = log.block_hash;
      delivered_[log.block_number].push_back(*event);
      ++stats_.delivered;
      callback_(*event);
    }
    hashes_[to] = to_hash;
    cursor_ = to + 1;
    // Remember only the reorg window.
    const std::uint64_t keep_from =
        *cursor_ > options_.reorg_window ? *cursor_ - options_.reorg_window : 0;
    hashes_.erase(hashes_.begin(), hashes_.lower_bound(keep_from));
    delivered_.erase(delivered_.begin(), delivered_.lower_bound(keep_from));
  }
  co_return Result<void>();
}

Task<void> Watcher::run() {
  auto self = shared_from_this();  // alive until this coroutine ends
  while (!stopped_ && !cursor_) {
    if (options_.from_block) {
      cursor_ = *options_.from_block;
      break;
    }
    auto latest = co_await header("latest");
    if (latest) {
      cursor_ = latest->number + 1;
      hashes_[latest->number] = latest->hash;
      break;
    }
    ++stats_.errors;
    co_await sleep_for(options_.poll_interval);
  }

  auto next_subscribe = Clock::now();
  while (!stopped_) {
    if (!options_.polling_only && Clock::now() >= next_subscribe) {
      Json params = Json::array({"newHeads"});
      auto sub = co_await rpc_.subscribe(std::move(params), call_deadline());
      if (stopped_)
        break;
      if (sub) {
        subscription_ = std::move(*sub);
        ++stats_.subscriptions;
        mode_ = Mode::kLive;
        spdlog::info("registry watcher: live on {} from block {}", subscription_->endpoint(),
                     *cursor_);
        // Back-fill what happened while not subscribed.
        if (auto r = co_await advance(std::nullopt); !r)
          ++stats_.errors;
        while (!stopped_) {
          auto note = co_await subscription_->next(Clock::now() + options_.live_check_interval);
          if (stopped_)
            break;
          Result<void> r;
          if (note) {
            auto head = chain::parse_block_header(*note);
            r = co_await advance(head ? std::optional<chain::BlockHeader>(std::move(*head))
                                      : std::nullopt);
          } else if (note.error().is(Errc::kDeadlineExceeded)) {
            r = co_await advance(std::nullopt);  // a silent subscription: check by polling
          } else {
            spdlog::warn("registry watcher: subscription lost: {}", note.error().message());
            break;
          }
          if (!r) {
            ++stats_.errors;
            spdlog::debug("registry watcher: round failed: {}", r.error().message());
          }
        }
        subscription_.reset();
        next_subscribe = Clock::now();  // try once more at once, then fall back to polling
        continue;
      }
      next_subscribe = Clock::now() + options_.resubscribe_interval;
      spdlog::debug("registry watcher: no subscription ({}); polling", sub.error().message());
    }
    mode_ = Mode::kPolling;
    if (auto r = co_await advance(std::nullopt); !r) {
      ++stats_.errors;
      spdlog::debug("registry watcher: poll failed: {}", r.error().message());
    }
    if (stopped_)
      break;
    co_await sleep_for(options_.poll_interval);
  }
  mode_ = Mode::kStopped;
}

}  // namespace br2k::registry
