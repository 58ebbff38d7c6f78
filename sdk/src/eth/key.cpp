// secp256k1 keys, signing and recovery on libsecp256k1 (see key.hpp).
//
// Every buffer that holds key material (parsed hex, the file's bytes) is a fixed-size array on the
// stack, zeroed on every path out by a SecretGuard, so no copy of the key is left in freed heap
// memory. OPENSSL_cleanse does the zeroing because a plain memset before the end of a buffer's
// life may be removed by the optimizer.
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <secp256k1.h>
#include <secp256k1_recovery.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <br2k/core/bytes.hpp>
#include <br2k/eth/key.hpp>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <span>
#include <string>

namespace br2k::eth {
namespace {

// The curve order n and n/2, big-endian (SEC 2, section 2.4.1).
constexpr std::array<std::uint8_t, 32> kCurveOrder = {
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe,
    0xba, 0xae, 0xdc, 0xe6, 0xaf, 0x48, 0xa0, 0x3b, 0xbf, 0xd2, 0x5e, 0x8c, 0xd0, 0x36, 0x41, 0x41};
constexpr std::array<std::uint8_t, 32> kHalfCurveOrder = {
    0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0x5d, 0x57, 0x6e, 0x73, 0x57, 0xa4, 0x50, 0x1d, 0xdf, 0xe9, 0x2f, 0x46, 0x68, 0x1b, 0x20, 0xa0};

// Largest key file accepted: a key with "0x" and a newline is 67 bytes; anything far larger is not
// a key file.
constexpr std::size_t kMaxKeyFileSize = 4096;

// Zeroes a buffer of key material when the scope ends, on every return path.
class SecretGuard {
 public:
  explicit SecretGuard(std::span<std::uint8_t> bytes) noexcept : bytes_(bytes) {}
  explicit SecretGuard(std::span<char> chars) noexcept
      : bytes_(reinterpret_cast<std::uint8_t*>(chars.data()), chars.size()) {}
  SecretGuard(const SecretGuard&) = delete;
  SecretGuard& operator=(const SecretGuard&) = delete;
  ~SecretGuard() { OPENSSL_cleanse(bytes_.data(), bytes_.size()); }

 private:
  std::span<std::uint8_t> bytes_;
};

// One context for the process. libsecp256k1 documents that functions taking a const context are
// safe to call concurrently; only creation and randomization write to it, and both happen inside
// this thread-safe static initializer. Randomization blinds the signing computation against
// side-channel leaks; if no seed can be drawn the context still signs correctly, just unblinded.
// The context is never destroyed, so keys in other static objects may sign until exit.
const secp256k1_context* context() noexcept {
  static const secp256k1_context* const ctx = [] {
    secp256k1_context* c = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
    std::array<std::uint8_t, 32> seed;
    SecretGuard guard(seed);
    if (RAND_bytes(seed.data(), static_cast<int>(seed.size())) == 1) {
      const int randomized = secp256k1_context_randomize(c, seed.data());
      static_cast<void>(randomized);  // 0 only on a bad seed, which leaves c usable
    }
    return c;
  }();
  return ctx;
}

Address address_of(const secp256k1_pubkey& pubkey) noexcept {
  std::array<std::uint8_t, 65> uncompressed;  // 0x04 || x || y
  std::size_t length = uncompressed.size();
  secp256k1_ec_pubkey_serialize(context(), uncompressed.data(), &length, &pubkey,
                                SECP256K1_EC_UNCOMPRESSED);
  const Hash h = keccak256(ByteView(uncompressed).subspan(1));
  Address a;
  std::copy(h.end() - 20, h.end(), a.begin());
  return a;
}

bool in_range(const std::array<std::uint8_t, 32>& v) noexcept {  // 1 <= v < n
  return v != std::array<std::uint8_t, 32>{} && v < kCurveOrder;
}

bool is_space(char c) noexcept {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

}  // namespace

Result<PrivateKey> PrivateKey::from_hex(std::string_view hex) noexcept {
  if (hex.starts_with("0x") || hex.starts_with("0X"))
    hex.remove_prefix(2);
  if (hex.size() != 64)
    return Error(Errc::kInvalidArgument, "private key: expected 64 hex digits, got " +
                                             std::to_string(hex.size()) + " characters");
  PrivateKey key;
  for (std::size_t i = 0; i < 32; ++i) {
    const int hi = hex_digit_value(hex[2 * i]);
    const int lo = hex_digit_value(hex[2 * i + 1]);
    if (hi < 0 || lo < 0)
      return Error(Errc::kInvalidArgument, "private key: not a hex digit");  // key's dtor zeroes
    key.secret_[i] = static_cast<std::uint8_t>(hi << 4 | lo);
  }
  if (!secp256k1_ec_seckey_verify(context(), key.secret_.data()))
    return Error(Errc::kInvalidArgument,
                 "private key: zero or not below the secp256k1 curve order");
  secp256k1_pubkey pubkey;
  if (!secp256k1_ec_pubkey_create(context(), &pubkey, key.secret_.data()))
    return Error(Errc::kInvalidArgument, "private key: no public key");  // verified above
  key.address_ = address_of(pubkey);
  return key;
}

Result<PrivateKey> PrivateKey::from_file(const std::filesystem::path& path) {
  // POSIX read into a stack buffer rather than an ifstream: a stream's own buffer would keep a
  // copy of the key in heap memory this code cannot zero.
  const std::string where = "private key file " + path.string();
  // O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused below as not regular.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    const int err = errno;
    if (err == ENOENT || err == ENOTDIR)
      return Error(Errc::kNotFound, where + ": no such file");
    return Error(Errc::kInvalidArgument, where + ": " + std::strerror(err));
  }
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
    return Error(Errc::kInvalidArgument, where + ": not a regular file");

