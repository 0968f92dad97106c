#include "seiscore/picking/windows.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "seiscore/core/error.hpp"
#include "seiscore/core/parallel.hpp"

namespace seiscore::picking {

namespace {

constexpr double kPi = 3.14159265358979323846;

void check_record(const RecordView& r) {
  SEISCORE_CHECK(r.n_channels >= 0 && r.n_samples >= 0, "data: negative shape");
  SEISCORE_CHECK(r.n_rows >= 1, "rows: at least one channel is needed");
  SEISCORE_CHECK(r.n_samples == 0 || r.data != nullptr, "data: null pointer");
  for (std::int64_t k = 0; k < r.n_rows; ++k) {
    SEISCORE_CHECK(r.rows[k] >= 0 && r.rows[k] < r.n_channels,
                   "rows[" << k << "] = " << r.rows[k] << " is not a channel of data (0.." << r.n_channels - 1 << ")");
  }
}

const float* row_ptr(const RecordView& r, std::int64_t k) { return r.data + r.rows[k] * r.channel_stride; }

// Sum of n floats in double, with independent partial sums (latency hidden, order fixed).
double sum_double(const float* x, std::int64_t n) {
  double s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  std::int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    for (int l = 0; l < 8; ++l) s[l] += static_cast<double>(x[i + l]);
  }
  for (; i < n; ++i) s[0] += static_cast<double>(x[i]);
  return ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
}

double sum_squares_about(const float* x, std::int64_t n, double mean) {
  double s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  std::int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    for (int l = 0; l < 8; ++l) {
      const double d = static_cast<double>(x[i + l]) - mean;
      s[l] += d * d;
    }
  }
  for (; i < n; ++i) {
    const double d = static_cast<double>(x[i]) - mean;
    s[0] += d * d;
  }
  return ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
}

// One row of one window, normalised into dst[0..n) (float32, as NumPy does it: the mean and the
// standard deviation in float64, the subtraction and division in float32).
void normalise_row(const float* src, std::int64_t n, Normalisation norm, float* dst) {
  if (norm == Normalisation::none || n == 0) {
    std::copy(src, src + n, dst);
    return;
  }
  const float mean = static_cast<float>(sum_double(src, n) / static_cast<double>(n));
  for (std::int64_t i = 0; i < n; ++i) dst[i] = src[i] - mean;
  if (norm == Normalisation::demean) return;
  float scale = 0.0f;
  if (norm == Normalisation::std) {
    const double m2 = sum_double(dst, n) / static_cast<double>(n);
    scale = static_cast<float>(std::sqrt(sum_squares_about(dst, n, m2) / static_cast<double>(n)));
  } else {
    for (std::int64_t i = 0; i < n; ++i) scale = std::max(scale, std::fabs(dst[i]));
  }
  if (scale > 0.0f) {
    for (std::int64_t i = 0; i < n; ++i) dst[i] = dst[i] / scale;
  } else {
    std::fill(dst, dst + n, 0.0f);
  }
}

}  // namespace

Runs finite_runs(const RecordView& record) {
  check_record(record);
  Runs runs;
  std::int64_t open = -1;
  for (std::int64_t s = 0; s < record.n_samples; ++s) {
    bool ok = true;
    for (std::int64_t k = 0; k < record.n_rows; ++k) ok = ok && std::isfinite(row_ptr(record, k)[s]);
    if (ok && open < 0) {
      open = s;
    } else if (!ok && open >= 0) {
      runs.start.push_back(open);
      runs.end.push_back(s);
      open = -1;
    }
  }
  if (open >= 0) {
    runs.start.push_back(open);
    runs.end.push_back(record.n_samples);
  }
  return runs;
}

WindowPlan plan_windows(const RecordView& record, std::int64_t window, std::int64_t step) {
  SEISCORE_CHECK(window >= 1, "window must be >= 1 sample, got " << window);
  SEISCORE_CHECK(step >= 1, "step must be >= 1 sample, got " << step);
  const Runs runs = finite_runs(record);
  WindowPlan plan;
  auto add = [&plan](std::int64_t start, std::int64_t valid, bool left, bool right) {
    plan.start.push_back(start);
    plan.valid.push_back(valid);
    plan.left.push_back(left ? 1 : 0);
    plan.right.push_back(right ? 1 : 0);
  };
  for (std::size_t i = 0; i < runs.start.size(); ++i) {
    const std::int64_t s = runs.start[i];
    const std::int64_t e = runs.end[i];
    if (e - s < window) {
      add(s, e - s, false, false);
      continue;
    }
    const std::int64_t last = e - window;
    const std::int64_t n_regular = (last - s) / step + 1;
    const bool extra = s + (n_regular - 1) * step != last;
    const std::int64_t n = n_regular + (extra ? 1 : 0);
    for (std::int64_t k = 0; k < n; ++k) {
      const std::int64_t st = k < n_regular ? s + k * step : last;
      add(st, window, k > 0, k < n - 1);
    }
  }
  return plan;
}

