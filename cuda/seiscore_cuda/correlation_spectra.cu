#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>
#include <numeric>
#include <string>
#include <vector>

#include "seiscore_cuda/correlation_spectra.hpp"
#include "seiscore_cuda/device.hpp"
#include "seiscore_cuda/device_memory.cuh"

namespace seiscore::cuda {

namespace {

// Errors name this twin.
inline void check(cudaError_t status, const char* what) { cuda_check(status, "correlation", what); }

void use_device(int device) {
  const int n = device_count();
  if (device < 0 || device >= n)
    throw CudaError("CUDA device " + std::to_string(device) + " does not exist (" + std::to_string(n) +
                    " device(s) found)");
  check(cudaSetDevice(device), "cudaSetDevice");
}

unsigned blocks_for(std::int64_t n, int threads) { return static_cast<unsigned>((n + threads - 1) / threads); }

struct Band {
  double f[4];
};

__device__ double band_weight(double f, const Band& b) {
  if (f < b.f[0] || f > b.f[3]) return 0.0;
  if (f < b.f[1]) return 0.5 * (1.0 - cospi((f - b.f[0]) / (b.f[1] - b.f[0])));
  if (f <= b.f[2]) return 1.0;
  if (f < b.f[3]) return 0.5 * (1.0 - cospi((b.f[3] - f) / (b.f[3] - b.f[2])));
  return 1.0;
}

// amplitude of every bin (dense [n_rows, nfreq])
__global__ void amplitude_kernel(const float2* __restrict__ x, std::int64_t n_rows, std::int64_t nfreq,
                                 double* __restrict__ amp) {
  const std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= n_rows * nfreq) return;
  const float2 v = x[i];
  amp[i] = hypot(static_cast<double>(v.x), static_cast<double>(v.y));
}

// shift and whiten, one thread per bin; reads amplitudes (not neighbouring bins of x)
__global__ void condition_kernel(float2* __restrict__ x, std::int64_t n_rows, std::int64_t nfreq,
                                 const double* __restrict__ amp, const double* __restrict__ shift, double df,
                                 int whiten, Band band, std::int64_t m) {
  const std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= n_rows * nfreq) return;
  const std::int64_t r = i / nfreq, k = i % nfreq;
  double re = x[i].x, im = x[i].y;
  if (shift != nullptr && shift[r] != 0.0) {
    double s, c;
    sincospi(-2.0 * df * shift[r] * static_cast<double>(k), &s, &c);
    const double nr = re * c - im * s;
    im = re * s + im * c;
    re = nr;
  }
  if (whiten) {
    const double g = band_weight(static_cast<double>(k) * df, band);
    double a = 0.0;
    if (g != 0.0) {
      if (m > 0) {
        const std::int64_t lo = k - m < 0 ? 0 : k - m;
        const std::int64_t hi = k + m + 1 > nfreq ? nfreq : k + m + 1;
        double sum = 0.0;
        for (std::int64_t j = lo; j < hi; ++j) sum += amp[r * nfreq + j];
        a = sum / static_cast<double>(hi - lo);
      } else {
        a = amp[i];
      }
    }
    const double sc = a > 0.0 ? g / a : 0.0;
    re *= sc;
    im *= sc;
  }
  x[i] = make_float2(static_cast<float>(re), static_cast<float>(im));
}

// one block per row; Parseval energy of the length-nfft signal
__global__ void energy_kernel(const float2* __restrict__ x, std::int64_t nfreq, std::int64_t nfft,
                              double* __restrict__ energy) {
  extern __shared__ double partial[];
  const std::int64_t r = blockIdx.x;
  double e = 0.0;
  for (std::int64_t k = threadIdx.x; k < nfreq; k += blockDim.x) {
    const float2 v = x[r * nfreq + k];
    const double pw = static_cast<double>(v.x) * v.x + static_cast<double>(v.y) * v.y;
    const bool single = (k == 0) || (k == nfreq - 1 && nfft % 2 == 0);
    e += single ? pw : 2.0 * pw;
  }
  partial[threadIdx.x] = e;
  __syncthreads();
  for (unsigned s = blockDim.x / 2; s > 0; s >>= 1) {
    if (threadIdx.x < s) partial[threadIdx.x] += partial[threadIdx.x + s];
    __syncthreads();
  }
  if (threadIdx.x == 0) energy[r] = partial[0] / static_cast<double>(nfft);
}

// out[g, k] = sum over terms t in [offsets[g], offsets[g+1]) (in order) of w * conj(S[a]) * S[b]
__global__ void cross_kernel(const float2* __restrict__ s, std::int64_t nfreq, const std::int64_t* __restrict__ a,
                             const std::int64_t* __restrict__ b, const float* __restrict__ w,
                             const std::int64_t* __restrict__ offsets, std::int64_t n_out, float2* __restrict__ out) {
  const std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= n_out * nfreq) return;
  const std::int64_t g = i / nfreq, k = i % nfreq;
  float re = 0.0f, im = 0.0f;
  for (std::int64_t t = offsets[g]; t < offsets[g + 1]; ++t) {
    const float2 x = s[a[t] * nfreq + k];
    const float2 y = s[b[t] * nfreq + k];
    const float wt = w != nullptr ? w[t] : 1.0f;
    re += wt * (x.x * y.x + x.y * y.y);
    im += wt * (x.x * y.y - x.y * y.x);
  }
  out[i] = make_float2(re, im);
}

