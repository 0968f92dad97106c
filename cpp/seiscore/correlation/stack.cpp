#include "seiscore/correlation/stack.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "seiscore/core/error.hpp"
#include "seiscore/core/interrupt.hpp"
#include "seiscore/core/parallel.hpp"

namespace seiscore::correlation {

void check_offsets(const std::int64_t* offsets, std::int64_t n_groups, std::int64_t n_rows) {
  SEISCORE_CHECK(n_groups >= 0, "negative group count");
  SEISCORE_CHECK(offsets[0] == 0, "offsets[0] must be 0, got " << offsets[0]);
  for (std::int64_t g = 0; g < n_groups; ++g)
    SEISCORE_CHECK(offsets[g + 1] >= offsets[g], "offsets must not decrease (group " << g << ")");
  SEISCORE_CHECK(offsets[n_groups] <= n_rows,
                 "offsets[-1] = " << offsets[n_groups] << " exceeds the number of rows " << n_rows);
}

namespace {

void check_layout(std::int64_t n_rows, std::int64_t n_lag, std::int64_t row_stride) {
  SEISCORE_CHECK(n_rows >= 0 && n_lag >= 1, "need at least one lag, got " << n_lag);
  SEISCORE_CHECK(n_rows <= 1 || row_stride >= n_lag, "ccf rows overlap (row_stride " << row_stride << ")");
}

double dot(const double* a, const float* b, std::int64_t n) {
  double s = 0.0;
  for (std::int64_t i = 0; i < n; ++i) s += a[i] * static_cast<double>(b[i]);
  return s;
}

double norm2(const float* a, std::int64_t n) {
  double s = 0.0;
  for (std::int64_t i = 0; i < n; ++i) s += static_cast<double>(a[i]) * a[i];
  return s;
}

}  // namespace

void stack_sums(const float* ccf, const float* hilbert, std::int64_t n_rows, std::int64_t n_lag,
                std::int64_t row_stride, const std::int64_t* offsets, std::int64_t n_groups, double* linear,
                double* phasor_re, double* phasor_im, int workers) {
  check_layout(n_rows, n_lag, row_stride);
  check_offsets(offsets, n_groups, n_rows);
  SEISCORE_CHECK(hilbert == nullptr || (phasor_re != nullptr && phasor_im != nullptr),
                 "phase sums need output arrays");
  parallel_for(n_groups, workers, [&](std::int64_t g) {
    double* lin = linear + g * n_lag;
    std::fill_n(lin, n_lag, 0.0);
    double* pr = hilbert ? phasor_re + g * n_lag : nullptr;
    double* pi = hilbert ? phasor_im + g * n_lag : nullptr;
    if (hilbert) {
      std::fill_n(pr, n_lag, 0.0);
      std::fill_n(pi, n_lag, 0.0);
    }
    for (std::int64_t r = offsets[g]; r < offsets[g + 1]; ++r) {
      const float* c = ccf + r * row_stride;
      for (std::int64_t l = 0; l < n_lag; ++l) lin[l] += c[l];
      if (hilbert) {
        const float* h = hilbert + r * row_stride;
        for (std::int64_t l = 0; l < n_lag; ++l) {
          const double re = c[l], im = h[l];
          const double a = std::hypot(re, im);
          if (a > 0.0) {
            pr[l] += re / a;
            pi[l] += im / a;
          }
        }
      }
    }
  });
}

void stack_robust(const float* ccf, std::int64_t n_rows, std::int64_t n_lag, std::int64_t row_stride,
                  const std::int64_t* offsets, std::int64_t n_groups, double epsilon, int max_iter, float* out,
                  std::int32_t* n_iter, int workers) {
  check_layout(n_rows, n_lag, row_stride);
  check_offsets(offsets, n_groups, n_rows);
  SEISCORE_CHECK(std::isfinite(epsilon) && epsilon >= 0.0, "robust stack: epsilon must be >= 0, got " << epsilon);
  // the robust stack converges in tens of iterations; more than this is a mistake, not a need
  SEISCORE_CHECK(max_iter >= 0 && max_iter <= 100000,
                 "robust stack: max_iter must lie in [0, 100000], got " << max_iter);
  parallel_for(n_groups, workers, [&](std::int64_t g) {
    const std::int64_t r0 = offsets[g], n = offsets[g + 1] - offsets[g];
    float* o = out + g * n_lag;
    n_iter[g] = 0;
    if (n == 0) {
      std::fill_n(o, n_lag, std::numeric_limits<float>::quiet_NaN());
      return;
    }
    std::vector<double> b(static_cast<std::size_t>(n_lag)), bn(static_cast<std::size_t>(n_lag));
    std::vector<double> col(static_cast<std::size_t>(n)), w(static_cast<std::size_t>(n)),
        dn(static_cast<std::size_t>(n));
    // median per lag (mean of the two middle values for even n, as numpy.median)
    for (std::int64_t l = 0; l < n_lag; ++l) {
      for (std::int64_t i = 0; i < n; ++i) col[i] = ccf[(r0 + i) * row_stride + l];
      const auto mid = col.begin() + n / 2;
      std::nth_element(col.begin(), mid, col.end());
      double m = *mid;
      if (n % 2 == 0) m = 0.5 * (m + *std::max_element(col.begin(), mid));
      b[l] = m;
    }
    for (std::int64_t i = 0; i < n; ++i) dn[i] = std::sqrt(norm2(ccf + (r0 + i) * row_stride, n_lag));
    for (int it = 0; it < max_iter; ++it) {
      interrupt_point();
      double bb = 0.0;
      for (const double v : b) bb += v * v;
      const double bnorm = std::sqrt(bb);
      if (!(bnorm > 0.0)) break;
      double wsum = 0.0;
      for (std::int64_t i = 0; i < n; ++i) {
        const float* d = ccf + (r0 + i) * row_stride;
        if (!(dn[i] > 0.0)) {
          w[i] = 0.0;
          continue;
        }
        const double a = dot(b.data(), d, n_lag) / bnorm;
        // |d - a u|^2 = |d|^2 - a^2
        const double r2 = std::max(dn[i] * dn[i] - a * a, 0.0);
        const double r = std::max(std::sqrt(r2), 1e-12 * dn[i]);
        w[i] = std::abs(a) / (dn[i] * r);
        wsum += w[i];
      }
      if (!(wsum > 0.0)) break;
      std::fill(bn.begin(), bn.end(), 0.0);
      for (std::int64_t i = 0; i < n; ++i) {
        if (w[i] == 0.0) continue;
        const double wi = w[i] / wsum;
        const float* d = ccf + (r0 + i) * row_stride;
        for (std::int64_t l = 0; l < n_lag; ++l) bn[l] += wi * d[l];
      }
      double diff = 0.0, size = 0.0;
      for (std::int64_t l = 0; l < n_lag; ++l) {
        diff += std::abs(bn[l] - b[l]);
        size += std::abs(bn[l]);
      }
      b.swap(bn);
      n_iter[g] = it + 1;
      if (size > 0.0 && diff / size < epsilon) break;
    }
    for (std::int64_t l = 0; l < n_lag; ++l) o[l] = static_cast<float>(b[l]);
  });
}

void stack_selective(const float* ccf, std::int64_t n_rows, std::int64_t n_lag, std::int64_t row_stride,
                     const std::int64_t* offsets, std::int64_t n_groups, double threshold, float* out,
                     std::int32_t* n_selected, int workers) {
  check_layout(n_rows, n_lag, row_stride);
  check_offsets(offsets, n_groups, n_rows);
  SEISCORE_CHECK(std::isfinite(threshold), "selective stack: threshold must be finite");
  parallel_for(n_groups, workers, [&](std::int64_t g) {
    const std::int64_t r0 = offsets[g], n = offsets[g + 1] - offsets[g];
    float* o = out + g * n_lag;
    std::vector<double> m(static_cast<std::size_t>(n_lag), 0.0), s(static_cast<std::size_t>(n_lag), 0.0);
    for (std::int64_t i = 0; i < n; ++i) {
      const float* d = ccf + (r0 + i) * row_stride;
      for (std::int64_t l = 0; l < n_lag; ++l) m[l] += d[l];
    }
    double mm = 0.0;
    for (const double v : m) mm += v * v;
    const double mnorm = std::sqrt(mm);
    std::int32_t kept = 0;
    if (mnorm > 0.0) {
      for (std::int64_t i = 0; i < n; ++i) {
        const float* d = ccf + (r0 + i) * row_stride;
        const double dnorm = std::sqrt(norm2(d, n_lag));
        if (!(dnorm > 0.0)) continue;
        if (dot(m.data(), d, n_lag) / (dnorm * mnorm) >= threshold) {
          ++kept;
          for (std::int64_t l = 0; l < n_lag; ++l) s[l] += d[l];
        }
      }
    }
    n_selected[g] = kept;
    for (std::int64_t l = 0; l < n_lag; ++l)
      o[l] = kept > 0 ? static_cast<float>(s[l] / kept) : std::numeric_limits<float>::quiet_NaN();
  });
}

}  // namespace seiscore::correlation
