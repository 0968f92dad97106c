"""Location: the best node of the marginal coalescence volume, its sub-grid refinement and the
uncertainties, as :class:`~seiscore.containers.Locations` (:func:`locate`)."""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np

from .. import geo
from .._validate import check_workers
from ..containers import Grid3D, Locations, Stations
from ..exceptions import InputError
from ..traveltime import travel_times
from .detect import widen
from .migrate import _as_tt, _kernel, _origin_range
from .onsets import Onsets

__all__ = ["LocationDetail", "locate"]


# ------------------------------------------------------------------- sub-grid refinement


def _quadratic_fit(vol: np.ndarray, ijk, spacing, half: int):
    """Least-squares quadratic fit of log(vol) in a (2*half+1)^3 window around ijk.

    Returns (offset_km [3] of the vertex from node ijk, covariance_km2 [3, 3]) or None."""
    lo = [max(0, i - half) for i in ijk]
    hi = [min(n, i + half + 1) for i, n in zip(ijk, vol.shape, strict=False)]
    sub = vol[lo[0] : hi[0], lo[1] : hi[1], lo[2] : hi[2]].astype(np.float64)
    if min(sub.shape) < 2:
        return None
    peak = vol[tuple(ijk)]
    if not peak > 0:
        return None
    axes = [(np.arange(a, b) - i) * d for a, b, i, d in zip(lo, hi, ijk, spacing, strict=False)]
    X, Y, Z = np.meshgrid(*axes, indexing="ij")
    v = sub / peak
    ok = v > 1e-6
    if ok.sum() < 10:
        return None
    x, y, z = X[ok], Y[ok], Z[ok]
    cols = [np.ones_like(x), x, y, z, x * x, y * y, z * z, x * y, x * z, y * z]
    # flat axes (one node) cannot be fitted: drop their terms
    flat = [s == 1 for s in sub.shape]
    keep = [
        True,
        not flat[0],
        not flat[1],
        not flat[2],
        not flat[0],
        not flat[1],
        not flat[2],
        not (flat[0] or flat[1]),
        not (flat[0] or flat[2]),
        not (flat[1] or flat[2]),
    ]
    A = np.stack([c for c, k in zip(cols, keep, strict=False) if k], axis=1)
    w = np.sqrt(v[ok])  # trust the high values more
    coef_k, *_ = np.linalg.lstsq(A * w[:, None], np.log(v[ok]) * w, rcond=None)
    coef = np.zeros(10)
    coef[np.array(keep)] = coef_k
    g = coef[1:4]
    H = np.array(
        [
            [2 * coef[4], coef[7], coef[8]],
            [coef[7], 2 * coef[5], coef[9]],
            [coef[8], coef[9], 2 * coef[6]],
        ]
    )
    idx = [a for a in range(3) if not flat[a]]
    Hs = H[np.ix_(idx, idx)]
    if np.any(np.linalg.eigvalsh(Hs) >= 0):
        return None
    off = np.zeros(3)
    cov = np.full((3, 3), np.nan)
    off[idx] = -np.linalg.solve(Hs, g[idx])
    cov[np.ix_(idx, idx)] = -np.linalg.inv(Hs)
    return off, cov


def _peak_time(trace: np.ndarray) -> float:
    """Sub-sample position of a trace's maximum (parabola through the peak and neighbours)."""
    j = int(np.argmax(trace))
    if 0 < j < len(trace) - 1:
        y0, y1, y2 = trace[j - 1 : j + 2]
        den = y0 - 2 * y1 + y2
        if den < 0:
            return j + float(np.clip(0.5 * (y0 - y2) / den, -0.5, 0.5))
    return float(j)


