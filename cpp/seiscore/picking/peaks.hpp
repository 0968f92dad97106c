// seiscore/picking/peaks.hpp — picks from phase-probability traces.
//
// Input
//   prob      float32 probabilities, logically [n_traces, n_phases, n_samples], addressed with
//             element strides (trace_stride, phase_stride, sample_stride): sample s of phase p
//             of trace t is prob[t*trace_stride + p*phase_stride + s*sample_stride]. Any strides
//             are allowed; sample_stride == 1 takes a vectorised fast path.
//   Per-phase parameters are arrays of length n_phases.
//
// Two modes
//   find_peaks     (a) local maxima whose value >= height[p]; then non-maximum suppression: kept
//                  peaks are at least distance[p] samples apart, the highest wins (equal heights:
//                  the later sample wins). Same definition as scipy.signal.find_peaks(x,
//                  height=h, distance=d): the first and last samples are never peaks; a flat
//                  plateau is one peak at its middle sample ((left+right)//2).
//   find_triggers  (b) hysteresis trigger: a segment opens at the first sample >= on[p] and
//                  stays open while samples are >= off[p] (off <= on); one pick per segment at
//                  its maximum (first sample of the maximum). A segment still open at the end
//                  of the trace ends there.
//
// Output (PickColumns), sorted by (trace, phase, index); one entry per pick:
//   trace, phase  which series
//   index         integer sample of the pick
//   position      sub-sample pick position (float64, samples): parabolic interpolation through
//                 the peak and its two neighbours; a plateau of equal maxima gives its centre;
//                 no interpolation at the edges of the trace or next to NaN
//   value         probability at `index`
//   start, end    half-open sample range [start, end) of the region around the pick:
//                 mode (a) the run of samples >= height containing the peak; mode (b) the
//                 triggered segment
//
// NaN: a NaN sample is never picked and never counts as above a threshold; a sample next to a
// NaN is not a local maximum (its neighbourhood is unknown); NaN closes a trigger segment.
// Threads: series (trace, phase) are cut into chunks processed in parallel; workers <= 0 uses
// all hardware threads. The result does not depend on the number of workers.
#pragma once

#include <cstdint>
#include <vector>

namespace seiscore::picking {

struct SeriesLayout {
  std::int64_t n_traces = 0;
  std::int64_t n_phases = 0;
  std::int64_t n_samples = 0;
  std::int64_t trace_stride = 0;   // elements
  std::int64_t phase_stride = 0;   // elements
  std::int64_t sample_stride = 1;  // elements
};

struct PickColumns {
  std::vector<std::int64_t> trace;
  std::vector<std::int32_t> phase;
  std::vector<std::int64_t> index;
  std::vector<double> position;
  std::vector<float> value;
  std::vector<std::int64_t> start;
  std::vector<std::int64_t> end;

  std::size_t size() const { return index.size(); }
  void resize(std::size_t n);
};

// height[n_phases] (any float; NaN is refused), distance[n_phases] >= 1 samples.
PickColumns find_peaks(const float* prob, const SeriesLayout& layout, const float* height,
                       const std::int64_t* distance, int workers);

// on[n_phases], off[n_phases] with off <= on, both finite.
PickColumns find_triggers(const float* prob, const SeriesLayout& layout, const float* on,
                          const float* off, int workers);

}  // namespace seiscore::picking
