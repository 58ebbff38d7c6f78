// Delivers the registry's NewLocation and Claim events, each exactly once, in chain order.
//
// How: the watcher owns a cursor, the first block not yet delivered. Every delivery is an
// eth_getLogs over [cursor, head - confirmations], after which the cursor moves past that range;
// ranges never overlap, so no event is delivered twice, and none is skipped. What differs between
// modes is only what wakes the watcher:
//   - live: an eth_subscribe("newHeads") WebSocket subscription. Each new head triggers a range.
//     After any disconnect the watcher subscribes again (any WebSocket endpoint) and the next range
//     back-fills everything it missed;
//   - polling: with no working WebSocket endpoint, a timer (poll_interval); it keeps trying to
//     subscribe every resubscribe_interval and goes live when it can.
// Reorganisations: the watcher remembers the hashes of the last blocks it covered. When the block
// before the cursor no longer has the hash it had, it walks back to the fork point, reports the
// events it had delivered from the orphaned blocks again with `log.removed = true`, and re-reads
// from the fork. With `confirmations` = N, events are delivered only once N blocks are built on
// top of theirs, so reorgs shallower than N are never seen by the callback.
//
// Thread-safety: construct, start and stop on one single-threaded executor, the Rpc's. The
// callback runs on it; it must not block (and may call stop()).
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <br2k/chain/rpc.hpp>
#include <br2k/registry/registry.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>

namespace br2k::registry {

struct WatcherOptions {
  Address contract{};
  // Only this service's events; empty: every service's.
  std::optional<ServiceId> service;
  bool new_location = true;
  bool claims = true;
  // First block to deliver from. Empty: the block after the head at start (events from now on).
  std::optional<std::uint64_t> from_block;
  // Blocks that must be built on a block before its events are delivered (0: at once).
  std::uint64_t confirmations = 0;
  // Polling mode: how often the head is checked.
  std::chrono::milliseconds poll_interval{1000};
  // Polling mode: how often a WebSocket subscription is tried again.
  std::chrono::milliseconds resubscribe_interval{2000};
  // Live mode: a subscription silent this long is checked with a poll (a stalled node).
  std::chrono::milliseconds live_check_interval{5000};
  // Deadline of each RPC call.
  std::chrono::milliseconds call_timeout{5000};
  // Blocks per eth_getLogs (nodes cap the range).
  std::uint64_t max_blocks_per_query = 2000;
  // Block hashes remembered for reorg detection (deeper reorgs cannot be undone).
  std::size_t reorg_window = 128;
  // Force polling even when WebSocket endpoints exist (tests, HTTP-only providers).
  bool polling_only = false;
};

class Watcher : public std::enable_shared_from_this<Watcher> {
 public:
  enum class Mode { kStarting, kLive, kPolling, kStopped };
  struct Stats {
    std::uint64_t delivered = 0;
    std::uint64_t removed = 0;        // events reported again as removed by a reorg
    std::uint64_t subscriptions = 0;  // successful eth_subscribe calls
    std::uint64_t reorgs = 0;
    std::uint64_t errors = 0;  // failed RPC rounds (retried)
  };
  using Callback = std::function<void(const Event&)>;

  // The Rpc must outlive the watcher.
  static std::shared_ptr<Watcher> create(boost::asio::any_io_executor executor, chain::Rpc& rpc,
                                         WatcherOptions options, Callback callback);
  ~Watcher();

  // Starts the watching coroutine.
  void start();
  // Stops it; no callback runs after stop() returns (when called on the executor).
  void stop();

  Mode mode() const { return mode_; }
  // The first block not yet covered (persist it to resume later with from_block).
  std::optional<std::uint64_t> cursor() const { return cursor_; }
  const Stats& stats() const { return stats_; }

 private:
  Watcher(boost::asio::any_io_executor executor, chain::Rpc& rpc, WatcherOptions options,
          Callback callback);
  Task<void> run();
  // Delivers [cursor, head - confirmations]. Errors: transport errors (the round is retried).
  Task<Result<void>> advance(std::optional<chain::BlockHeader> head);
  Task<Result<chain::BlockHeader>> header(std::string block);
  Task<Result<void>> check_reorg();
  chain::Json filter(std::uint64_t from, std::uint64_t to) const;
  Deadline call_deadline() const;
  Task<void> sleep_for(std::chrono::milliseconds d);

  boost::asio::any_io_executor executor_;
  chain::Rpc& rpc_;
  WatcherOptions options_;
  Callback callback_;
  Mode mode_ = Mode::kStarting;
  bool stopped_ = false;
  std::optional<std::uint64_t> cursor_;
  std::map<std::uint64_t, Hash> hashes_;  // covered block -> its hash (the last reorg_window)
  std::map<std::uint64_t, std::vector<Event>> delivered_;  // recent blocks' events, for removal
  std::unique_ptr<chain::Subscription> subscription_;
  std::shared_ptr<boost::asio::steady_timer> timer_;
  Stats stats_;
};

}  // namespace br2k::registry
