// seiscore/location/migrate.hpp — migration of onsets over a 3-D grid (coalescence), fused with
// the maximum over nodes.
//
// Input (MigrateProblem)
//   onsets   float32 [n_rows, n_samples], C order: one row per (station, phase) pair
//            (row = station * n_phases + phase), sample s at time start + s / sampling_rate.
//            Values must be finite (the Python layer fills gaps with a neutral value).
//   tt       int32 [n_nodes, n_rows], C order: travel time from node n to row r's station for
//            row r's phase, in samples.
//   active   uint8 [n_rows] (or null = all): rows with 0 are left out of the stack (no data).
//   first, n_out   the output covers origin-time samples first .. first + n_out - 1.
//   stacking Mean:          coa(n, t) = (1/A) * sum_{active r} onsets[r, t + tt[n, r]]
//            GeometricMean: coa(n, t) = exp((1/A) * sum_{active r} onsets[r, t + tt[n, r]])
//                           (the QuakeMigrate stack: onsets are log-onsets there)
//            A = number of active rows (must be >= 1).
//   Every read must lie inside the onset rows: first + min(tt) >= 0 and
//   first + n_out - 1 + max(tt) <= n_samples - 1 over the active rows (checked; InvalidArgument
//   otherwise, with the numbers).
//
// migrate_max (fused: the 4-D coalescence is never stored)
//   For every output sample i (origin time first + i):
//     max_coa[i]  = max over nodes of coa(n, first + i)                       (float32)
//     norm_coa[i] = max_coa[i] / mean over nodes of coa(n, first + i)         (float32; 0 when
//                   the mean is 0) — QuakeMigrate's normalised coalescence
//     max_node[i] = the node of the maximum (the lowest node index among equal values) (int64)
//   Any output pointer may be null.
//
// migrate_map
//   map[i * n_nodes + n] = coa(n, first + i) for i < n_out (float32 [n_out, n_nodes]) — the
//   coalescence volumes around a chosen time, for location uncertainty.
//
// Threads: time blocks x node chunks are spread over `workers` threads (<= 0: all hardware
// threads); the node sums are formed in a fixed order, so results do not depend on `workers`.
// The inner stack is vectorised (AVX2 on x86-64 CPUs that have it, chosen at run time; SSE2
// otherwise). The stack over rows is float32; the sum over nodes (for norm_coa) is float32 over
// runs of 512 nodes, then float64.
#pragma once

#include <cstdint>

namespace seiscore::location {

enum class Stacking : int { Mean = 0, GeometricMean = 1 };

struct MigrateProblem {
  const float* onsets = nullptr;
  std::int64_t n_rows = 0;
  std::int64_t n_samples = 0;
  const std::int32_t* tt = nullptr;
  std::int64_t n_nodes = 0;
  const std::uint8_t* active = nullptr;
  std::int64_t first = 0;
  std::int64_t n_out = 0;
  Stacking stacking = Stacking::Mean;
};

// Validates sizes, pointers and the read range; returns the number of active rows.
std::int64_t check_problem(const MigrateProblem& problem, int workers);

void migrate_max(const MigrateProblem& problem, float* max_coa, float* norm_coa, std::int64_t* max_node,
                 int workers);

void migrate_map(const MigrateProblem& problem, float* map, int workers);

}  // namespace seiscore::location
