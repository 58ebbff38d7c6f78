#include "br2k/chaos/linearizability.hpp"

#include <algorithm>
#include <cstring>
#include <limits>
#include <map>
#include <stdexcept>
#include <unordered_map>
#include <utility>

namespace br2k::chaos {

// ---------------------------------------------------------------------------------------------
// Building and describing events.

Event read_event(int client, std::string key, Value seen, std::int64_t invoke,
                 std::int64_t complete) {
  Event e;
  e.client = client;
  e.op.kind = OpKind::kRead;
  e.op.key = std::move(key);
  e.result.value = std::move(seen);
  e.invoke = invoke;
  e.complete = complete;
  return e;
}

Event write_event(int client, std::string key, std::string value, std::int64_t invoke,
                  std::int64_t complete) {
  Event e;
  e.client = client;
  e.op.kind = OpKind::kWrite;
  e.op.key = std::move(key);
  e.op.value = std::move(value);
  e.invoke = invoke;
  e.complete = complete;
  return e;
}

Event cas_event(int client, std::string key, Value expect, std::string new_value, bool ok,
                std::int64_t invoke, std::int64_t complete, std::optional<Value> seen) {
  Event e;
  e.client = client;
  e.op.kind = OpKind::kCas;
  e.op.key = std::move(key);
  e.op.expect = std::move(expect);
  e.op.value = std::move(new_value);
  e.result.ok = ok;
  if (seen) {
    e.result.value = std::move(*seen);
    e.result.value_known = true;
  }
  e.invoke = invoke;
  e.complete = complete;
  return e;
}

Event delete_event(int client, std::string key, std::int64_t invoke, std::int64_t complete) {
  Event e;
  e.client = client;
  e.op.kind = OpKind::kDelete;
  e.op.key = std::move(key);
  e.invoke = invoke;
  e.complete = complete;
  return e;
}

Event unknown(Event e) {
  e.outcome = Outcome::kUnknown;
  return e;
}

Event failed(Event e) {
  e.outcome = Outcome::kFailed;
  return e;
}

std::string_view to_string(Verdict v) {
  switch (v) {
    case Verdict::kLinearizable:
      return "linearizable";
    case Verdict::kNotLinearizable:
      return "not linearizable";
    case Verdict::kTimeout:
      return "timeout";
  }
  return "?";
}

std::string_view to_string(OpKind k) {
  switch (k) {
    case OpKind::kRead:
      return "read";
    case OpKind::kWrite:
      return "write";
    case OpKind::kCas:
      return "cas";
    case OpKind::kDelete:
      return "delete";
  }
  return "?";
}

std::string_view to_string(Outcome o) {
  switch (o) {
    case Outcome::kOk:
      return "ok";
    case Outcome::kFailed:
      return "failed";
    case Outcome::kUnknown:
      return "unknown";
  }
  return "?";
}

namespace {

constexpr std::size_t kMaxShownValue = 40;

std::string quote(std::string_view s, std::size_t max_len) {
  std::string out = "\"";
  std::size_t n = 0;
  for (char c : s) {
    if (n++ == max_len) {
      out += "...";
      break;
    }
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[(c >> 4) & 0xf];
      out += kHex[c & 0xf];
    } else {
      out += c;
    }
  }
  out += '"';
  return out;
}

}  // namespace

std::string describe(const Value& v) {
  return v ? quote(*v, kMaxShownValue) : "absent";
}

std::string describe(const Event& e) {
  std::string s = "client " + std::to_string(e.client) + " " + std::string(to_string(e.op.kind)) +
                  "(" + quote(e.op.key, kMaxShownValue);
  switch (e.op.kind) {
    case OpKind::kRead:
    case OpKind::kDelete:
      s += ")";
      break;
    case OpKind::kWrite:
      s += ", " + describe(e.op.value) + ")";
      break;
    case OpKind::kCas:
      s += ", " + describe(e.op.expect) + " -> " + describe(e.op.value) + ")";
      break;
  }
  switch (e.outcome) {
    case Outcome::kOk:
      if (e.op.kind == OpKind::kRead) {
        s += " -> " + describe(e.result.value);
      } else if (e.op.kind == OpKind::kCas) {
        s += e.result.ok ? " -> ok" : " -> fail";
        if (!e.result.ok && e.result.value_known) {
          s += " (saw " + describe(e.result.value) + ")";
        }
      } else {
        s += " -> ok";
      }
      s += " [" + std::to_string(e.invoke) + ", " + std::to_string(e.complete) + "]";
      break;
    case Outcome::kFailed:
      s += " -> failed [" + std::to_string(e.invoke) + ", " + std::to_string(e.complete) + "]";
      break;
    case Outcome::kUnknown:
      s += " -> unknown [" + std::to_string(e.invoke) + ", inf)";
      break;
  }
  return s;
}

std::string CheckResult::summary() const {
  std::size_t ops = 0;
  std::size_t bad = 0;
  std::size_t timed_out = 0;
  std::string lines;
  for (const auto& k : keys) {
    ops += k.operations;
    if (k.verdict == Verdict::kNotLinearizable) {
      ++bad;
      lines += k.explanation.empty() ? "key " + quote(k.key, kMaxShownValue) + ": not linearizable"
                                     : k.explanation;
      lines += "\n";
    } else if (k.verdict == Verdict::kTimeout) {
      ++timed_out;
      lines += "key " + quote(k.key, kMaxShownValue) + ": timeout after " +
               std::to_string(k.steps) + " steps (" + std::to_string(k.operations) +
               " operations)\n";
    }
  }
  return lines + std::string(to_string(verdict)) + ": " + std::to_string(keys.size()) + " keys, " +
         std::to_string(ops) + " operations, " + std::to_string(bad) + " not linearizable, " +
         std::to_string(timed_out) + " timed out";
}

// ---------------------------------------------------------------------------------------------
// The search.

