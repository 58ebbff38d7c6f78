// Fuzz target: the decoders of etcd's gRPC-JSON gateway replies
// (server/include/br2k/etcd/codec.hpp): range, put, delete, txn, lease grant / keep-alive /
// time-to-live, status, member list, auth, watch stream lines, and gateway error bodies.
//
// Input: one reply body (or one watch line); every decoder reads it, as each would if the gateway
// answered its request with these bytes.
// Properties: nothing crashes or throws; every refusal is kMalformedReply; an error body always
// maps to a typed error.
#include <br2k/etcd/codec.hpp>
#include <cstddef>
#include <cstdint>

#include "fuzz_check.hpp"

namespace {

using br2k::Errc;
using br2k::fuzz::check;
namespace codec = br2k::etcd::codec;

template <class R>
void expect_typed(const R& r, const char* what) {
  if (!r)
    check(r.error().is(Errc::kMalformedReply), what);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto body = br2k::fuzz::text(data, size);

  expect_typed(codec::decode_range(body), "decode_range");
  expect_typed(codec::decode_put(body), "decode_put");
  expect_typed(codec::decode_delete_range(body), "decode_delete_range");
  expect_typed(codec::decode_txn(body), "decode_txn");
  expect_typed(codec::decode_lease_grant(body), "decode_lease_grant");
  expect_typed(codec::decode_lease_keep_alive(body), "decode_lease_keep_alive");
  expect_typed(codec::decode_lease_time_to_live(body), "decode_lease_time_to_live");
  expect_typed(codec::decode_header_only(body), "decode_header_only");
  expect_typed(codec::decode_status(body), "decode_status");
  expect_typed(codec::decode_member_list(body), "decode_member_list");
  expect_typed(codec::decode_auth_token(body), "decode_auth_token");
  expect_typed(codec::decode_watch_message(body), "decode_watch_message");

  for (unsigned status : {400u, 404u, 503u}) {
    auto e = codec::to_error(codec::decode_gateway_error(status, body));
    check(e.code.category() == br2k::br2k_category() && !e.is(Errc::kOk),
          "to_error: not a typed error");
  }
  return 0;
}
