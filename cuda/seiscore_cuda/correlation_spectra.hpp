// seiscore_cuda/correlation_spectra.hpp — CUDA twin of seiscore::correlation::condition_spectra
// and seiscore::correlation::cross_spectra (cpp/seiscore/correlation/spectra.hpp): same inputs,
// same outputs, same layout (interleaved float32 (re, im) spectra, rows `row_stride` complex
// elements apart), over plain host pointers.
//
// The FFTs are not done here: this build's CUDA toolkit ships no cuFFT, so the caller computes
// the spectra on the CPU (scipy.fft) and these functions copy them to device `device`, whiten /
// shift them or form the cross-spectra and their frequency-domain stacks there, and copy the
// result back. Arguments must satisfy seiscore::correlation::check_spectral_params /
// check_terms (the bindings call them first). Throws seiscore::cuda::CudaError on CUDA failures.
//
// Differences from the CPU kernel, within float32 rounding: the phase ramp is evaluated exactly
// per bin (sincospi in float64) instead of by recurrence; sums use fused multiply-adds.
// Summation order of cross_spectra outputs is the term order, as on the CPU.
#pragma once

#include <cstdint>

namespace seiscore::cuda {

void correlation_condition_spectra(float* spec, std::int64_t n_rows, std::int64_t nfreq, std::int64_t row_stride,
                                   std::int64_t nfft, double df, bool whiten, const double band[4],
                                   std::int64_t smooth_bins, const double* shift_s, double* energy, int device = 0);

void correlation_cross_spectra(const float* spec, std::int64_t n_rows, std::int64_t nfreq, std::int64_t row_stride,
                               const std::int64_t* row_a, const std::int64_t* row_b, const float* weight,
                               const std::int64_t* out_index, std::int64_t n_terms, float* out, std::int64_t n_out,
                               int device = 0);

}  // namespace seiscore::cuda
