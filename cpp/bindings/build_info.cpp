// bindings/build_info.cpp — seiscore._core.build_info() -> dict
#include "seiscore/core/build_info.hpp"

#include "common.hpp"

namespace seiscore::bindings {

void bind_build_info(py::module_& m) {
  m.def(
      "build_info",
      [] {
        const BuildInfo b = build_info();
        py::dict d;
        d["version"] = b.version;
        d["compiler"] = b.compiler;
        d["build_type"] = b.build_type;
        d["openmp"] = b.openmp;
        d["openmp_version"] = b.openmp_version;
        d["cuda_built"] = b.cuda_built;
        d["max_threads"] = b.max_threads;
        return d;
      },
      "Compile-time facts about the C++ core.");
}

}  // namespace seiscore::bindings
