// The result type and error category.
#include <gtest/gtest.h>

#include <boost/system/system_error.hpp>
#include <br2k/core/error.hpp>

namespace br2k {
namespace {

TEST(Error, ComparesByCodeAndCarriesDetail) {
  Error e(Errc::kCompacted, "compacted up to 42");
  EXPECT_TRUE(e.is(Errc::kCompacted));
  EXPECT_FALSE(e.is(Errc::kUnavailable));
  EXPECT_EQ(e.code, Errc::kCompacted);
  EXPECT_EQ(e.message(), "revision compacted: compacted up to 42");
  EXPECT_EQ(std::string(e.code.category().name()), "br2k");
}

TEST(Result, ValueOnErrorThrowsSystemErrorWithDetail) {
  Result<int> r = Error(Errc::kNotFound, "lease 7");
  ASSERT_FALSE(r);
  try {
    (void)r.value();
    FAIL() << "value() of an error must throw";
  } catch (const boost::system::system_error& ex) {
    EXPECT_EQ(ex.code(), Errc::kNotFound);
    EXPECT_NE(std::string(ex.what()).find("lease 7"), std::string::npos);
  }
}

TEST(Error, EveryCodeHasADistinctMessage) {
  std::set<std::string> seen;
  for (int i = 0; i <= static_cast<int>(Errc::kReverted); ++i) {
    auto m = make_error_code(static_cast<Errc>(i)).message();
    EXPECT_EQ(m.find("unknown br2k error"), std::string::npos) << i;
    EXPECT_TRUE(seen.insert(m).second) << m;
  }
}

}  // namespace
}  // namespace br2k
