#include "seiscore/association/grid_search.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <memory>
#include <mutex>
#include <numeric>
#include <unordered_map>
#include <unordered_set>

#include "seiscore/core/error.hpp"
#include "seiscore/core/interrupt.hpp"
#include "seiscore/core/parallel.hpp"

namespace seiscore::association {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

// The table of station `st`.
inline std::int64_t table_of(const Table& T, std::int64_t st) {
  return T.station_table == nullptr ? 0 : T.station_table[st];
}

// Bilinear interpolation of table `tab`, optionally with the derivatives along distance and
// depth (those of the bilinear patch the point falls in).
inline double lookup(const Table& T, std::int64_t tab, int phase, double d, double z, double* g_d = nullptr,
                     double* g_z = nullptr) {
  const double fd = (d - T.distance0_km) / T.ddistance_km;
  const double fz = (z - T.depth0_km) / T.ddepth_km;
  constexpr double eps = 1e-9;
  if (!(fd >= -eps && fd <= static_cast<double>(T.n_distance - 1) + eps && fz >= -eps &&
        fz <= static_cast<double>(T.n_depth - 1) + eps)) {
    return kNaN;
  }
  const std::int64_t i =
      std::clamp<std::int64_t>(static_cast<std::int64_t>(std::floor(fd)), 0, T.n_distance - 2);
  const std::int64_t j =
      std::clamp<std::int64_t>(static_cast<std::int64_t>(std::floor(fz)), 0, T.n_depth - 2);
  const double a = std::clamp(fd - static_cast<double>(i), 0.0, 1.0);
  const double b = std::clamp(fz - static_cast<double>(j), 0.0, 1.0);
  const float* r0 = T.times + ((tab * kPhases + phase) * T.n_depth + j) * T.n_distance + i;
  const float* r1 = r0 + T.n_distance;
  const double t00 = r0[0], t01 = r0[1], t10 = r1[0], t11 = r1[1];
  if (g_d != nullptr) {
    *g_d = ((1 - b) * (t01 - t00) + b * (t11 - t10)) / T.ddistance_km;
    *g_z = ((1 - a) * (t10 - t00) + a * (t11 - t01)) / T.ddepth_km;
  }
  return (1 - b) * ((1 - a) * t00 + a * t01) + b * ((1 - a) * t10 + a * t11);
}

void validate(const PickArrays& P, const StationArrays& S, const Table& T, const Config& C) {
  SEISCORE_CHECK(T.times != nullptr, "travel-time table: no data");
  SEISCORE_CHECK(T.n_depth >= 2 && T.n_distance >= 2,
                 "travel-time table: needs at least 2 depths and 2 distances, got "
                     << T.n_depth << " x " << T.n_distance);
  SEISCORE_CHECK(std::isfinite(T.depth0_km) && std::isfinite(T.distance0_km) && T.ddepth_km > 0 &&
                     T.ddistance_km > 0 && std::isfinite(T.ddepth_km) && std::isfinite(T.ddistance_km),
                 "travel-time table: axes must be finite with positive spacing");
  SEISCORE_CHECK(T.n_tables >= 1, "travel-time table: needs at least one table, got " << T.n_tables);
  SEISCORE_CHECK(S.n >= 1, "no stations");
  if (T.station_table != nullptr) {
    for (std::int64_t s = 0; s < S.n; ++s) {
      SEISCORE_CHECK(T.station_table[s] >= 0 && T.station_table[s] < T.n_tables,
                     "station " << s << ": table index " << T.station_table[s] << " outside [0, " << T.n_tables
                                << ")");
    }
  }
  SEISCORE_CHECK(S.x_km != nullptr && S.y_km != nullptr && S.delay_s != nullptr, "stations: no data");
  for (std::int64_t s = 0; s < S.n; ++s) {
    SEISCORE_CHECK(std::isfinite(S.x_km[s]) && std::isfinite(S.y_km[s]),
                   "station " << s << ": coordinates must be finite");
    SEISCORE_CHECK(std::isfinite(S.delay_s[2 * s]) && std::isfinite(S.delay_s[2 * s + 1]),
                   "station " << s << ": delays must be finite");
  }
  SEISCORE_CHECK(P.n >= 0, "picks: negative count");
  if (P.n > 0) {
    SEISCORE_CHECK(P.station != nullptr && P.phase != nullptr && P.time_s != nullptr && P.weight != nullptr,
                   "picks: no data");
  }
  for (std::int64_t i = 0; i < P.n; ++i) {
    SEISCORE_CHECK(P.station[i] >= 0 && P.station[i] < S.n,
                   "pick " << i << ": station index " << P.station[i] << " outside [0, " << S.n << ")");
    SEISCORE_CHECK(P.phase[i] == kPhaseP || P.phase[i] == kPhaseS,
                   "pick " << i << ": phase must be 0 (P) or 1 (S), got " << int(P.phase[i]));
    SEISCORE_CHECK(std::isfinite(P.time_s[i]), "pick " << i << ": time is not finite");
    SEISCORE_CHECK(std::isfinite(P.weight[i]) && P.weight[i] > 0,
                   "pick " << i << ": weight must be positive and finite, got " << P.weight[i]);
  }
  SEISCORE_CHECK(std::isfinite(C.x_min_km) && std::isfinite(C.x_max_km) && C.x_max_km >= C.x_min_km,
                 "x range [" << C.x_min_km << ", " << C.x_max_km << "] is invalid");
  SEISCORE_CHECK(std::isfinite(C.y_min_km) && std::isfinite(C.y_max_km) && C.y_max_km >= C.y_min_km,
                 "y range [" << C.y_min_km << ", " << C.y_max_km << "] is invalid");
  SEISCORE_CHECK(std::isfinite(C.z_min_km) && std::isfinite(C.z_max_km) && C.z_max_km >= C.z_min_km,
                 "z range [" << C.z_min_km << ", " << C.z_max_km << "] is invalid");
  SEISCORE_CHECK(C.cell_km > 0 && C.cell_depth_km > 0 && std::isfinite(C.cell_km) && std::isfinite(C.cell_depth_km),
                 "cell sizes must be positive");
  SEISCORE_CHECK(C.tolerance_s > 0 && std::isfinite(C.tolerance_s),
                 "tolerance_s must be positive, got " << C.tolerance_s);
  SEISCORE_CHECK(C.tolerance_fraction >= 0 && std::isfinite(C.tolerance_fraction),
                 "tolerance_fraction must be >= 0, got " << C.tolerance_fraction);
  SEISCORE_CHECK(C.max_distance_km > 0, "max_distance_km must be positive");
  SEISCORE_CHECK(C.min_picks >= 1 && C.min_p >= 0 && C.min_s >= 0 && C.min_p_and_s >= 0,
                 "minimum pick counts must be >= 0 (min_picks >= 1)");
  SEISCORE_CHECK(C.max_rms_s > 0, "max_rms_s must be positive");
  SEISCORE_CHECK(C.min_significance >= 0 && std::isfinite(C.min_significance),
                 "min_significance must be finite and >= 0, got " << C.min_significance);
  SEISCORE_CHECK(C.min_pick_fraction >= 0 && C.min_pick_fraction <= 1, "min_pick_fraction must lie in [0, 1], got " << C.min_pick_fraction);
  SEISCORE_CHECK(C.block_s > 0 && std::isfinite(C.block_s), "block_s must be positive");
  SEISCORE_CHECK(C.bin_s > 0 && std::isfinite(C.bin_s), "bin_s must be positive");
}

// Picks sorted by time, and per (station, phase) slot the time-sorted positions.
struct PickIndex {
  std::int64_t n = 0;
  std::int64_t n_slots = 0;
  std::vector<std::int64_t> orig;  // sorted position -> input index
  std::vector<double> t;
  std::vector<std::int32_t> slot;
  std::vector<float> w;
  std::vector<std::int64_t> slot_begin;  // [n_slots + 1]
  std::vector<std::int64_t> slot_pos;    // sorted positions grouped by slot
  std::vector<double> slot_t;            // their times

  PickIndex(const PickArrays& P, std::int64_t n_stations) : n(P.n), n_slots(n_stations * kPhases) {
    orig.resize(static_cast<std::size_t>(n));
    std::iota(orig.begin(), orig.end(), std::int64_t{0});
    std::stable_sort(orig.begin(), orig.end(),
                     [&](std::int64_t a, std::int64_t b) { return P.time_s[a] < P.time_s[b]; });
    t.resize(static_cast<std::size_t>(n));
    slot.resize(static_cast<std::size_t>(n));
    w.resize(static_cast<std::size_t>(n));
    slot_begin.assign(static_cast<std::size_t>(n_slots + 1), 0);
    for (std::int64_t k = 0; k < n; ++k) {
      const std::int64_t i = orig[k];
      t[k] = P.time_s[i];
      slot[k] = P.station[i] * kPhases + P.phase[i];
      w[k] = P.weight[i];
      ++slot_begin[slot[k] + 1];
    }
    for (std::int64_t s = 0; s < n_slots; ++s) slot_begin[s + 1] += slot_begin[s];
    slot_pos.resize(static_cast<std::size_t>(n));
    slot_t.resize(static_cast<std::size_t>(n));
    std::vector<std::int64_t> fill(slot_begin.begin(), slot_begin.end() - 1);
    for (std::int64_t k = 0; k < n; ++k) {
      const std::int64_t at = fill[slot[k]]++;
      slot_pos[at] = k;
      slot_t[at] = t[k];
    }
  }

  // First index into slot_pos/slot_t of `s` with time >= t0.
  std::int64_t first_at(std::int32_t s, double t0) const {
    const double* b = slot_t.data() + slot_begin[s];
    const double* e = slot_t.data() + slot_begin[s + 1];
    return slot_begin[s] + (std::lower_bound(b, e, t0) - b);
  }
};

inline double tolerance(const Config& C, double tt) { return C.tolerance_s + C.tolerance_fraction * std::max(tt, 0.0); }

// One (station, phase) window of a coarse cell: a pick at time t fits origin t0 when
// t - t0 is in [mid - half, mid + half].
struct CellSlot {
  std::int32_t slot;
  float mid;
  float half;
};

struct Grid {
  std::int64_t nx = 1, ny = 1, nz = 1, n_cells = 1;
  double hx = 0, hy = 0, hz = 0;  // cell sizes (0 along a collapsed axis)
  std::vector<std::int64_t> cell_begin;
  std::vector<CellSlot> cell_slots;
  double w_lo = 0.0;  // smallest window start (mid - half), <= 0
  double w_hi = 0.0;  // largest window end (mid + half)
  double slowness_max = 0.0;  // largest |dt/dd| or |dt/dz| in the table (s/km)