namespace {

constexpr std::int32_t kAbsent = 0;  // value id of "absent"; strings get 1, 2, ...
constexpr std::int32_t kAnyValue = -1;

struct CompactOp {
  OpKind kind = OpKind::kRead;
  bool unknown = false;
  bool ok = true;                 // kCas: swapped
  std::int32_t expect = kAbsent;  // kCas
  std::int32_t value = kAbsent;   // kWrite, kCas: the new value; kRead: the value read
  std::int32_t seen = kAnyValue;  // kCas failed: the value reported, or kAnyValue
};

// One register step. Returns whether `op` may take effect in `state`; sets `next`.
bool step(const CompactOp& op, std::int32_t state, std::int32_t& next) {
  next = state;
  switch (op.kind) {
    case OpKind::kRead:
      return op.unknown || state == op.value;
    case OpKind::kWrite:
      next = op.value;
      return true;
    case OpKind::kDelete:
      next = kAbsent;
      return true;
    case OpKind::kCas:
      if (op.unknown) {
        if (state == op.expect) {
          next = op.value;
        }
        return true;
      }
      if (op.ok) {
        next = op.value;
        return state == op.expect;
      }
      return state != op.expect && (op.seen == kAnyValue || op.seen == state);
  }
  return false;
}

std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// An operation ready for the search.
struct Prepared {
  CompactOp op;
  std::int64_t invoke = 0;
  std::int64_t complete = 0;  // ignored for unknown operations (+infinity)
  std::size_t origin = 0;     // index into the History
  bool pinned = false;        // unknown outcome, but its value was observed by `complete`
};

// The WGL search over one partition: a linked list of call and return entries, a stack of
// linearized calls, and a cache of explored (linearized set, state) pairs.
//
// Unknown operations (return at +infinity) need care, or they make the search exponential:
//  - the search succeeds once every known operation is linearized (the unknown ones left can
//    take effect at the end, or never);
//  - an unknown operation is never linearized where it would not change the state, nor an
//    unknown write or delete right after another unknown operation (in both cases an operation
//    would take effect unobserved: it could as well go at the end);
//  - the cache prunes a node when an explored node has the same known operations linearized, the
//    same state, and a subset of its unknown operations linearized (the explored node had every
//    option this one has). Known operations are tried before unknown ones so that the nodes with
//    fewer unknown operations are explored first;
//  - a read-only operation (read, failed CAS) that can take effect is placed without branching;
//  - the register never leaves a value that has a single writer while known operations that must
//    see it remain (the workload's unique values make this prune most wrong orders at once).
class Search {
 public:
  // `ops`: the known operations first (ordered by invoke), then the unknown ones.
  // `unique[v]`: value v has one writer in the whole partition.
  Search(std::vector<Prepared> ops, std::size_t known, std::vector<bool> unique)
      : ops_(std::move(ops)),
        n_(ops_.size()),
        nk_(known),
        kw_((nk_ + 63) / 64),
        uw_((n_ - nk_ + 63) / 64),
        unique_(std::move(unique)) {
    observes_.assign(n_, -1);
    pending_init_.assign(unique_.size(), 0);
    for (std::size_t i = 0; i < nk_; ++i) {
      const CompactOp& o = ops_[i].op;
      if (o.kind == OpKind::kRead) {
        observes_[i] = o.value;
      } else if (o.kind == OpKind::kCas && o.ok) {
        observes_[i] = o.expect;
      } else if (o.kind == OpKind::kCas && o.seen != kAnyValue) {
        observes_[i] = o.seen;
      }
      if (observes_[i] >= 0) {
        ++pending_init_[observes_[i]];
      }
    }
    // Entries: 2 per operation, sorted by time, calls before returns at equal times (such
    // operations overlap), ties broken by operation index so that the search is deterministic.
    // Returns of unknown operations go last.
    struct Raw {
      bool infinite;
      std::int64_t time;
      bool is_return;
      std::uint32_t op;
    };
    std::vector<Raw> raw;
    raw.reserve(2 * n_);
    for (std::uint32_t i = 0; i < n_; ++i) {
      raw.push_back({false, ops_[i].invoke, false, i});
      raw.push_back({i >= nk_, i >= nk_ ? 0 : ops_[i].complete, true, i});
    }
    std::sort(raw.begin(), raw.end(), [](const Raw& a, const Raw& b) {
      if (a.infinite != b.infinite) {
        return !a.infinite;
      }
      if (a.time != b.time) {
        return a.time < b.time;
      }
      if (a.is_return != b.is_return) {
        return !a.is_return;
      }
      return a.op < b.op;
    });
    // Node 0 is the head sentinel; node k + 1 is raw[k].
    const std::size_t nodes = 2 * n_ + 1;
    next_.assign(nodes, -1);
    prev_.assign(nodes, -1);
    match_.assign(nodes, -1);
    op_of_.assign(nodes, 0);
    std::vector<std::int32_t> ret_node(n_, -1);
    for (std::size_t k = 0; k < raw.size(); ++k) {
      const auto node = static_cast<std::int32_t>(k + 1);
      op_of_[node] = raw[k].op;
      if (raw[k].is_return) {
        ret_node[raw[k].op] = node;
      }
    }
    for (std::size_t k = 0; k < raw.size(); ++k) {
      if (!raw[k].is_return) {
        match_[k + 1] = ret_node[raw[k].op];
      }
    }
    zobrist_.resize(n_);
    for (std::size_t i = 0; i < n_; ++i) {
      zobrist_[i] = i < nk_ ? splitmix64(i * 0x632be59bd9b4e019ULL + 1) : 0;
    }
    full_.assign(kw_, ~std::uint64_t{0});
    if (nk_ % 64 != 0) {
      full_.back() = (std::uint64_t{1} << (nk_ % 64)) - 1;
    }
  }

  enum class Result { kOk, kIllegal, kBudget };

  struct Capture {
    std::vector<std::uint32_t> prefix;      // operation indices, linearization order
    std::int32_t state = kAbsent;           // after the prefix
    std::uint32_t blocking = 0;             // the operation whose return was reached
    std::vector<std::uint32_t> candidates;  // operations that could have gone next
  };

