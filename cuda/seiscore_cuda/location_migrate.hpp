// seiscore_cuda/location_migrate.hpp — CUDA twins of seiscore::location::migrate_max and
// migrate_map (cpp/seiscore/location/migrate.hpp), over plain host pointers with the same
// contract: onsets float32 [n_rows, n_samples] (row = station * n_phases + phase), tt int32
// [n_nodes, n_rows] in samples, active uint8 [n_rows] or null, output origin-time samples
// first .. first + n_out - 1, stacking 0 = mean, 1 = geometric (exp of the mean of log-onsets).
//
//   location_migrate_max  max_coa[n_out], norm_coa[n_out] (max / mean over nodes; 0 when the
//                         mean is 0), max_node[n_out] (lowest node among equal maxima); any
//                         output may be null
//   location_migrate_map  map[n_out, n_nodes]
//
// The caller validates the problem (seiscore::location::check_problem: sizes, active rows, read
// range); these functions copy the inputs to device `device`, run, and copy the outputs back.
// Sums over nodes are float32 per tile of nodes and float64 across tiles (the CPU order differs:
// results agree to float rounding, and the maximum's node agrees except between near-ties).
// Throws seiscore::cuda::CudaError on CUDA failures.
#pragma once

#include <cstdint>

namespace seiscore::cuda {

struct MigrateArgs {
  const float* onsets = nullptr;
  std::int64_t n_rows = 0;
  std::int64_t n_samples = 0;
  const std::int32_t* tt = nullptr;
  std::int64_t n_nodes = 0;
  const std::uint8_t* active = nullptr;
  std::int64_t first = 0;
  std::int64_t n_out = 0;
  int stacking = 0;
};

void location_migrate_max(const MigrateArgs& args, float* max_coa, float* norm_coa, std::int64_t* max_node,
                          int device = 0);

void location_migrate_map(const MigrateArgs& args, float* map, int device = 0);

}  // namespace seiscore::cuda