  void centre(const Config& C, std::int64_t c, double* x, double* y, double* z) const {
    const std::int64_t iz = c % nz, iy = (c / nz) % ny, ix = c / (nz * ny);
    *x = C.x_min_km + (static_cast<double>(ix) + 0.5) * hx;
    *y = C.y_min_km + (static_cast<double>(iy) + 0.5) * hy;
    *z = C.z_min_km + (static_cast<double>(iz) + 0.5) * hz;
  }
};

// Cells along one axis, computed in double and capped (the caller refuses more than
// kMaxCells in all, so the cap only keeps the conversion to an integer defined).
constexpr double kMaxCells = 4'000'000;
std::int64_t cells_along(double lo, double hi, double cell) {
  const double span = hi - lo;
  if (span <= 0) return 1;
  const double n = std::ceil(span / cell - 1e-9);
  return std::max<std::int64_t>(1, static_cast<std::int64_t>(std::min(n, 2 * kMaxCells)));
}

// The window of (station s, phase ph) for sources in the box centred at (cx, cy, cz) with sides
// (hx, hy, hz): travel times sampled on samples x samples (distance, depth) points, their range
// widened by 10 % for what lies between samples, plus the tolerance. False when the station is
// beyond max_distance_km of the box or no sample has a finite time.
bool box_window(const Table& T, const Config& C, const StationArrays& S, std::int64_t s, int ph, double cx, double cy,
                double cz, double hx, double hy, double hz, int samples, CellSlot* out) {
  const double ax = std::abs(S.x_km[s] - cx), ay = std::abs(S.y_km[s] - cy);
  const double d_min = std::hypot(std::max(0.0, ax - 0.5 * hx), std::max(0.0, ay - 0.5 * hy));
  if (d_min > C.max_distance_km) return false;
  const double d_max = std::min(std::hypot(ax + 0.5 * hx, ay + 0.5 * hy), C.max_distance_km);
  double lo = kInf, hi = -kInf;
  for (int a = 0; a < samples; ++a) {
    const double d = d_min + (d_max - d_min) * a / (samples - 1);
    for (int b = 0; b < samples; ++b) {
      const double z = cz + hz * (static_cast<double>(b) / (samples - 1) - 0.5);
      const double tt = lookup(T, table_of(T, s), ph, d, z);
      if (std::isfinite(tt)) {
        lo = std::min(lo, tt);
        hi = std::max(hi, tt);
      }
    }
  }
  if (!(lo <= hi)) return false;
  const double delay = S.delay_s[2 * s + ph];
  out->slot = static_cast<std::int32_t>(s * kPhases + ph);
  out->mid = static_cast<float>(0.5 * (lo + hi) + delay);
  out->half = static_cast<float>(0.55 * (hi - lo) + tolerance(C, hi + delay));
  return true;
}

Grid build_grid(const StationArrays& S, const Table& T, const Config& C) {
  Grid G;
  G.nx = cells_along(C.x_min_km, C.x_max_km, C.cell_km);
  G.ny = cells_along(C.y_min_km, C.y_max_km, C.cell_km);
  G.nz = cells_along(C.z_min_km, C.z_max_km, C.cell_depth_km);
  const double n_cells = static_cast<double>(G.nx) * static_cast<double>(G.ny) * static_cast<double>(G.nz);
  SEISCORE_CHECK(n_cells <= kMaxCells, "search volume of " << C.x_max_km - C.x_min_km << " x "
                                                           << C.y_max_km - C.y_min_km << " x "
                                                           << C.z_max_km - C.z_min_km << " km needs " << n_cells
                                                           << " cells of " << C.cell_km << " x " << C.cell_km
                                                           << " x " << C.cell_depth_km << " km (at most "
                                                           << kMaxCells << "); use larger cells");
  G.n_cells = G.nx * G.ny * G.nz;
  G.hx = (C.x_max_km - C.x_min_km) / static_cast<double>(G.nx);
  G.hy = (C.y_max_km - C.y_min_km) / static_cast<double>(G.ny);
  G.hz = (C.z_max_km - C.z_min_km) / static_cast<double>(G.nz);
  for (std::int64_t ph = 0; ph < kPhases * T.n_tables; ++ph) {
    for (std::int64_t j = 0; j < T.n_depth; ++j) {
      const float* row = T.times + (ph * T.n_depth + j) * T.n_distance;
      for (std::int64_t i = 0; i < T.n_distance; ++i) {
        if (i + 1 < T.n_distance) {
          const double g = std::abs(double(row[i + 1]) - row[i]) / T.ddistance_km;
          if (std::isfinite(g)) G.slowness_max = std::max(G.slowness_max, g);
        }
        if (j + 1 < T.n_depth) {
          const double g = std::abs(double(row[i + T.n_distance]) - row[i]) / T.ddepth_km;
          if (std::isfinite(g)) G.slowness_max = std::max(G.slowness_max, g);
        }
      }
    }
  }
  std::vector<std::vector<CellSlot>> per_cell(static_cast<std::size_t>(G.n_cells));
  parallel_for(G.n_cells, C.workers, [&](std::int64_t c) {
    double cx, cy, cz;
    G.centre(C, c, &cx, &cy, &cz);
    auto& out = per_cell[static_cast<std::size_t>(c)];
    for (std::int64_t s = 0; s < S.n; ++s) {
      for (int ph = 0; ph < kPhases; ++ph) {
        CellSlot w;
        if (box_window(T, C, S, s, ph, cx, cy, cz, G.hx, G.hy, G.hz, 5, &w)) out.push_back(w);
      }
    }
  });
  G.cell_begin.assign(static_cast<std::size_t>(G.n_cells + 1), 0);
  for (std::int64_t c = 0; c < G.n_cells; ++c) {
    G.cell_begin[c + 1] = G.cell_begin[c] + static_cast<std::int64_t>(per_cell[c].size());
  }
  G.cell_slots.reserve(static_cast<std::size_t>(G.cell_begin.back()));
  for (auto& v : per_cell) {
    for (const auto& e : v) {
      G.cell_slots.push_back(e);
      G.w_lo = std::min(G.w_lo, static_cast<double>(e.mid - e.half));
      G.w_hi = std::max(G.w_hi, static_cast<double>(e.mid + e.half));
    }
  }
  return G;
}

// Fractions of the tolerance over which the significance is scanned (see the header).
constexpr std::array<double, 4> kChanceFractions = {1.0, 0.5, 0.25, 0.125};
constexpr std::size_t kFractions = kChanceFractions.size();

// One station as the significance sees an origin: its distance; per phase (0 P, 1 S) whether
// the origin reaches it, the expected number of chance picks in the window (rate * 2 tol) and
// the event's pick there as |residual| / tol (2: none); and, per fraction f, the chance that a
// P pick within f tol of its arrival comes with an S pick of the same station at the predicted
// S - P lag (within f (tol_P + tol_S)): real picks come in P/S pairs, so a station's P and S
// windows are not independent.
struct StationChance {
  double d = 0;
  std::int64_t station = 0;
  bool reach[kPhases] = {false, false};
  double expected[kPhases] = {0, 0};
  double u[kPhases] = {2, 2};
  std::array<double, kFractions> pair{};
};

// The chances (none, one, both) that the station's reachable windows catch chance picks within
// fraction fi of the tolerance, and how many of its windows hold the event's picks there.
struct StationOdds {
  double a0, a1, a2;
  int hits;
};

inline StationOdds odds(const StationChance& w, std::size_t fi) {
  const double f = kChanceFractions[fi];
  const double pp = w.reach[0] ? -std::expm1(-f * w.expected[0]) : 0.0;
  const double ps = w.reach[1] ? -std::expm1(-f * w.expected[1]) : 0.0;
  // both: at least as likely as independent windows, at most as likely as either alone
  const double both = (w.reach[0] && w.reach[1]) ? std::min(std::max(pp * ps, pp * w.pair[fi]), std::min(pp, ps)) : 0.0;
  const int hits = (w.reach[0] && w.u[0] <= f ? 1 : 0) + (w.reach[1] && w.u[1] <= f ? 1 : 0);
  return {std::max(0.0, 1 - pp - ps + both), std::max(0.0, pp + ps - 2 * both), both, hits};
}

// -log10 of the smallest chance probability over the distance-ordered station prefixes and the
// window fractions (see the header). For one fraction, the count of chance matches is a sum over
// stations of independent {0, 1, 2} variables (odds above), tracked exactly as a distribution
// dist[0..total] whose last bucket holds P(>= total). `w` is sorted here.
double significance_of(std::vector<StationChance>& w, std::vector<double>& dist, std::vector<double>& next) {
  std::sort(w.begin(), w.end(), [](const StationChance& a, const StationChance& b) {
    return a.d < b.d || (a.d == b.d && a.station < b.station);
  });
  double best = 1.0;
  for (std::size_t fi = 0; fi < kFractions; ++fi) {
    std::int64_t total = 0;
    for (const auto& e : w) total += odds(e, fi).hits;
    if (total == 0) continue;
    const std::size_t n = static_cast<std::size_t>(total + 1);
    dist.assign(n, 0.0);
    dist[0] = 1.0;
    std::int64_t seen = 0, reach = 0;  // event picks so far; highest count with weight
    for (const auto& e : w) {
      const StationOdds o = odds(e, fi);
      next.assign(n, 0.0);
      for (std::int64_t c = 0; c <= reach; ++c) {
        const double v = dist[static_cast<std::size_t>(c)];
        if (c == total) {
          next[static_cast<std::size_t>(total)] += v;  // the last bucket: >= total, whatever comes
          continue;
        }
        next[static_cast<std::size_t>(c)] += v * o.a0;
        next[static_cast<std::size_t>(std::min(c + 1, total))] += v * o.a1;
        next[static_cast<std::size_t>(std::min(c + 2, total))] += v * o.a2;
      }
      dist.swap(next);
      reach = std::min(reach + 2, total);
      seen += o.hits;
      if (seen == 0) continue;
      double tail = 0;
      for (std::int64_t c = seen; c <= total; ++c) tail += dist[static_cast<std::size_t>(c)];
      best = std::min(best, tail);
      if (seen == total) break;  // longer prefixes only add empty windows
    }
  }
  return -std::log10(std::max(best, 1e-300));
}

// Picks per second of every (station, phase) slot among the sorted picks [k0, k1), over their
// span within [lo, hi] (at least 1 s).
void slot_rates(const PickIndex& I, std::int64_t k0, std::int64_t k1, double lo, double hi,
                std::vector<double>* rate) {
  rate->assign(static_cast<std::size_t>(I.n_slots), 0.0);
  if (k1 <= k0) return;
  for (std::int64_t k = k0; k < k1; ++k) (*rate)[I.slot[k]] += 1.0;
  const double span = std::max(1.0, std::min(hi, I.t[k1 - 1]) - std::max(lo, I.t[k0]));
  for (double& r : *rate) r /= span;
}

// Picks per second of `slot` within kLocalRateS of `t` (the span of all picks bounds the
// window; at least 1 s), leaving out one pick when `own` (the event's own): the chance rate
// where pick rates change within a block (bursts of aftershocks).
constexpr double kLocalRateS = 300.0;
double local_rate(const PickIndex& I, std::int64_t slot, double t, bool own) {
  if (I.n == 0) return 0.0;
  const double lo = std::max(t - kLocalRateS, I.t.front()), hi = std::min(t + kLocalRateS, I.t.back());
  const double* b = I.slot_t.data() + I.slot_begin[slot];
  const double* e = I.slot_t.data() + I.slot_begin[slot + 1];
  const double count = static_cast<double>(std::upper_bound(b, e, hi) - std::lower_bound(b, e, lo)) - (own ? 1.0 : 0.0);
  return std::max(count, 0.0) / std::max(hi - lo, 1.0);
}

// For `fractions`: the fraction of the P picks of station `st` within kLocalRateS of `t_p`
// (leaving out the sorted position `own_p`) with an S pick of the station at lag `lag` within
// f * `width` (f the fraction), the prior `prior[f]` counting as one more P pick.
void pair_chances(const PickIndex& I, std::int64_t st, double t_p, double lag, double width, std::int64_t own_p,
                  const std::array<double, kFractions>& prior, std::array<double, kFractions>* out) {
  const std::int64_t sp = st * kPhases + kPhaseP, ss = sp + 1;
  const double* sb = I.slot_t.data() + I.slot_begin[ss];
  const double* se = I.slot_t.data() + I.slot_begin[ss + 1];
  std::array<double, kFractions> hits{};
  double n = 0;
  for (std::int64_t k = I.first_at(static_cast<std::int32_t>(sp), t_p - kLocalRateS);
       k < I.slot_begin[sp + 1] && I.slot_t[k] <= t_p + kLocalRateS; ++k) {
    if (I.slot_pos[k] == own_p) continue;
    n += 1;
    const double want = I.slot_t[k] + lag;
    const double* it = std::lower_bound(sb, se, want);
    double miss = kInf;
    if (it != se) miss = *it - want;
    if (it != sb) miss = std::min(miss, want - *(it - 1));
    for (std::size_t fi = 0; fi < kFractions; ++fi) hits[fi] += miss <= kChanceFractions[fi] * width ? 1.0 : 0.0;
  }
  for (std::size_t fi = 0; fi < kFractions; ++fi) (*out)[fi] = (hits[fi] + prior[fi]) / (n + 1.0);
}

// How the significance sees station `st` for the origin (x, y, z, t0): reach, windows, chance
// rates (the larger of `block_rate[slot]` and the local rate), the event's picks (u[phase] =
// |residual| / tol, 2 for none; own[phase] their sorted positions, -1 for none) and the P/S
// pair chances. Neither phase reaches a station beyond max_distance_km.
StationChance station_chance(const PickIndex& I, const StationArrays& S, const Table& T, const Config& C,
                             const std::vector<double>& block_rate, std::int64_t st, double x, double y, double z,
                             double t0, const double u[kPhases], const std::int64_t own[kPhases]) {
  StationChance c;
  c.station = st;
  c.d = std::hypot(x - S.x_km[st], y - S.y_km[st]);
  if (c.d > C.max_distance_km) return c;
  double arrival[kPhases] = {0, 0}, tol[kPhases] = {0, 0};
  for (int ph = 0; ph < kPhases; ++ph) {
    const double tt0 = lookup(T, table_of(T, st), ph, c.d, z);
    if (!std::isfinite(tt0)) continue;
    const std::int64_t slot = st * kPhases + ph;
    const double tt = tt0 + S.delay_s[slot];
    arrival[ph] = t0 + tt;
    tol[ph] = tolerance(C, tt);
    const double rate = std::max(block_rate[static_cast<std::size_t>(slot)], local_rate(I, slot, arrival[ph], own[ph] >= 0));
    c.reach[ph] = true;
    c.expected[ph] = rate * 2 * tol[ph];
    c.u[ph] = u[ph];
  }
  if (c.reach[0] && c.reach[1]) {
    std::array<double, kFractions> prior{};
    for (std::size_t fi = 0; fi < kFractions; ++fi) prior[fi] = -std::expm1(-kChanceFractions[fi] * c.expected[1]);
    pair_chances(I, st, arrival[0], arrival[1] - arrival[0], tol[0] + tol[1], own[0], prior, &c.pair);
  }
  return c;
}

struct Event {
  double t0 = 0, x = 0, y = 0, z = 0, score = 0;
  float rms = 0, significance = 0;
  int n_p = 0, n_s = 0;
  std::vector<std::int64_t> pos;  // sorted pick positions
  std::vector<float> residual;
};

struct Match {
  std::int64_t pos;
  std::int32_t slot;
  double residual;
  double tol;
  double score;
};

// An entry of the best-first queue: a seed (cell, bin) keyed by its count of fitting picks, or
// a refined candidate event (index into the block's candidates) keyed by its score.
struct Seed {
  double key;
  std::int32_t bin;     // -1 for a candidate
  std::int64_t cell;    // candidate index for a candidate
  bool second = false;  // queued because a neighbour's refinement failed
  std::uint8_t gen = 0;  // unmasked by a chain of this many failed sub-cell checks
};

inline bool seed_less(const Seed& a, const Seed& b) {
  if (a.key != b.key) return a.key < b.key;
  if ((a.bin < 0) != (b.bin < 0)) return a.bin >= 0;  // candidates before seeds of equal key
  if (a.bin != b.bin) return a.bin > b.bin;
  return a.cell > b.cell;
}

// Sub-cell windows shared by all blocks of one associate() call: computed on first use and kept
// (up to a memory cap); they depend only on the geometry, so which thread computes them does
// not change any result.
class WindowCache {
 public:
  using Windows = std::shared_ptr<const std::vector<CellSlot>>;
  explicit WindowCache(std::size_t max_bytes) : max_bytes_(max_bytes) {}

