// seiscore/association/grid_search.hpp — phase association: picks from many stations → events,
// by a search over space × origin time with a (depth, distance) travel-time table.
//
// Units and conventions
//   Space is local Cartesian km: x east, y north, z depth positive down (km below the datum,
//   normally sea level). Times are float64 seconds from any reference the caller chooses (the
//   same for every pick); results are in that reference.
//
// Inputs (all C-contiguous, owned by the caller, read only)
//   Table           times[table, phase, i_depth, i_distance] float32 seconds, phase 0 = P,
//                   1 = S, for a source at depth depth0_km + i_depth * ddepth_km and a receiver
//                   at horizontal distance distance0_km + i_distance * ddistance_km. n_depth,
//                   n_distance >= 2. Bilinear interpolation; NaN (no arrival) propagates; NaN
//                   outside the table (no extrapolation). n_tables >= 1 tables share the axes;
//                   station s uses table station_table[s] (all use table 0 when station_table
//                   is null) — e.g. one table per station elevation, with the exact elevation
//                   correction already in it.
//   StationArrays   x_km[n], y_km[n] float64; delay_s[n, 2] float32 added to the table time of
//                   P (column 0) and S (column 1) at that station — a static elevation
//                   correction when the tables do not hold one, and any station term.
//   PickArrays      station[n] int32 in [0, n_stations), phase[n] int8 (0 = P, 1 = S),
//                   time_s[n] float64 finite, weight[n] float32 in (0, 1] (1 for unweighted,
//                   or the pick probability).
//
// Predicted arrival of phase φ at station s from (x, y, z, t0):
//   T = t0 + table[station_table[s]](φ, z, hypot(x - x_s, y - y_s)) + delay_s[s, φ]
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
//      stations with both, RMS <= max_rms_s and significance >= min_significance (below);
//      otherwise it is matched again from its origin.
//      Picks at stations beyond the last distance where >= min_pick_fraction of the stations so
//      far (outwards from the epicentre) have a pick are not matched (distance criterion).
//   4. An event's picks leave the pool and the histogram (cells within 5 cells of it), and the
//      seeds that appear where counts fell are queued. The neighbours that a seed alone kept
//      from being seeds are queued when it fails the sub-cell check (six generations of such
//      failures at most: in pick sets dense with chance coincidences the chains would
//      otherwise visit every cell), and (one generation only) when its refinement fails. A
//      refinement stops early when, after the pattern search in the cell, its matches are more
//      than 3 below min_significance. The search ends when the queue is empty.
//   5. Blocks run in two passes (even, then odd blocks), each pass multi-threaded; blocks of
//      one pass read disjoint picks. Events whose origin is in a first-pass block's margins are
//      found but only reserve their picks; the second pass emits what it finds. The result does
//      not depend on `workers`.
//   Working memory per running block: n_cells × (block length + 2M) / bin_s int32 counters and
//   as many one-byte flags.
//
// Significance of an event (how unlikely its picks are as chance coincidences)
//   Each (station, phase) that the event's origin can reach has a chance p_f = 1 - exp(-rate *
//   2 f tol) that a pick falls within f * tol of its predicted arrival by chance (Poisson), rate
//   being that station and phase's picks per second: the larger of its rate over the block's
//   pick span (all picks) and over the 10 minutes around the predicted arrival (the event's own
//   pick left out), so that bursts of picks within a block count as they are.
//   Walking the stations outwards from the epicentre, P_k,f is the probability that the first k
//   stations' windows (both phases) catch by chance at least as many picks as the event has
//   there within f * tol (a sum of independent Bernoulli(p_f), computed exactly);
//   significance = -log10(min over k and f in {1, 1/2, 1/4, 1/8} of P_k,f). The scan over k
//   puts small events seen by their nearest stations and large ones seen by all on one scale;
//   the scan over f rewards picks that fit far better than the tolerance (real arrivals do,
//   chance ones fall anywhere in it). An event needs significance >= min_significance (0: no
//   condition).
//
// Output (Result)
//   Events sorted by origin time; event e has time_s[e], x/y/z_km[e], n_p[e], n_s[e] (matched
//   picks), rms_s[e] (RMS of the matched picks' residuals), score[e] (summed pick scores) and
//   significance[e] (above).
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
  const float* times = nullptr;  // [n_tables, 2, n_depth, n_distance]
  std::int64_t n_tables = 1;
  const std::int32_t* station_table = nullptr;  // [n_stations] in [0, n_tables), or null: all 0
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
  double min_significance = 0.0;  // -log10 of the chance probability (see above; 0: off)
  // time partition and threads
  double block_s = 1800.0;
  double bin_s = 1.0;
  int workers = 0;
};

struct Result {
  std::vector<double> time_s, x_km, y_km, z_km;
  std::vector<std::int32_t> n_p, n_s;
  std::vector<float> rms_s, score, significance;
  std::vector<std::int64_t> pick_event;  // [n_picks]
  std::vector<float> pick_residual_s;    // [n_picks]
  // search statistics
  std::int64_t n_blocks = 0;
  std::int64_t n_seeds = 0;     // (cell, bin) seeds queued
  std::int64_t n_screened = 0;  // seeds dropped by the two-level sub-cell check
  std::int64_t n_refined = 0;   // seeds refined into candidates
  std::int64_t n_rejected = 0;  // refined seeds that did not make a candidate
};

// Travel time (s) of `phase` from depth_km to a receiver at distance_km, by bilinear
// interpolation of table 0 (NaN outside it or where it holds NaN). No station delay.
double travel_time(const Table& table, int phase, double distance_km, double depth_km);

// Scores of given origins: origins[n_origins, 4] = (x_km, y_km, z_km, t0_s). For each origin,
// score[o] = sum over (station, phase) of the best matching pick's weight * (1 - (r/tol)^2), and
// n_p[o], n_s[o] = how many stations have a matching P / S pick. Every pick is available (this
// is the scoring function of the search, exposed for checking). When `significance` is not
// null it receives each origin's significance (above) for those matches, with the rates of all
// picks over their whole span as the block rates (as the search has them for a single block).
void score_origins(const PickArrays& picks, const StationArrays& stations, const Table& table,
                   const Config& config, const double* origins, std::int64_t n_origins, double* score,
                   std::int32_t* n_p, std::int32_t* n_s, double* significance = nullptr);

Result associate(const PickArrays& picks, const StationArrays& stations, const Table& table,
                 const Config& config);

}  // namespace seiscore::association
