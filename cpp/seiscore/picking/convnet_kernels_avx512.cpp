// The ConvNet loops for x86-64 with AVX-512 (compiled with -march=x86-64-v4; see
// cpp/CMakeLists.txt). Empty elsewhere.
#if defined(__x86_64__) && defined(__GNUC__)
#define SEISCORE_CONVNET_KERNELS avx512_kernels
#define SEISCORE_CONVNET_NAME "avx512"
#define SEISCORE_CONVNET_LANES 16
#include "seiscore/picking/convnet_kernels.inc"
#endif
