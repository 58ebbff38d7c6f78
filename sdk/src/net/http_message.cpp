// The project's error reply format. See http_message.hpp.
#include <boost/beast/http/field.hpp>
#include <br2k/net/http_message.hpp>
#include <nlohmann/json.hpp>

namespace br2k::net {

HttpResponse error_response(boost::beast::http::status status, std::string_view reason) {
  HttpResponse res(status, 11);
  res.set(boost::beast::http::field::content_type, kJsonContentType);
  nlohmann::json body{{"error", reason}};
  res.body() = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  res.content_length(res.body().size());
  return res;
}

}  // namespace br2k::net
