"""Detection: one event per peak of the maximum-coalescence trace.

The detection statistic
-----------------------
Migration stacks *detection onsets* (:func:`detection_onsets`): each onset row minus its median
(its background), capped (:data:`ONSET_CAP`) — for phase probabilities that is the probability
itself (at most 1); for QuakeMigrate's log STA/LTA onsets it is the rise of ``log(1 + STA/LTA)``
above its background, counted up to two log units. For the stack they are widened by a tapered
running maximum over half the largest travel-time step between neighbouring nodes
(:func:`grid_tolerance`, :func:`widen`), so that an event between nodes is not lost when the
onsets are narrower than a cell's travel time. Their mean over the ``A`` available station-phase
rows, maximised over the grid, is the trace ``s(t)``; one station-phase whose onset rises fully
adds ``1 / A`` to it (``cap / A`` at most).

The statistic is ``z(t) = (s(t) - b(t)) / max(sigma(t), 1 / A)``: ``b`` is a running median of
``s`` (its background), ``sigma`` a running ``1.4826 * MAD`` (its noise), both over
``background_s`` (default 300 s) evaluated on blocks of a tenth of it, anchored at the start of
the record, and interpolated between block centres (:func:`detection_statistic`). Where the
background is quiet (probabilities: near zero almost everywhere) the scale is the response to
one fully risen station-phase, so ``z`` counts how many station-phases' worth of onset line up
above the background; where it is noisy (STA/LTA on a noisy network) ``z`` is a robust
z-score. One threshold (:data:`DEFAULT_THRESHOLD`) therefore means the same on any network and
for either onset type, and one station alone (``z <= 2 cap``) does not reach it.

From trace to events
--------------------
:func:`detect` finds the peaks of ``z`` at or above the threshold, at least
``min_separation_s`` apart (the highest wins), in time order. :func:`suppress_side_lobes` then
drops a peak that a larger peak within the travel-time spread of the grid explains: around each
P and S arrival the larger event predicts at a station, the onset peak nearest to the prediction
is found in every row of that station, with its rising edge and tail (:func:`arrival_spans`),
and masked out; the smaller peak's statistic is computed again, and if it falls below the
threshold it was made of the larger event's arrivals (e.g. its S waves aligned on P travel
times from a far node, or the coda of a broad STA/LTA peak). :func:`on_boundary` flags a maximum
on the grid's boundary (an event outside the grid, most often): such triggers still mask their
side lobes, but are not reported by default. :mod:`.scan` runs these steps over a record.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..containers import Grid3D, _Columns
from ..exceptions import InputError
from .migrate import Coalescence
from .onsets import Onsets

__all__ = [
    "DEFAULT_BACKGROUND_S",
    "DEFAULT_THRESHOLD",
    "Triggers",
    "detect",
    "detection_onsets",
    "detection_statistic",
    "arrival_spans",
    "grid_tolerance",
    "on_boundary",
    "suppress_side_lobes",
    "widen",
]

#: The default threshold on the detection statistic (chosen on synthetic scenarios: see the
#: README and ``tests/location/test_detection.py``).
DEFAULT_THRESHOLD = 6.0
#: The default length (s) of the running window of the background and noise of ``s(t)``.
DEFAULT_BACKGROUND_S = 300.0
_MAD_TO_SIGMA = 1.4826


@dataclass(eq=False)
class Triggers(_Columns):
    """Candidate events, sorted by time: ``time`` (datetime64[ns], the statistic's peak),
    ``sample`` (int64, index in the coalescence trace), ``statistic`` (float32, the detection
    statistic at the peak; see the module doc), ``coherence`` and ``coherence_norm`` (float32,
    the trace's maximum coalescence and its normalised value at the peak), ``node`` (int64, the
    maximum's grid node), ``on_edge`` (bool, that node on the grid's boundary) and ``width``
    (int64, the half-width of the statistic's peak at half its height, samples; 0 unknown)."""

    time: np.ndarray
    sample: np.ndarray
    statistic: np.ndarray
    coherence: np.ndarray
    coherence_norm: np.ndarray
    node: np.ndarray
    on_edge: np.ndarray
    width: np.ndarray

    @classmethod
    def empty(cls) -> Triggers:
        f32 = np.array([], np.float32)
        i64 = np.array([], np.int64)
        return cls(np.array([], "datetime64[ns]"), i64, f32, f32, f32, i64, np.array([], bool), i64)


# ------------------------------------------------------------------------- the statistic


#: The cap of one detection-onset row (see the module doc), by the stacking the onsets are
#: made for: probabilities rise by at most 1; log STA/LTA onsets count up to 2 log units.
ONSET_CAP = {"mean": 1.0, "geometric": 2.0}


def grid_tolerance(tt: np.ndarray, grid: Grid3D) -> np.ndarray:
    """Per (station, phase), half the largest change of travel time (samples) between two
    neighbouring nodes: how far the arrivals of a source between nodes can be from those the
    nearest node predicts."""
    vol = np.asarray(tt).reshape(*grid.shape, *np.shape(tt)[1:])
    step = np.zeros(np.shape(tt)[1:], np.int64)
    for axis in range(3):
        if grid.shape[axis] > 1:
            d = np.abs(np.diff(vol, axis=axis).astype(np.int64))
            step = np.maximum(step, d.reshape(-1, *step.shape).max(axis=0))
    return (step + 1) // 2


def _tapered_dilation(row: np.ndarray, w: int) -> np.ndarray:
    """``max over |d| <= w of row[i + d] * (1 - |d| / (2 (w + 1)))``: a running maximum that
    keeps each peak's height at its own sample and tapers to about half at ``± w`` (so the
    widened peak keeps one maximum, where the onset's was)."""
    out = row.copy()
    n = len(row)
    for d in range(1, w + 1):
        f = np.float32(1.0 - d / (2.0 * (w + 1)))
        np.maximum(out[d:], row[: n - d] * f, out=out[d:])
        np.maximum(out[: n - d], row[d:] * f, out=out[: n - d])
    return out


def detection_onsets(onsets: Onsets, cap: float | None = None) -> Onsets:
    """The onsets migration detects on: each available row minus its median, capped at
    ``cap`` (default :data:`ONSET_CAP` of the onsets' stacking), for ``"mean"`` stacking;
    unavailable rows are zero. See the module doc."""
    cap = np.float32(ONSET_CAP[onsets.stacking] if cap is None else cap)
    data = np.zeros(onsets.data.shape, np.float32)
    for s, p in zip(*np.nonzero(onsets.available), strict=True):
        row = onsets.data[s, p]
        data[s, p] = np.minimum(row - np.float32(np.median(row)), cap)
    return Onsets(
        data,
        onsets.available.copy(),
        onsets.starttime,
        onsets.sampling_rate,
        onsets.station_ids,
        onsets.phases,
        stacking="mean",
    )


def widen(data: np.ndarray, tolerance: np.ndarray) -> np.ndarray:
    """Detection onsets ``[station, phase, sample]`` widened row by row by a tapered running
    maximum over ± ``tolerance[station, phase]`` samples (:func:`grid_tolerance`,
    :func:`_tapered_dilation`): a source between nodes then stacks about as well as one on a
    node, even with onsets narrower than a cell's travel time (phase probabilities)."""
    out = np.array(data, dtype=np.float32, order="C")
    for s, p in np.ndindex(*out.shape[:2]):
        w = int(tolerance[s, p])
        if w > 0:
            out[s, p] = _tapered_dilation(out[s, p], w)
    return out


def _block_centres(n: int, offset: int, block: int) -> np.ndarray:
    """Sample indices (in the trace) of the block centres ``anchor + (k + 1/2) * block`` that
    fall within the trace, ``offset`` being the trace's first sample counted from the anchor."""
    k0 = int(math.floor((offset - 0.5 * block) / block))
    k1 = int(math.ceil((offset + n - 1 - 0.5 * block) / block))
    centres = (np.arange(k0, k1 + 1) + 0.5) * block - offset
    return centres[(centres >= -0.5 * block) & (centres <= n - 1 + 0.5 * block)]


def detection_statistic(
    trace: np.ndarray,
    sampling_rate: float,
    unit: float,
    *,
    background_s: float = DEFAULT_BACKGROUND_S,
    offset: int = 0,
):
    """``(z, background, noise)`` of a maximum-coalescence trace ``s`` (see the module doc).

    ``unit`` is the smallest noise scale (the stack's response to one station-phase, ``1/A``).
    ``offset`` is the trace's first sample counted from the record's start: block centres are
    anchored there, so that chunks of one record get the same background where they overlap by
    at least ``background_s / 2 + background_s / 10``. NaN samples are ignored.
    """
    s = np.asarray(trace, np.float64)
    n = len(s)
    if n == 0:
        empty = np.array([], np.float64)
        return empty, empty, empty
    if not (unit > 0 and math.isfinite(unit)):
        raise InputError(f"unit must be positive and finite, got {unit}")
    fs = float(sampling_rate)
    half = max(1, int(round(0.5 * background_s * fs)))
    block = max(1, int(round(0.1 * background_s * fs)))
    centres = _block_centres(n, int(offset), block)
    med = np.empty(len(centres))
    mad = np.empty(len(centres))
    for k, c in enumerate(centres):
        lo, hi = max(0, int(round(c)) - half), min(n, int(round(c)) + half + 1)
        seg = s[lo:hi] if hi > lo else s
        seg = seg[np.isfinite(seg)]
        if seg.size == 0:
            med[k], mad[k] = 0.0, 0.0
            continue
        med[k] = np.median(seg)
        mad[k] = np.median(np.abs(seg - med[k]))
    idx = np.arange(n, dtype=np.float64)
    background = np.interp(idx, centres, med)
    noise = _MAD_TO_SIGMA * np.interp(idx, centres, mad)
    z = (s - background) / np.maximum(noise, unit)
    return z, background, noise


# ------------------------------------------------------------------------ peaks in time


def _peaks(z: np.ndarray, threshold: float, distance: int) -> np.ndarray:
    """Peaks of ``z`` at or above ``threshold``, at least ``distance`` samples apart, the highest
    first winning (maxima at the trace ends count)."""
    from scipy.signal import find_peaks

    x = np.where(np.isfinite(z), z, -np.inf)
    padded = np.concatenate(([-np.inf], x, [-np.inf]))
    peaks, _ = find_peaks(padded, height=threshold, distance=max(1, distance))
    return (peaks - 1).astype(np.int64)


def _check_threshold(threshold: float, min_separation_s: float) -> None:
    if not math.isfinite(threshold):
        raise InputError(f"threshold must be finite, got {threshold}")
    if not min_separation_s >= 0:
        raise InputError(f"min_separation_s must be >= 0, got {min_separation_s}")


def detect(
    coa: Coalescence,
    threshold: float = DEFAULT_THRESHOLD,
    *,
    min_separation_s: float = 1.0,
    statistic: str = "background",
    grid: Grid3D | None = None,
    normalised: bool | None = None,
) -> Triggers:
    """Triggers on a coalescence trace: peaks of the statistic at or above ``threshold``, at
    least ``min_separation_s`` apart (the highest wins), sorted by time.

    ``statistic``: ``"background"`` — the detection statistic (``coa.statistic``, from
    :func:`detection_statistic`; computed here with ``unit = 1 / A`` when ``coa`` carries none
    and knows ``A``); ``"normalised"`` — QuakeMigrate's normalised coalescence; ``"raw"`` — the
    maximum coalescence. (``normalised=True/False`` is the older spelling of the last two.)
    With ``grid``, ``on_edge`` says whether each trigger's node lies on the grid's boundary.
    """
    _check_threshold(threshold, min_separation_s)
    if normalised is not None:
        statistic = "normalised" if normalised else "raw"
    x = _statistic_trace(coa, statistic)
    dist = int(math.ceil(min_separation_s * coa.sampling_rate))
    peaks = _peaks(x, threshold, dist)
    return _triggers_at(coa, x, peaks, grid)


def _statistic_trace(coa: Coalescence, statistic: str) -> np.ndarray:
    if statistic == "normalised":
        return np.asarray(coa.norm_coa, np.float64)
    if statistic == "raw":
        return np.asarray(coa.max_coa, np.float64)
    if statistic != "background":
        raise InputError(
            f"statistic: expected 'background', 'normalised' or 'raw', got {statistic!r}"
        )
    if coa.statistic is None:
        if not coa.n_rows:
            raise InputError("this coalescence has no detection statistic (and no row count)")
        coa.statistic, coa.background, coa.noise = detection_statistic(
            coa.max_coa, coa.sampling_rate, 1.0 / coa.n_rows
        )
    return np.asarray(coa.statistic, np.float64)


def _triggers_at(coa: Coalescence, x: np.ndarray, peaks: np.ndarray, grid) -> Triggers:
    if len(peaks) == 0:
        return Triggers.empty()
    nodes = coa.max_node[peaks].astype(np.int64)
    edge = on_boundary(grid, nodes) if grid is not None else np.zeros(len(peaks), bool)
    return Triggers(
        time=coa.times()[peaks],
        sample=peaks,
        statistic=x[peaks].astype(np.float32),
        coherence=coa.max_coa[peaks].astype(np.float32),
        coherence_norm=coa.norm_coa[peaks].astype(np.float32),
        node=nodes,
        on_edge=edge,
        width=np.zeros(len(peaks), np.int64),
    )


# --------------------------------------------------------------------------- grid edges


def on_boundary(grid: Grid3D, nodes) -> np.ndarray:
    """Whether each node lies on the grid's boundary: its first or last column along x or y,
    its bottom layer, and its top layer when the grid starts below sea level (a grid whose
    top is at or above sea level has nothing above it where an event could hide; a maximum
    there is a very shallow event). Axes with a single node have no boundary."""
    ijk = np.unravel_index(np.asarray(nodes, np.int64), grid.shape)
    out = np.zeros(np.shape(nodes), bool)
    for axis, (i, n) in enumerate(zip(ijk, grid.shape, strict=True)):
        if n < 2:
            continue
        top = i == 0 if (axis < 2 or grid.origin_km[2] > 0) else np.zeros_like(out)
        out |= top | (i == n - 1)
    return out


# --------------------------------------------------------------------------- side lobes


@dataclass
class _LobeContext:
    """What the side-lobe test needs of one detection run: the detection onsets, travel times
    (samples), the trace's first onset sample, its statistic's background and scale."""

    data: np.ndarray  # [n_stations, n_phases, n_samples] float32 detection onsets
    tt: np.ndarray  # [n_nodes, n_stations, n_phases] int32
    active: np.ndarray  # [n_stations, n_phases] uint8
    first: int  # onset sample of trace sample 0
    background: np.ndarray
    scale: np.ndarray
    tolerance: np.ndarray  # [n_stations, n_phases] samples (widen)
    mod: object
    workers: int


def peak_half_width(x: np.ndarray, i: int, limit: int) -> int:
    """Half-width (samples) at half height of the peak of the statistic ``x`` at ``i`` (its
    background is 0), at most ``limit``."""
    level = 0.5 * x[i]
    lo = i
    while lo > 0 and x[lo - 1] > level:
        lo -= 1
    hi = i
    while hi < len(x) - 1 and x[hi + 1] > level:
        hi += 1
    return int(min(max(1, (hi - lo + 1) // 2), max(1, limit)))


def _cell_spread(tt: np.ndarray, grid: Grid3D, node: int) -> np.ndarray:
    """Per (station, phase): the largest change of travel time (samples) from ``node`` to a
    neighbouring node — how far one cell of location error moves the predicted arrival."""
    ijk = np.array(np.unravel_index(int(node), grid.shape))
    base = tt[int(node)].astype(np.int64)
    out = np.zeros(base.shape, np.int64)
    for axis in range(3):
        for step in (-1, 1):
            q = ijk.copy()
            q[axis] += step
            if 0 <= q[axis] < grid.shape[axis]:
                other = tt[int(np.ravel_multi_index(tuple(q), grid.shape))].astype(np.int64)
                out = np.maximum(out, np.abs(other - base))
    return out


def _nearest_strong_peak(seg: np.ndarray, centre: int) -> int:
    """Index in ``seg`` of the local maximum nearest to ``centre`` among those at least half
    as high as the highest (an arrival near the predicted time, not a louder one beside it)."""
    top = float(seg.max())
    inner = np.arange(1, len(seg) - 1)
    cand = inner[(seg[1:-1] >= seg[:-2]) & (seg[1:-1] >= seg[2:]) & (seg[1:-1] >= 0.5 * top)]
    cand = np.concatenate([cand, [int(np.argmax(seg))]])
    return int(cand[np.argmin(np.abs(cand - centre))])


def _arrival_extent(row: np.ndarray, centre: int, search: int, limit: int):
    """The samples ``[lo, hi)`` of the arrival seen in ``row`` near ``centre``: the strong peak
    nearest to it within ``± search`` (:func:`_nearest_strong_peak`), its rising edge back to
    where the row falls under a quarter of that peak, and its tail (an STA/LTA stays up through
    the coda) until the row falls under a quarter of the peak or rises again by a quarter of it
    above the lowest value since the peak (a new arrival); at most ``limit`` samples on each
    side."""
    n = len(row)
    a, b = max(0, centre - search), min(n, centre + search + 1)
    if b <= a:
        return 0, 0
    j = a + _nearest_strong_peak(row[a:b], centre - a)
    peak = float(row[j])
    if not peak > 0:
        return 0, 0
    level, rise = 0.25 * peak, 0.25 * peak
    lo = j
    lo_stop, hi_stop = max(0, j - limit), min(n - 1, j + limit)
    while lo > lo_stop and row[lo - 1] > level:
        lo -= 1
    hi, low = j, peak
    while hi < hi_stop:
        v = float(row[hi + 1])
        if v <= level or v > low + rise:
            break
        low = min(low, v)
        hi += 1
    return lo, hi + 1


def arrival_spans(data: np.ndarray, offset: int, ctx: _LobeContext, grid, trig, k: int):
    """The arrivals of trigger ``k`` in each onset row, as ``(station, phase, lo, hi)`` sample
    spans of ``data`` (detection onsets from onset sample ``offset`` on): around each P and S
    arrival it predicts at the row's station (a row may see either phase), the peak found
    within its timing uncertainty (peak half-width + one cell + the grid tolerance; five cells
    on the grid's boundary, where the event is outside and its predicted times poorer), with
    its rising edge and tail (:func:`_arrival_extent`)."""
    n_st, n_ph = ctx.tt.shape[1:]
    node = int(trig.node[k])
    origin = ctx.first + int(trig.sample[k]) - offset
    arrivals = origin + ctx.tt[node].astype(np.int64)  # [n_st, n_ph]
    cells = 5 if bool(trig.on_edge[k]) else 1
    search = int(trig.width[k]) + cells * _cell_spread(ctx.tt, grid, node) + ctx.tolerance + 1
    limit = int(ctx.tt.max() - ctx.tt.min())
    spans = []
    for s, p in np.ndindex(n_st, n_ph):
        for q in range(n_ph):
            lo, hi = _arrival_extent(data[s, p], int(arrivals[s, q]), int(search[s, q]), limit)
            if hi > lo:
                spans.append((s, p, lo, hi))
    return spans


def _masked_statistic(ctx: _LobeContext, grid, trig, k: int, maskers) -> float:
    """The statistic of trigger ``k`` (its maximum within twice its peak half-width) once the
    arrivals of the ``maskers`` are masked out of the detection onsets."""
    lo_tt, hi_tt = int(ctx.tt.min()), int(ctx.tt.max())
    reach = 2 * int(trig.width[k]) + 1
    centre = ctx.first + int(trig.sample[k])
    n = ctx.data.shape[2]
    a = max(centre - reach, -lo_tt)
    b = min(centre + reach, n - 1 - hi_tt)
    if b < a:
        return float(trig.statistic[k])
    pad = int(ctx.tolerance.max()) if ctx.tolerance.size else 0
    s0, s1 = max(0, a + lo_tt - pad), min(n, b + hi_tt + 1 + pad)
    data = np.array(ctx.data[:, :, s0:s1], dtype=np.float32, order="C")
    for j in maskers:
        for st, ph, lo, hi in arrival_spans(data, s0, ctx, grid, trig, j):
            data[st, ph, lo:hi] = 0.0
    data = widen(data, ctx.tolerance)
    out = ctx.mod.migrate_max(data, ctx.tt, ctx.active, a - s0, b - a + 1, "mean", ctx.workers)
    i = np.clip(np.arange(a, b + 1) - ctx.first, 0, len(ctx.background) - 1)
    z = (out["max_coa"].astype(np.float64) - ctx.background[i]) / ctx.scale[i]
    return float(z.max())


def suppress_side_lobes(
    trig: Triggers, ctx: _LobeContext, grid: Grid3D, threshold: float, spread: int
) -> np.ndarray:
    """Boolean mask of the triggers that stand on their own (see the module doc): from the
    highest down, a trigger is tested against the kept triggers that are higher and within
    ``spread`` samples; it is kept when its statistic, with their arrivals masked out, still
    reaches ``threshold``."""
    order = np.argsort(-trig.statistic, kind="stable")
    keep = np.zeros(len(trig), bool)
    for k in order:
        near = [
            int(j)
            for j in np.flatnonzero(keep)
            if abs(int(trig.sample[j]) - int(trig.sample[k])) <= spread
        ]
        if not near:
            keep[k] = True
            continue
        zm = _masked_statistic(ctx, grid, trig, int(k), near)
        keep[k] = zm >= threshold
    return keep
