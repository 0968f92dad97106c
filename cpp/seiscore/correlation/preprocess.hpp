// seiscore/correlation/preprocess.hpp — time-domain preparation of noise windows.
//
// Two kernels over rows of float32 samples. A row is one station-component-window (or one
// continuous record for `decimate`); rows are `row_stride` elements apart, samples within a row
// are contiguous. Rows are independent and processed in parallel (workers <= 0: all hardware
// threads); results do not depend on the number of workers. Arithmetic is in float64.
//
// preprocess_windows(x[n_rows, n], params, status[n_rows])  — in place
//   For each row, in this order:
//   1. quality: a row with any non-finite sample gets status kGap; a row whose longest run of
//      identical consecutive samples is >= max_flat (when max_flat > 0), or whose standard
//      deviation is 0, gets kFlat (dead channel, clipping, zero-fill); a row where
//      max|x - mean| > max_over_std * std (when max_over_std > 0) gets kSpike. Rows that fail are
//      left untouched. Passing rows get kOk and are processed:
//   2. detrend: least-squares line removed (detrend), else the mean removed (demean), or neither;
//   3. taper: Hann ramps over m = floor(taper_fraction * n) samples at each end,
//      w[i] = 0.5 * (1 - cos(pi * i / m)) for i < m, mirrored at the end (ObsPy's
//      Trace.taper(taper_fraction, type="hann") for 2m < n); taper_fraction in [0, 0.5];
//   4. filter: second-order sections sos[n_sections, 6] = (b0, b1, b2, a0, a1, a2) with a0 = 1,
//      as scipy.signal.sosfilt (transposed direct form II, zero initial state); with
//      zero_phase the filtered row is filtered again backwards (ObsPy's zerophase=True:
//      sosfilt(sos, sosfilt(sos, x)[::-1])[::-1]); n_sections = 0: no filter;
//   5. temporal normalisation:
//      kOneBit       x -> sign(x) (0 stays 0);
//      kRunningMean  x[i] -> x[i] / mean(|x[j]|, |j - i| <= ram_half_width, 0 <= j < n)
//                    (0 where that mean is 0);
//      kClip         x clipped to +-clip_factor * rms(x);
//      kNone         unchanged.
#pragma once

#include <cstdint>

namespace seiscore::correlation {

enum WindowStatus : std::int8_t { kOk = 0, kGap = 1, kFlat = 2, kSpike = 3 };

enum class TemporalNorm : int { kNone = 0, kOneBit = 1, kRunningMean = 2, kClip = 3 };

struct PreprocessParams {
  bool demean = true;
  bool detrend = true;
  double taper_fraction = 0.05;
  const double* sos = nullptr;  // [n_sections, 6], row-major; nullptr when n_sections == 0
  std::int64_t n_sections = 0;
  bool zero_phase = true;
  TemporalNorm norm = TemporalNorm::kNone;
  std::int64_t ram_half_width = 0;  // samples, kRunningMean
  double clip_factor = 0.0;         // kClip, > 0
  double max_over_std = 0.0;        // spike test; 0: off
  std::int64_t max_flat = 0;        // flat-run test, samples; 0: off
};

void preprocess_windows(float* x, std::int64_t n_rows, std::int64_t n, std::int64_t row_stride,
                        const PreprocessParams& params, std::int8_t* status, int workers);

// decimate(x[n_rows, n] -> y[n_rows, n_out]), n_out = (n - 1) / factor + 1 (n >= 1):
//   y[r, j] = sum_k h[k] * x[r, j * factor + k - half], half = (n_taps - 1) / 2, n_taps odd,
//   i.e. a zero-phase FIR anti-alias filter (h symmetric, sum(h) = 1, e.g. scipy.signal.firwin)
//   evaluated only at the kept samples. NaN marks missing samples and is never filled: y[r, j]
//   is NaN when x[r, j * factor] is NaN; otherwise only the samples of the run of finite
//   samples containing x[r, j * factor] enter, and where the filter reaches past that run (a
//   gap or the end of the record) the used taps are renormalised to sum to sum(h).
//   y has rows `out_row_stride` elements apart. Long rows are split into chunks across threads.
void decimate(const float* x, std::int64_t n_rows, std::int64_t n, std::int64_t row_stride,
              const double* h, std::int64_t n_taps, std::int64_t factor, float* y,
              std::int64_t out_row_stride, int workers);

inline std::int64_t decimated_length(std::int64_t n, std::int64_t factor) {
  return n <= 0 ? 0 : (n - 1) / factor + 1;
}

}  // namespace seiscore::correlation
