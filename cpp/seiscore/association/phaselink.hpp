// seiscore/association/phaselink.hpp — the compiled parts of PhaseLink-style association
// (Ross et al. 2019, JGR 124, doi:10.1029/2019JB017450): synthetic pick sequences to train a
// linker, the sequences a trained linker reads, linking its answers into clusters, and locating
// the clusters with the (depth, distance) travel-time tables of the grid search.
//
// Units and conventions (as in grid_search.hpp)
//   Space is local Cartesian km: x east, y north, z depth positive down (km below the datum).
//   Times are float64 seconds from any reference the caller chooses (the same for every pick).
//   Phases: 0 = P, 1 = S.
//
// Travel times (Network)
//   times[table, phase, i_depth, i_distance] float32 seconds for a source at depth
//   depth0_km + i_depth * ddepth_km and a receiver at horizontal distance distance0_km +
//   i_distance * ddistance_km (n_depth, n_distance >= 2), bilinear, NaN outside the table or
//   where it holds NaN (no arrival). Station s uses table station_table[s] (all use table 0
//   when station_table is null): e.g. one table per station elevation, as the grid search has.
//
// Pick features (what a linker reads; Features)
//   A sequence is a start pick and the picks after it (by time) within window_s, at most
//   max_picks in all (the start included). Row k of a sequence is
//     [ (x_s - center_x_km) / scale_km, (y_s - center_y_km) / scale_km,
//       (t_k - t_start) / window_s, phase, 1 ]
//   for a pick of phase `phase` at station s and time t_k; rows after the sequence's length are
//   zero (the last column, 1 for a pick, is the padding flag). Row 0 is the start pick.
//   With pair bounds (pair_lo/pair_hi, below), a pick k enters only when its time after the
//   start pick lies within [pair_lo, pair_hi] of (start station and phase, its station and
//   phase): the picks that no source in the volume could have made together with the start
//   pick are left out (NaN bounds: never).
//
// pair_bounds(): for station-phases a = 2 s + φ and b, the range over sources in the volume of
//   T_b - T_a (arrival-time differences), widened on both sides by margin_s plus the change
//   across half a node diagonal at slowness_s_km (sources are sampled on about n_grid x n_grid
//   horizontally and n_grid / 4 (at least 2) depths). Outputs lo[2 n, 2 n], hi[2 n, 2 n]
//   (float32; NaN where a phase never arrives from the volume).
//
// generate(): synthetic training sequences (seeded; sequence i depends only on seed and
//   first + i, never on workers)
//   Per sequence: an event rate drawn log-uniformly in [rate_min, rate_max] (events/s); events
//   uniform in the volume, or (with probability cluster_prob) Gaussian around a random point of
//   it (sigma log-uniform in [cluster_sigma_min_km, cluster_sigma_max_km], clipped to the
//   volume); origins uniform over [-span_before_s, 2 window_s]; a pick timing error sigma
//   uniform in [noise_min_s, noise_max_s] (plus, for a fraction outlier_fraction of the picks,
//   a uniform error within +-outlier_s); each event a detection distance log-uniform in
//   [radius_min_km, radius_max_km]: station s detects phase φ with probability
//   1 / (1 + exp((h - R) / w)), h the hypocentral distance, w = max(0.1 R, 2 km); a fraction
//   drawn uniformly in [drop_min, drop_max] of the detected picks is dropped; travel times are
//   off by a relative model error (per pick, Gaussian, sigma uniform in [0, model_error_max]
//   per sequence); false picks at
//   every station at a rate log-uniform in [false_rate_min, false_rate_max] (per station and
//   second), P or S with equal chance, uniform in time. The start pick is drawn uniformly among
//   the picks in [0, window_s). Labels: y = 1 for the picks of the start pick's event (the
//   start pick included), 0 for the others; a false start pick is linked to itself only.
//   Outputs x[n, max_picks, 5], y[n, max_picks] (float32, zero after the length) and
//   length[n] (int32). Refused when a stretch would hold more than 2 million picks on average.
//
// build_sequences(): inference sequences
//   Picks sorted by time (station[n] int32, phase[n] int8, time[n] float64, non-decreasing).
//   For each start starts[i] (an index into the picks): x[i, k, :] the features of pick
//   index[i, k] (int64, -1 after length[i]); index[i, 0] = starts[i].
//
// link(): clusters of linked picks (PhaseLink's link_phases, with votes)
//   Linked sets in CSR form: set i is members[offsets[i] .. offsets[i+1]) (pick indices in
//   [0, n_picks); its first entry is the sequence's start pick, the others the picks the linker
//   linked to it), in order of their start pick. A set with fewer than min_nucleate distinct
//   picks is skipped. Otherwise it is merged into the cluster it shares most picks with when
//   those are at least max(min_merge, merge_fraction * set size), else it starts a new cluster.
//   Every merge adds one vote to each pick of the set. Each pick finally belongs to the cluster
//   that gave it most votes (ties: the earlier cluster), or to none.
//   Outputs pick_cluster[n_picks] (int64, -1: none), pick_votes[n_picks] (int32) and the number
//   of clusters (ids 0 .. n-1 in order of creation; a cluster may end up with no picks).
//
// locate(): origins of clusters
//   Each cluster (CSR: members[offsets[c] .. offsets[c+1]) index the picks) is located by a
//   coarse-to-fine grid search: for a trial hypocentre, each member's origin time o = t - T
//   (T its predicted travel time; members whose T is NaN take no part); the score is the best,
//   over windows of consecutive sorted o no wider than 2 tau, of n - sum((o - mean)^2) / tau^2.
//   Level 0 tiles the volume with about 16 x 16 x 2 cells (tau = tolerance_s + the travel time
//   across half a cell diagonal at slowness_s_km), keeps the best 6 nodes; each next level tries
//   the 3 x 3 x 3 nodes around each kept node at half the step, until the step is below
//   min_step_km. The origin time is the mean of the best window at the final node; the inliers
//   are the members within tolerance_s of the prediction. When the members outside it are at
//   least min_picks, they are located again as another event (at most max_events per cluster).
//   Outputs per event: cluster, x, y, z, t0, n_inliers; event_of_member[members] (int64, the
//   event the member is an inlier of, -1: none) and residual_of_member (t - t0 - T, NaN: none).
//
// match(): each event's arrivals among all picks
//   For every event (x, y, z, t0) and station within max_distance_km (horizontal), and phase:
//   the pick of that station and phase nearest to the predicted arrival t0 + T, when within
//   tolerance_s. Output: rows (event, pick, residual) sorted by event then pick.
#pragma once

