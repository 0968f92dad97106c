// bindings/cuda/location.cpp — seiscore._cuda.location: CUDA twins of seiscore._core.location
// (same arguments, same outputs). The problem is validated with the CPU's check_problem.
#include <string>

#include "../common.hpp"
#include "seiscore/location/migrate.hpp"
#include "seiscore_cuda/location_migrate.hpp"

namespace seiscore::bindings {

namespace {

cuda::MigrateArgs args_of(const py::array& onsets, const py::array& tt, const py::object& active, std::int64_t first,
                          std::int64_t n_out, const std::string& stacking) {
  require_dtype<float>(onsets, "onsets");
  require_ndim(onsets, 3, "onsets", "[n_stations, n_phases, n_samples]");
  require_dtype<std::int32_t>(tt, "tt");
  require_ndim(tt, 3, "tt", "[n_nodes, n_stations, n_phases]");
  if (!(onsets.flags() & py::array::c_style) || !(tt.flags() & py::array::c_style))
    throw py::value_error("onsets and tt must be C-contiguous");
  if (tt.shape(1) != onsets.shape(0) || tt.shape(2) != onsets.shape(1))
    throw py::value_error("tt: stations x phases do not match the onsets");
  if (stacking != "mean" && stacking != "geometric")
    throw py::value_error("stacking: expected 'mean' or 'geometric', got '" + stacking + "'");
  cuda::MigrateArgs a;
  a.onsets = static_cast<const float*>(onsets.data());
  a.n_rows = onsets.shape(0) * onsets.shape(1);
  a.n_samples = onsets.shape(2);
  a.tt = static_cast<const std::int32_t*>(tt.data());
  a.n_nodes = tt.shape(0);
  a.first = first;
  a.n_out = n_out;
  a.stacking = stacking == "geometric" ? 1 : 0;
  if (!active.is_none()) {
    const py::array ac = py::reinterpret_borrow<py::array>(active);
    require_dtype<std::uint8_t>(ac, "active");
    if (ac.ndim() != 2 || ac.shape(0) != onsets.shape(0) || ac.shape(1) != onsets.shape(1) ||
        !(ac.flags() & py::array::c_style))
      throw py::value_error("active: expected a C-contiguous uint8 array [n_stations, n_phases]");
    a.active = static_cast<const std::uint8_t*>(ac.data());
  }
  if (n_out < 0) throw py::value_error("n_out must be >= 0");
  location::MigrateProblem p;
  p.onsets = a.onsets;
  p.n_rows = a.n_rows;
  p.n_samples = a.n_samples;
  p.tt = a.tt;
  p.n_nodes = a.n_nodes;
  p.active = a.active;
  p.first = first;
  p.n_out = n_out;
  p.stacking = a.stacking ? location::Stacking::GeometricMean : location::Stacking::Mean;
  location::check_problem(p, 0);
  return a;
}

}  // namespace

void bind_cuda_location(py::module_& parent) {
  auto m = parent.def_submodule("location", "CUDA migration (coalescence) kernels");
  m.def(
      "migrate_max",
      [](const py::array& onsets, const py::array& tt, const py::object& active, std::int64_t first,
         std::int64_t n_out, const std::string& stacking, int device) {
        const auto a = args_of(onsets, tt, active, first, n_out, stacking);
        py::array_t<float> max_coa(n_out), norm_coa(n_out);
        py::array_t<std::int64_t> max_node(n_out);
        float* x = max_coa.mutable_data();
        float* y = norm_coa.mutable_data();
        std::int64_t* z = max_node.mutable_data();
        {
          py::gil_scoped_release release;
          cuda::location_migrate_max(a, x, y, z, device);
        }
        py::dict d;
        d["max_coa"] = max_coa;
        d["norm_coa"] = norm_coa;
        d["max_node"] = max_node;
        return d;
      },
      py::arg("onsets"), py::arg("tt"), py::arg("active"), py::arg("first"), py::arg("n_out"),
      py::arg("stacking") = "mean", py::arg("device") = 0, "CUDA twin of seiscore._core.location.migrate_max.");
  m.def(
      "migrate_map",
      [](const py::array& onsets, const py::array& tt, const py::object& active, std::int64_t first,
         std::int64_t n_out, const std::string& stacking, int device) {
        const auto a = args_of(onsets, tt, active, first, n_out, stacking);
        py::array_t<float> out({static_cast<py::ssize_t>(n_out), static_cast<py::ssize_t>(a.n_nodes)});
        float* o = out.mutable_data();
        {
          py::gil_scoped_release release;
          cuda::location_migrate_map(a, o, device);
        }
        return out;
      },
      py::arg("onsets"), py::arg("tt"), py::arg("active"), py::arg("first"), py::arg("n_out"),
      py::arg("stacking") = "mean", py::arg("device") = 0, "CUDA twin of seiscore._core.location.migrate_map.");
}

}  // namespace seiscore::bindings
