#pragma once

// A linearizability checker for key-value histories, in the style of Porcupine
// (https://github.com/anishathalye/porcupine): the history is partitioned per key and each
// partition is searched with the Wing-Gong-Lowe algorithm (G. Lowe, "Testing for linearizability",
// 2017): a linked list of call and return entries, a cache of (linearized set, state) pairs that
// were already explored, and backtracking.
//
// The model is one register per key whose value is a string or "absent" (a distinct state, the
// initial one). Operations: read -> value|absent; write(value) -> ok; cas(expect, new) -> ok|fail;
// delete -> ok.
//
// Outcomes follow Jepsen: kOk operations have a known result and took effect between their invoke
// and return times; kFailed operations certainly did not take effect (e.g. a 4xx or 503 refusal)
// and are dropped; kUnknown operations (timeout, connection lost) may or may not have taken effect
// at any time after their invoke: their return time is +infinity and their result unconstrained.
//
// Beyond Porcupine's search, a few rules keep histories with many concurrent clients and many
// unknown outcomes fast, none of which changes a verdict (the unit tests cross-check the verdicts
// against an exhaustive search): read-only operations that fit are placed without branching; a
// value with a single writer is never overwritten while known operations must still see it; an
// unknown write or CAS of a single-writer value counts as known (ending at the first
// observation) when its value was observed, and is dropped when nothing could observe it; and
// unknown operations are only placed where they change the state. Every written value unique, as
// in the workload, makes the search nearly linear.
//
// Dependency-free (standard library only).

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace br2k::chaos {

// A register's value: a string, or std::nullopt for "absent" (never written, or deleted).
using Value = std::optional<std::string>;

enum class OpKind { kRead, kWrite, kCas, kDelete };

enum class Outcome {
  kOk,       // the result is known
  kFailed,   // certainly not applied (a refusal): dropped from the history
  kUnknown,  // maybe applied, at any time after the invoke; result unconstrained
};

struct Op {
  OpKind kind = OpKind::kRead;
  std::string key;
  Value expect;  // kCas: the value the register must hold for the swap (nullopt: absent)
  Value value;   // kWrite: the value written; kCas: the new value (nullopt behaves as a delete)
};

struct OpResult {
  bool ok = true;  // kCas: whether it swapped; ignored for the other kinds
  // kRead: the value read. kCas that failed: the current value the server reported, if
  // `value_known`; otherwise ignored.
  Value value;
  bool value_known = false;  // kCas only: whether `value` is the value the failing CAS saw
};

struct Event {
  int client = 0;
  Op op;
  OpResult result;  // meaningful for kOk only
  Outcome outcome = Outcome::kOk;
  std::int64_t invoke = 0;    // e.g. steady_clock nanoseconds
  std::int64_t complete = 0;  // return time; ignored for kUnknown (treated as +infinity)
};

using History = std::vector<Event>;

// Shorthands for building histories (tests, tools).
Event read_event(int client, std::string key, Value seen, std::int64_t invoke,
                 std::int64_t complete);
Event write_event(int client, std::string key, std::string value, std::int64_t invoke,
                  std::int64_t complete);
// A CAS; when !ok, `seen` (if given) is the current value the server reported.
Event cas_event(int client, std::string key, Value expect, std::string new_value, bool ok,
                std::int64_t invoke, std::int64_t complete,
                std::optional<Value> seen = std::nullopt);
Event delete_event(int client, std::string key, std::int64_t invoke, std::int64_t complete);
// The same event with outcome kUnknown (its return time and result no longer matter).
Event unknown(Event e);
// The same event with outcome kFailed.
Event failed(Event e);

enum class Verdict { kLinearizable, kNotLinearizable, kTimeout };

std::string_view to_string(Verdict v);
std::string_view to_string(OpKind k);
std::string_view to_string(Outcome o);
// "absent" or the value quoted, e.g. "\"v1\"" (long values shortened).
std::string describe(const Value& v);
// e.g. `client 3 cas("k", "v1" -> "v2") -> fail (saw "v0") [100, 250]`.
std::string describe(const Event& e);

struct CheckOptions {
  // Budget per key: past it the key's verdict is kTimeout. Zero: no limit.
  std::chrono::milliseconds per_key_timeout{10'000};
  // Search steps per key (each step tries one operation): past it, kTimeout. Zero: no limit.
  std::uint64_t per_key_max_steps = 0;
  // Build a human-readable explanation for a non-linearizable key (a second, bounded search).
  bool explain = true;
};

struct KeyResult {
  std::string key;
  Verdict verdict = Verdict::kLinearizable;
  std::size_t operations = 0;  // operations checked (kFailed ones and unknown reads dropped)
  // Of those, the ones whose outcome stayed unknown. (An unknown write or CAS of a value that
  // nothing else writes is settled by the history: it counts as known, ending at the first
  // observation of its value, if one was observed; it is dropped if nothing could observe it.)
  std::size_t unknown_operations = 0;
  std::uint64_t steps = 0;  // search steps taken
  std::chrono::nanoseconds elapsed{0};
  // When kNotLinearizable (and CheckOptions::explain), as indices into the checked History: the
  // longest linearizable prefix found, in linearization order; the operations that could not be
  // placed after it (first the one whose return was reached, then the others that could have gone
  // next, then those that still had to see a value they would overwrite); and a short
  // explanation naming them.
  std::vector<std::size_t> longest_prefix;
  std::vector<std::size_t> unplaced;
  std::string explanation;
};

struct CheckResult {
  // kNotLinearizable if any key is; else kTimeout if any key timed out; else kLinearizable.
  Verdict verdict = Verdict::kLinearizable;
  // The first key (in key order) that is not linearizable, or else the first that timed out.
  std::string key;
  std::string explanation;      // that key's explanation ("" when linearizable)
  std::vector<KeyResult> keys;  // every key, sorted by key

  bool ok() const { return verdict == Verdict::kLinearizable; }
  // One line per key that is not linearizable or timed out, plus a summary line.
  std::string summary() const;
};

// Checks a whole history, key by key. Throws std::invalid_argument if an event with outcome kOk
// returns before it was invoked.
CheckResult check(const History& history, const CheckOptions& options = {});

// Checks one key's events only (all events must carry the same key).
KeyResult check_key(const History& history, const CheckOptions& options = {});

// Thread-safe recorder for a workload: each client calls invoke() just before sending a request and
// one of ok()/failed()/unknown() when it knows the outcome. Times are steady_clock nanoseconds.
// Operations still open when history() is called count as kUnknown. Finishing an operation twice
// throws std::logic_error.
class Recorder {
 public:
  using Id = std::size_t;
  Id invoke(int client, Op op);
  void ok(Id id, OpResult result);
  void failed(Id id);
  void unknown(Id id);
  History history() const;
  std::size_t size() const;

  static std::int64_t now();

 private:
  void finish(Id id, Outcome outcome, OpResult result);
  mutable std::mutex mutex_;
  History events_;
  std::vector<bool> done_;
};

// The history as JSON: {"events":[{"client":..,"kind":"read|write|cas|delete","key":..,
// "expect":..,"value":..,"ok":..,"result":..,"result_known":..,"outcome":"ok|failed|unknown",
// "invoke":..,"complete":..},...]}, absent values as null. history_from_json reads that format
// back (members other than client, kind, key, outcome, invoke and complete may be left out) and
// throws std::invalid_argument on malformed input.
std::string to_json(const History& history);
History history_from_json(std::string_view json);

}  // namespace br2k::chaos
