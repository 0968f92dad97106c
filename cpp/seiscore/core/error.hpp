// seiscore/core/error.hpp — two kinds of failure, kept apart.
//
//  * SEISCORE_CHECK(cond, msg): the caller passed something invalid. Throws
//    seiscore::InvalidArgument (a std::invalid_argument), which the bindings turn into
//    Python's ValueError. Always on.
//  * SEISCORE_ASSERT(cond): an internal invariant; a failure is a bug in seiscore. Aborts with
//    file and line. Compiled in always (cheap), and what the sanitizer runs are meant to catch.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <stdexcept>
#include <string>

namespace seiscore {

class InvalidArgument : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

class BackendUnavailable : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

namespace detail {
[[noreturn]] inline void assert_fail(const char* expr, const char* file, int line) {
  std::fprintf(stderr, "seiscore internal error: assertion '%s' failed at %s:%d\n", expr, file, line);
  std::abort();
}
}  // namespace detail

}  // namespace seiscore

#define SEISCORE_CHECK(cond, msg)                              \
  do {                                                         \
    if (!(cond)) {                                             \
      std::ostringstream seiscore_check_os_;                   \
      seiscore_check_os_ << msg;                               \
      throw ::seiscore::InvalidArgument(seiscore_check_os_.str()); \
    }                                                          \
  } while (0)

#define SEISCORE_ASSERT(cond) \
  do {                        \
    if (!(cond)) ::seiscore::detail::assert_fail(#cond, __FILE__, __LINE__); \
  } while (0)
