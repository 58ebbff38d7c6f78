// Fuzz target: the replicated log's entry codec (server/include/br2k/server/log_entry.hpp) and
// the replicated-state snapshot (replicated_state.hpp) with the example key-value store: both are
// read back from etcd, where anything with write access to the service's prefix can put bytes.
//
// Input: one value of a log/<index> key, also read as a snapshot.
// Properties: nothing crashes or throws; a decoded entry re-encodes to exactly its bytes (one
// encoding per entry); an entry that decodes applies on every example application and leaves a
// state whose snapshot restores; a snapshot that restores snapshots again to bytes that restore
// to the same state.
#include <br2k/examples/kv_store.hpp>
#include <br2k/examples/number_list.hpp>
#include <br2k/server/log_entry.hpp>
#include <br2k/server/replicated_state.hpp>
#include <cstddef>
#include <cstdint>

#include "fuzz_check.hpp"

namespace {

using br2k::Errc;
using br2k::fuzz::check;
namespace server = br2k::server;
namespace examples = br2k::examples;

// Applies `entry` as log index 1 of a fresh replica, twice under the same key (the second is a
// duplicate), and checks the state survives a snapshot round trip.
template <class Machine>
void apply_entry(const server::LogEntry& entry) {
  Machine machine;
  server::ReplicatedState state(machine);
  const server::Reply first = state.apply(1, entry);
  const server::Reply second = state.apply(2, entry);
  if (!entry.command.idempotency_key.empty())
    check(first == second, "a repeated idempotency key got another reply");
  const std::string snapshot = state.snapshot();
  Machine copy_machine;
  server::ReplicatedState copy(copy_machine);
  check(bool(copy.restore(snapshot)), "the snapshot of an applied entry does not restore");
  check(copy.state_hash() == state.state_hash(), "a restored snapshot holds another state");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto bytes = br2k::fuzz::text(data, size);

  auto entry = server::decode_log_entry(bytes);
  if (entry) {
    check(server::encode(*entry) == bytes, "decode_log_entry then encode is not the identity");
    apply_entry<examples::KvStore>(*entry);
    apply_entry<examples::NumberList>(*entry);
  } else {
    check(entry.error().is(Errc::kInvalidArgument), "decode_log_entry: not kInvalidArgument");
  }

  examples::KvStore kv;
  server::ReplicatedState state(kv);
  const std::string empty = state.snapshot();
  auto restored = state.restore(bytes);
  if (!restored) {
    check(restored.error().is(Errc::kInvalidArgument), "restore: not kInvalidArgument");
    check(state.snapshot() == empty, "a failed restore changed the state");
    return 0;
  }
  const std::string once = state.snapshot();
  examples::KvStore kv2;
  server::ReplicatedState again(kv2);
  check(bool(again.restore(once)), "a snapshot of a restored state does not restore");
  check(again.snapshot() == once, "snapshot/restore is not a fixed point");
  return 0;
}
