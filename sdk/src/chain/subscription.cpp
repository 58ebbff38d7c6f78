// eth_subscribe over WebSocket: one connection per subscription, read by one reader coroutine
// into a bounded queue. See rpc.hpp (Subscription) and rpc_client.hpp.
//
// https://geth.ethereum.org/docs/interacting-with-geth/rpc/pubsub
//
// Lifetime: the subscription object, its reader coroutine and a pending next() share one Feed, so
// the reader never touches freed memory when the subscription is destroyed: destruction closes the
// connection, the reader's read fails, and the reader ends, dropping the last reference.
#include <spdlog/spdlog.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <br2k/chain/jsonrpc.hpp>
#include <br2k/chain/rpc_client.hpp>
#include <deque>

#include "client_state.hpp"

namespace br2k::chain {
namespace asio = boost::asio;

namespace {

// What a subscription, its reader and its consumer share. Used from one executor.
struct Feed {
  explicit Feed(asio::any_io_executor ex) : wake(std::move(ex)) {}

  // Ends the subscription once: later notifications are dropped, a waiting next() wakes.
  void finish(Error e) {
    if (!end)
      end = std::move(e);
    conn->close();
    wake.cancel();
  }

  std::unique_ptr<WsConnection> conn;
  std::string endpoint;  // label (no path or query)
  std::size_t endpoint_index = 0;
  std::weak_ptr<RpcClient::State> client;  // told when the connection fails; may be gone
  std::string id;                          // the node's subscription id
  std::size_t limit = 0;
  std::deque<Json> queue;
  std::optional<Error> end;  // why it ended; delivered after the queue drains
  // Its expiry is a pending next()'s deadline; the reader cancels the wait to wake it.
  asio::steady_timer wake;
};

Task<void> read_notifications(std::shared_ptr<Feed> f) {
  while (!f->end) {
    auto text = co_await f->conn->read(std::nullopt);
    if (f->end)
      break;  // closed by its owner
    if (!text) {
      const bool too_large = text.error().is(Errc::kTooLarge);
      Error e(too_large ? Errc::kTooLarge : Errc::kUnavailable,
              f->endpoint + ": subscription " + f->id + " lost: " + text.error().message());
      spdlog::info("chain rpc: {}", e.detail);
      if (auto client = f->client.lock(); client && !too_large)
        client->failed(f->endpoint_index, e);
      f->finish(std::move(e));
      break;
    }
    auto message = parse_json(*text);
    if (!message) {
      f->finish(Error(Errc::kMalformedReply, f->endpoint + ": " + message.error().detail));
      break;
    }
    if (!is_notification(*message))
      continue;  // a reply: nothing is asked on this connection after eth_subscribe
    auto n = decode_notification(std::move(*message));
    if (!n) {
      f->finish(Error(Errc::kMalformedReply, f->endpoint + ": " + n.error().detail));
      break;
    }
    if (n->subscription != f->id)
      continue;
    if (f->queue.size() >= f->limit) {
      f->finish(Error(Errc::kUnavailable, f->endpoint + ": subscription overflow: more than " +
                                              std::to_string(f->limit) +
                                              " notifications not taken by next()"));
      break;
    }
    f->queue.push_back(std::move(n->result));
    f->wake.cancel();
  }
}

class WsSubscription final : public Subscription {
 public:
  explicit WsSubscription(std::shared_ptr<Feed> feed) : feed_(std::move(feed)) {}
  ~WsSubscription() override { close(); }

  Task<Result<Json>> next(Deadline deadline) override {
    auto f = feed_;  // this object may be destroyed while the call waits
    for (;;) {
      if (!f->queue.empty()) {
        Json result = std::move(f->queue.front());
        f->queue.pop_front();
        co_return json_value(std::move(result));
      }
      if (f->end)
        co_return *f->end;
      if (Clock::now() >= deadline) {
        co_return Error(Errc::kDeadlineExceeded,
                        f->endpoint + ": no notification on subscription " + f->id);
      }
      f->wake.expires_at(deadline);
      co_await f->wake.async_wait(asio::as_tuple(asio::use_awaitable));
    }
  }

