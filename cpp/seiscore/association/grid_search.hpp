// seiscore/association/grid_search.hpp — phase association: picks from many stations → events,
// by a search over space × origin time with a (depth, distance) travel-time table.
//
// Units and conventions
//   Space is local Cartesian km: x east, y north, z depth positive down (km below the datum,
//   normally sea level). Times are float64 seconds from any reference the caller chooses (the
//   same for every pick); results are in that reference.
//
// Inputs (all C-contiguous, owned by the caller, read only)
//   Table           times[phase, i_depth, i_distance] float32 seconds, phase 0 = P, 1 = S, for a
//                   source at depth depth0_km + i_depth * ddepth_km and a receiver on the datum at
//                   horizontal distance distance0_km + i_distance * ddistance_km. n_depth,
//                   n_distance >= 2. Bilinear interpolation; NaN (no arrival) propagates; NaN
//                   outside the table (no extrapolation).
//   StationArrays   x_km[n], y_km[n] float64; delay_s[n, 2] float32 added to the table time of
//                   P (column 0) and S (column 1) at that station — the elevation correction
//                   (elevation_km / surface velocity) and any station term.
//   PickArrays      station[n] int32 in [0, n_stations), phase[n] int8 (0 = P, 1 = S),
//                   time_s[n] float64 finite, weight[n] float32 in (0, 1] (1 for unweighted,
//                   or the pick probability).
//
// Predicted arrival of phase φ at station s from (x, y, z, t0):
//   T = t0 + table(φ, z, hypot(x - x_s, y - y_s)) + delay_s[s, φ]
// A pick matches when |t - T| <= tol, tol = tolerance_s + tolerance_fraction * (T - t0)
// (the tolerance grows with the travel time, i.e. with distance). Only stations within
// max_distance_km (horizontal) of the source take part. A matching pick scores
// weight * (1 - (r / tol)^2), r = t - T; a (station, phase) contributes at most one pick, its
// best-scoring one.
//
// associate(): the search
//   1. Coarse cells (cell_km × cell_km × cell_depth_km) tile the volume. For each cell and
//      (station, phase) the travel-time range over the cell widens the tolerance window, so a
//      pick "fits" a cell at origin time t0 when t - t0 is in [mid - half, mid + half].
//   2. Time is cut into blocks (core length max(block_s, 3M - m), M and m the largest and
//      smallest window ends over all cells and stations). A block searches origin times in its
//      core ± M. A histogram counts, per cell and origin-time bin (bin_s), the free picks that
//      fit; its local maxima over 3×3×3 cells × 3 bins are the seeds.
//   3. Seeds and refined candidates share one best-first queue: a seed is keyed by its exact
//      count of free picks that no pending candidate holds (re-counted lazily, so a seed of an
//      event already refined waits behind it), a candidate by its score. A seed at the top is
//      checked two levels finer (half- and quarter-size sub-cells, their own windows; as an
//      octree): some quarter cell must hold, at one origin time, enough picks for an event
//      (counts below). It is then refined — a 3×3×3 grid in the cell, a coarse-to-fine pattern
//      search whose tolerance narrows with the step, picks pulled in at 3× the tolerance and
//      searched again, then Gauss–Newton on the matched picks with re-matching at every
//      station — into a candidate. A candidate at the top whose picks are all still free
//      becomes an event if it has >= min_picks picks, >= min_p P, >= min_s S, >= min_p_and_s
//      stations with both, and RMS <= max_rms_s; otherwise it is matched again from its origin.
//      Picks at stations beyond the last distance where >= min_pick_fraction of the stations so
//      far (outwards from the epicentre) have a pick are not matched (distance criterion).
//   4. An event's picks leave the pool and the histogram (cells within 5 cells of it), and the
//      seeds that appear where counts fell are queued. The neighbours that a seed alone kept
//      from being seeds are queued when it fails the sub-cell check, and (one generation only)
//      when its refinement fails. The search ends when the queue is empty.
//   5. Blocks run in two passes (even, then odd blocks), each pass multi-threaded; blocks of
//      one pass read disjoint picks. Events whose origin is in a first-pass block's margins are
//      found but only reserve their picks; the second pass emits what it finds. The result does
//      not depend on `workers`.
//   Working memory per running block: n_cells × (block length + 2M) / bin_s int32 counters.
//
// Output (Result)
//   Events sorted by origin time; event e has time_s[e], x/y/z_km[e], n_p[e], n_s[e] (matched
//   picks), rms_s[e] (RMS of the matched picks' residuals) and score[e] (summed pick scores).
//   pick_event[i] is the event of input pick i (-1: none); pick_residual_s[i] = t - T (NaN: none).
//   Each pick belongs to at most one event; an event has at most one pick per station and phase.
#pragma once