#include <cstdint>
#include <vector>

namespace seiscore::association::phaselink {

constexpr int kFeatures = 5;

struct Network {
  std::int64_t n_stations = 0;
  const double* x_km = nullptr;
  const double* y_km = nullptr;
  const float* times = nullptr;  // [n_tables, 2, n_depth, n_distance]
  std::int64_t n_tables = 1;
  const std::int32_t* station_table = nullptr;  // [n_stations] in [0, n_tables), or null
  std::int64_t n_depth = 0;
  std::int64_t n_distance = 0;
  double depth0_km = 0.0;
  double ddepth_km = 1.0;
  double distance0_km = 0.0;
  double ddistance_km = 1.0;
};

struct Features {
  double center_x_km = 0.0;
  double center_y_km = 0.0;
  double scale_km = 1.0;
  double window_s = 60.0;
  std::int64_t max_picks = 128;
  const float* pair_lo = nullptr;  // [2 n_stations, 2 n_stations] or null (no pair filter)
  const float* pair_hi = nullptr;
};

struct Volume {
  double x_min_km = 0.0, x_max_km = 0.0;
  double y_min_km = 0.0, y_max_km = 0.0;
  double z_min_km = 0.0, z_max_km = 0.0;
};

struct GeneratorConfig {
  Volume volume;
  double rate_min = 1e-3, rate_max = 0.2;  // events per second
  double cluster_prob = 0.3;
  double cluster_sigma_min_km = 2.0, cluster_sigma_max_km = 20.0;
  double noise_min_s = 0.02, noise_max_s = 0.3;
  double outlier_fraction = 0.02, outlier_s = 1.5;
  double radius_min_km = 20.0, radius_max_km = 300.0;
  double drop_min = 0.0, drop_max = 0.5;
  double false_rate_min = 1e-4, false_rate_max = 0.02;  // per station and second
  double model_error_max = 0.02;  // relative travel-time error (sigma), per sequence in [0, max]
  double span_before_s = 60.0;
};

struct PickColumns {
  std::int64_t n = 0;
  const std::int32_t* station = nullptr;
  const std::int8_t* phase = nullptr;
  const double* time_s = nullptr;  // non-decreasing
};

struct LinkConfig {
  int min_nucleate = 6;
  int min_merge = 3;
  double merge_fraction = 0.5;
};

struct LocateConfig {
  Volume volume;
  double tolerance_s = 1.0;
  double slowness_s_km = 0.3;  // largest slowness along the path (1 / slowest velocity)
  double min_step_km = 0.25;
  int min_picks = 6;
  int max_events = 3;
  int workers = 0;
};

struct Located {
  std::vector<std::int64_t> cluster;
  std::vector<double> x_km, y_km, z_km, time_s;
  std::vector<std::int32_t> n_inliers;
  std::vector<std::int64_t> event_of_member;  // [n_members]
  std::vector<float> residual_of_member;      // [n_members]
};

struct Matches {
  std::vector<std::int64_t> event, pick;
  std::vector<float> residual_s;
};

// Travel time (s) of `phase` from (depth_km) to `station` at horizontal distance_km (bilinear;
// NaN outside the table).
double travel_time(const Network& net, std::int64_t station, int phase, double distance_km,
                   double depth_km);

void pair_bounds(const Network& net, const Volume& volume, int n_grid, double margin_s, double slowness_s_km,
                 int workers, float* lo, float* hi);

void generate(const Network& net, const Features& features, const GeneratorConfig& config,
              std::uint64_t seed, std::int64_t first, std::int64_t n, int workers, float* x, float* y,
              std::int32_t* length);

void build_sequences(const Network& net, const Features& features, const PickColumns& picks,
                     const std::int64_t* starts, std::int64_t n_starts, int workers, float* x,
                     std::int64_t* index, std::int32_t* length);

std::int64_t link(std::int64_t n_picks, const std::int64_t* offsets, std::int64_t n_sets,
                  const std::int64_t* members, const LinkConfig& config, std::int64_t* pick_cluster,
                  std::int32_t* pick_votes);

Located locate(const Network& net, const PickColumns& picks, const std::int64_t* offsets,
               std::int64_t n_clusters, const std::int64_t* members, const LocateConfig& config);

Matches match(const Network& net, const PickColumns& picks, const double* events,
              std::int64_t n_events, double tolerance_s, double max_distance_km, int workers);

}  // namespace seiscore::association::phaselink