// rows of a strided host array into a dense device array
void upload_rows(const float* host, std::int64_t n_rows, std::int64_t nfreq, std::int64_t row_stride,
                 DeviceArray<float2>& dev) {
  if (n_rows == 0 || nfreq == 0) return;
  check(cudaMemcpy2D(dev.ptr, nfreq * sizeof(float2), host, row_stride * sizeof(float2), nfreq * sizeof(float2),
                          n_rows, cudaMemcpyHostToDevice),
             "copy spectra to device");
}

constexpr int kThreads = 256;

}  // namespace

void correlation_condition_spectra(float* spec, std::int64_t n_rows, std::int64_t nfreq, std::int64_t row_stride,
                                   std::int64_t nfft, double df, bool whiten, const double band[4],
                                   std::int64_t smooth_bins, const double* shift_s, double* energy, int device) {
  if (n_rows == 0) return;
  use_device(device);
  const std::int64_t total = n_rows * nfreq;
  DeviceArray<float2> x(total);
  upload_rows(spec, n_rows, nfreq, row_stride, x);
  DeviceArray<double> amp(whiten ? total : 0), shift(shift_s ? n_rows : 0), e(n_rows);
  if (shift_s) shift.upload(shift_s, n_rows);
  if (whiten) {
    amplitude_kernel<<<blocks_for(total, kThreads), kThreads>>>(x.ptr, n_rows, nfreq, amp.ptr);
    check(cudaGetLastError(), "amplitude kernel");
  }
  Band b{{band[0], band[1], band[2], band[3]}};
  condition_kernel<<<blocks_for(total, kThreads), kThreads>>>(x.ptr, n_rows, nfreq, amp.ptr, shift_s ? shift.ptr : nullptr,
                                                            df, whiten ? 1 : 0, b, smooth_bins);
  check(cudaGetLastError(), "condition kernel");
  energy_kernel<<<static_cast<unsigned>(n_rows), kThreads, kThreads * sizeof(double)>>>(x.ptr, nfreq, nfft, e.ptr);
  check(cudaGetLastError(), "energy kernel");
  check(cudaMemcpy2D(spec, row_stride * sizeof(float2), x.ptr, nfreq * sizeof(float2), nfreq * sizeof(float2),
                          n_rows, cudaMemcpyDeviceToHost),
             "copy spectra to host");
  e.download(energy, n_rows);
}

void correlation_cross_spectra(const float* spec, std::int64_t n_rows, std::int64_t nfreq, std::int64_t row_stride,
                               const std::int64_t* row_a, const std::int64_t* row_b, const float* weight,
                               const std::int64_t* out_index, std::int64_t n_terms, float* out, std::int64_t n_out,
                               int device) {
  if (n_out == 0 || nfreq == 0) return;
  use_device(device);
  // terms grouped by output, in term order within a group (a stable counting sort)
  std::vector<std::int64_t> offsets(static_cast<std::size_t>(n_out + 1), 0);
  std::vector<std::int64_t> order(static_cast<std::size_t>(n_terms));
  if (out_index != nullptr) {
    for (std::int64_t t = 0; t < n_terms; ++t) ++offsets[out_index[t] + 1];
    std::partial_sum(offsets.begin(), offsets.end(), offsets.begin());
    std::vector<std::int64_t> fill(offsets.begin(), offsets.end() - 1);
    for (std::int64_t t = 0; t < n_terms; ++t) order[fill[out_index[t]]++] = t;
  } else {
    std::iota(offsets.begin(), offsets.end(), 0);
    std::iota(order.begin(), order.end(), 0);
  }
  std::vector<std::int64_t> a(static_cast<std::size_t>(n_terms)), b(static_cast<std::size_t>(n_terms));
  std::vector<float> w(weight ? static_cast<std::size_t>(n_terms) : 0);
  for (std::int64_t i = 0; i < n_terms; ++i) {
    a[i] = row_a[order[i]];
    b[i] = row_b[order[i]];
    if (weight) w[i] = weight[order[i]];
  }
  DeviceArray<float2> s(n_rows * nfreq), o(n_out * nfreq);
  upload_rows(spec, n_rows, nfreq, row_stride, s);
  DeviceArray<std::int64_t> da(n_terms), db(n_terms), doff(n_out + 1);
  DeviceArray<float> dw(weight ? n_terms : 0);
  da.upload(a.data(), n_terms);
  db.upload(b.data(), n_terms);
  doff.upload(offsets.data(), n_out + 1);
  if (weight) dw.upload(w.data(), n_terms);
  cross_kernel<<<blocks_for(n_out * nfreq, kThreads), kThreads>>>(s.ptr, nfreq, da.ptr, db.ptr, weight ? dw.ptr : nullptr,
                                                                  doff.ptr, n_out, o.ptr);
  check(cudaGetLastError(), "cross-spectrum kernel");
  o.download(reinterpret_cast<float2*>(out), n_out * nfreq);
}

}  // namespace seiscore::cuda
