// JSON codec for etcd's gRPC-JSON gateway. See codec.hpp.
#include <br2k/core/bytes.hpp>
#include <br2k/core/json_guard.hpp>
#include <br2k/etcd/codec.hpp>
#include <charconv>
#include <nlohmann/json.hpp>

namespace br2k::etcd {

std::string prefix_range_end(std::string_view prefix) {
  std::string end(prefix);
  while (!end.empty()) {
    auto& last = reinterpret_cast<unsigned char&>(end.back());
    if (last < 0xff) {
      ++last;
      return end;
    }
    end.pop_back();
  }
  // Every byte was 0xff (or the prefix was empty): "\0" means "to the end of the keyspace".
  return std::string(1, '\0');
}

namespace codec {
namespace {

using nlohmann::json;

// Thrown inside this file only, caught at each decoder's boundary and turned into kMalformedReply.
struct Malformed {
  std::string what;
};

[[noreturn]] void fail(std::string what) {
  throw Malformed{std::move(what)};
}

const json* find(const json& j, const char* key) {
  if (!j.is_object())
    fail(std::string("expected an object holding '") + key + "'");
  auto it = j.find(key);
  return it == j.end() || it->is_null() ? nullptr : &*it;
}

template <class Int>
Int get_int(const json& j, const char* key) {
  const json* v = find(j, key);
  if (v == nullptr)
    return 0;
  if (v->is_number_integer()) {
    // The gateway sends 64-bit integers as strings, but numbers are valid proto3 JSON too.
    if (v->is_number_unsigned())
      return static_cast<Int>(v->get<std::uint64_t>());
    return static_cast<Int>(v->get<std::int64_t>());
  }
  if (!v->is_string())
    fail(std::string("'") + key + "' is not an integer");
  const auto& s = v->get_ref<const std::string&>();
  Int out{};
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  if (ec != std::errc() || ptr != s.data() + s.size()) {
    fail(std::string("'") + key + "' is not an integer: " + s.substr(0, 32));
  }
  return out;
}

bool get_bool(const json& j, const char* key) {
  const json* v = find(j, key);
  if (v == nullptr)
    return false;
  if (!v->is_boolean())
    fail(std::string("'") + key + "' is not a boolean");
  return v->get<bool>();
}

std::string get_string(const json& j, const char* key) {
  const json* v = find(j, key);
  if (v == nullptr)
    return {};
  if (!v->is_string())
    fail(std::string("'") + key + "' is not a string");
  return v->get<std::string>();
}

std::string get_bytes(const json& j, const char* key) {
  auto r = from_base64(get_string(j, key));
  if (!r)
    fail(std::string("'") + key + "' is not base64");
  return std::move(*r);
}

template <class F>
void for_each(const json& j, const char* key, F&& f) {
  const json* v = find(j, key);
  if (v == nullptr)
    return;
  if (!v->is_array())
    fail(std::string("'") + key + "' is not an array");
  for (const auto& e : *v)
    f(e);
}

ResponseHeader header_of(const json& j) {
  ResponseHeader h;
  if (const json* v = find(j, "header")) {
    h.cluster_id = get_int<std::uint64_t>(*v, "cluster_id");
    h.member_id = get_int<std::uint64_t>(*v, "member_id");
    h.revision = get_int<std::int64_t>(*v, "revision");
    h.raft_term = get_int<std::uint64_t>(*v, "raft_term");
  }
  return h;
}

KeyValue kv_of(const json& j) {
  return {.key = get_bytes(j, "key"),
          .value = get_bytes(j, "value"),
          .create_revision = get_int<std::int64_t>(j, "create_revision"),
          .mod_revision = get_int<std::int64_t>(j, "mod_revision"),
          .version = get_int<std::int64_t>(j, "version"),
          .lease = get_int<std::int64_t>(j, "lease")};
}

std::optional<KeyValue> optional_kv(const json& j, const char* key) {
  const json* v = find(j, key);
  if (v == nullptr)
    return std::nullopt;
  return kv_of(*v);
}

RangeResponse range_of(const json& j) {
  RangeResponse r{.header = header_of(j)};
  for_each(j, "kvs", [&](const json& e) { r.kvs.push_back(kv_of(e)); });
  r.more = get_bool(j, "more");
  r.count = get_int<std::int64_t>(j, "count");
  return r;
}

PutResponse put_of(const json& j) {
  return {.header = header_of(j), .prev_kv = optional_kv(j, "prev_kv")};
}

DeleteRangeResponse delete_of(const json& j) {
  DeleteRangeResponse r{.header = header_of(j), .deleted = get_int<std::int64_t>(j, "deleted")};
  for_each(j, "prev_kvs", [&](const json& e) { r.prev_kvs.push_back(kv_of(e)); });
  return r;
}

// Replies nested deeper than kMaxJsonDepth are refused before parsing: see json_guard.hpp.

// Parses untrusted text and runs `decode` on it, turning every failure into kMalformedReply.
template <class F>
auto decode(std::string_view body, F&& decode) -> Result<decltype(decode(std::declval<json&>()))> {
  if (json_nests_deeper_than(body, kMaxJsonDepth))
    return Error(Errc::kMalformedReply,
                 "reply nests deeper than " + std::to_string(kMaxJsonDepth) + " levels");
  json j = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded())
    return Error(Errc::kMalformedReply, "reply is not JSON");
  if (!j.is_object())
    return Error(Errc::kMalformedReply, "reply is not a JSON object");
  try {
    return decode(j);
  } catch (const Malformed& m) {
    return Error(Errc::kMalformedReply, m.what);
  } catch (const json::exception& e) {
    return Error(Errc::kMalformedReply, e.what());
  }
}

json encode_compare(const Compare& c) {
  static constexpr const char* kOps[] = {"EQUAL", "GREATER", "LESS", "NOT_EQUAL"};
  json j{{"result", kOps[static_cast<int>(c.op)]}, {"key", to_base64(c.key)}};
  if (!c.range_end.empty())
    j["range_end"] = to_base64(c.range_end);
  switch (c.target) {
    case Compare::Target::kVersion:
      j["target"] = "VERSION";
      j["version"] = std::to_string(c.number);
      break;
    case Compare::Target::kCreate:
      j["target"] = "CREATE";
      j["create_revision"] = std::to_string(c.number);
      break;
    case Compare::Target::kMod:
      j["target"] = "MOD";
      j["mod_revision"] = std::to_string(c.number);
      break;
    case Compare::Target::kValue:
      j["target"] = "VALUE";
      j["value"] = to_base64(c.value);
      break;
    case Compare::Target::kLease:
      j["target"] = "LEASE";
      j["lease"] = std::to_string(c.number);
      break;
  }
  return j;
}

}  // namespace

json encode(const RangeRequest& r) {
  json j{{"key", to_base64(r.key)}};
  if (!r.range_end.empty())
    j["range_end"] = to_base64(r.range_end);
  if (r.limit != 0)
    j["limit"] = std::to_string(r.limit);
  if (r.revision != 0)
    j["revision"] = std::to_string(r.revision);
  if (r.sort_order != SortOrder::kNone) {
    // Enumerator names of etcd's RangeRequest.SortOrder and SortTarget, in our enums' order.
    static constexpr const char* kOrders[] = {"NONE", "ASCEND", "DESCEND"};
    static constexpr const char* kTargets[] = {"KEY", "VERSION", "CREATE", "MOD", "VALUE"};
    j["sort_order"] = kOrders[static_cast<int>(r.sort_order)];
    j["sort_target"] = kTargets[static_cast<int>(r.sort_target)];
  }
  if (r.serializable)
    j["serializable"] = true;
  if (r.keys_only)
    j["keys_only"] = true;
  if (r.count_only)
    j["count_only"] = true;
  if (r.min_mod_revision != 0)
    j["min_mod_revision"] = std::to_string(r.min_mod_revision);
  if (r.max_mod_revision != 0)
    j["max_mod_revision"] = std::to_string(r.max_mod_revision);
  return j;
}

json encode(const PutRequest& r) {
  json j{{"key", to_base64(r.key)}, {"value", to_base64(r.value)}};
  if (r.lease != 0)
    j["lease"] = std::to_string(r.lease);
  if (r.prev_kv)
    j["prev_kv"] = true;
  if (r.ignore_value)
    j["ignore_value"] = true;
  if (r.ignore_lease)
    j["ignore_lease"] = true;
  return j;
}

json encode(const DeleteRangeRequest& r) {
  json j{{"key", to_base64(r.key)}};
  if (!r.range_end.empty())
    j["range_end"] = to_base64(r.range_end);
  if (r.prev_kv)
    j["prev_kv"] = true;
  return j;
}

json encode(const TxnRequest& r) {
  auto ops = [](const std::vector<RequestOp>& in) {
    json out = json::array();
    for (const auto& op : in) {
      std::visit(
          [&](const auto& req) {
            using T = std::decay_t<decltype(req)>;
            if constexpr (std::is_same_v<T, RangeRequest>) {
              out.push_back({{"request_range", encode(req)}});
            } else if constexpr (std::is_same_v<T, PutRequest>) {
              out.push_back({{"request_put", encode(req)}});
            } else {
              out.push_back({{"request_delete_range", encode(req)}});
            }
          },
          op);
    }
    return out;
  };
  json compare = json::array();
  for (const auto& c : r.compare)
    compare.push_back(encode_compare(c));
  return {
      {"compare", std::move(compare)}, {"success", ops(r.success)}, {"failure", ops(r.failure)}};
}

Result<RangeResponse> decode_range(std::string_view body) {
  return decode(body, [](const json& j) { return range_of(j); });
}

Result<PutResponse> decode_put(std::string_view body) {
  return decode(body, [](const json& j) { return put_of(j); });
}

Result<DeleteRangeResponse> decode_delete_range(std::string_view body) {
  return decode(body, [](const json& j) { return delete_of(j); });
}

Result<TxnResponse> decode_txn(std::string_view body) {
  return decode(body, [](const json& j) {
    TxnResponse r{.header = header_of(j), .succeeded = get_bool(j, "succeeded")};
    for_each(j, "responses", [&](const json& e) {
      if (const json* v = find(e, "response_range")) {
        r.responses.emplace_back(range_of(*v));
      } else if (const json* v = find(e, "response_put")) {
        r.responses.emplace_back(put_of(*v));
      } else if (const json* v = find(e, "response_delete_range")) {
        r.responses.emplace_back(delete_of(*v));
      } else {
        fail("unknown transaction response");
      }
    });
    return r;
  });
}

Result<LeaseGrantResponse> decode_lease_grant(std::string_view body) {
  return decode(body, [](const json& j) {
    if (auto e = get_string(j, "error"); !e.empty())
      fail("lease grant error: " + e);
    return LeaseGrantResponse{.header = header_of(j),
                              .id = get_int<std::int64_t>(j, "ID"),
                              .ttl = get_int<std::int64_t>(j, "TTL")};
  });
}

Result<LeaseKeepAliveResponse> decode_lease_keep_alive(std::string_view body) {
  return decode(body, [](const json& j) {
    const json* r = find(j, "result");
    if (r == nullptr)
      fail("keep-alive reply without a result");
    return LeaseKeepAliveResponse{.header = header_of(*r),
                                  .id = get_int<std::int64_t>(*r, "ID"),
                                  .ttl = get_int<std::int64_t>(*r, "TTL")};
  });
}

Result<LeaseTimeToLiveResponse> decode_lease_time_to_live(std::string_view body) {
  return decode(body, [](const json& j) {
    LeaseTimeToLiveResponse r{.header = header_of(j),
                              .id = get_int<std::int64_t>(j, "ID"),
                              .ttl = get_int<std::int64_t>(j, "TTL"),
                              .granted_ttl = get_int<std::int64_t>(j, "grantedTTL")};
    for_each(j, "keys", [&](const json& e) {
      if (!e.is_string())
        fail("lease key is not a string");
      auto k = from_base64(e.get<std::string>());
      if (!k)
        fail("lease key is not base64");
      r.keys.push_back(std::move(*k));
    });
    return r;
  });
}

Result<ResponseHeader> decode_header_only(std::string_view body) {
  return decode(body, [](const json& j) { return header_of(j); });
}

Result<StatusResponse> decode_status(std::string_view body) {
  return decode(body, [](const json& j) {
    StatusResponse r{.header = header_of(j),
                     .version = get_string(j, "version"),
                     .db_size = get_int<std::int64_t>(j, "dbSize"),
                     .leader = get_int<std::uint64_t>(j, "leader"),
                     .raft_index = get_int<std::uint64_t>(j, "raftIndex"),
                     .raft_term = get_int<std::uint64_t>(j, "raftTerm"),
                     .raft_applied_index = get_int<std::uint64_t>(j, "raftAppliedIndex")};
    for_each(j, "errors", [&](const json& e) {
      if (!e.is_string())
        fail("status error is not a string");
      r.errors.push_back(e.get<std::string>());
    });
    return r;
  });
}

Result<MemberListResponse> decode_member_list(std::string_view body) {
  return decode(body, [](const json& j) {
    MemberListResponse r{.header = header_of(j)};
    auto strings = [](const json& m, const char* key) {
      std::vector<std::string> out;
      for_each(m, key, [&](const json& e) {
        if (!e.is_string())
          fail("member url is not a string");
        out.push_back(e.get<std::string>());
      });
      return out;
    };
    for_each(j, "members", [&](const json& m) {
      r.members.push_back({.id = get_int<std::uint64_t>(m, "ID"),
                           .name = get_string(m, "name"),
                           .peer_urls = strings(m, "peerURLs"),
                           .client_urls = strings(m, "clientURLs"),
                           .is_learner = get_bool(m, "isLearner")});
    });
    return r;
  });
}

Result<std::string> decode_auth_token(std::string_view body) {
  return decode(body, [](const json& j) {
    auto token = get_string(j, "token");
    if (token.empty())
      fail("authenticate reply without a token");
    return token;
  });
}

Result<WatchResponse> decode_watch_message(std::string_view line) {
  return decode(line, [](const json& j) {
    if (const json* e = find(j, "error")) {
      // A stream error is {"error": {"grpc_code": N, "http_code": N, "message": "..."}}.
      std::string message = e->is_object() ? get_string(*e, "message") : e->dump();
      fail("watch stream error: " + message);
    }
    const json* r = find(j, "result");
    if (r == nullptr)
      fail("watch message without a result");
    WatchResponse w{.header = header_of(*r),
                    .watch_id = get_int<std::int64_t>(*r, "watch_id"),
                    .created = get_bool(*r, "created"),
                    .canceled = get_bool(*r, "canceled"),
                    .compact_revision = get_int<std::int64_t>(*r, "compact_revision"),
                    .cancel_reason = get_string(*r, "cancel_reason")};
    for_each(*r, "events", [&](const json& e) {
      Event ev;
      auto type = get_string(e, "type");
      if (type.empty() || type == "PUT") {
        ev.type = Event::Type::kPut;
      } else if (type == "DELETE") {
        ev.type = Event::Type::kDelete;
      } else {
        fail("unknown event type " + type.substr(0, 16));
      }
      const json* kv = find(e, "kv");
      if (kv == nullptr)
        fail("event without kv");
      ev.kv = kv_of(*kv);
      ev.prev_kv = optional_kv(e, "prev_kv");
      w.events.push_back(std::move(ev));
    });
    return w;
  });
}

GatewayError decode_gateway_error(unsigned http_status, std::string_view body) {
  GatewayError e{.http_status = http_status};
  json j = json_nests_deeper_than(body, kMaxJsonDepth)
               ? json()
               : json::parse(body, nullptr, /*allow_exceptions=*/false);
  // A streaming call (watch) refused before its stream starts nests the error as a stream error
  // does: {"error": {"grpc_code": N, "http_code": N, "message": "..."}}; a unary call's is flat:
  // {"error": "...", "code": N}.
  if (j.is_object()) {
    if (auto nested = j.find("error"); nested != j.end() && nested->is_object()) {
      auto code = nested->find("grpc_code");
      auto message = nested->find("message");
      if (code != nested->end() && code->is_number_integer())
        e.grpc_code = code->get<int>();
      if (message != nested->end() && message->is_string())
        e.message = message->get<std::string>();
    }
    auto code = j.find("code");
    if (code != j.end() && code->is_number_integer())
      e.grpc_code = code->get<int>();
    for (const char* key : {"message", "error"}) {
      auto m = j.find(key);
      if (m != j.end() && m->is_string() && e.message.empty())
        e.message = m->get<std::string>();
    }
  }
  if (e.grpc_code < 0) {
    e.message = "HTTP " + std::to_string(http_status) + ": " +
                std::string(body.substr(0, std::min<std::size_t>(body.size(), 200)));
  }
  return e;
}

Error to_error(const GatewayError& e) {
  const std::string& m = e.message;
  auto has = [&](std::string_view s) { return m.find(s) != std::string::npos; };
  // etcd's auth errors come with several codes (rpctypes: ErrGRPCUserEmpty is INVALID_ARGUMENT).
  if (e.grpc_code >= 0 && (has("authentication failed") || has("user name is empty") ||
                           has("invalid auth token") || has("auth: revision in header is old"))) {
    return Error(Errc::kAuthFailed, m);
  }
  // Not JSON, but etcd's own refusal, sent to every request with a client certificate that has a
  // CommonName while auth is on (etcd's fix for CVE-2018-16886): no member will take it, so it is
  // a configuration error to report at once, not a member answering garbage.
  if (e.grpc_code < 0 && has("CommonName of client sending a request against gateway")) {
    return Error(Errc::kAuthFailed,
                 "etcd refuses a client certificate with a CommonName on its JSON gateway while "
                 "auth is enabled: use a certificate without a CommonName, or no user (" +
                     m + ")");
  }
  // gRPC status codes: https://grpc.github.io/grpc/core/md_doc_statuscodes.html
  switch (e.grpc_code) {
    case 3:  // INVALID_ARGUMENT
      if (has("too large") || has("too many operations"))
        return Error(Errc::kTooLarge, m);
      return Error(Errc::kInvalidArgument, m);
    case 4:  // DEADLINE_EXCEEDED
      return Error(Errc::kDeadlineExceeded, m);
    case 5:  // NOT_FOUND
      return Error(Errc::kNotFound, m);
    case 7:  // PERMISSION_DENIED
      return Error(Errc::kPermissionDenied, m);
    case 8:  // RESOURCE_EXHAUSTED
      return Error(Errc::kUnavailable, m);
    case 9:  // FAILED_PRECONDITION
      return Error(Errc::kInvalidArgument, m);
    case 11:  // OUT_OF_RANGE: "mvcc: required revision has been compacted"
      if (has("compacted"))
        return Error(Errc::kCompacted, m);
      return Error(Errc::kInvalidArgument, m);
    case 14:  // UNAVAILABLE
      if (has("request timed out") || has("leader changed")) {
        return Error(Errc::kOutcomeUnknown, m);
      }
      return Error(Errc::kUnavailable, m);
    case 16:  // UNAUTHENTICATED
      return Error(Errc::kAuthFailed, m);
    case -1:
      return Error(Errc::kMalformedReply, m);
    default:
      return Error(Errc::kServerError, "gRPC code " + std::to_string(e.grpc_code) + ": " + m);
  }
}

}  // namespace codec
}  // namespace br2k::etcd
