// bindings/location_args.hpp — the one check of the migration arguments, shared by the CPU
// (seiscore._core.location) and CUDA (seiscore._cuda.location) bindings, which take the same
// arrays.
#pragma once

#include <string>

#include "common.hpp"
#include "seiscore/location/migrate.hpp"

namespace seiscore::bindings {

inline location::Stacking stacking_of(const std::string& s) {
  if (s == "mean") return location::Stacking::Mean;
  if (s == "geometric") return location::Stacking::GeometricMean;
  throw py::value_error("stacking: expected 'mean' or 'geometric', got '" + s + "'");
}

// onsets [n_st, n_ph, n_samples] f32, tt [n_nodes, n_st, n_ph] i32, active [n_st, n_ph] u8 or None.
inline location::MigrateProblem problem_of(const py::array& onsets, const py::array& tt, const py::object& active,
                                    std::int64_t first, std::int64_t n_out, const std::string& stacking) {
  require_dtype<float>(onsets, "onsets");
  require_ndim(onsets, 3, "onsets", "[n_stations, n_phases, n_samples]");
  require_dtype<std::int32_t>(tt, "tt");
  require_ndim(tt, 3, "tt", "[n_nodes, n_stations, n_phases]");
  if (!(onsets.flags() & py::array::c_style)) throw py::value_error("onsets: must be C-contiguous");
  if (!(tt.flags() & py::array::c_style)) throw py::value_error("tt: must be C-contiguous");
  if (tt.shape(1) != onsets.shape(0) || tt.shape(2) != onsets.shape(1)) {
    throw py::value_error("tt: stations x phases " + std::to_string(tt.shape(1)) + " x " +
                          std::to_string(tt.shape(2)) + " do not match the onsets' " +
                          std::to_string(onsets.shape(0)) + " x " + std::to_string(onsets.shape(1)));
  }
  location::MigrateProblem p;
  p.onsets = static_cast<const float*>(onsets.data());
  p.n_rows = onsets.shape(0) * onsets.shape(1);
  p.n_samples = onsets.shape(2);
  p.tt = static_cast<const std::int32_t*>(tt.data());
  p.n_nodes = tt.shape(0);
  p.first = first;
  p.n_out = n_out;
  p.stacking = stacking_of(stacking);
  if (!active.is_none()) {
    if (!py::isinstance<py::array>(active)) {
      throw py::type_error("active: expected None or a uint8 array [n_stations, n_phases], got " +
                           std::string(py::str(py::type::of(active).attr("__name__"))));
    }
    const py::array a = py::reinterpret_borrow<py::array>(active);
    require_dtype<std::uint8_t>(a, "active");
    if (a.ndim() != 2 || a.shape(0) != onsets.shape(0) || a.shape(1) != onsets.shape(1) ||
        !(a.flags() & py::array::c_style)) {
      throw py::value_error("active: expected a C-contiguous uint8 array [n_stations, n_phases]");
    }
    p.active = static_cast<const std::uint8_t*>(a.data());
  }
  return p;
}

}  // namespace seiscore::bindings
