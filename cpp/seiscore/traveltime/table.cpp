#include "seiscore/traveltime/table.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "seiscore/core/error.hpp"
#include "seiscore/core/interrupt.hpp"
#include "seiscore/core/parallel.hpp"

namespace seiscore::traveltime {

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
// Sub-layers in one profile: the cost of a table grows with their number (head waves per depth
// and distance), and the default options give a few thousand at regional distances.
constexpr std::int64_t kMaxSublayers = 200'000;

// Earth-flattening transform (identity when R <= 0).
struct Flattening {
  double R;
  double depth(double z) const { return R > 0 ? -R * std::log1p(-z / R) : z; }
  double true_depth(double zf) const { return R > 0 ? -R * std::expm1(-zf / R) : zf; }
  double velocity(double v, double z) const { return R > 0 ? v * R / (R - z) : v; }
};

// Constant-velocity sub-layers in flattened depth; the last one is a half-space (bot = +inf).
// vel <= 0: impassable.
struct Stack {
  std::vector<double> top, bot, vel;

  std::size_t size() const { return vel.size(); }

  void push(double t, double b, double v) {
    if (!(b > t)) return;
    if (!vel.empty() && vel.back() == v && bot.back() == t) {
      bot.back() = b;  // merge equal neighbours
      return;
    }
    top.push_back(t);
    bot.push_back(b);
    vel.push_back(v);
  }

