// seiscore/core/build_info.hpp — compile-time facts about this build, for build_info().
#pragma once

#include <string>

namespace seiscore {

struct BuildInfo {
  std::string version;        // package version the kernels were built for
  std::string compiler;       // e.g. "GCC 12.2.0"
  std::string build_type;     // "optimised" or "debug" (NDEBUG)
  bool openmp = false;        // kernels threaded with OpenMP (else std::thread)
  int openmp_version = 0;     // _OPENMP date, 0 without OpenMP
  bool cuda_built = false;    // the CUDA extension was compiled in this build
  int max_threads = 1;        // threads a kernel uses by default
};

BuildInfo build_info();

}  // namespace seiscore
