// seiscore/association/phaselink.cpp — see phaselink.hpp for the contract.
#include "seiscore/association/phaselink.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <numeric>
#include <unordered_map>

#include "seiscore/core/error.hpp"
#include "seiscore/core/interrupt.hpp"
#include "seiscore/core/parallel.hpp"

namespace seiscore::association::phaselink {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// ------------------------------------------------------------------------------ random numbers

// SplitMix64 step (seeds the generator).
std::uint64_t splitmix(std::uint64_t& z) {
  z += 0x9E3779B97F4A7C15ULL;
  std::uint64_t r = z;
  r = (r ^ (r >> 30)) * 0xBF58476D1CE4E5B9ULL;
  r = (r ^ (r >> 27)) * 0x94D049BB133111EBULL;
  return r ^ (r >> 31);
}

// xoshiro256** with our own uniform, normal and Poisson draws, so that a seed gives the same
// sequences with every compiler and standard library.
class Rng {
 public:
  Rng(std::uint64_t seed, std::uint64_t stream) {
    std::uint64_t z = seed;
    std::uint64_t mixed = splitmix(z) ^ (stream * 0xD1B54A32D192ED03ULL + 0x8CB92BA72F3D8DD7ULL);
    for (auto& v : s_) v = splitmix(mixed);
  }
  std::uint64_t next() {
    const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const std::uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  double uniform(double a, double b) { return a + (b - a) * uniform(); }
  double log_uniform(double a, double b) {
    if (!(b > a) || !(a > 0.0)) return a;
    return a * std::exp(uniform() * std::log(b / a));
  }
  double normal() {
    const double u1 = 1.0 - uniform();  // (0, 1]
    const double u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }
  std::int64_t poisson(double mean) {
    if (!(mean > 0.0)) return 0;
    if (mean > 30.0) {
      const double v = std::round(mean + std::sqrt(mean) * normal());
      return v < 0.0 ? 0 : static_cast<std::int64_t>(v);
    }
    const double limit = std::exp(-mean);
    std::int64_t k = 0;
    double p = uniform();
    while (p > limit) {
      ++k;
      p *= uniform();
    }
    return k;
  }
  std::int64_t below(std::int64_t n) {
    return std::min<std::int64_t>(n - 1, static_cast<std::int64_t>(uniform() * static_cast<double>(n)));
  }

 private:
  static std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  std::uint64_t s_[4];
};

// ------------------------------------------------------------------------------------ checks

void check_network(const Network& net) {
  SEISCORE_CHECK(net.n_stations >= 1, "phaselink: at least one station is needed");
  SEISCORE_CHECK(net.x_km != nullptr && net.y_km != nullptr && net.times != nullptr,
                 "phaselink: station coordinates and travel times are required");
  SEISCORE_CHECK(net.n_depth >= 2 && net.n_distance >= 2,
                 "times: the table needs at least 2 depths and 2 distances, got " << net.n_depth << " x "
                                                                                 << net.n_distance);
  SEISCORE_CHECK(net.n_tables >= 1, "times: at least one table is needed");
  SEISCORE_CHECK(std::isfinite(net.depth0_km) && std::isfinite(net.distance0_km) && net.ddepth_km > 0 &&
                     net.ddistance_km > 0 && std::isfinite(net.ddepth_km) && std::isfinite(net.ddistance_km),
                 "axes: expected finite origins and positive finite steps");
  for (std::int64_t s = 0; s < net.n_stations; ++s) {
    SEISCORE_CHECK(std::isfinite(net.x_km[s]) && std::isfinite(net.y_km[s]),
                   "station " << s << ": coordinates must be finite");
    if (net.station_table != nullptr) {
      SEISCORE_CHECK(net.station_table[s] >= 0 && net.station_table[s] < net.n_tables,
                     "station_table[" << s << "] = " << net.station_table[s] << " is not a table index in [0, "
                                      << net.n_tables << ")");
    }
  }
}

void check_features(const Features& f) {
  SEISCORE_CHECK(std::isfinite(f.center_x_km) && std::isfinite(f.center_y_km),
                 "features: the centre must be finite");
  SEISCORE_CHECK(f.scale_km > 0 && std::isfinite(f.scale_km), "features: scale_km must be positive");
  SEISCORE_CHECK(f.window_s > 0 && std::isfinite(f.window_s), "features: window_s must be positive");
  SEISCORE_CHECK(f.max_picks >= 1 && f.max_picks <= 65536, "features: max_picks must lie in [1, 65536]");
}

void check_volume(const Volume& v) {
  SEISCORE_CHECK(std::isfinite(v.x_min_km) && std::isfinite(v.x_max_km) && std::isfinite(v.y_min_km) &&
                     std::isfinite(v.y_max_km) && std::isfinite(v.z_min_km) && std::isfinite(v.z_max_km),
                 "volume: limits must be finite");
  SEISCORE_CHECK(v.x_max_km >= v.x_min_km && v.y_max_km >= v.y_min_km && v.z_max_km >= v.z_min_km,
                 "volume: each maximum must be >= its minimum");
  SEISCORE_CHECK(v.x_max_km - v.x_min_km <= 1e5 && v.y_max_km - v.y_min_km <= 1e5 && v.z_max_km - v.z_min_km <= 1e4,
                 "volume: larger than 100,000 km across (are the limits in km?)");
}

bool range_ok(double lo, double hi, double min_value) {
  return std::isfinite(lo) && std::isfinite(hi) && lo >= min_value && hi >= lo;
}

void check_generator(const GeneratorConfig& c) {
  check_volume(c.volume);
  SEISCORE_CHECK(range_ok(c.rate_min, c.rate_max, 1e-12) && c.rate_max <= 100.0,
                 "generator: 0 < rate_min <= rate_max <= 100 events/s expected");
  SEISCORE_CHECK(c.cluster_prob >= 0 && c.cluster_prob <= 1, "generator: cluster_prob must lie in [0, 1]");
  SEISCORE_CHECK(range_ok(c.cluster_sigma_min_km, c.cluster_sigma_max_km, 1e-6),
                 "generator: 0 < cluster_sigma_min_km <= cluster_sigma_max_km expected");
  SEISCORE_CHECK(range_ok(c.noise_min_s, c.noise_max_s, 0.0) && c.noise_max_s <= 100.0,
                 "generator: 0 <= noise_min_s <= noise_max_s <= 100 expected");
  SEISCORE_CHECK(c.outlier_fraction >= 0 && c.outlier_fraction <= 1 && c.outlier_s >= 0 && c.outlier_s <= 1000.0,
                 "generator: outlier_fraction in [0, 1] and outlier_s in [0, 1000] expected");
  SEISCORE_CHECK(range_ok(c.radius_min_km, c.radius_max_km, 1e-6) && c.radius_max_km <= 1e5,
                 "generator: 0 < radius_min_km <= radius_max_km expected");
  SEISCORE_CHECK(range_ok(c.drop_min, c.drop_max, 0.0) && c.drop_max <= 1.0,
                 "generator: 0 <= drop_min <= drop_max <= 1 expected");
  SEISCORE_CHECK(range_ok(c.false_rate_min, c.false_rate_max, 1e-12) && c.false_rate_max <= 10.0,
                 "generator: 0 < false_rate_min <= false_rate_max <= 10 per station and second expected");
  SEISCORE_CHECK(c.span_before_s >= 0 && c.span_before_s <= 1e5, "generator: span_before_s must lie in [0, 1e5]");
  SEISCORE_CHECK(c.model_error_max >= 0 && c.model_error_max <= 1, "generator: model_error_max must lie in [0, 1]");
}

void check_picks(const PickColumns& p, std::int64_t n_stations) {
  SEISCORE_CHECK(p.n >= 0, "picks: negative count");
  for (std::int64_t i = 0; i < p.n; ++i) {
    SEISCORE_CHECK(p.station[i] >= 0 && p.station[i] < n_stations,
                   "station[" << i << "] = " << p.station[i] << " is not a station index in [0, " << n_stations
                              << ")");
    SEISCORE_CHECK(p.phase[i] == 0 || p.phase[i] == 1, "phase[" << i << "] must be 0 (P) or 1 (S)");
    SEISCORE_CHECK(std::isfinite(p.time_s[i]), "time[" << i << "] must be finite");
    SEISCORE_CHECK(i == 0 || p.time_s[i] >= p.time_s[i - 1], "time must be sorted (non-decreasing)");
  }
}

// -------------------------------------------------------------------------------- features

void write_row(float* row, const Network& net, const Features& f, std::int64_t station, int phase, double dt) {
  row[0] = static_cast<float>((net.x_km[station] - f.center_x_km) / f.scale_km);
  row[1] = static_cast<float>((net.y_km[station] - f.center_y_km) / f.scale_km);
  row[2] = static_cast<float>(dt / f.window_s);
  row[3] = static_cast<float>(phase);
  row[4] = 1.0f;
}

// Whether a pick of station-phase kb, dt after a start pick of station-phase ka, may belong to
// the start pick's event (always, without pair bounds).
bool feasible(const Features& f, std::int64_t n_stations, std::int64_t ka, std::int64_t kb, double dt) {
  if (f.pair_lo == nullptr) return true;
  const std::int64_t k = ka * 2 * n_stations + kb;
  return dt >= f.pair_lo[k] && dt <= f.pair_hi[k];  // false for NaN bounds
}

// ------------------------------------------------------------------------------- generator

struct SynthPick {
  double t;
  std::int32_t station;
  std::int8_t phase;
  std::int32_t event;
};

struct Scenario {
  double rate, noise, drop, false_rate, model_error;
  bool clustered;
  double cx, cy, cz, sigma;
};

Scenario draw_scenario(Rng& rng, const GeneratorConfig& c) {
  const Volume& v = c.volume;
  Scenario s{};
  s.rate = rng.log_uniform(c.rate_min, c.rate_max);
  s.noise = rng.uniform(c.noise_min_s, c.noise_max_s);
  s.drop = rng.uniform(c.drop_min, c.drop_max);
  s.false_rate = rng.log_uniform(c.false_rate_min, c.false_rate_max);
  s.model_error = rng.uniform(0.0, c.model_error_max);
  s.clustered = rng.uniform() < c.cluster_prob;
  s.cx = rng.uniform(v.x_min_km, v.x_max_km);
  s.cy = rng.uniform(v.y_min_km, v.y_max_km);
  s.cz = rng.uniform(v.z_min_km, v.z_max_km);
  s.sigma = rng.log_uniform(c.cluster_sigma_min_km, c.cluster_sigma_max_km);
  return s;
}

// The picks of one event (origin t0) that arrive within [0, t_end].
void event_picks(Rng& rng, const Network& net, const GeneratorConfig& c, const Scenario& sc, std::int32_t id,
                 double t_end, std::vector<SynthPick>& out) {
  const Volume& v = c.volume;
  double ex, ey, ez;
  if (sc.clustered) {
    ex = std::clamp(sc.cx + sc.sigma * rng.normal(), v.x_min_km, v.x_max_km);
    ey = std::clamp(sc.cy + sc.sigma * rng.normal(), v.y_min_km, v.y_max_km);
    ez = std::clamp(sc.cz + 0.5 * sc.sigma * rng.normal(), v.z_min_km, v.z_max_km);
  } else {
    ex = rng.uniform(v.x_min_km, v.x_max_km);
    ey = rng.uniform(v.y_min_km, v.y_max_km);
    ez = rng.uniform(v.z_min_km, v.z_max_km);
  }
  const double t0 = rng.uniform(-c.span_before_s, t_end);
  const double radius = rng.log_uniform(c.radius_min_km, c.radius_max_km);
  const double width = std::max(0.1 * radius, 2.0);
  for (std::int64_t s = 0; s < net.n_stations; ++s) {
    const double d = std::hypot(net.x_km[s] - ex, net.y_km[s] - ey);
    const double p_detect = 1.0 / (1.0 + std::exp((std::hypot(d, ez) - radius) / width));
    for (int ph = 0; ph < 2; ++ph) {
      if (!(rng.uniform() < p_detect) || rng.uniform() < sc.drop) continue;
      const double tt = travel_time(net, s, ph, d, ez);
      if (!std::isfinite(tt)) continue;
      double t = t0 + tt * (1.0 + sc.model_error * rng.normal()) + sc.noise * rng.normal();
      if (rng.uniform() < c.outlier_fraction) t += rng.uniform(-c.outlier_s, c.outlier_s);
      if (t >= 0.0 && t <= t_end) out.push_back({t, static_cast<std::int32_t>(s), static_cast<std::int8_t>(ph), id});
    }
  }
}

// All picks of one synthetic stretch [0, 2 window], sorted by time.
void stretch_picks(Rng& rng, const Network& net, const GeneratorConfig& c, double window, std::vector<SynthPick>& out) {
  out.clear();
  const Scenario sc = draw_scenario(rng, c);
  const double t_end = 2.0 * window;
  const std::int64_t n_events = std::min<std::int64_t>(rng.poisson(sc.rate * (t_end + c.span_before_s)), 100000);
  for (std::int64_t e = 0; e < n_events; ++e) event_picks(rng, net, c, sc, static_cast<std::int32_t>(e), t_end, out);
  for (std::int64_t s = 0; s < net.n_stations; ++s) {
    const std::int64_t k = std::min<std::int64_t>(rng.poisson(sc.false_rate * t_end), 100000);
    for (std::int64_t i = 0; i < k; ++i) {
      const double t = rng.uniform(0.0, t_end);
      const auto ph = static_cast<std::int8_t>(rng.uniform() < 0.5 ? 0 : 1);
      out.push_back({t, static_cast<std::int32_t>(s), ph, -1});
    }
  }
  std::stable_sort(out.begin(), out.end(), [](const SynthPick& a, const SynthPick& b) { return a.t < b.t; });
}

void generate_one(const Network& net, const Features& f, const GeneratorConfig& c, Rng& rng,
                  std::vector<SynthPick>& picks, float* x, float* y, std::int32_t* length) {
  const double window = f.window_s;
  std::int64_t n_candidates = 0;
  for (int attempt = 0; attempt < 20 && n_candidates == 0; ++attempt) {
    stretch_picks(rng, net, c, window, picks);
    n_candidates = std::lower_bound(picks.begin(), picks.end(), window,
                                    [](const SynthPick& p, double t) { return p.t < t; }) -
                   picks.begin();
  }
  if (n_candidates == 0) {  // nothing at all: one false pick
    picks.assign(1, {0.0, static_cast<std::int32_t>(rng.below(net.n_stations)), 0, -1});
    n_candidates = 1;
  }
  const std::int64_t start = rng.below(n_candidates);
  const SynthPick& first = picks[static_cast<std::size_t>(start)];
  const std::int64_t L = f.max_picks;
  const std::int64_t ka = first.station * 2 + first.phase;
  std::int64_t k = 0;
  for (std::size_t j = static_cast<std::size_t>(start); j < picks.size() && k < L; ++j) {
    const SynthPick& p = picks[j];
    const double dt = p.t - first.t;
    if (dt > window) break;
    if (j != static_cast<std::size_t>(start) && !feasible(f, net.n_stations, ka, p.station * 2 + p.phase, dt)) continue;
    write_row(x + k * kFeatures, net, f, p.station, p.phase, dt);
    const bool same = j == static_cast<std::size_t>(start) || (first.event >= 0 && p.event == first.event);
    y[k] = same ? 1.0f : 0.0f;
    ++k;
  }
  *length = static_cast<std::int32_t>(k);
}

// -------------------------------------------------------------------------------- locating

struct Trial {
  double score = -std::numeric_limits<double>::infinity();
  double x = 0, y = 0, z = 0, t0 = 0;
};

// The best window score over the sorted origin times `o` (n - SS / tau^2 of a window of width
// <= 2 tau), and that window's mean.
void best_window(const std::vector<double>& o, double tau, double* score, double* t0) {
  const std::size_t n = o.size();
  double best = -std::numeric_limits<double>::infinity(), best_t = kNaN;
  double sum = 0.0, sumsq = 0.0;
  std::size_t b = 0;
  for (std::size_t a = 0; a < n; ++a) {
    if (b < a) {
      b = a;
      sum = sumsq = 0.0;
    }
    while (b < n && o[b] - o[a] <= 2.0 * tau) {
      sum += o[b];
      sumsq += o[b] * o[b];
      ++b;
    }
    const double m = static_cast<double>(b - a);
    const double mean = sum / m;
    const double ss = std::max(0.0, sumsq - sum * mean);
    const double s = m - ss / (tau * tau);
    if (s > best) {
      best = s;
      best_t = mean;
    }
    sum -= o[a];
    sumsq -= o[a] * o[a];
  }
  *score = best;
  *t0 = best_t;
}

struct Locator {
  const Network& net;
  const PickColumns& picks;
  const LocateConfig& cfg;
  std::vector<double> o;

