#include "seiscore/location/migrate.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "seiscore/core/error.hpp"
#include "seiscore/core/parallel.hpp"

// The 32-byte vector helpers below are always inlined into one function: no vector crosses a
// call boundary, so GCC's note that such returns change the ABI without AVX does not apply.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wpsabi"
#endif

// The stacking loops are compiled twice on x86-64 (AVX2 and the baseline), and the loader picks
// the version the CPU supports (GCC/Clang function multi-versioning through an ifunc).
#if defined(__x86_64__) && defined(__GNUC__) && defined(__linux__) && !defined(SEISCORE_NO_MULTIVERSION)
#define SEISCORE_MULTIVERSION __attribute__((target_clones("avx2", "default")))
#else
#define SEISCORE_MULTIVERSION
#endif
#define SEISCORE_INLINE inline __attribute__((always_inline))

namespace seiscore::location {

namespace {

typedef float v8f __attribute__((vector_size(32)));
typedef std::int32_t v8i __attribute__((vector_size(32)));

constexpr std::int64_t kBlock = 512;    // samples per time block (a task's time extent)
constexpr std::int64_t kSubChunk = 512; // nodes summed in float32 before flushing to float64
constexpr std::int64_t kWave = 16;      // time blocks whose partial results are held at once

SEISCORE_INLINE v8f load8(const float* p) {
  v8f v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

SEISCORE_INLINE void store8(float* p, v8f v) { std::memcpy(p, &v, sizeof v); }

SEISCORE_INLINE v8f splat(float x) { return v8f{x, x, x, x, x, x, x, x}; }

SEISCORE_INLINE v8i splati(std::int32_t x) { return v8i{x, x, x, x, x, x, x, x}; }

// Lane-wise select by a comparison mask (all bits set where true).
SEISCORE_INLINE v8f select(v8i mask, v8f a, v8f b) {
  v8i ai, bi;
  std::memcpy(&ai, &a, sizeof ai);
  std::memcpy(&bi, &b, sizeof bi);
  const v8i r = (ai & mask) | (bi & ~mask);
  v8f out;
  std::memcpy(&out, &r, sizeof out);
  return out;
}

// exp(x) for float lanes: 2^k * p(r), r = x - k ln2, |r| <= ln2/2; relative error < 2e-7.
SEISCORE_INLINE v8f vexp(v8f x) {
  const v8f hi = splat(88.3f), lo = splat(-87.3f);
  x = select(x < hi, x, hi);
  x = select(x > lo, x, lo);
  const v8f magic = splat(12582912.0f);  // 1.5 * 2^23: adding it rounds to an integer
  v8f t = x * splat(1.44269504088896341f) + magic;
  const v8f k = t - magic;
  v8i ki;
  std::memcpy(&ki, &t, sizeof ki);
  ki -= splati(0x4B400000);  // bit pattern of `magic`
  const v8f r = (x - k * splat(0.693145751953125f)) - k * splat(1.428606765330187045e-06f);
  v8f p = splat(1.0f / 5040);
  p = p * r + splat(1.0f / 720);
  p = p * r + splat(1.0f / 120);
  p = p * r + splat(1.0f / 24);
  p = p * r + splat(1.0f / 6);
  p = p * r + splat(0.5f);
  p = p * r + splat(1.0f);
  p = p * r + splat(1.0f);
  v8i bits;
  std::memcpy(&bits, &p, sizeof bits);
  bits += ki << 23;
  v8f out;
  std::memcpy(&out, &bits, sizeof out);
  return out;
}

SEISCORE_INLINE float sexp(float x) {
  const v8f v = vexp(splat(x));
  return v[0];
}

struct Ctx {
  const float* onsets;
  std::int64_t n_samples;
  const std::int32_t* tt;
  std::int64_t n_rows;
  const std::int32_t* rows;  // active row indices
  std::int64_t n_act;
  float inv_act;
  bool geometric;
};

constexpr std::int64_t kStrip = 64;  // samples stacked in registers at once

// acc[s] = sum over active rows of onsets[row, t0 + tt[node, row] + s] for s < len <= kStrip.
SEISCORE_INLINE void stack_strip(const Ctx& c, std::int64_t node, std::int64_t t0, std::int64_t len, float* acc) {
  const std::int32_t* tn = c.tt + node * c.n_rows;
  const float* origin = c.onsets + t0;
  if (len == kStrip) {
    v8f a0 = splat(0), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
    for (std::int64_t k = 0; k < c.n_act; ++k) {
      const std::int32_t r = c.rows[k];
      const float* p = origin + r * c.n_samples + tn[r];
      a0 += load8(p);
      a1 += load8(p + 8);
      a2 += load8(p + 16);
      a3 += load8(p + 24);
      a4 += load8(p + 32);
      a5 += load8(p + 40);
      a6 += load8(p + 48);
      a7 += load8(p + 56);
    }
    store8(acc, a0);
    store8(acc + 8, a1);
    store8(acc + 16, a2);
    store8(acc + 24, a3);
    store8(acc + 32, a4);
    store8(acc + 40, a5);
    store8(acc + 48, a6);
    store8(acc + 56, a7);
    return;
  }
  std::int64_t s = 0;
  for (; s + 8 <= len; s += 8) {
    v8f a = splat(0);
    for (std::int64_t k = 0; k < c.n_act; ++k) {
      const std::int32_t r = c.rows[k];
      a += load8(origin + r * c.n_samples + tn[r] + s);
    }
    store8(acc + s, a);
  }
  for (; s < len; ++s) {
    float a = 0;
    for (std::int64_t k = 0; k < c.n_act; ++k) {
      const std::int32_t r = c.rows[k];
      a += origin[r * c.n_samples + tn[r] + s];
    }
    acc[s] = a;
  }
}

// acc -> coalescence, in place.
SEISCORE_INLINE void transform(const Ctx& c, float* acc, std::int64_t len) {
  const v8f inv = splat(c.inv_act);
  std::int64_t s = 0;
  if (c.geometric) {
    for (; s + 8 <= len; s += 8) store8(acc + s, vexp(load8(acc + s) * inv));
    for (; s < len; ++s) acc[s] = sexp(acc[s] * c.inv_act);
  } else {
    for (; s + 8 <= len; s += 8) store8(acc + s, load8(acc + s) * inv);
    for (; s < len; ++s) acc[s] *= c.inv_act;
  }
}

struct Partial {
  float* max;          // [kBlock]
  std::int32_t* node;  // [kBlock]
  double* sum;         // [kBlock]
};

// Loop order: node sub-chunks, then 64-sample strips, then nodes, so that neighbouring nodes
// (whose travel times differ by a sample or two) re-read the same onset windows from L1.
SEISCORE_MULTIVERSION
void max_task(const Ctx& c, std::int64_t node_lo, std::int64_t node_hi, std::int64_t t0, std::int64_t len,
              Partial out) {
  alignas(64) float acc[kStrip];
  alignas(64) float fsum[kBlock];
  alignas(64) float pmax[kBlock];
  alignas(64) std::int32_t pnode[kBlock];
  for (std::int64_t s = 0; s < len; ++s) {
    pmax[s] = -std::numeric_limits<float>::infinity();
    pnode[s] = static_cast<std::int32_t>(node_lo);
    out.sum[s] = 0;
  }
  for (std::int64_t sub = node_lo; sub < node_hi; sub += kSubChunk) {
    const std::int64_t sub_hi = std::min(node_hi, sub + kSubChunk);
    for (std::int64_t s = 0; s < len; ++s) fsum[s] = 0;
    for (std::int64_t s0 = 0; s0 < len; s0 += kStrip) {
      const std::int64_t sl = std::min(kStrip, len - s0);
      const std::int64_t sl8 = sl & ~std::int64_t{7};
      float* pm = pmax + s0;
      std::int32_t* pn = pnode + s0;
      float* fs = fsum + s0;
      for (std::int64_t n = sub; n < sub_hi; ++n) {
        stack_strip(c, n, t0 + s0, sl, acc);
        transform(c, acc, sl);
        const v8i nv = splati(static_cast<std::int32_t>(n));
        for (std::int64_t s = 0; s < sl8; s += 8) {
          const v8f v = load8(acc + s);
          const v8f m = load8(pm + s);
          v8i a;
          std::memcpy(&a, pn + s, sizeof a);
          const v8i gt = v > m;
          store8(pm + s, select(gt, v, m));
          a = (nv & gt) | (a & ~gt);
          std::memcpy(pn + s, &a, sizeof a);
          store8(fs + s, load8(fs + s) + v);
        }
        for (std::int64_t s = sl8; s < sl; ++s) {
          if (acc[s] > pm[s]) {
            pm[s] = acc[s];
            pn[s] = static_cast<std::int32_t>(n);
          }
          fs[s] += acc[s];
        }
      }
    }
    for (std::int64_t s = 0; s < len; ++s) out.sum[s] += fsum[s];
  }
  std::memcpy(out.max, pmax, static_cast<std::size_t>(len) * sizeof(float));
  std::memcpy(out.node, pnode, static_cast<std::size_t>(len) * sizeof(std::int32_t));
}

SEISCORE_MULTIVERSION
void map_task(const Ctx& c, std::int64_t node_lo, std::int64_t node_hi, std::int64_t t0, std::int64_t len,
              float* map, std::int64_t row0, std::int64_t n_nodes) {
  alignas(64) float acc[kStrip];
  for (std::int64_t s0 = 0; s0 < len; s0 += kStrip) {
    const std::int64_t sl = std::min(kStrip, len - s0);
    for (std::int64_t n = node_lo; n < node_hi; ++n) {
      stack_strip(c, n, t0 + s0, sl, acc);
      transform(c, acc, sl);
      for (std::int64_t s = 0; s < sl; ++s) map[(row0 + s0 + s) * n_nodes + n] = acc[s];
    }
  }
}

struct Prepared {
  Ctx ctx;
  std::vector<std::int32_t> rows;
};

Prepared prepare(const MigrateProblem& p, int workers) {
  Prepared out;
  const std::int64_t n_act = check_problem(p, workers);
  out.rows.reserve(static_cast<std::size_t>(n_act));
  for (std::int64_t r = 0; r < p.n_rows; ++r)
    if (!p.active || p.active[r]) out.rows.push_back(static_cast<std::int32_t>(r));
  out.ctx = Ctx{p.onsets, p.n_samples, p.tt, p.n_rows, out.rows.data(), n_act, 1.0f / static_cast<float>(n_act),
                p.stacking == Stacking::GeometricMean};
  return out;
}

// Node chunks depend on n_nodes only (never on workers): fixed summation order.
std::int64_t node_chunk(std::int64_t n_nodes) {
  const std::int64_t c = std::max<std::int64_t>(kSubChunk, (n_nodes + 63) / 64);
  return (c + kSubChunk - 1) / kSubChunk * kSubChunk;
}

}  // namespace

std::int64_t check_problem(const MigrateProblem& p, int workers) {
  SEISCORE_CHECK(p.n_rows >= 1, "migrate: need at least one onset row (station x phase)");
  SEISCORE_CHECK(p.n_samples >= 1, "migrate: onsets have no samples");
  SEISCORE_CHECK(p.n_nodes >= 1, "migrate: the grid has no nodes");
  SEISCORE_CHECK(p.n_nodes <= std::numeric_limits<std::int32_t>::max(), "migrate: more than 2^31 - 1 nodes");
  SEISCORE_CHECK(p.n_rows <= std::numeric_limits<std::int32_t>::max(), "migrate: too many onset rows");
  SEISCORE_CHECK(p.n_out >= 0, "migrate: negative output length");
  SEISCORE_CHECK(p.onsets != nullptr && p.tt != nullptr, "migrate: null input");
  SEISCORE_CHECK(p.stacking == Stacking::Mean || p.stacking == Stacking::GeometricMean, "migrate: unknown stacking");
  std::int64_t n_act = 0;
  for (std::int64_t r = 0; r < p.n_rows; ++r) n_act += (!p.active || p.active[r]) ? 1 : 0;
  SEISCORE_CHECK(n_act >= 1, "migrate: no available onsets (every station/phase row is inactive)");
  if (p.n_out == 0) return n_act;
  // bound first and n_out before any arithmetic on them (no overflow in the read-range check)
  SEISCORE_CHECK(p.n_out <= p.n_samples, "migrate: n_out=" << p.n_out << " is longer than the onsets ("
                                                            << p.n_samples << " samples)");
  SEISCORE_CHECK(p.first >= -p.n_samples && p.first <= p.n_samples,
                 "migrate: first=" << p.first << " lies outside the onsets (" << p.n_samples << " samples)");
  // range of the travel times over active rows
  const std::int64_t chunk = 4096;
  const std::int64_t n_chunks = (p.n_nodes + chunk - 1) / chunk;
  std::vector<std::int32_t> lo(static_cast<std::size_t>(n_chunks)), hi(static_cast<std::size_t>(n_chunks));
  parallel_for(n_chunks, workers, [&](std::int64_t c) {
    std::int32_t mn = std::numeric_limits<std::int32_t>::max(), mx = std::numeric_limits<std::int32_t>::min();
    const std::int64_t end = std::min(p.n_nodes, (c + 1) * chunk);
    for (std::int64_t n = c * chunk; n < end; ++n) {
      const std::int32_t* t = p.tt + n * p.n_rows;
      for (std::int64_t r = 0; r < p.n_rows; ++r) {
        if (p.active && !p.active[r]) continue;
        mn = std::min(mn, t[r]);
        mx = std::max(mx, t[r]);
      }
    }
    lo[static_cast<std::size_t>(c)] = mn;
    hi[static_cast<std::size_t>(c)] = mx;
  });
  const std::int64_t tmin = *std::min_element(lo.begin(), lo.end());
  const std::int64_t tmax = *std::max_element(hi.begin(), hi.end());
  SEISCORE_CHECK(p.first + tmin >= 0,
                 "migrate: reads before the first onset sample (first=" << p.first << ", smallest travel time "
                                                                        << tmin << " samples)");
  SEISCORE_CHECK(p.first + p.n_out - 1 + tmax <= p.n_samples - 1,
                 "migrate: reads past the last onset sample (first=" << p.first << ", n_out=" << p.n_out
                                                                     << ", largest travel time " << tmax
                                                                     << " samples, " << p.n_samples
                                                                     << " onset samples; need at least "
                                                                     << p.first + p.n_out + tmax << ")");
  return n_act;
}

void migrate_max(const MigrateProblem& p, float* max_coa, float* norm_coa, std::int64_t* max_node, int workers) {
  const Prepared prep = prepare(p, workers);
  if (p.n_out == 0) return;
  const std::int64_t nchunk = node_chunk(p.n_nodes);
  const std::int64_t n_node_chunks = (p.n_nodes + nchunk - 1) / nchunk;
  const std::int64_t n_blocks = (p.n_out + kBlock - 1) / kBlock;
  const std::int64_t wave_blocks = std::min<std::int64_t>(kWave, n_blocks);
  const std::size_t slots = static_cast<std::size_t>(wave_blocks * n_node_chunks * kBlock);
  std::vector<float> pmax(slots);
  std::vector<std::int32_t> pnode(slots);
  std::vector<double> psum(slots);
  for (std::int64_t b0 = 0; b0 < n_blocks; b0 += wave_blocks) {
    const std::int64_t nb = std::min(wave_blocks, n_blocks - b0);
    parallel_for(nb * n_node_chunks, workers, [&](std::int64_t task) {
      // node chunk outer so consecutive tasks of one thread share travel times
      const std::int64_t chunk = task / nb, b = task % nb;
      const std::int64_t t_lo = (b0 + b) * kBlock;
      const std::int64_t len = std::min(kBlock, p.n_out - t_lo);
      const std::size_t off = static_cast<std::size_t>((b * n_node_chunks + chunk) * kBlock);
      max_task(prep.ctx, chunk * nchunk, std::min(p.n_nodes, (chunk + 1) * nchunk), p.first + t_lo, len,
               Partial{pmax.data() + off, pnode.data() + off, psum.data() + off});
    });
    parallel_for(nb, workers, [&](std::int64_t b) {
      const std::int64_t t_lo = (b0 + b) * kBlock;
      const std::int64_t len = std::min(kBlock, p.n_out - t_lo);
      for (std::int64_t s = 0; s < len; ++s) {
        float best = -std::numeric_limits<float>::infinity();
        std::int64_t node = 0;
        double sum = 0;
        for (std::int64_t chunk = 0; chunk < n_node_chunks; ++chunk) {
          const std::size_t o = static_cast<std::size_t>((b * n_node_chunks + chunk) * kBlock + s);
          if (pmax[o] > best || chunk == 0) {
            best = pmax[o];
            node = pnode[o];
          }
          sum += psum[o];
        }
        const std::int64_t i = t_lo + s;
        if (max_coa) max_coa[i] = best;
        if (max_node) max_node[i] = node;
        if (norm_coa) {
          const double mean = sum / static_cast<double>(p.n_nodes);
          norm_coa[i] = mean != 0.0 ? static_cast<float>(best / mean) : 0.0f;
        }
      }
    });
  }
}

void migrate_map(const MigrateProblem& p, float* map, int workers) {
  const Prepared prep = prepare(p, workers);
  if (p.n_out == 0) return;
  SEISCORE_CHECK(map != nullptr, "migrate_map: null output");
  const std::int64_t nchunk = node_chunk(p.n_nodes);
  const std::int64_t n_node_chunks = (p.n_nodes + nchunk - 1) / nchunk;
  const std::int64_t n_blocks = (p.n_out + kBlock - 1) / kBlock;
  parallel_for(n_blocks * n_node_chunks, workers, [&](std::int64_t task) {
    const std::int64_t chunk = task / n_blocks, b = task % n_blocks;
    const std::int64_t t_lo = b * kBlock;
    const std::int64_t len = std::min(kBlock, p.n_out - t_lo);
    map_task(prep.ctx, chunk * nchunk, std::min(p.n_nodes, (chunk + 1) * nchunk), p.first + t_lo, len, map, t_lo,
             p.n_nodes);
  });
}

}  // namespace seiscore::location
