// HTTP message types shared by BR2K's HTTP client and server, and the one format of error replies.
//
// Kept apart from http_connection.hpp and http_server.hpp so that code which only builds or reads
// messages (handlers, routers) does not pull in sockets, TLS or the server.
//
// Error replies: every error BR2K's own servers and proxy generate (a refused request, a handler
// failure, a missing route) carries the JSON body {"error": "<reason>"} with Content-Type
// application/json, so any client can show the reason whatever the status.
//
// Thread-safety: plain values and a pure function.
#pragma once

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/string_body.hpp>
#include <string>
#include <string_view>

namespace br2k::net {

using HttpRequest = boost::beast::http::request<boost::beast::http::string_body>;
using HttpResponse = boost::beast::http::response<boost::beast::http::string_body>;

inline constexpr std::string_view kJsonContentType = "application/json";

// An HTTP/1.1 reply with `status` and the body {"error": reason} (Content-Type application/json,
// Content-Length set). Bytes of `reason` that are not valid UTF-8 are replaced by U+FFFD, so a
// reason quoting client input is always valid JSON.
HttpResponse error_response(boost::beast::http::status status, std::string_view reason);

// Appends the header of `message` to `out` (cleared first) exactly as Beast's serializer writes
// it: the start line, the fields in order, and the empty line. The body is to be sent after it as
// is, so the message must not be chunked (prepare_payload() or a Content-Length). One string and
// one write instead of Beast's buffer sequence of a dozen pieces: much cheaper per message.
void serialize_header(const HttpRequest& message, std::string& out);
void serialize_header(const HttpResponse& message, std::string& out);

}  // namespace br2k::net