  Windows find(std::int64_t key) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = map_.find(key);
    return it == map_.end() ? nullptr : it->second;
  }

  void insert(std::int64_t key, const Windows& w) {
    std::lock_guard<std::mutex> lock(mutex_);
    const std::size_t bytes = w->size() * sizeof(CellSlot);
    if (bytes_ + bytes > max_bytes_) return;
    if (map_.emplace(key, w).second) bytes_ += bytes;
  }

 private:
  std::mutex mutex_;
  std::unordered_map<std::int64_t, Windows> map_;
  std::size_t bytes_ = 0;
  std::size_t max_bytes_;
};

// Shared state of one associate() call: read-only inputs, the "taken" flags, the window cache.
struct Search {
  const StationArrays& S;
  const Table& T;
  const Config& C;
  const PickIndex& I;
  const Grid& G;
  std::vector<std::uint8_t>& taken;  // by sorted position; written only by the block that owns it
  WindowCache& windows;
};

// The search inside one time block.
class Block {
 public:
  Block(const Search& s, double core0, double core1, bool emit_margins)
      : s_(s), core0_(core0), core1_(core1), emit_margins_(emit_margins) {}

  std::vector<Event> events;
  std::int64_t n_seeds = 0, n_refined = 0, n_rejected = 0, n_screened = 0;

  void run() {
    const Config& C = s_.C;
    const double M = s_.G.w_hi;
    a_ = core0_ - M;
    b_ = core1_ + M;
    const double read_lo = a_ + s_.G.w_lo, read_hi = b_ + M;
    i0_ = std::lower_bound(s_.I.t.begin(), s_.I.t.end(), read_lo) - s_.I.t.begin();
    i1_ = std::upper_bound(s_.I.t.begin(), s_.I.t.end(), read_hi) - s_.I.t.begin();
    if (i1_ - i0_ < C.min_picks) return;
    slot_rates(s_.I, i0_, i1_, read_lo, read_hi, &rate_);
    used_.assign(static_cast<std::size_t>(i1_ - i0_), 0);
    for (std::int64_t k = i0_; k < i1_; ++k) used_[k - i0_] = s_.taken[k];
    in_cand_.assign(static_cast<std::size_t>(i1_ - i0_), 0);
    claims_.assign(static_cast<std::size_t>(i1_ - i0_), 0);
    stamp_.assign(static_cast<std::size_t>(s_.I.n_slots), 0);
    best_.assign(static_cast<std::size_t>(s_.I.n_slots), 0.0);
    best_at_.assign(static_cast<std::size_t>(s_.I.n_slots), 0);

    delta_ = C.bin_s;
    nb_ = std::max<std::int64_t>(1, static_cast<std::int64_t>(std::ceil((b_ - a_) / delta_)));
    hist_.assign(static_cast<std::size_t>(s_.G.n_cells * nb_), 0);
    flags_.assign(static_cast<std::size_t>(s_.G.n_cells * nb_), 0);
    dirty_lo_.assign(static_cast<std::size_t>(s_.G.n_cells), nb_);
    dirty_hi_.assign(static_cast<std::size_t>(s_.G.n_cells), -1);
    removed_t_.assign(static_cast<std::size_t>(s_.I.n_slots), 0.0);
    std::vector<Seed> heap;
    fill_histogram();
    local_maxima(&heap);
    process(heap);
    hist_.clear();
    hist_.shrink_to_fit();
    flags_.clear();
    flags_.shrink_to_fit();
  }

