// ReplicatedState: see replicated_state.hpp.
#include <spdlog/spdlog.h>

#include <br2k/eth/keccak.hpp>
#include <br2k/eth/rlp.hpp>
#include <br2k/server/replicated_state.hpp>
#include <exception>
#include <map>

namespace br2k::server {

namespace rlp = eth::rlp;

ReplicatedState::ReplicatedState(StateMachine& machine, ReplicatedStateOptions options)
    : machine_(machine), options_(options) {}

std::string ReplicatedState::fingerprint(const Command& c) {
  rlp::ListEncoder l;
  l.add_string(std::string_view(c.method))
      .add_string(std::string_view(c.target))
      .add_string(std::string_view(c.content_type))
      .add_string(std::string_view(c.body));
  auto h = eth::keccak256(ByteView(l.payload()));
  return std::string(h.begin(), h.begin() + 16);  // 128 bits tell requests apart
}

const Reply& ReplicatedState::apply(std::uint64_t index, const LogEntry& entry) {
  if (index != applied_ + 1)
    throw std::logic_error("ReplicatedState::apply: index " + std::to_string(index) + " after " +
                           std::to_string(applied_));
  const auto& key = entry.command.idempotency_key;
  applied_ = index;
  if (options_.deduplicate && !key.empty()) {
    if (auto it = ids_.find(key); it != ids_.end()) {
      ++duplicates_;
      if (it->second.fingerprint != fingerprint(entry.command)) {
        last_ = error_reply(422, "Idempotency-Key reused with a different request");
        return last_;
      }
      return it->second.reply;
    }
  }
  try {
    last_ = machine_.apply(entry.command, index);
  } catch (const std::exception& e) {
    // Deterministic on every replica: the same entry throws everywhere.
    spdlog::error("application failed to apply entry {}: {}", index, e.what());
    last_ = error_reply(500, "the application failed to apply the request");
  }
  if (!key.empty()) {
    auto [it, inserted] = ids_.try_emplace(key);
    it->second = Applied{index, fingerprint(entry.command), last_};
    if (inserted)
      order_.emplace_back(index, key);
  }
  prune();
  return last_;
}

void ReplicatedState::prune() {
  while (!order_.empty() && order_.front().first + options_.dedup_window <= applied_) {
    auto it = ids_.find(order_.front().second);
    if (it != ids_.end() && it->second.index == order_.front().first)
      ids_.erase(it);
    order_.pop_front();
  }
}

const ReplicatedState::Applied* ReplicatedState::find(std::string_view key) const {
  if (!options_.deduplicate || key.empty())
    return nullptr;
  auto it = ids_.find(std::string(key));
  return it == ids_.end() ? nullptr : &it->second;
}

// Snapshot: RLP [1, applied, [[id, index, fingerprint, status, content_type, body], ...], app]
// with the ids in index order, so equal states have equal bytes.
std::string ReplicatedState::snapshot() const {
  rlp::ListEncoder table;
  for (const auto& [index, id] : order_) {
    auto it = ids_.find(id);
    if (it == ids_.end() || it->second.index != index)
      continue;
    const auto& a = it->second;
    rlp::ListEncoder row;
    row.add_string(std::string_view(id))
        .add_uint(a.index)
        .add_string(std::string_view(a.fingerprint))
        .add_uint(a.reply.status)
        .add_string(std::string_view(a.reply.content_type))
        .add_string(std::string_view(a.reply.body));
    table.add_list(row);
  }
  rlp::ListEncoder all;
  all.add_uint(1).add_uint(applied_).add_list(table).add_string(
      std::string_view(machine_.snapshot()));
  Bytes b = all.list();
  return std::string(b.begin(), b.end());
}

Result<void> ReplicatedState::restore(std::string_view snapshot) {
  auto bad = [](std::string_view what) {
    return Error(Errc::kInvalidArgument, "snapshot: " + std::string(what));
  };
  auto tree = rlp::decode(as_bytes(snapshot));
  if (!tree || !tree->is_list || tree->items.size() != 4 || tree->items[2].is_list == false)
    return bad("not a BR2K state snapshot");
  auto as_uint = [](const rlp::Item& i) -> std::optional<std::uint64_t> {
    if (i.is_list)
      return std::nullopt;
    ByteView v = i.string;
    if (v.size() > 8 || (!v.empty() && v[0] == 0))
      return std::nullopt;
    std::uint64_t n = 0;
    for (auto b : v)
      n = n << 8 | b;
    return n;
  };
  auto as_str = [](const rlp::Item& i) { return std::string(i.string.begin(), i.string.end()); };
  auto format = as_uint(tree->items[0]);
  auto applied = as_uint(tree->items[1]);
  if (!format || *format != 1 || !applied || tree->items[3].is_list)
    return bad("unknown format");
  std::unordered_map<std::string, Applied> ids;
  std::deque<std::pair<std::uint64_t, std::string>> order;
  for (const auto& row : tree->items[2].items) {
    if (!row.is_list || row.items.size() != 6)
      return bad("malformed id row");
    auto index = as_uint(row.items[1]);
    auto status = as_uint(row.items[3]);
    if (!index || !status || row.items[0].is_list || row.items[2].is_list || row.items[4].is_list ||
        row.items[5].is_list)
      return bad("malformed id row");
    Applied a{*index, as_str(row.items[2]),
              Reply{static_cast<unsigned>(*status), as_str(row.items[4]), as_str(row.items[5])}};
    auto id = as_str(row.items[0]);
    order.emplace_back(a.index, id);
    ids[id] = std::move(a);
  }
  if (auto r = machine_.restore(as_str(tree->items[3])); !r)
    return r;
  applied_ = *applied;
  ids_ = std::move(ids);
  order_ = std::move(order);
  return {};
}

std::string ReplicatedState::state_hash() const {
  auto s = snapshot();
  auto h = eth::keccak256(std::string_view(s));
  return to_hex(ByteView(h.data(), h.size()));
}

}  // namespace br2k::server
