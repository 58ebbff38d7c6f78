// The replicated log as it lives in etcd: key names and the encoding of one entry
// (PROTOCOL.md, "Names" and "Appending a request").
//
// Keys, all under one service prefix (default "/br2k/<service-id>/"):
//   log/<index>      one entry; the index is 1-based and zero-padded to 20 digits so keys sort
//   log_size         the highest appended index, decimal
//   leader           the elected leader ({"node": id, "url": url}); its create revision is the
//   epoch members/<node>   a live node ({"url", "version", "started"}), attached to the node's
//   lease lpi/<node>       the highest index that node has applied, decimal ssi              the
//   highest index the leader has applied, decimal
//
// An entry is an RLP list (the same canonical codec as Ethereum's, so each entry has exactly one
// encoding and the decoder is already hardened against hostile bytes):
//   [format = 1, epoch, seq, idempotency_key, method, target, content_type, body]
// `epoch` is the epoch of the leader that appended it and `seq` that leader's own counter: the
// pair names the entry uniquely, so the leader knows its own entries when they come back.
//
// Thread-safety: pure functions and plain values.
#pragma once

#include <br2k/core/bytes.hpp>
#include <br2k/core/error.hpp>
#include <br2k/server/state_machine.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace br2k::server {

struct LogEntry {
  std::uint64_t epoch = 0;
  std::uint64_t seq = 0;
  Command command;

  friend bool operator==(const LogEntry& a, const LogEntry& b) {
    return a.epoch == b.epoch && a.seq == b.seq && a.command.method == b.command.method &&
           a.command.target == b.command.target &&
           a.command.content_type == b.command.content_type && a.command.body == b.command.body &&
           a.command.idempotency_key == b.command.idempotency_key;
  }
};

inline constexpr std::uint64_t kLogEntryFormat = 1;

std::string encode(const LogEntry& entry);
// Errors: kInvalidArgument ("log entry: ...") for anything but a well-formed format-1 entry.
Result<LogEntry> decode_log_entry(std::string_view bytes);

// The etcd key names of one service.
class Keys {
 public:
  // `prefix` ends with '/' (one is added otherwise).
  explicit Keys(std::string prefix);
  static Keys for_service(std::string_view service_id) {
    return Keys("/br2k/" + std::string(service_id) + "/");
  }

  const std::string& prefix() const { return prefix_; }
  std::string log(std::uint64_t index) const;
  const std::string& log_prefix() const { return log_prefix_; }
  const std::string& log_size() const { return log_size_; }
  const std::string& leader() const { return leader_; }
  const std::string& members_prefix() const { return members_prefix_; }
  std::string member(std::string_view node) const { return members_prefix_ + std::string(node); }
  std::string lpi(std::string_view node) const { return lpi_prefix_ + std::string(node); }
  const std::string& lpi_prefix() const { return lpi_prefix_; }
  const std::string& ssi() const { return ssi_; }

  // The index of a log key of this service; nullopt for any other key.
  std::optional<std::uint64_t> log_index(std::string_view key) const;

 private:
  std::string prefix_, log_prefix_, log_size_, leader_, members_prefix_, lpi_prefix_, ssi_;
};

// A decimal counter value as etcd holds it ("" or garbage: nullopt).
std::optional<std::uint64_t> parse_counter(std::string_view text);

}  // namespace br2k::server
