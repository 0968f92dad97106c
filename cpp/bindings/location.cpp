// bindings/location.cpp — seiscore._core.location: convert, validate, release the GIL, call.
#include <string>
#include <vector>

#include "common.hpp"
#include "seiscore/location/migrate.hpp"

namespace seiscore::bindings {

namespace {

location::Stacking stacking_of(const std::string& s) {
  if (s == "mean") return location::Stacking::Mean;
  if (s == "geometric") return location::Stacking::GeometricMean;
  throw py::value_error("stacking: expected 'mean' or 'geometric', got '" + s + "'");
}

// onsets [n_st, n_ph, n_samples] f32, tt [n_nodes, n_st, n_ph] i32, active [n_st, n_ph] u8 or None.
location::MigrateProblem problem_of(const py::array& onsets, const py::array& tt, const py::object& active,
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

}  // namespace

void bind_location(py::module_& parent) {
  auto m = parent.def_submodule("location", "Migration (coalescence) kernels for detection and location");

  m.def(
      "migrate_max",
      [](const py::array& onsets, const py::array& tt, const py::object& active, std::int64_t first,
         std::int64_t n_out, const std::string& stacking, int workers) {
        const auto p = problem_of(onsets, tt, active, first, n_out, stacking);
        if (n_out < 0) throw py::value_error("n_out must be >= 0");
        py::array_t<float> max_coa(n_out), norm_coa(n_out);
        py::array_t<std::int64_t> max_node(n_out);
        float* a = max_coa.mutable_data();
        float* b = norm_coa.mutable_data();
        std::int64_t* c = max_node.mutable_data();
        {
          py::gil_scoped_release release;
          location::migrate_max(p, a, b, c, workers);
        }
        py::dict d;
        d["max_coa"] = max_coa;
        d["norm_coa"] = norm_coa;
        d["max_node"] = max_node;
        return d;
      },
      py::arg("onsets"), py::arg("tt"), py::arg("active"), py::arg("first"), py::arg("n_out"),
      py::arg("stacking") = "mean", py::arg("workers") = 0,
      "Per output sample: maximum and normalised maximum coalescence over nodes, and its node (fused).");

  m.def(
      "migrate_map",
      [](const py::array& onsets, const py::array& tt, const py::object& active, std::int64_t first,
         std::int64_t n_out, const std::string& stacking, int workers) {
        const auto p = problem_of(onsets, tt, active, first, n_out, stacking);
        if (n_out < 0) throw py::value_error("n_out must be >= 0");
        py::array_t<float> out({static_cast<py::ssize_t>(n_out), static_cast<py::ssize_t>(p.n_nodes)});
        float* o = out.mutable_data();
        {
          py::gil_scoped_release release;
          location::migrate_map(p, o, workers);
        }
        return out;
      },
      py::arg("onsets"), py::arg("tt"), py::arg("active"), py::arg("first"), py::arg("n_out"),
      py::arg("stacking") = "mean", py::arg("workers") = 0,
      "Coalescence [n_out, n_nodes] for origin-time samples first .. first + n_out - 1.");
}

}  // namespace seiscore::bindings
