#include "seiscore/picking/peaks.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

#if defined(__SSE2__)
#include <immintrin.h>
#endif

#include "seiscore/core/error.hpp"
#include "seiscore/core/parallel.hpp"

namespace seiscore::picking {

void PickColumns::resize(std::size_t n) {
  trace.resize(n);
  phase.resize(n);
  index.resize(n);
  position.resize(n);
  value.resize(n);
  start.resize(n);
  end.resize(n);
}

namespace {

// Samples per chunk of one series handed to one thread (1 MiB of float32).
constexpr std::int64_t kChunk = std::int64_t{1} << 18;
// Block of contiguous samples tested at once for "anything above the threshold?".
constexpr std::int64_t kBlock = 16;

// One series (trace, phase) with its stride.
struct Series {
  const float* p;
  std::int64_t n;
  std::int64_t stride;
  float operator()(std::int64_t i) const { return p[i * stride]; }
};

struct Pick {
  std::int64_t index;
  std::int64_t left;   // plateau (or segment maximum run) first sample
  std::int64_t right;  // plateau last sample
  float value;
  std::int64_t start;
  std::int64_t end;
};

// True when any of the kBlock contiguous samples at p is >= h (NaN counts as below). This
// test is where the kernel spends its time; GCC does not vectorise the plain loop, so on x86
// it is written with SSE (baseline on x86-64): four 4-wide ordered compares, OR, movemask.
inline bool any_at_least(const float* p, float h) {
#if defined(__SSE2__)
  static_assert(kBlock == 16, "the SSE path tests 16 samples");
  const __m128 t = _mm_set1_ps(h);
  const __m128 a = _mm_cmpge_ps(_mm_loadu_ps(p), t);
  const __m128 b = _mm_cmpge_ps(_mm_loadu_ps(p + 4), t);
  const __m128 c = _mm_cmpge_ps(_mm_loadu_ps(p + 8), t);
  const __m128 d = _mm_cmpge_ps(_mm_loadu_ps(p + 12), t);
  return _mm_movemask_ps(_mm_or_ps(_mm_or_ps(a, b), _mm_or_ps(c, d))) != 0;
#else
  unsigned hit = 0;
  for (std::int64_t j = 0; j < kBlock; ++j) hit |= static_cast<unsigned>(p[j] >= h);
  return hit != 0;
#endif
}

// Sub-sample position of a maximum spanning samples [left, right] (equal values).
double refine(const Series& x, std::int64_t left, std::int64_t right) {
  if (right > left) return 0.5 * static_cast<double>(left + right);
  const std::int64_t m = left;
  if (m <= 0 || m >= x.n - 1) return static_cast<double>(m);
  const double a = x(m - 1), b = x(m), c = x(m + 1);
  const double denom = a - 2.0 * b + c;
  if (!(denom < 0.0) || !std::isfinite(a) || !std::isfinite(c)) return static_cast<double>(m);
  double delta = 0.5 * (a - c) / denom;
  delta = std::clamp(delta, -0.5, 0.5);
  return static_cast<double>(m) + delta;
}

// Local maxima with value >= h whose rising edge lies in [lo, hi), scipy's definition.
void local_maxima(const Series& x, float h, std::int64_t lo, std::int64_t hi, std::vector<Pick>& out) {
  const std::int64_t last = x.n - 1;  // valid rising edges: 1 .. n-2
  std::int64_t i = std::max<std::int64_t>(lo, 1);
  hi = std::min(hi, last);
  const bool contiguous = x.stride == 1;
  while (i < hi) {
    if (contiguous) {
      while (i + kBlock <= hi && !any_at_least(x.p + i, h)) i += kBlock;
      if (i >= hi) break;
    }
    const std::int64_t block_end = contiguous ? std::min(i + kBlock, hi) : hi;
    for (; i < block_end; ++i) {
      const float xi = x(i);
      if (!(xi >= h) || !(x(i - 1) < xi)) continue;
      std::int64_t ahead = i + 1;
      while (ahead < last && x(ahead) == xi) ++ahead;
      if (x(ahead) < xi) {
        out.push_back(Pick{(i + ahead - 1) / 2, i, ahead - 1, xi, 0, 0});
        i = ahead;  // samples up to `ahead` cannot start another maximum
      }
    }
  }
}

// scipy's _select_by_peak_distance: highest first, later sample first among equals.
void suppress(std::vector<Pick>& peaks, std::int64_t distance) {
  const std::size_t n = peaks.size();
  if (distance <= 1 || n < 2) return;
  std::vector<std::uint32_t> order(n);
  std::iota(order.begin(), order.end(), 0u);
  std::sort(order.begin(), order.end(), [&](std::uint32_t a, std::uint32_t b) {
    if (peaks[a].value != peaks[b].value) return peaks[a].value > peaks[b].value;
    return a > b;
  });
  std::vector<char> keep(n, 1);
  for (std::uint32_t j : order) {
    if (!keep[j]) continue;
    const std::int64_t pj = peaks[j].index;
    for (std::int64_t k = static_cast<std::int64_t>(j) - 1; k >= 0 && pj - peaks[k].index < distance; --k)
      keep[k] = 0;
    for (std::size_t k = j + 1; k < n && peaks[k].index - pj < distance; ++k) keep[k] = 0;
  }
  std::size_t w = 0;
  for (std::size_t k = 0; k < n; ++k)
    if (keep[k]) peaks[w++] = peaks[k];
  peaks.resize(w);
}

// Run of samples >= h around each peak (peaks sorted by position; runs shared).
void above_runs(const Series& x, float h, std::vector<Pick>& peaks) {
  std::int64_t run_start = -1, run_end = -1;
  for (Pick& pk : peaks) {
    if (pk.left >= run_end) {
      run_start = pk.left;
      while (run_start > 0 && x(run_start - 1) >= h) --run_start;
      run_end = pk.right + 1;
      while (run_end < x.n && x(run_end) >= h) ++run_end;
    }
    pk.start = run_start;
    pk.end = run_end;
  }
}

// Is the trigger on just before sample a? Walk back to the last decisive sample.
bool trigger_on_before(const Series& x, float on, float off, std::int64_t a) {
  for (std::int64_t k = a - 1; k >= 0; --k) {
    const float v = x(k);
    if (v >= on) return true;
    if (!(v >= off)) return false;
  }
  return false;
}

// Hysteresis segments whose first sample lies in [lo, hi).
void triggers(const Series& x, float on, float off, std::int64_t lo, std::int64_t hi, std::vector<Pick>& out) {
  std::int64_t i = lo;
  if (lo > 0 && trigger_on_before(x, on, off, lo)) {
    while (i < x.n && x(i) >= off) ++i;  // inside a segment owned by an earlier chunk
  }
  const bool contiguous = x.stride == 1;
  while (i < hi) {
    if (contiguous) {
      while (i + kBlock <= hi && !any_at_least(x.p + i, on)) i += kBlock;
      if (i >= hi) break;
    }
    const float xi = x(i);
    if (!(xi >= on)) {
      ++i;
      continue;
    }
    std::int64_t best = i;
    float best_value = xi;
    std::int64_t e = i + 1;
    for (; e < x.n; ++e) {
      const float v = x(e);
      if (!(v >= off)) break;
      if (v > best_value) {
        best_value = v;
        best = e;
      }
    }
    std::int64_t right = best;
    while (right + 1 < e && x(right + 1) == best_value) ++right;
    out.push_back(Pick{best, best, right, best_value, i, e});
    i = e;
  }
}

PickColumns assemble(std::vector<std::vector<Pick>>& per_series, const SeriesLayout& L, const float* prob,
                     int workers) {
  const std::int64_t n_series = static_cast<std::int64_t>(per_series.size());
  std::vector<std::size_t> offset(per_series.size() + 1, 0);
  for (std::size_t s = 0; s < per_series.size(); ++s) offset[s + 1] = offset[s] + per_series[s].size();
  PickColumns cols;
  cols.resize(offset.back());
  parallel_for(n_series, workers, [&](std::int64_t s) {
    const std::int64_t t = s / L.n_phases, p = s % L.n_phases;
    const Series x{prob + t * L.trace_stride + p * L.phase_stride, L.n_samples, L.sample_stride};
    std::size_t o = offset[static_cast<std::size_t>(s)];
    for (const Pick& pk : per_series[static_cast<std::size_t>(s)]) {
      cols.trace[o] = t;
      cols.phase[o] = static_cast<std::int32_t>(p);
      cols.index[o] = pk.index;
      cols.position[o] = refine(x, pk.left, pk.right);
      cols.value[o] = pk.value;
      cols.start[o] = pk.start;
      cols.end[o] = pk.end;
      ++o;
    }
  });
  return cols;
}

void check_layout(const float* prob, const SeriesLayout& L) {
  SEISCORE_CHECK(L.n_traces >= 0 && L.n_phases >= 0 && L.n_samples >= 0,
                 "probabilities: negative dimension");
  SEISCORE_CHECK(prob != nullptr || L.n_traces * L.n_phases * L.n_samples == 0,
                 "probabilities: null pointer for a non-empty array");
  SEISCORE_CHECK(L.n_phases <= INT32_MAX, "probabilities: too many phases");
}

// Runs `scan(series, phase, lo, hi, out)` over every chunk of every series in parallel and
// returns the per-series concatenation (chunks are in time order).
template <class Scan>
std::vector<std::vector<Pick>> scan_chunks(const float* prob, const SeriesLayout& L, int workers, Scan&& scan) {
  const std::int64_t n_series = L.n_traces * L.n_phases;
  const std::int64_t n_chunks = std::max<std::int64_t>(1, (L.n_samples + kChunk - 1) / kChunk);
  std::vector<std::vector<Pick>> chunk_out(static_cast<std::size_t>(n_series * n_chunks));
  parallel_for(n_series * n_chunks, workers, [&](std::int64_t task) {
    const std::int64_t s = task / n_chunks, c = task % n_chunks;
    const std::int64_t t = s / L.n_phases, p = s % L.n_phases;
    const Series x{prob + t * L.trace_stride + p * L.phase_stride, L.n_samples, L.sample_stride};
    const std::int64_t lo = c * kChunk, hi = std::min(L.n_samples, lo + kChunk);
    scan(x, p, lo, hi, chunk_out[static_cast<std::size_t>(task)]);
  });
  std::vector<std::vector<Pick>> per_series(static_cast<std::size_t>(n_series));
  for (std::int64_t s = 0; s < n_series; ++s) {
    auto& dst = per_series[static_cast<std::size_t>(s)];
    if (n_chunks == 1) {
      dst = std::move(chunk_out[static_cast<std::size_t>(s)]);
      continue;
    }
    for (std::int64_t c = 0; c < n_chunks; ++c) {
      auto& src = chunk_out[static_cast<std::size_t>(s * n_chunks + c)];
      dst.insert(dst.end(), src.begin(), src.end());
      std::vector<Pick>().swap(src);
    }
  }
  return per_series;
}

}  // namespace

PickColumns find_peaks(const float* prob, const SeriesLayout& L, const float* height, const std::int64_t* distance,
                       int workers) {
  check_layout(prob, L);
  for (std::int64_t p = 0; p < L.n_phases; ++p) {
    SEISCORE_CHECK(!std::isnan(height[p]), "height for phase " << p << " is NaN");
    SEISCORE_CHECK(distance[p] >= 1, "distance for phase " << p << " must be >= 1 sample, got " << distance[p]);
  }
  auto per_series = scan_chunks(prob, L, workers,
                                [&](const Series& x, std::int64_t p, std::int64_t lo, std::int64_t hi,
                                    std::vector<Pick>& out) { local_maxima(x, height[p], lo, hi, out); });
  const std::int64_t n_series = L.n_traces * L.n_phases;
  parallel_for(n_series, workers, [&](std::int64_t s) {
    const std::int64_t t = s / L.n_phases, p = s % L.n_phases;
    const Series x{prob + t * L.trace_stride + p * L.phase_stride, L.n_samples, L.sample_stride};
    auto& peaks = per_series[static_cast<std::size_t>(s)];
    suppress(peaks, distance[p]);
    above_runs(x, height[p], peaks);
  });
  return assemble(per_series, L, prob, workers);
}

PickColumns find_triggers(const float* prob, const SeriesLayout& L, const float* on, const float* off,
                          int workers) {
  check_layout(prob, L);
  for (std::int64_t p = 0; p < L.n_phases; ++p) {
    SEISCORE_CHECK(std::isfinite(on[p]) && std::isfinite(off[p]),
                   "trigger thresholds for phase " << p << " must be finite (on=" << on[p] << ", off=" << off[p] << ")");
    SEISCORE_CHECK(off[p] <= on[p],
                   "trigger for phase " << p << ": off threshold " << off[p] << " is above on threshold " << on[p]);
  }
  auto per_series = scan_chunks(prob, L, workers,
                                [&](const Series& x, std::int64_t p, std::int64_t lo, std::int64_t hi,
                                    std::vector<Pick>& out) { triggers(x, on[p], off[p], lo, hi, out); });
  return assemble(per_series, L, prob, workers);
}

}  // namespace seiscore::picking
