// Fuzz target: the HTTP request front of br2k-server and br2k-proxy. A client's bytes go through
// what net::HttpServer's session does with them (sdk/src/net/http_session.cpp: a Beast
// request_parser with the server's header and body limits, read_header then read, the header
// checks, pipelined requests on one connection), then through what the node does with a request
// (server/src/server/node_http.cpp and append.cpp: the Command, prepare, the log entry, apply or
// query, on both example applications) and what the proxy does (hop-by-hop stripping), and every
// error reply the way (net::error_response with client text in the reason).
//
// Input: the first byte sets how many bytes each socket read returns (1 + 32 * byte: from single
// bytes to whole requests, as TCP may deliver them); the rest is what the client sends.
// Properties: nothing crashes or throws; every error reply's body is JSON {"error": string};
// whatever the node logs decodes back to the same entry; applied state always snapshots.
//
// The session's header check and the proxy's hop-by-hop stripping are private to their files, so
// they are mirrored here (keep them in step with http_session.cpp and proxy.cpp).
#include <boost/asio/buffer.hpp>
#include <boost/asio/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/rfc7230.hpp>
#include <boost/beast/http/string_body.hpp>
#include <br2k/examples/kv_store.hpp>
#include <br2k/examples/number_list.hpp>
#include <br2k/net/http_message.hpp>
#include <br2k/server/log_entry.hpp>
#include <br2k/server/replicated_state.hpp>
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "fuzz_check.hpp"

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace server = br2k::server;
namespace examples = br2k::examples;
using br2k::fuzz::check;

// net::HttpServerOptions' defaults (sdk/include/br2k/net/http_server.hpp), which br2k-server and
// br2k-proxy keep.
constexpr std::uint32_t kHeaderLimit = 8 * 1024;
constexpr std::uint64_t kBodyLimit = 1024 * 1024;
// server::NodeOptions::max_idempotency_key.
constexpr std::size_t kMaxIdempotencyKey = 255;
// Requests read from one connection (bounds the work per input).
constexpr int kMaxRequests = 16;

// A connected socket that returns the client's bytes `chunk` at a time, then end of stream.
class ClientBytes {
 public:
  ClientBytes(std::string_view bytes, std::size_t chunk) : rest_(bytes), chunk_(chunk) {}

  template <class MutableBuffers>
  std::size_t read_some(const MutableBuffers& buffers, boost::system::error_code& ec) {
    ec = {};
    if (rest_.empty()) {
      ec = asio::error::eof;
      return 0;
    }
    const std::size_t n =
        asio::buffer_copy(buffers, asio::buffer(rest_.data(), std::min(rest_.size(), chunk_)));
    rest_.remove_prefix(n);
    return n;
  }

  template <class MutableBuffers>
  std::size_t read_some(const MutableBuffers& buffers) {
    boost::system::error_code ec;
    const std::size_t n = read_some(buffers, ec);
    if (ec)
      throw boost::system::system_error(ec);
    return n;
  }

  bool at_end() const { return rest_.empty(); }

 private:
  std::string_view rest_;
  std::size_t chunk_;
};

// Every error reply is {"error": reason} whatever bytes the reason quotes.
br2k::net::HttpResponse error_response(http::status status, std::string_view reason) {
  auto r = br2k::net::error_response(status, reason);
  auto body = nlohmann::json::parse(r.body(), nullptr, false);
  check(body.is_object() && body.size() == 1 && body.contains("error") && body["error"].is_string(),
        "error_response: the body is not {\"error\": string}");
  return r;
}

// Session::check_header (http_session.cpp): the framing checks before the body is read.
std::optional<br2k::net::HttpResponse> check_header(const br2k::net::HttpRequest& req,
                                                    bool& expect_continue) {
  auto te = req.equal_range(http::field::transfer_encoding);
  if (te.first != te.second) {
    if (req.version() == 10)
      return error_response(http::status::bad_request, "Transfer-Encoding in HTTP/1.0 request");
    std::size_t codings = 0;
    bool chunked_last = false;
    std::string other;
    for (auto it = te.first; it != te.second; ++it) {
      for (auto token : http::token_list(it->value())) {
        ++codings;
        chunked_last = beast::iequals(token, "chunked");
        if (!chunked_last && other.empty())
          other.assign(token.data(), token.size());
      }
    }
    if (!chunked_last)
      return error_response(http::status::bad_request, "Transfer-Encoding must end in chunked");
    if (codings > 1 && !other.empty()) {
      return error_response(http::status::not_implemented,
                            "transfer coding '" + other + "' not supported; send chunked only");
    }
    if (codings > 1)
      return error_response(http::status::bad_request, "chunked applied more than once");
  }
  expect_continue = false;
  if (req.version() >= 11 && req.count(http::field::expect) > 0) {
    auto expect = req.find(http::field::expect);
    if (req.count(http::field::expect) > 1 || !beast::iequals(expect->value(), "100-continue"))
      return error_response(http::status::expectation_failed, "only 100-continue is supported");
    expect_continue = true;
  }
  return std::nullopt;
}

