// The application interface of a BR2K replicated service (PROTOCOL.md, "The application
// interface", in-process form).
//
// An application is a deterministic state machine. The leader logs every state-changing request
// in etcd; every replica then calls apply() with the same requests in the same order, so all
// replicas hold the same state and produce the same replies. Read-only requests are answered by
// the leader with query() from its applied state, without logging.
//
// Determinism is the application's contract: apply() must depend only on the state and the
// command (no clock, no randomness, no I/O). Anything nondeterministic (a random number, the
// time) is chosen once on the leader in prepare(), before the request is logged, and so travels
// in the log entry to every replica.
//
// Example (a counter; see examples/ for a key-value store and the papers' random-number list):
//
//   class Counter final : public br2k::server::StateMachine {
//    public:
//     br2k::server::Reply apply(const br2k::server::Command& c, std::uint64_t) override {
//       if (c.method != "POST" || c.target != "/count") return not_found(c);
//       return json_reply(200, std::to_string(++n_));
//     }
//     br2k::server::Reply query(const br2k::server::Command&) const override {
//       return json_reply(200, std::to_string(n_));
//     }
//     std::string snapshot() const override { return std::to_string(n_); }
//     br2k::Result<void> restore(std::string_view s) override { n_ = std::stoull(std::string(s));
//     return {}; }
//    private:
//     std::uint64_t n_ = 0;
//   };
//
// Thread-safety: the engine calls every method from one thread (its executor), never two at once,
// so an implementation needs no locking of its own.
#pragma once

#include <br2k/core/error.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace br2k::server {

// One client request as it is logged and applied: the parts of an HTTP request an application
// may depend on. Headers other than Content-Type are not replicated.
struct Command {
  std::string method;        // "POST", "PUT", "DELETE", ...
  std::string target;        // path and query, e.g. "/kv/a?ttl=3"
  std::string content_type;  // of the body; may be empty
  std::string body;
  // The request's Idempotency-Key (empty: none). Read-only for the application.
  std::string idempotency_key;
};

// The application's answer to one command. Stored with the command's idempotency key, so a retry
// gets the same bytes back.
struct Reply {
  unsigned status = 200;
  std::string content_type = "application/json";
  std::string body;

  friend bool operator==(const Reply&, const Reply&) = default;
};

// A reply with a JSON body (`body` must already be JSON text).
Reply json_reply(unsigned status, std::string body);
// The project's error format, {"error": reason}, with `status`.
Reply error_reply(unsigned status, std::string_view reason);

class StateMachine {
 public:
  StateMachine() = default;
  StateMachine(const StateMachine&) = delete;
  StateMachine& operator=(const StateMachine&) = delete;
  virtual ~StateMachine() = default;

  // Applies one committed command and returns its reply. `index` is the command's position in
  // the log (1-based, each index applied exactly once, in order). Must be deterministic (see the
  // file comment). A refusal is a reply (a 4xx that changes nothing), not an exception; an
  // exception is turned into a 500 reply on every replica alike and the state must then be
  // unchanged.
  virtual Reply apply(const Command& command, std::uint64_t index) = 0;

  // Answers a read-only request from the applied state (called on the leader only).
  virtual Reply query(const Command& request) const = 0;

  // Whether a request is read-only (answered by query(), never logged). Default: GET and HEAD.
  virtual bool is_read_only(const Command& request) const;

  // Called on the leader before a state-changing request is logged. May refuse it (return a
  // reply, e.g. 400 or 404: sent to the client at once, nothing is logged) or fill in
  // nondeterministic parts of `command` (a random number, a timestamp) so that apply() stays
  // deterministic. Default: accept as is.
  virtual std::optional<Reply> prepare(Command& command) const;

  // The whole state as bytes, and back. restore() replaces the state; on an error the state is
  // unchanged. Used by catch-up from backups (PROTOCOL.md, "State versions and backups").
  virtual std::string snapshot() const = 0;
  virtual Result<void> restore(std::string_view snapshot) = 0;
};

}  // namespace br2k::server
