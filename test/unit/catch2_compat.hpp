// The unit tests run on Debian 12's Catch2 2.13 and Debian 13's Catch2 3.x from one tree. Catch2 3
// split the single header, moved the runner into Catch2::Catch2WithMain (we keep our own main),
// and renamed the substring matcher (Catch2 3's Contains matches a range's element). Tests include
// this header and say HasSubstring; test/CMakeLists.txt sets NDPSYNC_CATCH2_MAJOR.
#pragma once

#include <string>

#if NDPSYNC_CATCH2_MAJOR >= 3
#include <catch2/catch_all.hpp>
#else
#include <catch2/catch.hpp>
#endif

namespace ndpsync::testing {

inline auto HasSubstring(const std::string& text) {
#if NDPSYNC_CATCH2_MAJOR >= 3
  return Catch::Matchers::ContainsSubstring(text);
#else
  return Catch::Matchers::Contains(text);
#endif
}

}  // namespace ndpsync::testing