def _origin_at(vols: np.ndarray, grid: Grid3D, ijk, off_km: np.ndarray, peak_best: float) -> float:
    """Origin-time sample (relative to the window) at the sub-grid hypocentre: a least-squares
    plane t(dx, dy, dz) through the peak times of the best node's 3x3x3 neighbourhood."""
    shape = grid.shape
    pts, ts = [], []
    for d in np.ndindex(3, 3, 3):
        q = [i + k - 1 for i, k in zip(ijk, d, strict=False)]
        if any(v < 0 or v >= n for v, n in zip(q, shape, strict=False)):
            continue
        tr = vols[:, np.ravel_multi_index(q, shape)]
        if tr.max() <= 0 and tr.min() >= 0:
            continue
        pts.append([(k - 1) * s for k, s in zip(d, grid.spacing_km, strict=False)])
        ts.append(_peak_time(tr.astype(np.float64)))
    if len(pts) < 4:
        return peak_best
    A = np.hstack([np.ones((len(pts), 1)), np.asarray(pts)])
    coef, *_ = np.linalg.lstsq(A, np.asarray(ts), rcond=None)
    est = float(coef[0] + coef[1:] @ off_km)
    # a plane that disagrees with the best node by more than a few samples is not trusted
    return (
        est
        if abs(est - peak_best) <= 3 + 2 * np.abs(coef[1:] @ np.asarray(grid.spacing_km))
        else peak_best
    )


def _refine_continuous(
    onsets: Onsets, table, stations, grid: Grid3D, node_xyz, xyz0, t0_sample, stacking
):
    """Maximise the onset stack over continuous (x, y, z, origin sample) near the best node."""
    from scipy.optimize import minimize

    if stations is None or tuple(stations.ids) != tuple(onsets.station_ids):
        raise InputError(
            "locate: refining with a table needs the stations of the onsets, in their order"
        )
    sx, sy = geo.project(stations.latitude, stations.longitude, *grid.reference)
    elev = np.asarray(stations.elevation_m, dtype=np.float64)
    rows = [
        (s, p)
        for s in range(len(stations))
        for p in range(len(onsets.phases))
        if onsets.available[s, p]
    ]
    rs = np.array([r[0] for r in rows])
    rp = np.array([r[1] for r in rows])
    data = onsets.data[rs, rp].astype(np.float64)  # [n_rows, n_samples]
    fs = onsets.sampling_rate
    n = onsets.n_samples
    phase_rows = {ph: rp == k for k, ph in enumerate(onsets.phases)}

    def stack(v):
        x, y, z, t = v
        tt = np.empty(len(rows))
        d = np.hypot(sx[rs] - x, sy[rs] - y)
        for ph, sel in phase_rows.items():
            if sel.any():
                tt[sel] = travel_times(table, ph, d[sel], z, elev[rs[sel]])
        pos = t + tt * fs
        if not np.isfinite(pos).all():
            return -np.inf
        i0 = np.clip(np.floor(pos).astype(np.int64), 0, n - 2)
        w = np.clip(pos - i0, 0.0, 1.0)
        k = np.arange(len(rows))
        val = data[k, i0] * (1 - w) + data[k, i0 + 1] * w
        m = val.mean()
        return math.exp(m) if stacking == "geometric" else m

    spacing = np.asarray(grid.spacing_km)
    start = np.array([*xyz0, t0_sample])
    base = stack(start)
    simplex = [start] + [start + np.eye(4)[k] * np.append(0.5 * spacing, 0.5)[k] for k in range(4)]
    res = minimize(
        lambda v: -stack(v),
        start,
        method="Nelder-Mead",
        options={
            "initial_simplex": np.array(simplex),
            "xatol": 1e-3,
            "fatol": 1e-9,
            "maxiter": 600,
        },
    )
    best = res.x
    inside = np.all(np.abs(best[:3] - node_xyz) <= 1.5 * spacing)
    if inside and -res.fun >= base:
        return best[:3], float(best[3])
    return np.asarray(xyz0), t0_sample


def _covariance_errors(vol: np.ndarray, grid: Grid3D, frac: float = 0.5):
    peak = vol.max()
    if not peak > 0:
        return np.full(3, np.nan)
    w = np.where(vol >= frac * peak, vol, 0.0).astype(np.float64)
    w /= w.sum()
    ax = grid.axes()
    X, Y, Z = np.meshgrid(*ax, indexing="ij")
    out = []
    for C in (X, Y, Z):
        m = (w * C).sum()
        out.append(math.sqrt(max(0.0, (w * (C - m) ** 2).sum())))
    return np.array(out)


