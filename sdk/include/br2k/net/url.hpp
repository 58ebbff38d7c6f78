// Endpoint URLs ("http://127.0.0.1:2379", "https://node-1:2379", "ws://host:8545/path").
//
// Boost 1.81's Debian build has no Boost.URL library, and endpoints only need scheme, host, port
// and path, so this small parser is hand-written. Thread-safety: plain values.
#pragma once

#include <br2k/core/error.hpp>
#include <string>
#include <string_view>

namespace br2k::net {

struct Url {
  std::string scheme;  // "http", "https", "ws" or "wss"
  std::string host;    // without brackets for IPv6 literals
  std::string port;    // always set: the scheme's default when the URL has none
  std::string target;  // path and query, "/" when empty

  bool tls() const { return scheme == "https" || scheme == "wss"; }
  // "scheme://host:port" (brackets around an IPv6 host).
  std::string origin() const;
  // The Host header value.
  std::string host_header() const;
};

// Errc::kInvalidArgument for an unknown scheme, an empty host or a bad port.
Result<Url> parse_url(std::string_view url);

}  // namespace br2k::net
