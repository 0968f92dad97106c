// seiscore/correlation/stack.hpp — stacking of per-window cross-correlation functions.
//
// Input: ccf[n_rows, n_lag] float32 (rows `row_stride` elements apart, lags contiguous), grouped:
// the windows of group g (one station pair and component) are the rows offsets[g] ..
// offsets[g + 1] - 1 (offsets[n_groups + 1], non-decreasing, offsets[0] = 0,
// offsets[n_groups] <= n_rows). An empty group gives zeros (sums) or NaN (stacks), and a count
// of 0. Groups are processed in parallel (workers <= 0: all hardware threads); results do not
// depend on the number of workers.
//
// stack_sums(ccf, hilbert | null, offsets) -> linear[n_groups, n_lag], phasor_re/im[n_groups, n_lag]
//   linear = sum of the rows (float64). With hilbert (the Hilbert transforms of the rows, same
//   shape and stride, so that ccf + i*hilbert is the analytic signal): phasor = sum over rows of
//   (c + i h) / |c + i h| (0 where |c + i h| = 0). The phase-weighted stack (Schimmel & Paulssen
//   1997) of N rows is then (linear / N) * (|phasor| / N)^nu; sums of several days add up.
//   phasor_re/im may be null when hilbert is null.
//
// stack_robust(ccf, offsets, epsilon, max_iter) -> out[n_groups, n_lag] float32, n_iter[n_groups]
//   Iteratively re-weighted stack after Pavlis & Vernon (2010): start from b = the median over
//   the rows (per lag); then repeat at most max_iter (<= 100000) times: u = b / |b|; for each row d:
//   a = d.u, r = |d - a u|, weight = |a| / (|d| * r) (0 when |d| = 0; r is floored at
//   1e-12 |d|); weights normalised to sum 1; b' = sum weight * d; stop when
//   sum|b' - b| / sum|b'| < epsilon. out = the last b'. n_iter = iterations done (0 when
//   |b| = 0 from the start, then out = the median).
//
// stack_selective(ccf, offsets, threshold) -> out[n_groups, n_lag] float32, n_selected[n_groups]
//   m = mean of the rows; a row is kept when d.m / (|d| |m|) >= threshold (rows with |d| = 0 and
//   all rows when |m| = 0 are dropped); out = mean of the kept rows (NaN when none is kept).
#pragma once

#include <cstdint>

namespace seiscore::correlation {

void stack_sums(const float* ccf, const float* hilbert, std::int64_t n_rows, std::int64_t n_lag,
                std::int64_t row_stride, const std::int64_t* offsets, std::int64_t n_groups, double* linear,
                double* phasor_re, double* phasor_im, int workers);

void stack_robust(const float* ccf, std::int64_t n_rows, std::int64_t n_lag, std::int64_t row_stride,
                  const std::int64_t* offsets, std::int64_t n_groups, double epsilon, int max_iter, float* out,
                  std::int32_t* n_iter, int workers);

void stack_selective(const float* ccf, std::int64_t n_rows, std::int64_t n_lag, std::int64_t row_stride,
                     const std::int64_t* offsets, std::int64_t n_groups, double threshold, float* out,
                     std::int32_t* n_selected, int workers);

// Throws InvalidArgument unless offsets describe groups of rows as stated above.
void check_offsets(const std::int64_t* offsets, std::int64_t n_groups, std::int64_t n_rows);

}  // namespace seiscore::correlation
