// seiscore/picking/convnet_kernels.hpp — the ConvNet's loops, compiled once per instruction set
// (convnet_kernels.inc, included by convnet_kernels_{baseline,avx2,avx512}.cpp) and chosen once
// at run time for the CPU (best()).
#pragma once

#include <cstdint>

namespace seiscore::picking::convnet_isa {

struct Kernels {
  // out[c][t] = bias[c] + sum over taps k of w[k * n_out + c] * src[k][t] for c < n_out, t < n
  // (computed in whole blocks of up to 128 samples), then max(., 0) when relu.
  void (*convolve)(const float* const* src, int ntaps, const float* w, const float* bias, int n_out,
                   std::int64_t n, bool relu, float* const* out);
  // Softmax over n_rows rows at each of n samples (whole 16-sample vectors).
  void (*softmax_rows)(const float* const* x, int n_rows, std::int64_t n, float* const* out);
  // phase[p][j] = x[s * j + p] for j < ceil(n_in / s) (0 past the end of x).
  void (*deinterleave)(const float* x, std::int64_t n_in, int s, float* const* phase);
  // y[s * j + p] = phase[p][j] for the n_out samples of y.
  void (*interleave)(float* const* phase, std::int64_t n_out, int s, float* y);
  const char* name;
};

Kernels baseline_kernels();
#if defined(__x86_64__) && defined(__GNUC__)
#define SEISCORE_CONVNET_X86 1
Kernels avx2_kernels();
Kernels avx512_kernels();
#endif

// The fastest set this CPU runs (AVX-512, AVX2 + FMA, or the baseline), chosen on first use.
const Kernels& best();

}  // namespace seiscore::picking::convnet_isa
