// KvStore: a key-value service on BR2K's state machine interface (examples/, issue 4).
//
// Routes (keys are 1..256 bytes of the path after /kv/; values are the raw body, at most 64 KiB;
// both UTF-8 text, as replies and snapshots are JSON):
//   GET    /kv/<key>        200 {"key", "value", "version"} | 404
//   GET    /kv              200 {"count": n, "keys": [...]} (at most 1000 keys, sorted)
//   PUT    /kv/<key>        200 {"key", "value", "version", "index"}: sets the value
//   POST   /kv/<key>/cas    body {"expect": "old" | null, "value": "new"}: 200 as PUT when the
//                           current value is `expect` (null: absent), else 409 {"error", "value"}
//   DELETE /kv/<key>        200 {"key", "deleted": true|false}
// `version` counts the writes of a key since it was created; `index` is the log index that wrote
// it. Every value written is traceable, which the fault suite's linearizability check uses.
// Bad requests (no key, a key or value too long or not UTF-8, malformed CAS body, other methods)
// are refused by prepare() with 400/404/405/413 before anything is logged.
//
// Thread-safety: as StateMachine (the engine's one thread).
#pragma once

#include <br2k/server/state_machine.hpp>
#include <cstdint>
#include <map>
#include <string>

namespace br2k::examples {

class KvStore final : public server::StateMachine {
 public:
  server::Reply apply(const server::Command& command, std::uint64_t index) override;
  server::Reply query(const server::Command& request) const override;
  std::optional<server::Reply> prepare(server::Command& command) const override;
  std::string snapshot() const override;
  Result<void> restore(std::string_view snapshot) override;

  struct Value {
    std::string data;
    std::uint64_t version = 0;
    std::uint64_t index = 0;
  };
  const std::map<std::string, Value>& data() const { return data_; }

 private:
  std::map<std::string, Value> data_;
};

}  // namespace br2k::examples