void cut_windows(const RecordView& record, const std::int64_t* start, const std::int64_t* valid,
                 std::int64_t n_windows, std::int64_t window, Normalisation norm, bool channels_last,
                 float* out, int workers) {
  check_record(record);
  SEISCORE_CHECK(window >= 1, "window must be >= 1 sample, got " << window);
  for (std::int64_t w = 0; w < n_windows; ++w) {
    SEISCORE_CHECK(valid[w] >= 0 && valid[w] <= window,
                   "valid[" << w << "] = " << valid[w] << " is not in [0, window = " << window << "]");
    SEISCORE_CHECK(start[w] >= 0 && start[w] <= record.n_samples - valid[w],
                   "window " << w << " (start " << start[w] << ", " << valid[w] << " samples) is outside the record of "
                             << record.n_samples << " samples");
  }
  const std::int64_t n_rows = record.n_rows;
  parallel_for(n_windows, workers, [&](std::int64_t w) {
    std::vector<float> scratch(channels_last ? static_cast<std::size_t>(window) : 0);
    float* base = out + w * n_rows * window;
    for (std::int64_t k = 0; k < n_rows; ++k) {
      const float* src = row_ptr(record, k) + start[w];
      float* dst = channels_last ? scratch.data() : base + k * window;
      normalise_row(src, valid[w], norm, dst);
      if (channels_last) {
        for (std::int64_t j = 0; j < window; ++j) base[j * n_rows + k] = j < valid[w] ? dst[j] : 0.0f;
      } else {
        std::fill(dst + valid[w], dst + window, 0.0f);
      }
    }
  });
}

void stitch_windows(const OutputView& out, const std::int64_t* labels, std::int64_t n_out,
                    const std::int64_t* start, const std::int64_t* valid, const std::uint8_t* left,
                    const std::uint8_t* right, std::int64_t edge, float* acc, float* weight,
                    std::int64_t n_samples) {
  SEISCORE_CHECK(edge >= 0, "edge must be >= 0, got " << edge);
  SEISCORE_CHECK(n_samples >= 0, "acc: negative length");
  for (std::int64_t k = 0; k < n_out; ++k) {
    SEISCORE_CHECK(labels[k] >= 0 && labels[k] < out.n_labels,
                   "labels[" << k << "] = " << labels[k] << " is not an output row (0.." << out.n_labels - 1 << ")");
  }
  for (std::int64_t w = 0; w < out.n_windows; ++w) {
    SEISCORE_CHECK(valid[w] >= 0 && valid[w] <= out.window,
                   "valid[" << w << "] = " << valid[w] << " is not in [0, window = " << out.window << "]");
    SEISCORE_CHECK(start[w] >= 0 && start[w] <= n_samples - valid[w],
                   "window " << w << " (start " << start[w] << ", " << valid[w] << " samples) is outside the "
                             << n_samples << " samples of acc");
  }
  std::vector<float> ramp(static_cast<std::size_t>(std::min(edge, out.window)));
  for (std::size_t i = 0; i < ramp.size(); ++i) {
    const double r = 0.5 - 0.5 * std::cos(kPi * (static_cast<double>(i) + 0.5) / static_cast<double>(edge));
    ramp[i] = std::max(static_cast<float>(r), 1e-3f);
  }
  const std::int64_t n_ramp = static_cast<std::int64_t>(ramp.size());
  std::vector<float> taper(static_cast<std::size_t>(out.window));
  for (std::int64_t w = 0; w < out.n_windows; ++w) {
    const std::int64_t n = valid[w];
    std::fill(taper.begin(), taper.begin() + n, 1.0f);
    if (left[w]) {
      for (std::int64_t i = 0; i < std::min(n_ramp, n); ++i) taper[i] = ramp[i];
    }
    if (right[w]) {
      for (std::int64_t i = 0; i < std::min(n_ramp, n); ++i) taper[n - 1 - i] = ramp[i];
    }
    const std::int64_t s0 = start[w];
    for (std::int64_t k = 0; k < n_out; ++k) {
      const float* y = out.y + w * out.window_stride + labels[k] * out.label_stride;
      float* a = acc + k * n_samples + s0;
      if (out.sample_stride == 1) {
        for (std::int64_t j = 0; j < n; ++j) a[j] += y[j] * taper[j];
      } else {
        for (std::int64_t j = 0; j < n; ++j) a[j] += y[j * out.sample_stride] * taper[j];
      }
    }
    float* wt = weight + s0;
    for (std::int64_t j = 0; j < n; ++j) wt[j] += taper[j];
  }
}

void finish_stitch(float* acc, const float* weight, std::int64_t n_out, std::int64_t n_samples) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  for (std::int64_t k = 0; k < n_out; ++k) {
    float* a = acc + k * n_samples;
    for (std::int64_t s = 0; s < n_samples; ++s) a[s] = weight[s] > 0.0f ? a[s] / weight[s] : nan;
  }
}

}  // namespace seiscore::picking
