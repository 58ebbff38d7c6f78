// secp256k1 private keys: loading, the account address, signing 32-byte digests; and recovery of
// the signer's address from a signature (Ethereum's ecrecover).
//
// Built on libsecp256k1 (bitcoin-core), the library go-ethereum and reth use too: constant-time
// signing, RFC 6979 deterministic nonces, and signatures in low-s form (EIP-2), so the same key and
// digest always give the same signature.
//
// A PrivateKey cannot be printed: it has no operator<<, no to_string and no formatter, its error
// messages never quote the key material, and its secret bytes are zeroed when it is destroyed or
// moved from. It is move-only, so the secret has one owner; share one key between components by
// reference or through a shared_ptr.
//
// Thread-safety: a PrivateKey may be used (address, sign) from several threads at once; moving or
// destroying it needs exclusive access. recover_address and is_canonical are pure functions. All
// of them share one libsecp256k1 context that is created and randomized once (on first use,
// thread-safe static initialization) and only read afterwards, which libsecp256k1 documents as
// safe for concurrent use.
#pragma once

#include <array>
#include <br2k/core/error.hpp>
#include <br2k/eth/keccak.hpp>
#include <br2k/eth/types.hpp>
#include <cstdint>
#include <filesystem>
#include <string_view>

namespace br2k::eth {

// A recoverable ECDSA signature as Ethereum transactions carry it: r and s big-endian, and the
// parity of the y coordinate of the curve point R (the "recovery id", 0 or 1).
struct Signature {
  std::array<std::uint8_t, 32> r{};
  std::array<std::uint8_t, 32> s{};
  std::uint8_t y_parity = 0;

  friend bool operator==(const Signature&, const Signature&) = default;
};

class PrivateKey {
 public:
  // 64 hex digits, either case, with or without "0x". The key must be valid for secp256k1:
  // non-zero and below the curve order n.
  // Errors: kInvalidArgument (wrong length, a non-hex digit, zero or >= n); the detail never
  // contains the input.
  static Result<PrivateKey> from_hex(std::string_view hex) noexcept;
  // A file holding the key as from_hex takes it; whitespace and newlines around it are allowed.
  // The file's permissions are not checked (this layer does not log, and refusing a group-readable
  // file would break container secrets mounted 0644): keep it mode 0600 yourself.
  // Errors: kNotFound (no such file), kInvalidArgument (not a regular file, unreadable, larger
  // than 4 KiB, or content from_hex refuses; the detail names the path, never the content).
  static Result<PrivateKey> from_file(const std::filesystem::path& path);
  // The environment variable `name`, as from_hex takes it (no surrounding whitespace).
  // REQUIRES: no thread calls setenv/putenv meanwhile (getenv is not safe against them).
  // Errors: kNotFound (unset), kInvalidArgument (name is null, or from_hex refuses the value).
  static Result<PrivateKey> from_env(const char* name);

  PrivateKey(const PrivateKey&) = delete;
  PrivateKey& operator=(const PrivateKey&) = delete;
  // The moved-from key is zeroed: its sign() fails and its address() is the zero address.
  PrivateKey(PrivateKey&& other) noexcept;
  PrivateKey& operator=(PrivateKey&& other) noexcept;
  ~PrivateKey();

  // The account: the last 20 bytes of keccak256 of the uncompressed public key (without its 0x04
  // prefix). Computed once, when the key is loaded.
  Address address() const noexcept { return address_; }

  // Signs a 32-byte digest (e.g. a transaction's signing hash). Deterministic (RFC 6979); s is in
  // the lower half of the curve order (EIP-2), as Ethereum requires of transactions.
  // Errors: kInvalidArgument when the key was moved from, or in the ~2^-128 case that r overflowed
  // the curve order (recovery id 2 or 3, which Ethereum cannot represent).
  Result<Signature> sign(const Hash& digest) const noexcept;

 private:
  PrivateKey() = default;

  std::array<std::uint8_t, 32> secret_{};  // big-endian scalar; zeroed on destruction and move
  Address address_{};
};

// The address whose key made `signature` over `digest` (Ethereum's ecrecover). Accepts any s
// below n, as the ecrecover precompile does; transactions must also pass is_canonical.
// Errors: kInvalidArgument when y_parity is not 0 or 1, r or s is zero or not below n, or no
// public key recovers from the signature.
Result<Address> recover_address(const Hash& digest, const Signature& signature) noexcept;

// Whether r and s are in [1, n) and s <= n/2: the form Ethereum accepts in transactions since
// Homestead (https://eips.ethereum.org/EIPS/eip-2), and the form sign() produces.
bool is_canonical(const Signature& signature) noexcept;

}  // namespace br2k::eth
