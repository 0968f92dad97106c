// seiscore_cuda/traveltime_interp.hpp — CUDA twin of seiscore::traveltime::station_grids
// (cpp/seiscore/traveltime/grid.hpp), over plain pointers: same inputs, same outputs, same
// rounding rules (double arithmetic, bilinear, round-half-even to samples, INT32_MIN and NaN
// where a time is undefined).
//
//   tables       float32 [n_stations, n_phases, n_depth, n_distance], C order, already
//                elevation-corrected (seiscore::traveltime::elevation_table)
//   axes         {depth0_km, depth_step_km, distance0_km, distance_step_km}
//   station_xy   float64 [n_stations, 2] (x, y) km
//   origin, spacing (km) and shape of the 3-D grid; node (ix, iy, iz) has index
//                (ix * ny + iy) * nz + iz
//   out_seconds  float32 [n_nodes, n_stations, n_phases] (host memory) or null
//   out_samples  int32   [n_nodes, n_stations, n_phases] (host memory) or null;
//                needs sampling_rate > 0
//
// Runs on device `device`; the output is produced in node chunks so device memory stays
// bounded (< ~1 GiB) whatever the grid size. Throws seiscore::cuda::CudaError on CUDA failures
// and std::invalid_argument on bad arguments.
#pragma once

#include <cstdint>

namespace seiscore::cuda {

void traveltime_station_grids(const float* tables, std::int64_t n_stations, std::int64_t n_phases,
                              std::int64_t n_depth, std::int64_t n_distance, const double axes[4],
                              const double* station_xy, const double origin[3], const double spacing[3],
                              const std::int64_t shape[3], double sampling_rate, float* out_seconds,
                              std::int32_t* out_samples, int device = 0);

}  // namespace seiscore::cuda
