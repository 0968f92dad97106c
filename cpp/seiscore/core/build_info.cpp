#include "seiscore/core/build_info.hpp"

#include "seiscore/core/parallel.hpp"

#ifndef SEISCORE_VERSION_STRING
#define SEISCORE_VERSION_STRING "unknown"
#endif

namespace seiscore {

BuildInfo build_info() {
  BuildInfo info;
  info.version = SEISCORE_VERSION_STRING;
#if defined(__clang__)
  info.compiler = "Clang " __clang_version__;
#elif defined(__GNUC__)
  info.compiler = "GCC " __VERSION__;
#elif defined(_MSC_VER)
  info.compiler = "MSVC " + std::to_string(_MSC_VER);
#else
  info.compiler = "unknown";
#endif
#if defined(NDEBUG)
  info.build_type = "optimised";
#else
  info.build_type = "debug";
#endif
#if defined(SEISCORE_HAVE_OPENMP) && defined(_OPENMP)
  info.openmp = true;
  info.openmp_version = _OPENMP;
#endif
#if defined(SEISCORE_HAVE_CUDA)
  info.cuda_built = true;
#endif
  info.max_threads = default_workers();
  return info;
}

}  // namespace seiscore
