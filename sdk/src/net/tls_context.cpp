// The OpenSSL contexts of HttpConnection (client) and HttpServer (server): the same protocol floor
// and the same loading of a certificate and its key, with errors that name the file.
#include <boost/asio/ssl/context.hpp>
#include <br2k/net/http_connection.hpp>
#include <stdexcept>

#include "http_session.hpp"

namespace br2k::net {
namespace asio = boost::asio;

namespace {

// TLS 1.2 or later.
std::shared_ptr<asio::ssl::context> new_context(asio::ssl::context::method method) {
  auto ctx = std::make_shared<asio::ssl::context>(method);
  ctx->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                   asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                   asio::ssl::context::no_tlsv1_1);
  return ctx;
}

// Throws std::invalid_argument naming the file that cannot be loaded (start-up configuration).
void use_certificate(asio::ssl::context& ctx, const std::string& cert_file,
                     const std::string& key_file) {
  boost::system::error_code ec;
  ctx.use_certificate_chain_file(cert_file, ec);
  if (ec)
    throw std::invalid_argument("TLS certificate '" + cert_file + "': " + ec.message());
  ctx.use_private_key_file(key_file, asio::ssl::context::pem, ec);
  if (ec)
    throw std::invalid_argument("TLS key '" + key_file + "': " + ec.message());
}

}  // namespace

std::shared_ptr<asio::ssl::context> make_tls_context(const TlsOptions& options) {
  auto ctx = new_context(asio::ssl::context::tls_client);
  boost::system::error_code ec;
  if (options.ca_file.empty()) {
    ctx->set_default_verify_paths(ec);
  } else {
    ctx->load_verify_file(options.ca_file, ec);
  }
  if (ec)
    throw std::invalid_argument("TLS CA file '" + options.ca_file + "': " + ec.message());
  if (!options.cert_file.empty())
    use_certificate(*ctx, options.cert_file, options.key_file);
  ctx->set_verify_mode(options.verify_peer ? asio::ssl::verify_peer : asio::ssl::verify_none);
  return ctx;
}

namespace detail {

std::shared_ptr<asio::ssl::context> make_server_tls_context(const TlsServerOptions& options) {
  auto ctx = new_context(asio::ssl::context::tls_server);
  use_certificate(*ctx, options.cert_file, options.key_file);
  return ctx;
}

}  // namespace detail
}  // namespace br2k::net