def _origin_time_error(trace: np.ndarray, peak_t: float, fs: float) -> float:
    """Spread (s) of the coalescence trace above its minimum around the peak sample."""
    above = trace - trace.min()
    return (
        math.sqrt((above * ((np.arange(len(trace)) - peak_t) / fs) ** 2).sum() / above.sum())
        if above.sum() > 0
        else math.nan
    )


# ------------------------------------------------------------------------------ location


@dataclass(eq=False)
class LocationDetail:
    """What :func:`locate` saw for one event: the marginal coalescence volume (``grid.shape``,
    normalised to a maximum of 1), the best node, the origin-time sample (in the onsets' grid)
    and the coalescence trace at the hypocentre around it."""

    volume: np.ndarray
    node: int
    origin_sample: float
    trace_first_sample: int
    trace: np.ndarray


def _event_times(times) -> list:
    """The trigger times as a list of UTCDateTime (datetime64 converted)."""
    from obspy import UTCDateTime

    if isinstance(times, (np.ndarray, list, tuple)):
        items = list(np.atleast_1d(times))
    else:
        items = [times]
    return [
        UTCDateTime(ns=int(t.astype("datetime64[ns]").astype(np.int64)))
        if isinstance(t, np.datetime64)
        else t
        for t in items
    ]


def _available_count(onsets: Onsets, phase: str) -> int:
    """Number of stations with an onset of ``phase``."""
    if phase not in onsets.phases:
        return 0
    return int(onsets.available[:, list(onsets.phases).index(phase)].sum())


