// The leader's write path: exactly-once admission, group commit with the fenced append
// transaction, and resolution of appends whose outcome is unknown (PROTOCOL.md, "Appending a
// request" and "Exactly-once requests").
#include <spdlog/spdlog.h>

#include <algorithm>

#include "node_impl.hpp"

namespace br2k::server {

namespace http = boost::beast::http;

namespace {

Reply unavailable(std::string_view why) {
  return error_reply(503, why);
}

}  // namespace

// Gives up on every held write (the node stopped leading). A write not yet sent certainly was
// not appended: 503, retry elsewhere. A sent one may have been: with an Idempotency-Key the retry
// is answered from the applied-id table (503 again); without one its outcome is unknown (504).
void Node::Impl::fail_pending(std::string_view why) {
  const std::string reason = "leader stepped down (" + std::string(why) + "); retry";
  for (auto& [id, p] : held) {
    if (p->reply || p->failure)
      continue;
    if (p->sent && p->entry.command.idempotency_key.empty())
      p->failure = error_reply(504,
                               "the leader stepped down; the outcome of this request is "
                               "unknown (send an Idempotency-Key to make retries safe)");
    else
      p->failure = unavailable(reason);
    p->done.notify();
  }
  held.clear();
  held_by_key.clear();
  queue.clear();
}

Task<net::HttpResponse> Node::Impl::handle_write(Command command) {
  auto self = shared_from_this();
  const auto& key = command.idempotency_key;
  std::shared_ptr<Pending> p;
  if (!key.empty()) {
    // Already applied: the stored reply. Being committed now: wait for the same entry.
    if (const auto* a = state.find(key)) {
      ++counters.duplicates;
      m_duplicates->inc();
      if (a->fingerprint != ReplicatedState::fingerprint(command))
        co_return to_http(error_reply(422, "Idempotency-Key reused with a different request"), 11);
      co_return to_http(a->reply, 11);
    }
    if (auto it = held_by_key.find(key); it != held_by_key.end()) {
      if (ReplicatedState::fingerprint(it->second->entry.command) !=
          ReplicatedState::fingerprint(command))
        co_return to_http(error_reply(422, "Idempotency-Key reused with a different request"), 11);
      p = it->second;
    }
  }
  if (!p) {
    if (held.size() >= options.max_pending) {
      auto r = to_http(unavailable("too many writes waiting"), 11);
      r.set(http::field::retry_after, "1");
      co_return r;
    }
    if (auto refusal = machine.prepare(command))
      co_return to_http(*refusal, 11);
    p = std::make_shared<Pending>(executor);
    p->entry.epoch = epoch;
    p->entry.seq = next_seq++;
    p->entry.command = std::move(command);
    p->encoded = encode(p->entry);
    p->bytes = p->encoded.size() + keys.log(0).size() + 64;
    if (p->bytes > options.max_batch_bytes)
      co_return to_http(error_reply(413, "request too large to log"), 11);
    held[{p->entry.epoch, p->entry.seq}] = p;
    if (!p->entry.command.idempotency_key.empty())
      held_by_key[p->entry.command.idempotency_key] = p;
    queue.push_back(p);
    work.notify();
  }
  const auto until = Clock::now() + options.write_timeout;
  while (!p->reply && !p->failure && !stopped && Clock::now() < until)
    co_await p->done.wait(until);
  if (p->reply)
    co_return to_http(*p->reply, 11);
  if (p->failure)
    co_return to_http(*p->failure, 11);
  if (!p->sent) {
    p->abandoned = true;  // never appended: the appender drops it
    co_return to_http(unavailable("the write was not appended in time; retry"), 11);
  }
  if (p->entry.command.idempotency_key.empty())
    co_return to_http(error_reply(504,
                                  "the outcome of this request is unknown (send an "
                                  "Idempotency-Key to make retries safe)"),
                      11);
  co_return to_http(unavailable("the write was not committed in time; retry"), 11);
}

// One per leadership term: takes the queued writes in batches and appends each batch in one
// fenced transaction, one transaction in flight at a time (the next batch forms meanwhile).
Task<void> Node::Impl::append_loop(std::uint64_t my_term) {
  auto self = shared_from_this();
  while (term == my_term && !stopped) {
    while (!queue.empty() &&
           (queue.front()->reply || queue.front()->abandoned || queue.front()->failure)) {
      auto& f = queue.front();
      if (f->abandoned)
        held.erase({f->entry.epoch, f->entry.seq});
      if (f->abandoned && !f->entry.command.idempotency_key.empty())
        held_by_key.erase(f->entry.command.idempotency_key);
      queue.pop_front();
    }
    if (queue.empty()) {
      co_await work.wait(Clock::now() + std::chrono::seconds(1));
      continue;
    }
    // The batch: up to max_batch_entries and max_batch_bytes, in arrival order.
    std::vector<std::shared_ptr<Pending>> batch;
    std::size_t bytes = 0;
    while (!queue.empty() && batch.size() < options.max_batch_entries) {
      auto& f = queue.front();
      if (f->reply || f->abandoned || f->failure) {
        if (f->abandoned) {
          held.erase({f->entry.epoch, f->entry.seq});
          if (!f->entry.command.idempotency_key.empty())
            held_by_key.erase(f->entry.command.idempotency_key);
        }
        queue.pop_front();
        continue;
      }
      if (!batch.empty() && bytes + f->bytes > options.max_batch_bytes)
        break;
      bytes += f->bytes;
      batch.push_back(f);
      queue.pop_front();
    }
    if (batch.empty())
      continue;

    const std::uint64_t n = log_size;
    etcd::TxnRequest t;
    if (n == 0)
      t.compare.push_back(etcd::Compare::version(keys.log_size(), etcd::Compare::Op::kEqual, 0));
    else
      t.compare.push_back(
          etcd::Compare::value_of(keys.log_size(), etcd::Compare::Op::kEqual, std::to_string(n)));
    t.compare.push_back(etcd::Compare::create_revision(keys.leader(), etcd::Compare::Op::kEqual,
                                                       static_cast<std::int64_t>(epoch)));
    for (std::size_t i = 0; i < batch.size(); ++i) {
      batch[i]->sent = true;
      t.success.push_back(etcd::PutRequest{.key = keys.log(n + 1 + i), .value = batch[i]->encoded});
    }
    t.success.push_back(
        etcd::PutRequest{.key = keys.log_size(), .value = std::to_string(n + batch.size())});
    t.failure.push_back(etcd::RangeRequest::single(keys.leader()));
    t.failure.push_back(etcd::RangeRequest::single(keys.log_size()));
    auto r = co_await etcd.txn(std::move(t));
    if (term != my_term || stopped)
      break;  // step_down() already answered the batch

    if (r && r->succeeded) {
      ++counters.transactions;
      counters.appended += batch.size();
      m_transactions->inc();
      m_appended->inc(batch.size());
      m_batch->observe(static_cast<double>(batch.size()));
      log_size = n + batch.size();
      m_log_size->set(static_cast<double>(log_size));
      // The leader applies its own entries at once when nothing precedes them; otherwise the sync
      // loop delivers them in order (it skips what is applied here).
      if (state.applied_index() == n) {
        for (std::size_t i = 0; i < batch.size(); ++i)
          apply_entry(n + 1 + i, batch[i]->encoded);
        m_applied->set(static_cast<double>(state.applied_index()));
        applied.notify();
      }
      continue;
    }

    // Put the unanswered writes back in front, in order, then find out what happened.
    for (auto it = batch.rbegin(); it != batch.rend(); ++it) {
      if (!(*it)->reply && !(*it)->failure)
        queue.push_front(*it);
    }
    if (r) {
      // Refused: the fence (another leader), or log_size moved (an earlier append of unknown
      // outcome went through after all).
      bool fenced = true;
      if (r->responses.size() == 2) {
        if (const auto* lr = std::get_if<etcd::RangeResponse>(&r->responses[0])) {
          fenced = lr->kvs.empty() ||
                   static_cast<std::uint64_t>(lr->kvs.front().create_revision) != epoch;
        }
      }
      if (fenced) {
        ++counters.fenced;
        m_fenced->inc();
        step_down("an append was refused by the fence");
        break;
      }
    } else if (r.error().is(Errc::kTooLarge) || r.error().is(Errc::kInvalidArgument)) {
      // etcd refused the transaction itself (too many bytes or operations): nothing of it was
      // applied, and sending it again cannot succeed. Refuse its writes.
      spdlog::error("node {}: etcd refused an append of {} entries: {}", options.node_id,
                    batch.size(), r.error().message());
      for (auto& p : batch) {
        if (p->reply || p->failure)
          continue;
        p->failure = error_reply(r.error().is(Errc::kTooLarge) ? 413 : 500,
                                 "the log refused this write: " + r.error().detail);
        held.erase({p->entry.epoch, p->entry.seq});
        if (!p->entry.command.idempotency_key.empty())
          held_by_key.erase(p->entry.command.idempotency_key);
        p->done.notify();
      }
      std::erase_if(queue, [](const auto& p) { return p->failure.has_value(); });
      continue;
    } else if (r.error().is(Errc::kUnavailable)) {
      // Certainly not applied (no member took it): try again shortly.
      co_await sleep_for(std::chrono::milliseconds(50));
      continue;
    } else {
      spdlog::warn("node {}: append of {} entries at {}: {}", options.node_id, batch.size(), n + 1,
                   r.error().message());
    }
    if (!co_await resolve(my_term))
      break;
  }
}

// Reads log_size (quorum) until it answers and applies the log up to it: the writes of an
// unknown append that did commit are then answered (their entries read back), the rest are
// re-sent with the next batch.
Task<bool> Node::Impl::resolve(std::uint64_t my_term) {
  while (term == my_term && !stopped) {
    auto n = co_await read_log_size();
    if (!n) {
      co_await sleep_for(std::chrono::milliseconds(100));
      continue;
    }
    if (co_await catch_up(*n, Clock::now() + std::chrono::seconds(2))) {
      log_size = *n;
      co_return true;
    }
  }
  co_return false;
}

}  // namespace br2k::server
