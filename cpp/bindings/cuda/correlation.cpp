// bindings/cuda/correlation.cpp — seiscore._cuda.correlation: the CUDA twins of
// seiscore._core.correlation.condition_spectra and cross_spectra (same arguments plus `device`,
// same outputs). FFTs stay on the CPU (no cuFFT in this toolkit); see correlation_spectra.hpp.
#include <pybind11/complex.h>

#include <complex>
#include <string>

#include "../common.hpp"
#include "seiscore/correlation/spectra.hpp"
#include "seiscore_cuda/correlation_spectra.hpp"

namespace seiscore::bindings {

namespace {

using cfloat = std::complex<float>;

// dtype by equivalence (arrays that went through pickle have equal, not identical, dtypes)
template <class T>
void require_type(const py::array& a, const char* name) {
  if (!py::isinstance<py::array_t<T, 0>>(a)) {
    throw py::value_error(std::string(name) + ": expected dtype " + std::string(py::str(py::dtype::of<T>())) +
                          ", got " + std::string(py::str(a.dtype())));
  }
}

template <class T>
const T* vector_of(const py::array& a, py::ssize_t n, const char* name) {
  require_type<T>(a, name);
  if (a.ndim() != 1 || a.shape(0) != n) {
    throw py::value_error(std::string(name) + ": expected a 1-D array of length " + std::to_string(n));
  }
  if (!(a.flags() & py::array::c_style)) throw py::value_error(std::string(name) + ": must be contiguous");
  return static_cast<const T*>(a.data());
}

std::int64_t spectra_rows(const py::array& a, bool writable) {
  require_type<cfloat>(a, "spec");
  require_ndim(a, 2, "spec", "[n_rows, nfreq]");
  if (writable && !a.writeable()) throw py::value_error("spec: array is read-only");
  if (a.shape(0) == 0 || a.shape(1) == 0) return a.shape(1);  // empty: NumPy reports zero strides
  if (a.shape(1) > 1 && a.strides(1) != static_cast<py::ssize_t>(sizeof(cfloat)))
    throw py::value_error("spec: bins within a row must be contiguous; pass np.ascontiguousarray(...)");
  const std::int64_t stride = a.shape(0) > 1 ? element_stride<cfloat>(a, 0, "spec") : a.shape(1);
  if (a.shape(0) > 1 && stride < a.shape(1)) throw py::value_error("spec: rows overlap");
  return stride;
}

template <class T>
const T* optional_vector(const py::object& o, py::ssize_t n, const char* name) {
  if (o.is_none()) return nullptr;
  return vector_of<T>(o.cast<py::array>(), n, name);
}

}  // namespace

void bind_cuda_correlation(py::module_& parent) {
  auto m = parent.def_submodule("correlation", "CUDA whitening and cross-spectra (FFTs on the CPU)");

  m.def(
      "condition_spectra",
      [](py::array spec, std::int64_t nfft, double df, bool whiten, const py::array& band, std::int64_t smooth_bins,
         const py::object& shift, int device) {
        const std::int64_t stride = spectra_rows(spec, true);
        const std::int64_t n_rows = spec.shape(0), nfreq = spec.shape(1);
        correlation::SpectralParams p;
        p.nfft = nfft;
        p.df = df;
        p.whiten = whiten;
        const double* b = vector_of<double>(band, 4, "band");
        for (int i = 0; i < 4; ++i) p.band[i] = b[i];
        p.smooth_bins = smooth_bins;
        correlation::check_spectral_params(p, nfreq);
        const double* sh = optional_vector<double>(shift, n_rows, "shift");
        py::array_t<double> energy(n_rows);
        float* sp = reinterpret_cast<float*>(spec.mutable_data());
        double* ep = energy.mutable_data();
        {
          py::gil_scoped_release release;
          cuda::correlation_condition_spectra(sp, n_rows, nfreq, stride, nfft, df, whiten, p.band, smooth_bins, sh, ep,
                                              device);
        }
        return energy;
      },
      py::arg("spec"), py::kw_only(), py::arg("nfft"), py::arg("df"), py::arg("whiten"), py::arg("band"),
      py::arg("smooth_bins"), py::arg("shift") = py::none(), py::arg("device") = 0,
      "CUDA twin of _core.correlation.condition_spectra.");

  m.def(
      "cross_spectra",
      [](const py::array& spec, const py::array& row_a, const py::array& row_b, const py::object& weight,
         const py::object& out_index, std::int64_t n_out, int device) {
        const std::int64_t stride = spectra_rows(spec, false);
        const std::int64_t n_rows = spec.shape(0), nfreq = spec.shape(1);
        require_ndim(row_a, 1, "row_a", "[n_terms]");
        const py::ssize_t n_terms = row_a.shape(0);
        const std::int64_t* a = vector_of<std::int64_t>(row_a, n_terms, "row_a");
        const std::int64_t* b = vector_of<std::int64_t>(row_b, n_terms, "row_b");
        const float* w = optional_vector<float>(weight, n_terms, "weight");
        const std::int64_t* oi = optional_vector<std::int64_t>(out_index, n_terms, "out_index");
        if (oi == nullptr && n_out < 0) n_out = n_terms;
        if (oi == nullptr && n_out != n_terms) throw py::value_error("n_out: must equal the number of terms without out_index");
        if (n_out < 0) throw py::value_error("n_out: must be >= 0 with out_index");
        correlation::check_terms(n_rows, a, b, w, oi, n_terms, n_out);
        py::array_t<cfloat> out({static_cast<py::ssize_t>(n_out), static_cast<py::ssize_t>(nfreq)});
        const float* sp = reinterpret_cast<const float*>(spec.data());
        float* op = reinterpret_cast<float*>(out.mutable_data());
        {
          py::gil_scoped_release release;
          cuda::correlation_cross_spectra(sp, n_rows, nfreq, stride, a, b, w, oi, n_terms, op, n_out, device);
        }
        return out;
      },
      py::arg("spec"), py::arg("row_a"), py::arg("row_b"), py::arg("weight") = py::none(),
      py::arg("out_index") = py::none(), py::arg("n_out") = -1, py::arg("device") = 0,
      "CUDA twin of _core.correlation.cross_spectra.");
}

}  // namespace seiscore::bindings
