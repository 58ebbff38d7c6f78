// Serving metrics over HTTP. See metrics_http.hpp.
#include <boost/beast/http/field.hpp>
#include <boost/beast/http/verb.hpp>
#include <br2k/net/metrics_http.hpp>

namespace br2k::net {
namespace http = boost::beast::http;

HttpResponse metrics_response(const MetricsRegistry& registry, const HttpRequest& request) {
  if (request.method() != http::verb::get && request.method() != http::verb::head) {
    auto res = error_response(http::status::method_not_allowed, "metrics: use GET");
    res.set(http::field::allow, "GET, HEAD");
    return res;
  }
  HttpResponse res(http::status::ok, 11);
  res.set(http::field::content_type, kMetricsContentType);
  res.body() = registry.render();
  res.content_length(res.body().size());
  return res;
}

namespace {

Task<HttpResponse> serve_metrics(std::shared_ptr<const MetricsRegistry> registry, std::string path,
                                 HttpRequest request) {
  std::string_view target = request.target();
  target = target.substr(0, target.find('?'));
  if (target != path)
    co_return error_response(http::status::not_found, "no such resource; metrics are at " + path);
  co_return metrics_response(*registry, request);
}

}  // namespace

HttpHandler metrics_handler(std::shared_ptr<const MetricsRegistry> registry, std::string path) {
  // A plain lambda that calls a coroutine taking its arguments by value: a coroutine lambda's
  // captures would live in the closure, not in the coroutine frame.
  return [registry = std::move(registry), path = std::move(path)](HttpRequest&& request) {
    return serve_metrics(registry, path, std::move(request));
  };
}

}  // namespace br2k::net