  // Runs the search. When `capture_depth` is set, stops at the first dead end with that many
  // known operations linearized and fills `capture`.
  Result run(std::chrono::steady_clock::time_point deadline, bool has_deadline,
             std::uint64_t max_steps, std::optional<std::size_t> capture_depth = std::nullopt,
             Capture* capture = nullptr) {
    reset();
    std::uint64_t hash = 0;
    std::int32_t state = kAbsent;
    std::size_t remaining = nk_;  // known operations not linearized yet
    struct Call {
      std::int32_t node;
      std::int32_t state;
      std::uint64_t hash;
      bool forced;  // placed by the read-only rule: no alternative at its node
    };
    std::vector<Call> calls;
    calls.reserve(n_);
    std::int32_t entry = next_[0];
    bool unknown_pass = false;  // trying the unknown operations (the known ones were tried)
    enum class Phase { kFresh, kScan, kBacktrack } phase = Phase::kFresh;
    auto place = [&](std::int32_t e, std::int32_t next_state, bool forced) {
      const std::uint32_t op = op_of_[e];
      const std::uint64_t new_hash = hash ^ zobrist_[op];
      set(op);
      if (!cache_insert(new_hash, next_state)) {
        clear(op);
        return false;
      }
      if (observes_[op] >= 0) {
        --pending_[observes_[op]];
      }
      calls.push_back({e, state, hash, forced});
      state = next_state;
      hash = new_hash;
      remaining -= op < nk_ ? 1 : 0;
      lift(e);
      return true;
    };
    while (remaining > 0) {
      if (phase == Phase::kBacktrack) {
        if (calls.empty()) {
          return Result::kIllegal;
        }
        if (!tick(deadline, has_deadline, max_steps)) {
          return Result::kBudget;
        }
        const Call top = calls.back();
        calls.pop_back();
        state = top.state;
        hash = top.hash;
        const std::uint32_t op = op_of_[top.node];
        remaining += op < nk_ ? 1 : 0;
        if (observes_[op] >= 0) {
          ++pending_[observes_[op]];
        }
        clear(op);
        unlift(top.node);
        if (!top.forced) {
          unknown_pass = op >= nk_;
          entry = next_[top.node];
          phase = Phase::kScan;
        }
        continue;
      }
      if (phase == Phase::kFresh) {
        // A read-only operation (a read, a CAS that failed) that can take effect now goes next,
        // without trying alternatives: any linearization from here can be rearranged to start
        // with it (everything that returned before it was invoked is linearized already, and
        // it changes no state). If that node was explored already, this one fails too.
        std::int32_t g = next_[0];
        while (match_[g] != -1 && !read_only_now(op_of_[g], state)) {
          g = next_[g];
        }
        if (match_[g] != -1) {
          if (!tick(deadline, has_deadline, max_steps)) {
            return Result::kBudget;
          }
          if (!place(g, state, true)) {
            phase = Phase::kBacktrack;
          }
          continue;
        }
        entry = next_[0];
        unknown_pass = false;
        phase = Phase::kScan;
      }
      if (match_[entry] != -1) {
        // A call entry: try to linearize its operation now.
        const std::uint32_t op = op_of_[entry];
        const bool unknown = op >= nk_;
        if (unknown != unknown_pass) {
          entry = next_[entry];
          continue;
        }
        // An unknown write or delete right after another unknown operation would make that one
        // pointless (nothing observed its effect): it could as well go at the end.
        if (unknown && ops_[op].op.kind != OpKind::kCas && !calls.empty() &&
            op_of_[calls.back().node] >= nk_) {
          entry = next_[entry];
          continue;
        }
        if (!tick(deadline, has_deadline, max_steps)) {
          return Result::kBudget;
        }
        std::int32_t next_state = state;
        if (step(ops_[op].op, state, next_state) && !(unknown && next_state == state) &&
            !strands(op, state, next_state) && place(entry, next_state, false)) {
          phase = Phase::kFresh;
          continue;
        }
        entry = next_[entry];
        continue;
      }
      // A return entry: every operation that could go before it was tried.
      if (!unknown_pass && n_ > nk_) {
        unknown_pass = true;
        entry = next_[0];
        continue;
      }
      // Dead end.
      const std::size_t depth = nk_ - remaining;
      max_depth_ = std::max(max_depth_, depth);
      if (capture_depth && depth == *capture_depth && capture != nullptr) {
        capture->prefix.clear();
        for (const auto& c : calls) {
          capture->prefix.push_back(op_of_[c.node]);
        }
        capture->state = state;
        capture->blocking = op_of_[entry];
        capture->candidates.clear();
        for (std::int32_t e = next_[0]; e != entry; e = next_[e]) {
          if (match_[e] != -1) {
            capture->candidates.push_back(op_of_[e]);
          }
        }
        return Result::kIllegal;
      }
      phase = Phase::kBacktrack;
    }
    return Result::kOk;
  }

  // After a run stopped at a captured dead end: a known operation, not linearized, that must see
  // `state`, if moving from `state` by `op` would strand it.
  std::optional<std::uint32_t> stranded_observer(std::uint32_t op, std::int32_t state) const {
    std::int32_t next = state;
    if (!step(ops_[op].op, state, next) || !strands(op, state, next)) {
      return std::nullopt;
    }
    for (std::uint32_t i = 0; i < nk_; ++i) {
      if (i != op && observes_[i] == state &&
          (bits_[i / 64] & (std::uint64_t{1} << (i % 64))) == 0) {
        return i;
      }
    }
    return std::nullopt;
  }

  std::uint64_t steps() const { return steps_; }
  std::size_t max_depth() const { return max_depth_; }
  std::size_t cache_size() const { return entries_.size(); }
  const Prepared& op(std::uint32_t i) const { return ops_[i]; }

 private:
  // Whether moving from `state` to `next` by `op` leaves known operations that must observe
  // `state` unlinearized while `state` is a value with a single writer (already linearized): the
  // register can never hold it again, so they could never be placed.
  bool strands(std::uint32_t op, std::int32_t state, std::int32_t next) const {
    if (next == state || state == kAbsent || !unique_[state]) {
      return false;
    }
    return pending_[state] - (observes_[op] == state ? 1 : 0) > 0;
  }