#include <cstdint>
#include <limits>
#include <vector>

namespace seiscore::association {

constexpr int kPhaseP = 0;
constexpr int kPhaseS = 1;
constexpr int kPhases = 2;

struct Table {
  const float* times = nullptr;  // [2, n_depth, n_distance]
  std::int64_t n_depth = 0;
  std::int64_t n_distance = 0;
  double depth0_km = 0.0;
  double ddepth_km = 1.0;
  double distance0_km = 0.0;
  double ddistance_km = 1.0;
};

struct StationArrays {
  std::int64_t n = 0;
  const double* x_km = nullptr;
  const double* y_km = nullptr;
  const float* delay_s = nullptr;  // [n, 2]
};

struct PickArrays {
  std::int64_t n = 0;
  const std::int32_t* station = nullptr;
  const std::int8_t* phase = nullptr;
  const double* time_s = nullptr;
  const float* weight = nullptr;
};

struct Config {
  // search volume (km); events are located inside it
  double x_min_km = 0.0, x_max_km = 0.0;
  double y_min_km = 0.0, y_max_km = 0.0;
  double z_min_km = 0.0, z_max_km = 0.0;
  double cell_km = 10.0;        // coarse cell, horizontal
  double cell_depth_km = 10.0;  // coarse cell, vertical
  // matching
  double tolerance_s = 1.0;
  double tolerance_fraction = 0.0;
  double max_distance_km = std::numeric_limits<double>::infinity();
  double min_pick_fraction = 0.25;  // distance criterion (0: off); see associate()
  // acceptance
  int min_picks = 8;
  int min_p = 3;
  int min_s = 2;
  int min_p_and_s = 2;
  double max_rms_s = std::numeric_limits<double>::infinity();
  // time partition and threads
  double block_s = 1800.0;
  double bin_s = 1.0;
  int workers = 0;
};

struct Result {
  std::vector<double> time_s, x_km, y_km, z_km;
  std::vector<std::int32_t> n_p, n_s;
  std::vector<float> rms_s, score;
  std::vector<std::int64_t> pick_event;  // [n_picks]
  std::vector<float> pick_residual_s;    // [n_picks]
  // search statistics
  std::int64_t n_blocks = 0;
  std::int64_t n_seeds = 0;     // (cell, bin) seeds queued
  std::int64_t n_screened = 0;  // seeds dropped by the two-level sub-cell check
  std::int64_t n_refined = 0;   // seeds refined into candidates
  std::int64_t n_rejected = 0;  // refined seeds that did not make a candidate
};

// Travel time (s) of `phase` from depth_km to a datum receiver at distance_km, by bilinear
// interpolation of the table (NaN outside it or where it holds NaN). No station delay.
double travel_time(const Table& table, int phase, double distance_km, double depth_km);

// Scores of given origins: origins[n_origins, 4] = (x_km, y_km, z_km, t0_s). For each origin,
// score[o] = sum over (station, phase) of the best matching pick's weight * (1 - (r/tol)^2), and
// n_p[o], n_s[o] = how many stations have a matching P / S pick. Every pick is available (this
// is the scoring function of the search, exposed for checking).
void score_origins(const PickArrays& picks, const StationArrays& stations, const Table& table,
                   const Config& config, const double* origins, std::int64_t n_origins, double* score,
                   std::int32_t* n_p, std::int32_t* n_s);

Result associate(const PickArrays& picks, const StationArrays& stations, const Table& table,
                 const Config& config);

}  // namespace seiscore::association
