// Fuzz target: the Solidity ABI decoder (sdk/include/br2k/eth/abi.hpp) on the shapes the registry
// client reads from chain nodes, revert data (revert.hpp) with the registry's custom errors, and
// raw signed transactions (transaction.hpp).
//
// Input: the first byte picks one of kTypeLists; the rest is the return or event data. Revert and
// transaction decoding take the whole input.
// Properties: nothing crashes or throws; decoded values fit their types, so they encode again and
// that encoding decodes to the same values; a decoded transaction re-encodes to exactly its input.
#include <algorithm>
#include <br2k/eth/abi.hpp>
#include <br2k/eth/revert.hpp>
#include <br2k/eth/transaction.hpp>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <variant>
#include <vector>

#include "fuzz_check.hpp"

namespace {

using br2k::Bytes;
using br2k::ByteView;
using br2k::fuzz::check;
namespace abi = br2k::eth::abi;
namespace eth = br2k::eth;

// Return and event data tuples of ServiceRegistry (contracts/src/ServiceRegistry.sol), plus a
// few shapes that reach every kind the decoder has.
constexpr std::string_view kTypeLists[] = {
    // getService: the Service struct.
    "f(((address,uint64,string,string,string,address[],string,bytes32,uint64,bytes32,string,"
    "bytes)))",
    "f(string,uint64)",           // getServiceLocation
    "f(bytes)",                   //
    "f(string[])",                //
    "f(bool)",                    // isManager
    "f(string)",                  // NewLocation, NameUpdated, DescriptionUpdated
    "f(string,uint64,string)",    // Claim
    "f(bytes32,string,bytes)",    // BackupLogStored
    "f(string,bytes32)",          // ImageUpdated
    "f(string,uint256,uint256)",  // TooLong
    "f(uint256[][],(bytes32,string)[2],int8,bytes3,address)",  // nesting, signed, bytesN
};

// The registry's custom errors, as decode_revert is given them.
constexpr std::string_view kCustomErrors[] = {
    "UnknownService(bytes32 id)",
    "ServiceExists(bytes32 id)",
    "NotManager(bytes32 id, address account)",
    "NotProvider(bytes32 id, address account)",
    "StaleEpoch(bytes32 id, uint64 given, uint64 current)",
    "StaleClaim(bytes32 id, uint64 failedEpoch, uint64 currentEpoch)",
    "StaleBackupVersion(bytes32 id, uint64 given, uint64 current)",
    "EmptyLocation(bytes32 id)",
    "InvalidManager(bytes32 id, address account)",
    "AlreadyManager(bytes32 id, address account)",
    "TooManyManagers(bytes32 id, uint256 max)",
    "CannotRemoveProvider(bytes32 id, address provider)",
    "TooLong(string field, uint256 length, uint256 max)",
};

struct Schemas {
  std::vector<std::vector<abi::Type>> type_lists;
  std::vector<abi::Signature> errors;
  std::vector<abi::Selector> selectors;  // of `errors`
};

const Schemas& schemas() {
  static const Schemas s = [] {
    Schemas out;
    for (auto text : kTypeLists)
      out.type_lists.push_back(abi::parse_signature(text).value().types());
    for (auto text : kCustomErrors) {
      out.errors.push_back(abi::parse_signature(text).value());
      out.selectors.push_back(out.errors.back().selector());
    }
    return out;
  }();
  return s;
}

void decode_tuple(const std::vector<abi::Type>& types, ByteView data) {
  auto values = abi::decode(types, data);
  if (!values) {
    check(values.error().is(br2k::Errc::kInvalidArgument), "abi::decode: not kInvalidArgument");
    return;
  }
  check(values->size() == types.size(), "abi::decode: wrong number of values");
  for (std::size_t i = 0; i < types.size(); ++i)
    (void)abi::to_string((*values)[i], types[i]);
  auto again = abi::encode(types, *values);
  check(bool(again), "a decoded value does not encode against its own type");
  auto back = abi::decode(types, *again);
  check(back && *back == *values, "encode then decode is not the identity");
}

void decode_topics(const std::vector<abi::Type>& types, ByteView data) {
  if (data.size() < 32)
    return;
  eth::Hash topic{};
  std::copy_n(data.begin(), topic.size(), topic.begin());
  for (const auto& t : types) {
    auto v = abi::decode_topic(t, topic);
    if (v)
      (void)abi::to_string(*v, t);
  }
}

void decode_revert(ByteView data) {
  // decode_revert hashes each custom error's signature for its selector on every call; giving it
  // only the error whose selector the data starts with (the one it would pick) keeps Keccak from
  // taking most of the fuzzing time.
  const auto& s = schemas();
  std::span<const abi::Signature> candidates;
  for (std::size_t i = 0; i < s.errors.size() && data.size() >= 4; ++i) {
    if (std::equal(s.selectors[i].begin(), s.selectors[i].end(), data.begin()))
      candidates = std::span(s.errors).subspan(i, 1);
  }
  auto r = abi::decode_revert(data, candidates);
  if (!r) {
    check(r.error().is(br2k::Errc::kInvalidArgument), "decode_revert: not kInvalidArgument");
    return;
  }
  (void)r->describe();
  check(r->data.size() == data.size() && std::equal(data.begin(), data.end(), r->data.begin()),
        "decode_revert: data is not the input");
}

void decode_transaction(ByteView raw) {
  auto d = eth::decode_transaction(raw);
  if (!d) {
    check(d.error().is(br2k::Errc::kInvalidArgument), "decode_transaction: not kInvalidArgument");
    return;
  }
  auto again = std::visit([&](const auto& tx) { return eth::encode_signed(tx, d->signature); },
                          d->transaction);
  check(again && again->size() == raw.size() && std::equal(raw.begin(), raw.end(), again->begin()),
        "a decoded transaction does not re-encode to its input");
  check(d->hash == eth::transaction_hash(raw), "decode_transaction: wrong hash");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const ByteView input = br2k::fuzz::view(data, size);
  if (!input.empty()) {
    const auto& types = schemas().type_lists[input[0] % std::size(kTypeLists)];
    decode_tuple(types, input.subspan(1));
    decode_topics(types, input.subspan(1));
  }
  decode_revert(input);
  decode_transaction(input);
  return 0;
}
