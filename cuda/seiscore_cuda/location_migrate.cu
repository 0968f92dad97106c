#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "seiscore_cuda/device.hpp"
#include "seiscore_cuda/device_memory.cuh"
#include "seiscore_cuda/location_migrate.hpp"

namespace seiscore::cuda {

namespace {

// Errors name this twin.
inline void check(cudaError_t status, const char* what) { cuda_check(status, "location_migrate", what); }

constexpr int kThreads = 256;    // samples per block
constexpr int kNodeTile = 128;   // nodes per block (the partial-result granularity)

struct Dev {
  const float* onsets;
  std::int64_t n_samples;
  const std::int32_t* tt;
  std::int64_t n_rows;
  const std::int32_t* rows;
  int n_act;
  float inv_act;
  int geometric;
  std::int64_t n_nodes;
};

__device__ inline float coalescence(const Dev& d, std::int64_t node, std::int64_t t) {
  const std::int32_t* tn = d.tt + node * d.n_rows;
  float acc = 0.0f;
  for (int k = 0; k < d.n_act; ++k) {
    const std::int32_t r = __ldg(d.rows + k);
    acc += __ldg(d.onsets + r * d.n_samples + t + __ldg(tn + r));
  }
  const float m = acc * d.inv_act;
  return d.geometric ? expf(m) : m;
}

// Partial results per (node tile, sample): max, its node, float sum over the tile.
__global__ void max_partial(Dev d, std::int64_t t_first, std::int64_t n_out, float* pmax, std::int32_t* pnode,
                            double* psum) {
  const std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * kThreads + threadIdx.x;
  const std::int64_t tile = blockIdx.y;
  if (i >= n_out) return;
  const std::int64_t lo = tile * kNodeTile;
  const std::int64_t hi = min(d.n_nodes, lo + kNodeTile);
  float best = -INFINITY;
  std::int32_t arg = static_cast<std::int32_t>(lo);
  float sum = 0.0f;
  for (std::int64_t n = lo; n < hi; ++n) {
    const float c = coalescence(d, n, t_first + i);
    if (c > best) {
      best = c;
      arg = static_cast<std::int32_t>(n);
    }
    sum += c;
  }
  const std::int64_t o = tile * n_out + i;
  pmax[o] = best;
  pnode[o] = arg;
  psum[o] = sum;
}

__global__ void max_reduce(std::int64_t n_tiles, std::int64_t n_out, std::int64_t n_nodes, const float* pmax,
                           const std::int32_t* pnode, const double* psum, float* max_coa, float* norm_coa,
                           std::int64_t* max_node) {
  const std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= n_out) return;
  float best = pmax[i];
  std::int64_t node = pnode[i];
  double sum = psum[i];
  for (std::int64_t t = 1; t < n_tiles; ++t) {
    const std::int64_t o = t * n_out + i;
    if (pmax[o] > best) {
      best = pmax[o];
      node = pnode[o];
    }
    sum += psum[o];
  }
  const double mean = sum / static_cast<double>(n_nodes);
  max_coa[i] = best;
  max_node[i] = node;
  norm_coa[i] = mean != 0.0 ? static_cast<float>(best / mean) : 0.0f;
}

// One thread per node; loops over the (few) output samples; coalesced writes along nodes.
__global__ void map_kernel(Dev d, std::int64_t first, std::int64_t n_out, float* map) {
  const std::int64_t n = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (n >= d.n_nodes) return;
  for (std::int64_t i = 0; i < n_out; ++i) map[i * d.n_nodes + n] = coalescence(d, n, first + i);
}

struct Uploaded {
  DeviceArray<float> onsets;
  DeviceArray<std::int32_t> tt;
  DeviceArray<std::int32_t> rows;
  Dev dev{};
  Uploaded(const MigrateArgs& a)
      : onsets(static_cast<std::size_t>(a.n_rows * a.n_samples)),
        tt(static_cast<std::size_t>(a.n_nodes * a.n_rows)),
        rows(static_cast<std::size_t>(a.n_rows)) {
    std::vector<std::int32_t> active;
    for (std::int64_t r = 0; r < a.n_rows; ++r)
      if (!a.active || a.active[r]) active.push_back(static_cast<std::int32_t>(r));
    if (active.empty()) throw std::invalid_argument("location_migrate: no active onset rows");
    onsets.upload(a.onsets, static_cast<std::size_t>(a.n_rows * a.n_samples));
    tt.upload(a.tt, static_cast<std::size_t>(a.n_nodes * a.n_rows));
    rows.upload(active.data(), active.size());
    dev = Dev{onsets.ptr, a.n_samples, tt.ptr, a.n_rows, rows.ptr, static_cast<int>(active.size()),
              1.0f / static_cast<float>(active.size()), a.stacking == 1 ? 1 : 0, a.n_nodes};
  }
};

void select_device(int device) {
  const int n = device_count();
  if (device < 0 || device >= n)
    throw CudaError("CUDA device " + std::to_string(device) + " not available (" + std::to_string(n) + " device(s))");
  check(cudaSetDevice(device), "cudaSetDevice");
}

void check_args(const MigrateArgs& a) {
  if (a.n_rows < 1 || a.n_samples < 1 || a.n_nodes < 1 || a.n_out < 0 || !a.onsets || !a.tt)
    throw std::invalid_argument("location_migrate: invalid problem sizes");
  if (a.n_nodes > INT32_MAX) throw std::invalid_argument("location_migrate: more than 2^31 - 1 nodes");
}

}  // namespace

