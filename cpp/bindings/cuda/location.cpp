// bindings/cuda/location.cpp — seiscore._cuda.location: CUDA twins of seiscore._core.location
// (same arguments, same outputs), validated by the same code as the CPU binding.
#include <string>

#include "../location_args.hpp"
#include "seiscore_cuda/location_migrate.hpp"

namespace seiscore::bindings {

namespace {

// The CPU binding's checks (problem_of, check_problem), then the same problem for the device.
cuda::MigrateArgs args_of(const py::array& onsets, const py::array& tt, const py::object& active, std::int64_t first,
                          std::int64_t n_out, const std::string& stacking) {
  const location::MigrateProblem p = problem_of(onsets, tt, active, first, n_out, stacking);
  if (n_out < 0) throw py::value_error("n_out must be >= 0");
  location::check_problem(p, 0);
  cuda::MigrateArgs a;
  a.onsets = p.onsets;
  a.n_rows = p.n_rows;
  a.n_samples = p.n_samples;
  a.tt = p.tt;
  a.n_nodes = p.n_nodes;
  a.active = p.active;
  a.first = p.first;
  a.n_out = p.n_out;
  a.stacking = p.stacking == location::Stacking::GeometricMean ? 1 : 0;
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
