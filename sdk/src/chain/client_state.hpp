// Private: the shared state behind an RpcClient and its in-flight calls.
//
// Owns the endpoints (their quarantine, health, chain-id check and idle connections), which
// endpoint each kind of call is pinned to, and the one failover policy every call goes through:
// choose() says where to try next or that the call must give up; succeeded() and failed() report
// what happened (LogCabin's LeaderRPC shape: one place owns the current endpoint and the backoff).
//
// Thread-safety: used from one executor only (see rpc_client.hpp).
#pragma once

#include <boost/asio/ssl/context.hpp>
#include <br2k/chain/rpc_client.hpp>
#include <br2k/net/http_connection.hpp>
#include <br2k/net/url.hpp>

#include "ws_connection.hpp"

namespace br2k::chain {

struct RpcClient::State {
  struct Endpoint {
    net::Url url;
    std::string label;  // what logs, errors and health() show: no path or query (API keys)
    EndpointKind kind = EndpointKind::kHttp;
    Deadline down_until{};  // quarantined until then
    std::size_t consecutive_failures = 0;
    std::string last_error;
    bool chain_checked = false;  // eth_chainId matched since the last quarantine
    bool wrong_chain = false;    // the last failure was serving another chain
    std::string wrong_chain_detail;
    std::vector<std::unique_ptr<net::HttpConnection>> idle_http;
    std::vector<std::unique_ptr<WsConnection>> idle_ws;
  };

  // The endpoints one kind of call uses, and the one it sticks to while it works.
  struct Pool {
    std::vector<std::size_t> members;  // indexes into endpoints, in configured order
    std::size_t pinned = 0;            // index into members
  };

  // What one call's failover loop remembers between attempts.
  struct Attempts {
    Attempts(Deadline d, std::size_t endpoints, std::string w)
        : deadline(d), tried(endpoints, false), what(std::move(w)) {}
    Deadline deadline;
    std::vector<bool> tried;  // by endpoint index
    std::string what;         // the method, for error details
    Error last{Errc::kUnavailable, "no endpoint tried"};
  };

  State(boost::asio::any_io_executor ex, RpcClientOptions opts);

  // The endpoint of `pool` to try next: the pinned one or the next one out of quarantine; when
  // all are quarantined, one this call has not tried yet (soonest out of quarantine first); else,
  // after waiting for the soonest quarantine to end if that is before the deadline, that one.
  // Errors: the error the call gives up with (see give_up), or kInvalidArgument when every
  // endpoint of the pool serves another chain.
  Task<Result<std::size_t>> choose(Pool& pool, Attempts& a);
  Error give_up(const Attempts& a, bool deadline_passed) const;
  void succeeded(std::size_t i);
  // Quarantines endpoint i (doubling its quarantine), drops its idle connections, and forgets its
  // chain check so that it is checked again before its next use.
  void failed(std::size_t i, const Error& e, bool wrong_chain = false);

  // One request on endpoint i by the deadline, over HTTP or WebSocket after the chain check.
  // `wrong_chain` tells that the check failed: the endpoint serves another chain.
  // Errors: kInvalidArgument (wrong chain), and those of the transports.
  Task<Result<RpcReply>> attempt(std::size_t i, const std::string& body, std::uint64_t id,
                                 Deadline deadline, bool& wrong_chain);
  Task<Result<RpcReply>> attempt_http(std::size_t i, const std::string& body, std::uint64_t id,
                                      Deadline deadline);
  Task<Result<RpcReply>> attempt_ws(std::size_t i, const std::string& body, std::uint64_t id,
                                    Deadline deadline);
  // eth_chainId on endpoint i unless already checked (or no chain id is configured). With `conn`,
  // asks on that WebSocket connection instead of a pooled one. kInvalidArgument only for a
  // mismatch.
  Task<Result<void>> ensure_chain(std::size_t i, Deadline deadline, WsConnection* conn = nullptr);
  // Compares an eth_chainId reply with the configured chain id.
  Result<void> check_chain(std::size_t i, RpcReply reply);

  Task<Result<std::unique_ptr<net::HttpConnection>>> dial_http(std::size_t i, Deadline deadline);
  Task<Result<std::unique_ptr<WsConnection>>> dial_ws(std::size_t i, Deadline deadline);

  // Sends `body` on `conn` and reads until the reply to `id`; notifications read meanwhile are
  // appended to `early` (or dropped when it is null).
  static Task<Result<RpcReply>> exchange_ws(WsConnection& conn, const std::string& body,
                                            std::uint64_t id, Deadline deadline,
                                            std::vector<Json>* early);

  // eth_subscribe on a new connection to WebSocket endpoint i (subscription.cpp); `self` is told
  // when the subscription's connection fails later. `wrong_chain` as for attempt().
  Task<Result<std::unique_ptr<Subscription>>> subscribe_on(std::size_t i, const Json& params,
                                                           Deadline deadline,
                                                           std::weak_ptr<State> self,
                                                           bool& wrong_chain);

  std::string with_label(std::size_t i, const std::string& detail) const;

  boost::asio::any_io_executor executor;
  RpcClientOptions options;
  std::shared_ptr<boost::asio::ssl::context> tls;
  std::vector<Endpoint> endpoints;
  Pool requests;       // HTTP endpoints, or the WebSocket ones when there are none
  Pool subscriptions;  // WebSocket endpoints
  std::uint64_t next_id = 1;
  std::uint64_t connections_opened = 0;
};

}  // namespace br2k::chain