  // Layer containing z (top <= z < bot), clamped to the stack.
  std::size_t find(double z) const {
    auto it = std::upper_bound(top.begin(), top.end(), z);
    if (it == top.begin()) return 0;
    return static_cast<std::size_t>(it - top.begin()) - 1;
  }
};

// Number of sub-layers that linear velocity on [a, b] (true depths) is cut into.
double segment_pieces(const Flattening& f, const TableOptions& o, double a, double b, double va, double vb) {
  if (!(b > a)) return 0.0;
  if (va <= 0 || vb <= 0) return 1.0;  // impassable for this wave: one layer
  const double fa = f.depth(a), fb = f.depth(b);
  const double vfa = f.velocity(va, a), vfb = f.velocity(vb, b);
  double n = std::ceil((fb - fa) / o.max_sublayer_km);
  n = std::max(n, std::ceil(std::fabs(std::log(vfb / vfa)) / o.rel_velocity_step));
  return std::max(n, 1.0);
}

// Linear velocity on [a, b] (true depths), cut into sub-layers.
void add_segment(Stack& s, const Flattening& f, const TableOptions& o, double a, double b, double va, double vb) {
  if (!(b > a)) return;
  const double fa = f.depth(a), fb = f.depth(b);
  if (va <= 0 || vb <= 0) {  // impassable for this wave
    s.push(fa, fb, 0.0);
    return;
  }
  const double n = segment_pieces(f, o, a, b, va, vb);  // bounded by count_pieces' check
  const auto pieces = static_cast<std::int64_t>(n);
  for (std::int64_t j = 0; j < pieces; ++j) {
    const double t = fa + (fb - fa) * static_cast<double>(j) / n;
    const double bt = j + 1 == pieces ? fb : fa + (fb - fa) * static_cast<double>(j + 1) / n;
    const double zm = f.true_depth(0.5 * (t + bt));
    const double w = std::clamp((zm - a) / (b - a), 0.0, 1.0);
    s.push(t, bt, f.velocity(va + (vb - va) * w, zm));
  }
}

// Calls seg(a, b, va, vb) for the linear pieces of the profile between z_lo and z_hi.
template <class Seg>
void for_each_segment(const double* nd, const double* nv, std::int64_t n, double z_lo, double z_hi, Seg&& seg) {
  // above the first node: first velocity continues upward
  if (z_lo < nd[0]) seg(z_lo, nd[0], nv[0], nv[0]);
  for (std::int64_t k = 0; k + 1 < n; ++k) {
    const double a = std::max(nd[k], z_lo), b = std::min(nd[k + 1], z_hi);
    if (b <= a) continue;
    // linear between the nodes, evaluated at the clipped ends
    const double span = nd[k + 1] - nd[k];
    const double va = nv[k] + (nv[k + 1] - nv[k]) * (a - nd[k]) / span;
    const double vb = nv[k] + (nv[k + 1] - nv[k]) * (b - nd[k]) / span;
    seg(a, b, va, vb);
  }
  const double last = std::max(nd[n - 1], z_lo);
  if (z_hi > last) seg(last, z_hi, nv[n - 1], nv[n - 1]);
}

Stack build_stack(const double* nd, const double* nv, std::int64_t n, double z_lo, double z_hi, const Flattening& f,
                  const TableOptions& o) {
  double total = 0;
  for_each_segment(nd, nv, n, z_lo, z_hi,
                   [&](double a, double b, double va, double vb) { total += segment_pieces(f, o, a, b, va, vb); });
  SEISCORE_CHECK(total <= static_cast<double>(kMaxSublayers),
                 "travel-time table: max_sublayer_km=" << o.max_sublayer_km << " and rel_velocity_step="
                                                       << o.rel_velocity_step << " cut the model into " << total
                                                       << " sub-layers (at most " << kMaxSublayers
                                                       << "); use larger values");
  Stack s;
  for_each_segment(nd, nv, n, z_lo, z_hi,
                   [&](double a, double b, double va, double vb) { add_segment(s, f, o, a, b, va, vb); });
  // the half-space below
  const double fz = f.depth(z_hi);
  const double vh = nv[n - 1] > 0 ? f.velocity(nv[n - 1], z_hi) : 0.0;
  s.push(fz, kInf, vh);
  return s;
}

// (thickness, velocity) of the parts of the stack inside [a, b] (flattened).
void pieces_between(const Stack& s, double a, double b, std::vector<double>& h, std::vector<double>& v) {
  h.clear();
  v.clear();
  if (!(b > a)) return;
  for (std::size_t i = s.find(a); i < s.size() && s.top[i] < b; ++i) {
    const double t = std::max(s.top[i], a), bt = std::min(s.bot[i], b);
    if (bt > t) {
      h.push_back(bt - t);
      v.push_back(s.vel[i]);
    }
  }
}

// Vertical slowness contributions for ray parameter p: tau and distance over [a, b];
// returns false when the ray cannot cross (p * v >= 1 or impassable).
bool leg(const Stack& s, double a, double b, double p, double& tau, double& x) {
  tau = 0;
  x = 0;
  if (!(b > a)) return true;
  for (std::size_t i = s.find(a); i < s.size() && s.top[i] < b; ++i) {
    const double t = std::max(s.top[i], a), bt = std::min(s.bot[i], b);
    if (!(bt > t)) continue;
    const double v = s.vel[i];
    if (!(v > 0)) return false;
    const double u = 1.0 / v;
    const double eta2 = (u - p) * (u + p);
    if (!(eta2 > 0)) return false;
    const double eta = std::sqrt(eta2);
    tau += (bt - t) * eta;
    x += (bt - t) * p / eta;
  }
  return true;
}

struct HeadWave {
  double p, tau, xcrit;
};

// Direct ray through the pieces (h, v): time for horizontal distance x, warm-started with p.
double direct_time(const std::vector<double>& h, const std::vector<double>& v, double vmax, double x, double& p_io) {
  double hsum = 0, t0 = 0;
  for (std::size_t i = 0; i < h.size(); ++i) {
    hsum += h[i];
    t0 += h[i] / v[i];
  }
  if (x <= 0) {
    p_io = 0;
    return t0;
  }
  const double pmax = 1.0 / vmax;
  double lo = 0, hi = pmax;
  double p = p_io;
  if (!(p > lo && p < hi)) p = pmax * x / std::sqrt(x * x + hsum * hsum) * 0.999;
  const double tol = 1e-10 * (1.0 + x);
  for (int it = 0; it < 200; ++it) {
    double X = 0, dX = 0;
    bool finite = true;
    for (std::size_t i = 0; i < h.size(); ++i) {
      const double pv = p * v[i];
      const double q = (1.0 - pv) * (1.0 + pv);
      if (!(q > 0)) {
        finite = false;
        break;
      }
      const double sq = std::sqrt(q);
      X += h[i] * pv / sq;
      dX += h[i] * v[i] / (q * sq);
    }
    if (!finite) {
      hi = p;
      p = 0.5 * (lo + hi);
      continue;
    }
    const double err = X - x;
    if (std::fabs(err) <= tol) break;
    if (err < 0)
      lo = p;
    else
      hi = p;
    double pn = p - err / dX;
    if (!(pn > lo && pn < hi)) pn = 0.5 * (lo + hi);
    if (pn == p || hi - lo <= 1e-16 * pmax) break;
    p = pn;
  }
  p_io = p;
  double t = 0;
  for (std::size_t i = 0; i < h.size(); ++i) {
    const double pv = p * v[i];
    const double q = std::max((1.0 - pv) * (1.0 + pv), 1e-300);
    t += h[i] / (v[i] * std::sqrt(q));
  }
  return t;
}

void one_depth(const Stack& s, const Flattening& f, double zs_true, const double* dist, std::int64_t nx, float* out) {
  const double zs = f.depth(zs_true);
  const double a = std::min(0.0, zs), b = std::max(0.0, zs);

  // --- head waves along sub-layer tops below both source and receiver
  std::vector<HeadWave> heads;
  {
    // vmax: fastest layer that the two legs cross above the interface at top[i]
    double vmax = 0;
    for (std::size_t i = s.find(a); i < s.size(); ++i) {
      if (i > 0 && s.top[i] >= b && s.vel[i] > vmax) {
        const double p = 1.0 / s.vel[i];
        double tr, xr, ts, xs;
        if (leg(s, 0.0, s.top[i], p, tr, xr) && leg(s, zs, s.top[i], p, ts, xs)) {
          heads.push_back({p, tr + ts, xr + xs});
        }
      }
      if (!(s.vel[i] > 0)) break;  // nothing deeper can be reached through an impassable layer
      vmax = std::max(vmax, s.vel[i]);
    }
  }

  // --- direct ray between source and receiver
  std::vector<double> h, v;
  pieces_between(s, a, b, h, v);
  bool direct_ok = true;
  double vmax = 0;
  for (double vi : v) {
    if (!(vi > 0)) direct_ok = false;
    vmax = std::max(vmax, vi);
  }
  double v_here = 0;  // zero-thickness path: the layer at the source/receiver level
  if (h.empty()) {
    v_here = s.vel[s.find(b)];
    if (!(v_here > 0)) direct_ok = false;
  }
  double hsum = 0;
  for (double hi : h) hsum += hi;

  double p_warm = -1;
  for (std::int64_t j = 0; j < nx; ++j) {
    if ((j & 255) == 0) interrupt_point();
    const double x = dist[j];
    double best = kInf;
    for (const HeadWave& hw : heads) {
      if (x >= hw.xcrit) best = std::min(best, x * hw.p + hw.tau);
    }
    if (direct_ok) {
      if (h.empty()) {
        best = std::min(best, x / v_here);
      } else if (std::sqrt(x * x + hsum * hsum) / vmax < best) {
        best = std::min(best, direct_time(h, v, vmax, x, p_warm));
      }
    }
    out[j] = std::isfinite(best) ? static_cast<float>(best) : std::numeric_limits<float>::quiet_NaN();
  }
}

}  // namespace

