// The sync loop: every replica applies log entries strictly in index order, exactly once
// (PROTOCOL.md, "Applying"). It reads what it misses in batches with a range and then follows the
// log with a watch from the revision after that range, so nothing appended in between is missed;
// any gap (a watch error, a compaction, an event beyond the next index) sends it back to a range.
#include <spdlog/spdlog.h>

#include "node_impl.hpp"

namespace br2k::server {

void Node::Impl::apply_entry(std::uint64_t index, std::string_view value) {
  auto entry = decode_log_entry(value);
  if (!entry) {
    // Only leaders write entries, so this is corruption of the log. Every replica meets the same
    // bytes and applies the same no-op reply, so replicas stay identical.
    spdlog::error("node {}: entry {} is not a log entry ({}); applied as a no-op", options.node_id,
                  index, entry.error().message());
    LogEntry noop;
    noop.command.method = "BR2K-NOOP";
    state.apply(index, noop);
    return;
  }
  const auto before = state.duplicates();
  const Reply& reply = state.apply(index, *entry);
  if (state.duplicates() != before)
    m_duplicates->inc();
  if (auto it = held.find({entry->epoch, entry->seq}); it != held.end()) {
    auto p = it->second;
    held.erase(it);
    if (!p->entry.command.idempotency_key.empty())
      held_by_key.erase(p->entry.command.idempotency_key);
    p->reply = reply;
    p->done.notify();
  }
}

// Reads what is missing up to `index` by range (a quorum read) and applies it now, rather than
// waiting for the log watch: the watch lags most when its member is the one cut off, which is
// when someone waits on it (a leader resolving an append of unknown outcome, a new leader before
// serving, a candidate before campaigning). What this applies the sync loop then skips. A gap or
// an error leaves the rest to the sync loop, waited for until `until`.
Task<bool> Node::Impl::catch_up(std::uint64_t index, Deadline until) {
  while (state.applied_index() < index && !stopped && Clock::now() < until) {
    const auto first = state.applied_index() + 1;
    const auto last = std::min<std::uint64_t>(index, first + options.sync_batch - 1);
    etcd::RangeRequest req{.key = keys.log(first),
                           .range_end = keys.log(last + 1),
                           .limit = static_cast<std::int64_t>(last - first + 1)};
    auto r = co_await etcd.range(std::move(req));
    if (!r || stopped)
      break;
    bool progressed = false;
    for (const auto& kv : r->kvs) {
      auto i = keys.log_index(kv.key);
      if (!i || *i <= state.applied_index())
        continue;  // the sync loop applied it meanwhile
      if (*i != state.applied_index() + 1)
        break;  // a gap: the sync loop reports it
      apply_entry(*i, kv.value);
      progressed = true;
    }
    if (!progressed)
      break;
    log_size = std::max(log_size, state.applied_index());
    m_applied->set(static_cast<double>(state.applied_index()));
    m_log_size->set(static_cast<double>(log_size));
    applied.notify();
  }
  co_return co_await wait_applied(index, until);
}

Task<void> Node::Impl::sync_loop() {
  auto self = shared_from_this();
  while (!stopped) {
    // Catch up by range, in batches. The range ends at the batch's last key, not at the end of
    // the log: etcd 3.4 walks every key up to range_end whatever the limit, so an open-ended
    // range makes each batch cost what is left of the log (catch-up slowed with the log's size).
    const auto first = state.applied_index() + 1;
    etcd::RangeRequest req{.key = keys.log(first),
                           .range_end = keys.log(first + options.sync_batch),
                           .limit = static_cast<std::int64_t>(options.sync_batch)};
    auto r = co_await etcd.range(std::move(req));
    if (stopped)
      break;
    if (!r) {
      spdlog::debug("node {}: sync range: {}", options.node_id, r.error().message());
      co_await sleep_for(std::chrono::milliseconds(100));
      continue;
    }
    bool gap = false;
    for (const auto& kv : r->kvs) {
      auto index = keys.log_index(kv.key);
      if (!index || *index <= state.applied_index())
        continue;
      if (*index != state.applied_index() + 1) {
        // Entries below `index` are gone (deleted by a backup, a later issue): nothing here can
        // fill the gap, so stop and say so rather than apply out of order.
        spdlog::error("node {}: log gap: next entry is {} but {} is applied", options.node_id,
                      *index, state.applied_index());
        gap = true;
        break;
      }
      apply_entry(*index, kv.value);
    }
    if (!r->kvs.empty()) {
      log_size = std::max(log_size, state.applied_index());
      m_applied->set(static_cast<double>(state.applied_index()));
      m_log_size->set(static_cast<double>(log_size));
      applied.notify();
    }
    if (gap) {
      co_await sleep_for(std::chrono::seconds(1));
      continue;
    }
    if (r->kvs.size() >= options.sync_batch)
      continue;  // a full batch: there may be more

    // Caught up as of r's revision: follow by watch from the next one.
    log_watch = etcd.watch(etcd::WatchOptions::prefix(keys.log_prefix(), r->header.revision + 1));
    auto w = log_watch;
    while (!stopped) {
      auto batch = co_await w->next();
      if (!batch) {
        if (!stopped)
          spdlog::info("node {}: log watch ended ({}); reading by range", options.node_id,
                       batch.error().message());
        break;
      }
      bool behind = false;
      for (const auto& ev : batch->events) {
        if (ev.type != etcd::Event::Type::kPut)
          continue;
        auto index = keys.log_index(ev.kv.key);
        if (!index || *index <= state.applied_index())
          continue;
        if (*index != state.applied_index() + 1) {
          behind = true;  // something was missed: read it by range
          break;
        }
        apply_entry(*index, ev.kv.value);
      }
      log_size = std::max(log_size, state.applied_index());
      m_applied->set(static_cast<double>(state.applied_index()));
      m_log_size->set(static_cast<double>(log_size));
      applied.notify();
      if (behind)
        break;
    }
    w->cancel();
  }
}

}  // namespace br2k::server