  // Whether `op` is a known operation that changes no state and can take effect in `state`.
  bool read_only_now(std::uint32_t op, std::int32_t state) const {
    if (op >= nk_) {
      return false;
    }
    const CompactOp& o = ops_[op].op;
    if (o.kind == OpKind::kRead || (o.kind == OpKind::kCas && !o.ok)) {
      std::int32_t next = state;
      return step(o, state, next);
    }
    return false;
  }

  bool tick(std::chrono::steady_clock::time_point deadline, bool has_deadline,
            std::uint64_t max_steps) {
    ++steps_;
    if ((steps_ & 1023) == 0) {
      if (max_steps != 0 && steps_ > max_steps) {
        return false;
      }
      if (has_deadline && std::chrono::steady_clock::now() > deadline) {
        return false;
      }
    }
    return true;
  }

  void reset() {
    steps_ = 0;
    max_depth_ = 0;
    cache_.clear();
    entries_.clear();
    arena_.clear();
    bits_.assign(kw_ + uw_, 0);
    pending_ = pending_init_;
    lo_ = 0;
    hi_ = 0;
    const auto nodes = static_cast<std::int32_t>(next_.size());
    for (std::int32_t node = 0; node < nodes; ++node) {
      prev_[node] = node - 1;
      next_[node] = node + 1 < nodes ? node + 1 : -1;
    }
  }

  // The linearized set: known operations in words [0, kw_), unknown ones in [kw_, kw_ + uw_).
  // Words [0, lo_) are full and words [hi_, kw_) empty, so a cache entry stores only
  // [lo_, hi_) of the known part: linearizations advance through the history roughly in order.
  void set(std::uint32_t op) {
    if (op < nk_) {
      const std::size_t w = op / 64;
      bits_[w] |= std::uint64_t{1} << (op % 64);
      hi_ = std::max(hi_, w + 1);
      while (lo_ < kw_ && bits_[lo_] == full_[lo_]) {
        ++lo_;
      }
    } else {
      const std::size_t u = op - nk_;
      bits_[kw_ + u / 64] |= std::uint64_t{1} << (u % 64);
    }
  }

  void clear(std::uint32_t op) {
    if (op < nk_) {
      const std::size_t w = op / 64;
      bits_[w] &= ~(std::uint64_t{1} << (op % 64));
      lo_ = std::min(lo_, w);
      while (hi_ > 0 && bits_[hi_ - 1] == 0) {
        --hi_;
      }
    } else {
      const std::size_t u = op - nk_;
      bits_[kw_ + u / 64] &= ~(std::uint64_t{1} << (u % 64));
    }
  }

  void lift(std::int32_t e) {
    next_[prev_[e]] = next_[e];
    prev_[next_[e]] = prev_[e];  // a call always has its return after it
    const std::int32_t m = match_[e];
    next_[prev_[m]] = next_[m];
    if (next_[m] != -1) {
      prev_[next_[m]] = prev_[m];
    }
  }

  void unlift(std::int32_t e) {
    const std::int32_t m = match_[e];
    next_[prev_[m]] = m;
    if (next_[m] != -1) {
      prev_[next_[m]] = m;
    }
    next_[prev_[e]] = e;
    prev_[next_[e]] = e;
  }

  // Adds the current linearized set with `state` to the cache; false if an explored entry
  // dominates it (same known set and state, a subset of its unknown operations).
  bool cache_insert(std::uint64_t hash, std::int32_t state) {
    const std::uint64_t key = hash ^ splitmix64(static_cast<std::uint64_t>(state) + 0x5bd1e995);
    const std::size_t len = hi_ > lo_ ? hi_ - lo_ : 0;
    auto& bucket = cache_[key];
    for (std::uint32_t slot : bucket) {
      const Entry& e = entries_[slot];
      if (e.state != state || e.lo != lo_ || e.len != len) {
        continue;
      }
      const std::uint64_t* stored = arena_.data() + e.offset;
      if (len != 0 && std::memcmp(stored, bits_.data() + lo_, len * sizeof(std::uint64_t)) != 0) {
        continue;
      }
      bool subset = true;
      for (std::size_t j = 0; j < uw_ && subset; ++j) {
        subset = (stored[len + j] & ~bits_[kw_ + j]) == 0;
      }
      if (subset) {
        return false;
      }
    }
    bucket.push_back(static_cast<std::uint32_t>(entries_.size()));
    entries_.push_back(
        {arena_.size(), static_cast<std::uint32_t>(lo_), static_cast<std::uint32_t>(len), state});
    arena_.insert(arena_.end(), bits_.begin() + static_cast<std::ptrdiff_t>(lo_),
                  bits_.begin() + static_cast<std::ptrdiff_t>(lo_ + len));
    arena_.insert(arena_.end(), bits_.begin() + static_cast<std::ptrdiff_t>(kw_), bits_.end());
    return true;
  }

  struct Entry {
    std::size_t offset;  // into arena_: len known words, then uw_ unknown words
    std::uint32_t lo;
    std::uint32_t len;
    std::int32_t state;
  };