void first_arrivals(const double* node_depth_km, const double* node_velocity, std::int64_t n_nodes,
                    const double* source_depth_km, std::int64_t n_depths, const double* distance_km,
                    std::int64_t n_distances, const TableOptions& o, float* times, int workers) {
  SEISCORE_CHECK(n_nodes >= 1, "velocity model: no nodes");
  SEISCORE_CHECK(n_depths >= 0 && n_distances >= 0, "negative table size");
  SEISCORE_CHECK(o.max_sublayer_km > 0 && o.rel_velocity_step > 0, "sub-layer limits must be positive");
  for (std::int64_t i = 0; i < n_nodes; ++i) {
    SEISCORE_CHECK(std::isfinite(node_depth_km[i]) && std::isfinite(node_velocity[i]),
                   "velocity model: node " << i << " is not finite");
    SEISCORE_CHECK(i == 0 || node_depth_km[i] >= node_depth_km[i - 1],
                   "velocity model: depths must not decrease (node " << i << " at " << node_depth_km[i]
                                                                      << " km is above node " << i - 1 << ")");
  }
  double z_lo = std::min(0.0, node_depth_km[0]), z_hi = node_depth_km[n_nodes - 1];
  for (std::int64_t i = 0; i < n_depths; ++i) {
    SEISCORE_CHECK(std::isfinite(source_depth_km[i]), "source depth " << i << " is not finite");
    z_lo = std::min(z_lo, source_depth_km[i]);
    z_hi = std::max(z_hi, source_depth_km[i]);
  }
  double x_max = 0;
  for (std::int64_t j = 0; j < n_distances; ++j) {
    SEISCORE_CHECK(std::isfinite(distance_km[j]) && distance_km[j] >= 0,
                   "distance " << j << " must be finite and >= 0, got " << distance_km[j]);
    x_max = std::max(x_max, distance_km[j]);
  }
  SEISCORE_CHECK(!std::isnan(o.earth_radius_km) && std::isfinite(o.earth_radius_km),
                 "earth_radius_km must be finite (<= 0 for a flat Earth), got " << o.earth_radius_km);
  const Flattening f{o.earth_radius_km};
  if (f.R > 0) {
    SEISCORE_CHECK(z_hi < 0.5 * f.R, "depths must be shallower than half the Earth radius ("
                                         << z_hi << " km with earth_radius_km=" << f.R << ")");
    // room below the deepest point for rays that the curvature turns back up (chord sagitta)
    const double sag = f.R * (1.0 - std::cos(std::min(x_max / (2.0 * f.R), 1.0)));
    z_hi += std::max(1.0, 4.0 * sag);
    // a layered profile flattened to below half the radius is no model of the Earth's interior:
    // such distances are teleseismic, outside what these tables are for
    SEISCORE_CHECK(z_hi < 0.5 * f.R, "travel-time table: distance " << x_max
                                         << " km is too large for a layered-model table (the rays would turn below "
                                         << z_hi << " km); local and regional distances only");
  }
  const Stack stack = build_stack(node_depth_km, node_velocity, n_nodes, z_lo, z_hi, f, o);
  parallel_for(n_depths, workers, [&](std::int64_t i) {
    one_depth(stack, f, source_depth_km[i], distance_km, n_distances, times + i * n_distances);
  });
}

}  // namespace seiscore::traveltime
