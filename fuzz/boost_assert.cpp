// Boost's assertion handler for the fuzz build (BOOST_ENABLE_ASSERT_HANDLER): every failed
// BOOST_ASSERT aborts, so libFuzzer records it as a crash, except one assertion of Boost 1.81's
// Beast that is itself wrong. basic_parser::parse_chunk_header asserts `n >= 5` when it resumes a
// final chunk, but 3 bytes are legal there when no CRLF is expected; the code after it answers
// need_more correctly (boostorg/beast PR #2861, "fix asserts, it's possible that we reach code only
// with 3 symbols", in Boost 1.86). The release build, which has no assertions, runs that code
// as it is; the fuzz build must too, or it stops at the first split final chunk it makes.
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace {

bool known_wrong(const char* expr, const char* file) {
  const char* tail = "basic_parser.ipp";
  const std::size_t f = std::strlen(file), t = std::strlen(tail);
  return std::strcmp(expr, "n >= 5") == 0 && f >= t && std::strcmp(file + f - t, tail) == 0;
}

}  // namespace

namespace boost {

void assertion_failed(const char* expr, const char* function, const char* file, long line) {
  if (known_wrong(expr, file))
    return;
  std::fprintf(stderr, "%s:%ld: %s: Assertion `%s' failed.\n", file, line, function, expr);
  std::abort();
}

void assertion_failed_msg(const char* expr, const char* msg, const char* function, const char* file,
                          long line) {
  if (known_wrong(expr, file))
    return;
  std::fprintf(stderr, "%s:%ld: %s: Assertion `%s' failed: %s\n", file, line, function, expr, msg);
  std::abort();
}

}  // namespace boost
