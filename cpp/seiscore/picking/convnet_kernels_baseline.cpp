// The ConvNet loops for any CPU (the compiler's default instruction set).
#define SEISCORE_CONVNET_KERNELS baseline_kernels
#define SEISCORE_CONVNET_NAME "baseline"
#define SEISCORE_CONVNET_LANES 4
#include "seiscore/picking/convnet_kernels.inc"

#include <cstdlib>
#include <string>

namespace seiscore::picking::convnet_isa {

// SEISCORE_CONVNET_ISA=baseline|avx2 caps the choice (tests run every version on one machine);
// a set the CPU lacks is never chosen.
const Kernels& best() {
  static const Kernels chosen = [] {
    const char* cap = std::getenv("SEISCORE_CONVNET_ISA");
    const std::string limit = cap ? cap : "";
#ifdef SEISCORE_CONVNET_X86
    __builtin_cpu_init();
    const bool avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                        __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
    const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    if (avx512 && limit != "avx2" && limit != "baseline") return avx512_kernels();
    if (avx2 && limit != "baseline") return avx2_kernels();
#endif
    return baseline_kernels();
  }();
  return chosen;
}

}  // namespace seiscore::picking::convnet_isa