void location_migrate_max(const MigrateArgs& a, float* max_coa, float* norm_coa, std::int64_t* max_node,
                          int device) {
  check_args(a);
  if (a.n_out == 0) return;
  select_device(device);
  Uploaded up(a);
  const std::int64_t n_tiles = (a.n_nodes + kNodeTile - 1) / kNodeTile;
  // time chunks keep the partial results under ~256 MiB
  std::int64_t chunk = (std::int64_t{256} << 20) / (n_tiles * 16);
  chunk = std::max<std::int64_t>(kThreads, chunk / kThreads * kThreads);
  chunk = std::min(chunk, a.n_out);
  DeviceArray<float> pmax(static_cast<std::size_t>(n_tiles * chunk));
  DeviceArray<std::int32_t> pnode(static_cast<std::size_t>(n_tiles * chunk));
  DeviceArray<double> psum(static_cast<std::size_t>(n_tiles * chunk));
  DeviceArray<float> d_max(static_cast<std::size_t>(chunk)), d_norm(static_cast<std::size_t>(chunk));
  DeviceArray<std::int64_t> d_node(static_cast<std::size_t>(chunk));
  if (n_tiles > 65535) throw std::invalid_argument("location_migrate: grid too large for one launch (> 8.4M nodes)");
  for (std::int64_t t0 = 0; t0 < a.n_out; t0 += chunk) {
    const std::int64_t len = std::min(chunk, a.n_out - t0);
    const dim3 grid(static_cast<unsigned>((len + kThreads - 1) / kThreads), static_cast<unsigned>(n_tiles));
    max_partial<<<grid, kThreads>>>(up.dev, a.first + t0, len, pmax.ptr, pnode.ptr, psum.ptr);
    check(cudaGetLastError(), "max_partial launch");
    max_reduce<<<static_cast<unsigned>((len + 255) / 256), 256>>>(n_tiles, len, a.n_nodes, pmax.ptr, pnode.ptr,
                                                                  psum.ptr, d_max.ptr, d_norm.ptr, d_node.ptr);
    check(cudaGetLastError(), "max_reduce launch");
    const std::size_t n = static_cast<std::size_t>(len);
    if (max_coa) check(cudaMemcpy(max_coa + t0, d_max.ptr, n * sizeof(float), cudaMemcpyDeviceToHost), "copy");
    if (norm_coa)
      check(cudaMemcpy(norm_coa + t0, d_norm.ptr, n * sizeof(float), cudaMemcpyDeviceToHost), "copy");
    if (max_node)
      check(cudaMemcpy(max_node + t0, d_node.ptr, n * sizeof(std::int64_t), cudaMemcpyDeviceToHost), "copy");
  }
}

void location_migrate_map(const MigrateArgs& a, float* map, int device) {
  check_args(a);
  if (a.n_out == 0) return;
  select_device(device);
  Uploaded up(a);
  const std::size_t n = static_cast<std::size_t>(a.n_out * a.n_nodes);
  DeviceArray<float> d_map(n);
  map_kernel<<<static_cast<unsigned>((a.n_nodes + 255) / 256), 256>>>(up.dev, a.first, a.n_out, d_map.ptr);
  check(cudaGetLastError(), "map launch");
  check(cudaMemcpy(map, d_map.ptr, n * sizeof(float), cudaMemcpyDeviceToHost), "copy map");
}

}  // namespace seiscore::cuda
