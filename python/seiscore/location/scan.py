"""Scanning a record: detection (:mod:`.detect`) and location (:mod:`.locate`) over continuous
onsets, in chunks of bounded memory (:func:`scan_record`), or over onsets held in memory
(:func:`scan`).

A record is cut into chunks of ``chunk_s`` seconds of origin time. Each chunk asks its onset
source for the onsets it needs — its origin times widened on both sides by an overlap, plus the
grid's travel times — so memory is bounded by one chunk, whatever the record's length. The
overlap covers what a decision about a peak inside the chunk depends on: half the background
window and a block (the statistic), the travel-time spread of the grid (side lobes: a larger
event's arrivals) and the minimum separation. Peaks are found over the widened chunk and kept
only inside its own origin times, so an event at a chunk border is found once, by the chunk
that owns its time, and with the decisions a single pass over the whole record would make
(up to the per-chunk median of each onset row, a background level).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from .._validate import check_workers
from ..containers import Grid3D, Locations, Stations
from ..exceptions import InputError
from .detect import (
    DEFAULT_BACKGROUND_S,
    DEFAULT_THRESHOLD,
    Triggers,
    _check_threshold,
    _LobeContext,
    _peaks,
    _triggers_at,
    arrival_spans,
    detection_onsets,
    detection_statistic,
    grid_tolerance,
    on_boundary,
    peak_half_width,
    suppress_side_lobes,
    widen,
)
from .locate import locate
from .migrate import Coalescence, _as_tt, _kernel, _origin_range
from .onsets import Onsets

__all__ = ["ScanResult", "scan", "scan_record"]

#: An onset source: ``source(t0, t1)`` returns onsets covering the UTC times ``t0 .. t1`` (or
#: as much of them as exists), on one time grid for the whole record, rows in the order of
#: the travel times' stations; or None where there is nothing.
OnsetSource = Callable[[object, object], Onsets | None]


@dataclass(eq=False)
class ScanResult:
    """What :func:`scan_record` found.

    ``locations`` — the reported events, sorted by origin time, ``event_id`` 0, 1, …;
    ``triggers`` — their triggers, row for row (``on_edge`` is False for all unless
    ``keep_edge``); ``edge`` — triggers whose maximum lies on the grid's boundary, not reported
    (unless ``keep_edge``); ``n_side_lobes`` — peaks above the threshold explained by a larger
    neighbour; ``coalescence`` — the detection trace (max coalescence of the detection onsets,
    its node, the statistic, background and noise), when ``keep_trace``; ``details`` — per
    event :class:`~seiscore.location.LocationDetail`; ``messages`` — what the caller should
    tell the user (e.g. events on the grid's boundary: enlarge the grid)."""

    locations: Locations
    triggers: Triggers
    edge: Triggers
    n_side_lobes: int = 0
    coalescence: Coalescence | None = None
    details: list = field(default_factory=list)
    messages: list[str] = field(default_factory=list)


@dataclass
class _Settings:
    threshold: float
    min_separation_s: float
    marginal_window_s: float
    statistic: str
    background_s: float
    keep_edge: bool
    table: object
    stations: Stations | None
    device: str
    workers: int | None
    tolerance: np.ndarray | None = None


# ----------------------------------------------------------------------------- one chunk


@dataclass
class _Chunk:
    """One chunk's trace and the record samples it covers (``e0`` is its first sample)."""

    onsets: Onsets
    first: int  # onset sample of trace sample 0
    e0: int
    coa: Coalescence
    ctx: _LobeContext | None


def _chunk_trace(on: Onsets, tt, first: int, n_out: int, e0: int, cfg: _Settings) -> _Chunk:
    """The detection trace of a chunk: the coalescence of its detection onsets (or, for the
    older statistics, of the onsets themselves), and the statistic."""
    mod, dev = _kernel(cfg.device)
    arg = dev if dev is not None else check_workers(cfg.workers)
    det = detection_onsets(on) if cfg.statistic == "background" else on
    data = np.ascontiguousarray(det.data, np.float32)
    active = np.ascontiguousarray(det.available, np.uint8)
    wide = widen(data, cfg.tolerance) if cfg.statistic == "background" else data
    out = mod.migrate_max(wide, tt, active, first, n_out, det.stacking, arg)
    del wide
    n_rows = int(on.available.sum())
    coa = Coalescence(
        on.time_of(first),
        on.sampling_rate,
        out["max_coa"],
        out["norm_coa"],
        out["max_node"],
        first,
        n_rows,
    )
    ctx = None
    if cfg.statistic == "background":
        coa.statistic, coa.background, coa.noise = detection_statistic(
            coa.max_coa, on.sampling_rate, 1.0 / n_rows, background_s=cfg.background_s, offset=e0
        )
        scale = np.maximum(coa.noise, 1.0 / n_rows)
        ctx = _LobeContext(
            data,
            tt,
            active,
            first,
            coa.background,
            scale,
            cfg.tolerance,
            mod,
            arg,
        )
    return _Chunk(on, first, e0, coa, ctx)


def _chunk_triggers(ch: _Chunk, grid: Grid3D, cfg: _Settings, spread: int):
    """Triggers of a chunk (all of its widened trace) that stand on their own, with the
    number of side lobes dropped."""
    coa = ch.coa
    x = (
        coa.statistic
        if cfg.statistic == "background"
        else (coa.norm_coa if cfg.statistic == "normalised" else coa.max_coa)
    )
    x = np.asarray(x, np.float64)
    dist = int(math.ceil(cfg.min_separation_s * coa.sampling_rate))
    peaks = _peaks(x, cfg.threshold, dist)
    trig = _triggers_at(coa, x, peaks, grid)
    trig.width = np.array([peak_half_width(x, int(i), dist // 2) for i in peaks], np.int64)
    if ch.ctx is None or len(trig) < 2:
        return trig, 0
    keep = suppress_side_lobes(trig, ch.ctx, grid, cfg.threshold, spread)
    return trig.select(keep), int((~keep).sum())


# ------------------------------------------------------------------------------- locating


def _neighbours(trig: Triggers, others: Triggers, k: int, spread: int) -> list[int]:
    """Rows of ``others`` higher than trigger ``k`` and within ``spread`` samples of it."""
    d = np.abs(others.sample - trig.sample[k])
    return [int(j) for j in np.flatnonzero((d <= spread) & (others.statistic > trig.statistic[k]))]


def _masked_onsets(ch: _Chunk, grid, trig: Triggers, k: int, others, near, reach: int):
    """The chunk's onsets around trigger ``k`` with the arrivals of its neighbours ``near`` (rows
    of ``others``) set to each row's median (neutral), for locating it on its own."""
    on, ctx = ch.onsets, ch.ctx
    lo_tt, hi_tt = int(ctx.tt.min()), int(ctx.tt.max())
    centre = ch.first + int(trig.sample[k])
    w0 = max(0, centre - reach + lo_tt - 1)
    w1 = min(on.n_samples, centre + reach + hi_tt + 2)
    data = np.array(on.data[:, :, w0:w1], dtype=np.float32, order="C")
    narrow = ctx.data[:, :, w0:w1]
    med = np.median(on.data, axis=2)
    for j in near:
        for st, ph, lo, hi in arrival_spans(narrow, w0, ctx, grid, others, j):
            data[st, ph, lo:hi] = med[st, ph]
    return Onsets(
        data,
        on.available,
        on.time_of(w0),
        on.sampling_rate,
        on.station_ids,
        on.phases,
        on.stacking,
    )


def _locate_triggers(ch: _Chunk, tt, grid, trig: Triggers, others: Triggers, cfg, spread):
    """Locations (and details) of the triggers, with ``on_edge`` updated by the located node.
    A trigger with higher triggers (``others``: all of the chunk's) within the travel-time
    spread is located with their arrivals masked out of the onsets."""
    search = min(cfg.marginal_window_s, 0.5 * cfg.min_separation_s) or None
    fs = ch.onsets.sampling_rate
    reach = int(math.ceil(((search or cfg.marginal_window_s) + cfg.marginal_window_s) * fs)) + 2
    kw = dict(
        marginal_window_s=cfg.marginal_window_s,
        search_window_s=search,
        table=cfg.table,
        stations=cfg.stations,
        device=cfg.device,
        workers=cfg.workers,
        return_details=True,
        tolerance=cfg.tolerance,
    )
    rows, details = [None] * len(trig), [None] * len(trig)
    alone = []
    for k in range(len(trig)):
        near = _neighbours(trig, others, k, spread) if ch.ctx is not None else []
        if not near:
            alone.append(k)
            continue
        on = _masked_onsets(ch, grid, trig, k, others, near, reach)
        locs, det = locate(on, tt, grid, trig.time[k : k + 1], **kw)
        rows[k], details[k] = locs, det[0]
    if alone:
        locs, det = locate(ch.onsets, tt, grid, trig.time[alone], **kw)
        for i, k in enumerate(alone):
            rows[k], details[k] = locs.select([i]), det[i]
    locs = Locations.concatenate(rows) if rows else Locations.empty()
    nodes = np.array([d.node for d in details], np.int64)
    trig.on_edge = trig.on_edge | on_boundary(grid, nodes)
    return locs, details


def _dedupe(locs: Locations, trig: Triggers, details: list, min_sep_s: float):
    """Sort by origin time; of two events closer than the minimum separation, keep the one
    with the higher statistic."""
    order = np.argsort(locs.time, kind="stable")
    locs, trig = locs.select(order), trig.select(order)
    details = [details[i] for i in order]
    keep = np.ones(len(locs), bool)
    last = -1
    sep = np.timedelta64(int(round(min_sep_s * 1e9)), "ns")
    for i in range(len(locs)):
        if last >= 0 and locs.time[i] - locs.time[last] < sep:
            if trig.statistic[i] > trig.statistic[last]:
                keep[last], last = False, i
            else:
                keep[i] = False
            continue
        last = i
    details = [d for d, k in zip(details, keep, strict=True) if k]
    return locs.select(keep), trig.select(keep), details


# ------------------------------------------------------------------------------- the record


def _tt_range(tt: np.ndarray) -> tuple[int, int]:
    return int(tt.min()), int(tt.max())


def _source_onsets(source, R0, fs, e0, e1, lo_tt, hi_tt):
    """(onsets, first onset sample of record sample e0, n_out) for record samples e0..e1, or
    None when the source has nothing there."""
    on = source(R0 + (e0 + lo_tt) / fs, R0 + (e1 + hi_tt) / fs)
    if on is None or not on.available.any():
        return None
    if abs(on.sampling_rate - fs) > 1e-9:
        raise InputError(f"onset source: sampling rate {on.sampling_rate} Hz, expected {fs} Hz")
    off = (R0 - on.starttime) * fs
    d = int(round(off))
    if abs(off - d) > 1e-3:
        raise InputError("onset source: chunks are not on one time grid")
    first = max(d + e0, -lo_tt)
    last = min(d + e1, on.n_samples - 1 - hi_tt)
    if last < first:
        return None
    return on, first, last - first + 1, first - d


def scan_record(
    source: OnsetSource,
    tt,
    grid: Grid3D,
    starttime,
    endtime,
    sampling_rate: float,
    *,
    threshold: float = DEFAULT_THRESHOLD,
    min_separation_s: float = 1.0,
    marginal_window_s: float = 0.5,
    statistic: str = "background",
    background_s: float = DEFAULT_BACKGROUND_S,
    chunk_s: float | None = 3600.0,
    keep_edge: bool = False,
    keep_trace: bool = True,
    locate: bool = True,
    table=None,
    stations: Stations | None = None,
    device: str = "cpu",
    workers: int | None = None,
) -> ScanResult:
    """Detect and locate events with origin times from ``starttime`` to ``endtime`` (UTC), in
    chunks of ``chunk_s`` seconds (None: one chunk). See the module doc and
    :mod:`seiscore.location.detect` for the statistic, the side lobes and the grid's boundary.

    ``tt``: ``[n_nodes, n_stations, n_phases]`` int32 samples at ``sampling_rate`` (or a
    :class:`~seiscore.traveltime.StationGrids`), stations in the source's row order. Location
    settings as :func:`seiscore.location.locate` (``table`` and ``stations`` refine continuously).
    With ``locate=False`` only the triggers are returned (``locations`` empty): detection alone.
    """
    # long function: the chunk loop — fetch, trace, triggers, keep the core, locate, collect
    _check_threshold(threshold, min_separation_s)
    tt = np.ascontiguousarray(tt.times if hasattr(tt, "times") else tt, np.int32)
    if tt.ndim != 3 or tt.shape[0] != grid.n_nodes:
        raise InputError(f"tt: expected [{grid.n_nodes} nodes, stations, phases], got {tt.shape}")
    if chunk_s is not None and not chunk_s > 0:
        raise InputError(f"chunk_s must be positive, got {chunk_s}")
    cfg = _Settings(
        threshold,
        min_separation_s,
        marginal_window_s,
        statistic,
        background_s,
        keep_edge,
        table,
        stations,
        device,
        workers,
    )
    cfg.tolerance = grid_tolerance(tt, grid)
    fs = float(sampling_rate)
    R0 = starttime
    K = int(math.floor((endtime - starttime) * fs + 1e-6)) + 1
    lo_tt, hi_tt = _tt_range(tt)
    spread = hi_tt - lo_tt
    sep = int(math.ceil(min_separation_s * fs))
    margin = spread + sep + int(math.ceil(fs))
    overlap = margin + int(math.ceil(0.6 * background_s * fs)) + 1
    step = K if chunk_s is None else max(1, int(round(chunk_s * fs)))
    rows, trig_parts, edge_parts, details, traces = [], [], [], [], []
    n_lobes = 0
    for c0 in range(0, max(K, 0), step):
        c1 = min(K, c0 + step)
        e0, e1 = max(0, c0 - overlap), min(K - 1, c1 - 1 + overlap)
        got = _source_onsets(source, R0, fs, e0, e1, lo_tt, hi_tt)
        if got is None:
            continue
        on, first, n_out, e0 = got
        ch = _chunk_trace(on, tt, first, n_out, e0, cfg)
        trig, lobes = _chunk_triggers(ch, grid, cfg, spread)
        rec = trig.sample + e0
        core = (rec >= c0) & (rec < c1)
        n_lobes += lobes
        every, trig = trig, trig.select(core)
        if keep_trace:
            a, b = max(c0, e0) - e0, min(c1, e0 + n_out) - e0
            traces.append((ch.coa, a, b))
        if len(trig) == 0:
            continue
        if not locate:  # detection only: the triggers, their edge flags from their nodes
            trig.sample = trig.sample + e0
            trig_parts.append(trig if keep_edge else trig.select(~trig.on_edge))
            edge_parts.append(trig.select(trig.on_edge) if not keep_edge else Triggers.empty())
            continue
        locs, det = _locate_triggers(ch, tt, grid, trig, every, cfg, spread)
        trig.sample = trig.sample + e0
        if not keep_edge:
            edge_parts.append(trig.select(trig.on_edge))
            inside = ~trig.on_edge
            locs, trig = locs.select(inside), trig.select(inside)
            det = [d for d, k in zip(det, inside, strict=True) if k]
        rows.append(locs)
        trig_parts.append(trig)
        details.extend(det)
    return _result(rows, trig_parts, edge_parts, details, traces, n_lobes, cfg, R0, fs)


def _concat_triggers(parts) -> Triggers:
    parts = [p for p in parts if len(p)]
    if not parts:
        return Triggers.empty()
    names = Triggers.__dataclass_fields__
    return Triggers(**{k: np.concatenate([getattr(p, k) for p in parts]) for k in names})


def _result(rows, trig_parts, edge_parts, details, traces, n_lobes, cfg, R0, fs) -> ScanResult:
    """The events of all chunks, sorted and deduplicated, with the trace and the messages."""
    locs = Locations.concatenate(rows) if rows else Locations.empty()
    trig = _concat_triggers(trig_parts)
    if len(locs) == len(trig):
        locs, trig, details = _dedupe(locs, trig, details, cfg.min_separation_s)
        locs.event_id[:] = np.arange(len(locs))
    edge = _concat_triggers(edge_parts)
    messages = []
    if len(edge):
        messages.append(
            f"{len(edge)} detection(s) with the coalescence maximum on the grid's boundary "
            "were not reported (events outside the grid, most likely); enlarge the grid "
            "(its bounds, depths or margin) to locate them, or keep them with keep_edge"
        )
    return ScanResult(locs, trig, edge, n_lobes, _join_traces(traces, R0, fs), details, messages)


def _join_traces(traces, R0, fs) -> Coalescence | None:
    """The chunks' traces over their own origin times, end to end."""
    if not traces:
        return None
    first = traces[0][0]

    def cat(name):
        parts = [getattr(c, name) for c, _, _ in traces]
        if any(p is None for p in parts):
            return None
        return np.concatenate([p[a:b] for p, (_, a, b) in zip(parts, traces, strict=True)])

    start = first.starttime + traces[0][1] / fs
    out = Coalescence(
        start,
        fs,
        cat("max_coa"),
        cat("norm_coa"),
        cat("max_node"),
        first.first_sample,
        first.n_rows,
        cat("statistic"),
        cat("background"),
        cat("noise"),
    )
    return out


# ------------------------------------------------------------------------------ in memory


def _memory_source(onsets: Onsets) -> OnsetSource:
    """An onset source over onsets held in memory (views, no copies)."""

    def source(t0, t1):
        fs = onsets.sampling_rate
        i0 = max(0, int(math.floor((t0 - onsets.starttime) * fs + 1e-6)))
        i1 = min(onsets.n_samples - 1, int(math.ceil((t1 - onsets.starttime) * fs - 1e-6)))
        if i1 < i0:
            return None
        return Onsets(
            onsets.data[:, :, i0 : i1 + 1],
            onsets.available,
            onsets.time_of(i0),
            fs,
            onsets.station_ids,
            onsets.phases,
            onsets.stacking,
        )

    return source


def scan(
    onsets: Onsets,
    tt,
    grid: Grid3D,
    *,
    threshold: float = DEFAULT_THRESHOLD,
    min_separation_s: float = 1.0,
    marginal_window_s: float = 0.5,
    statistic: str = "background",
    normalised: bool | None = None,
    background_s: float = DEFAULT_BACKGROUND_S,
    keep_edge: bool = False,
    chunk_s: float | None = None,
    starttime=None,
    endtime=None,
    table=None,
    stations: Stations | None = None,
    device: str = "cpu",
    workers: int | None = None,
    return_details: bool = False,
    full: bool = False,
    locate: bool = True,
):
    """:func:`scan_record` over onsets held in memory, from the first origin time whose every
    travel time lands inside them to the last (cut to ``starttime``/``endtime``).

    Returns ``(locations, coalescence, triggers)`` (plus the details with ``return_details``),
    or the whole :class:`ScanResult` with ``full=True``. ``normalised=True/False`` is the older
    spelling of ``statistic="normalised"/"raw"`` (QuakeMigrate's thresholds). The detection
    settings (``threshold``, ``min_separation_s``, ``statistic``, ``background_s``,
    ``keep_edge``, ``chunk_s``, ``locate``) are those of :func:`scan_record`.
    """
    if normalised is not None:
        statistic = "normalised" if normalised else "raw"
    arr = _as_tt(tt, onsets)
    if arr.shape[0] != grid.n_nodes:
        raise InputError(f"tt has {arr.shape[0]} nodes, the grid {grid.n_nodes}")
    first, last = _origin_range(onsets, arr)
    fs = onsets.sampling_rate
    if starttime is not None:
        first = max(first, int(math.ceil((starttime - onsets.starttime) * fs - 1e-9)))
    if endtime is not None:
        last = min(last, int(math.floor((endtime - onsets.starttime) * fs + 1e-9)))
    if last < first:
        span = (arr.max() - arr.min()) / fs
        raise InputError(
            f"onsets too short: {onsets.n_samples / fs:.2f} s of onsets do not cover the "
            f"{span:.2f} s spread of travel times across the grid (plus the requested window)"
        )
    res = scan_record(
        _memory_source(onsets),
        arr,
        grid,
        onsets.time_of(first),
        onsets.time_of(last),
        fs,
        threshold=threshold,
        min_separation_s=min_separation_s,
        marginal_window_s=marginal_window_s,
        statistic=statistic,
        background_s=background_s,
        chunk_s=chunk_s,
        keep_edge=keep_edge,
        locate=locate,
        table=table,
        stations=stations,
        device=device,
        workers=workers,
    )
    if full:
        return res
    if return_details:
        return res.locations, res.coalescence, res.triggers, res.details
    return res.locations, res.coalescence, res.triggers
