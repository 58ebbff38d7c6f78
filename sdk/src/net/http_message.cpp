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

namespace {

void append_version(unsigned version, std::string& out) {
  const char v[] = {'H', 'T',
                    'T', 'P',
                    '/', static_cast<char>('0' + version / 10),
                    '.', static_cast<char>('0' + version % 10)};
  out.append(v, sizeof v);
}

template <class Fields>
void append_fields(const Fields& fields, std::string& out) {
  for (const auto& f : fields) {
    const auto name = f.name_string();
    const auto value = f.value();
    out.append(name.data(), name.size());
    out.append(": ", 2);
    out.append(value.data(), value.size());
    out.append("\r\n", 2);
  }
  out.append("\r\n", 2);
}

}  // namespace

void serialize_header(const HttpRequest& m, std::string& out) {
  out.clear();
  const auto method = m.method_string();
  const auto target = m.target();
  out.append(method.data(), method.size());
  out.push_back(' ');
  out.append(target.data(), target.size());
  out.push_back(' ');
  append_version(m.version(), out);
  out.append("\r\n", 2);
  append_fields(m.base(), out);
}

void serialize_header(const HttpResponse& m, std::string& out) {
  out.clear();
  append_version(m.version(), out);
  const unsigned code = m.result_int();
  const char status[] = {' ', static_cast<char>('0' + code / 100),
                         static_cast<char>('0' + (code / 10) % 10),
                         static_cast<char>('0' + code % 10), ' '};
  out.append(status, sizeof status);
  const auto reason = m.reason();  // the message's own, else the standard one for the code
  out.append(reason.data(), reason.size());
  out.append("\r\n", 2);
  append_fields(m.base(), out);
}

}  // namespace br2k::net
