// The log entry codec and key names: see log_entry.hpp.
#include <br2k/eth/rlp.hpp>
#include <br2k/server/log_entry.hpp>
#include <charconv>
#include <cstdio>

namespace br2k::server {

namespace rlp = eth::rlp;

std::string encode(const LogEntry& e) {
  rlp::ListEncoder l;
  l.add_uint(kLogEntryFormat)
      .add_uint(e.epoch)
      .add_uint(e.seq)
      .add_string(std::string_view(e.command.idempotency_key))
      .add_string(std::string_view(e.command.method))
      .add_string(std::string_view(e.command.target))
      .add_string(std::string_view(e.command.content_type))
      .add_string(std::string_view(e.command.body));
  Bytes b = l.list();
  return std::string(b.begin(), b.end());
}

namespace {

Error entry_error(std::string_view what) {
  return Error(Errc::kInvalidArgument, "log entry: " + std::string(what));
}

Result<std::string> take_string(ByteView& from, std::string_view field) {
  auto s = rlp::decode_string(from);
  if (!s)
    return entry_error(std::string(field) + ": " + s.error().detail);
  return std::string(s->begin(), s->end());
}

Result<std::uint64_t> take_uint(ByteView& from, std::string_view field) {
  auto v = rlp::decode_uint64(from);
  if (!v)
    return entry_error(std::string(field) + ": " + v.error().detail);
  return *v;
}

}  // namespace

Result<LogEntry> decode_log_entry(std::string_view bytes) {
  ByteView in = as_bytes(bytes);
  auto payload = rlp::decode_list_payload(in);
  if (!payload)
    return entry_error(payload.error().detail);
  if (!rlp::expect_end(in))
    return entry_error("trailing bytes after the entry");
  ByteView p = *payload;
  auto format = take_uint(p, "format");
  if (!format)
    return format.error();
  if (*format != kLogEntryFormat)
    return entry_error("unknown format " + std::to_string(*format));
  LogEntry e;
  auto epoch = take_uint(p, "epoch");
  if (!epoch)
    return epoch.error();
  auto seq = take_uint(p, "seq");
  if (!seq)
    return seq.error();
  e.epoch = *epoch;
  e.seq = *seq;
  std::string* fields[] = {&e.command.idempotency_key, &e.command.method, &e.command.target,
                           &e.command.content_type, &e.command.body};
  const char* names[] = {"idempotency_key", "method", "target", "content_type", "body"};
  for (std::size_t i = 0; i < std::size(fields); ++i) {
    auto s = take_string(p, names[i]);
    if (!s)
      return s.error();
    *fields[i] = std::move(*s);
  }
  if (!rlp::expect_end(p))
    return entry_error("extra fields");
  if (e.command.method.empty())
    return entry_error("empty method");
  return e;
}

Keys::Keys(std::string prefix) : prefix_(std::move(prefix)) {
  if (prefix_.empty() || prefix_.back() != '/')
    prefix_ += '/';
  log_prefix_ = prefix_ + "log/";
  log_size_ = prefix_ + "log_size";
  leader_ = prefix_ + "leader";
  members_prefix_ = prefix_ + "members/";
  lpi_prefix_ = prefix_ + "lpi/";
  ssi_ = prefix_ + "ssi";
}

std::string Keys::log(std::uint64_t index) const {
  char digits[21];
  std::snprintf(digits, sizeof digits, "%020llu", static_cast<unsigned long long>(index));
  return log_prefix_ + digits;
}

std::optional<std::uint64_t> Keys::log_index(std::string_view key) const {
  if (!key.starts_with(log_prefix_))
    return std::nullopt;
  key.remove_prefix(log_prefix_.size());
  if (key.size() != 20)
    return std::nullopt;
  return parse_counter(key);
}

std::optional<std::uint64_t> parse_counter(std::string_view text) {
  std::uint64_t v = 0;
  if (text.empty())
    return std::nullopt;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || p != text.data() + text.size())
    return std::nullopt;
  return v;
}

}  // namespace br2k::server
