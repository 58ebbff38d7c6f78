// JSON encoding of requests and decoding of replies for etcd's gRPC-JSON gateway (/v3/...).
//
// The gateway follows the proto3 JSON mapping
// (https://protobuf.dev/programming-guides/proto3/#json): bytes are base64, 64-bit integers are
// decimal strings, fields at their default value are omitted. Decoders take untrusted bytes and
// never throw: anything that does not fit gives Errc::kMalformedReply, as does JSON nested deeper
// than 128 levels. Thread-safety: pure functions.
#pragma once

#include <br2k/core/error.hpp>
#include <br2k/etcd/types.hpp>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>

namespace br2k::etcd::codec {

nlohmann::json encode(const RangeRequest& r);
nlohmann::json encode(const PutRequest& r);
nlohmann::json encode(const DeleteRangeRequest& r);
nlohmann::json encode(const TxnRequest& r);

Result<RangeResponse> decode_range(std::string_view body);
Result<PutResponse> decode_put(std::string_view body);
Result<DeleteRangeResponse> decode_delete_range(std::string_view body);
Result<TxnResponse> decode_txn(std::string_view body);
Result<LeaseGrantResponse> decode_lease_grant(std::string_view body);
// The keep-alive endpoint streams; each message is wrapped as {"result": {...}}.
Result<LeaseKeepAliveResponse> decode_lease_keep_alive(std::string_view body);
Result<LeaseTimeToLiveResponse> decode_lease_time_to_live(std::string_view body);
Result<ResponseHeader> decode_header_only(std::string_view body);
Result<StatusResponse> decode_status(std::string_view body);
Result<MemberListResponse> decode_member_list(std::string_view body);
Result<std::string> decode_auth_token(std::string_view body);
// One line of the watch stream: {"result": {...}} or {"error": {...}}.
Result<WatchResponse> decode_watch_message(std::string_view line);

// An error reply of the gateway: {"error": ..., "code": <gRPC status code>, "message": ...}.
struct GatewayError {
  unsigned http_status = 0;
  int grpc_code = -1;  // -1: the body was not the gateway's JSON (a proxy's or truncated reply)
  std::string message;
};

GatewayError decode_gateway_error(unsigned http_status, std::string_view body);

// The typed error a caller sees for a gateway error (gRPC codes per
// https://grpc.github.io/grpc/core/md_doc_statuscodes.html, messages per etcd's rpctypes).
Error to_error(const GatewayError& e);

}  // namespace br2k::etcd::codec