 private:
  const Search& s_;
  double core0_, core1_;
  bool emit_margins_;
  double a_ = 0, b_ = 0, delta_ = 1;
  std::int64_t nb_ = 0, i0_ = 0, i1_ = 0;
  std::vector<std::uint8_t> used_;
  std::vector<std::uint16_t> claims_;  // pending candidates holding each pick
  std::unordered_map<std::int64_t, WindowCache::Windows> sub_cache_;  // sub_windows() used here
  std::vector<std::pair<double, std::int32_t>> gathered_, ends_;       // screen() scratch
  std::vector<std::int32_t> cover_, station_cover_;
  std::vector<std::int32_t> hist_;              // [n_cells, nb_]
  std::vector<std::int64_t> local_begin_;       // free picks of the block by slot (fill_histogram)
  std::vector<double> local_t_;
  // per (cell, bin), as hist_: kRejected (a seed that made no event), kQueued (in the queue)
  std::vector<std::uint8_t> flags_;
  static constexpr std::uint8_t kRejected = 1, kQueued = 2;
  bool rejected(std::int64_t key) const { return (flags_[static_cast<std::size_t>(key)] & kRejected) != 0; }
  void reject(std::int64_t key) { flags_[static_cast<std::size_t>(key)] |= kRejected; }
  std::vector<std::int64_t> dirty_lo_, dirty_hi_;  // per cell: bins to re-scan for seeds (hi < 0: clean)
  std::vector<std::int64_t> dirty_list_;
  std::vector<std::array<std::int64_t, 3>> touched_;  // (cell, first bin, last bin) changed by take()
  std::vector<double> removed_t_;                  // per slot: time of a pick being removed
  // per-slot scratch for "best pick of this slot" with a generation stamp
  std::vector<std::uint32_t> stamp_;
  std::vector<double> best_;
  std::vector<std::int64_t> best_at_;
  std::uint32_t gen_ = 0;
  std::vector<std::uint32_t> in_cand_;  // block-local pick index -> refine generation
  std::uint32_t cand_gen_ = 0;

  // gathered picks of the seed being refined
  struct Cand {
    std::int64_t pos;
    std::int32_t slot;
    std::int32_t phase;
    std::int64_t tab;
    double t, w, sx, sy, delay;
  };
  std::vector<Cand> cand_;
  std::vector<Event> cands_;  // refined candidate events of the current round
  struct Item {
    double o, tol, w;
    std::int32_t slot;
  };
  std::vector<Item> items_;
  std::vector<double> wsum_;
  std::vector<std::pair<double, std::int64_t>> by_distance_;
  std::vector<double> rate_;  // picks per second of each slot in the block (significance)
  std::vector<StationChance> chance_;
  std::vector<double> chance_dist_, chance_next_;

  bool is_free(std::int64_t k) const { return k >= i0_ && k < i1_ && used_[k - i0_] == 0; }

  std::uint32_t next_gen() {
    if (++gen_ == 0) {
      std::fill(stamp_.begin(), stamp_.end(), 0u);
      gen_ = 1;
    }
    return gen_;
  }

  // Count of free picks fitting each (cell, origin-time bin).
  void fill_histogram() {
    const Grid& G = s_.G;
    const PickIndex& I = s_.I;
    // free picks of the block, grouped by slot, as times relative to a_
    const std::int64_t n_slots = I.n_slots;
    local_begin_.assign(static_cast<std::size_t>(n_slots + 1), 0);
    local_t_.clear();
    for (std::int64_t sl = 0; sl < n_slots; ++sl) {
      const std::int64_t kend = I.slot_begin[sl + 1];
      for (std::int64_t k = I.first_at(static_cast<std::int32_t>(sl), s_.I.t[i0_]); k < kend && I.slot_pos[k] < i1_; ++k) {
        if (is_free(I.slot_pos[k])) local_t_.push_back(I.slot_t[k] - a_);
      }
      local_begin_[sl + 1] = static_cast<std::int64_t>(local_t_.size());
    }
    const double inv = 1.0 / delta_;
    std::vector<std::int32_t> diff(static_cast<std::size_t>(nb_ + 1));
    for (std::int64_t c = 0; c < G.n_cells; ++c) {
      std::int32_t* row = hist_.data() + c * nb_;
      const std::int64_t e0 = G.cell_begin[c], e1 = G.cell_begin[c + 1];
      if (e1 - e0 < s_.C.min_picks) {
        std::fill(row, row + nb_, 0);
        continue;
      }
      std::fill(diff.begin(), diff.end(), 0);
      for (std::int64_t e = e0; e < e1; ++e) {
        const CellSlot& cs = G.cell_slots[e];
        const double lo_off = -static_cast<double>(cs.mid) - cs.half, hi_off = -static_cast<double>(cs.mid) + cs.half;
        const double* t = local_t_.data();
        for (std::int64_t k = local_begin_[cs.slot]; k < local_begin_[cs.slot + 1]; ++k) {
          const double f0 = (t[k] + lo_off) * inv, f1 = (t[k] + hi_off) * inv;
          if (f1 < 0 || f0 >= static_cast<double>(nb_)) continue;
          const std::int64_t b0 = f0 <= 0 ? 0 : static_cast<std::int64_t>(f0);
          const std::int64_t b1 = std::min<std::int64_t>(nb_ - 1, static_cast<std::int64_t>(f1));
          ++diff[b0];
          --diff[b1 + 1];
        }
      }
      std::int32_t run = 0;
      for (std::int64_t b = 0; b < nb_; ++b) {
        run += diff[b];
        row[b] = run;
      }
    }
  }

  // A seed: (cell, bin) with at least min_picks and not below any neighbour in the 3x3x3 cells x
  // 3 bins around it, seeds already refined without success aside. Ties: along time the first
  // bin of a plateau; across cells the lower cell.
  bool is_seed(std::int64_t c, std::int64_t b) const {
    const Grid& G = s_.G;
    const std::int32_t* row = hist_.data() + c * nb_;
    const std::int32_t v = row[b];
    if (v < s_.C.min_picks) return false;
    if (b > 0 && row[b - 1] >= v && !rejected(c * nb_ + b - 1)) return false;
    if (b + 1 < nb_ && row[b + 1] > v && !rejected(c * nb_ + b + 1)) return false;
    const std::int64_t iz = c % G.nz, iy = (c / G.nz) % G.ny, ix = c / (G.nz * G.ny);
    for (std::int64_t jx = std::max<std::int64_t>(ix - 1, 0); jx <= std::min(ix + 1, G.nx - 1); ++jx) {
      for (std::int64_t jy = std::max<std::int64_t>(iy - 1, 0); jy <= std::min(iy + 1, G.ny - 1); ++jy) {
        for (std::int64_t jz = std::max<std::int64_t>(iz - 1, 0); jz <= std::min(iz + 1, G.nz - 1); ++jz) {
          const std::int64_t c2 = (jx * G.ny + jy) * G.nz + jz;
          if (c2 == c) continue;
          const std::int32_t* r2 = hist_.data() + c2 * nb_;
          for (std::int64_t b2 = std::max<std::int64_t>(b - 1, 0); b2 <= std::min(b + 1, nb_ - 1); ++b2) {
            const std::int32_t u = r2[b2];
            if ((u > v || (u == v && c2 < c)) && !rejected(c2 * nb_ + b2)) return false;
          }
        }
      }
    }
    return true;
  }

  // After a seed failed the sub-cell check: the neighbours it alone kept from being seeds become
  // seeds (wide windows spread an event's count over several cells, and the highest need not
  // hold the event).
  void unmask(std::int64_t c, std::int64_t b, std::vector<Seed>* heap, bool second, std::uint8_t gen = 0) {
    const Grid& G = s_.G;
    const std::int64_t iz = c % G.nz, iy = (c / G.nz) % G.ny, ix = c / (G.nz * G.ny);
    for (std::int64_t jx = std::max<std::int64_t>(ix - 1, 0); jx <= std::min(ix + 1, G.nx - 1); ++jx) {
      for (std::int64_t jy = std::max<std::int64_t>(iy - 1, 0); jy <= std::min(iy + 1, G.ny - 1); ++jy) {
        for (std::int64_t jz = std::max<std::int64_t>(iz - 1, 0); jz <= std::min(iz + 1, G.nz - 1); ++jz) {
          const std::int64_t c2 = (jx * G.ny + jy) * G.nz + jz;
          for (std::int64_t b2 = std::max<std::int64_t>(b - 1, 0); b2 <= std::min(b + 1, nb_ - 1); ++b2) {
            if ((c2 != c || b2 != b) && is_seed(c2, b2)) push_seed(heap, c2, b2, true, second, gen);
          }
        }
      }
    }
  }

  void push_seed(std::vector<Seed>* heap, std::int64_t c, std::int64_t b, bool keep_heap, bool second = false,
                 std::uint8_t gen = 0) {
    const std::int64_t key = c * nb_ + b;
    std::uint8_t& f = flags_[static_cast<std::size_t>(key)];
    if (f != 0) return;  // rejected, or already queued
    f = kQueued;
    heap->push_back({static_cast<double>(hist_[static_cast<std::size_t>(key)]), static_cast<std::int32_t>(b), c, second, gen});
    if (keep_heap) std::push_heap(heap->begin(), heap->end(), seed_less);
    ++n_seeds;
  }

  void local_maxima(std::vector<Seed>* heap) {
    for (std::int64_t c = 0; c < s_.G.n_cells; ++c) {
      for (std::int64_t b = 0; b < nb_; ++b) {
        if (is_seed(c, b)) push_seed(heap, c, b, false);
      }
    }
  }

