// URL parsing for endpoints. See url.hpp.
#include <br2k/net/url.hpp>
#include <charconv>

namespace br2k::net {

std::string Url::origin() const {
  return scheme + "://" + host_header();
}

std::string Url::host_header() const {
  std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return h + ":" + port;
}

Result<Url> parse_url(std::string_view url) {
  Url u;
  auto sep = url.find("://");
  if (sep == std::string_view::npos)
    return Error(Errc::kInvalidArgument, "no scheme in URL");
  u.scheme = std::string(url.substr(0, sep));
  for (char& c : u.scheme)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::string_view default_port;
  if (u.scheme == "http" || u.scheme == "ws") {
    default_port = "80";
  } else if (u.scheme == "https" || u.scheme == "wss") {
    default_port = "443";
  } else {
    return Error(Errc::kInvalidArgument, "unsupported URL scheme '" + u.scheme + "'");
  }
  url.remove_prefix(sep + 3);
  auto slash = url.find_first_of("/?");
  std::string_view authority = url.substr(0, slash);
  u.target = slash == std::string_view::npos ? "/" : std::string(url.substr(slash));
  if (u.target.front() == '?')
    u.target.insert(u.target.begin(), '/');
  if (authority.find('@') != std::string_view::npos) {
    return Error(Errc::kInvalidArgument, "credentials in URLs are not supported");
  }
  std::string_view port;
  if (authority.starts_with('[')) {
    auto close = authority.find(']');
    if (close == std::string_view::npos)
      return Error(Errc::kInvalidArgument, "unclosed '['");
    u.host = std::string(authority.substr(1, close - 1));
    auto rest = authority.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':')
        return Error(Errc::kInvalidArgument, "junk after IPv6 host");
      port = rest.substr(1);
    }
  } else {
    auto colon = authority.rfind(':');
    u.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos)
      port = authority.substr(colon + 1);
  }
  if (u.host.empty())
    return Error(Errc::kInvalidArgument, "empty host in URL");
  if (port.empty()) {
    u.port = std::string(default_port);
  } else {
    unsigned p = 0;
    auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
    if (ec != std::errc() || ptr != port.data() + port.size() || p == 0 || p > 65535) {
      return Error(Errc::kInvalidArgument, "bad port '" + std::string(port) + "'");
    }
    u.port = std::string(port);
  }
  return u;
}

}  // namespace br2k::net
