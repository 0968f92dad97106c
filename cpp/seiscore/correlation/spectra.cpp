#include "seiscore/correlation/spectra.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "seiscore/core/error.hpp"
#include "seiscore/core/parallel.hpp"

namespace seiscore::correlation {

namespace {

constexpr double kPi = 3.14159265358979323846;
// Frequency bins per task in cross_spectra: 256 complex float32 = 2 KiB per row, so the rows of
// one window of a few dozen stations and the outputs of a few hundred pairs stay in L2.
constexpr std::int64_t kBlock = 256;
// Bins accumulated at once in registers (four SSE vectors each for re and im).
constexpr std::int64_t kLane = 16;
// Bins between exact re-evaluations of the phase ramp (the recurrence in between is float64).
constexpr std::int64_t kReseed = 512;

double band_weight(double f, const double* b) {
  if (f < b[0] || f > b[3]) return 0.0;
  if (f < b[1]) return 0.5 * (1.0 - std::cos(kPi * (f - b[0]) / (b[1] - b[0])));
  if (f <= b[2]) return 1.0;
  if (f < b[3]) return 0.5 * (1.0 - std::cos(kPi * (b[3] - f) / (b[3] - b[2])));
  return 1.0;  // f == b[3] == b[2]
}

}  // namespace

void check_spectral_params(const SpectralParams& p, std::int64_t nfreq) {
  SEISCORE_CHECK(p.nfft >= 1, "nfft must be >= 1, got " << p.nfft);
  SEISCORE_CHECK(nfreq == p.nfft / 2 + 1, "spectra have " << nfreq << " bins, expected nfft/2+1 = " << p.nfft / 2 + 1);
  SEISCORE_CHECK(std::isfinite(p.df) && p.df > 0.0, "df must be a positive frequency step, got " << p.df);
  if (p.whiten) {
    const double* b = p.band;
    SEISCORE_CHECK(std::isfinite(b[0]) && std::isfinite(b[3]) && 0.0 <= b[0] && b[0] <= b[1] && b[1] <= b[2] &&
                       b[2] <= b[3],
                   "whitening band must be 0 <= f1 <= f2 <= f3 <= f4, got (" << b[0] << ", " << b[1] << ", " << b[2]
                                                                             << ", " << b[3] << ")");
    SEISCORE_CHECK(p.smooth_bins >= 0, "smoothing half-width must be >= 0 bins, got " << p.smooth_bins);
  }
}

void check_terms(std::int64_t n_rows, const std::int64_t* row_a, const std::int64_t* row_b, const float* weight,
                 const std::int64_t* out_index, std::int64_t n_terms, std::int64_t n_out) {
  SEISCORE_CHECK(n_terms >= 0 && n_out >= 0, "negative term or output count");
  if (out_index == nullptr) SEISCORE_CHECK(n_out == n_terms, "without out_index there is one output per term");
  for (std::int64_t t = 0; t < n_terms; ++t) {
    SEISCORE_CHECK(row_a[t] >= 0 && row_a[t] < n_rows && row_b[t] >= 0 && row_b[t] < n_rows,
                   "term " << t << ": row index out of range [0, " << n_rows << "): (" << row_a[t] << ", " << row_b[t]
                           << ")");
    SEISCORE_CHECK(weight == nullptr || std::isfinite(weight[t]), "term " << t << ": weight is not finite");
    if (out_index != nullptr)
      SEISCORE_CHECK(out_index[t] >= 0 && out_index[t] < n_out,
                     "term " << t << ": output index " << out_index[t] << " out of range [0, " << n_out << ")");
  }
}

void condition_spectra(float* spec, std::int64_t n_rows, std::int64_t nfreq, std::int64_t row_stride,
                       const SpectralParams& p, const double* shift_s, double* energy, int workers) {
  check_spectral_params(p, nfreq);
  SEISCORE_CHECK(n_rows <= 1 || row_stride >= nfreq, "condition_spectra: rows overlap");
  if (shift_s != nullptr) {
    for (std::int64_t r = 0; r < n_rows; ++r)
      SEISCORE_CHECK(std::isfinite(shift_s[r]), "shift of row " << r << " is not finite");
  }
  std::vector<double> gain;  // band weight of every bin, the same for all rows
  if (p.whiten) {
    gain.resize(static_cast<std::size_t>(nfreq));
    for (std::int64_t k = 0; k < nfreq; ++k) gain[k] = band_weight(static_cast<double>(k) * p.df, p.band);
  }
  parallel_for(n_rows, workers, [&](std::int64_t r) {
    float* x = spec + 2 * r * row_stride;
    if (shift_s != nullptr && shift_s[r] != 0.0) {
      const double theta = -2.0 * kPi * p.df * shift_s[r];
      const double cr = std::cos(theta), ci = std::sin(theta);
      double zr = 1.0, zi = 0.0;
      for (std::int64_t k = 0; k < nfreq; ++k) {
        if (k % kReseed == 0) {
          zr = std::cos(theta * static_cast<double>(k));
          zi = std::sin(theta * static_cast<double>(k));
        }
        const double xr = x[2 * k], xi = x[2 * k + 1];
        x[2 * k] = static_cast<float>(xr * zr - xi * zi);
        x[2 * k + 1] = static_cast<float>(xr * zi + xi * zr);
        const double nr = zr * cr - zi * ci;
        zi = zr * ci + zi * cr;
        zr = nr;
      }
    }
    if (p.whiten) {
      thread_local std::vector<double> amp_prefix;
      // a half-width beyond the spectrum smooths over all of it (and k + m + 1 cannot overflow)
      const std::int64_t m = std::min<std::int64_t>(p.smooth_bins, nfreq);
      if (m > 0) {
        amp_prefix.assign(static_cast<std::size_t>(nfreq + 1), 0.0);
        for (std::int64_t k = 0; k < nfreq; ++k) {
          const double re = x[2 * k], im = x[2 * k + 1];
          amp_prefix[k + 1] = amp_prefix[k] + std::sqrt(re * re + im * im);
        }
      }
      for (std::int64_t k = 0; k < nfreq; ++k) {
        const double g = gain[k];
        double a = 0.0;
        if (g != 0.0) {
          if (m > 0) {
            const std::int64_t lo = std::max<std::int64_t>(0, k - m), hi = std::min<std::int64_t>(nfreq, k + m + 1);
            a = (amp_prefix[hi] - amp_prefix[lo]) / static_cast<double>(hi - lo);
          } else {
            const double re = x[2 * k], im = x[2 * k + 1];
            a = std::sqrt(re * re + im * im);
          }
        }
        const double sc = a > 0.0 ? g / a : 0.0;
        x[2 * k] = static_cast<float>(x[2 * k] * sc);
        x[2 * k + 1] = static_cast<float>(x[2 * k + 1] * sc);
      }
    }
    double e = 0.0;
    for (std::int64_t k = 0; k < nfreq; ++k) {
      const double pw = static_cast<double>(x[2 * k]) * x[2 * k] + static_cast<double>(x[2 * k + 1]) * x[2 * k + 1];
      const bool single = (k == 0) || (k == nfreq - 1 && p.nfft % 2 == 0);
      e += single ? pw : 2.0 * pw;
    }
    energy[r] = e / static_cast<double>(p.nfft);
  });
}

namespace {

// sr/si[q] = sum over the terms order[i] (i in [i0, i1); order null: the terms i) of
// w * conj(A) * B at bins kk + q (q < kLane), from planar blocks (re[block], im[block]) per row.
// The sums stay in registers over the terms; each bin's sum is in term order.
#if defined(__GNUC__)
typedef float lanes4 __attribute__((vector_size(16)));
constexpr int kVec = static_cast<int>(kLane / 4);

inline lanes4 load4(const float* p) {
  lanes4 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

void accumulate(const float* P, std::int64_t block, std::int64_t kk, const std::int64_t* row_a,
                const std::int64_t* row_b, const float* weight, const std::int64_t* order, std::int64_t i0,
                std::int64_t i1, float* sr, float* si) {
  lanes4 accr[kVec] = {}, acci[kVec] = {};
  for (std::int64_t i = i0; i < i1; ++i) {
    const std::int64_t t = order != nullptr ? order[i] : i;
    const float* ar = P + 2 * block * row_a[t] + kk;
    const float* br = P + 2 * block * row_b[t] + kk;
    const float wt = weight != nullptr ? weight[t] : 1.0f;
    const lanes4 w = {wt, wt, wt, wt};
    for (int v = 0; v < kVec; ++v) {
      const lanes4 xr = load4(ar + 4 * v), xi = load4(ar + block + 4 * v);
      const lanes4 yr = load4(br + 4 * v), yi = load4(br + block + 4 * v);
      accr[v] += w * (xr * yr + xi * yi);
      acci[v] += w * (xr * yi - xi * yr);
    }
  }
  for (int v = 0; v < kVec; ++v) {
    std::memcpy(sr + 4 * v, &accr[v], sizeof accr[v]);
    std::memcpy(si + 4 * v, &acci[v], sizeof acci[v]);
  }
}
#else
void accumulate(const float* P, std::int64_t block, std::int64_t kk, const std::int64_t* row_a,
                const std::int64_t* row_b, const float* weight, const std::int64_t* order, std::int64_t i0,
                std::int64_t i1, float* sr, float* si) {
  for (std::int64_t q = 0; q < kLane; ++q) sr[q] = si[q] = 0.0f;
  for (std::int64_t i = i0; i < i1; ++i) {
    const std::int64_t t = order != nullptr ? order[i] : i;
    const float* ar = P + 2 * block * row_a[t] + kk;
    const float* br = P + 2 * block * row_b[t] + kk;
    const float w = weight != nullptr ? weight[t] : 1.0f;
    for (std::int64_t q = 0; q < kLane; ++q) {
      sr[q] += w * (ar[q] * br[q] + ar[block + q] * br[block + q]);
      si[q] += w * (ar[q] * br[block + q] - ar[block + q] * br[q]);
    }
  }
}
#endif

}  // namespace

void cross_spectra(const float* spec, std::int64_t n_rows, std::int64_t nfreq, std::int64_t row_stride,
                   const std::int64_t* row_a, const std::int64_t* row_b, const float* weight,
                   const std::int64_t* out_index, std::int64_t n_terms, float* out, std::int64_t n_out,
                   int workers) {
  SEISCORE_CHECK(nfreq >= 1, "spectra need at least one bin");
  SEISCORE_CHECK(n_rows <= 1 || row_stride >= nfreq, "cross_spectra: rows overlap");
  check_terms(n_rows, row_a, row_b, weight, out_index, n_terms, n_out);
  // Terms grouped by output, in term order within an output (a stable counting sort): each
  // output's sum is then accumulated in registers over its terms, in term order.
  std::vector<std::int64_t> first(static_cast<std::size_t>(n_out + 1), 0), order;
  if (out_index != nullptr) {
    order.resize(static_cast<std::size_t>(n_terms));
    for (std::int64_t t = 0; t < n_terms; ++t) ++first[out_index[t] + 1];
    for (std::int64_t o = 0; o < n_out; ++o) first[o + 1] += first[o];
    std::vector<std::int64_t> fill(first.begin(), first.end() - 1);
    for (std::int64_t t = 0; t < n_terms; ++t) order[fill[out_index[t]]++] = t;
  }
  // Bins per task: planar copies of all rows for one block should stay in L2 (~512 KiB).
  std::int64_t block = n_rows > 0 ? (std::int64_t{512} * 1024 / (8 * n_rows)) / kLane * kLane : kBlock;
  block = std::clamp<std::int64_t>(block, kLane, kBlock);
  const std::int64_t blocks = (nfreq + block - 1) / block;
  parallel_for(blocks, workers, [&](std::int64_t blk) {
    const std::int64_t k0 = blk * block;
    const std::int64_t len = std::min(nfreq, k0 + block) - k0;
    // planar (re[block], im[block]) copies of every row's block, zero past len
    thread_local std::vector<float> planar;
    planar.assign(static_cast<std::size_t>(2 * block * n_rows), 0.0f);
    for (std::int64_t r = 0; r < n_rows; ++r) {
      const float* src = spec + 2 * (r * row_stride + k0);
      float* re = planar.data() + 2 * block * r;
      float* im = re + block;
      for (std::int64_t k = 0; k < len; ++k) {
        re[k] = src[2 * k];
        im[k] = src[2 * k + 1];
      }
    }
    const float* P = planar.data();
    const std::int64_t n_groups = out_index != nullptr ? n_out : n_terms;
    for (std::int64_t g = 0; g < n_groups; ++g) {
      const std::int64_t i0 = out_index != nullptr ? first[g] : g;
      const std::int64_t i1 = out_index != nullptr ? first[g + 1] : g + 1;
      float* c = out + 2 * (g * nfreq + k0);
      for (std::int64_t kk = 0; kk < len; kk += kLane) {
        alignas(16) float sr[kLane], si[kLane];
        accumulate(P, block, kk, row_a, row_b, weight, out_index != nullptr ? order.data() : nullptr, i0, i1, sr, si);
        const std::int64_t m = std::min<std::int64_t>(kLane, len - kk);
        for (std::int64_t q = 0; q < m; ++q) {
          c[2 * (kk + q)] = sr[q];
          c[2 * (kk + q) + 1] = si[q];
        }
      }
    }
  });
}

}  // namespace seiscore::correlation