  std::vector<Prepared> ops_;
  std::size_t n_;
  std::size_t nk_;
  std::size_t kw_;
  std::size_t uw_;
  std::vector<bool> unique_;                // by value
  std::vector<std::int32_t> observes_;      // by operation: the value it must see, or -1
  std::vector<std::int32_t> pending_init_;  // by value: the known operations that must see it
  std::vector<std::int32_t> pending_;       // ... of them, not linearized yet
  std::vector<std::int32_t> next_, prev_, match_;
  std::vector<std::uint32_t> op_of_;
  std::vector<std::uint64_t> zobrist_;  // known operations only; unknown ones hash to 0
  std::vector<std::uint64_t> full_;     // each known word with every operation linearized
  std::vector<std::uint64_t> bits_;
  std::size_t lo_ = 0;
  std::size_t hi_ = 0;
  std::unordered_map<std::uint64_t, std::vector<std::uint32_t>> cache_;
  std::vector<Entry> entries_;
  std::vector<std::uint64_t> arena_;
  std::uint64_t steps_ = 0;
  std::size_t max_depth_ = 0;
};

// Why `op` cannot take effect when the register holds `state` (it may be able to, and only every
// continuation after it failed).
std::string why_not(const Event& e, const CompactOp& op, std::int32_t state,
                    const std::string& state_text) {
  std::int32_t next = state;
  if (step(op, state, next)) {
    return "could take effect here, but no continuation after it works";
  }
  switch (op.kind) {
    case OpKind::kRead:
      return "read " + describe(e.result.value) + " but the register holds " + state_text;
    case OpKind::kCas:
      if (op.ok) {
        return "swapped, but the register holds " + state_text + ", not the expected " +
               describe(e.op.expect);
      }
      if (state == op.expect) {
        return "failed, but the register holds the expected value " + state_text;
      }
      return "reported " + describe(e.result.value) + " but the register holds " + state_text;
    default:
      return "cannot take effect";
  }
}

KeyResult check_indices(const History& history, const std::vector<std::size_t>& indices,
                        const CheckOptions& options) {
  const auto started = std::chrono::steady_clock::now();
  KeyResult result;
  if (!indices.empty()) {
    result.key = history[indices.front()].op.key;
  }

  // Intern values; drop refused operations and reads of unknown outcome (no effect on state).
  std::unordered_map<std::string, std::int32_t> ids;
  std::vector<std::string> names;  // by id - 1
  auto intern = [&](const Value& v) -> std::int32_t {
    if (!v) {
      return kAbsent;
    }
    auto [it, inserted] = ids.try_emplace(*v, static_cast<std::int32_t>(names.size() + 1));
    if (inserted) {
      names.push_back(*v);
    }
    return it->second;
  };
  std::vector<Prepared> all;
  for (std::size_t index : indices) {
    const Event& e = history[index];
    if (e.op.key != result.key) {
      throw std::invalid_argument("check_key: events of more than one key");
    }
    if (e.outcome == Outcome::kFailed) {
      continue;
    }
    if (e.outcome == Outcome::kUnknown && e.op.kind == OpKind::kRead) {
      continue;
    }
    if (e.outcome == Outcome::kOk && e.complete < e.invoke) {
      throw std::invalid_argument("linearizability check: event returns before its invoke: " +
                                  describe(e));
    }
    Prepared p;
    CompactOp& op = p.op;
    op.kind = e.op.kind;
    op.unknown = e.outcome == Outcome::kUnknown;
    switch (e.op.kind) {
      case OpKind::kRead:
        op.value = intern(e.result.value);
        break;
      case OpKind::kWrite:
        op.value = intern(e.op.value);
        break;
      case OpKind::kDelete:
        break;
      case OpKind::kCas:
        op.expect = intern(e.op.expect);
        op.value = intern(e.op.value);
        op.ok = e.result.ok;
        if (!op.unknown && !e.result.ok && e.result.value_known) {
          op.seen = intern(e.result.value);
        }
        break;
    }
    p.invoke = e.invoke;
    p.complete = e.complete;
    p.origin = index;
    all.push_back(p);
  }

  // Unknown writes and CAS of a value that nothing else writes (the workload's unique values):
  // if some known operation observed the value, the operation certainly took effect, before that
  // observation returned, so it becomes a known operation ending there; if nothing could ever
  // observe the value, whether it took effect makes no difference, so it is dropped.
  const std::size_t values = names.size() + 1;
  std::vector<std::uint32_t> writers(values, 0);  // by value, over every operation kept
  {
    std::vector<std::int64_t> first_seen(values, std::numeric_limits<std::int64_t>::max());
    std::vector<bool> referenced(values, false);
    bool unreported_cas_failure = false;
    for (const Prepared& p : all) {
      const CompactOp& op = p.op;
      switch (op.kind) {
        case OpKind::kRead:
          referenced[op.value] = true;
          first_seen[op.value] = std::min(first_seen[op.value], p.complete);
          break;
        case OpKind::kWrite:
          ++writers[op.value];
          break;
        case OpKind::kDelete:
          break;
        case OpKind::kCas:
          ++writers[op.value];
          if (op.unknown) {
            referenced[op.expect] = true;
            break;
          }
          if (op.ok) {
            referenced[op.expect] = true;
            first_seen[op.expect] = std::min(first_seen[op.expect], p.complete);
          } else if (op.seen != kAnyValue) {
            referenced[op.seen] = true;
            first_seen[op.seen] = std::min(first_seen[op.seen], p.complete);
          } else {
            unreported_cas_failure = true;
          }
          break;
      }
    }
    std::vector<Prepared> kept;
    kept.reserve(all.size());
    for (Prepared& p : all) {
      CompactOp& op = p.op;
      const bool writes = op.kind == OpKind::kWrite || op.kind == OpKind::kCas;
      if (op.unknown && writes && op.value != kAbsent && writers[op.value] == 1) {
        if (first_seen[op.value] != std::numeric_limits<std::int64_t>::max() &&
            first_seen[op.value] >= p.invoke) {
          op.unknown = false;
          op.ok = true;
          p.complete = first_seen[op.value];
          p.pinned = true;
        } else if (!referenced[op.value] && !unreported_cas_failure) {
          continue;
        }
      }
      kept.push_back(p);
    }
    all = std::move(kept);
  }
  result.operations = all.size();

  // Known operations first, by invoke time; then the unknown ones.
  std::stable_sort(all.begin(), all.end(), [](const Prepared& a, const Prepared& b) {
    if (a.op.unknown != b.op.unknown) {
      return !a.op.unknown;
    }
    return a.invoke < b.invoke;
  });
  const auto known = static_cast<std::size_t>(
      std::count_if(all.begin(), all.end(), [](const Prepared& p) { return !p.op.unknown; }));
  result.unknown_operations = all.size() - known;

  std::vector<bool> unique(values, false);
  for (std::size_t v = 1; v < values; ++v) {
    unique[v] = writers[v] == 1;
  }
  Search search(std::move(all), known, std::move(unique));
  const bool has_deadline = options.per_key_timeout.count() > 0;
  const auto deadline = started + options.per_key_timeout;
  const auto verdict = search.run(deadline, has_deadline, options.per_key_max_steps);
  result.steps = search.steps();
  switch (verdict) {
    case Search::Result::kOk:
      result.verdict = Verdict::kLinearizable;
      break;
    case Search::Result::kBudget:
      result.verdict = Verdict::kTimeout;
      result.explanation = "key " + quote(result.key, kMaxShownValue) + ": timeout after " +
                           std::to_string(result.steps) + " steps (" +
                           std::to_string(result.operations) + " operations)";
      break;
    case Search::Result::kIllegal:
      result.verdict = Verdict::kNotLinearizable;
      break;
  }

  if (result.verdict == Verdict::kNotLinearizable && options.explain) {
    // Replay the (deterministic) search up to the first dead end at the deepest level it
    // reached. It stops no later than the first run did; the budget is only a guard.
    const std::size_t depth = search.max_depth();
    Search::Capture cap;
    const auto again = search.run(std::chrono::steady_clock::now() + options.per_key_timeout,
                                  has_deadline, options.per_key_max_steps, depth, &cap);
    auto state_text = [&](std::int32_t s) {
      return s == kAbsent ? std::string("absent") : describe(Value(names[s - 1]));
    };
    auto op_text = [&](std::uint32_t i) {
      const Prepared& p = search.op(i);
      std::string s = describe(history[p.origin]);
      if (p.pinned) {
        s += " (its value was observed: it took effect by " + std::to_string(p.complete) + ")";
      }
      return s;
    };
    std::string text = "key " + quote(result.key, kMaxShownValue) + ": not linearizable (" +
                       std::to_string(result.operations) + " operations).";
    if (again == Search::Result::kIllegal) {
      for (std::uint32_t i : cap.prefix) {
        result.longest_prefix.push_back(search.op(i).origin);
      }
      // Unknown operations are never required: list only the known ones.
      std::vector<std::uint32_t> known_candidates;
      std::size_t unknown_candidates = 0;
      for (std::uint32_t i : cap.candidates) {
        if (search.op(i).op.unknown) {
          ++unknown_candidates;
        } else {
          known_candidates.push_back(i);
        }
      }
      result.unplaced.push_back(search.op(cap.blocking).origin);
      for (std::uint32_t i : known_candidates) {
        if (i != cap.blocking) {
          result.unplaced.push_back(search.op(i).origin);
        }
      }
      text += " The longest linearizable prefix has " + std::to_string(cap.prefix.size()) +
              " operations";
      if (!cap.prefix.empty()) {
        constexpr std::size_t kShownPrefix = 3;
        text += ", ending with:";
        const std::size_t from =
            cap.prefix.size() > kShownPrefix ? cap.prefix.size() - kShownPrefix : 0;
        for (std::size_t k = from; k < cap.prefix.size(); ++k) {
          text += "\n    " + op_text(cap.prefix[k]);
        }
        text += "\n  and leaves the register at " + state_text(cap.state) + ".";
      } else {
        text += " (the register is absent).";
      }
      text += "\n  Then " + op_text(cap.blocking) +
              " had to take effect before it returned, and no operation can go next:";
      constexpr std::size_t kShownCandidates = 8;
      std::size_t shown = 0;
      for (std::uint32_t i : known_candidates) {
        if (shown == kShownCandidates) {
          text += "\n    ... and " + std::to_string(known_candidates.size() - shown) + " more";
          break;
        }
        ++shown;
        const Prepared& p = search.op(i);
        std::string why;
        if (const auto observer = search.stranded_observer(i, cap.state)) {
          const std::size_t origin = search.op(*observer).origin;
          if (std::find(result.unplaced.begin(), result.unplaced.end(), origin) ==
              result.unplaced.end()) {
            result.unplaced.push_back(origin);
          }
          why = "would leave " + state_text(cap.state) + ", which nothing can write again, but " +
                op_text(*observer) + " must still see it";
        } else {
          why = why_not(history[p.origin], p.op, cap.state, state_text(cap.state));
        }
        text += "\n    " + op_text(i) + ": " + why;
      }
      if (unknown_candidates != 0) {
        text += "\n    (and " + std::to_string(unknown_candidates) +
                " operations of unknown outcome, none of which helps)";
      }
    } else {
      text += " (No explanation: the replay did not reach the dead end.)";
    }
    result.explanation = std::move(text);
  }
  result.elapsed = std::chrono::steady_clock::now() - started;
  return result;
}

}  // namespace

