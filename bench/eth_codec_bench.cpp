// Throughput of BR2K's pure Ethereum codecs on one thread: ABI encoding and decoding of the
// registry's hot calls, Keccak-256 (beside OpenSSL's SHA3-256 as a peer), EIP-1559 signing and
// signature recovery.
//
// Usage: eth_codec_bench [--min-time SECONDS] [--min-count N] [--json]
// Each case runs in batches until it has done at least N operations (default 1000) and spent at
// least SECONDS (default 0.5); it reports operations per second and nanoseconds per operation.
// Every result feeds a sink the compiler cannot see through, and inputs vary with the iteration
// (nonce, digest), so nothing is hoisted out of the loop or removed as dead code.
#include <openssl/evp.h>

#include <br2k/eth/abi.hpp>
#include <br2k/eth/abi_type.hpp>
#include <br2k/eth/keccak.hpp>
#include <br2k/eth/key.hpp>
#include <br2k/eth/transaction.hpp>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <iostream>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

namespace eth = br2k::eth;
namespace abi = br2k::eth::abi;
using Clock = std::chrono::steady_clock;

struct Args {
  double min_time_s = 0.5;
  std::uint64_t min_count = 1000;
  bool json = false;
};

Args parse_args(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc)
        throw std::invalid_argument(arg + " needs a value");
      return argv[++i];
    };
    if (arg == "--min-time") {
      a.min_time_s = std::stod(value());
    } else if (arg == "--min-count") {
      a.min_count = std::stoull(value());
    } else if (arg == "--json") {
      a.json = true;
    } else if (arg == "--help" || arg == "-h") {
      std::cout << "eth_codec_bench [--min-time SECONDS] [--min-count N] [--json]\n";
      std::exit(0);
    } else {
      throw std::invalid_argument("unknown argument " + arg);
    }
  }
  return a;
}

// Makes `value` observable: the compiler must assume the asm reads and writes it (the technique of
// Google Benchmark's DoNotOptimize; hand-written because that library is not a dependency).
template <class T>
void keep(T& value) {
  asm volatile("" : "+m"(value) : : "memory");
}

std::uint64_t g_sink = 0;

void consume(std::uint64_t v) {
  g_sink += v;
  keep(g_sink);
}

struct Figure {
  std::string name;
  std::uint64_t operations = 0;
  double seconds = 0;
  double ops_per_s() const { return static_cast<double>(operations) / seconds; }
  double ns_per_op() const { return seconds * 1e9 / static_cast<double>(operations); }
};

// Runs op(i) for i = 0, 1, ... in batches until both minimums are met.
Figure measure(const Args& a, std::string name, const std::function<void(std::uint64_t)>& op) {
  for (std::uint64_t i = 0; i < 16; ++i)  // warm caches and the secp256k1 context
    op(i);
  Figure f{std::move(name)};
  std::uint64_t batch = 64;
  const auto start = Clock::now();
  for (;;) {
    for (std::uint64_t i = 0; i < batch; ++i)
      op(f.operations + i);
    f.operations += batch;
    f.seconds = std::chrono::duration<double>(Clock::now() - start).count();
    if (f.operations >= a.min_count && f.seconds >= a.min_time_s)
      return f;
    if (f.seconds < a.min_time_s / 10)
      batch *= 2;  // fewer clock reads for fast operations
  }
}

eth::Address address_of(std::uint8_t fill) {
  eth::Address a;
  a.fill(fill);
  return a;
}

br2k::Bytes bytes_of(std::size_t n, std::uint8_t fill) {
  return br2k::Bytes(n, fill);
}

// getService's return value: the Service struct of contracts/src/ServiceRegistry.sol, as one
// tuple, with sizes a deployed service would have (3 managers, a 512-byte backup log).
abi::Type service_type() {
  using T = abi::Type;
  return T::tuple({T::address(), T::unsigned_int(64), T::string(), T::string(), T::string(),
                   T::array(T::address()), T::string(), T::fixed_bytes(32), T::unsigned_int(64),
                   T::fixed_bytes(32), T::string(), T::bytes()});
}

abi::Value service_value() {
  abi::Value::List managers{abi::Value(address_of(0x11)), abi::Value(address_of(0x22)),
                            abi::Value(address_of(0x33))};
  return abi::Value(abi::Value::List{
      abi::Value(address_of(0x11)),
      abi::Value(std::uint64_t{4242}),
      abi::Value("https://node-2.inventory.example:8443"),
      abi::Value("inventory"),
      abi::Value(std::string(200, 'd')),
      abi::Value(std::move(managers)),
      abi::Value("registry.example/inventory:1.4.2"),
      abi::Value(bytes_of(32, 0xab)),
      abi::Value(std::uint64_t{7}),
      abi::Value(bytes_of(32, 0xcd)),
      abi::Value("s3://backups/inventory/7"),
      abi::Value(bytes_of(512, 0xef)),
  });
}

