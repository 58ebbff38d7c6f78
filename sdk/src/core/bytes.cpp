// Hex and base64 codecs.
//
// Base64 is OpenSSL's EVP_EncodeBlock/EVP_DecodeBlock (already a dependency for TLS); the wrapper
// only adds what OpenSSL lacks: URL-safe input, missing padding, and exact output length.
#include <openssl/evp.h>

#include <br2k/core/bytes.hpp>

namespace br2k {
int hex_digit_value(char c) noexcept {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

std::string to_hex(ByteView bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (std::uint8_t b : bytes) {
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 0x0f]);
  }
  return out;
}

Result<Bytes> from_hex(std::string_view hex) {
  if (hex.starts_with("0x") || hex.starts_with("0X"))
    hex.remove_prefix(2);
  if (hex.size() % 2 != 0)
    return Error(Errc::kInvalidArgument, "hex string of odd length");
  Bytes out(hex.size() / 2);
  for (std::size_t i = 0; i < out.size(); ++i) {
    int hi = hex_digit_value(hex[2 * i]);
    int lo = hex_digit_value(hex[2 * i + 1]);
    if (hi < 0 || lo < 0)
      return Error(Errc::kInvalidArgument, "non-hex digit");
    out[i] = static_cast<std::uint8_t>(hi << 4 | lo);
  }
  return out;
}

std::string to_base64(std::string_view raw) {
  std::string out(4 * ((raw.size() + 2) / 3), '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(raw.data()),
                          static_cast<int>(raw.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

Result<std::string> from_base64(std::string_view b64) {
  std::string in(b64);
  for (char& c : in) {
    if (c == '-')
      c = '+';
    if (c == '_')
      c = '/';
  }
  while (in.size() % 4 != 0)
    in.push_back('=');
  std::size_t pad = 0;
  if (!in.empty() && in[in.size() - 1] == '=')
    ++pad;
  if (in.size() > 1 && in[in.size() - 2] == '=')
    ++pad;
  for (std::size_t i = 0; i + pad < in.size(); ++i) {
    char c = in[i];
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '+' || c == '/';
    if (!ok)
      return Error(Errc::kInvalidArgument, "invalid base64 character");
  }
  std::string out(3 * in.size() / 4, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(in.data()),
                          static_cast<int>(in.size()));
  if (n < 0)
    return Error(Errc::kInvalidArgument, "invalid base64");
  // EVP_DecodeBlock counts padding as zero bytes; drop them.
  out.resize(static_cast<std::size_t>(n) - pad);
  return out;
}

}  // namespace br2k