KeyResult check_key(const History& history, const CheckOptions& options) {
  std::vector<std::size_t> indices(history.size());
  for (std::size_t i = 0; i < history.size(); ++i) {
    indices[i] = i;
  }
  return check_indices(history, indices, options);
}

CheckResult check(const History& history, const CheckOptions& options) {
  std::map<std::string_view, std::vector<std::size_t>> partitions;
  for (std::size_t i = 0; i < history.size(); ++i) {
    partitions[history[i].op.key].push_back(i);
  }
  CheckResult result;
  for (const auto& [key, indices] : partitions) {
    result.keys.push_back(check_indices(history, indices, options));
  }
  const KeyResult* first_bad = nullptr;
  const KeyResult* first_timeout = nullptr;
  for (const auto& k : result.keys) {
    if (k.verdict == Verdict::kNotLinearizable && first_bad == nullptr) {
      first_bad = &k;
    }
    if (k.verdict == Verdict::kTimeout && first_timeout == nullptr) {
      first_timeout = &k;
    }
  }
  const KeyResult* reported = first_bad != nullptr ? first_bad : first_timeout;
  if (reported != nullptr) {
    result.verdict = reported->verdict;
    result.key = reported->key;
    result.explanation = reported->explanation;
  }
  return result;
}

// ---------------------------------------------------------------------------------------------
// Recorder.

std::int64_t Recorder::now() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