  void origin_times(const std::vector<std::int64_t>& m, double x, double y, double z) {
    o.clear();
    for (const std::int64_t i : m) {
      const std::int64_t s = picks.station[i];
      const double tt = travel_time(net, s, picks.phase[i], std::hypot(net.x_km[s] - x, net.y_km[s] - y), z);
      if (std::isfinite(tt)) o.push_back(picks.time_s[i] - tt);
    }
    std::sort(o.begin(), o.end());
  }

  Trial trial(const std::vector<std::int64_t>& m, double x, double y, double z, double tau) {
    Trial t;
    t.x = x;
    t.y = y;
    t.z = z;
    origin_times(m, x, y, z);
    if (!o.empty()) best_window(o, tau, &t.score, &t.t0);
    return t;
  }

  static void keep_best(std::vector<Trial>& trials, std::size_t k) {
    std::sort(trials.begin(), trials.end(), [](const Trial& a, const Trial& b) {
      if (a.score != b.score) return a.score > b.score;
      if (a.x != b.x) return a.x < b.x;
      if (a.y != b.y) return a.y < b.y;
      return a.z < b.z;
    });
    if (trials.size() > k) trials.resize(k);
  }

  // Coarse-to-fine grid search for the members `m`.
  Trial search(const std::vector<std::int64_t>& m) {
    const Volume& v = cfg.volume;
    const double sx = v.x_max_km - v.x_min_km, sy = v.y_max_km - v.y_min_km, sz = v.z_max_km - v.z_min_km;
    double h = std::max({sx, sy, 1e-3}) / 16.0;
    double dz = std::max(std::min(h, sz / 2.0), 1e-3);
    const std::int64_t nx = std::max<std::int64_t>(1, static_cast<std::int64_t>(std::ceil(sx / h - 1e-9)));
    const std::int64_t ny = std::max<std::int64_t>(1, static_cast<std::int64_t>(std::ceil(sy / h - 1e-9)));
    const std::int64_t nz = std::max<std::int64_t>(1, static_cast<std::int64_t>(std::ceil(sz / dz - 1e-9)));
    auto tau_of = [&](double hh, double dd) {
      return cfg.tolerance_s + 0.5 * std::sqrt(2.0 * hh * hh + dd * dd) * cfg.slowness_s_km;
    };
    std::vector<Trial> kept;
    double tau = tau_of(h, dz);
    for (std::int64_t i = 0; i < nx; ++i)
      for (std::int64_t j = 0; j < ny; ++j)
        for (std::int64_t k = 0; k < nz; ++k) {
          const double x = std::min(v.x_min_km + (i + 0.5) * h, v.x_max_km);
          const double y = std::min(v.y_min_km + (j + 0.5) * h, v.y_max_km);
          const double z = std::min(v.z_min_km + (k + 0.5) * dz, v.z_max_km);
          kept.push_back(trial(m, x, y, z, tau));
        }
    keep_best(kept, 6);
    while (h > cfg.min_step_km || dz > cfg.min_step_km) {
      h = std::max(h * 0.5, 1e-6);
      dz = std::max(dz * 0.5, 1e-6);
      tau = tau_of(h, dz);
      std::vector<Trial> next;
      for (const Trial& c : kept)
        for (int a = -1; a <= 1; ++a)
          for (int b = -1; b <= 1; ++b)
            for (int e = -1; e <= 1; ++e) {
              const double x = std::clamp(c.x + a * h, v.x_min_km, v.x_max_km);
              const double y = std::clamp(c.y + b * h, v.y_min_km, v.y_max_km);
              const double z = std::clamp(c.z + e * dz, v.z_min_km, v.z_max_km);
              next.push_back(trial(m, x, y, z, tau));
            }
      kept.swap(next);
      keep_best(kept, 6);
    }
    Trial best = kept.front();
    return trial(m, best.x, best.y, best.z, cfg.tolerance_s);
  }
};

struct ClusterEvents {
  std::vector<Trial> events;
  std::vector<std::int32_t> n_inliers;
};

// Events of one cluster; writes the member's event (local index) and residual.
ClusterEvents locate_cluster(Locator& loc, const std::int64_t* members, std::int64_t n, std::int64_t* member_event,
                             float* member_residual) {
  ClusterEvents out;
  std::vector<std::int64_t> remaining(members, members + n);
  std::vector<std::int64_t> position(static_cast<std::size_t>(n));
  std::iota(position.begin(), position.end(), 0);
  for (int e = 0; e < loc.cfg.max_events; ++e) {
    const std::size_t need = std::max<std::size_t>(3, e == 0 ? 0 : static_cast<std::size_t>(loc.cfg.min_picks));
    if (remaining.size() < need) break;
    const Trial t = loc.search(remaining);
    if (!std::isfinite(t.t0)) break;
    std::vector<std::int64_t> rest, rest_pos;
    std::int32_t inliers = 0;
    for (std::size_t k = 0; k < remaining.size(); ++k) {
      const std::int64_t i = remaining[k];
      const std::int64_t s = loc.picks.station[i];
      const double tt = travel_time(loc.net, s, loc.picks.phase[i],
                                    std::hypot(loc.net.x_km[s] - t.x, loc.net.y_km[s] - t.y), t.z);
      const double r = loc.picks.time_s[i] - t.t0 - tt;
      if (std::isfinite(r) && std::fabs(r) <= loc.cfg.tolerance_s) {
        member_event[position[k]] = static_cast<std::int64_t>(out.events.size());
        member_residual[position[k]] = static_cast<float>(r);
        ++inliers;
      } else {
        rest.push_back(i);
        rest_pos.push_back(position[k]);
      }
    }
    if (inliers < 3) {  // undo: not an event
      for (std::size_t k = 0; k < remaining.size(); ++k) {
        if (member_event[position[k]] == static_cast<std::int64_t>(out.events.size())) {
          member_event[position[k]] = -1;
          member_residual[position[k]] = std::numeric_limits<float>::quiet_NaN();
        }
      }
      break;
    }
    out.events.push_back(t);
    out.n_inliers.push_back(inliers);
    remaining.swap(rest);
    position.swap(rest_pos);
  }
  return out;
}

}  // namespace

// ----------------------------------------------------------------------------------- public

double travel_time(const Network& net, std::int64_t station, int phase, double distance_km, double depth_km) {
  const double fi = (depth_km - net.depth0_km) / net.ddepth_km;
  const double fj = (distance_km - net.distance0_km) / net.ddistance_km;
  if (!(fi >= 0.0) || !(fj >= 0.0) || fi > static_cast<double>(net.n_depth - 1) ||
      fj > static_cast<double>(net.n_distance - 1)) {
    return kNaN;
  }
  const std::int64_t i0 = std::min<std::int64_t>(static_cast<std::int64_t>(fi), net.n_depth - 2);
  const std::int64_t j0 = std::min<std::int64_t>(static_cast<std::int64_t>(fj), net.n_distance - 2);
  const double wi = fi - static_cast<double>(i0), wj = fj - static_cast<double>(j0);
  const std::int64_t table = net.station_table != nullptr ? net.station_table[station] : 0;
  const float* t = net.times + ((table * 2 + phase) * net.n_depth + i0) * net.n_distance + j0;
  const double a = t[0], b = t[1], c = t[net.n_distance], d = t[net.n_distance + 1];
  return (1.0 - wi) * ((1.0 - wj) * a + wj * b) + wi * ((1.0 - wj) * c + wj * d);
}

void pair_bounds(const Network& net, const Volume& volume, int n_grid, double margin_s, double slowness_s_km,
                 int workers, float* lo, float* hi) {
  check_network(net);
  check_volume(volume);
  SEISCORE_CHECK(n_grid >= 2 && n_grid <= 200, "pair_bounds: n_grid must lie in [2, 200]");
  SEISCORE_CHECK(margin_s >= 0 && margin_s <= 1e4 && slowness_s_km >= 0 && slowness_s_km <= 100,
                 "pair_bounds: margin_s in [0, 1e4] and slowness_s_km in [0, 100] expected");
  SEISCORE_CHECK(net.n_stations <= 4000, "pair_bounds: at most 4,000 stations");
  const Volume& v = volume;
  const double sx = v.x_max_km - v.x_min_km, sy = v.y_max_km - v.y_min_km, sz = v.z_max_km - v.z_min_km;
  const double h = std::max({sx, sy, 1e-3}) / n_grid;
  const std::int64_t nx = std::max<std::int64_t>(1, static_cast<std::int64_t>(std::ceil(sx / h - 1e-9)));
  const std::int64_t ny = std::max<std::int64_t>(1, static_cast<std::int64_t>(std::ceil(sy / h - 1e-9)));
  const std::int64_t nz = std::max<std::int64_t>(2, n_grid / 4);
  const double dz = sz / static_cast<double>(nz - 1);
  const std::int64_t n_nodes = nx * ny * nz, n_k = net.n_stations * 2;
  // arrival times of every station-phase from every node (node-major)
  std::vector<float> tt(static_cast<std::size_t>(n_nodes * n_k));
  parallel_for(n_nodes, workers, [&](std::int64_t node) {
    const std::int64_t i = node / (ny * nz), j = (node / nz) % ny, k = node % nz;
    const double x = std::min(v.x_min_km + (static_cast<double>(i) + 0.5) * h, v.x_max_km);
    const double y = std::min(v.y_min_km + (static_cast<double>(j) + 0.5) * h, v.y_max_km);
    const double z = v.z_min_km + static_cast<double>(k) * dz;
    for (std::int64_t s = 0; s < net.n_stations; ++s) {
      const double d = std::hypot(net.x_km[s] - x, net.y_km[s] - y);
      for (int ph = 0; ph < 2; ++ph)
        tt[static_cast<std::size_t>(node * n_k + s * 2 + ph)] = static_cast<float>(travel_time(net, s, ph, d, z));
    }
  });
  const double widen = margin_s + 0.5 * std::sqrt(2.0 * h * h + dz * dz) * slowness_s_km;
  parallel_for(n_k, workers, [&](std::int64_t a) {
    float* l = lo + a * n_k;
    float* u = hi + a * n_k;
    std::fill(l, l + n_k, std::numeric_limits<float>::infinity());
    std::fill(u, u + n_k, -std::numeric_limits<float>::infinity());
    for (std::int64_t node = 0; node < n_nodes; ++node) {
      const float* row = tt.data() + node * n_k;
      const float ta = row[a];
      if (!std::isfinite(ta)) continue;
      for (std::int64_t b = 0; b < n_k; ++b) {
        const float d = row[b] - ta;  // NaN when b does not arrive: comparisons are false
        if (d < l[b]) l[b] = d;
        if (d > u[b]) u[b] = d;
      }
    }
    for (std::int64_t b = 0; b < n_k; ++b) {
      if (l[b] > u[b]) {
        l[b] = u[b] = std::numeric_limits<float>::quiet_NaN();
      } else {
        l[b] = static_cast<float>(l[b] - widen);
        u[b] = static_cast<float>(u[b] + widen);
      }
    }
  });
}

void generate(const Network& net, const Features& features, const GeneratorConfig& config, std::uint64_t seed,
              std::int64_t first, std::int64_t n, int workers, float* x, float* y, std::int32_t* length) {
  check_network(net);
  check_features(features);
  check_generator(config);
  SEISCORE_CHECK(n >= 0 && first >= 0, "generate: n and first must be >= 0");
  SEISCORE_CHECK(first <= std::numeric_limits<std::int64_t>::max() - n,
                 "generate: first + n must fit a 64-bit sequence number");
  SEISCORE_CHECK(features.window_s <= 3600.0, "generate: window_s must be at most 3600 s");
  const double span = 2.0 * features.window_s + config.span_before_s;
  const double expected = static_cast<double>(net.n_stations) * span * (2.0 * config.rate_max + config.false_rate_max);
  SEISCORE_CHECK(expected <= 2e6, "generate: about " << expected
                                                    << " picks per synthetic stretch (stations x time x rates); at most "
                                                       "2,000,000: lower rate_max or false_rate_max");
  const std::int64_t L = features.max_picks;
  parallel_for(n, workers, [&](std::int64_t i) {
    Rng rng(seed, static_cast<std::uint64_t>(first + i));
    std::vector<SynthPick> picks;
    float* xi = x + i * L * kFeatures;
    float* yi = y + i * L;
    std::fill(xi, xi + L * kFeatures, 0.0f);
    std::fill(yi, yi + L, 0.0f);
    generate_one(net, features, config, rng, picks, xi, yi, length + i);
  });
}

void build_sequences(const Network& net, const Features& features, const PickColumns& picks,
                     const std::int64_t* starts, std::int64_t n_starts, int workers, float* x, std::int64_t* index,
                     std::int32_t* length) {
  check_features(features);
  SEISCORE_CHECK(net.n_stations >= 1 && net.x_km != nullptr && net.y_km != nullptr,
                 "build_sequences: station coordinates are required");
  check_picks(picks, net.n_stations);
  for (std::int64_t i = 0; i < n_starts; ++i) {
    SEISCORE_CHECK(starts[i] >= 0 && starts[i] < picks.n,
                   "starts[" << i << "] = " << starts[i] << " is not a pick index in [0, " << picks.n << ")");
  }
  const std::int64_t L = features.max_picks;
  parallel_for(n_starts, workers, [&](std::int64_t i) {
    float* xi = x + i * L * kFeatures;
    std::int64_t* ii = index + i * L;
    std::fill(xi, xi + L * kFeatures, 0.0f);
    std::fill(ii, ii + L, std::int64_t{-1});
    const std::int64_t s = starts[i];
    const double t_start = picks.time_s[s];
    const std::int64_t ka = picks.station[s] * 2 + picks.phase[s];
    std::int64_t k = 0;
    for (std::int64_t j = s; j < picks.n && k < L; ++j) {
      const double dt = picks.time_s[j] - t_start;
      if (dt > features.window_s) break;
      if (j != s && !feasible(features, net.n_stations, ka, picks.station[j] * 2 + picks.phase[j], dt)) continue;
      write_row(xi + k * kFeatures, net, features, picks.station[j], picks.phase[j], dt);
      ii[k] = j;
      ++k;
    }
    length[i] = static_cast<std::int32_t>(k);
  });
}

std::int64_t link(std::int64_t n_picks, const std::int64_t* offsets, std::int64_t n_sets,
                  const std::int64_t* members, const LinkConfig& config, std::int64_t* pick_cluster,
                  std::int32_t* pick_votes) {
  SEISCORE_CHECK(n_picks >= 0 && n_sets >= 0, "link: bad sizes");
  SEISCORE_CHECK(config.min_nucleate >= 1 && config.min_merge >= 1, "link: min_nucleate and min_merge must be >= 1");
  SEISCORE_CHECK(config.merge_fraction >= 0 && config.merge_fraction <= 1, "link: merge_fraction must lie in [0, 1]");
  SEISCORE_CHECK(offsets[0] == 0, "offsets: must start at 0");
  for (std::int64_t i = 0; i < n_sets; ++i) SEISCORE_CHECK(offsets[i + 1] >= offsets[i], "offsets: must be non-decreasing");
  for (std::int64_t k = 0; k < offsets[n_sets]; ++k) {
    SEISCORE_CHECK(members[k] >= 0 && members[k] < n_picks,
                   "members[" << k << "] = " << members[k] << " is not a pick index in [0, " << n_picks << ")");
  }
  std::vector<std::unordered_map<std::int64_t, std::int32_t>> votes;
  std::vector<std::vector<std::int32_t>> pick_clusters(static_cast<std::size_t>(n_picks));
  std::vector<std::int64_t> set;
  std::unordered_map<std::int32_t, std::int32_t> shared;
  for (std::int64_t i = 0; i < n_sets; ++i) {
    if ((i & 1023) == 1023) interrupt_point();
    set.assign(members + offsets[i], members + offsets[i + 1]);
    std::sort(set.begin(), set.end());
    set.erase(std::unique(set.begin(), set.end()), set.end());
    if (static_cast<std::int64_t>(set.size()) < config.min_nucleate) continue;
    shared.clear();
    for (const std::int64_t j : set)
      for (const std::int32_t c : pick_clusters[static_cast<std::size_t>(j)]) ++shared[c];
    std::int32_t best = -1, best_count = 0;
    for (const auto& [c, count] : shared) {
      if (count > best_count || (count == best_count && c < best)) {
        best = c;
        best_count = count;
      }
    }
    const double need = std::max<double>(config.min_merge, config.merge_fraction * static_cast<double>(set.size()));
    std::int32_t target = best;
    if (best < 0 || static_cast<double>(best_count) < need) {
      target = static_cast<std::int32_t>(votes.size());
      votes.emplace_back();
    }
    auto& v = votes[static_cast<std::size_t>(target)];
    for (const std::int64_t j : set) {
      std::int32_t& count = v[j];
      if (count == 0) pick_clusters[static_cast<std::size_t>(j)].push_back(target);
      ++count;
    }
  }
  for (std::int64_t j = 0; j < n_picks; ++j) {
    std::int64_t best = -1;
    std::int32_t best_votes = 0;
    for (const std::int32_t c : pick_clusters[static_cast<std::size_t>(j)]) {
      const std::int32_t n = votes[static_cast<std::size_t>(c)].at(j);
      if (n > best_votes || (n == best_votes && c < best)) {
        best = c;
        best_votes = n;
      }
    }
    pick_cluster[j] = best;
    pick_votes[j] = best_votes;
  }
  return static_cast<std::int64_t>(votes.size());
}

Located locate(const Network& net, const PickColumns& picks, const std::int64_t* offsets, std::int64_t n_clusters,
               const std::int64_t* members, const LocateConfig& config) {
  check_network(net);
  check_picks(picks, net.n_stations);
  check_volume(config.volume);
  SEISCORE_CHECK(config.tolerance_s > 0 && std::isfinite(config.tolerance_s), "locate: tolerance_s must be positive");
  SEISCORE_CHECK(config.slowness_s_km >= 0 && config.slowness_s_km <= 100.0,
                 "locate: slowness_s_km must lie in [0, 100]");
  SEISCORE_CHECK(config.min_step_km >= 1e-3 && std::isfinite(config.min_step_km), "locate: min_step_km must be >= 0.001");
  SEISCORE_CHECK(config.min_picks >= 1 && config.max_events >= 1 && config.max_events <= 100,
                 "locate: min_picks >= 1 and max_events in [1, 100] expected");
  SEISCORE_CHECK(n_clusters >= 0 && offsets[0] == 0, "offsets: must start at 0");
  for (std::int64_t c = 0; c < n_clusters; ++c)
    SEISCORE_CHECK(offsets[c + 1] >= offsets[c], "offsets: must be non-decreasing");
  const std::int64_t n_members = offsets[n_clusters];
  for (std::int64_t k = 0; k < n_members; ++k)
    SEISCORE_CHECK(members[k] >= 0 && members[k] < picks.n, "members[" << k << "] is not a pick index");
  Located out;
  out.event_of_member.assign(static_cast<std::size_t>(n_members), -1);
  out.residual_of_member.assign(static_cast<std::size_t>(n_members), std::numeric_limits<float>::quiet_NaN());
  std::vector<ClusterEvents> per(static_cast<std::size_t>(n_clusters));
  parallel_for(n_clusters, config.workers, [&](std::int64_t c) {
    Locator loc{net, picks, config, {}};
    per[static_cast<std::size_t>(c)] =
        locate_cluster(loc, members + offsets[c], offsets[c + 1] - offsets[c], out.event_of_member.data() + offsets[c],
                       out.residual_of_member.data() + offsets[c]);
  });
  for (std::int64_t c = 0; c < n_clusters; ++c) {
    const auto& ce = per[static_cast<std::size_t>(c)];
    const auto base = static_cast<std::int64_t>(out.cluster.size());
    for (std::size_t e = 0; e < ce.events.size(); ++e) {
      out.cluster.push_back(c);
      out.x_km.push_back(ce.events[e].x);
      out.y_km.push_back(ce.events[e].y);
      out.z_km.push_back(ce.events[e].z);
      out.time_s.push_back(ce.events[e].t0);
      out.n_inliers.push_back(ce.n_inliers[e]);
    }
    for (std::int64_t k = offsets[c]; k < offsets[c + 1]; ++k)
      if (out.event_of_member[static_cast<std::size_t>(k)] >= 0) out.event_of_member[static_cast<std::size_t>(k)] += base;
  }
  return out;
}

Matches match(const Network& net, const PickColumns& picks, const double* events, std::int64_t n_events,
              double tolerance_s, double max_distance_km, int workers) {
  check_network(net);
  check_picks(picks, net.n_stations);
  SEISCORE_CHECK(tolerance_s > 0 && std::isfinite(tolerance_s), "match: tolerance_s must be positive");
  SEISCORE_CHECK(max_distance_km > 0, "match: max_distance_km must be positive");
  for (std::int64_t e = 0; e < n_events; ++e)
    for (int k = 0; k < 4; ++k)
      SEISCORE_CHECK(std::isfinite(events[e * 4 + k]), "events[" << e << "]: (x, y, z, t0) must be finite");
  // picks of each (station, phase), in time order
  const std::int64_t n_keys = net.n_stations * 2;
  std::vector<std::int64_t> start(static_cast<std::size_t>(n_keys + 1), 0), sorted(static_cast<std::size_t>(picks.n));
  for (std::int64_t i = 0; i < picks.n; ++i) ++start[static_cast<std::size_t>(picks.station[i] * 2 + picks.phase[i] + 1)];
  for (std::int64_t k = 0; k < n_keys; ++k) start[k + 1] += start[k];
  {
    std::vector<std::int64_t> fill(start.begin(), start.end() - 1);
    for (std::int64_t i = 0; i < picks.n; ++i)
      sorted[static_cast<std::size_t>(fill[static_cast<std::size_t>(picks.station[i] * 2 + picks.phase[i])]++)] = i;
  }
  std::vector<Matches> per(static_cast<std::size_t>(n_events));
  parallel_for(n_events, workers, [&](std::int64_t e) {
    const double ex = events[e * 4], ey = events[e * 4 + 1], ez = events[e * 4 + 2], t0 = events[e * 4 + 3];
    Matches& m = per[static_cast<std::size_t>(e)];
    for (std::int64_t s = 0; s < net.n_stations; ++s) {
      const double d = std::hypot(net.x_km[s] - ex, net.y_km[s] - ey);
      if (d > max_distance_km) continue;
      for (int ph = 0; ph < 2; ++ph) {
        const double tt = travel_time(net, s, ph, d, ez);
        if (!std::isfinite(tt)) continue;
        const double pred = t0 + tt;
        const std::int64_t* b = sorted.data() + start[static_cast<std::size_t>(s * 2 + ph)];
        const std::int64_t* end = sorted.data() + start[static_cast<std::size_t>(s * 2 + ph + 1)];
        const std::int64_t* it =
            std::lower_bound(b, end, pred, [&](std::int64_t i, double t) { return picks.time_s[i] < t; });
        std::int64_t best = -1;
        double best_r = tolerance_s;
        const std::int64_t pos = it - b, n_here = end - b;
        for (std::int64_t c = pos - 1; c <= pos; ++c) {
          if (c < 0 || c >= n_here) continue;
          const double r = picks.time_s[b[c]] - pred;
          if (std::fabs(r) <= best_r) {
            best_r = std::fabs(r);
            best = b[c];
          }
        }
        if (best >= 0) {
          m.event.push_back(e);
          m.pick.push_back(best);
          m.residual_s.push_back(static_cast<float>(picks.time_s[best] - pred));
        }
      }
    }
  });
  Matches out;
  for (auto& m : per) {
    out.event.insert(out.event.end(), m.event.begin(), m.event.end());
    out.pick.insert(out.pick.end(), m.pick.begin(), m.pick.end());
    out.residual_s.insert(out.residual_s.end(), m.residual_s.begin(), m.residual_s.end());
  }
  return out;
}

}  // namespace seiscore::association::phaselink
