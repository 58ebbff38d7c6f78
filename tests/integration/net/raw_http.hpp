// A blocking raw-socket HTTP/1.1 client for testing servers byte by byte: it sends exactly the
// bytes given (pipelined, malformed, half a header) and parses responses one at a time, with a
// timeout on every wait. libcurl (br2k/testing/http.hpp) cannot send malformed or stalled requests.
//
// Thread-safety: one RawClient per thread.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace br2k::testing {

struct RawResponse {
  std::string version;  // "HTTP/1.1"
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;

  // The value of a header (name in any case), or "" when absent.
  std::string header(std::string name) const {
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    auto it = headers.find(name);
    return it == headers.end() ? std::string() : it->second;
  }
  bool has(const std::string& name) const { return !header(name).empty(); }
};

// Connects to 127.0.0.1:port; -1 (errno set) on failure.
inline int raw_connect(std::uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    int e = errno;
    ::close(fd);
    errno = e;
    return -1;
  }
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

class RawClient {
 public:
  // Throws std::runtime_error when the connection is refused.
  explicit RawClient(std::uint16_t port) : fd_(raw_connect(port)) {
    if (fd_ < 0)
      throw std::runtime_error("connect to port " + std::to_string(port) + " failed");
  }
  ~RawClient() { close(); }
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;

  // Sends all of `bytes`; false if the connection is broken.
  bool send(std::string_view bytes) {
    while (!bytes.empty()) {
      ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n <= 0)
        return false;
      bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }

  // Reads the next response (an interim 100 Continue counts as one). nullopt when the
  // connection closes or `timeout` passes first. `head`: the response has no body.
  std::optional<RawResponse> read_response(
      bool head = false, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    std::size_t end;
    while ((end = in_.find("\r\n\r\n")) == std::string::npos) {
      if (!fill(deadline))
        return std::nullopt;
    }
    RawResponse r;
    std::string_view head_text(in_.data(), end);
    auto line_end = head_text.find("\r\n");
    std::string_view status_line = head_text.substr(0, line_end);
    auto sp = status_line.find(' ');
    r.version = std::string(status_line.substr(0, sp));
    r.status = std::stoi(std::string(status_line.substr(sp + 1, 3)));
    std::size_t pos = line_end == std::string_view::npos ? head_text.size() : line_end + 2;
    while (pos < head_text.size()) {
      auto next = head_text.find("\r\n", pos);
      if (next == std::string_view::npos)
        next = head_text.size();
      std::string_view line = head_text.substr(pos, next - pos);
      auto colon = line.find(':');
      std::string name(line.substr(0, colon));
      std::transform(name.begin(), name.end(), name.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      std::string_view value = line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ')
        value.remove_prefix(1);
      r.headers[name] = std::string(value);
      pos = next + 2;
    }
    in_.erase(0, end + 4);
    std::size_t length = 0;
    if (!head && r.status >= 200 && r.status != 204 && r.status != 304 && r.has("content-length"))
      length = std::stoul(r.header("content-length"));
    while (in_.size() < length) {
      if (!fill(deadline))
        return std::nullopt;
    }
    r.body = in_.substr(0, length);
    in_.erase(0, length);
    return r;
  }

  // True when the server closes the connection (EOF or reset) within `timeout` without sending
  // anything more; false on a timeout or on unexpected bytes (kept in unread()).
  bool wait_closed(std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    const std::size_t before = in_.size();
    for (;;) {
      if (!fill(deadline))
        return closed_ && in_.size() == before;
      if (in_.size() != before)
        return false;
    }
  }

  bool closed() const { return closed_; }
  const std::string& unread() const { return in_; }
  void close() {
    if (fd_ >= 0)
      ::close(fd_);
    fd_ = -1;
  }

 private:
  // Appends what arrives before the deadline; false on EOF, error or timeout.
  bool fill(std::chrono::steady_clock::time_point deadline) {
    if (closed_ || fd_ < 0)
      return false;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0)
      return false;
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0)
      return false;
    char buf[16384];
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) {
      closed_ = true;
      return false;
    }
    in_.append(buf, static_cast<std::size_t>(n));
    return true;
  }

  int fd_ = -1;
  bool closed_ = false;
  std::string in_;
};

}  // namespace br2k::testing
