// seiscore_cuda/device.hpp — the CUDA device layer. Plain C++ signatures (no CUDA types), so
// that the bindings compile with the host compiler alone.
//
//   device_count()     number of usable CUDA devices; 0 when there is no driver or no device
//                      (never throws)
//   runtime_version()  CUDA runtime version the extension was built with, e.g. 13000
//   driver_version()   installed driver's CUDA version, 0 when there is no driver
//   device_properties(i)  name, compute capability, memory, SM count of device i; throws
//                      CudaError when i is not a valid device
//   check(status, what)   throws CudaError with the CUDA error string when status != 0
#pragma once

#include <cstddef>
#include <stdexcept>
#include <string>

namespace seiscore::cuda {

class CudaError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct DeviceProperties {
  int index = 0;
  std::string name;
  int major = 0;
  int minor = 0;
  std::size_t total_memory = 0;  // bytes
  int multiprocessors = 0;
  int memory_bus_width = 0;      // bits
};

int device_count() noexcept;
int runtime_version() noexcept;
int driver_version() noexcept;
DeviceProperties device_properties(int index);

}  // namespace seiscore::cuda
