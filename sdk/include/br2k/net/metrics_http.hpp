// Serving a MetricsRegistry to Prometheus over HTTP (GET /metrics).
//
// Thread-safety: both calls may be used from any thread; the registry renders under its lock.
#pragma once

#include <br2k/net/http_message.hpp>
#include <br2k/net/http_server.hpp>
#include <br2k/net/metrics.hpp>
#include <memory>
#include <string>
#include <string_view>

namespace br2k::net {

// The Content-Type of the text exposition format 0.0.4.
inline constexpr std::string_view kMetricsContentType = "text/plain; version=0.0.4; charset=utf-8";

// The reply to a scrape: 200 with registry.render() for GET (and its headers for HEAD); 405 with
// `Allow: GET, HEAD` for other methods. For a program's own router.
HttpResponse metrics_response(const MetricsRegistry& registry, const HttpRequest& request);

// A handler for a listener of its own: `path` (query ignored) gets metrics_response(), any other
// target a 404 {"error": "..."}.
HttpHandler metrics_handler(std::shared_ptr<const MetricsRegistry> registry,
                            std::string path = "/metrics");

}  // namespace br2k::net
