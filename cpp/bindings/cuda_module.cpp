// bindings/cuda_module.cpp — the seiscore._cuda extension (built only with CUDA). Importing it
// never needs a GPU; functions that need one raise seiscore._cuda.CudaError.
#include "common.hpp"
#include "seiscore_cuda/device.hpp"

#ifndef SEISCORE_VERSION_INFO
#define SEISCORE_VERSION_INFO "unknown"
#endif

namespace seiscore::bindings {
void bind_cuda_traveltime(pybind11::module_& m);
void bind_cuda_correlation(pybind11::module_& m);
void bind_cuda_location(pybind11::module_& m);
}  // namespace seiscore::bindings

PYBIND11_MODULE(_cuda, m) {
  namespace py = pybind11;
  namespace sc = seiscore::cuda;
  m.doc() = "seiscore's CUDA kernels (use the seiscore package, not this module)";
  m.attr("__version__") = SEISCORE_VERSION_INFO;
  py::register_exception<sc::CudaError>(m, "CudaError", PyExc_RuntimeError);

  m.def("device_count", &sc::device_count, "Number of usable CUDA devices (0 without driver or device).");
  m.def("runtime_version", &sc::runtime_version, "CUDA runtime version built in, e.g. 13000.");
  m.def("driver_version", &sc::driver_version, "CUDA version of the installed driver, 0 without one.");
  m.def(
      "device_properties",
      [](int index) {
        const sc::DeviceProperties p = sc::device_properties(index);
        py::dict d;
        d["index"] = p.index;
        d["name"] = p.name;
        d["compute_capability"] = py::make_tuple(p.major, p.minor);
        d["total_memory"] = p.total_memory;
        d["multiprocessors"] = p.multiprocessors;
        d["memory_bus_width"] = p.memory_bus_width;
        return d;
      },
      py::arg("index") = 0, "Name, compute capability, memory (bytes) and SM count of a device.");
  // stage twins, in pipeline order
  seiscore::bindings::bind_cuda_traveltime(m);
  seiscore::bindings::bind_cuda_correlation(m);
  seiscore::bindings::bind_cuda_location(m);
}