  // Takes an event's picks out of the pool: marks them used, removes them from the histogram of
  // the cells around the event (within kTakeRadius cells: where it can hide other events), and
  // queues the seeds that appear where the counts fell. Farther cells keep counts that are too
  // high; that only adds seeds, which the exact re-count drops.
  void take(const Event& ev, std::vector<Seed>* heap) {
    const Grid& G = s_.G;
    const PickIndex& I = s_.I;
    const Config& C = s_.C;
    for (std::int64_t p : ev.pos) used_[p - i0_] = 1;
    const std::uint32_t g = next_gen();
    for (std::int64_t p : ev.pos) {
      stamp_[I.slot[p]] = g;
      removed_t_[I.slot[p]] = I.t[p] - a_;
    }
    auto index_of = [](double v, double lo, double h, std::int64_t n) {
      if (!(h > 0)) return std::int64_t{0};
      return std::clamp<std::int64_t>(static_cast<std::int64_t>(std::floor((v - lo) / h)), 0, n - 1);
    };
    const std::int64_t ex = index_of(ev.x, C.x_min_km, G.hx, G.nx), ey = index_of(ev.y, C.y_min_km, G.hy, G.ny),
                       ez = index_of(ev.z, C.z_min_km, G.hz, G.nz);
    const std::int64_t x0 = std::max<std::int64_t>(ex - kTakeRadius, 0), x1 = std::min(ex + kTakeRadius, G.nx - 1);
    const std::int64_t y0 = std::max<std::int64_t>(ey - kTakeRadius, 0), y1 = std::min(ey + kTakeRadius, G.ny - 1);
    const std::int64_t z0 = std::max<std::int64_t>(ez - kTakeRadius, 0), z1 = std::min(ez + kTakeRadius, G.nz - 1);
    const double inv = 1.0 / delta_;
    touched_.clear();
    for (std::int64_t ix = x0; ix <= x1; ++ix) {
      for (std::int64_t iy = y0; iy <= y1; ++iy) {
        for (std::int64_t iz = z0; iz <= z1; ++iz) {
          const std::int64_t c = (ix * G.ny + iy) * G.nz + iz;
          std::int32_t* row = hist_.data() + c * nb_;
          const std::int64_t e0 = G.cell_begin[c], e1 = G.cell_begin[c + 1];
          if (e1 - e0 < C.min_picks) continue;
          std::int64_t lo = nb_, hi = -1;
          for (std::int64_t e = e0; e < e1; ++e) {
            const CellSlot& cs = G.cell_slots[e];
            if (stamp_[cs.slot] != g) continue;
            const double t = removed_t_[cs.slot];
            const double f0 = (t - cs.mid - cs.half) * inv, f1 = (t - cs.mid + cs.half) * inv;
            if (f1 < 0 || f0 >= static_cast<double>(nb_)) continue;
            const std::int64_t b0 = f0 <= 0 ? 0 : static_cast<std::int64_t>(f0);
            const std::int64_t b1 = std::min<std::int64_t>(nb_ - 1, static_cast<std::int64_t>(f1));
            for (std::int64_t b = b0; b <= b1; ++b) --row[b];
            lo = std::min(lo, b0);
            hi = std::max(hi, b1);
          }
          if (hi >= lo) touched_.push_back({c, lo, hi});
        }
      }
    }
    // new local maxima can only appear next to (in cells and bins) an entry that fell
    for (const auto& tc : touched_) {
      const std::int64_t c = tc[0];
      const std::int64_t iz = c % G.nz, iy = (c / G.nz) % G.ny, ix = c / (G.nz * G.ny);
      for (std::int64_t jx = std::max<std::int64_t>(ix - 1, 0); jx <= std::min(ix + 1, G.nx - 1); ++jx) {
        for (std::int64_t jy = std::max<std::int64_t>(iy - 1, 0); jy <= std::min(iy + 1, G.ny - 1); ++jy) {
          for (std::int64_t jz = std::max<std::int64_t>(iz - 1, 0); jz <= std::min(iz + 1, G.nz - 1); ++jz) {
            const std::int64_t c2 = (jx * G.ny + jy) * G.nz + jz;
            if (dirty_hi_[c2] < 0) dirty_list_.push_back(c2);
            dirty_lo_[c2] = std::min(dirty_lo_[c2], tc[1] - 1);
            dirty_hi_[c2] = std::max(dirty_hi_[c2], tc[2] + 1);
          }
        }
      }
    }
    for (const std::int64_t c : dirty_list_) {
      const std::int64_t lo = std::max<std::int64_t>(dirty_lo_[c], 0), hi = std::min(dirty_hi_[c], nb_ - 1);
      for (std::int64_t b = lo; b <= hi; ++b) {
        if (is_seed(c, b)) push_seed(heap, c, b, true);
      }
      dirty_lo_[c] = nb_;
      dirty_hi_[c] = -1;
    }
    dirty_list_.clear();
  }

  // Takes seeds and candidates best first; returns the number of events made. A seed whose
  // count fell (picks taken since) goes back with its new count; a seed at the top is refined
  // into a candidate, which goes back keyed by its score; a candidate at the top whose picks are
  // all still free becomes an event, otherwise it is matched again from its origin.
  std::int64_t process(std::vector<Seed>& heap) {
    const Config& C = s_.C;
    std::int64_t made = 0;
    cands_.clear();
    std::make_heap(heap.begin(), heap.end(), seed_less);
    auto push = [&](const Seed& e) {
      heap.push_back(e);
      std::push_heap(heap.begin(), heap.end(), seed_less);
    };
    auto claim = [&](const Event& ev, int by) {
      for (std::int64_t p : ev.pos) claims_[p - i0_] = static_cast<std::uint16_t>(claims_[p - i0_] + by);
    };
    while (!heap.empty()) {
      interrupt_point();
      std::pop_heap(heap.begin(), heap.end(), seed_less);
      Seed top = heap.back();
      heap.pop_back();
      if (top.bin < 0) {
        Event& ev = cands_[static_cast<std::size_t>(top.cell)];
        bool stale = false;
        for (std::int64_t p : ev.pos) stale = stale || !is_free(p);
        claim(ev, -1);
        if (stale) {
          Event again;
          if (finalize(ev.x, ev.y, ev.z, ev.t0, &again)) {
            ev = std::move(again);
            claim(ev, +1);
            push({ev.score, -1, top.cell});
          }
          continue;
        }
        ++made;
        take(ev, &heap);
        const bool in_core = ev.t0 >= core0_ && ev.t0 < core1_;
        if (in_core || emit_margins_) {
          for (std::int64_t p : ev.pos) s_.taken[p] = 1;
          events.push_back(std::move(ev));
        }
        continue;
      }
      // a seed, keyed by its count of free picks not claimed by a pending candidate: a seed of
      // an event already refined waits until that candidate is decided
      const auto [now, total] = rescore(top.cell, top.bin);
      if (now < top.key && now > 0) {
        top.key = now;
        push(top);
        continue;
      }
      flags_[static_cast<std::size_t>(top.cell * nb_ + top.bin)] &= static_cast<std::uint8_t>(~kQueued);
      // gone, or mostly the picks of a pending candidate (a duplicate of it)
      if (total < C.min_picks || 2 * now < total) continue;
      if (!screen(top.cell, top.bin)) {
        ++n_screened;
        reject(top.cell * nb_ + top.bin);
        if (top.gen < kMaxUnmask) unmask(top.cell, top.bin, &heap, top.second, static_cast<std::uint8_t>(top.gen + 1));
        continue;
      }
      ++n_refined;
      Event ev;
      const bool ok = refine(top.cell, top.bin, &ev);
      if (!ok) {
        ++n_rejected;
        reject(top.cell * nb_ + top.bin);
        if (!top.second) unmask(top.cell, top.bin, &heap, true);
        continue;
      }
      claim(ev, +1);
      cands_.push_back(std::move(ev));
      push({cands_.back().score, -1, static_cast<std::int64_t>(cands_.size() - 1)});
    }
    return made;
  }

  // Windows of the 8 sub-cells (level 1: half size; level 2: quarter size, inside level-1
  // sub-cell `parent`) of a cell, [sub][entry] in the order of the cell's entries (slot -1
  // where a station is out of reach).
  const std::vector<CellSlot>& sub_windows(std::int64_t cell, int level, int parent) {
    const std::int64_t key = cell * 9 + (level == 1 ? 0 : 1 + parent);
    auto it = sub_cache_.find(key);
    if (it != sub_cache_.end()) return *it->second;
    if (auto shared = s_.windows.find(key)) return *sub_cache_.emplace(key, shared).first->second;
    const Grid& G = s_.G;
    const std::int64_t e0 = G.cell_begin[cell], n = G.cell_begin[cell + 1] - e0;
    std::vector<CellSlot> w(static_cast<std::size_t>(8 * n));
    double cx, cy, cz;
    G.centre(s_.C, cell, &cx, &cy, &cz);
    if (level == 2) {
      cx += (parent & 1 ? 0.25 : -0.25) * G.hx;
      cy += (parent & 2 ? 0.25 : -0.25) * G.hy;
      cz += (parent & 4 ? 0.25 : -0.25) * G.hz;
    }
    const double f = level == 1 ? 0.5 : 0.25;  // side relative to the cell
    for (int sub = 0; sub < 8; ++sub) {
      const double ox = (sub & 1 ? 0.5 : -0.5) * f * G.hx, oy = (sub & 2 ? 0.5 : -0.5) * f * G.hy,
                   oz = (sub & 4 ? 0.5 : -0.5) * f * G.hz;
      for (std::int64_t e = 0; e < n; ++e) {
        const std::int32_t slot = G.cell_slots[e0 + e].slot;
        CellSlot& out = w[static_cast<std::size_t>(sub * n + e)];
        if (!box_window(s_.T, s_.C, s_.S, slot / kPhases, slot % kPhases, cx + ox, cy + oy, cz + oz, f * G.hx,
                        f * G.hy, f * G.hz, 3, &out)) {
          out.slot = -1;
        }
      }
    }
    auto made = std::make_shared<const std::vector<CellSlot>>(std::move(w));
    s_.windows.insert(key, made);
    return *sub_cache_.emplace(key, made).first->second;
  }

  // True when, for one origin time, the gathered picks that fit the windows w[0..n) satisfy the
  // acceptance counts (picks, P, S, stations with both) — a sweep over window ends.
  bool sweep_passes(const CellSlot* w) {
    const Config& C = s_.C;
    ends_.clear();
    for (const auto& gp : gathered_) {
      const CellSlot& cs = w[gp.second];
      if (cs.slot < 0) continue;
      const double o = gp.first - cs.mid;
      ends_.push_back({o - cs.half, gp.second + 1});
      ends_.push_back({o + cs.half, -(gp.second + 1)});
    }
    if (static_cast<std::int64_t>(ends_.size()) < 2 * C.min_picks) return false;
    // starts before ends at the same time: touching windows overlap
    std::sort(ends_.begin(), ends_.end(), [](const std::pair<double, std::int32_t>& a,
                                             const std::pair<double, std::int32_t>& b) {
      return a.first < b.first || (a.first == b.first && a.second > b.second);
    });
    int n_p = 0, n_s = 0, both = 0;
    bool pass = false;
    for (const auto& ep : ends_) {
      const std::int32_t e = std::abs(ep.second) - 1;
      const std::int32_t slot = w[e].slot;
      const std::int32_t st = slot / kPhases;
      if (ep.second > 0) {
        if (cover_[e]++ == 0) {
          (slot % kPhases == kPhaseP ? n_p : n_s) += 1;
          if (++station_cover_[st] == 2) ++both;
          if (n_p + n_s >= C.min_picks && n_p >= C.min_p && n_s >= C.min_s && both >= C.min_p_and_s) pass = true;
        }
      } else if (--cover_[e] == 0) {
        (slot % kPhases == kPhaseP ? n_p : n_s) -= 1;
        if (station_cover_[st]-- == 2) --both;
      }
    }
    return pass;
  }

