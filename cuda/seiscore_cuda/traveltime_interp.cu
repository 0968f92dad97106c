#include <cuda_runtime.h>
#include <math_constants.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>

#include "seiscore_cuda/device.hpp"
#include "seiscore_cuda/device_memory.cuh"
#include "seiscore_cuda/traveltime_interp.hpp"

namespace seiscore::cuda {

namespace {

// Errors name this twin.
inline void check(cudaError_t status, const char* what) { cuda_check(status, "traveltime_station_grids", what); }

struct Params {
  std::int64_t n_st, n_ph, nz_t, nx_t;
  double depth0, ddepth, dist0, ddist;
  double ox, oy, oz, dx, dy, dz;
  std::int64_t gx, gy, gz;
  double fs;
};

constexpr double kTol = 1e-9;

__device__ inline bool locate(double value, double start, double step, std::int64_t n, std::int64_t& i0, double& w) {
  const double f = (value - start) / step;
  if (!(f >= -kTol && f <= static_cast<double>(n - 1) + kTol)) return false;
  if (n == 1) {
    i0 = 0;
    w = 0.0;
    return true;
  }
  const double fc = fmin(fmax(f, 0.0), static_cast<double>(n - 1));
  i0 = static_cast<std::int64_t>(fc);
  if (i0 >= n - 1) i0 = n - 2;
  w = fc - static_cast<double>(i0);
  return true;
}

__device__ inline double lerp_row(const float* row, std::int64_t j0, double wj, std::int64_t n) {
  const double a = row[j0];
  if (n == 1 || wj == 0.0) return a;
  return a + (static_cast<double>(row[j0 + 1]) - a) * wj;
}

// One thread per (node, station); loops over phases.
__global__ void grids_kernel(const float* __restrict__ tables, const double* __restrict__ xy, Params P,
                             std::int64_t node_begin, std::int64_t node_count, float* __restrict__ out_s,
                             std::int32_t* __restrict__ out_i) {
  const std::int64_t tid = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (tid >= node_count * P.n_st) return;
  const std::int64_t local = tid / P.n_st, s = tid % P.n_st;
  const std::int64_t node = node_begin + local;
  const std::int64_t iz = node % P.gz;
  const std::int64_t iy = (node / P.gz) % P.gy;
  const std::int64_t ix = node / (P.gz * P.gy);
  const double x = P.ox + static_cast<double>(ix) * P.dx;
  const double y = P.oy + static_cast<double>(iy) * P.dy;
  const double z = P.oz + static_cast<double>(iz) * P.dz;
  const double d = hypot(x - xy[2 * s], y - xy[2 * s + 1]);
  std::int64_t i0 = 0, j0 = 0;
  double wi = 0, wj = 0;
  const bool ok = locate(z, P.depth0, P.ddepth, P.nz_t, i0, wi) && locate(d, P.dist0, P.ddist, P.nx_t, j0, wj);
  for (std::int64_t p = 0; p < P.n_ph; ++p) {
    double t = CUDART_NAN;
    if (ok) {
      const float* tab = tables + (s * P.n_ph + p) * P.nz_t * P.nx_t;
      const float* r0 = tab + i0 * P.nx_t;
      const double v0 = lerp_row(r0, j0, wj, P.nx_t);
      if (P.nz_t == 1 || wi == 0.0) {
        t = v0;
      } else {
        const double v1 = lerp_row(r0 + P.nx_t, j0, wj, P.nx_t);
        t = v0 + (v1 - v0) * wi;
      }
    }
    const std::int64_t o = (local * P.n_st + s) * P.n_ph + p;
    if (out_s) out_s[o] = static_cast<float>(t);
    if (out_i) {
      const double v = t * P.fs;
      out_i[o] = (isfinite(v) && fabs(v) < 2.1e9) ? static_cast<std::int32_t>(__double2ll_rn(v))
                                                  : static_cast<std::int32_t>(INT32_MIN);
    }
  }
}

}  // namespace

void traveltime_station_grids(const float* tables, std::int64_t n_st, std::int64_t n_ph, std::int64_t nz_t,
                              std::int64_t nx_t, const double axes[4], const double* station_xy,
                              const double origin[3], const double spacing[3], const std::int64_t shape[3],
                              double sampling_rate, float* out_seconds, std::int32_t* out_samples, int device) {
  if (n_st < 0 || n_ph < 1 || nz_t < 1 || nx_t < 1) throw std::invalid_argument("traveltime_station_grids: bad sizes");
  if (!(axes[1] > 0 && axes[3] > 0)) throw std::invalid_argument("traveltime_station_grids: axis steps must be > 0");
  for (int a = 0; a < 3; ++a) {
    if (shape[a] < 1 || !(spacing[a] > 0)) throw std::invalid_argument("traveltime_station_grids: bad grid");
  }
  if (out_samples && !(sampling_rate > 0)) throw std::invalid_argument("sampling_rate must be positive");
  const std::int64_t n_nodes = shape[0] * shape[1] * shape[2];
  if (n_st == 0 || n_nodes == 0) return;
  const int n_dev = device_count();
  if (device < 0 || device >= n_dev) {
    throw CudaError("CUDA device " + std::to_string(device) + " not available (" + std::to_string(n_dev) +
                    " device(s))");
  }
  check(cudaSetDevice(device), "cudaSetDevice");

  const std::size_t n_tab = static_cast<std::size_t>(n_st * n_ph * nz_t * nx_t);
  DeviceArray<float> d_tab(n_tab);
  DeviceArray<double> d_xy(static_cast<std::size_t>(2 * n_st));
  check(cudaMemcpy(d_tab.ptr, tables, n_tab * sizeof(float), cudaMemcpyHostToDevice), "copy tables");
  check(cudaMemcpy(d_xy.ptr, station_xy, 2 * n_st * sizeof(double), cudaMemcpyHostToDevice), "copy stations");

  Params P{n_st, n_ph, nz_t, nx_t, axes[0], axes[1], axes[2], axes[3], origin[0], origin[1], origin[2],
           spacing[0], spacing[1], spacing[2], shape[0], shape[1], shape[2], sampling_rate};
  const std::int64_t per_node = n_st * n_ph;
  // chunk so that each output buffer stays under 256 Mi entries (1 GiB)
  const std::int64_t chunk = std::max<std::int64_t>(1, (std::int64_t{1} << 28) / per_node);
  const std::int64_t first_chunk = std::min(chunk, n_nodes);
  DeviceArray<float> d_s(out_seconds ? static_cast<std::size_t>(first_chunk * per_node) : 0);
  DeviceArray<std::int32_t> d_i(out_samples ? static_cast<std::size_t>(first_chunk * per_node) : 0);
  for (std::int64_t begin = 0; begin < n_nodes; begin += chunk) {
    const std::int64_t count = std::min(chunk, n_nodes - begin);
    const std::int64_t threads = count * n_st;
    const int block = 256;
    const auto blocks = static_cast<unsigned>((threads + block - 1) / block);
    grids_kernel<<<blocks, block>>>(d_tab.ptr, d_xy.ptr, P, begin, count, d_s.ptr, d_i.ptr);
    check(cudaGetLastError(), "kernel launch");
    const std::size_t n_out = static_cast<std::size_t>(count * per_node);
    if (out_seconds)
      check(cudaMemcpy(out_seconds + begin * per_node, d_s.ptr, n_out * sizeof(float), cudaMemcpyDeviceToHost),
                 "copy seconds");
    if (out_samples)
      check(cudaMemcpy(out_samples + begin * per_node, d_i.ptr, n_out * sizeof(std::int32_t),
                            cudaMemcpyDeviceToHost),
                 "copy samples");
  }
}

}  // namespace seiscore::cuda
