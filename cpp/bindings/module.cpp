// bindings/module.cpp — the seiscore._core extension: registers every stage's bindings, in
// pipeline order (picking → traveltime → association → location → correlation), so that the
// submodules appear in the order a reader meets them in the docs.
#include "common.hpp"

#ifndef SEISCORE_VERSION_INFO
#define SEISCORE_VERSION_INFO "unknown"
#endif

namespace seiscore::bindings {
void bind_build_info(py::module_& m);
void bind_picking(py::module_& m);
void bind_correlation(py::module_& m);
void bind_traveltime(py::module_& m);
void bind_association(py::module_& m);
void bind_location(py::module_& m);
}  // namespace seiscore::bindings

PYBIND11_MODULE(_core, m) {
  m.doc() = "seiscore's compiled C++ core (kernels; use the seiscore package, not this module)";
  m.attr("__version__") = SEISCORE_VERSION_INFO;
  // seiscore::InvalidArgument derives from std::invalid_argument → ValueError (pybind11 default).
  seiscore::bindings::bind_build_info(m);
  seiscore::bindings::bind_picking(m);
  seiscore::bindings::bind_traveltime(m);
  seiscore::bindings::bind_association(m);
  seiscore::bindings::bind_location(m);
  seiscore::bindings::bind_correlation(m);
}
