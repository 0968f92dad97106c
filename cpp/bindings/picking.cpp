// bindings/picking.cpp — seiscore._core.picking: convert, validate, release the GIL, call.
#include "seiscore/picking/peaks.hpp"

#include "common.hpp"

namespace seiscore::bindings {

namespace {

picking::SeriesLayout layout_of(const py::array& prob) {
  require_dtype<float>(prob, "prob");
  require_ndim(prob, 3, "prob", "[n_traces, n_phases, n_samples]");
  picking::SeriesLayout L;
  L.n_traces = prob.shape(0);
  L.n_phases = prob.shape(1);
  L.n_samples = prob.shape(2);
  L.trace_stride = element_stride<float>(prob, 0, "prob");
  L.phase_stride = element_stride<float>(prob, 1, "prob");
  L.sample_stride = element_stride<float>(prob, 2, "prob");
  return L;
}

py::dict to_dict(picking::PickColumns&& c) {
  py::dict d;
  d["trace"] = to_numpy(std::move(c.trace));
  d["phase"] = to_numpy(std::move(c.phase));
  d["index"] = to_numpy(std::move(c.index));
  d["position"] = to_numpy(std::move(c.position));
  d["value"] = to_numpy(std::move(c.value));
  d["start"] = to_numpy(std::move(c.start));
  d["end"] = to_numpy(std::move(c.end));
  return d;
}

}  // namespace

void bind_picking(py::module_& parent) {
  auto m = parent.def_submodule("picking", "Pick extraction from phase-probability traces");

  m.def(
      "find_peaks",
      [](const py::array& prob, const py::array& height, const py::array& distance, int workers) {
        const auto L = layout_of(prob);
        const float* h = vector_arg<float>(height, L.n_phases, "height");
        const std::int64_t* d = vector_arg<std::int64_t>(distance, L.n_phases, "distance");
        const float* p = static_cast<const float*>(prob.data());
        picking::PickColumns cols;
        {
          py::gil_scoped_release release;
          cols = picking::find_peaks(p, L, h, d, workers);
        }
        return to_dict(std::move(cols));
      },
      py::arg("prob"), py::arg("height"), py::arg("distance"), py::arg("workers") = 0,
      "Peaks above height[phase] at least distance[phase] samples apart (scipy.signal.find_peaks rules).");

  m.def(
      "find_triggers",
      [](const py::array& prob, const py::array& on, const py::array& off, int workers) {
        const auto L = layout_of(prob);
        const float* pon = vector_arg<float>(on, L.n_phases, "on");
        const float* poff = vector_arg<float>(off, L.n_phases, "off");
        const float* p = static_cast<const float*>(prob.data());
        picking::PickColumns cols;
        {
          py::gil_scoped_release release;
          cols = picking::find_triggers(p, L, pon, poff, workers);
        }
        return to_dict(std::move(cols));
      },
      py::arg("prob"), py::arg("on"), py::arg("off"), py::arg("workers") = 0,
      "One pick per hysteresis-trigger segment (on/off thresholds), at the segment maximum.");
}

}  // namespace seiscore::bindings