class _Locator:
    """What the events of one :func:`locate` call share — the onsets and travel times as the
    kernels take them, the origin samples they cover, the settings — and the steps that
    locate one event."""

    def __init__(
        self,
        onsets: Onsets,
        tt: np.ndarray,
        grid: Grid3D,
        *,
        stacking: str,
        marginal: str,
        search_s: float,
        marginal_window_s: float,
        fit_half_width: int,
        table,
        stations: Stations | None,
        device: str,
        nworkers: int,
        tolerance=None,
    ):
        self.onsets, self.tt, self.grid = onsets, tt, grid
        self.stacking, self.marginal, self.fit_half_width = stacking, marginal, fit_half_width
        self.table, self.stations = table, stations
        fs = onsets.sampling_rate
        self.half_search = int(math.ceil(search_s * fs))
        self.half_marginal = int(math.ceil(marginal_window_s * fs))
        self.first_ok, self.last_ok = _origin_range(onsets, tt)
        self.mod, dev = _kernel(device)
        self.arg = dev if dev is not None else nworkers
        self.data = np.ascontiguousarray(onsets.data, dtype=np.float32)
        if tolerance is not None:
            self.data = widen(self.data, tolerance)
        self.active = np.ascontiguousarray(onsets.available, dtype=np.uint8)
        self.n_p = _available_count(onsets, "P")
        self.n_s = _available_count(onsets, "S")

    def event(self, k: int, t, want_detail: bool):
        """Locate event ``k`` near trigger time ``t``: (row of Locations, LocationDetail|None)."""
        out, i_best, first = self._best_origin(k, t)
        lo, vols = self._volumes(first + i_best)
        vol = self._marginal_volume(vols)
        node = int(np.argmax(vol))
        ijk = np.unravel_index(node, self.grid.shape)
        node_xyz = self.grid.node_xyz(node)
        off, err = self._subgrid_offset(vol, ijk)
        xyz = node_xyz + off
        cov = _covariance_errors(vol, self.grid)
        # origin time: the peak time of each node's coalescence around the best node, a plane
        # through them, evaluated at the sub-grid hypocentre
        trace = vols[:, node].astype(np.float64)
        peak_t = _peak_time(trace)
        origin_sample = lo + _origin_at(vols, self.grid, ijk, off, peak_t)
        err_t = _origin_time_error(trace, peak_t, self.onsets.sampling_rate)
        if self.table is not None:
            xyz, origin_sample = _refine_continuous(
                self.onsets,
                self.table,
                self.stations,
                self.grid,
                node_xyz,
                xyz,
                origin_sample,
                self.stacking,
            )
        row = self._row(k, xyz, origin_sample, out, i_best, err, cov, err_t)
        if not want_detail:
            return row, None
        detail = LocationDetail(
            vol / vol.max() if vol.max() > 0 else vol, node, origin_sample, lo, trace
        )
        return row, detail

    def _best_origin(self, k: int, t):
        """The maximum coalescence trace within the search window around ``t``, the index of its
        maximum and the onset sample of its first origin time."""
        centre = int(round((t - self.onsets.starttime) * self.onsets.sampling_rate))
        a = max(self.first_ok, centre - self.half_search)
        b = min(self.last_ok, centre + self.half_search)
        if b < a:
            raise InputError(f"event {k} at {t}: outside the origin times the onsets cover")
        out = self.mod.migrate_max(
            self.data, self.tt, self.active, a, b - a + 1, self.stacking, self.arg
        )
        return out, int(np.argmax(out["max_coa"])), a

    def _volumes(self, t0: int):
        """First onset sample and coalescence volumes of the origin times within the marginal
        window around sample ``t0``."""
        lo = max(self.first_ok, t0 - self.half_marginal)
        hi = min(self.last_ok, t0 + self.half_marginal)
        vols = self.mod.migrate_map(
            self.data, self.tt, self.active, lo, hi - lo + 1, self.stacking, self.arg
        )
        return lo, vols

    def _marginal_volume(self, vols: np.ndarray) -> np.ndarray:
        """The volumes marginalised over origin time (sum or max), float64, ``grid.shape``."""
        if self.marginal == "sum":
            return vols.sum(axis=0, dtype=np.float64).reshape(self.grid.shape)
        return vols.max(axis=0).astype(np.float64).reshape(self.grid.shape)

    def _subgrid_offset(self, vol: np.ndarray, ijk):
        """Offset (km) of the fitted vertex from the best node, kept within one cell, and the
        Gaussian errors (NaN without a fit)."""
        fit = _quadratic_fit(vol, ijk, self.grid.spacing_km, self.fit_half_width)
        if fit is None:
            return np.zeros(3), np.full(3, np.nan)
        spacing = np.asarray(self.grid.spacing_km)
        off = np.clip(fit[0], -spacing, spacing)
        err = np.sqrt(np.clip(np.diag(fit[1]), 0, None))
        return off, err

    def _row(self, k, xyz, origin_sample, out, i_best, err, cov, err_t) -> dict:
        lat, lon = geo.unproject(xyz[0], xyz[1], *self.grid.reference)
        origin = self.onsets.time_of(origin_sample)
        return dict(
            event_id=k,
            time=np.datetime64(origin.ns, "ns"),
            latitude=float(lat),
            longitude=float(lon),
            depth_km=float(xyz[2]),
            x_km=float(xyz[0]),
            y_km=float(xyz[1]),
            n_p=self.n_p,
            n_s=self.n_s,
            rms_s=np.nan,
            coherence=float(out["max_coa"][i_best]),
            coherence_norm=float(out["norm_coa"][i_best]),
            err_x_km=err[0],
            err_y_km=err[1],
            err_z_km=err[2],
            cov_x_km=cov[0],
            cov_y_km=cov[1],
            cov_z_km=cov[2],
            err_time_s=err_t,
        )


