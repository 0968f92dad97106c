#include "seiscore/traveltime/grid.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "seiscore/core/error.hpp"
#include "seiscore/core/parallel.hpp"

namespace seiscore::traveltime {

namespace {

constexpr double kTol = 1e-9;  // rounding tolerance at the table edges, in steps
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Position along one regular axis: cell index and weight of the upper node; false outside.
struct AxisPos {
  std::int64_t i0;
  double w;
};

inline bool locate(double value, double start, double step, std::int64_t n, AxisPos& pos) {
  const double f = (value - start) / step;
  if (!(f >= -kTol && f <= static_cast<double>(n - 1) + kTol)) return false;  // also NaN
  if (n == 1) {
    pos = {0, 0.0};
    return true;
  }
  const double fc = std::clamp(f, 0.0, static_cast<double>(n - 1));
  std::int64_t i0 = static_cast<std::int64_t>(fc);
  if (i0 >= n - 1) i0 = n - 2;
  pos = {i0, fc - static_cast<double>(i0)};
  return true;
}

inline double lerp_row(const float* row, const AxisPos& pj, std::int64_t n) {
  const double a = row[pj.i0];
  if (n == 1 || pj.w == 0.0) return a;
  return a + (static_cast<double>(row[pj.i0 + 1]) - a) * pj.w;
}

inline double value_at(const Table2D& T, const AxisPos& pi, const AxisPos& pj) {
  const float* r0 = T.t + pi.i0 * T.n_distance;
  const double v0 = lerp_row(r0, pj, T.n_distance);
  if (T.n_depth == 1 || pi.w == 0.0) return v0;
  const double v1 = lerp_row(r0 + T.n_distance, pj, T.n_distance);
  return v0 + (v1 - v0) * pi.w;
}

// min over x' of row(x') + sqrt((x - x')^2 + e^2) / v0 for one table row (e > 0).
double fermat_min(const Table2D& T, const float* row, double x, double e, double v0) {
  const double x_lo = T.distance0_km;
  auto f = [&](double xp) {
    AxisPos pj;
    if (!locate(xp, T.distance0_km, T.distance_step_km, T.n_distance, pj)) return kNaN;
    const double t = lerp_row(row, pj, T.n_distance);
    const double dx = x - xp;
    return t + std::sqrt(dx * dx + e * e) / v0;
  };
  auto better = [](double a, double b) { return std::isnan(b) || a < b; };  // a finite beats NaN
  // scan incidence angles at the datum: x' = x - e tan(theta)
  constexpr int kAngles = 24;
  double xs[kAngles + 2];
  int n = 0;
  for (int k = 0; k <= kAngles; ++k) {
    const double theta = (static_cast<double>(k) / kAngles) * (0.4999 * 3.14159265358979323846);
    double xp = x - e * std::tan(theta);
    if (xp <= x_lo) {
      xs[n++] = x_lo;
      break;
    }
    xs[n++] = xp;
  }
  double best = kNaN;
  int kb = -1;
  for (int k = 0; k < n; ++k) {
    const double v = f(xs[k]);
    if (!std::isnan(v) && better(v, best)) {
      best = v;
      kb = k;
    }
  }
  if (kb < 0) return kNaN;
  // golden-section refinement in the bracket around the best sample (x' decreasing with k)
  double lo = kb + 1 < n ? xs[kb + 1] : xs[kb];
  double hi = kb > 0 ? xs[kb - 1] : xs[kb];
  if (hi > lo) {
    const double g = 0.5 * (std::sqrt(5.0) - 1.0);
    double c = hi - g * (hi - lo), d = lo + g * (hi - lo);
    double fc = f(c), fd = f(d);
    for (int it = 0; it < 60 && hi - lo > 1e-7 * (1.0 + std::fabs(x)); ++it) {
      if (better(fc, fd) || fc == fd) {
        hi = d;
        d = c;
        fd = fc;
        c = hi - g * (hi - lo);
        fc = f(c);
      } else {
        lo = c;
        c = d;
        fc = fd;
        d = lo + g * (hi - lo);
        fd = f(d);
      }
    }
    for (double v : {fc, fd}) {
      if (!std::isnan(v) && v < best) best = v;
    }
  }
  return best;
}

}  // namespace

void check_table(const Table2D& T) {
  SEISCORE_CHECK(T.n_depth >= 1 && T.n_distance >= 1, "travel-time table: empty (" << T.n_depth << " depths x "
                                                                                    << T.n_distance << " distances)");
  SEISCORE_CHECK(T.t != nullptr, "travel-time table: null data");
  SEISCORE_CHECK(std::isfinite(T.depth0_km) && std::isfinite(T.distance0_km), "travel-time table: axes not finite");
  SEISCORE_CHECK(T.depth_step_km > 0 && T.distance_step_km > 0 && std::isfinite(T.depth_step_km) &&
                     std::isfinite(T.distance_step_km),
                 "travel-time table: axis steps must be positive");
}

double bilinear(const Table2D& T, double distance_km, double depth_km) {
  AxisPos pi, pj;
  if (!locate(depth_km, T.depth0_km, T.depth_step_km, T.n_depth, pi)) return kNaN;
  if (!locate(distance_km, T.distance0_km, T.distance_step_km, T.n_distance, pj)) return kNaN;
  return value_at(T, pi, pj);
}

void interpolate(const Table2D& T, const double* distance_km, const double* depth_km, std::int64_t n, double* out,
                 int workers) {
  check_table(T);
  constexpr std::int64_t kChunk = 4096;
  parallel_for((n + kChunk - 1) / kChunk, workers, [&](std::int64_t c) {
    const std::int64_t lo = c * kChunk, hi = std::min(n, lo + kChunk);
    for (std::int64_t k = lo; k < hi; ++k) out[k] = bilinear(T, distance_km[k], depth_km[k]);
  });
}

void elevation_table(const Table2D& T, double v0, double e, float* out, int workers) {
  check_table(T);
  SEISCORE_CHECK(std::isfinite(e), "station elevation must be finite, got " << e);
  SEISCORE_CHECK(v0 > 0 && std::isfinite(v0), "surface velocity must be positive, got " << v0);
  const std::int64_t nz = T.n_depth, nx = T.n_distance;
  parallel_for(nz, workers, [&](std::int64_t i) {
    const float* row = T.t + i * nx;
    float* o = out + i * nx;
    const double z = T.depth0_km + static_cast<double>(i) * T.depth_step_km;
    for (std::int64_t j = 0; j < nx; ++j) {
      const double x = T.distance0_km + static_cast<double>(j) * T.distance_step_km;
      double t;
      if (e == 0.0) {
        t = row[j];
      } else if (e < 0.0) {
        t = static_cast<double>(row[j]) + e / v0;
      } else {
        t = fermat_min(T, row, x, e, v0);
        if (z < 0.0) {
          const double dz = z + e;
          const double direct = std::sqrt(x * x + dz * dz) / v0;
          if (std::isnan(t) || direct < t) t = direct;
        }
      }
      o[j] = static_cast<float>(t);
    }
  });
}

void check_grid(const GridSpec& g, std::int64_t values_per_node) {
  // 2^33 travel times (32 GiB as float32): far beyond any location grid (a QuakeMigrate-sized grid
  // of 10^7 nodes x 100 stations x 2 phases is 2 x 10^9); the Python layer also checks the memory
  // actually available (traveltime.check_grid_memory)
  constexpr double kMaxValues = 8589934592.0;
  double values = static_cast<double>(std::max<std::int64_t>(values_per_node, 1));
  for (int a = 0; a < 3; ++a) {
    SEISCORE_CHECK(g.shape[a] >= 1, "grid: shape must be positive, got " << g.shape[a] << " along axis " << a);
    SEISCORE_CHECK(g.spacing_km[a] > 0 && std::isfinite(g.spacing_km[a]),
                   "grid: spacing must be positive and finite, got " << g.spacing_km[a]);
    SEISCORE_CHECK(std::isfinite(g.origin_km[a]), "grid: origin must be finite");
    values *= static_cast<double>(g.shape[a]);
  }
  SEISCORE_CHECK(values < kMaxValues, "grid: " << g.shape[0] << " x " << g.shape[1] << " x " << g.shape[2]
                                               << " nodes x " << values_per_node
                                               << " travel times is far too large; use a coarser grid");
}

void station_grids(const Table2D* tables, std::int64_t n_st, std::int64_t n_ph, const double* xy, const GridSpec& g,
                   double fs, float* out_s, std::int32_t* out_i, int workers) {
  SEISCORE_CHECK(n_st >= 0 && n_ph >= 1, "station_grids: need at least one phase");
  check_grid(g, n_st * n_ph);
  SEISCORE_CHECK(out_i == nullptr || (fs > 0 && std::isfinite(fs)), "sampling_rate must be positive, got " << fs);
  const std::int64_t n_tab = n_st * n_ph;
  if (n_tab == 0) return;
  const Table2D& T0 = tables[0];
  for (std::int64_t k = 0; k < n_tab; ++k) {
    check_table(tables[k]);
    const Table2D& T = tables[k];
    SEISCORE_CHECK(T.n_depth == T0.n_depth && T.n_distance == T0.n_distance && T.depth0_km == T0.depth0_km &&
                       T.depth_step_km == T0.depth_step_km && T.distance0_km == T0.distance0_km &&
                       T.distance_step_km == T0.distance_step_km,
                   "station_grids: all tables must share the axes of the first");
  }
  for (std::int64_t s = 0; s < n_st; ++s)
    SEISCORE_CHECK(std::isfinite(xy[2 * s]) && std::isfinite(xy[2 * s + 1]), "station " << s << ": position not finite");
  const std::int64_t nx = g.shape[0], ny = g.shape[1], nz = g.shape[2];
  const std::int64_t per_node = n_tab;
  parallel_for(nx * ny, workers, [&](std::int64_t col) {
    const std::int64_t ix = col / ny, iy = col % ny;
    const double x = g.origin_km[0] + static_cast<double>(ix) * g.spacing_km[0];
    const double y = g.origin_km[1] + static_cast<double>(iy) * g.spacing_km[1];
    std::vector<AxisPos> pj(static_cast<std::size_t>(n_st));
    std::vector<char> ok(static_cast<std::size_t>(n_st));
    for (std::int64_t s = 0; s < n_st; ++s) {
      const double d = std::hypot(x - xy[2 * s], y - xy[2 * s + 1]);
      ok[s] = locate(d, T0.distance0_km, T0.distance_step_km, T0.n_distance, pj[s]);
    }
    for (std::int64_t iz = 0; iz < nz; ++iz) {
      const double z = g.origin_km[2] + static_cast<double>(iz) * g.spacing_km[2];
      AxisPos pi;
      const bool zok = locate(z, T0.depth0_km, T0.depth_step_km, T0.n_depth, pi);
      const std::int64_t node = (ix * ny + iy) * nz + iz;
      for (std::int64_t s = 0; s < n_st; ++s) {
        for (std::int64_t p = 0; p < n_ph; ++p) {
          const std::int64_t k = s * n_ph + p;
          const double t = (zok && ok[s]) ? value_at(tables[k], pi, pj[s]) : kNaN;
          const std::int64_t o = node * per_node + k;
          if (out_s) out_s[o] = static_cast<float>(t);
          if (out_i) {
            const double v = t * fs;
            out_i[o] = (std::isfinite(v) && std::fabs(v) < 2.1e9) ? static_cast<std::int32_t>(std::lrint(v))
                                                                   : std::numeric_limits<std::int32_t>::min();
          }
        }
      }
    }
  });
}

}  // namespace seiscore::traveltime
