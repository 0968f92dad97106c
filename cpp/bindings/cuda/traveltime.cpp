// bindings/cuda/traveltime.cpp — seiscore._cuda.traveltime: the CUDA twin of
// seiscore._core.traveltime.station_grids (same arguments, same outputs).
#include <array>
#include <string>
#include <vector>

#include <pybind11/stl.h>

#include "../common.hpp"
#include "seiscore/traveltime/grid.hpp"
#include "seiscore_cuda/traveltime_interp.hpp"

namespace seiscore::bindings {

void bind_cuda_traveltime(py::module_& parent) {
  auto m = parent.def_submodule("traveltime", "CUDA travel-time grid interpolation");
  m.def(
      "station_grids",
      [](const py::array& tables, const std::array<double, 4>& axes, const py::array& station_xy,
         const std::array<double, 3>& origin, const std::array<double, 3>& spacing,
         const std::array<std::int64_t, 3>& shape, double sampling_rate, int device) {
        require_dtype<float>(tables, "tables");
        require_ndim(tables, 4, "tables", "[n_stations, n_phases, n_depth, n_distance]");
        require_dtype<double>(station_xy, "station_xy");
        require_ndim(station_xy, 2, "station_xy", "[n_stations, 2]");
        if (!(tables.flags() & py::array::c_style) || !(station_xy.flags() & py::array::c_style))
          throw py::value_error("tables and station_xy must be C-contiguous");
        const std::int64_t n_st = tables.shape(0), n_ph = tables.shape(1);
        if (station_xy.shape(0) != n_st || station_xy.shape(1) != 2)
          throw py::value_error("station_xy: expected shape [" + std::to_string(n_st) + ", 2]");
        traveltime::GridSpec g;  // the CPU kernel's checks, before anything is allocated
        for (int a = 0; a < 3; ++a) {
          g.origin_km[a] = origin[a];
          g.spacing_km[a] = spacing[a];
          g.shape[a] = shape[a];
        }
        traveltime::check_grid(g, n_st * n_ph);
        const std::int64_t n_nodes = g.n_nodes();
        const std::vector<py::ssize_t> dims{n_nodes, n_st, n_ph};
        const float* t = static_cast<const float*>(tables.data());
        const double* xy = static_cast<const double*>(station_xy.data());
        const std::int64_t nz = tables.shape(2), nx = tables.shape(3);
        if (sampling_rate > 0) {
          py::array_t<std::int32_t> out(dims);
          std::int32_t* o = out.mutable_data();
          {
            py::gil_scoped_release release;
            cuda::traveltime_station_grids(t, n_st, n_ph, nz, nx, axes.data(), xy, origin.data(), spacing.data(),
                                           shape.data(), sampling_rate, nullptr, o, device);
          }
          return py::array(out);
        }
        py::array_t<float> out(dims);
        float* o = out.mutable_data();
        {
          py::gil_scoped_release release;
          cuda::traveltime_station_grids(t, n_st, n_ph, nz, nx, axes.data(), xy, origin.data(), spacing.data(),
                                         shape.data(), 0.0, o, nullptr, device);
        }
        return py::array(out);
      },
      py::arg("tables"), py::arg("axes"), py::arg("station_xy"), py::arg("origin"), py::arg("spacing"),
      py::arg("shape"), py::arg("sampling_rate") = 0.0, py::arg("device") = 0,
      "CUDA twin of seiscore._core.traveltime.station_grids.");
}

}  // namespace seiscore::bindings
