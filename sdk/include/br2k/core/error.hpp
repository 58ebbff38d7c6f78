// The one result type of BR2K and its typed errors.
//
// Every public call that can fail returns Result<T>: a value, or an Error naming what happened (an
// Errc) plus a human-readable detail (which endpoint, what the server said). Codecs and network
// calls never throw on bad input; exceptions are reserved for programming errors and for invalid
// start-up configuration.
//
// Thread-safety: plain values; the error category is immutable and shared.
#pragma once

#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>
#include <ostream>
#include <string>
#include <type_traits>

namespace br2k {

// What went wrong. The values are stable and may be logged or sent over the wire.
enum class Errc {
  kOk = 0,
  // No server could be asked (all endpoints down, connection refused). Nothing was applied.
  kUnavailable = 1,
  // The call's deadline passed. For a call that changes state, the outcome is unknown.
  kDeadlineExceeded = 2,
  // The request may or may not have been applied (the connection broke after it was sent).
  kOutcomeUnknown = 3,
  // A transaction's compare did not hold; nothing in it was applied.
  kCompareFailed = 4,
  // The requested revision has been compacted away; carries the compact revision in the detail.
  kCompacted = 5,
  // Authentication failed (bad user or password, invalid token, TLS identity refused).
  kAuthFailed = 6,
  // Authenticated, but not allowed to do this.
  kPermissionDenied = 7,
  // The server's reply could not be parsed (malformed, truncated, wrong types).
  kMalformedReply = 8,
  // The caller's arguments were refused, locally or by the server.
  kInvalidArgument = 9,
  // The named thing (a lease, a key) does not exist.
  kNotFound = 10,
  // The call was cancelled by its owner.
  kCancelled = 11,
  // The server reported an error that fits none of the above.
  kServerError = 12,
  // A request or reply exceeded a configured size limit.
  kTooLarge = 13,
  // A chain node executed the call or transaction and it reverted; the detail is the decoded
  // reason ("StaleEpoch(id=0x.., given=3, current=5)", "Error(\"text\")"); see
  // br2k::chain::revert_name.
  kReverted = 14,
};

const boost::system::error_category& br2k_category() noexcept;

inline boost::system::error_code make_error_code(Errc e) noexcept {
  return {static_cast<int>(e), br2k_category()};
}

// An error: a code to branch on and a detail for people. Either may be from another category
// (an Asio or OpenSSL error), but BR2K's public calls translate into Errc before returning.
struct Error {
  boost::system::error_code code = make_error_code(Errc::kOk);  // so Error().is(Errc::kOk)
  std::string detail;

  Error() = default;
  Error(boost::system::error_code c, std::string d = {}) : code(c), detail(std::move(d)) {}
  Error(Errc c, std::string d = {}) : code(make_error_code(c)), detail(std::move(d)) {}

  bool is(Errc c) const noexcept { return code == make_error_code(c); }
  // "unavailable: connect 127.0.0.1:2379: Connection refused"
  std::string message() const;
};

std::ostream& operator<<(std::ostream& os, const Error& e);

// Used by Result<T>::value() on an error: throws boost::system::system_error with the detail.
[[noreturn]] void throw_exception_from_error(const Error& e, const boost::source_location& loc);

template <class T>
using Result = boost::system::result<T, Error>;

}  // namespace br2k

namespace boost::system {
template <>
struct is_error_code_enum<br2k::Errc> : std::true_type {};
}  // namespace boost::system