Recorder::Id Recorder::invoke(int client, Op op) {
  Event e;
  e.client = client;
  e.op = std::move(op);
  e.outcome = Outcome::kUnknown;
  std::lock_guard lock(mutex_);
  e.invoke = now();  // under the lock: invoke times follow the order of ids
  events_.push_back(std::move(e));
  done_.push_back(false);
  return events_.size() - 1;
}

void Recorder::finish(Id id, Outcome outcome, OpResult result) {
  const std::int64_t t = now();
  std::lock_guard lock(mutex_);
  if (id >= events_.size() || done_[id]) {
    throw std::logic_error("Recorder: operation finished twice or never invoked");
  }
  done_[id] = true;
  Event& e = events_[id];
  e.outcome = outcome;
  e.result = std::move(result);
  e.complete = std::max(t, e.invoke);
}

void Recorder::ok(Id id, OpResult result) {
  finish(id, Outcome::kOk, std::move(result));
}
void Recorder::failed(Id id) {
  finish(id, Outcome::kFailed, {});
}
void Recorder::unknown(Id id) {
  finish(id, Outcome::kUnknown, {});
}

History Recorder::history() const {
  std::lock_guard lock(mutex_);
  return events_;
}

std::size_t Recorder::size() const {
  std::lock_guard lock(mutex_);
  return events_.size();
}

// ---------------------------------------------------------------------------------------------
// JSON.

namespace {

void json_string(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  for (char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          out += "\\u00";
          out += kHex[(c >> 4) & 0xf];
          out += kHex[c & 0xf];
        } else {
          out += c;
        }
    }
  }
  out += '"';
}

void json_value(std::string& out, const Value& v) {
  if (v) {
    json_string(out, *v);
  } else {
    out += "null";
  }
}

// A minimal JSON reader, enough for to_json's output (and hand-written variations of it).
struct Json {
  enum class Type { kNull, kBool, kNumber, kString, kArray, kObject } type = Type::kNull;
  bool boolean = false;
  std::int64_t number = 0;
  std::string string;
  std::vector<Json> array;
  std::vector<std::pair<std::string, Json>> object;

  const Json* find(std::string_view name) const {
    for (const auto& [k, v] : object) {
      if (k == name) {
        return &v;
      }
    }
    return nullptr;
  }
};

class JsonParser {
 public:
  explicit JsonParser(std::string_view text) : s_(text) {}

  Json parse_document() {
    Json v = parse(0);
    skip_ws();
    if (pos_ != s_.size()) {
      fail("trailing characters");
    }
    return v;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw std::invalid_argument("history JSON: " + what + " at offset " + std::to_string(pos_));
  }

  void skip_ws() {
    while (pos_ < s_.size() &&
           (s_[pos_] == ' ' || s_[pos_] == '\n' || s_[pos_] == '\r' || s_[pos_] == '\t')) {
      ++pos_;
    }
  }

  bool consume(std::string_view word) {
    if (s_.substr(pos_, word.size()) == word) {
      pos_ += word.size();
      return true;
    }
    return false;
  }

  void expect(char c) {
    skip_ws();
    if (pos_ >= s_.size() || s_[pos_] != c) {
      fail(std::string("expected '") + c + "'");
    }
    ++pos_;
  }

  Json parse(int depth) {
    if (depth > 64) {
      fail("nested too deeply");
    }
    skip_ws();
    if (pos_ >= s_.size()) {
      fail("unexpected end");
    }
    Json v;
    const char c = s_[pos_];
    if (c == '{') {
      ++pos_;
      v.type = Json::Type::kObject;
      skip_ws();
      if (pos_ < s_.size() && s_[pos_] == '}') {
        ++pos_;
        return v;
      }
      while (true) {
        skip_ws();
        if (pos_ >= s_.size() || s_[pos_] != '"') {
          fail("expected a member name");
        }
        std::string name = parse_string();
        expect(':');
        v.object.emplace_back(std::move(name), parse(depth + 1));
        skip_ws();
        if (pos_ < s_.size() && s_[pos_] == ',') {
          ++pos_;
          continue;
        }
        expect('}');
        return v;
      }
    }
    if (c == '[') {
      ++pos_;
      v.type = Json::Type::kArray;
      skip_ws();
      if (pos_ < s_.size() && s_[pos_] == ']') {
        ++pos_;
        return v;
      }
      while (true) {
        v.array.push_back(parse(depth + 1));
        skip_ws();
        if (pos_ < s_.size() && s_[pos_] == ',') {
          ++pos_;
          continue;
        }
        expect(']');
        return v;
      }
    }
    if (c == '"') {
      v.type = Json::Type::kString;
      v.string = parse_string();
      return v;
    }
    if (consume("null")) {
      return v;
    }
    if (consume("true")) {
      v.type = Json::Type::kBool;
      v.boolean = true;
      return v;
    }
    if (consume("false")) {
      v.type = Json::Type::kBool;
      return v;
    }
    if (c == '-' || (c >= '0' && c <= '9')) {
      v.type = Json::Type::kNumber;
      const std::size_t start = pos_;
      if (c == '-') {
        ++pos_;
      }
      if (pos_ >= s_.size() || s_[pos_] < '0' || s_[pos_] > '9') {
        fail("bad number");
      }
      while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9') {
        ++pos_;
      }
      if (pos_ < s_.size() && (s_[pos_] == '.' || s_[pos_] == 'e' || s_[pos_] == 'E')) {
        fail("only integers are supported");
      }
      try {
        v.number = std::stoll(std::string(s_.substr(start, pos_ - start)));
      } catch (const std::exception&) {
        fail("number out of range");
      }
      return v;
    }
    fail("unexpected character");
  }

  unsigned hex4() {
    if (pos_ + 4 > s_.size()) {
      fail("short \\u escape");
    }
    unsigned v = 0;
    for (int i = 0; i < 4; ++i) {
      const char h = s_[pos_++];
      v <<= 4;
      if (h >= '0' && h <= '9') {
        v |= static_cast<unsigned>(h - '0');
      } else if (h >= 'a' && h <= 'f') {
        v |= static_cast<unsigned>(h - 'a' + 10);
      } else if (h >= 'A' && h <= 'F') {
        v |= static_cast<unsigned>(h - 'A' + 10);
      } else {
        fail("bad \\u escape");
      }
    }
    return v;
  }

  static void utf8(std::string& out, unsigned cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xc0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xe0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
      out += static_cast<char>(0x80 | (cp & 0x3f));
    } else {
      out += static_cast<char>(0xf0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
      out += static_cast<char>(0x80 | (cp & 0x3f));
    }
  }

  std::string parse_string() {
    ++pos_;  // the opening quote
    std::string out;
    while (true) {
      if (pos_ >= s_.size()) {
        fail("unterminated string");
      }
      const char c = s_[pos_++];
      if (c == '"') {
        return out;
      }
      if (c != '\\') {
        out += c;
        continue;
      }
      if (pos_ >= s_.size()) {
        fail("unterminated string");
      }
      const char esc = s_[pos_++];
      switch (esc) {
        case '"':
        case '\\':
        case '/':
          out += esc;
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'n':
          out += '\n';
          break;
        case 'r':
          out += '\r';
          break;
        case 't':
          out += '\t';
          break;
        case 'u': {
          unsigned cp = hex4();
          if (cp >= 0xd800 && cp < 0xdc00 && consume("\\u")) {
            const unsigned low = hex4();
            if (low < 0xdc00 || low >= 0xe000) {
              fail("bad surrogate pair");
            }
            cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
          }
          utf8(out, cp);
          break;
        }
        default:
          fail("bad escape");
      }
    }
  }

  std::string_view s_;
  std::size_t pos_ = 0;
};