  // The node drops a connection's subscriptions with the connection, so closing it unsubscribes
  // without waiting for an eth_unsubscribe round trip.
  void close() override {
    if (feed_->end && feed_->end->is(Errc::kCancelled))
      return;
    feed_->queue.clear();
    feed_->end = Error(Errc::kCancelled, "subscription " + feed_->id + " closed");
    feed_->finish(*feed_->end);
  }

  const std::string& endpoint() const override { return feed_->endpoint; }

 private:
  std::shared_ptr<Feed> feed_;
};

}  // namespace

Task<Result<std::unique_ptr<Subscription>>> RpcClient::State::subscribe_on(
    std::size_t i, const Json& params, Deadline deadline, std::weak_ptr<State> self,
    bool& wrong_chain) {
  wrong_chain = false;
  auto dialed = co_await dial_ws(i, deadline);
  if (!dialed)
    co_return dialed.error();
  std::unique_ptr<WsConnection> conn = std::move(*dialed);
  if (auto c = co_await ensure_chain(i, deadline, conn.get()); !c) {
    wrong_chain = c.error().is(Errc::kInvalidArgument);
    co_return c.error();
  }
  const std::uint64_t id = next_id++;
  const std::string body = encode_request(id, "eth_subscribe", params);
  std::vector<Json> early;  // notifications that beat the reply (nodes send the reply first)
  auto reply = co_await exchange_ws(*conn, body, id, deadline, &early);
  if (!reply)
    co_return reply.error();
  if (reply->error) {
    co_return Error(Errc::kServerError, "eth_subscribe: " + std::to_string(reply->error->code) +
                                            " " + reply->error->message);
  }
  if (!reply->result.is_string()) {
    co_return Error(Errc::kMalformedReply, "eth_subscribe returned a non-string subscription id");
  }
  auto feed = std::make_shared<Feed>(executor);
  feed->conn = std::move(conn);
  feed->endpoint = endpoints[i].label;
  feed->endpoint_index = i;
  feed->client = std::move(self);
  feed->id = reply->result.get<std::string>();
  feed->limit = options.subscription_queue_limit;
  for (auto& m : early) {
    auto n = decode_notification(std::move(m));
    if (n && n->subscription == feed->id && feed->queue.size() < feed->limit)
      feed->queue.push_back(std::move(n->result));
  }
  feed->conn->keep_alive(options.ws_idle_timeout);
  asio::co_spawn(executor, read_notifications(feed), asio::detached);
  co_return std::make_unique<WsSubscription>(std::move(feed));
}

Task<Result<std::unique_ptr<Subscription>>> RpcClient::subscribe(Json params, Deadline deadline) {
  auto s = state_;
  if (s->subscriptions.members.empty())
    co_return Error(Errc::kUnavailable, "eth_subscribe: no WebSocket endpoint configured");
  State::Attempts a(deadline, s->endpoints.size(), "eth_subscribe");
  for (;;) {
    auto chosen = co_await s->choose(s->subscriptions, a);
    if (!chosen)
      co_return chosen.error();
    const std::size_t i = *chosen;
    const Deadline attempt_deadline = std::min(deadline, Clock::now() + s->options.attempt_timeout);
    std::weak_ptr<State> self = s;
    bool wrong_chain = false;
    auto sub = co_await s->subscribe_on(i, params, attempt_deadline, std::move(self), wrong_chain);
    if (sub) {
      s->succeeded(i);
      co_return std::move(sub);
    }
    // A chain mismatch names its endpoint already.
    Error e(sub.error().code,
            wrong_chain ? sub.error().detail : s->with_label(i, sub.error().detail));
    if (e.is(Errc::kServerError) || e.is(Errc::kTooLarge))
      co_return e;  // the node answered; another would answer the same
    if (Clock::now() >= deadline && !e.is(Errc::kMalformedReply))
      co_return Error(Errc::kDeadlineExceeded, "eth_subscribe: " + e.detail);
    s->failed(i, e, wrong_chain);
    a.last = std::move(e);
  }
}

}  // namespace br2k::chain
