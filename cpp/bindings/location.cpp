// bindings/location.cpp — seiscore._core.location: convert, validate, release the GIL, call.
#include <string>
#include <vector>

#include "location_args.hpp"

namespace seiscore::bindings {

void bind_location(py::module_& parent) {
  auto m = parent.def_submodule("location", "Migration (coalescence) kernels for detection and location");

  m.def(
      "migrate_max",
      [](const py::array& onsets, const py::array& tt, const py::object& active, std::int64_t first,
         std::int64_t n_out, const std::string& stacking, int workers) {
        const auto p = problem_of(onsets, tt, active, first, n_out, stacking);
        if (n_out < 0) throw py::value_error("n_out must be >= 0");
        location::check_problem(p, workers);  // refuse before allocating the outputs
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
        location::check_problem(p, workers);  // refuse before allocating the output
        if (n_out > 0 && p.n_nodes > (std::int64_t{1} << 40) / n_out) {
          throw py::value_error("migrate_map: " + std::to_string(n_out) + " x " + std::to_string(p.n_nodes) +
                                " coalescence values is too large to return; ask for fewer samples");
        }
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
