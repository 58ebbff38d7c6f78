// Requests and responses of the etcd v3 API subset BR2K uses, as plain C++ values.
//
// Field meanings follow etcd's rpc.proto (https://etcd.io/docs/v3.4/learning/api/). Keys and values
// are raw bytes held in std::string. A zero number or empty string means "not set", as in proto3.
// Thread-safety: plain values.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace br2k::etcd {

struct ResponseHeader {
  std::uint64_t cluster_id = 0;
  std::uint64_t member_id = 0;
  std::int64_t revision = 0;
  std::uint64_t raft_term = 0;
};

struct KeyValue {
  std::string key;
  std::string value;
  std::int64_t create_revision = 0;
  std::int64_t mod_revision = 0;
  std::int64_t version = 0;
  std::int64_t lease = 0;
};

// The range_end that selects every key starting with `prefix` (etcd's clientv3.GetPrefixRangeEnd).
std::string prefix_range_end(std::string_view prefix);

enum class SortOrder { kNone, kAscend, kDescend };
enum class SortTarget { kKey, kVersion, kCreate, kMod, kValue };

struct RangeRequest {
  std::string key;
  std::string range_end;  // empty: the single key; prefix_range_end(key): a prefix
  std::int64_t limit = 0;
  std::int64_t revision = 0;  // 0: the latest
  SortOrder sort_order = SortOrder::kNone;
  SortTarget sort_target = SortTarget::kKey;
  bool serializable = false;  // true: answered by the member without a quorum read
  bool keys_only = false;
  bool count_only = false;
  std::int64_t min_mod_revision = 0;
  std::int64_t max_mod_revision = 0;

  static RangeRequest single(std::string key) { return {.key = std::move(key)}; }
  static RangeRequest prefix(std::string prefix) {
    RangeRequest r{.key = std::move(prefix)};
    r.range_end = prefix_range_end(r.key);
    return r;
  }
};

struct RangeResponse {
  ResponseHeader header;
  std::vector<KeyValue> kvs;
  bool more = false;
  std::int64_t count = 0;
};

struct PutRequest {
  std::string key;
  std::string value;
  std::int64_t lease = 0;
  bool prev_kv = false;
  bool ignore_value = false;
  bool ignore_lease = false;
};

struct PutResponse {
  ResponseHeader header;
  std::optional<KeyValue> prev_kv;
};

struct DeleteRangeRequest {
  std::string key;
  std::string range_end;
  bool prev_kv = false;
};

struct DeleteRangeResponse {
  ResponseHeader header;
  std::int64_t deleted = 0;
  std::vector<KeyValue> prev_kvs;
};

// One condition of a transaction: `target(key) <result> operand`.
struct Compare {
  enum class Op { kEqual, kGreater, kLess, kNotEqual };
  enum class Target { kVersion, kCreate, kMod, kValue, kLease };

  Op op = Op::kEqual;
  Target target = Target::kVersion;
  std::string key;
  std::string range_end;
  std::int64_t number = 0;  // for kVersion, kCreate, kMod, kLease
  std::string value;        // for kValue

  static Compare version(std::string key, Op op, std::int64_t v) {
    return {.op = op, .target = Target::kVersion, .key = std::move(key), .number = v};
  }
  static Compare create_revision(std::string key, Op op, std::int64_t rev) {
    return {.op = op, .target = Target::kCreate, .key = std::move(key), .number = rev};
  }
  static Compare mod_revision(std::string key, Op op, std::int64_t rev) {
    return {.op = op, .target = Target::kMod, .key = std::move(key), .number = rev};
  }
  static Compare value_of(std::string key, Op op, std::string v) {
    return {.op = op, .target = Target::kValue, .key = std::move(key), .value = std::move(v)};
  }
  static Compare lease_of(std::string key, Op op, std::int64_t lease) {
    return {.op = op, .target = Target::kLease, .key = std::move(key), .number = lease};
  }
};

using RequestOp = std::variant<RangeRequest, PutRequest, DeleteRangeRequest>;
using ResponseOp = std::variant<RangeResponse, PutResponse, DeleteRangeResponse>;

struct TxnRequest {
  std::vector<Compare> compare;
  std::vector<RequestOp> success;
  std::vector<RequestOp> failure;
};

struct TxnResponse {
  ResponseHeader header;
  bool succeeded = false;
  std::vector<ResponseOp> responses;  // of the branch that ran, in order
};

struct LeaseGrantResponse {
  ResponseHeader header;
  std::int64_t id = 0;
  std::int64_t ttl = 0;  // seconds, as granted (may exceed the requested TTL, never less)
};

struct LeaseKeepAliveResponse {
  ResponseHeader header;
  std::int64_t id = 0;
  std::int64_t ttl = 0;  // seconds; 0 means the lease no longer exists
};

struct LeaseTimeToLiveResponse {
  ResponseHeader header;
  std::int64_t id = 0;
  std::int64_t ttl = 0;  // remaining seconds; -1 when the lease has expired or does not exist
  std::int64_t granted_ttl = 0;
  std::vector<std::string> keys;
};

struct Event {
  enum class Type { kPut, kDelete };
  Type type = Type::kPut;
  KeyValue kv;  // for kDelete: the key and mod_revision of the deletion
  std::optional<KeyValue> prev_kv;
};

struct WatchResponse {
  ResponseHeader header;
  std::int64_t watch_id = 0;
  bool created = false;
  bool canceled = false;
  std::int64_t compact_revision = 0;
  std::string cancel_reason;
  std::vector<Event> events;
};

struct StatusResponse {
  ResponseHeader header;
  std::string version;
  std::int64_t db_size = 0;
  std::uint64_t leader = 0;  // member id of the raft leader, 0 when there is none
  std::uint64_t raft_index = 0;
  std::uint64_t raft_term = 0;
  std::uint64_t raft_applied_index = 0;
  std::vector<std::string> errors;
};

struct Member {
  std::uint64_t id = 0;
  std::string name;
  std::vector<std::string> peer_urls;
  std::vector<std::string> client_urls;
  bool is_learner = false;
};

struct MemberListResponse {
  ResponseHeader header;
  std::vector<Member> members;
};

}  // namespace br2k::etcd
