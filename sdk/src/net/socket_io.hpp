// The two socket operations on the path of every HTTP exchange, written for the common case.
//
// Beast's http::async_read and Asio's async_write are correct for any stream, at a cost a proxy
// pays twice per request: each is a composed operation (two layers for a read, one for a write),
// each layer tracks work on a type-erased executor, and an operation that needs no I/O (a header
// already in the buffer, a reply the kernel takes at once) still completes through a post to the
// event loop. Here a write is first tried as one non-blocking send (the kernel takes a reply of a
// few KB whole) and a read parses what is already buffered before it waits, then waits with one
// plain async_read_some per chunk. The HTTP rules stay Beast's: its parser does all the parsing,
// with the same limits and the same end-of-stream handling as its read_some_op.
//
// The synchronous send needs the socket in non-blocking mode; send_all sets it (once). Asio's
// asynchronous operations are unaffected by that mode. send_all takes only a plain TCP socket;
// read_http any stream with async_read_some (the server's TLS sessions use it too).
#pragma once

#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/buffers_suffix.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/read_size.hpp>
#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/error.hpp>
#include <br2k/net/task.hpp>
#include <stdexcept>

namespace br2k::net::detail {

// Writes all of `buffers` (a header and a body): a non-blocking send first, then, for what the
// kernel did not take, an asynchronous write. The error is the send's or the write's.
inline Task<boost::system::error_code> send_all(
    boost::asio::ip::tcp::socket& socket, const std::array<boost::asio::const_buffer, 2>& buffers) {
  boost::system::error_code ec;
  if (!socket.non_blocking()) {
    socket.non_blocking(true, ec);
    if (ec)
      co_return ec;
  }
  const std::size_t sent = socket.send(buffers, 0, ec);
  if (ec && ec != boost::asio::error::would_block)
    co_return ec;
  if (sent == boost::asio::buffer_size(buffers))
    co_return boost::system::error_code();
  boost::beast::buffers_suffix<std::array<boost::asio::const_buffer, 2>> rest(buffers);
  rest.consume(sent);
  auto [wec, n] = co_await boost::asio::async_write(
      socket, rest, boost::asio::as_tuple(boost::asio::use_awaitable));
  co_return wec;
}

// What read_http reads: the header only (as http::async_read_header, which leaves the body to a
// later read), or the whole message (as http::async_read, which parses eagerly).
enum class ReadUntil { kHeader, kMessage };

// Feeds `parser` from `buffer`, then from the socket, until the header or the whole message is
// parsed, with the errors http::async_read and http::async_read_header give: end_of_stream when
// the peer closed before a byte of the message, buffer_overflow when `buffer` is full, and the
// parser's own (limits, malformed input, partial_message).
template <class Stream, bool isRequest>
Task<boost::system::error_code> read_http(Stream& socket, boost::beast::flat_buffer& buffer,
                                          boost::beast::http::basic_parser<isRequest>& parser,
                                          ReadUntil until) {
  namespace http = boost::beast::http;
  parser.eager(until == ReadUntil::kMessage);
  const auto done = [&] {
    return until == ReadUntil::kMessage ? parser.is_done() : parser.is_header_done();
  };
  boost::system::error_code ec;
  for (;;) {
    // Parse what is buffered (a pipelined request, or the rest of a reply read with its header).
    while (buffer.size() > 0 && !done()) {
      const std::size_t used = parser.put(buffer.data(), ec);
      buffer.consume(used);
      if (ec == http::error::need_more) {
        ec = {};
        break;
      }
      if (ec)
        co_return ec;
      if (used == 0)
        break;
    }
    if (done())
      co_return boost::system::error_code();
    const std::size_t size = boost::beast::read_size(buffer, 65536);
    if (size == 0)
      co_return http::error::buffer_overflow;
    boost::beast::flat_buffer::mutable_buffers_type space;
    try {
      space = buffer.prepare(size);
    } catch (const std::length_error&) {
      co_return http::error::buffer_overflow;
    }
    auto [rec, n] =
        co_await socket.async_read_some(space, boost::asio::as_tuple(boost::asio::use_awaitable));
    buffer.commit(n);
    if (rec == boost::asio::error::eof) {
      // As Beast's read_some_op: a message cut short is the parser's to judge (a reply without a
      // length ends at the end of the stream); no byte at all is end_of_stream.
      if (!parser.got_some())
        co_return http::error::end_of_stream;
      parser.put_eof(ec);
      co_return ec;
    }
    if (rec)
      co_return rec;
  }
}

}  // namespace br2k::net::detail
