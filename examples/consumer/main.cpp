// Round-trips bytes through BR2K's hex and base64 codecs and checks that bad input comes back as a
// typed error. Exits 0 only if everything matches, so it doubles as a smoke test of an install.
#include <br2k/core/bytes.hpp>
#include <br2k/core/error.hpp>
#include <br2k/eth/key.hpp>
#include <br2k/eth/types.hpp>
#include <iostream>
#include <string>
#include <string_view>

int main() {
  using namespace std::string_literals;
  const std::string payload = "br2k\x00\xff consumer"s;

  const std::string hex = br2k::to_hex(br2k::as_bytes(payload));
  const br2k::Result<br2k::Bytes> from_hex = br2k::from_hex("0x" + hex);
  const br2k::Result<std::string> from_b64 = br2k::from_base64(br2k::to_base64(payload));
  const br2k::Result<br2k::Bytes> bad = br2k::from_hex("0xzz");

  const bool hex_ok = from_hex && std::string(from_hex->begin(), from_hex->end()) == payload;
  const bool b64_ok = from_b64 && *from_b64 == payload;
  const bool bad_ok = !bad && bad.error().is(br2k::Errc::kInvalidArgument);
  // Links libsecp256k1 through br2k::eth's exported dependencies: anvil's first dev account.
  const auto key = br2k::eth::PrivateKey::from_hex(
      "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80");
  const bool key_ok = key && br2k::eth::to_checksum_address(key->address()) ==
                                 "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";
  if (!hex_ok || !b64_ok || !bad_ok || !key_ok) {
    std::cerr << "br2k consumer: FAILED (hex " << hex_ok << ", base64 " << b64_ok
              << ", invalid input " << bad_ok << ", key " << key_ok << ")\n";
    return 1;
  }
  std::cout << "br2k consumer: 0x" << hex << " round-trips through hex and base64; \"0xzz\" -> "
            << bad.error() << "\n";
  return 0;
}