  // A seed's picks checked two levels finer (half- and quarter-size sub-cells, as an octree):
  // true when some quarter-size sub-cell, at one origin time, holds enough free picks of the
  // seed for an event.
  bool screen(std::int64_t cell, std::int32_t bin) {
    const Grid& G = s_.G;
    const PickIndex& I = s_.I;
    const std::int64_t e0 = G.cell_begin[cell], n = G.cell_begin[cell + 1] - e0;
    const double t_lo = a_ + bin * delta_, t_hi = t_lo + delta_;
    gathered_.clear();
    for (std::int64_t e = 0; e < n; ++e) {
      const CellSlot& cs = G.cell_slots[e0 + e];
      const double lo = t_lo + cs.mid - cs.half, hi = t_hi + cs.mid + cs.half;
      const std::int64_t kend = I.slot_begin[cs.slot + 1];
      for (std::int64_t k = I.first_at(cs.slot, lo); k < kend && I.slot_t[k] <= hi; ++k) {
        const std::int64_t pos = I.slot_pos[k];
        if (is_free(pos)) gathered_.push_back({I.slot_t[k], static_cast<std::int32_t>(e)});
      }
    }
    if (static_cast<std::int64_t>(gathered_.size()) < s_.C.min_picks) return false;
    if (static_cast<std::int64_t>(cover_.size()) < n) cover_.resize(static_cast<std::size_t>(n), 0);
    if (static_cast<std::int64_t>(station_cover_.size()) < s_.S.n) {
      station_cover_.resize(static_cast<std::size_t>(s_.S.n), 0);
    }
    for (int sub = 0; sub < 8; ++sub) {
      if (!sweep_passes(sub_windows(cell, 1, 0).data() + sub * n)) continue;
      for (int sub2 = 0; sub2 < 8; ++sub2) {
        if (sweep_passes(sub_windows(cell, 2, sub).data() + sub2 * n)) return true;
      }
    }
    return false;
  }

  // Distinct slots with a free pick in the seed's windows (any origin time in the bin).
  // (first) distinct slots with a free pick not claimed by a pending candidate, (second) with a
  // free pick at all.
  std::pair<std::int32_t, std::int32_t> rescore(std::int64_t cell, std::int32_t bin) const {
    const Grid& G = s_.G;
    const PickIndex& I = s_.I;
    const double t_lo = a_ + bin * delta_, t_hi = t_lo + delta_;
    std::int32_t unclaimed = 0, any = 0;
    for (std::int64_t e = G.cell_begin[cell]; e < G.cell_begin[cell + 1]; ++e) {
      const CellSlot& cs = G.cell_slots[e];
      const double lo = t_lo + cs.mid - cs.half, hi = t_hi + cs.mid + cs.half;
      const std::int64_t kend = I.slot_begin[cs.slot + 1];
      bool found = false;
      for (std::int64_t k = I.first_at(cs.slot, lo); k < kend && I.slot_t[k] <= hi; ++k) {
        const std::int64_t pos = I.slot_pos[k];
        if (!is_free(pos)) continue;
        found = true;
        if (claims_[pos - i0_] == 0) {
          ++unclaimed;
          break;
        }
      }
      any += found;
    }
    return {unclaimed, any};
  }

  void clamp_to_volume(double* x, double* y, double* z) const {
    const Config& C = s_.C;
    *x = std::clamp(*x, C.x_min_km, C.x_max_km);
    *y = std::clamp(*y, C.y_min_km, C.y_max_km);
    *z = std::clamp(*z, C.z_min_km, C.z_max_km);
  }

  void add_cand(std::int64_t pos) {
    const std::int64_t local = pos - i0_;
    if (in_cand_[local] == cand_gen_) return;
    in_cand_[local] = cand_gen_;
    const StationArrays& S = s_.S;
    const std::int32_t slot = s_.I.slot[pos];
    const std::int64_t st = slot / kPhases;
    const int ph = slot % kPhases;
    cand_.push_back({pos, slot, ph, table_of(s_.T, st), s_.I.t[pos], static_cast<double>(s_.I.w[pos]), S.x_km[st],
                     S.y_km[st], static_cast<double>(S.delay_s[2 * st + ph])});
  }

  // Best origin time and its score for a trial location, over the gathered picks, with the
  // tolerance widened by `extra` seconds.
  double eval(double x, double y, double z, double extra, double* t0_out) {
    const Config& C = s_.C;
    items_.clear();
    double tol_max = 0;
    for (const Cand& c : cand_) {
      const double d = std::hypot(x - c.sx, y - c.sy);
      if (d > C.max_distance_km) continue;
      const double tt = lookup(s_.T, c.tab, c.phase, d, z);
      if (!std::isfinite(tt)) continue;
      const double tol = tolerance(C, tt + c.delay) + extra;
      tol_max = std::max(tol_max, tol);
      items_.push_back({c.t - tt - c.delay, tol, c.w, c.slot});
    }
    *t0_out = kNaN;
    if (items_.empty()) return 0.0;
    std::sort(items_.begin(), items_.end(), [](const Item& a, const Item& b) { return a.o < b.o; });
    const std::size_t n = items_.size();
    double best = -1, best_t0 = kNaN;
    // each anchor's score is at most the summed weight within +-tol_max of it: anchors whose
    // bound does not beat the best so far are skipped (same result as scoring them all)
    wsum_.resize(n + 1);
    wsum_[0] = 0;
    for (std::size_t j = 0; j < n; ++j) wsum_[j + 1] = wsum_[j] + items_[j].w;
    std::size_t lo = 0, hi = 0;
    for (std::size_t a = 0; a < n; ++a) {
      const double t0 = items_[a].o;
      while (items_[lo].o < t0 - tol_max) ++lo;
      while (hi < n && items_[hi].o <= t0 + tol_max) ++hi;
      if (wsum_[hi] - wsum_[lo] <= best) continue;
      const double sc = window_score(lo, t0, tol_max);
      if (sc > best) {
        best = sc;
        best_t0 = t0;
      }
    }
    // polish: weighted mean origin of the best pick per slot around the best anchor
    lo = 0;
    while (items_[lo].o < best_t0 - tol_max) ++lo;
    const std::uint32_t g = next_gen();
    for (std::size_t j = lo; j < n && items_[j].o <= best_t0 + tol_max; ++j) {
      const Item& it = items_[j];
      const double u = (it.o - best_t0) / it.tol;
      if (std::abs(u) > 1) continue;
      const double v = it.w * (1 - u * u);
      if (stamp_[it.slot] != g || v > best_[it.slot]) {
        stamp_[it.slot] = g;
        best_[it.slot] = v;
        best_at_[it.slot] = static_cast<std::int64_t>(j);
      }
    }
    double sw = 0, so = 0;
    for (std::size_t j = lo; j < n && items_[j].o <= best_t0 + tol_max; ++j) {
      const Item& it = items_[j];
      if (stamp_[it.slot] == g && best_at_[it.slot] == static_cast<std::int64_t>(j)) {
        const double wt = it.w / (it.tol * it.tol);
        sw += wt;
        so += wt * (it.o - best_t0);
      }
    }
    if (sw > 0) {
      const double t0p = best_t0 + so / sw;
      std::size_t lo2 = 0;
      while (items_[lo2].o < t0p - tol_max) ++lo2;
      const double sc = window_score(lo2, t0p, tol_max);
      if (sc > best) {
        best = sc;
        best_t0 = t0p;
      }
    }
    *t0_out = best_t0;
    return best;
  }

  double window_score(std::size_t lo, double t0, double tol_max) {
    const std::uint32_t g = next_gen();
    double sc = 0;
    for (std::size_t j = lo; j < items_.size() && items_[j].o <= t0 + tol_max; ++j) {
      const Item& it = items_[j];
      const double u = (it.o - t0) / it.tol;
      if (std::abs(u) > 1) continue;
      const double v = it.w * (1 - u * u);
      if (stamp_[it.slot] != g) {
        stamp_[it.slot] = g;
        best_[it.slot] = v;
        sc += v;
      } else if (v > best_[it.slot]) {
        sc += v - best_[it.slot];
        best_[it.slot] = v;
      }
    }
    return sc;
  }

  // Pattern search from (x, y, z) with initial steps; the tolerance is widened by the travel
  // time across half a step (coarse to fine), and the last sweeps use the plain tolerance.
  void pattern_search(double* x, double* y, double* z, double* t0, double* score, double step0[3]) {
    const double smax = s_.G.slowness_max;
    double step[3] = {step0[0], step0[1], step0[2]};
    auto live = [&](int a) { return step[a] >= kMinStep; };
    auto extra_now = [&] {
      double n2 = 0;
      for (int a = 0; a < 3; ++a) {
        if (live(a)) n2 += step[a] * step[a];
      }
      return 0.5 * smax * std::sqrt(n2);
    };
    double extra = extra_now();
    *score = eval(*x, *y, *z, extra, t0);
    for (int guard = 0; guard < 60; ++guard) {
      bool improved = false;
      for (int axis = 0; axis < 3 && !improved; ++axis) {
        if (!live(axis)) continue;
        for (int sign = -1; sign <= 1; sign += 2) {
          double p[3] = {*x, *y, *z}, t;
          p[axis] += sign * step[axis];
          clamp_to_volume(&p[0], &p[1], &p[2]);
          if (p[axis] == (axis == 0 ? *x : axis == 1 ? *y : *z)) continue;
          const double sc = eval(p[0], p[1], p[2], extra, &t);
          if (sc > *score + 1e-3) {
            *x = p[0];
            *y = p[1];
            *z = p[2];
            *t0 = t;
            *score = sc;
            improved = true;
            break;
          }
        }
      }
      if (improved) continue;
      bool any = false;
      for (double& s : step) {
        s *= 0.5;
        any = any || s >= kMinStep;
      }
      if (!any) break;
      extra = extra_now();
      *score = eval(*x, *y, *z, extra, t0);
    }
    *score = eval(*x, *y, *z, 0.0, t0);
  }

