// The ConvNet loops for x86-64 with AVX2 + FMA (compiled with -march=x86-64-v3; see
// cpp/CMakeLists.txt). Empty elsewhere.
#if defined(__x86_64__) && defined(__GNUC__)
#define SEISCORE_CONVNET_KERNELS avx2_kernels
#define SEISCORE_CONVNET_NAME "avx2"
#define SEISCORE_CONVNET_LANES 8
#include "seiscore/picking/convnet_kernels.inc"
#endif