  std::array<char, kMaxKeyFileSize + 1> buffer;  // one more, to notice a larger file
  SecretGuard guard(buffer);
  std::size_t size = 0;
  while (size < buffer.size()) {
    const ssize_t n = ::read(fd, buffer.data() + size, buffer.size() - size);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return Error(Errc::kInvalidArgument, where + ": " + std::strerror(errno));
    if (n == 0)
      break;
    size += static_cast<std::size_t>(n);
  }
  if (size > kMaxKeyFileSize)
    return Error(Errc::kInvalidArgument, where + ": larger than 4 KiB, not a key file");

  std::string_view text(buffer.data(), size);
  while (!text.empty() && is_space(text.front()))
    text.remove_prefix(1);
  while (!text.empty() && is_space(text.back()))
    text.remove_suffix(1);
  auto key = from_hex(text);
  if (!key)
    return Error(key.error().code, where + ": " + key.error().detail);
  return key;
}

Result<PrivateKey> PrivateKey::from_env(const char* name) {
  if (name == nullptr)
    return Error(Errc::kInvalidArgument, "private key: no environment variable name");
  const char* value = std::getenv(name);
  if (value == nullptr)
    return Error(Errc::kNotFound, std::string("environment variable ") + name + " is not set");
  auto key = from_hex(value);
  if (!key)
    return Error(key.error().code,
                 std::string("environment variable ") + name + ": " + key.error().detail);
  return key;
}

PrivateKey::PrivateKey(PrivateKey&& other) noexcept
    : secret_(other.secret_), address_(other.address_) {
  OPENSSL_cleanse(other.secret_.data(), other.secret_.size());
  other.address_ = {};
}

PrivateKey& PrivateKey::operator=(PrivateKey&& other) noexcept {
  if (this != &other) {
    secret_ = other.secret_;
    address_ = other.address_;
    OPENSSL_cleanse(other.secret_.data(), other.secret_.size());
    other.address_ = {};
  }
  return *this;
}

PrivateKey::~PrivateKey() {
  OPENSSL_cleanse(secret_.data(), secret_.size());
}

Result<Signature> PrivateKey::sign(const Hash& digest) const noexcept {
  // A null nonce function selects RFC 6979 (secp256k1_nonce_function_default).
  secp256k1_ecdsa_recoverable_signature sig;
  if (!secp256k1_ecdsa_sign_recoverable(context(), &sig, digest.data(), secret_.data(), nullptr,
                                        nullptr))
    return Error(Errc::kInvalidArgument, "sign: no usable key (moved from?)");
  std::array<std::uint8_t, 64> compact;
  int recovery_id = 0;
  secp256k1_ecdsa_recoverable_signature_serialize_compact(context(), compact.data(), &recovery_id,
                                                          &sig);
  if (recovery_id < 0 || recovery_id > 1)
    return Error(Errc::kInvalidArgument, "sign: recovery id above 1 (r overflowed the order)");
  Signature out;
  std::copy(compact.begin(), compact.begin() + 32, out.r.begin());
  std::copy(compact.begin() + 32, compact.end(), out.s.begin());
  out.y_parity = static_cast<std::uint8_t>(recovery_id);
  return out;
}

Result<Address> recover_address(const Hash& digest, const Signature& signature) noexcept {
  if (signature.y_parity > 1)
    return Error(Errc::kInvalidArgument, "signature: y parity must be 0 or 1");
  if (!in_range(signature.r) || !in_range(signature.s))
    return Error(Errc::kInvalidArgument, "signature: r or s is zero or not below the curve order");
  std::array<std::uint8_t, 64> compact;
  std::copy(signature.r.begin(), signature.r.end(), compact.begin());
  std::copy(signature.s.begin(), signature.s.end(), compact.begin() + 32);
  secp256k1_ecdsa_recoverable_signature sig;
  if (!secp256k1_ecdsa_recoverable_signature_parse_compact(context(), &sig, compact.data(),
                                                           signature.y_parity))
    return Error(Errc::kInvalidArgument, "signature: r or s is not below the curve order");
  secp256k1_pubkey pubkey;
  if (!secp256k1_ecdsa_recover(context(), &pubkey, &sig, digest.data()))
    return Error(Errc::kInvalidArgument, "signature: no public key recovers from it");
  return address_of(pubkey);
}

bool is_canonical(const Signature& signature) noexcept {
  return in_range(signature.r) && in_range(signature.s) && signature.s <= kHalfCurveOrder;
}

}  // namespace br2k::eth
