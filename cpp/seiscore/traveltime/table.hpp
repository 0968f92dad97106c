// seiscore/traveltime/table.hpp — first-arrival travel times in a 1-D layered model.
//
// Model (input)
//   A velocity profile given by nodes (depth_km[i], velocity[i]), i = 0..n_nodes-1, depths
//   non-decreasing (km below the datum, positive down; negative = above the datum). Between two
//   nodes the velocity is linear in depth; two nodes at the same depth make a discontinuity (the
//   TauP ".nd" convention). Above the first node the first velocity continues upward, below the
//   last node the last velocity continues downward (a half-space). A velocity <= 0 marks a layer
//   this wave cannot cross (e.g. S in water): no ray through it.
//
// Method
//   Exact ray theory in a stack of constant-velocity sub-layers. The profile is optionally
//   Earth-flattened (earth_radius_km > 0: depth z -> -R ln((R - z) / R), v -> v R / (R - z),
//   which makes flat-layer rays equal to rays in a sphere for distances measured along the
//   surface, as in TauP), then cut into sub-layers no thicker than max_sublayer_km and with at
//   most rel_velocity_step relative velocity change (velocity at the sub-layer mid-point).
//   The first arrival at each (source depth, distance) is the minimum over
//     * the direct ray between source and receiver (ray parameter solved by safeguarded
//       Newton iteration on the distance equation), and
//     * head waves along every sub-layer top faster than everything above it (which, on thin
//       sub-layers of a gradient, converge to the diving / turning rays).
//   The receiver is at the datum (depth 0). Reflections are never first arrivals and are not
//   computed.
//
// Output
//   times[i_depth * n_distances + i_distance], float32 seconds, for a source at
//   source_depth_km[i_depth] (positive down; negative above the datum) and a receiver at the
//   datum at surface distance distance_km[i_distance] >= 0. NaN where no ray exists.
//
// Threads: source depths are processed in parallel (workers <= 0: all hardware threads). The
// result does not depend on the number of workers.
#pragma once

#include <cstdint>

namespace seiscore::traveltime {

struct TableOptions {
  double earth_radius_km = 6371.0;   // <= 0: flat Earth (no flattening)
  double max_sublayer_km = 0.5;      // thickest constant-velocity sub-layer (flattened km)
  double rel_velocity_step = 0.002;  // largest relative velocity change across a sub-layer
};

void first_arrivals(const double* node_depth_km, const double* node_velocity, std::int64_t n_nodes,
                    const double* source_depth_km, std::int64_t n_depths, const double* distance_km,
                    std::int64_t n_distances, const TableOptions& options, float* times, int workers);

}  // namespace seiscore::traveltime
