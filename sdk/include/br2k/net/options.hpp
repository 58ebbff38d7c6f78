// Connection options shared by BR2K's HTTP clients: TLS files and size limits.
//
// Kept apart from http_connection.hpp so that configuration structs do not pull Beast and OpenSSL
// headers into everything that configures a client. Thread-safety: plain values.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace br2k::net {

struct TlsOptions {
  std::string ca_file;    // PEM; empty: the system's default trust store
  std::string cert_file;  // PEM client certificate; empty: none
  std::string key_file;   // PEM key of cert_file
  bool verify_peer = true;
};

struct HttpLimits {
  std::uint32_t header_limit = 16 * 1024;
  std::uint64_t body_limit = 64ull * 1024 * 1024;
  std::size_t line_limit = 16ull * 1024 * 1024;  // one line of a streaming reply
};

}  // namespace br2k::net
