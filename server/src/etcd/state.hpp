// Private: the shared state behind etcd::Client handles, its watches and lease keepers.
//
// Owns the members' endpoints, which member is pinned, the keep-alive connection pools and the
// auth token, and implements the one failover loop every call goes through.
// Thread-safety: used from one executor only (see client.hpp).
#pragma once

#include <br2k/etcd/client.hpp>
#include <br2k/net/http_connection.hpp>
#include <memory>

namespace br2k::etcd {

struct Client::State : std::enable_shared_from_this<Client::State> {
  enum class Retry {
    kAlways,     // the call changes nothing: retry on another member after any failure
    kIfNotSent,  // retry only when the request certainly did not reach a member
  };

  struct Endpoint {
    net::Url url;
    std::string text;
    Deadline down_until{};
    std::vector<std::unique_ptr<net::HttpConnection>> idle;
  };

  State(boost::asio::any_io_executor ex, ClientOptions opts);

  // The member to use now: the pinned one if it is up, else the next one up, else the one that
  // comes back soonest.
  std::size_t pick();
  bool all_down() const;
  void mark_failed(std::size_t i);
  // With prefer_first, when calls are pinned elsewhere: checks endpoint 0 in the background
  // (rate-limited) and pins it again once it answers with a raft leader.
  void maybe_probe_preferred();
  // The member to use now, like pick(), except when the pinned member is quarantined and more
  // than one other is up: then their status is asked at once and the first to answer is pinned
  // (one with a raft leader at once; one without only if none with a leader answers within
  // kSettle). Moving in list order would take the next member whether or not it answers, and one
  // whose host is cut off costs a whole attempt (or dial) timeout: with three members, half the
  // time. A probe that fails quarantines its member. Concurrent callers share one race.
  Task<std::size_t> choose(Deadline deadline);
  // Starts the race choose() waits for, unless fewer than two members other than the pinned one
  // are up (then there is nothing to choose between, and it returns false).
  bool start_race(Deadline deadline);
  // Member i's maintenance status (one attempt, no failover).
  Task<Result<StatusResponse>> status_of(std::size_t i, Deadline deadline);

  // A new connection to member i, connected by the deadline (bounded by dial_timeout).
  Task<Result<std::unique_ptr<net::HttpConnection>>> dial(std::size_t i, Deadline deadline);
  net::HttpRequest make_request(std::size_t i, std::string_view path, std::string body) const;

  // One attempt on member i: pooled connection, request, response body on HTTP 200, else the
  // gateway's error. `maybe_sent` tells whether the request may have reached the member.
  Task<Result<std::string>> attempt(std::size_t i, std::string_view path, const std::string& body,
                                    Deadline deadline, bool& maybe_sent);
  // Gets an auth token from member i when username/password auth is configured and none is held.
  Task<Result<void>> ensure_token(std::size_t i, Deadline deadline);

  // The failover loop: tries members until one answers, the deadline passes, or an error that
  // retrying cannot fix. Returns the body of a 200 reply.
  Task<Result<std::string>> call(std::string_view path, std::string body, Retry retry,
                                 CallOptions call);

  Deadline deadline_of(const CallOptions& call) const {
    return call.deadline.value_or(Clock::now() + options.call_timeout);
  }

  boost::asio::any_io_executor executor;
  ClientOptions options;
  std::shared_ptr<boost::asio::ssl::context> tls;
  std::vector<Endpoint> endpoints;
  std::size_t pinned = 0;
  bool probing = false;   // a check of the preferred member is running
  Deadline next_probe{};  // no check of the preferred member before this
  std::string token;      // etcd auth token; empty when not authenticated (yet)
  struct Race;
  std::shared_ptr<Race> race;  // the running choice of a member, if any
};

}  // namespace br2k::etcd
