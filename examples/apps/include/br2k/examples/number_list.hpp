// NumberList: the source papers' test service on BR2K's state machine interface (seeds 000 and
// 001): each request adds a random number to a list; a read returns the list.
//
// Routes:
//   POST /numbers   body empty, or {"value": N} (0 <= N < 2^53): appends N; without a body the
//                   leader draws a random N in prepare() (so every replica appends the same N).
//                   200 {"value": N, "count": size, "index": log index}
//   GET  /numbers   200 {"count": size, "values": [...]}
//   GET  /numbers/count   200 {"count": size}
// Other routes: 404; other methods: 405; a malformed body: 400.
//
// Thread-safety: as StateMachine.
#pragma once

#include <br2k/server/state_machine.hpp>
#include <cstdint>
#include <vector>

namespace br2k::examples {

class NumberList final : public server::StateMachine {
 public:
  server::Reply apply(const server::Command& command, std::uint64_t index) override;
  server::Reply query(const server::Command& request) const override;
  std::optional<server::Reply> prepare(server::Command& command) const override;
  std::string snapshot() const override;
  Result<void> restore(std::string_view snapshot) override;

  const std::vector<std::uint64_t>& values() const { return values_; }

 private:
  std::vector<std::uint64_t> values_;
};

}  // namespace br2k::examples
