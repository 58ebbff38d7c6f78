// Watch streams with reconnect from the last delivered revision. See watch.hpp.
//
// The gateway serves etcd's bidirectional Watch stream as one HTTP request whose body is the
// create request and whose chunked reply carries one JSON message per line
// (https://etcd.io/docs/v3.4/dev-guide/api_grpc_gateway/).
#include <spdlog/spdlog.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <br2k/core/bytes.hpp>
#include <br2k/etcd/codec.hpp>
#include <br2k/etcd/watch.hpp>
#include <nlohmann/json.hpp>

#include "state.hpp"

namespace br2k::etcd {
namespace asio = boost::asio;
using nlohmann::json;
constexpr auto kUse = asio::as_tuple(asio::use_awaitable);

Watch::Watch(Client client, WatchOptions options)
    : client_(std::move(client)),
      options_(std::move(options)),
      next_revision_(options_.start_revision) {}

Watch::~Watch() {
  if (conn_)
    conn_->close();
}

void Watch::cancel() {
  cancelled_ = true;
  if (conn_)
    conn_->close();
}

std::string Watch::endpoint() const {
  return conn_ ? client_.state_->endpoints[stream_endpoint_].text : std::string();
}

Task<Result<void>> Watch::open_stream() {
  auto& s = *client_.state_;
  asio::steady_timer timer(s.executor);
  auto backoff = std::chrono::milliseconds(50);
  for (;;) {
    if (cancelled_)
      co_return Error(Errc::kCancelled, "watch cancelled");
    if (s.all_down()) {
      timer.expires_after(backoff);
      co_await timer.async_wait(kUse);
      backoff = std::min(backoff * 2, std::chrono::milliseconds(1000));
      continue;
    }
    const Deadline deadline = Clock::now() + s.options.attempt_timeout;
    const std::size_t i = co_await s.choose(deadline);
    if (auto a = co_await s.ensure_token(i, deadline); !a) {
      if (a.error().is(Errc::kAuthFailed))
        co_return a.error();
      s.mark_failed(i);
      continue;
    }
    auto d = co_await s.dial(i, deadline);
    if (!d) {
      s.mark_failed(i);
      continue;
    }
    std::shared_ptr<net::HttpConnection> conn = std::move(*d);
    json create{{"key", to_base64(options_.key)}, {"progress_notify", true}};
    if (!options_.range_end.empty())
      create["range_end"] = to_base64(options_.range_end);
    if (next_revision_ > 0)
      create["start_revision"] = std::to_string(next_revision_);
    if (options_.prev_kv)
      create["prev_kv"] = true;
    auto req = s.make_request(i, "/v3/watch", json{{"create_request", create}}.dump());
    // Ask the member to end the stream when it loses its raft leader (etcd's WithRequireLeader),
    // so a partitioned member cannot keep us on a stream that will never see new events.
    req.set("Grpc-Metadata-hasleader", "true");
    auto resp = co_await conn->open_stream(req, deadline);
    if (!resp) {
      s.mark_failed(i);
      continue;
    }
    if (resp->result() != boost::beast::http::status::ok) {
      Error e = codec::to_error(codec::decode_gateway_error(resp->result_int(), resp->body()));
      if (e.detail.find("invalid auth token") != std::string::npos) {
        s.token.clear();
        continue;
      }
      if (e.is(Errc::kAuthFailed) || e.is(Errc::kPermissionDenied))
        co_return e;
      spdlog::warn("etcd: watch on {} refused: {}", s.endpoints[i].text, e.message());
      s.mark_failed(i);
      continue;
    }
    conn_ = std::move(conn);
    stream_endpoint_ = i;
    co_return Result<void>();
  }
}

Task<void> Watch::probe_while_idle(std::shared_ptr<net::HttpConnection> conn,
                                   std::size_t endpoint) {
  auto& s = *client_.state_;
  asio::steady_timer timer(s.executor);
  for (;;) {
    timer.expires_after(s.options.watch_probe_interval);
    auto [ec] = co_await timer.async_wait(kUse);
    if (ec)
      co_return;  // the stream delivered (or the watch ended): no probe needed
    bool maybe_sent = false;
    auto r = co_await s.attempt(endpoint, "/v3/maintenance/status", "{}",
                                Clock::now() + s.options.watch_probe_interval, maybe_sent);
    Result<StatusResponse> st = r ? codec::decode_status(*r) : Result<StatusResponse>(r.error());
    if (!st || st->leader == 0) {
      spdlog::info("etcd: watch stream on {} is silent and its member {}; reconnecting",
                   s.endpoints[endpoint].text, st ? "has no leader" : st.error().message());
      conn->close();
      co_return;
    }
  }
}

Task<Result<WatchResponse>> Watch::next() {
  using namespace asio::experimental::awaitable_operators;
  auto self = shared_from_this();  // keep alive across suspension
  auto& s = *client_.state_;
  for (;;) {
    if (cancelled_)
      co_return Error(Errc::kCancelled, "watch cancelled");
    if (!conn_) {
      auto o = co_await open_stream();
      if (!o)
        co_return o.error();
      if (ever_opened_)
        ++reconnects_;
      ever_opened_ = true;
    }
    auto conn = conn_;
    auto read = co_await (conn->read_line() || probe_while_idle(conn, stream_endpoint_));
    Result<std::string> line = read.index() == 0
                                   ? std::move(std::get<0>(read))
                                   : Result<std::string>(Error(Errc::kUnavailable, "probe failed"));
    if (cancelled_)
      co_return Error(Errc::kCancelled, "watch cancelled");
    if (!line) {
      spdlog::info("etcd: watch stream on {} dropped ({}); resuming at revision {}",
                   s.endpoints[stream_endpoint_].text, line.error().message(), next_revision_);
      s.mark_failed(stream_endpoint_);
      conn_.reset();
      continue;
    }
    if (line->empty())
      continue;
    auto m = codec::decode_watch_message(*line);
    if (!m) {
      // Drop the stream; the next call reopens it from next_revision_.
      conn_->close();
      conn_.reset();
      s.mark_failed(stream_endpoint_);
      co_return m.error();
    }
    if (m->canceled) {
      conn_->close();
      conn_.reset();
      if (m->compact_revision > 0) {
        compact_revision_ = m->compact_revision;
        cancelled_ = true;
        co_return Error(Errc::kCompacted, "watch from revision " + std::to_string(next_revision_) +
                                              " cannot resume: compacted up to " +
                                              std::to_string(m->compact_revision));
      }
      spdlog::info("etcd: watch cancelled by {} ({}); resuming at revision {}",
                   s.endpoints[stream_endpoint_].text, m->cancel_reason, next_revision_);
      s.mark_failed(stream_endpoint_);
      continue;
    }
    if (m->created) {
      if (next_revision_ == 0)
        next_revision_ = m->header.revision + 1;
      continue;
    }
    if (m->events.empty()) {
      // A progress notification: every event up to header.revision has been sent.
      next_revision_ = std::max(next_revision_, m->header.revision + 1);
      continue;
    }
    // etcd never splits one revision across messages, so dropping what was already delivered
    // (possible only right after a reconnect) keeps delivery exactly-once.
    std::erase_if(m->events, [&](const Event& e) { return e.kv.mod_revision < next_revision_; });
    if (m->events.empty())
      continue;
    next_revision_ = m->events.back().kv.mod_revision + 1;
    co_return std::move(*m);
  }
}

}  // namespace br2k::etcd
