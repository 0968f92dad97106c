// bindings/traveltime.cpp — seiscore._core.traveltime: convert, validate, release the GIL, call.
#include <array>
#include <vector>

#include <pybind11/stl.h>
#include <string>

#include "common.hpp"
#include "seiscore/traveltime/grid.hpp"
#include "seiscore/traveltime/table.hpp"

namespace seiscore::bindings {

namespace {

// A C-contiguous array of exactly dtype T and ndim dimensions.
template <class T>
const T* contiguous(const py::array& a, py::ssize_t ndim, const char* name, const char* shape) {
  require_dtype<T>(a, name);
  require_ndim(a, ndim, name, shape);
  if (!(a.flags() & py::array::c_style)) {
    throw py::value_error(std::string(name) + ": must be C-contiguous (np.ascontiguousarray)");
  }
  return static_cast<const T*>(a.data());
}

traveltime::Table2D table_of(const py::array& table, const std::array<double, 4>& axes, const char* name) {
  traveltime::Table2D T;
  T.t = contiguous<float>(table, 2, name, "[n_depth, n_distance]");
  T.n_depth = table.shape(0);
  T.n_distance = table.shape(1);
  T.depth0_km = axes[0];
  T.depth_step_km = axes[1];
  T.distance0_km = axes[2];
  T.distance_step_km = axes[3];
  return T;
}

}  // namespace

void bind_traveltime(py::module_& parent) {
  auto m = parent.def_submodule("traveltime", "Travel-time tables: layered ray tracing and interpolation");

  m.def(
      "first_arrivals",
      [](const py::array& node_depth, const py::array& node_velocity, const py::array& source_depth,
         const py::array& distance, double earth_radius_km, double max_sublayer_km, double rel_velocity_step,
         int workers) {
        const double* nd = contiguous<double>(node_depth, 1, "node_depth", "[n_nodes]");
        const double* nv = vector_arg<double>(node_velocity, node_depth.shape(0), "node_velocity");
        const double* zs = contiguous<double>(source_depth, 1, "source_depth", "[n_depth]");
        const double* x = contiguous<double>(distance, 1, "distance", "[n_distance]");
        const py::ssize_t nz = source_depth.shape(0), nx = distance.shape(0);
        py::array_t<float> out({nz, nx});
        float* o = out.mutable_data();
        traveltime::TableOptions opt;
        opt.earth_radius_km = earth_radius_km;
        opt.max_sublayer_km = max_sublayer_km;
        opt.rel_velocity_step = rel_velocity_step;
        const std::int64_t nn = node_depth.shape(0);
        {
          py::gil_scoped_release release;
          traveltime::first_arrivals(nd, nv, nn, zs, nz, x, nx, opt, o, workers);
        }
        return out;
      },
      py::arg("node_depth"), py::arg("node_velocity"), py::arg("source_depth"), py::arg("distance"),
      py::arg("earth_radius_km") = 6371.0, py::arg("max_sublayer_km") = 0.5, py::arg("rel_velocity_step") = 0.002,
      py::arg("workers") = 0, "First-arrival times [n_depth, n_distance] (float32 s) in a 1-D velocity profile.");

  m.def(
      "interpolate",
      [](const py::array& table, const std::array<double, 4>& axes, const py::array& distance,
         const py::array& depth, int workers) {
        const auto T = table_of(table, axes, "table");
        const double* x = contiguous<double>(distance, 1, "distance", "[n]");
        const double* z = vector_arg<double>(depth, distance.shape(0), "depth");
        const py::ssize_t n = distance.shape(0);
        py::array_t<double> out(n);
        double* o = out.mutable_data();
        {
          py::gil_scoped_release release;
          traveltime::interpolate(T, x, z, n, o, workers);
        }
        return out;
      },
      py::arg("table"), py::arg("axes"), py::arg("distance"), py::arg("depth"), py::arg("workers") = 0,
      "Bilinear values of a table (axes = depth0, depth_step, distance0, distance_step) at points; NaN outside.");

  m.def(
      "elevation_table",
      [](const py::array& table, const std::array<double, 4>& axes, double v0, double elev_km, int workers) {
        const auto T = table_of(table, axes, "table");
        py::array_t<float> out({T.n_depth, T.n_distance});
        float* o = out.mutable_data();
        {
          py::gil_scoped_release release;
          traveltime::elevation_table(T, v0, elev_km, o, workers);
        }
        return out;
      },
      py::arg("table"), py::arg("axes"), py::arg("v0"), py::arg("elev_km"), py::arg("workers") = 0,
      "The table for a receiver elev_km above the datum (Fermat correction through velocity v0).");

  m.def(
      "station_grids",
      [](const py::array& tables, const std::array<double, 4>& axes, const py::array& station_xy,
         const std::array<double, 3>& origin, const std::array<double, 3>& spacing,
         const std::array<std::int64_t, 3>& shape, double sampling_rate, int workers) {
        const float* t = contiguous<float>(tables, 4, "tables", "[n_stations, n_phases, n_depth, n_distance]");
        const std::int64_t n_st = tables.shape(0), n_ph = tables.shape(1);
        const std::int64_t nz = tables.shape(2), nx = tables.shape(3);
        const double* xy = contiguous<double>(station_xy, 2, "station_xy", "[n_stations, 2]");
        if (station_xy.shape(0) != n_st || station_xy.shape(1) != 2) {
          throw py::value_error("station_xy: expected shape [" + std::to_string(n_st) + ", 2]");
        }
        std::vector<traveltime::Table2D> tabs(static_cast<std::size_t>(n_st * n_ph));
        for (std::int64_t k = 0; k < n_st * n_ph; ++k) {
          auto& T = tabs[static_cast<std::size_t>(k)];
          T.t = t + k * nz * nx;
          T.n_depth = nz;
          T.n_distance = nx;
          T.depth0_km = axes[0];
          T.depth_step_km = axes[1];
          T.distance0_km = axes[2];
          T.distance_step_km = axes[3];
        }
        traveltime::GridSpec g;
        for (int a = 0; a < 3; ++a) {
          g.origin_km[a] = origin[a];
          g.spacing_km[a] = spacing[a];
          g.shape[a] = shape[a];
        }
        traveltime::check_grid(g, n_st * n_ph);  // before anything is allocated
        const std::int64_t n_nodes = g.n_nodes();
        const std::vector<py::ssize_t> dims{n_nodes, n_st, n_ph};
        if (sampling_rate > 0) {
          py::array_t<std::int32_t> out(dims);
          std::int32_t* o = out.mutable_data();
          {
            py::gil_scoped_release release;
            traveltime::station_grids(tabs.data(), n_st, n_ph, xy, g, sampling_rate, nullptr, o, workers);
          }
          return py::array(out);
        }
        py::array_t<float> out(dims);
        float* o = out.mutable_data();
        {
          py::gil_scoped_release release;
          traveltime::station_grids(tabs.data(), n_st, n_ph, xy, g, 0.0, o, nullptr, workers);
        }
        return py::array(out);
      },
      py::arg("tables"), py::arg("axes"), py::arg("station_xy"), py::arg("origin"), py::arg("spacing"),
      py::arg("shape"), py::arg("sampling_rate") = 0.0, py::arg("workers") = 0,
      "Travel times [n_nodes, n_stations, n_phases] from corrected tables: float32 s, or int32 samples "
      "when sampling_rate > 0 (INT32_MIN where undefined).");
}

}  // namespace seiscore::bindings
