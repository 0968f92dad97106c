// bindings/correlation.cpp — seiscore._core.correlation: convert, validate, release the GIL, call.
#include <pybind11/complex.h>

#include <complex>
#include <string>

#include "common.hpp"
#include "seiscore/correlation/preprocess.hpp"
#include "seiscore/correlation/spectra.hpp"
#include "seiscore/correlation/stack.hpp"

namespace seiscore::bindings {

namespace {

namespace cc = seiscore::correlation;
using cfloat = std::complex<float>;

// A 2-D array of T whose rows are contiguous (any row stride); returns the row stride in elements.
template <class T>
std::int64_t rows_of(const py::array& a, const char* name, const char* shape, bool writable) {
  require_dtype<T>(a, name);
  require_ndim(a, 2, name, shape);
  if (writable && !a.writeable()) throw py::value_error(std::string(name) + ": array is read-only");
  if (a.shape(0) == 0 || a.shape(1) == 0) return a.shape(1);  // empty: NumPy reports zero strides
  if (a.shape(1) > 1 && a.strides(1) != static_cast<py::ssize_t>(sizeof(T))) {
    throw py::value_error(std::string(name) + ": samples within a row must be contiguous; pass np.ascontiguousarray(...)");
  }
  const std::int64_t stride = a.shape(0) > 1 ? element_stride<T>(a, 0, name) : a.shape(1);
  if (a.shape(0) > 1 && stride < a.shape(1)) throw py::value_error(std::string(name) + ": rows overlap");
  return stride;
}

template <class T>
const T* optional_vector(const py::object& o, py::ssize_t n, const char* name) {
  if (o.is_none()) return nullptr;
  return vector_arg<T>(o.cast<py::array>(), n, name);
}

py::array_t<double> new_2d_double(py::ssize_t rows, py::ssize_t cols) { return py::array_t<double>({rows, cols}); }

}  // namespace

void bind_correlation(py::module_& parent) {
  auto m = parent.def_submodule("correlation", "Ambient-noise cross-correlation kernels (preprocess, spectra, stacks)");

  m.def(
      "preprocess",
      [](py::array x, bool demean, bool detrend, double taper, const py::array& sos, bool zero_phase, int norm,
         std::int64_t ram_half_width, double clip_factor, double max_over_std, std::int64_t max_flat, int workers) {
        const std::int64_t stride = rows_of<float>(x, "x", "[n_rows, n_samples]", true);
        require_dtype<double>(sos, "sos");
        require_ndim(sos, 2, "sos", "[n_sections, 6]");
        if (sos.shape(1) != 6 || !(sos.flags() & py::array::c_style))
          throw py::value_error("sos: expected a C-contiguous [n_sections, 6] array");
        if (norm < 0 || norm > 3) throw py::value_error("norm: expected 0 (none), 1 (one-bit), 2 (running mean), 3 (clip)");
        cc::PreprocessParams p;
        p.demean = demean;
        p.detrend = detrend;
        p.taper_fraction = taper;
        p.sos = sos.shape(0) > 0 ? static_cast<const double*>(sos.data()) : nullptr;
        p.n_sections = sos.shape(0);
        p.zero_phase = zero_phase;
        p.norm = static_cast<cc::TemporalNorm>(norm);
        p.ram_half_width = ram_half_width;
        p.clip_factor = clip_factor;
        p.max_over_std = max_over_std;
        p.max_flat = max_flat;
        const std::int64_t n_rows = x.shape(0), n = x.shape(1);
        py::array_t<std::int8_t> status(n_rows);
        float* data = static_cast<float*>(x.mutable_data());
        std::int8_t* st = status.mutable_data();
        {
          py::gil_scoped_release release;
          cc::preprocess_windows(data, n_rows, n, stride, p, st, workers);
        }
        return status;
      },
      py::arg("x"), py::kw_only(), py::arg("demean"), py::arg("detrend"), py::arg("taper"), py::arg("sos"),
      py::arg("zero_phase"), py::arg("norm"), py::arg("ram_half_width"), py::arg("clip_factor"),
      py::arg("max_over_std"), py::arg("max_flat"), py::arg("workers") = 0,
      "Quality-check, detrend, taper, filter and temporally normalise window rows in place; returns status.");

  m.def(
      "decimate",
      [](const py::array& x, const py::array& h, std::int64_t factor, int workers) {
        const std::int64_t stride = rows_of<float>(x, "x", "[n_rows, n_samples]", false);
        require_dtype<double>(h, "h");
        require_ndim(h, 1, "h", "[n_taps]");
        if (!(h.flags() & py::array::c_style)) throw py::value_error("h: must be contiguous");
        if (factor < 1) throw py::value_error("factor: must be >= 1");
        const std::int64_t n_rows = x.shape(0), n = x.shape(1);
        const std::int64_t n_out = cc::decimated_length(n, factor);
        py::array_t<float> y({static_cast<py::ssize_t>(n_rows), static_cast<py::ssize_t>(n_out)});
        const float* xp = static_cast<const float*>(x.data());
        const double* hp = static_cast<const double*>(h.data());
        const std::int64_t n_taps = h.shape(0);
        float* yp = y.mutable_data();
        {
          py::gil_scoped_release release;
          cc::decimate(xp, n_rows, n, stride, hp, n_taps, factor, yp, n_out, workers);
        }
        return y;
      },
      py::arg("x"), py::arg("h"), py::arg("factor"), py::arg("workers") = 0,
      "Zero-phase FIR decimation by an integer factor; NaN gaps stay NaN.");

  m.def(
      "condition_spectra",
      [](py::array spec, std::int64_t nfft, double df, bool whiten, const py::array& band, std::int64_t smooth_bins,
         const py::object& shift, int workers) {
        const std::int64_t stride = rows_of<cfloat>(spec, "spec", "[n_rows, nfreq]", true);
        const std::int64_t n_rows = spec.shape(0), nfreq = spec.shape(1);
        cc::SpectralParams p;
        p.nfft = nfft;
        p.df = df;
        p.whiten = whiten;
        const double* b = vector_arg<double>(band, 4, "band");
        for (int i = 0; i < 4; ++i) p.band[i] = b[i];
        p.smooth_bins = smooth_bins;
        const double* sh = optional_vector<double>(shift, n_rows, "shift");
        py::array_t<double> energy(n_rows);
        float* sp = reinterpret_cast<float*>(spec.mutable_data());
        double* ep = energy.mutable_data();
        {
          py::gil_scoped_release release;
          cc::condition_spectra(sp, n_rows, nfreq, stride, p, sh, ep, workers);
        }
        return energy;
      },
      py::arg("spec"), py::kw_only(), py::arg("nfft"), py::arg("df"), py::arg("whiten"), py::arg("band"),
      py::arg("smooth_bins"), py::arg("shift") = py::none(), py::arg("workers") = 0,
      "Sub-sample shift and spectral whitening in place; returns each row's energy (Parseval).");

  m.def(
      "cross_spectra",
      [](const py::array& spec, const py::array& row_a, const py::array& row_b, const py::object& weight,
         const py::object& out_index, std::int64_t n_out, int workers) {
        const std::int64_t stride = rows_of<cfloat>(spec, "spec", "[n_rows, nfreq]", false);
        const std::int64_t n_rows = spec.shape(0), nfreq = spec.shape(1);
        require_ndim(row_a, 1, "row_a", "[n_terms]");
        const py::ssize_t n_terms = row_a.shape(0);
        const std::int64_t* a = vector_arg<std::int64_t>(row_a, n_terms, "row_a");
        const std::int64_t* b = vector_arg<std::int64_t>(row_b, n_terms, "row_b");
        const float* w = optional_vector<float>(weight, n_terms, "weight");
        const std::int64_t* oi = optional_vector<std::int64_t>(out_index, n_terms, "out_index");
        if (oi == nullptr && n_out < 0) n_out = n_terms;
        if (oi == nullptr && n_out != n_terms) throw py::value_error("n_out: must equal the number of terms without out_index");
        if (n_out < 0) throw py::value_error("n_out: must be >= 0 with out_index");
        py::array_t<cfloat> out({static_cast<py::ssize_t>(n_out), static_cast<py::ssize_t>(nfreq)});
        const float* sp = reinterpret_cast<const float*>(spec.data());
        float* op = reinterpret_cast<float*>(out.mutable_data());
        {
          py::gil_scoped_release release;
          cc::cross_spectra(sp, n_rows, nfreq, stride, a, b, w, oi, n_terms, op, n_out, workers);
        }
        return out;
      },
      py::arg("spec"), py::arg("row_a"), py::arg("row_b"), py::arg("weight") = py::none(),
      py::arg("out_index") = py::none(), py::arg("n_out") = -1, py::arg("workers") = 0,
      "Weighted cross-spectra conj(S[a]) * S[b], per term or summed per output (frequency-domain stack).");

  m.def(
      "stack_sums",
      [](const py::array& ccf, const py::object& hilbert, const py::array& offsets, int workers) {
        const std::int64_t stride = rows_of<float>(ccf, "ccf", "[n_rows, n_lag]", false);
        const std::int64_t n_rows = ccf.shape(0), n_lag = ccf.shape(1);
        require_ndim(offsets, 1, "offsets", "[n_groups + 1]");
        if (offsets.shape(0) < 1) throw py::value_error("offsets: needs at least one element");
        const py::ssize_t n_groups = offsets.shape(0) - 1;
        const std::int64_t* off = vector_arg<std::int64_t>(offsets, n_groups + 1, "offsets");
        const float* hp = nullptr;
        if (!hilbert.is_none()) {
          py::array h = hilbert.cast<py::array>();
          const std::int64_t hs = rows_of<float>(h, "hilbert", "[n_rows, n_lag]", false);
          if (h.shape(0) != n_rows || h.shape(1) != n_lag || hs != stride)
            throw py::value_error("hilbert: must have the shape and strides of ccf");
          hp = static_cast<const float*>(h.data());
        }
        auto linear = new_2d_double(n_groups, n_lag);
        py::object pre = py::none(), pim = py::none();
        double* prp = nullptr;
        double* pip = nullptr;
        if (hp != nullptr) {
          auto a = new_2d_double(n_groups, n_lag), b = new_2d_double(n_groups, n_lag);
          prp = a.mutable_data();
          pip = b.mutable_data();
          pre = a;
          pim = b;
        }
        const float* cp = static_cast<const float*>(ccf.data());
        double* lp = linear.mutable_data();
        {
          py::gil_scoped_release release;
          cc::stack_sums(cp, hp, n_rows, n_lag, stride, off, n_groups, lp, prp, pip, workers);
        }
        return py::make_tuple(linear, pre, pim);
      },
      py::arg("ccf"), py::arg("hilbert"), py::arg("offsets"), py::arg("workers") = 0,
      "Per-group sums of the rows and, given their Hilbert transforms, of their unit phasors.");

  m.def(
      "stack_robust",
      [](const py::array& ccf, const py::array& offsets, double epsilon, int max_iter, int workers) {
        const std::int64_t stride = rows_of<float>(ccf, "ccf", "[n_rows, n_lag]", false);
        const std::int64_t n_rows = ccf.shape(0), n_lag = ccf.shape(1);
        require_ndim(offsets, 1, "offsets", "[n_groups + 1]");
        if (offsets.shape(0) < 1) throw py::value_error("offsets: needs at least one element");
        const py::ssize_t n_groups = offsets.shape(0) - 1;
        const std::int64_t* off = vector_arg<std::int64_t>(offsets, n_groups + 1, "offsets");
        py::array_t<float> out({n_groups, static_cast<py::ssize_t>(n_lag)});
        py::array_t<std::int32_t> n_iter(n_groups);
        const float* cp = static_cast<const float*>(ccf.data());
        float* op = out.mutable_data();
        std::int32_t* ip = n_iter.mutable_data();
        {
          py::gil_scoped_release release;
          cc::stack_robust(cp, n_rows, n_lag, stride, off, n_groups, epsilon, max_iter, op, ip, workers);
        }
        return py::make_tuple(out, n_iter);
      },
      py::arg("ccf"), py::arg("offsets"), py::arg("epsilon"), py::arg("max_iter"), py::arg("workers") = 0,
      "Robust (iteratively re-weighted, Pavlis & Vernon 2010) stack of each group of rows.");

  m.def(
      "stack_selective",
      [](const py::array& ccf, const py::array& offsets, double threshold, int workers) {
        const std::int64_t stride = rows_of<float>(ccf, "ccf", "[n_rows, n_lag]", false);
        const std::int64_t n_rows = ccf.shape(0), n_lag = ccf.shape(1);
        require_ndim(offsets, 1, "offsets", "[n_groups + 1]");
        if (offsets.shape(0) < 1) throw py::value_error("offsets: needs at least one element");
        const py::ssize_t n_groups = offsets.shape(0) - 1;
        const std::int64_t* off = vector_arg<std::int64_t>(offsets, n_groups + 1, "offsets");
        py::array_t<float> out({n_groups, static_cast<py::ssize_t>(n_lag)});
        py::array_t<std::int32_t> n_sel(n_groups);
        const float* cp = static_cast<const float*>(ccf.data());
        float* op = out.mutable_data();
        std::int32_t* sp = n_sel.mutable_data();
        {
          py::gil_scoped_release release;
          cc::stack_selective(cp, n_rows, n_lag, stride, off, n_groups, threshold, op, sp, workers);
        }
        return py::make_tuple(out, n_sel);
      },
      py::arg("ccf"), py::arg("offsets"), py::arg("threshold"), py::arg("workers") = 0,
      "Mean of the rows of each group that correlate with the group mean at >= threshold.");
}

}  // namespace seiscore::bindings
