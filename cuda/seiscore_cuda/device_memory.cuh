// seiscore_cuda/device_memory.cuh — internal to the .cu files (CUDA types allowed): one error
// check and one owning device buffer for every CUDA twin.
#pragma once

#include <cuda_runtime.h>

#include <cstddef>
#include <string>

#include "seiscore_cuda/device.hpp"

namespace seiscore::cuda {

// Throws CudaError "<context>: <what>: <CUDA's message>" when status is not cudaSuccess.
inline void cuda_check(cudaError_t status, const char* context, const char* what) {
  if (status != cudaSuccess) {
    throw CudaError(std::string(context) + ": " + what + ": " + cudaGetErrorString(status));
  }
}

// n elements of T on the current device, freed on destruction; copies check their status.
template <class T>
struct DeviceArray {
  T* ptr = nullptr;
  explicit DeviceArray(std::size_t n) {
    if (n) cuda_check(cudaMalloc(&ptr, n * sizeof(T)), "device memory", "cudaMalloc");
  }
  ~DeviceArray() {
    if (ptr) cudaFree(ptr);
  }
  DeviceArray(const DeviceArray&) = delete;
  DeviceArray& operator=(const DeviceArray&) = delete;
  void upload(const T* host, std::size_t n) {
    if (n) cuda_check(cudaMemcpy(ptr, host, n * sizeof(T), cudaMemcpyHostToDevice), "device memory", "copy to device");
  }
  void download(T* host, std::size_t n) const {
    if (n) cuda_check(cudaMemcpy(host, ptr, n * sizeof(T), cudaMemcpyDeviceToHost), "device memory", "copy to host");
  }
};

}  // namespace seiscore::cuda