// strip_hop_by_hop (proxy/src/proxy.cpp): what the proxy removes before forwarding.
void strip_hop_by_hop(br2k::net::HttpRequest& m) {
  if (auto it = m.find(http::field::connection); it != m.end()) {
    std::string_view list(it->value().data(), it->value().size());
    while (!list.empty()) {
      auto comma = list.find(',');
      auto name = list.substr(0, comma);
      while (!name.empty() && name.front() == ' ')
        name.remove_prefix(1);
      while (!name.empty() && name.back() == ' ')
        name.remove_suffix(1);
      if (!name.empty())
        m.erase(name);
      if (comma == std::string_view::npos)
        break;
      list.remove_prefix(comma + 1);
    }
  }
  for (auto f :
       {http::field::connection, http::field::keep_alive, http::field::proxy_authenticate,
        http::field::proxy_authorization, http::field::te, http::field::trailer,
        http::field::transfer_encoding, http::field::upgrade, http::field::proxy_connection})
    m.erase(f);
}

std::string header_value(const br2k::net::HttpRequest& r, std::string_view name) {
  auto it = r.find(name);
  return it == r.end() ? std::string() : std::string(it->value());
}

// One replica of one example application, as the node drives it.
template <class Machine>
class Replica {
 public:
  void handle(const server::Command& request) {
    server::Command command = request;
    if (machine_.is_read_only(command)) {
      (void)machine_.query(command);
      return;
    }
    if (auto refusal = machine_.prepare(command))
      return;
    server::LogEntry entry{.epoch = 7, .seq = ++seq_, .command = std::move(command)};
    const std::string logged = server::encode(entry);
    auto back = server::decode_log_entry(logged);
    check(back && *back == entry, "a logged request does not decode to the same entry");
    (void)state_.apply(state_.applied_index() + 1, *back);
  }

  void check_state() const {
    Machine copy_machine;
    server::ReplicatedState copy(copy_machine);
    check(bool(copy.restore(state_.snapshot())), "the applied state's snapshot does not restore");
    check(copy.state_hash() == state_.state_hash(), "a restored snapshot holds another state");
  }

 private:
  Machine machine_;
  server::ReplicatedState state_{machine_};
  std::uint64_t seq_ = 0;
};

struct Node {
  Replica<examples::KvStore> kv;
  Replica<examples::NumberList> numbers;

  // Node::Impl::handle (node_http.cpp) for a serving leader, minus the admin routes.
  void handle(br2k::net::HttpRequest& request) {
    const std::string target(request.target());
    if (target.starts_with("/-/br2k/")) {
      (void)error_response(http::status::not_found, "no such node route: " + target);
      return;
    }
    server::Command command{.method = std::string(request.method_string()),
                            .target = target,
                            .content_type = header_value(request, "Content-Type"),
                            .body = request.body(),
                            .idempotency_key = header_value(request, "Idempotency-Key")};
    if (target.empty() || target.front() != '/') {
      (void)error_response(http::status::bad_request,
                           "the request target must be a path (origin form)");
      return;
    }
    if (command.idempotency_key.size() > kMaxIdempotencyKey)
      return;
    // A follower's answer (Node::Impl::not_leader): the leader's URL with the target.
    auto redirect = error_response(http::status::temporary_redirect,
                                   "not the leader; the leader is http://127.0.0.1:8001");
    redirect.set(http::field::location, "http://127.0.0.1:8001" + target);
    kv.handle(command);
    numbers.handle(command);
  }
};

// Session::refuse (http_session.cpp): the reply to a request that could not be read.
void refuse(const boost::system::error_code& ec) {
  if (ec == http::error::header_limit || ec == http::error::buffer_overflow ||
      ec == http::error::body_limit || ec == http::error::end_of_stream ||
      ec == http::error::partial_message)
    return;
  if (ec.category() == make_error_code(http::error::end_of_stream).category())
    (void)error_response(http::status::bad_request, "malformed request: " + ec.message());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0)
    return 0;
  const std::size_t chunk = 1 + 32 * std::size_t{data[0]};
  ClientBytes socket(br2k::fuzz::text(data + 1, size - 1), chunk);
  beast::flat_buffer buffer;
  Node node;

  for (int i = 0; i < kMaxRequests; ++i) {
    if (buffer.size() == 0 && socket.at_end())
      break;
    http::request_parser<http::string_body> parser;
    parser.header_limit(kHeaderLimit);
    parser.body_limit(kBodyLimit);
    boost::system::error_code ec;
    http::read_header(socket, buffer, parser, ec);
    if (ec) {
      refuse(ec);
      break;
    }
    bool expect_continue = false;
    if (check_header(parser.get(), expect_continue))
      break;
    if (!parser.is_done()) {
      http::read(socket, buffer, parser, ec);
      if (ec) {
        refuse(ec);
        break;
      }
    }
    br2k::net::HttpRequest request = parser.release();
    const bool keep_alive = request.keep_alive();
    node.handle(request);
    strip_hop_by_hop(request);
    if (!keep_alive)
      break;
  }
  node.kv.check_state();
  node.numbers.check_state();
  return 0;
}