def locate(
    onsets: Onsets,
    tt,
    grid: Grid3D,
    times,
    *,
    marginal_window_s: float = 0.5,
    search_window_s: float | None = None,
    stacking: str | None = None,
    fit_half_width: int = 2,
    marginal: str | None = None,
    table=None,
    stations: Stations | None = None,
    device: str = "cpu",
    workers: int | None = None,
    return_details: bool = False,
    tolerance=None,
):
    """Locate one event near each of ``times`` (trigger origin times: datetime64 or UTCDateTime).

    For each time ``t``: the origin time is the maximum of the coalescence trace within
    ``t ± search_window_s`` (default: the marginal window); the coalescence volumes of the origin
    times within ``± marginal_window_s`` of it are marginalised over time — ``marginal="sum"``
    (QuakeMigrate's choice, the default for geometric stacking) or ``"max"`` (the default for
    mean stacking: a sum over time of a linear stack hardly depends on the alignment). The
    best node is the maximum of that volume; the sub-grid hypocentre is the vertex of a
    quadratic fitted to its logarithm over ``(2 * fit_half_width + 1)^3``
    nodes (kept within one cell of the node), and the fitted Gaussian gives ``err_*_km``; the
    weighted covariance of the nodes above half the peak gives ``cov_*_km``. The origin time is
    interpolated from the coalescence peak times of the nodes around the best one.

    With the travel-time ``table`` and the ``stations`` (the onsets' rows, in order) the
    sub-grid hypocentre and origin time are then refined continuously: the stack of the
    onsets (linearly interpolated in time) at the exact travel times of
    :func:`seiscore.traveltime.travel_times` is maximised over (x, y, z, origin time) by
    Nelder–Mead, within 1.5 cells of the best node (kept only if it improves the stack).

    ``tolerance`` (samples per station and phase,
    :func:`seiscore.location.detect.grid_tolerance`): the grid search stacks onsets widened by
    it (:func:`seiscore.location.detect.widen`), so that narrow onsets of an event between
    nodes still find the nearest node; the continuous refinement uses the onsets as they are.

    Returns :class:`~seiscore.containers.Locations` (and a list of :class:`LocationDetail` with
    ``return_details=True``).
    """
    tt = _as_tt(tt, onsets)
    if tt.shape[0] != grid.n_nodes:
        raise InputError(f"tt has {tt.shape[0]} nodes, the grid {grid.n_nodes}")
    nworkers = check_workers(workers)
    stacking = stacking or onsets.stacking
    if not marginal_window_s >= 0:
        raise InputError(f"marginal_window_s must be >= 0, got {marginal_window_s}")
    if marginal not in (None, "sum", "max"):
        raise InputError(f"marginal: expected 'sum' or 'max', got {marginal!r}")
    locator = _Locator(
        onsets,
        tt,
        grid,
        stacking=stacking,
        marginal=marginal or ("sum" if stacking == "geometric" else "max"),
        search_s=marginal_window_s if search_window_s is None else search_window_s,
        marginal_window_s=marginal_window_s,
        fit_half_width=fit_half_width,
        table=table,
        stations=stations,
        device=device,
        nworkers=nworkers,
        tolerance=tolerance,
    )
    rows, details = [], []
    # degenerate fits (an edge, one station, flat volumes) give NaN uncertainties, not warnings
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        for k, t in enumerate(_event_times(times)):
            row, detail = locator.event(k, t, return_details)
            rows.append(row)
            if return_details:
                details.append(detail)
    locs = _locations_from_rows(rows)
    return (locs, details) if return_details else locs


def _locations_from_rows(rows) -> Locations:
    if not rows:
        return Locations.empty()
    col = {k: [r[k] for r in rows] for k in rows[0]}
    f32 = (
        "rms_s",
        "coherence",
        "coherence_norm",
        "err_x_km",
        "err_y_km",
        "err_z_km",
        "cov_x_km",
        "cov_y_km",
        "cov_z_km",
        "err_time_s",
    )
    kw = {}
    for k, v in col.items():
        if k == "event_id":
            kw[k] = np.asarray(v, np.int64)
        elif k == "time":
            kw[k] = np.asarray(v, "datetime64[ns]")
        elif k in ("n_p", "n_s"):
            kw[k] = np.asarray(v, np.int32)
        elif k in f32:
            kw[k] = np.asarray(v, np.float32)
        else:
            kw[k] = np.asarray(v, np.float64)
    return Locations(**kw)
