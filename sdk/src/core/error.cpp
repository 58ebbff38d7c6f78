// Error category and messages for br2k::Errc.
#include <boost/system/system_error.hpp>
#include <boost/throw_exception.hpp>
#include <br2k/core/error.hpp>

namespace br2k {
namespace {

class Category final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "br2k"; }
  std::string message(int ev) const override {
    switch (static_cast<Errc>(ev)) {
      case Errc::kOk:
        return "ok";
      case Errc::kUnavailable:
        return "unavailable";
      case Errc::kDeadlineExceeded:
        return "deadline exceeded";
      case Errc::kOutcomeUnknown:
        return "outcome unknown";
      case Errc::kCompareFailed:
        return "compare failed";
      case Errc::kCompacted:
        return "revision compacted";
      case Errc::kAuthFailed:
        return "authentication failed";
      case Errc::kPermissionDenied:
        return "permission denied";
      case Errc::kMalformedReply:
        return "malformed reply";
      case Errc::kInvalidArgument:
        return "invalid argument";
      case Errc::kNotFound:
        return "not found";
      case Errc::kCancelled:
        return "cancelled";
      case Errc::kServerError:
        return "server error";
      case Errc::kTooLarge:
        return "too large";
      case Errc::kReverted:
        return "reverted";
    }
    return "unknown br2k error " + std::to_string(ev);
  }
};

}  // namespace

const boost::system::error_category& br2k_category() noexcept {
  static const Category category;
  return category;
}

std::string Error::message() const {
  std::string m = code.message();
  if (!detail.empty()) {
    m += ": ";
    m += detail;
  }
  return m;
}

std::ostream& operator<<(std::ostream& os, const Error& e) {
  return os << e.message();
}

void throw_exception_from_error(const Error& e, const boost::source_location& loc) {
  boost::throw_exception(boost::system::system_error(e.code, e.detail), loc);
}

}  // namespace br2k
