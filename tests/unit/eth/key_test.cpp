// secp256k1 keys: loading (hex, file, environment), addresses, signing and recovery, and that key
// material never appears in error messages.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <br2k/eth/key.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <ostream>
#include <string>
#include <type_traits>

namespace br2k::eth {
namespace {

// The first of anvil's (and hardhat's) well-known development accounts.
constexpr std::string_view kAnvilKey =
    "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
constexpr std::string_view kAnvilAddress = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";

// The key can be neither copied nor printed.
template <class T>
concept Streamable = requires(std::ostream& os, const T& t) {
  os << t;
};
template <class T>
concept HasToString = requires(const T& t) {
  to_string(t);
};
static_assert(!std::is_copy_constructible_v<PrivateKey>);
static_assert(!std::is_copy_assignable_v<PrivateKey>);
static_assert(std::is_nothrow_move_constructible_v<PrivateKey>);
static_assert(!Streamable<PrivateKey>);
static_assert(!HasToString<PrivateKey>);

Hash digest_of(std::string_view text) {
  return keccak256(text);
}

// A file under the temp directory, removed when the test ends.
class TempFile {
 public:
  explicit TempFile(std::string_view content) {
    static int counter = 0;
    path_ = std::filesystem::temp_directory_path() /
            ("br2k-key-test-" + std::to_string(::getpid()) + "-" + std::to_string(++counter));
    std::ofstream(path_, std::ios::binary) << content;
  }
  ~TempFile() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

TEST(PrivateKey, AnvilDevKeyHasItsWellKnownAddress) {
  auto key = PrivateKey::from_hex(kAnvilKey);
  ASSERT_TRUE(key) << key.error();
  EXPECT_EQ(to_checksum_address(key->address()), kAnvilAddress);
}

TEST(PrivateKey, FromHex_AcceptsEitherCaseWithOrWithoutPrefix) {
  std::string upper(kAnvilKey.substr(2));
  for (char& c : upper)
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  for (std::string_view text : {kAnvilKey, kAnvilKey.substr(2), std::string_view(upper)}) {
    auto key = PrivateKey::from_hex(text);
    ASSERT_TRUE(key) << key.error();
    EXPECT_EQ(to_checksum_address(key->address()), kAnvilAddress);
  }
}

TEST(PrivateKey, FromHex_RefusesBadKeysWithoutEchoingThem) {
  const std::string kCases[] = {
      "",
      "0x",
      std::string(kAnvilKey.substr(0, 65)),        // 63 digits
      std::string(kAnvilKey) + "0",                // 65 digits
      std::string(kAnvilKey.substr(0, 65)) + "g",  // a non-hex digit
      "0x" + std::string(64, '0'),                 // zero
      // The curve order n itself, and 2^256 - 1: not below n.
      "0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141",
      "0x" + std::string(64, 'f'),
  };
  for (const std::string& text : kCases) {
    auto key = PrivateKey::from_hex(text);
    ASSERT_FALSE(key) << text;
    EXPECT_TRUE(key.error().is(Errc::kInvalidArgument)) << key.error();
    const std::string message = key.error().message();
    if (text.size() > 2) {
      EXPECT_EQ(message.find(text.substr(2)), std::string::npos) << message;
      EXPECT_EQ(message.find(text.substr(2, 16)), std::string::npos) << message;
    }
  }
}

TEST(PrivateKey, FromHex_AcceptsTheLargestValidKey) {
  // n - 1.
  auto key =
      PrivateKey::from_hex("fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364140");
  ASSERT_TRUE(key) << key.error();
  auto signature = key->sign(digest_of("n - 1"));
  ASSERT_TRUE(signature) << signature.error();
  EXPECT_EQ(recover_address(digest_of("n - 1"), *signature).value(), key->address());
}

TEST(PrivateKey, FromFile_AllowsSurroundingWhitespace) {
  TempFile file("  \n" + std::string(kAnvilKey) + "\r\n\n");
  auto key = PrivateKey::from_file(file.path());
  ASSERT_TRUE(key) << key.error();
  EXPECT_EQ(to_checksum_address(key->address()), kAnvilAddress);
}

TEST(PrivateKey, FromFile_MissingFileIsNotFound) {
  TempFile file("");
  const auto missing = file.path() / "no-such-key";
  auto key = PrivateKey::from_file(missing);
  ASSERT_FALSE(key);
  EXPECT_TRUE(key.error().is(Errc::kNotFound)) << key.error();
  auto gone = PrivateKey::from_file(file.path().string() + ".absent");
  ASSERT_FALSE(gone);
  EXPECT_TRUE(gone.error().is(Errc::kNotFound)) << gone.error();
}

TEST(PrivateKey, FromFile_RefusesBadContentWithoutEchoingIt) {
  // A valid key with one digit too many, and a valid key followed by a second word.
  const std::string too_long = std::string(kAnvilKey) + "7";
  const std::string two_words = std::string(kAnvilKey) + " extra";
  for (const std::string& content : {too_long, two_words, std::string("\n\n")}) {
    TempFile file(content);
    auto key = PrivateKey::from_file(file.path());
    ASSERT_FALSE(key) << content;
    EXPECT_TRUE(key.error().is(Errc::kInvalidArgument)) << key.error();
    const std::string message = key.error().message();
    EXPECT_NE(message.find(file.path().string()), std::string::npos) << message;
    EXPECT_EQ(message.find(kAnvilKey.substr(2, 16)), std::string::npos) << message;
  }
}

TEST(PrivateKey, FromFile_RefusesDirectoriesFifosAndLargeFiles) {
  auto dir = PrivateKey::from_file(std::filesystem::temp_directory_path());
  ASSERT_FALSE(dir);
  EXPECT_TRUE(dir.error().is(Errc::kInvalidArgument)) << dir.error();

  TempFile fifo("");
  std::filesystem::remove(fifo.path());
  ASSERT_EQ(::mkfifo(fifo.path().c_str(), 0600), 0);
  auto from_fifo = PrivateKey::from_file(fifo.path());  // must not wait for a writer
  ASSERT_FALSE(from_fifo);
  EXPECT_TRUE(from_fifo.error().is(Errc::kInvalidArgument)) << from_fifo.error();

  TempFile large(std::string(kAnvilKey) + std::string(5000, ' '));
  auto key = PrivateKey::from_file(large.path());
  ASSERT_FALSE(key);
  EXPECT_TRUE(key.error().is(Errc::kInvalidArgument)) << key.error();
}

TEST(PrivateKey, FromEnv_ReadsTheVariableAndReportsUnsetAsNotFound) {
  const std::string name = "BR2K_KEY_TEST_" + std::to_string(::getpid());
  ASSERT_EQ(::unsetenv(name.c_str()), 0);
  auto unset = PrivateKey::from_env(name.c_str());
  ASSERT_FALSE(unset);
  EXPECT_TRUE(unset.error().is(Errc::kNotFound)) << unset.error();

  ASSERT_EQ(::setenv(name.c_str(), std::string(kAnvilKey).c_str(), 1), 0);
  auto key = PrivateKey::from_env(name.c_str());
  ASSERT_TRUE(key) << key.error();
  EXPECT_EQ(to_checksum_address(key->address()), kAnvilAddress);

  const std::string bad = "0x" + std::string(kAnvilKey.substr(4)) + "zz";
  ASSERT_EQ(::setenv(name.c_str(), bad.c_str(), 1), 0);
  auto refused = PrivateKey::from_env(name.c_str());
  ::unsetenv(name.c_str());
  ASSERT_FALSE(refused);
  EXPECT_TRUE(refused.error().is(Errc::kInvalidArgument)) << refused.error();
  EXPECT_NE(refused.error().detail.find(name), std::string::npos) << refused.error();
  EXPECT_EQ(refused.error().detail.find(bad.substr(2, 16)), std::string::npos) << refused.error();

  auto null_name = PrivateKey::from_env(nullptr);
  ASSERT_FALSE(null_name);
  EXPECT_TRUE(null_name.error().is(Errc::kInvalidArgument));
}

TEST(PrivateKey, Sign_IsDeterministicLowSAndRecoversToTheAddress) {
  auto key = PrivateKey::from_hex(kAnvilKey).value();
  for (std::string_view text : {"", "a", "br2k", "updateLocation"}) {
    const Hash digest = digest_of(text);
    auto first = key.sign(digest);
    auto second = key.sign(digest);
    ASSERT_TRUE(first && second);
    EXPECT_EQ(*first, *second);
    EXPECT_TRUE(is_canonical(*first));
    auto recovered = recover_address(digest, *first);
    ASSERT_TRUE(recovered) << recovered.error();
    EXPECT_EQ(*recovered, key.address());
    // The other parity names another point: another address, or none.
    Signature flipped = *first;
    flipped.y_parity ^= 1;
    auto other = recover_address(digest, flipped);
    if (other) {
      EXPECT_NE(*other, key.address());
    }
  }
}

TEST(PrivateKey, MovedFromKeyIsZeroedAndSignsNothing) {
  auto key = PrivateKey::from_hex(kAnvilKey).value();
  PrivateKey moved = std::move(key);
  EXPECT_EQ(to_checksum_address(moved.address()), kAnvilAddress);
  EXPECT_EQ(key.address(), Address{});  // NOLINT(bugprone-use-after-move): the documented state
  auto signature = key.sign(digest_of("x"));
  ASSERT_FALSE(signature);
  EXPECT_TRUE(signature.error().is(Errc::kInvalidArgument));
  EXPECT_TRUE(moved.sign(digest_of("x")));
}

TEST(RecoverAddress, RefusesOutOfRangeSignatures) {
  auto key = PrivateKey::from_hex(kAnvilKey).value();
  const Hash digest = digest_of("range");
  const Signature good = key.sign(digest).value();

  Signature bad_parity = good;
  bad_parity.y_parity = 2;
  Signature zero_r = good;
  zero_r.r = {};
  Signature zero_s = good;
  zero_s.s = {};
  Signature big_s = good;
  big_s.s.fill(0xff);
  // x = 5 is not on the curve (5^3 + 7 is not a square mod p): no point R has it.
  Signature off_curve = good;
  off_curve.r = {};
  off_curve.r[31] = 5;
  for (const Signature& s : {bad_parity, zero_r, zero_s, big_s, off_curve}) {
    auto r = recover_address(digest, s);
    ASSERT_FALSE(r);
    EXPECT_TRUE(r.error().is(Errc::kInvalidArgument)) << r.error();
  }
}

TEST(IsCanonical, AcceptsOnlyLowS) {
  auto key = PrivateKey::from_hex(kAnvilKey).value();
  Signature s = key.sign(digest_of("low s")).value();
  EXPECT_TRUE(is_canonical(s));
  // n/2 is the largest canonical s; n/2 + 1 is not.
  s.s = {0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
         0xff, 0xff, 0xff, 0xff, 0xff, 0x5d, 0x57, 0x6e, 0x73, 0x57, 0xa4,
         0x50, 0x1d, 0xdf, 0xe9, 0x2f, 0x46, 0x68, 0x1b, 0x20, 0xa0};
  EXPECT_TRUE(is_canonical(s));
  s.s[31] = 0xa1;
  EXPECT_FALSE(is_canonical(s));
  s.s = {};
  EXPECT_FALSE(is_canonical(s));
}

}  // namespace
}  // namespace br2k::eth
