// seiscore/correlation/spectra.hpp — spectral whitening and cross-spectra of noise windows.
//
// Spectra are the one-sided DFTs of real windows zero-padded to nfft samples, as
// scipy.fft.rfft(x, n=nfft) returns them: nfreq = nfft / 2 + 1 bins, bin k at k * df Hz with
// df = sampling_rate / nfft. They are stored as interleaved float32 (re, im) pairs (the layout
// of numpy complex64): bin k of row r is spec[2 * (r * row_stride + k)] (+1 for im), with
// row_stride in complex elements (>= nfreq). The CUDA twin (cuda/seiscore_cuda/
// correlation_spectra.hpp) implements exactly these contracts.
//
// condition_spectra(spec[n_rows, nfreq], params, shift_s[n_rows] | null, energy[n_rows])
//   In place, per row:
//   1. sub-sample alignment (shift_s given): X_k *= exp(-2 pi i f_k shift_s[r]), i.e. the row is
//      delayed by shift_s[r] seconds (positive: later). Used to put samples that sit shift_s
//      after the nominal window start back onto the common time grid.
//   2. whitening (params.whiten): X_k -> g(f_k) * X_k / A_k, where A_k is the mean of |X_j| over
//      bins j in [k - smooth_bins, k + smooth_bins] (clipped to [0, nfreq)); smooth_bins = 0
//      gives unit amplitude (phase only). A_k = 0 gives 0. The band weight g is 0 below band[0],
//      a cosine ramp 0.5 * (1 - cos(pi * (f - band[0]) / (band[1] - band[0]))) up to band[1],
//      1 until band[2], the mirrored ramp down to band[3] and 0 above; 0 <= band[0] <= band[1]
//      <= band[2] <= band[3] (equal corners: a step).
//   3. energy[r] = the sum of squares of the length-nfft real signal the row represents
//      (Parseval: (|X_0|^2 + 2 sum |X_k|^2 + w |X_last|^2) / nfft with w = 1 when nfft is even
//      (the Nyquist bin), 2 when odd), in float64.
//
// cross_spectra(spec, terms, out)
//   For each term t: P_t[k] = weight[t] * conj(S[row_a[t], k]) * S[row_b[t], k], whose inverse
//   rfft is the weighted cross-correlation c(tau) = weight * sum_s a(s) b(s + tau) (circular over
//   nfft samples; positive lag: b later than a).
//   out_index == null: out[t] = P_t (n_out must equal n_terms).
//   out_index given:   out[o] = sum of P_t over the terms with out_index[t] == o (the linear
//                      stack in the frequency domain); outputs with no term are 0.
//   out is [n_out, nfreq] interleaved complex, C-contiguous, overwritten. Sums are in float32;
//   the result does not depend on the number of workers (each output bin is summed in term
//   order by one thread).
#pragma once

#include <cstdint>

namespace seiscore::correlation {

struct SpectralParams {
  std::int64_t nfft = 0;
  double df = 0.0;  // Hz per bin
  bool whiten = false;
  double band[4] = {0.0, 0.0, 0.0, 0.0};  // Hz
  std::int64_t smooth_bins = 0;
};

void condition_spectra(float* spec, std::int64_t n_rows, std::int64_t nfreq, std::int64_t row_stride,
                       const SpectralParams& params, const double* shift_s, double* energy, int workers);

void cross_spectra(const float* spec, std::int64_t n_rows, std::int64_t nfreq, std::int64_t row_stride,
                   const std::int64_t* row_a, const std::int64_t* row_b, const float* weight,
                   const std::int64_t* out_index, std::int64_t n_terms, float* out, std::int64_t n_out,
                   int workers);

// Shared argument checks (also used by the CUDA twin): throw InvalidArgument on bad input.
void check_spectral_params(const SpectralParams& params, std::int64_t nfreq);
void check_terms(std::int64_t n_rows, const std::int64_t* row_a, const std::int64_t* row_b,
                 const float* weight, const std::int64_t* out_index, std::int64_t n_terms, std::int64_t n_out);

}  // namespace seiscore::correlation
