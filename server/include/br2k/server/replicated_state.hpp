// ReplicatedState: an application's state machine plus the table of applied request ids, the
// deterministic core every replica runs (PROTOCOL.md, "Exactly-once requests").
//
// apply() takes log entries strictly in index order. An entry whose idempotency key was already
// applied does not reach the application: the stored reply is returned again (and if the key
// came with a different request, a 422 is, as Stripe's API does). The table is replicated state:
// it is pruned by log index (ids older than `dedup_window` entries are forgotten), never by
// time, so every replica holds the same table, and it is part of snapshot().
//
// No I/O: unit-testable and fuzzable. Thread-safety: none; one owner (the engine's executor).
#pragma once

#include <br2k/server/log_entry.hpp>
#include <br2k/server/state_machine.hpp>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <unordered_map>

namespace br2k::server {

struct ReplicatedStateOptions {
  // How many log entries an applied id is remembered for (a retry later than this is applied
  // again). The default covers many minutes of writes at the throughput a 3-node etcd sustains.
  std::uint64_t dedup_window = 100'000;
  // Test-only (issue 6's planted fault): false applies every entry, duplicates included.
  bool deduplicate = true;
};

class ReplicatedState {
 public:
  struct Applied {
    std::uint64_t index = 0;
    std::string fingerprint;  // of the request that used the id
    Reply reply;
  };

  ReplicatedState(StateMachine& machine, ReplicatedStateOptions options = {});

  std::uint64_t applied_index() const { return applied_; }

  // Applies entry `index`. REQUIRES: index == applied_index() + 1. Returns the reply: the
  // application's, or the stored one for a repeated id.
  const Reply& apply(std::uint64_t index, const LogEntry& entry);

  // The applied record of an idempotency key, if it is remembered.
  const Applied* find(std::string_view idempotency_key) const;

  // Whether `command` is the request that an applied record's id was first used with.
  static std::string fingerprint(const Command& command);

  // The whole replicated state: applied index, id table and the application's snapshot.
  std::string snapshot() const;
  // Replaces the state. Errors: kInvalidArgument for a malformed snapshot (state unchanged),
  // the application's restore() errors.
  Result<void> restore(std::string_view snapshot);
  // Keccak-256 of snapshot(), hex: equal on replicas that hold the same state.
  std::string state_hash() const;

  StateMachine& machine() { return machine_; }
  const StateMachine& machine() const { return machine_; }
  std::size_t remembered_ids() const { return ids_.size(); }
  std::uint64_t duplicates() const { return duplicates_; }

 private:
  void prune();

  StateMachine& machine_;
  ReplicatedStateOptions options_;
  std::uint64_t applied_ = 0;
  std::uint64_t duplicates_ = 0;
  Reply last_;  // the reply of the entry just applied
  std::unordered_map<std::string, Applied> ids_;
  std::deque<std::pair<std::uint64_t, std::string>> order_;  // (index, id), oldest first
};

}  // namespace br2k::server
