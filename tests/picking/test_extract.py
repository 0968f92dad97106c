"""Pick extraction: the C++ kernel against SciPy and plain-loop references."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.signal

from seiscore import InputError, _core
from seiscore.picking import extract_picks

from ..conftest import shared_file

CHUNK = 1 << 18  # the kernel's chunk length: series longer than this are split across threads


# ---------------------------------------------------------------- references (plain Python)


def ref_position(x: np.ndarray, left: int, right: int) -> float:
    """Plateau centre, or parabolic vertex through the peak and its two neighbours."""
    if right > left:
        return 0.5 * (left + right)
    m = left
    if m <= 0 or m >= len(x) - 1:
        return float(m)
    a, b, c = (float(v) for v in x[m - 1 : m + 2])
    denom = a - 2 * b + c
    if not denom < 0 or not (np.isfinite(a) and np.isfinite(c)):
        return float(m)
    return m + float(np.clip(0.5 * (a - c) / denom, -0.5, 0.5))


def ref_peaks(prob: np.ndarray, height: float, distance: int):
    rows = []
    for t in range(prob.shape[0]):
        for p in range(prob.shape[1]):
            x = prob[t, p]
            peaks, props = scipy.signal.find_peaks(x, height=height, distance=distance)
            _, _, left, right = _plateaus(x, peaks)
            for pk, h, lo, hi in zip(peaks, props["peak_heights"], left, right, strict=False):
                s = lo
                while s > 0 and x[s - 1] >= height:
                    s -= 1
                e = hi + 1
                while e < len(x) and x[e] >= height:
                    e += 1
                rows.append((t, p, pk, ref_position(x, lo, hi), h, s, e))
    return rows


def _plateaus(x, peaks):
    left, right = [], []
    for pk in peaks:
        lo = hi = pk
        while lo > 0 and x[lo - 1] == x[pk]:
            lo -= 1
        while hi < len(x) - 1 and x[hi + 1] == x[pk]:
            hi += 1
        left.append(lo)
        right.append(hi)
    return peaks, None, left, right


def ref_triggers(prob: np.ndarray, on: float, off: float):
    rows = []
    for t in range(prob.shape[0]):
        for p in range(prob.shape[1]):
            x = prob[t, p]
            n = len(x)
            i = 0
            while i < n:
                if not x[i] >= on:
                    i += 1
                    continue
                e = i + 1
                while e < n and x[e] >= off:
                    e += 1
                seg = x[i:e]
                m = i + int(np.argmax(seg))  # first maximum (no NaN inside a segment)
                r = m
                while r + 1 < e and x[r + 1] == x[m]:
                    r += 1
                rows.append((t, p, m, ref_position(x, m, r), x[m], i, e))
                i = e
    return rows


def as_rows(res):
    return list(
        zip(
            res.trace.tolist(),
            res.phase.tolist(),
            res.index.tolist(),
            res.position.tolist(),
            res.probability.tolist(),
            res.start.tolist(),
            res.end.tolist(),
            strict=False,
        )
    )


def assert_same(res, rows):
    got = as_rows(res)
    assert len(got) == len(rows)
    if not rows:
        return
    g = np.array(got, dtype=np.float64)
    r = np.array(rows, dtype=np.float64)
    np.testing.assert_array_equal(g[:, [0, 1, 2, 5, 6]], r[:, [0, 1, 2, 5, 6]])
    np.testing.assert_allclose(g[:, 3], r[:, 3], rtol=0, atol=1e-9)
    np.testing.assert_array_equal(g[:, 4].astype(np.float32), r[:, 4].astype(np.float32))


def smooth_probabilities(rng, shape, width=8):
    """Random, smooth, probability-like traces with bumps of varied height."""
    raw = rng.random(shape)
    kernel = np.hanning(2 * width + 1)
    kernel /= kernel.sum()
    sm = np.apply_along_axis(lambda v: np.convolve(v, kernel, mode="same"), -1, raw)
    return ((sm - sm.min()) / (np.ptp(sm) + 1e-12)).astype(np.float32)


# ---------------------------------------------------------------- mode (a): peaks + NMS


@pytest.mark.parametrize(
    ("height", "distance"), [(0.0, 1), (0.5, 1), (0.3, 7), (0.9, 50), (0.5, 1000)]
)
def test_peaks_match_scipy_on_random_input(rng, height, distance):
    prob = rng.random((4, 3, 2000)).astype(np.float32)
    res = extract_picks(prob, height=height, distance=distance)
    assert_same(res, ref_peaks(prob, height, distance))


@pytest.mark.parametrize("distance", [1, 20, 300])
def test_peaks_match_scipy_on_smooth_input(rng, distance):
    prob = smooth_probabilities(rng, (5, 2, 5000))
    res = extract_picks(prob, height=0.4, distance=distance, workers=2)
    assert_same(res, ref_peaks(prob, 0.4, distance))


def test_peaks_match_scipy_on_real_phasenet_probabilities():
    ref = np.load(shared_file("phasenet", "phasenet_tf_reference.npz"))
    prob = ref["prob_tf"].transpose(0, 2, 1)[:, 1:]  # [window, (P, S), sample], a strided view
    assert not prob.flags.c_contiguous
    res = extract_picks(prob, height=0.3, distance=100)
    assert_same(res, ref_peaks(np.ascontiguousarray(prob), 0.3, 100))
    # the extraction finds the analysts' P picks: most windows have a P pick within 0.5 s
    p = res.select(res.phase == 0)
    hits = 0
    for w, p_index in enumerate(ref["p_index"]):
        idx = p.index[p.trace == w]
        hits += bool(idx.size and np.min(np.abs(idx - p_index)) <= 50)
    assert hits >= 0.8 * len(ref["p_index"])


def test_per_phase_parameters(rng):
    prob = rng.random((2, 2, 3000)).astype(np.float32)
    res = extract_picks(prob, height=[0.2, 0.8], distance=[5, 40])
    for phase, (h, d) in enumerate([(0.2, 5), (0.8, 40)]):
        sub = res.select(res.phase == phase)
        want = ref_peaks(prob[:, phase : phase + 1], h, d)
        assert sub.index.tolist() == [row[2] for row in want]


def test_distance_in_seconds(rng):
    prob = rng.random((1, 1, 4000)).astype(np.float32)
    a = extract_picks(prob, height=0.5, distance=0.5, sampling_rate=100.0)
    b = extract_picks(prob, height=0.5, distance=50)
    assert a.index.tolist() == b.index.tolist()


def test_plateaus_edges_and_subsample_position():
    x = np.zeros(20, np.float32)
    x[0] = 1.0  # first sample: never a peak
    x[-1] = 1.0  # last sample: never a peak
    x[4:7] = 0.8  # odd plateau → middle sample 5, position 5.0
    x[10:12] = 0.7  # even plateau → sample 10, position 10.5
    x[14], x[15], x[16] = 0.4, 0.9, 0.6  # parabolic vertex right of the left side
    res = extract_picks(x[None, None], height=0.5)
    assert res.index.tolist() == [5, 10, 15]
    np.testing.assert_allclose(res.position[:2], [5.0, 10.5])
    a, b, c = 0.4, 0.9, 0.6
    np.testing.assert_allclose(res.position[2], 15 + 0.5 * (a - c) / (a - 2 * b + c), rtol=1e-6)
    assert res.start.tolist() == [4, 10, 15]
    assert res.end.tolist() == [7, 12, 17]
    # a plateau that reaches the last sample is not a peak (scipy agrees)
    y = np.array([0, 1, 1, 1], np.float32)
    assert len(extract_picks(y[None, None], height=0.5)) == 0
    assert len(scipy.signal.find_peaks(y, height=0.5)[0]) == 0


def test_nan_is_never_picked_and_blocks_neighbours():
    x = np.array([0, 0.9, 0, np.nan, 0.8, 0, 0.7, np.nan, 0, 0.6, 0.2], np.float32)
    res = extract_picks(x[None, None], height=0.5)
    # 0.8 follows a NaN and 0.7 precedes one: neighbourhood unknown, not local maxima
    assert res.index.tolist() == [1, 9]
    assert res.index.tolist() == scipy.signal.find_peaks(x, height=0.5)[0].tolist()
    allnan = np.full((2, 2, 100), np.nan, np.float32)
    assert len(extract_picks(allnan, height=0.1)) == 0
    assert len(extract_picks(allnan, method="trigger", on=0.1)) == 0


def test_empty_and_tiny_inputs():
    for shape in [(0, 2, 100), (3, 0, 100), (3, 2, 0), (1, 1, 1), (1, 1, 2)]:
        res = extract_picks(np.ones(shape, np.float32), height=0.1)
        assert len(res) == 0
        assert res.index.dtype == np.int64
        assert res.position.dtype == np.float64
    one = extract_picks(np.ones((1, 1, 1), np.float32), method="trigger", on=0.5)
    assert one.index.tolist() == [0]
    assert one.start.tolist() == [0]
    assert one.end.tolist() == [1]


def test_all_below_threshold(rng):
    prob = (rng.random((3, 2, 5000)) * 0.29).astype(np.float32)
    assert len(extract_picks(prob, height=0.3)) == 0
    assert len(extract_picks(prob, method="trigger", on=0.3)) == 0


def test_long_series_across_chunks_and_workers(rng):
    n = 3 * CHUNK + 12345
    x = (rng.random((2, 2, n)) * 0.2).astype(np.float32)
    # a plateau and a trigger segment straddling every chunk boundary
    for b in (CHUNK, 2 * CHUNK, 3 * CHUNK):
        x[:, :, b - 3 : b + 4] = 0.9
        x[:, :, b - 40 : b - 3] = 0.5
    peaks = [extract_picks(x, height=0.3, distance=30, workers=w) for w in (1, 2, 4)]
    for other in peaks[1:]:
        assert as_rows(other) == as_rows(peaks[0])
    assert_same(peaks[0], ref_peaks(x, 0.3, 30))
    trig = [extract_picks(x, method="trigger", on=0.8, off=0.4, workers=w) for w in (1, 3)]
    assert as_rows(trig[0]) == as_rows(trig[1])
    assert_same(trig[0], ref_triggers(x, 0.8, 0.4))


def test_same_result_from_strided_and_contiguous(rng):
    base = smooth_probabilities(rng, (3, 4000, 2))
    view = base.transpose(0, 2, 1)  # ONNX-style [batch, sample, class] read in place
    a = extract_picks(view, height=0.3, distance=10)
    b = extract_picks(np.ascontiguousarray(view), height=0.3, distance=10)
    assert as_rows(a) == as_rows(b)
    c = extract_picks(view[:, :, ::3], height=0.3, distance=10)
    d = extract_picks(np.ascontiguousarray(view[:, :, ::3]), height=0.3, distance=10)
    assert as_rows(c) == as_rows(d)


def test_float64_input_is_converted(rng):
    prob = rng.random((1, 2, 500))
    a = extract_picks(prob, height=0.5, distance=3)
    b = extract_picks(prob.astype(np.float32), height=0.5, distance=3)
    assert as_rows(a) == as_rows(b)


# ---------------------------------------------------------------- mode (b): hysteresis trigger


@pytest.mark.parametrize(("on", "off"), [(0.5, 0.5), (0.7, 0.3), (0.95, 0.1), (0.2, 0.0)])
def test_triggers_match_loop_reference(rng, on, off):
    prob = smooth_probabilities(rng, (4, 2, 3000), width=5)
    prob = np.round(prob * 50) / 50  # quantised: equal maxima and plateaus occur
    prob = prob.astype(np.float32)
    res = extract_picks(prob, method="trigger", on=on, off=off)
    assert_same(res, ref_triggers(prob, on, off))


def test_trigger_segments_and_nan():
    x = np.array([0.1, 0.6, 0.4, 0.8, 0.8, 0.3, 0.1, 0.7, np.nan, 0.9, 0.2, 0.95], np.float32)
    res = extract_picks(x[None, None], method="trigger", on=0.5, off=0.25)
    assert res.start.tolist() == [1, 7, 9, 11]
    assert res.end.tolist() == [6, 8, 10, 12]  # NaN ends a segment; the last is open at the end
    assert res.index.tolist() == [3, 7, 9, 11]
    assert res.position[0] == 3.5  # plateau of two equal maxima
    assert res.position[-1] == 11.0  # at the trace edge: no interpolation


def test_trigger_default_off_is_half_on(rng):
    prob = rng.random((2, 1, 1000)).astype(np.float32)
    a = extract_picks(prob, method="trigger", on=0.8)
    b = extract_picks(prob, method="trigger", on=0.8, off=0.4)
    assert as_rows(a) == as_rows(b)


# ---------------------------------------------------------------- errors at the border


def test_bad_shapes_and_dtypes_raise_clear_errors(rng):
    with pytest.raises(InputError, match=r"3 dimensions \[n_traces, n_phases, n_samples\]"):
        extract_picks(np.zeros((10, 100), np.float32))
    with pytest.raises(InputError, match="real numbers"):
        extract_picks(np.zeros((1, 1, 10), np.complex64))
    with pytest.raises(InputError, match="one value per phase"):
        extract_picks(np.zeros((1, 2, 10), np.float32), height=[0.1, 0.2, 0.3])
    with pytest.raises(InputError, match="NaN"):
        extract_picks(np.zeros((1, 1, 10), np.float32), height=np.nan)
    with pytest.raises(InputError, match="distance"):
        extract_picks(np.zeros((1, 1, 10), np.float32), distance=-1)
    with pytest.raises(InputError, match="off must not exceed on"):
        extract_picks(np.zeros((1, 1, 10), np.float32), method="trigger", on=0.3, off=0.5)
    with pytest.raises(InputError, match="method"):
        extract_picks(np.zeros((1, 1, 10), np.float32), method="nms")
    with pytest.raises(InputError, match="workers"):
        extract_picks(np.zeros((1, 1, 10), np.float32), workers=-2)


def test_bindings_refuse_silent_casts():
    h = np.array([0.5], np.float32)
    d = np.array([1], np.int64)
    with pytest.raises(ValueError, match="expected dtype float32, got float64"):
        _core.picking.find_peaks(np.zeros((1, 1, 10)), h, d)
    with pytest.raises(ValueError, match="3 dimensions"):
        _core.picking.find_peaks(np.zeros((1, 10), np.float32), h, d)
    with pytest.raises(ValueError, match="distance: expected a 1-D array of length 2"):
        _core.picking.find_peaks(np.zeros((1, 2, 10), np.float32), np.zeros(2, np.float32), d)
    with pytest.raises(ValueError, match="must be >= 1"):
        _core.picking.find_peaks(np.zeros((1, 1, 10), np.float32), h, np.array([0], np.int64))


def test_dataframe_export(rng):
    res = extract_picks(rng.random((1, 2, 300)).astype(np.float32), height=0.9)
    df = res.to_dataframe()
    columns = ["trace", "phase", "index", "position", "probability", "start", "end"]
    assert list(df.columns) == columns
    assert len(df) == len(res)
