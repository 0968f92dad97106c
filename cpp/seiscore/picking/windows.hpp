// seiscore/picking/windows.hpp — the data side of a window picker (PhaseNet style): cut a
// continuous record into windows, normalise them into the network's input buffer, and stitch
// the network's outputs back into continuous probability traces.
//
// Record
//   data      float32, logically [n_channels, n_samples], channel c at data + c*channel_stride
//             (elements), samples contiguous. NaN (or ±inf) marks a gap.
//   rows      int64[n_rows]: the channels fed to the network, in the network's order (each in
//             [0, n_channels)); every window has n_rows channels.
//
// plan_windows
//   Runs of samples where every row is finite (gaps split the record), then windows over each
//   run: a run of at least `window` samples gets windows at run_start + k*step, plus one ending
//   exactly at the run's end when the last regular window stops short of it; a shorter run gets
//   one short window (valid = run length, zero-padded by cut_windows). A window is tapered on
//   its left side unless it is the first of its run, on its right side unless it is the last.
//   Output columns, in time order: start, valid (samples), left, right (taper flags, 0/1).
//
// cut_windows
//   out float32 [n_windows, n_rows, window] (channels_last false: NCW) or
//   [n_windows, window, n_rows] (channels_last true: NWC), C-contiguous. Window w holds samples
//   start[w] .. start[w]+valid[w]-1 of each row, then zeros. Each window and row is normalised
//   over its valid samples (statistics in float64, applied in float32):
//     none    raw values
//     demean  x - mean
//     std     (x - mean) / std (population std of the demeaned values); a row whose std is 0
//             becomes zeros
//     peak    (x - mean) / max|x - mean|; a row whose peak is 0 becomes zeros
//   Windows are independent: spread over `workers` threads (workers <= 0: all).
//
// stitch_windows
//   y         float32, logically [n_windows, n_labels, window], addressed with element strides
//             (window_stride, label_stride, sample_stride) so NCW and NWC outputs are read in
//             place. labels[n_out] picks the rows written (each in [0, n_labels)).
//   acc       float32 [n_out, n_samples] C-contiguous; weight float32 [n_samples].
//   For every window w, sample j < valid[w]: acc[k, start[w]+j] += y[w, labels[k], j] * t(j)
//   and weight[start[w]+j] += t(j), where t is 1 except over `edge` samples at a tapered side:
//   t(i) = max(0.5 - 0.5 cos(pi (i + 0.5) / edge), 1e-3) rising on the left, falling on the
//   right. Windows are added in order (one thread), so the sums do not depend on threads.
//
// finish_stitch
//   acc[k, s] /= weight[s] where weight[s] > 0; NaN where weight[s] == 0 (no window covered s).
//
// Every index is checked (SEISCORE_CHECK → ValueError): no window reads or writes outside
// data, out, acc or weight.
#pragma once

#include <cstdint>
#include <vector>

namespace seiscore::picking {

enum class Normalisation { none, demean, std, peak };

struct RecordView {
  const float* data = nullptr;
  std::int64_t n_channels = 0;
  std::int64_t n_samples = 0;
  std::int64_t channel_stride = 0;  // elements
  const std::int64_t* rows = nullptr;
  std::int64_t n_rows = 0;
};

struct WindowPlan {
  std::vector<std::int64_t> start;
  std::vector<std::int64_t> valid;
  std::vector<std::uint8_t> left;
  std::vector<std::uint8_t> right;
};

struct Runs {
  std::vector<std::int64_t> start;
  std::vector<std::int64_t> end;  // half-open
};

// Half-open runs [start, end) of samples where every row is finite.
Runs finite_runs(const RecordView& record);

// Windows of `window` samples, `step` apart (1 <= step), over the finite runs of the record.
WindowPlan plan_windows(const RecordView& record, std::int64_t window, std::int64_t step);

void cut_windows(const RecordView& record, const std::int64_t* start, const std::int64_t* valid,
                 std::int64_t n_windows, std::int64_t window, Normalisation norm, bool channels_last,
                 float* out, int workers);

struct OutputView {
  const float* y = nullptr;
  std::int64_t n_windows = 0;
  std::int64_t n_labels = 0;
  std::int64_t window = 0;
  std::int64_t window_stride = 0;  // elements
  std::int64_t label_stride = 0;
  std::int64_t sample_stride = 0;
};

void stitch_windows(const OutputView& out, const std::int64_t* labels, std::int64_t n_out,
                    const std::int64_t* start, const std::int64_t* valid, const std::uint8_t* left,
                    const std::uint8_t* right, std::int64_t edge, float* acc, float* weight,
                    std::int64_t n_samples);

void finish_stitch(float* acc, const float* weight, std::int64_t n_out, std::int64_t n_samples);

}  // namespace seiscore::picking