  // Best free pick per (station, phase) for the origin (x, y, z, t0), over all stations, within
  // `scale` times the tolerance.
  void match_all(double x, double y, double z, double t0, double scale, std::vector<Match>* out) {
    const Config& C = s_.C;
    const StationArrays& S = s_.S;
    const PickIndex& I = s_.I;
    out->clear();
    for (std::int64_t st = 0; st < S.n; ++st) {
      const double d = std::hypot(x - S.x_km[st], y - S.y_km[st]);
      if (d > C.max_distance_km) continue;
      for (int ph = 0; ph < kPhases; ++ph) {
        const double tt0 = lookup(s_.T, table_of(s_.T, st), ph, d, z);
        if (!std::isfinite(tt0)) continue;
        const double tt = tt0 + S.delay_s[2 * st + ph];
        const double arrival = t0 + tt, tol = scale * tolerance(C, tt);
        const std::int32_t slot = static_cast<std::int32_t>(st * kPhases + ph);
        const std::int64_t kend = I.slot_begin[slot + 1];
        double best = 0;
        std::int64_t best_k = -1;
        double best_r = 0;
        for (std::int64_t k = I.first_at(slot, arrival - tol); k < kend && I.slot_t[k] <= arrival + tol; ++k) {
          const std::int64_t pos = I.slot_pos[k];
          if (!is_free(pos)) continue;
          const double r = I.slot_t[k] - arrival;
          const double u = r / tol;
          const double v = I.w[pos] * (1 - u * u);
          if (v > best) {
            best = v;
            best_k = pos;
            best_r = r;
          }
        }
        if (best_k >= 0) out->push_back({best_k, slot, best_r, tol, best});
      }
    }
    if (C.min_pick_fraction > 0 && !out->empty()) drop_isolated(x, y, out);
  }

  // The distance criterion: walking the reachable stations outwards from the epicentre, picks
  // at stations beyond the last point where at least min_pick_fraction of the stations so far
  // have a pick are dropped (a far station whose nearer neighbours saw nothing is more likely a
  // coincidence than a detection).
  void drop_isolated(double x, double y, std::vector<Match>* m) {
    const Config& C = s_.C;
    const StationArrays& S = s_.S;
    by_distance_.clear();
    const std::uint32_t g = next_gen();
    for (const Match& e : *m) stamp_[e.slot / kPhases * kPhases] = g;  // stations with a pick
    for (std::int64_t st = 0; st < S.n; ++st) {
      const double d = std::hypot(x - S.x_km[st], y - S.y_km[st]);
      if (d <= C.max_distance_km) by_distance_.push_back({d, st});
    }
    std::sort(by_distance_.begin(), by_distance_.end());
    double picked = 0, total = 0, cut = -1.0;
    for (const auto& ds : by_distance_) {
      total += 1;
      if (stamp_[ds.second * kPhases] == g) {
        picked += 1;
        if (picked >= C.min_pick_fraction * total) cut = ds.first;
      }
    }
    m->erase(std::remove_if(m->begin(), m->end(),
                            [&](const Match& e) {
                              const std::int64_t st = e.slot / kPhases;
                              return std::hypot(x - S.x_km[st], y - S.y_km[st]) > cut;
                            }),
             m->end());
  }

  static double total_score(const std::vector<Match>& m) {
    double s = 0;
    for (const auto& e : m) s += e.score;
    return s;
  }

  // Damped Gauss–Newton on (x, y, z, t0) for the matched picks. Returns false when there are
  // too few picks or the system is singular.
  bool gauss_newton(const std::vector<Match>& m, double* x, double* y, double* z, double* t0) const {
    const StationArrays& S = s_.S;
    const PickIndex& I = s_.I;
    if (m.size() < 4) return false;
    for (int iter = 0; iter < 3; ++iter) {
      double H[4][4] = {};
      double g[4] = {};
      for (const Match& e : m) {
        const std::int64_t st = e.slot / kPhases;
        const int ph = e.slot % kPhases;
        const double dx = *x - S.x_km[st], dy = *y - S.y_km[st];
        const double d = std::hypot(dx, dy);
        double gd = 0, gz = 0;
        const double tt = lookup(s_.T, table_of(s_.T, st), ph, d, *z, &gd, &gz);
        if (!std::isfinite(tt) || !std::isfinite(gd) || !std::isfinite(gz)) continue;
        const double r = I.t[e.pos] - (*t0 + tt + S.delay_s[2 * st + ph]);
        const double wt = I.w[e.pos] / (e.tol * e.tol);
        const double J[4] = {d > 1e-6 ? gd * dx / d : 0.0, d > 1e-6 ? gd * dy / d : 0.0, gz, 1.0};
        for (int a = 0; a < 4; ++a) {
          g[a] += wt * J[a] * r;
          for (int b = 0; b < 4; ++b) H[a][b] += wt * J[a] * J[b];
        }
      }
      for (int a = 0; a < 4; ++a) H[a][a] = H[a][a] * 1.01 + 1e-9;
      double step[4];
      if (!solve4(H, g, step)) return false;
      const double lim = 5.0;
      for (int a = 0; a < 3; ++a) step[a] = std::clamp(step[a], -lim, lim);
      *x += step[0];
      *y += step[1];
      *z += step[2];
      *t0 += step[3];
      clamp_to_volume(x, y, z);
      if (std::abs(step[0]) + std::abs(step[1]) + std::abs(step[2]) < 1e-3) break;
    }
    return std::isfinite(*x) && std::isfinite(*y) && std::isfinite(*z) && std::isfinite(*t0);
  }

  static bool solve4(double H[4][4], const double g[4], double out[4]) {
    double A[4][5];
    for (int i = 0; i < 4; ++i) {
      for (int j = 0; j < 4; ++j) A[i][j] = H[i][j];
      A[i][4] = g[i];
    }
    for (int c = 0; c < 4; ++c) {
      int p = c;
      for (int r = c + 1; r < 4; ++r) {
        if (std::abs(A[r][c]) > std::abs(A[p][c])) p = r;
      }
      if (!(std::abs(A[p][c]) > 1e-300)) return false;
      if (p != c) {
        for (int j = 0; j < 5; ++j) std::swap(A[p][j], A[c][j]);
      }
      for (int r = 0; r < 4; ++r) {
        if (r == c) continue;
        const double f = A[r][c] / A[c][c];
        for (int j = c; j < 5; ++j) A[r][j] -= f * A[c][j];
      }
    }
    for (int i = 0; i < 4; ++i) out[i] = A[i][4] / A[i][i];
    return true;
  }

  bool refine(std::int64_t cell, std::int32_t bin, Event* ev) {
    const Config& C = s_.C;
    const Grid& G = s_.G;
    const PickIndex& I = s_.I;
    // 1. gather the seed's picks
    cand_.clear();
    if (++cand_gen_ == 0) {
      std::fill(in_cand_.begin(), in_cand_.end(), 0u);
      cand_gen_ = 1;
    }
    const double t_lo = a_ + bin * delta_ - delta_, t_hi = a_ + (bin + 1) * delta_ + delta_;
    for (std::int64_t e = G.cell_begin[cell]; e < G.cell_begin[cell + 1]; ++e) {
      const CellSlot& cs = G.cell_slots[e];
      const double lo = t_lo + cs.mid - cs.half, hi = t_hi + cs.mid + cs.half;
      const std::int64_t kend = I.slot_begin[cs.slot + 1];
      for (std::int64_t k = I.first_at(cs.slot, lo); k < kend && I.slot_t[k] <= hi; ++k) {
        if (is_free(I.slot_pos[k])) add_cand(I.slot_pos[k]);
      }
    }
    if (static_cast<std::int64_t>(cand_.size()) < C.min_picks) return false;

    // 2. 3x3x3 grid inside the cell (tolerance widened for the grid spacing), then a pattern
    //    search, coarse to fine
    double cx, cy, cz;
    G.centre(C, cell, &cx, &cy, &cz);
    const double extra0 = 0.5 * G.slowness_max * std::sqrt(G.hx * G.hx + G.hy * G.hy + G.hz * G.hz) / 3.0;
    double bx = cx, by = cy, bz = cz, bt = kNaN, bs = -1;
    for (int i = -1; i <= 1; ++i) {
      for (int j = -1; j <= 1; ++j) {
        for (int k = -1; k <= 1; ++k) {
          if ((G.hx == 0 && i != 0) || (G.hy == 0 && j != 0) || (G.hz == 0 && k != 0)) continue;
          const double x = cx + i * G.hx / 3, y = cy + j * G.hy / 3, z = cz + k * G.hz / 3;
          double t0;
          const double sc = eval(x, y, z, extra0, &t0);
          if (sc > bs) {
            bs = sc;
            bx = x;
            by = y;
            bz = z;
            bt = t0;
          }
        }
      }
    }
    if (!(bs > 0)) return false;
    double step[3] = {G.hx / 6, G.hy / 6, G.hz / 6};
    pattern_search(&bx, &by, &bz, &bt, &bs, step);
    if (!std::isfinite(bt)) return false;

    // a candidate far from significant here does not get there by refining (saves the rest)
    std::vector<Match> m;
    if (C.min_significance > kEarlyMargin) {
      match_all(bx, by, bz, bt, 1.0, &m);
      if (significance(bx, by, bz, bt, m) < C.min_significance - kEarlyMargin) return false;
    }

    // 3. pull in picks that fit the location loosely but were outside the seed's windows, and
    //    search again around it
    match_all(bx, by, bz, bt, 3.0, &m);
    const std::size_t before = cand_.size();
    for (const Match& e : m) add_cand(e.pos);
    if (cand_.size() > before) {
      double step2[3] = {G.hx / 12, G.hy / 12, G.hz / 12};
      pattern_search(&bx, &by, &bz, &bt, &bs, step2);
      if (!std::isfinite(bt)) return false;
    }
    return finalize(bx, by, bz, bt, ev);
  }