const Json& member(const Json& object, std::string_view name) {
  const Json* v = object.find(name);
  if (v == nullptr) {
    throw std::invalid_argument("history JSON: an event lacks \"" + std::string(name) + "\"");
  }
  return *v;
}

Value value_member(const Json& object, std::string_view name) {
  const Json* v = object.find(name);
  if (v == nullptr || v->type == Json::Type::kNull) {
    return std::nullopt;
  }
  if (v->type != Json::Type::kString) {
    throw std::invalid_argument("history JSON: \"" + std::string(name) +
                                "\" must be a string or null");
  }
  return v->string;
}

bool bool_member(const Json& object, std::string_view name, bool fallback) {
  const Json* v = object.find(name);
  if (v == nullptr) {
    return fallback;
  }
  if (v->type != Json::Type::kBool) {
    throw std::invalid_argument("history JSON: \"" + std::string(name) + "\" must be a boolean");
  }
  return v->boolean;
}

std::int64_t int_member(const Json& object, std::string_view name) {
  const Json& v = member(object, name);
  if (v.type != Json::Type::kNumber) {
    throw std::invalid_argument("history JSON: \"" + std::string(name) + "\" must be an integer");
  }
  return v.number;
}

std::string string_member(const Json& object, std::string_view name) {
  const Json& v = member(object, name);
  if (v.type != Json::Type::kString) {
    throw std::invalid_argument("history JSON: \"" + std::string(name) + "\" must be a string");
  }
  return v.string;
}

}  // namespace

std::string to_json(const History& history) {
  std::string out = "{\"events\":[";
  bool first = true;
  for (const Event& e : history) {
    if (!first) {
      out += ",";
    }
    first = false;
    out += "\n{\"client\":" + std::to_string(e.client) + ",\"kind\":\"";
    out += to_string(e.op.kind);
    out += "\",\"key\":";
    json_string(out, e.op.key);
    out += ",\"expect\":";
    json_value(out, e.op.expect);
    out += ",\"value\":";
    json_value(out, e.op.value);
    out += ",\"ok\":";
    out += e.result.ok ? "true" : "false";
    out += ",\"result\":";
    json_value(out, e.result.value);
    out += ",\"result_known\":";
    out += e.result.value_known ? "true" : "false";
    out += ",\"outcome\":\"";
    out += to_string(e.outcome);
    out += "\",\"invoke\":" + std::to_string(e.invoke) +
           ",\"complete\":" + std::to_string(e.complete) + "}";
  }
  out += "\n]}\n";
  return out;
}

History history_from_json(std::string_view json) {
  const Json doc = JsonParser(json).parse_document();
  if (doc.type != Json::Type::kObject) {
    throw std::invalid_argument("history JSON: expected an object");
  }
  const Json& events = member(doc, "events");
  if (events.type != Json::Type::kArray) {
    throw std::invalid_argument("history JSON: \"events\" must be an array");
  }
  History history;
  history.reserve(events.array.size());
  for (const Json& j : events.array) {
    if (j.type != Json::Type::kObject) {
      throw std::invalid_argument("history JSON: each event must be an object");
    }
    Event e;
    e.client = static_cast<int>(int_member(j, "client"));
    const std::string kind = string_member(j, "kind");
    if (kind == "read") {
      e.op.kind = OpKind::kRead;
    } else if (kind == "write") {
      e.op.kind = OpKind::kWrite;
    } else if (kind == "cas") {
      e.op.kind = OpKind::kCas;
    } else if (kind == "delete") {
      e.op.kind = OpKind::kDelete;
    } else {
      throw std::invalid_argument("history JSON: unknown kind \"" + kind + "\"");
    }
    e.op.key = string_member(j, "key");
    e.op.expect = value_member(j, "expect");
    e.op.value = value_member(j, "value");
    e.result.ok = bool_member(j, "ok", true);
    e.result.value = value_member(j, "result");
    e.result.value_known = bool_member(j, "result_known", false);
    const std::string outcome = string_member(j, "outcome");
    if (outcome == "ok") {
      e.outcome = Outcome::kOk;
    } else if (outcome == "failed") {
      e.outcome = Outcome::kFailed;
    } else if (outcome == "unknown") {
      e.outcome = Outcome::kUnknown;
    } else {
      throw std::invalid_argument("history JSON: unknown outcome \"" + outcome + "\"");
    }
    e.invoke = int_member(j, "invoke");
    e.complete = int_member(j, "complete");
    history.push_back(std::move(e));
  }
  return history;
}

}  // namespace br2k::chaos
