// seiscore/traveltime/grid.hpp — interpolation of (depth, distance) travel-time tables:
// point queries, station-elevation correction, and per-station 3-D travel-time grids.
//
// Table2D
//   t[i_depth * n_distance + i_distance] float32 seconds on regular axes
//     depth_km(i)    = depth0_km + i * depth_step_km      (km below the datum, positive down)
//     distance_km(j) = distance0_km + j * distance_step_km (horizontal, km)
//   NaN entries propagate into every value interpolated from them.
//
// interpolate
//   Bilinear interpolation at n points (distance_km[k], depth_km[k]) -> out[k] (float64 s).
//   A point outside the table (beyond a rounding tolerance of 1e-9 of a step) gives NaN.
//
// elevation_table
//   The table for a receiver elev_km ABOVE the datum, by Fermat's principle, assuming the medium
//   between the datum and the receiver is homogeneous with velocity v0 (km/s, the velocity just
//   below the datum):
//     elev_km > 0: T_e(x, z) = min over x' in [0, x] of T(x', z) + sqrt((x - x')^2 + e^2) / v0,
//                  and for sources above the datum (z < 0) also the straight ray
//                  sqrt(x^2 + (z + e)^2) / v0. Exact for rays that cross the datum once at x'
//                  (the minimum is found on the piecewise-linear table row: a scan of incidence
//                  angles, then golden-section refinement).
//     elev_km < 0: T_e = T + elev_km / v0 (vertical correction: the receiver is below the datum).
//     elev_km = 0: T_e = T.
//   out has the table's shape and axes.
//
// station_grids
//   For every node of a regular 3-D grid (node (ix, iy, iz) at origin + (ix, iy, iz) * spacing,
//   km, x east, y north, z depth; node index (ix * ny + iy) * nz + iz) and every (station,
//   phase): the travel time from the node to the station, bilinear in
//   tables[station * n_phases + phase] (already elevation-corrected) at horizontal distance
//   hypot(x - sx, y - sy) and depth z. Output [n_nodes, n_stations, n_phases] C order:
//     out_seconds  float32 seconds (when not null), and/or
//     out_samples  int32 round(seconds * sampling_rate) (when not null; sampling_rate > 0),
//                  INT32_MIN where the time is NaN.
//   All tables must share the axes of the first. Threads split the nodes.
#pragma once

#include <cstdint>

namespace seiscore::traveltime {

struct Table2D {
  const float* t = nullptr;
  std::int64_t n_depth = 0;
  std::int64_t n_distance = 0;
  double depth0_km = 0;
  double depth_step_km = 1;
  double distance0_km = 0;
  double distance_step_km = 1;
};

struct GridSpec {
  double origin_km[3] = {0, 0, 0};
  double spacing_km[3] = {1, 1, 1};
  std::int64_t shape[3] = {1, 1, 1};
  std::int64_t n_nodes() const { return shape[0] * shape[1] * shape[2]; }
};

void check_table(const Table2D& table);

// Validates a grid spec: positive shape, finite origin, positive spacing, and
// n_nodes * values_per_node below 2^33 (sizes never overflow, and an absurd grid is refused before
// anything is allocated); InvalidArgument with the numbers otherwise.
void check_grid(const GridSpec& grid, std::int64_t values_per_node);

// Bilinear value at (distance, depth); NaN outside the table.
double bilinear(const Table2D& table, double distance_km, double depth_km);

void interpolate(const Table2D& table, const double* distance_km, const double* depth_km, std::int64_t n,
                 double* out, int workers);

void elevation_table(const Table2D& table, double v0_km_s, double elev_km, float* out, int workers);

// tables: n_stations * n_phases tables sharing axes; station_xy_km[2 * n_stations] (x, y).
void station_grids(const Table2D* tables, std::int64_t n_stations, std::int64_t n_phases,
                   const double* station_xy_km, const GridSpec& grid, double sampling_rate, float* out_seconds,
                   std::int32_t* out_samples, int workers);

}  // namespace seiscore::traveltime