  // Match every station from the origin, then Gauss–Newton with re-matching (keeping the
  // best-scoring state), then the acceptance criteria.
  bool finalize(double bx, double by, double bz, double bt, Event* ev) {
    const Config& C = s_.C;
    std::vector<Match> m, trial;
    match_all(bx, by, bz, bt, 1.0, &m);
    double best_score = total_score(m);
    for (int round = 0; round < 3; ++round) {
      double x = bx, y = by, z = bz, t0 = bt;
      if (!gauss_newton(m, &x, &y, &z, &t0)) break;
      match_all(x, y, z, t0, 1.0, &trial);
      const double sc = total_score(trial);
      if (!(sc > best_score + 1e-9)) break;
      best_score = sc;
      bx = x;
      by = y;
      bz = z;
      bt = t0;
      m.swap(trial);
    }

    // acceptance
    int n_p = 0, n_s = 0, n_both = 0;
    for (const Match& e : m) (e.slot % kPhases == kPhaseP ? n_p : n_s) += 1;
    {
      const std::uint32_t g = next_gen();  // stations with a P
      for (const Match& e : m) {
        if (e.slot % kPhases == kPhaseP) stamp_[e.slot] = g;
      }
      for (const Match& e : m) {
        if (e.slot % kPhases == kPhaseS && stamp_[e.slot - 1] == g) ++n_both;
      }
    }
    if (n_p + n_s < C.min_picks || n_p < C.min_p || n_s < C.min_s || n_both < C.min_p_and_s) return false;
    double ss = 0;
    for (const Match& e : m) ss += e.residual * e.residual;
    const double rms = std::sqrt(ss / static_cast<double>(m.size()));
    if (!(rms <= C.max_rms_s)) return false;
    const double sig = significance(bx, by, bz, bt, m);
    if (!(sig >= C.min_significance)) return false;

    ev->t0 = bt;
    ev->x = bx;
    ev->y = by;
    ev->z = bz;
    ev->score = best_score;
    ev->rms = static_cast<float>(rms);
    ev->significance = static_cast<float>(sig);
    ev->n_p = n_p;
    ev->n_s = n_s;
    ev->pos.clear();
    ev->residual.clear();
    for (const Match& e : m) {
      ev->pos.push_back(e.pos);
      ev->residual.push_back(static_cast<float>(e.residual));
    }
    return true;
  }

  // The significance (see the header) of an event at (x, y, z) holding the picks `m`.
  double significance(double x, double y, double z, double t0, const std::vector<Match>& m) {
    const std::uint32_t g = next_gen();
    for (const Match& e : m) {
      stamp_[e.slot] = g;
      best_[e.slot] = std::abs(e.residual) / e.tol;
      best_at_[e.slot] = e.pos;
    }
    chance_.clear();
    for (std::int64_t st = 0; st < s_.S.n; ++st) {
      double u[kPhases];
      std::int64_t own[kPhases];
      for (int ph = 0; ph < kPhases; ++ph) {
        const std::int64_t slot = st * kPhases + ph;
        const bool hit = stamp_[slot] == g;
        u[ph] = hit ? best_[slot] : 2.0;
        own[ph] = hit ? best_at_[slot] : -1;
      }
      const StationChance c = station_chance(s_.I, s_.S, s_.T, s_.C, rate_, st, x, y, z, t0, u, own);
      if (c.reach[0] || c.reach[1]) chance_.push_back(c);
    }
    return significance_of(chance_, chance_dist_, chance_next_);
  }

  static constexpr std::int64_t kTakeRadius = 5;  // cells
  static constexpr double kEarlyMargin = 3.0;  // significance a refinement may still gain
  static constexpr std::uint8_t kMaxUnmask = 6;  // generations of unmasking by failed sub-cell checks
  static constexpr double kMinStep = 0.4;  // km (Gauss–Newton polishes below)
};

}  // namespace

double travel_time(const Table& table, int phase, double distance_km, double depth_km) {
  SEISCORE_CHECK(phase == kPhaseP || phase == kPhaseS, "phase must be 0 (P) or 1 (S)");
  SEISCORE_CHECK(table.times != nullptr && table.n_depth >= 2 && table.n_distance >= 2,
                 "travel-time table: needs at least 2 depths and 2 distances");
  SEISCORE_CHECK(table.n_tables >= 1, "travel-time table: needs at least one table");
  return lookup(table, 0, phase, distance_km, depth_km);
}

void score_origins(const PickArrays& picks, const StationArrays& stations, const Table& table,
                   const Config& config, const double* origins, std::int64_t n_origins, double* score,
                   std::int32_t* n_p, std::int32_t* n_s, double* significance) {
  validate(picks, stations, table, config);
  SEISCORE_CHECK(n_origins >= 0, "origins: negative count");
  const PickIndex I(picks, stations.n);
  std::vector<double> rate;
  if (picks.n > 0) slot_rates(I, 0, I.n, I.t.front(), I.t.back(), &rate);
  parallel_for(n_origins, config.workers, [&](std::int64_t o) {
    const double x = origins[4 * o], y = origins[4 * o + 1], z = origins[4 * o + 2], t0 = origins[4 * o + 3];
    double total = 0;
    std::int32_t np = 0, ns = 0;
    std::vector<StationChance> chance;
    std::vector<double> dist, next;
    for (std::int64_t st = 0; st < stations.n; ++st) {
      const double d = std::hypot(x - stations.x_km[st], y - stations.y_km[st]);
      if (!(d <= config.max_distance_km)) continue;
      double us[kPhases] = {2.0, 2.0};
      std::int64_t own[kPhases] = {-1, -1};
      for (int ph = 0; ph < kPhases; ++ph) {
        const double tt0 = lookup(table, table_of(table, st), ph, d, z);
        if (!std::isfinite(tt0)) continue;
        const double tt = tt0 + stations.delay_s[2 * st + ph];
        const double arrival = t0 + tt, tol = tolerance(config, tt);
        const std::int32_t slot = static_cast<std::int32_t>(st * kPhases + ph);
        double best = -1;
        for (std::int64_t k = I.first_at(slot, arrival - tol);
             k < I.slot_begin[slot + 1] && I.slot_t[k] <= arrival + tol; ++k) {
          const double u = (I.slot_t[k] - arrival) / tol;
          const double v = static_cast<double>(I.w[I.slot_pos[k]]) * (1 - u * u);
          if (v > best) {
            best = v;
            us[ph] = std::abs(u);
            own[ph] = I.slot_pos[k];
          }
        }
        if (best >= 0) {
          total += best;
          (ph == kPhaseP ? np : ns) += 1;
        }
      }
      if (significance != nullptr && picks.n > 0) {
        const StationChance c = station_chance(I, stations, table, config, rate, st, x, y, z, t0, us, own);
        if (c.reach[0] || c.reach[1]) chance.push_back(c);
      }
    }
    if (significance != nullptr) significance[o] = significance_of(chance, dist, next);
    score[o] = total;
    n_p[o] = np;
    n_s[o] = ns;
  });
}

Result associate(const PickArrays& picks, const StationArrays& stations, const Table& table,
                 const Config& config) {
  validate(picks, stations, table, config);
  Result R;
  R.pick_event.assign(static_cast<std::size_t>(picks.n), -1);
  R.pick_residual_s.assign(static_cast<std::size_t>(picks.n), static_cast<float>(kNaN));
  if (picks.n == 0) return R;

  const PickIndex I(picks, stations.n);
  const Grid G = build_grid(stations, table, config);
  if (G.cell_slots.empty()) return R;  // no station can be reached from the volume
  std::vector<std::uint8_t> taken(static_cast<std::size_t>(picks.n), 0);
  WindowCache windows(std::size_t{256} << 20);
  const Search search{stations, table, config, I, G, taken, windows};

  // blocks: cores of length L tile the origin times [t_first - w_hi, t_last - w_lo]
  const double M = G.w_hi;
  const double L = std::max(config.block_s, 3.0 * M - G.w_lo + config.bin_s);
  const double start = I.t.front() - M;
  const double stop = I.t.back() - G.w_lo;
  const std::int64_t n_blocks = std::max<std::int64_t>(1, static_cast<std::int64_t>(std::ceil((stop - start) / L)));
  const double counters = static_cast<double>(G.n_cells) * std::ceil((L + 2 * M) / config.bin_s);
  SEISCORE_CHECK(counters <= 5e8, "the search needs " << counters * 4e-9 << " GB of counters per time block ("
                                                      << G.n_cells << " cells x " << (L + 2 * M) / config.bin_s
                                                      << " origin-time bins); use larger cells, a larger bin_s "
                                                         "or a shorter block_s");
  R.n_blocks = n_blocks;

  std::vector<std::vector<Event>> per_block(static_cast<std::size_t>(n_blocks));
  std::vector<std::int64_t> stats(static_cast<std::size_t>(4 * n_blocks), 0);
  for (int pass = 0; pass < 2; ++pass) {
    const std::int64_t n_pass = (n_blocks - pass + 1) / 2;
    parallel_for(n_pass, config.workers, [&](std::int64_t j) {
      const std::int64_t b = 2 * j + pass;
      Block block(search, start + static_cast<double>(b) * L, start + static_cast<double>(b + 1) * L, pass == 1);
      block.run();
      per_block[b] = std::move(block.events);
      stats[4 * b] = block.n_seeds;
      stats[4 * b + 1] = block.n_screened;
      stats[4 * b + 2] = block.n_refined;
      stats[4 * b + 3] = block.n_rejected;
    });
  }
  for (std::int64_t b = 0; b < n_blocks; ++b) {
    R.n_seeds += stats[4 * b];
    R.n_screened += stats[4 * b + 1];
    R.n_refined += stats[4 * b + 2];
    R.n_rejected += stats[4 * b + 3];
  }

  std::vector<const Event*> all;
  for (const auto& v : per_block) {
    for (const auto& e : v) all.push_back(&e);
  }
  std::stable_sort(all.begin(), all.end(), [](const Event* a, const Event* b) {
    if (a->t0 != b->t0) return a->t0 < b->t0;
    if (a->x != b->x) return a->x < b->x;
    return a->y < b->y;
  });
  const std::size_t ne = all.size();
  R.time_s.resize(ne);
  R.x_km.resize(ne);
  R.y_km.resize(ne);
  R.z_km.resize(ne);
  R.n_p.resize(ne);
  R.n_s.resize(ne);
  R.rms_s.resize(ne);
  R.score.resize(ne);
  R.significance.resize(ne);
  for (std::size_t e = 0; e < ne; ++e) {
    const Event& ev = *all[e];
    R.time_s[e] = ev.t0;
    R.x_km[e] = ev.x;
    R.y_km[e] = ev.y;
    R.z_km[e] = ev.z;
    R.n_p[e] = ev.n_p;
    R.n_s[e] = ev.n_s;
    R.rms_s[e] = ev.rms;
    R.score[e] = static_cast<float>(ev.score);
    R.significance[e] = ev.significance;
    for (std::size_t k = 0; k < ev.pos.size(); ++k) {
      const std::int64_t i = I.orig[ev.pos[k]];
      SEISCORE_ASSERT(R.pick_event[i] == -1);
      R.pick_event[i] = static_cast<std::int64_t>(e);
      R.pick_residual_s[i] = ev.residual[k];
    }
  }
  return R;
}

}  // namespace seiscore::association
