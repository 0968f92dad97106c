#include <cuda_runtime.h>

#include <string>

#include "seiscore_cuda/device.hpp"

namespace seiscore::cuda {

namespace {
void check(cudaError_t status, const char* what) {
  if (status != cudaSuccess) {
    throw CudaError(std::string(what) + ": " + cudaGetErrorString(status));
  }
}
}  // namespace

int device_count() noexcept {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    cudaGetLastError();  // clear the sticky "no device / no driver" state
    return 0;
  }
  return n;
}

int runtime_version() noexcept {
  int v = 0;
  if (cudaRuntimeGetVersion(&v) != cudaSuccess) return 0;
  return v;
}

int driver_version() noexcept {
  int v = 0;
  if (cudaDriverGetVersion(&v) != cudaSuccess) return 0;
  return v;
}

DeviceProperties device_properties(int index) {
  const int n = device_count();
  if (index < 0 || index >= n) {
    throw CudaError("CUDA device " + std::to_string(index) + " does not exist (" + std::to_string(n) +
                    " device(s) found)");
  }
  cudaDeviceProp prop{};
  check(cudaGetDeviceProperties(&prop, index), "cudaGetDeviceProperties");
  DeviceProperties d;
  d.index = index;
  d.name = prop.name;
  d.major = prop.major;
  d.minor = prop.minor;
  d.total_memory = prop.totalGlobalMem;
  d.multiprocessors = prop.multiProcessorCount;
  d.memory_bus_width = prop.memoryBusWidth;
  return d;
}

}  // namespace seiscore::cuda
