// A watch on one key or a key range of etcd, resilient to member failures.
//
// The watch reads etcd's event stream and hands out batches of events in revision order. When the
// stream drops (member killed, connection reset, member lost its raft leader, or member frozen,
// detected by probing it after ClientOptions::watch_probe_interval of silence) it reopens the
// stream on another member from the revision after the last one it delivered, so across reconnects
// no event is lost and none is delivered twice. If that revision has been compacted, next() fails
// with kCompacted: the caller must re-read the state and start a new watch.
//
// Thread-safety: as Client. One coroutine calls next() at a time.
#pragma once

#include <br2k/etcd/client.hpp>

namespace br2k::net {
class HttpConnection;
}

namespace br2k::etcd {

struct WatchOptions {
  std::string key;
  std::string range_end;  // empty: the one key; prefix_range_end(key): every key under a prefix
  // The first revision to deliver events from; 0: only events after the watch is created.
  std::int64_t start_revision = 0;
  bool prev_kv = false;

  static WatchOptions prefix(std::string p, std::int64_t start_revision = 0) {
    WatchOptions o{.key = std::move(p), .start_revision = start_revision};
    o.range_end = prefix_range_end(o.key);
    return o;
  }
};

class Watch : public std::enable_shared_from_this<Watch> {
 public:
  Watch(Client client, WatchOptions options);
  Watch(const Watch&) = delete;
  Watch& operator=(const Watch&) = delete;
  ~Watch();

  // The next non-empty batch of events, all with revisions not delivered before. Waits as long as
  // it takes (reconnecting with backoff while no member answers) unless cancel() is called.
  // Errors: kCompacted (terminal; compact_revision() says from where history remains), kCancelled,
  // kAuthFailed/kPermissionDenied (terminal), kMalformedReply (after which it reconnects on the
  // next call).
  Task<Result<WatchResponse>> next();

  // Ends the watch: a pending or later next() completes with kCancelled.
  void cancel();

  // The revision the watch will deliver next (resumes from here after a reconnect).
  std::int64_t next_revision() const { return next_revision_; }
  std::int64_t compact_revision() const { return compact_revision_; }
  // How many times the stream was reopened after a failure.
  std::size_t reconnects() const { return reconnects_; }
  // The member the stream is open on, empty when none.
  std::string endpoint() const;

 private:
  Task<Result<void>> open_stream();
  // Returns when the stream's member stops answering or has no leader (after closing `conn`),
  // or when cancelled because the stream delivered a line.
  Task<void> probe_while_idle(std::shared_ptr<net::HttpConnection> conn, std::size_t endpoint);

  Client client_;
  WatchOptions options_;
  std::int64_t next_revision_ = 0;
  std::int64_t compact_revision_ = 0;
  std::size_t reconnects_ = 0;
  std::size_t stream_endpoint_ = 0;
  std::shared_ptr<net::HttpConnection> conn_;
  bool cancelled_ = false;
  bool ever_opened_ = false;
};

}  // namespace br2k::etcd
