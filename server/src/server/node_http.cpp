// The node's HTTP routes: client requests (leader: log or query; follower: 307; no leader: 503)
// and the node's own /-/br2k/ routes.
#include <spdlog/spdlog.h>

#include <br2k/net/metrics_http.hpp>
#include <nlohmann/json.hpp>

#include "node_impl.hpp"

namespace br2k::server {

namespace http = boost::beast::http;
using json = nlohmann::json;

namespace {

constexpr std::string_view kAdminPrefix = "/-/br2k/";

std::string header_value(const net::HttpRequest& r, std::string_view name) {
  auto it = r.find(name);
  return it == r.end() ? std::string() : std::string(it->value());
}

}  // namespace

void Node::Impl::add_br2k_headers(net::HttpResponse& r) const {
  if (leader.epoch != 0 && !leader.url.empty()) {
    r.set("BR2K-Leader", leader.url);
    r.set("BR2K-Epoch", std::to_string(leader.epoch));
  }
  if (!members.empty()) {
    std::string list;
    for (const auto& m : members) {
      if (!list.empty())
        list += ", ";
      list += m;
    }
    r.set("BR2K-Replicas", list);
  }
}

net::HttpResponse Node::Impl::to_http(const Reply& reply, unsigned version) const {
  net::HttpResponse r{static_cast<http::status>(reply.status), version};
  if (!reply.content_type.empty())
    r.set(http::field::content_type, reply.content_type);
  r.body() = reply.body;
  add_br2k_headers(r);
  return r;
}

// A follower's (or a leader not yet serving) answer: 307 to the leader, or 503 without one.
net::HttpResponse Node::Impl::not_leader(const net::HttpRequest& request,
                                         std::string_view target) const {
  if (!lease_valid() && role != Role::kStarting) {
    // Cut off from etcd (no lease): whatever leader it last knew may be gone.
    auto r = net::error_response(http::status::service_unavailable,
                                 "this node is cut off from the cluster; retry");
    r.version(request.version());
    r.set(http::field::retry_after, "1");
    add_br2k_headers(r);
    return r;
  }
  if (leader.epoch != 0 && !leader.url.empty() && leader.node != options.node_id) {
    auto r = net::error_response(http::status::temporary_redirect,
                                 "not the leader; the leader is " + leader.url);
    r.version(request.version());
    r.set(http::field::location, leader.url + std::string(target));
    add_br2k_headers(r);
    return r;
  }
  auto r = net::error_response(http::status::service_unavailable,
                               leader.node == options.node_id ? "the leader is catching up; retry"
                                                              : "no leader is known; retry");
  r.version(request.version());
  r.set(http::field::retry_after, "1");
  add_br2k_headers(r);
  return r;
}

std::string Node::Impl::status_json() const {
  json j{{"node", options.node_id},
         {"url", url},
         {"role", to_string(role)},
         {"serving", serving},
         {"suspended", suspended},
         {"epoch", leader.epoch},
         {"leader", leader.epoch ? json{{"node", leader.node}, {"url", leader.url}} : json()},
         {"log_size", std::max(log_size, state.applied_index())},
         {"applied", state.applied_index()},
         {"members", members},
         {"lease", keeper ? json{{"id", keeper->id()}, {"valid", lease_valid()}} : json()},
         {"counters",
          {{"elections_won", counters.elections_won},
           {"step_downs", counters.step_downs},
           {"suspensions", counters.suspensions},
           {"appended", counters.appended},
           {"transactions", counters.transactions},
           {"fenced", counters.fenced},
           {"duplicates", state.duplicates()},
           {"held", held.size()},
           {"held_while_suspended", counters.held_while_suspended}}}};
  return j.dump();
}

Task<net::HttpResponse> Node::Impl::handle(net::HttpRequest&& request) {
  auto self = shared_from_this();
  const std::string target(request.target());
  const unsigned version = request.version();
  if (target.starts_with(kAdminPrefix)) {
    auto path = target.substr(0, target.find('?'));
    net::HttpResponse r;
    if (path == "/-/br2k/metrics")
      co_return net::metrics_response(*metrics, request);
    if (request.method() != http::verb::get && request.method() != http::verb::head) {
      r = net::error_response(http::status::method_not_allowed, "use GET");
      r.set(http::field::allow, "GET, HEAD");
    } else if (path == "/-/br2k/health") {
      const bool ok = started && !stopped && role != Role::kStarting;
      r = ok ? net::HttpResponse{http::status::ok, version}
             : net::error_response(http::status::service_unavailable, "starting or stopping");
      if (ok) {
        r.set(http::field::content_type, "application/json");
        r.body() = json{{"status", "ok"}, {"role", to_string(role)}}.dump();
      }
    } else if (path == "/-/br2k/leader") {
      // For load balancers' health checks (HAProxy's `option httpchk`): 200 only on the leader
      // that serves.
      r = serving ? net::HttpResponse{http::status::ok, version}
                  : net::error_response(http::status::service_unavailable, "not the leader");
      if (serving) {
        r.set(http::field::content_type, "application/json");
        r.body() = json{{"leader", true}, {"epoch", epoch}}.dump();
      }
    } else if (path == "/-/br2k/status") {
      r = net::HttpResponse{http::status::ok, version};
      r.set(http::field::content_type, "application/json");
      r.body() = status_json();
    } else if (path == "/-/br2k/state") {
      r = net::HttpResponse{http::status::ok, version};
      r.set(http::field::content_type, "application/json");
      r.body() = json{{"applied", state.applied_index()}, {"hash", state.state_hash()}}.dump();
    } else {
      r = net::error_response(http::status::not_found, "no such node route: " + path);
    }
    r.version(version);
    add_br2k_headers(r);
    co_return r;
  }

  Command command{.method = std::string(request.method_string()),
                  .target = target,
                  .content_type = header_value(request, "Content-Type"),
                  .body = std::move(request.body()),
                  .idempotency_key = header_value(request, "Idempotency-Key")};
  if (target.empty() || target.front() != '/') {
    auto r = net::error_response(http::status::bad_request,
                                 "the request target must be a path (origin form)");
    r.version(version);
    co_return r;
  }
  if (command.idempotency_key.size() > options.max_idempotency_key) {
    auto r = net::error_response(
        http::status::bad_request,
        "Idempotency-Key longer than " + std::to_string(options.max_idempotency_key) + " bytes");
    r.version(version);
    co_return r;
  }
  if (suspended && options.suspended_hold.count() > 0 && holding_suspended < options.max_pending) {
    // Suspended at its epoch: wait for the renewal (serving again) or the step-down, up to
    // suspended_hold, rather than answer 503 now (NodeOptions::suspended_hold says why).
    ++holding_suspended;
    ++counters.held_while_suspended;
    const Deadline until = Clock::now() + options.suspended_hold;
    while (suspended && !stopped && Clock::now() < until)
      co_await changed.wait(until);
    --holding_suspended;
  }
  if (!serving)
    co_return not_leader(request, target);

  if (machine.is_read_only(command)) {
    // Answered from applied state, only while no other leader can exist (the lease certainly
    // holds) and everything this leader appended is applied.
    if (!lease_valid() || state.applied_index() < log_size) {
      co_return not_leader(request, target);
    }
    auto r = to_http(machine.query(command), version);
    co_return r;
  }
  auto r = co_await handle_write(std::move(command));
  r.version(version);
  if (options.test_drop_replies_percent > 0 && r.result_int() == 200 &&
      drop_dice() < options.test_drop_replies_percent) {
    // The planted fault: the write is committed and applied, but its reply is held back past
    // the client's attempt timeout, so the client sees it as lost and retries.
    co_await sleep_for(options.test_drop_hold);
  }
  co_return r;
}

}  // namespace br2k::server
