#include "seiscore/correlation/preprocess.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "seiscore/core/error.hpp"
#include "seiscore/core/parallel.hpp"

namespace seiscore::correlation {

namespace {

constexpr double kPi = 3.14159265358979323846;

// Quality test of one raw row; kOk or the reason to skip it. One pass: NaN, the longest run of
// equal samples, and the moments (about the first sample, so that a large offset does not cost
// precision) and extremes for the standard deviation and the largest deviation from the mean.
WindowStatus check_row(const float* x, std::int64_t n, const PreprocessParams& p) {
  const double x0 = x[0];
  if (!std::isfinite(x[0])) return kGap;
  double s1 = 0.0, s2 = 0.0;
  float lo = x[0], hi = x[0];
  std::int64_t run = 1, longest = 1;
  for (std::int64_t i = 1; i < n; ++i) {
    const float v = x[i];
    if (!std::isfinite(v)) return kGap;
    const double d = static_cast<double>(v) - x0;
    s1 += d;
    s2 += d * d;
    lo = std::min(lo, v);
    hi = std::max(hi, v);
    run = (v == x[i - 1]) ? run + 1 : 1;
    longest = std::max(longest, run);
  }
  if (p.max_flat > 0 && longest >= p.max_flat) return kFlat;
  const double nd = static_cast<double>(n);
  const double mean_d = s1 / nd;
  const double var = std::max(s2 / nd - mean_d * mean_d, 0.0);
  const double sd = std::sqrt(var);
  if (!(sd > 0.0) || lo == hi) return kFlat;
  const double mean = x0 + mean_d;
  const double peak = std::max(static_cast<double>(hi) - mean, mean - static_cast<double>(lo));
  if (p.max_over_std > 0.0 && peak > p.max_over_std * sd) return kSpike;
  return kOk;
}

// Rows are processed in groups of kGroup, interleaved sample by sample in a float64 buffer
// (y[i * kGroup + g]): the recursive filters then run kGroup independent chains at once, which
// hides their latency (a biquad is a serial dependency along the samples) and vectorises.
constexpr int kGroup = 8;

// Copies a float row into the interleaved buffer and removes its mean / least-squares line, then
// applies the taper weights w[0..m) at both ends. Two passes over the row.
void load_row(const float* row, double* y, std::int64_t n, bool detrend, bool demean, const std::vector<double>& w) {
  const double tc = 0.5 * static_cast<double>(n - 1);
  double sy = 0.0, sty = 0.0;
  for (std::int64_t i = 0; i < n; ++i) {
    const double v = row[i];
    y[i * kGroup] = v;
    sy += v;
    sty += (static_cast<double>(i) - tc) * v;
  }
  double mean = 0.0, slope = 0.0;
  if (detrend || demean) mean = sy / static_cast<double>(n);
  if (detrend && n >= 2) {
    // sum of (i - tc)^2 over i = 0..n-1; sum of (i - tc) is 0, so sum t (y - mean) = sum t y
    const double nd = static_cast<double>(n);
    slope = sty / (nd * (nd * nd - 1.0) / 12.0);
  }
  const auto m = static_cast<std::int64_t>(w.size());
  for (std::int64_t i = 0; i < n; ++i) {
    double v = y[i * kGroup] - (mean + slope * (static_cast<double>(i) - tc));
    if (i < m) v *= w[i];
    if (n - 1 - i < m) v *= w[n - 1 - i];
    y[i * kGroup] = v;
  }
}

// Hann ramp weights of the taper: w[i] = 0.5 * (1 - cos(pi * i / m)), m = floor(fraction * n).
std::vector<double> taper_weights(std::int64_t n, double fraction) {
  const auto m = static_cast<std::int64_t>(std::floor(fraction * static_cast<double>(n)));
  std::vector<double> w(static_cast<std::size_t>(std::max<std::int64_t>(m, 0)));
  for (std::int64_t i = 0; i < m; ++i) w[i] = 0.5 * (1.0 - std::cos(kPi * static_cast<double>(i) / static_cast<double>(m)));
  return w;
}

// scipy.signal.sosfilt (transposed direct form II, zero initial state) on kGroup interleaved
// rows at once; backward = the same run from the last sample to the first. The samples are
// swept in tiles that stay in L1, each tile going through every section (the state of each
// section carried from tile to tile), so the buffer is streamed once per direction rather than
// once per section.
constexpr std::int64_t kTile = 512;
constexpr std::int64_t kMaxSections = 64;

#if defined(__GNUC__)
// Two float64 lanes (SSE2 on x86-64, NEON on arm64): GCC does not vectorise the loop over the
// interleaved rows by itself, so the lanes are written out with the vector extension.
typedef double lanes2 __attribute__((vector_size(16)));
static_assert(kGroup % 2 == 0, "rows are filtered two at a time");

void sosfilt_group(double* y, std::int64_t n, const double* sos, std::int64_t n_sections, bool backward) {
  constexpr int kV = kGroup / 2;
  lanes2 z0[kMaxSections][kV] = {}, z1[kMaxSections][kV] = {};
  for (std::int64_t t0 = 0; t0 < n; t0 += kTile) {
    const std::int64_t t1 = std::min(n, t0 + kTile);
    for (std::int64_t s = 0; s < n_sections; ++s) {
      const double* c = sos + 6 * s;
      const lanes2 b0 = {c[0], c[0]}, b1 = {c[1], c[1]}, b2 = {c[2], c[2]}, a1 = {c[4], c[4]}, a2 = {c[5], c[5]};
      lanes2 a[kV], b[kV];
      for (int h = 0; h < kV; ++h) {
        a[h] = z0[s][h];
        b[h] = z1[s][h];
      }
      for (std::int64_t j = t0; j < t1; ++j) {
        double* v = y + (backward ? n - 1 - j : j) * kGroup;
        for (int h = 0; h < kV; ++h) {
          lanes2 xi;
          std::memcpy(&xi, v + 2 * h, sizeof xi);
          const lanes2 yi = b0 * xi + a[h];
          a[h] = b1 * xi - a1 * yi + b[h];
          b[h] = b2 * xi - a2 * yi;
          std::memcpy(v + 2 * h, &yi, sizeof yi);
        }
      }
      for (int h = 0; h < kV; ++h) {
        z0[s][h] = a[h];
        z1[s][h] = b[h];
      }
    }
  }
}
#else
void sosfilt_group(double* y, std::int64_t n, const double* sos, std::int64_t n_sections, bool backward) {
  double z0[kMaxSections][kGroup] = {}, z1[kMaxSections][kGroup] = {};
  for (std::int64_t t0 = 0; t0 < n; t0 += kTile) {
    const std::int64_t t1 = std::min(n, t0 + kTile);
    for (std::int64_t s = 0; s < n_sections; ++s) {
      const double* c = sos + 6 * s;
      const double b0 = c[0], b1 = c[1], b2 = c[2], a1 = c[4], a2 = c[5];
      for (std::int64_t j = t0; j < t1; ++j) {
        double* v = y + (backward ? n - 1 - j : j) * kGroup;
        for (int g = 0; g < kGroup; ++g) {
          const double xi = v[g];
          const double yi = b0 * xi + z0[s][g];
          z0[s][g] = b1 * xi - a1 * yi + z1[s][g];
          z1[s][g] = b2 * xi - a2 * yi;
          v[g] = yi;
        }
      }
    }
  }
}
#endif

void running_mean_normalise(double* y, std::int64_t n, std::int64_t half, std::vector<double>& prefix) {
  prefix.assign(static_cast<std::size_t>(n + 1), 0.0);
  for (std::int64_t i = 0; i < n; ++i) prefix[i + 1] = prefix[i] + std::abs(y[i * kGroup]);
  for (std::int64_t i = 0; i < n; ++i) {
    const std::int64_t lo = std::max<std::int64_t>(0, i - half);
    const std::int64_t hi = std::min<std::int64_t>(n, i + half + 1);
    const double w = (prefix[hi] - prefix[lo]) / static_cast<double>(hi - lo);
    y[i * kGroup] = w > 0.0 ? y[i * kGroup] / w : 0.0;
  }
}

void normalise(double* y, std::int64_t n, const PreprocessParams& p, std::vector<double>& scratch) {
  switch (p.norm) {
    case TemporalNorm::kOneBit:
      for (std::int64_t i = 0; i < n; ++i) {
        const double v = y[i * kGroup];
        y[i * kGroup] = static_cast<double>(static_cast<int>(v > 0.0) - static_cast<int>(v < 0.0));
      }
      break;
    case TemporalNorm::kRunningMean:
      running_mean_normalise(y, n, p.ram_half_width, scratch);
      break;
    case TemporalNorm::kClip: {
      double ss = 0.0;
      for (std::int64_t i = 0; i < n; ++i) ss += y[i * kGroup] * y[i * kGroup];
      const double lim = p.clip_factor * std::sqrt(ss / static_cast<double>(n));
      for (std::int64_t i = 0; i < n; ++i) y[i * kGroup] = std::clamp(y[i * kGroup], -lim, lim);
      break;
    }
    case TemporalNorm::kNone:
      break;
  }
}

// The rows [r0, r0 + count) (count <= kGroup), after their quality check.
void process_group(float* x, std::int64_t r0, std::int64_t count, std::int64_t n, std::int64_t row_stride,
                   const PreprocessParams& p, const std::vector<double>& w, std::int8_t* status,
                   std::vector<double>& y, std::vector<double>& scratch) {
  bool any = false;
  for (std::int64_t g = 0; g < count; ++g) {
    status[r0 + g] = check_row(x + (r0 + g) * row_stride, n, p);
    any = any || status[r0 + g] == kOk;
  }
  if (!any) return;
  y.assign(static_cast<std::size_t>(n * kGroup), 0.0);
  for (std::int64_t g = 0; g < count; ++g) {
    if (status[r0 + g] != kOk) continue;
    load_row(x + (r0 + g) * row_stride, y.data() + g, n, p.detrend, p.demean, w);
  }
  if (p.n_sections > 0) {
    sosfilt_group(y.data(), n, p.sos, p.n_sections, false);
    if (p.zero_phase) sosfilt_group(y.data(), n, p.sos, p.n_sections, true);
  }
  for (std::int64_t g = 0; g < count; ++g) {
    if (status[r0 + g] != kOk) continue;
    normalise(y.data() + g, n, p, scratch);
    float* row = x + (r0 + g) * row_stride;
    for (std::int64_t i = 0; i < n; ++i) row[i] = static_cast<float>(y[i * kGroup + g]);
  }
}

}  // namespace

void preprocess_windows(float* x, std::int64_t n_rows, std::int64_t n, std::int64_t row_stride,
                        const PreprocessParams& p, std::int8_t* status, int workers) {
  SEISCORE_CHECK(n_rows >= 0 && n >= 1, "preprocess_windows: need at least one sample per row, got n=" << n);
  SEISCORE_CHECK(n_rows <= 1 || row_stride >= n, "preprocess_windows: row_stride " << row_stride
                                                                                  << " < row length " << n);
  SEISCORE_CHECK(p.taper_fraction >= 0.0 && p.taper_fraction <= 0.5,
                 "taper fraction must be in [0, 0.5], got " << p.taper_fraction);
  SEISCORE_CHECK(p.n_sections >= 0 && (p.n_sections == 0 || p.sos != nullptr), "filter: missing sections");
  SEISCORE_CHECK(p.n_sections <= kMaxSections, "filter: at most " << kMaxSections << " sections, got " << p.n_sections);
  for (std::int64_t s = 0; s < p.n_sections; ++s) {
    SEISCORE_CHECK(p.sos[6 * s + 3] == 1.0, "filter: section " << s << " must have a0 == 1");
    for (int k = 0; k < 6; ++k) SEISCORE_CHECK(std::isfinite(p.sos[6 * s + k]), "filter: non-finite coefficient");
  }
  SEISCORE_CHECK(p.norm != TemporalNorm::kRunningMean || p.ram_half_width >= 0,
                 "running-mean half width must be >= 0, got " << p.ram_half_width);
  SEISCORE_CHECK(p.norm != TemporalNorm::kClip || p.clip_factor > 0.0,
                 "clip factor must be > 0, got " << p.clip_factor);
  SEISCORE_CHECK(p.max_over_std >= 0.0 && p.max_flat >= 0, "quality thresholds must be >= 0");
  const std::vector<double> w = taper_weights(n, p.taper_fraction);
  const std::int64_t groups = (n_rows + kGroup - 1) / kGroup;
  parallel_for(groups, workers, [&](std::int64_t grp) {
    thread_local std::vector<double> y, scratch;
    const std::int64_t r0 = grp * kGroup;
    process_group(x, r0, std::min<std::int64_t>(kGroup, n_rows - r0), n, row_stride, p, w, status, y, scratch);
  });
}

// ------------------------------------------------------------------------------- decimate

namespace {

// Half-open runs [start, end) of finite samples of one row.
void finite_runs(const float* x, std::int64_t n, std::vector<std::int64_t>& starts,
                 std::vector<std::int64_t>& ends) {
  starts.clear();
  ends.clear();
  bool in = false;
  for (std::int64_t i = 0; i < n; ++i) {
    const bool f = std::isfinite(x[i]);
    if (f && !in) starts.push_back(i);
    if (!f && in) ends.push_back(i);
    in = f;
  }
  if (in) ends.push_back(n);
}

constexpr std::int64_t kDecimateChunk = 1 << 16;  // output samples per task

}  // namespace

void decimate(const float* x, std::int64_t n_rows, std::int64_t n, std::int64_t row_stride,
              const double* h, std::int64_t n_taps, std::int64_t factor, float* y,
              std::int64_t out_row_stride, int workers) {
  SEISCORE_CHECK(factor >= 1, "decimation factor must be >= 1, got " << factor);
  SEISCORE_CHECK(n_taps >= 1 && n_taps % 2 == 1, "decimation filter needs an odd number of taps, got " << n_taps);
  SEISCORE_CHECK(n >= 0, "negative row length");
  const std::int64_t n_out = decimated_length(n, factor);
  SEISCORE_CHECK(n_rows <= 1 || (row_stride >= n && out_row_stride >= n_out), "decimate: rows overlap");
  if (n_rows == 0 || n == 0) return;
  double hsum = 0.0;
  for (std::int64_t k = 0; k < n_taps; ++k) {
    SEISCORE_CHECK(std::isfinite(h[k]), "decimation filter: non-finite tap " << k);
    hsum += h[k];
  }
  SEISCORE_CHECK(hsum != 0.0, "decimation filter taps sum to 0");
  // prefix sums of h, for the renormalisation of truncated supports
  std::vector<double> hpre(static_cast<std::size_t>(n_taps + 1), 0.0);
  for (std::int64_t k = 0; k < n_taps; ++k) hpre[k + 1] = hpre[k] + h[k];
  const std::int64_t half = (n_taps - 1) / 2;

  std::vector<std::vector<std::int64_t>> run_start(static_cast<std::size_t>(n_rows)),
      run_end(static_cast<std::size_t>(n_rows));
  parallel_for(n_rows, workers, [&](std::int64_t r) { finite_runs(x + r * row_stride, n, run_start[r], run_end[r]); });

  const std::int64_t chunks = (n_out + kDecimateChunk - 1) / kDecimateChunk;
  parallel_for(n_rows * chunks, workers, [&](std::int64_t task) {
    const std::int64_t r = task / chunks;
    const std::int64_t j0 = (task % chunks) * kDecimateChunk;
    const std::int64_t j1 = std::min(n_out, j0 + kDecimateChunk);
    const float* xr = x + r * row_stride;
    float* yr = y + r * out_row_stride;
    const auto& rs = run_start[r];
    const auto& re = run_end[r];
    // first run whose end is beyond the first centre
    std::size_t ri = static_cast<std::size_t>(std::upper_bound(re.begin(), re.end(), j0 * factor) - re.begin());
    for (std::int64_t j = j0; j < j1; ++j) {
      const std::int64_t c = j * factor;
      while (ri < re.size() && re[ri] <= c) ++ri;
      if (ri >= re.size() || rs[ri] > c) {
        yr[j] = std::numeric_limits<float>::quiet_NaN();
        continue;
      }
      const std::int64_t k0 = std::max<std::int64_t>(0, rs[ri] - (c - half));
      const std::int64_t k1 = std::min<std::int64_t>(n_taps, re[ri] - (c - half));
      const float* base = xr + (c - half);
      double acc = 0.0;
      for (std::int64_t k = k0; k < k1; ++k) acc += h[k] * static_cast<double>(base[k]);
      if (k0 > 0 || k1 < n_taps) acc *= hsum / (hpre[k1] - hpre[k0]);
      yr[j] = static_cast<float>(acc);
    }
  });
}

}  // namespace seiscore::correlation