std::vector<Figure> run(const Args& a) {
  std::vector<Figure> figures;

  // updateLocation(bytes32,string,uint64): what a new leader sends.
  const abi::Signature update =
      abi::parse_signature("updateLocation(bytes32,string,uint64)").value();
  const abi::Selector update_selector = update.selector();
  const std::vector<abi::Type> update_types = update.types();
  const std::vector<abi::Value> update_args{abi::Value(bytes_of(32, 0x42)),
                                            abi::Value("https://node-2.inventory.example:8443"),
                                            abi::Value(std::uint64_t{4242})};
  figures.push_back(measure(a, "abi encode updateLocation call", [&](std::uint64_t i) {
    std::vector<abi::Value> args = update_args;
    args[2] = abi::Value(i);
    const br2k::Bytes data = abi::encode_call(update_selector, update_types, args).value();
    consume(data.size() + data.back());
  }));
  const br2k::Bytes update_data =
      abi::encode_call(update_selector, update_types, update_args).value();
  figures.push_back(measure(a, "abi decode updateLocation call", [&](std::uint64_t) {
    const auto values = abi::decode_call(update_selector, update_types, update_data).value();
    consume(values.size() + values.at(1).get<std::string>().size());
  }));

  // getService's return tuple.
  const std::vector<abi::Type> service_types{service_type()};
  const std::vector<abi::Value> service{service_value()};
  figures.push_back(measure(a, "abi encode getService return", [&](std::uint64_t) {
    const br2k::Bytes data = abi::encode(service_types, service).value();
    consume(data.size() + data.back());
  }));
  const br2k::Bytes service_data = abi::encode(service_types, service).value();
  figures.push_back(measure(a, "abi decode getService return", [&](std::uint64_t) {
    const auto values = abi::decode(service_types, service_data).value();
    consume(values.size() + values.at(0).get<abi::Value::List>().size());
  }));

  // Keccak-256 of one 32-byte word (a storage key, an event topic's input).
  std::array<std::uint8_t, 32> word{};
  figures.push_back(measure(a, "keccak256 of 32 bytes", [&](std::uint64_t i) {
    word[0] = static_cast<std::uint8_t>(i);
    const eth::Hash h = eth::keccak256(br2k::ByteView(word));
    consume(h[0]);
  }));
  // Peer: OpenSSL's SHA3-256, the same Keccak-f[1600] sponge and rate with another padding byte,
  // so the ratio shows what the hand-written permutation costs against an optimized one.
  figures.push_back(measure(a, "peer: openssl sha3-256 of 32 bytes", [&](std::uint64_t i) {
    word[0] = static_cast<std::uint8_t>(i);
    std::array<unsigned char, EVP_MAX_MD_SIZE> h;
    unsigned int length = 0;
    if (EVP_Digest(word.data(), word.size(), h.data(), &length, EVP_sha3_256(), nullptr) != 1)
      throw std::runtime_error("EVP_Digest failed");
    consume(h[0] + length);
  }));

  // EIP-1559 signing of the updateLocation transaction: signing hash, ECDSA, raw encoding.
  const auto key =
      eth::PrivateKey::from_hex("ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80")
          .value();
  eth::Eip1559Transaction tx;
  tx.chain_id = 31337;
  tx.max_priority_fee_per_gas = eth::U256::from_uint64(1'000'000'000);
  tx.max_fee_per_gas = eth::U256::from_uint64(30'000'000'000);
  tx.gas_limit = 100'000;
  tx.to = address_of(0x5f);
  tx.data = update_data;
  figures.push_back(measure(a, "eip1559 sign (hash + ecdsa + rlp)", [&](std::uint64_t i) {
    tx.nonce = i;
    const br2k::Bytes raw = eth::sign(tx, key).value();
    consume(raw.size() + raw.back());
  }));

  // Recovery of the signer from a signature (ecrecover), over varying digests.
  std::vector<std::pair<eth::Hash, eth::Signature>> signed_digests;
  for (std::uint8_t i = 0; i < 64; ++i) {
    const eth::Hash digest = eth::keccak256(br2k::ByteView(&i, 1));
    signed_digests.emplace_back(digest, key.sign(digest).value());
  }
  figures.push_back(measure(a, "signature recovery", [&](std::uint64_t i) {
    const auto& [digest, signature] = signed_digests[i % signed_digests.size()];
    const eth::Address sender = eth::recover_address(digest, signature).value();
    consume(sender[0]);
  }));

  // The whole decoder: RLP, signing hash, canonical-signature check, recovery.
  tx.nonce = 7;
  const br2k::Bytes raw = eth::sign(tx, key).value();
  figures.push_back(measure(a, "decode raw eip1559 tx (+ recovery)", [&](std::uint64_t) {
    const eth::DecodedTransaction decoded = eth::decode_transaction(raw).value();
    consume(decoded.sender[0]);
  }));
  return figures;
}

}  // namespace

int main(int argc, char** argv) try {
  const Args a = parse_args(argc, argv);
  const std::vector<Figure> figures = run(a);
  if (a.json) {
    nlohmann::json out{{"benchmark", "eth_codec"},
                       {"min_time_s", a.min_time_s},
                       {"min_count", a.min_count},
                       {"cases", nlohmann::json::array()}};
    for (const Figure& f : figures)
      out["cases"].push_back({{"name", f.name},
                              {"operations", f.operations},
                              {"seconds", f.seconds},
                              {"ops_per_s", f.ops_per_s()},
                              {"ns_per_op", f.ns_per_op()}});
    std::cout << out.dump(2) << "\n";
  } else {
    std::printf("%-38s %14s %12s\n", "case", "ops/s", "ns/op");
    for (const Figure& f : figures)
      std::printf("%-38s %14.0f %12.1f\n", f.name.c_str(), f.ops_per_s(), f.ns_per_op());
  }
  return 0;
} catch (const std::exception& e) {
  std::cerr << "eth_codec_bench: " << e.what() << "\n";
  return 2;
}
