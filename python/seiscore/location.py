"""Location: detect and locate events by migrating onsets over a 3-D grid (coalescence).

The method of MALMI, LOKI and QuakeMigrate: each station's onset functions (phase
probabilities, or STA/LTA characteristic functions) are shifted by the travel times from every
grid node and stacked; a source at a node in space and time makes the stack coherent there.

::

    onsets = onsets_from_annotations(annotations, stations)        # or stalta_onsets(...)
    tt = traveltime.station_grids(table, stations, grid, sampling_rate=onsets.sampling_rate)
    coa = coalescence(onsets, tt)                  # max over nodes per origin time (fused kernel)
    triggers = detect(coa, threshold=2.0, min_separation_s=1.0)
    locations = locate(onsets, tt, grid, triggers.time, marginal_window_s=0.5)

The kernels are ``seiscore._core.location`` (C++, threads, GIL released) and their CUDA twins
``seiscore._cuda.location`` (``device="cuda"``). Stacking:

* ``"mean"`` — coalescence = mean of the onsets over stations and phases (probabilities);
* ``"geometric"`` — QuakeMigrate's: ``exp(mean of log-onsets)``; :func:`stalta_onsets` returns
  log-onsets made for it.

``coherence_norm`` (the normalised coalescence) is the maximum over nodes divided by the mean
over nodes, as in QuakeMigrate.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np

from . import _core, geo
from ._backend import _cuda_module, resolve_device
from ._validate import check_workers
from .containers import Annotations, Grid3D, Locations, Stations, Waveforms, _Columns
from .exceptions import InputError
from .traveltime import StationGrids, check_grid_memory, travel_times

__all__ = [
    "Coalescence",
    "Onsets",
    "Triggers",
    "coalescence",
    "coalescence_volume",
    "detect",
    "locate",
    "onsets_from_annotations",
    "scan",
    "stalta_onsets",
]

log = logging.getLogger("seiscore.location")


# ------------------------------------------------------------------------------------ onsets


@dataclass(eq=False)
class Onsets:
    """Onset functions of a network on one time grid.

    ``data[station, phase, sample]`` float32 (finite; gaps hold a neutral value: 0), sample
    ``i`` at ``starttime + i / sampling_rate``. ``available[station, phase]`` is False for rows
    without data (left out of the stack). ``station_ids`` (``NET.STA.LOC``) and ``phases`` name
    the axes. ``stacking`` is the stacking the values are made for: ``"mean"`` (probabilities)
    or ``"geometric"`` (log-onsets, QuakeMigrate).
    """

    data: np.ndarray
    available: np.ndarray
    starttime: object
    sampling_rate: float
    station_ids: tuple[str, ...]
    phases: tuple[str, ...]
    stacking: str = "mean"

    def __post_init__(self) -> None:
        if self.data.ndim != 3 or self.data.shape[:2] != (len(self.station_ids), len(self.phases)):
            raise InputError(
                f"Onsets: data must be [n_stations={len(self.station_ids)}, n_phases={len(self.phases)}, "
                f"n_samples], got {self.data.shape}"
            )
        if self.available.shape != self.data.shape[:2]:
            raise InputError("Onsets: available must be [n_stations, n_phases]")
        if self.stacking not in ("mean", "geometric"):
            raise InputError(
                f"Onsets: stacking must be 'mean' or 'geometric', got {self.stacking!r}"
            )
        if not self.sampling_rate > 0:
            raise InputError(f"Onsets: sampling_rate must be positive, got {self.sampling_rate}")

    @property
    def n_samples(self) -> int:
        return int(self.data.shape[2])

    def time_of(self, sample) -> object:
        """UTCDateTime of a (fractional) sample index."""
        return self.starttime + float(sample) / self.sampling_rate

    def save(self, path) -> None:
        """Write to ``.npz`` (readable by :meth:`load` and ``seiscore-locate --onsets``)."""
        with open(path, "wb") as f:
            np.savez(
                f,
                data=self.data,
                available=self.available,
                starttime=np.asarray(str(self.starttime)),
                sampling_rate=np.float64(self.sampling_rate),
                station_ids=np.asarray(self.station_ids, dtype=str),
                phases=np.asarray(self.phases, dtype=str),
                stacking=np.asarray(self.stacking),
            )

    @classmethod
    def load(cls, path) -> Onsets:
        from obspy import UTCDateTime

        try:
            with np.load(path, allow_pickle=False) as z:
                d = {k: z[k] for k in z.files}
        except FileNotFoundError:
            raise InputError(f"onset file not found: {path}") from None
        except Exception as exc:
            raise InputError(f"{path}: not an onset file ({exc})") from None
        missing = [
            k for k in ("data", "starttime", "sampling_rate", "station_ids", "phases") if k not in d
        ]
        if missing:
            raise InputError(f"{path}: not an onset file (missing {missing})")
        data = np.ascontiguousarray(d["data"], dtype=np.float32)
        avail = d.get("available", np.ones(data.shape[:2], bool)).astype(bool)
        return cls(
            data=data,
            available=avail,
            starttime=UTCDateTime(str(d["starttime"])),
            sampling_rate=float(d["sampling_rate"]),
            station_ids=tuple(str(s) for s in d["station_ids"]),
            phases=tuple(str(p) for p in d["phases"]),
            stacking=str(d.get("stacking", "mean")),
        )


class _StationMatcher:
    """Row of the station table for a waveform/annotation id ``NET.STA.LOC``: the exact id, else
    the only row with that network and station (any location), else — for tables without
    network codes (e.g. QuakeMigrate station files) — the only row with that station code."""

    def __init__(self, stations: Stations):
        self.exact = {sid: i for i, sid in enumerate(stations.ids)}
        self.by_ns: dict[tuple[str, str], list[int]] = {}
        self.by_s: dict[str, list[int]] = {}
        for i, (n, sta) in enumerate(zip(stations.network, stations.station, strict=False)):
            self.by_ns.setdefault((str(n), str(sta)), []).append(i)
            if not str(n):
                self.by_s.setdefault(str(sta), []).append(i)

    def get(self, sid: str) -> int | None:
        if sid in self.exact:
            return self.exact[sid]
        net, sta, _ = (sid.split(".") + ["", ""])[:3]
        rows = self.by_ns.get((net, sta)) or self.by_s.get(sta) or []
        return rows[0] if len(rows) == 1 else None


def onsets_from_annotations(annotations, stations: Stations, *, phases=("P", "S")) -> Onsets:
    """Phase probabilities (from :func:`seiscore.picking.annotate`) as onsets for mean stacking.

    The annotations are placed on one time grid from the earliest start to the latest end (all
    must share one sampling rate, and start on that grid to within a hundredth of a sample);
    rows follow ``stations`` (stations without annotations are marked unavailable). NaN
    (gaps) and samples outside an annotation become 0.
    """
    items = [annotations] if isinstance(annotations, Annotations) else list(annotations)
    if not items:
        raise InputError("onsets_from_annotations: no annotations")
    rates = {float(a.sampling_rate) for a in items}
    if len(rates) != 1:
        raise InputError(
            f"onsets_from_annotations: annotations have different sampling rates {sorted(rates)}"
        )
    fs = rates.pop()
    index = _StationMatcher(stations)
    phases = tuple(phases)
    start = min(a.starttime for a in items)
    end = max(a.starttime + (a.n_samples - 1) / fs for a in items)
    n = int(round((end - start) * fs)) + 1
    data = np.zeros((len(stations), len(phases), n), np.float32)
    avail = np.zeros((len(stations), len(phases)), bool)
    unknown = []
    for a in items:
        s = index.get(a.id)
        if s is None:
            unknown.append(a.id)
            continue
        off = (a.starttime - start) * fs
        k0 = int(round(off))
        if abs(off - k0) > 0.01:
            raise InputError(
                f"{a.id}: annotation starts {off - k0:+.3f} samples off the common time grid"
            )
        for p, ph in enumerate(phases):
            if ph not in a.phases:
                continue
            row = np.nan_to_num(a.prob[a.phases.index(ph)].astype(np.float32), nan=0.0)
            data[s, p, k0 : k0 + len(row)] = np.maximum(data[s, p, k0 : k0 + len(row)], row)
            avail[s, p] = True
    if unknown:
        log.warning(
            "annotations for stations not in the station table are ignored: %s",
            sorted(set(unknown)),
        )
    if not avail.any():
        raise InputError(
            "onsets_from_annotations: no annotation matches a station of the table or a phase "
            f"{list(phases)}"
        )
    return Onsets(data, avail, start, fs, tuple(stations.ids), phases, stacking="mean")


def _sta_lta_centred(x: np.ndarray, nsta: int, nlta: int) -> np.ndarray:
    """STA of x^2 over the nsta samples from i on, over the LTA of the nlta samples up to i."""
    e = np.concatenate(([0.0], np.cumsum(x.astype(np.float64) ** 2)))
    n = len(x)
    i = np.arange(n)
    sta = np.zeros(n)
    lta = np.zeros(n)
    ok_s = i + nsta <= n
    sta[ok_s] = (e[i[ok_s] + nsta] - e[i[ok_s]]) / nsta
    ok_l = i + 1 >= nlta
    lta[ok_l] = (e[i[ok_l] + 1] - e[i[ok_l] + 1 - nlta]) / nlta
    out = np.zeros(n)
    good = ok_s & ok_l & (lta > np.finfo(float).tiny)
    out[good] = sta[good] / lta[good]
    return out


def stalta_onsets(
    waveforms,
    stations: Stations,
    *,
    sampling_rate: float | None = None,
    bandpass=None,
    windows=None,
    position: str = "classic",
    channels=None,
    log_onsets: bool = True,
) -> Onsets:
    """Classic STA/LTA onset functions, QuakeMigrate's recipe, for ``"geometric"`` stacking.

    Per station and phase: take the phase's components (default P: ``Z``; S: ``N`` and ``E``),
    resample to ``sampling_rate`` (decimation when the ratio is an integer), detrend, 5 % cosine
    taper, zero-phase Butterworth band-pass ``bandpass[phase] = (fmin, fmax, corners)``, then the
    STA/LTA of the squared signal with ``windows[phase] = (sta_s, lta_s)`` (window lengths in
    samples: ``round(seconds * rate) + 1``): ``position="classic"`` (ObsPy's
    ``classic_sta_lta``: both windows end at the sample) or ``"centred"`` (the STA window starts
    at the sample, the LTA window ends there). The onset is ``log(max(1 + STA/LTA, 0.8))``
    (``log_onsets=False``: without the log), combined over components as the root mean square.

    Defaults: bandpass 2–16 Hz, 2 corners; windows P (0.2, 1.0) s, S (0.2, 1.0) s.
    """
    from obspy import Trace
    from obspy.signal.trigger import classic_sta_lta

    items = [waveforms] if isinstance(waveforms, Waveforms) else list(waveforms)
    if not items:
        raise InputError("stalta_onsets: no waveforms")
    if position not in ("classic", "centred"):
        raise InputError(f"position: expected 'classic' or 'centred', got {position!r}")
    phases = ("P", "S")
    bandpass = {"P": (2.0, 16.0, 2), "S": (2.0, 16.0, 2), **(bandpass or {})}
    windows = {"P": (0.2, 1.0), "S": (0.2, 1.0), **(windows or {})}
    channels = {"P": ("Z",), "S": ("N", "E"), **(channels or {})}
    fs = float(sampling_rate or items[0].sampling_rate)
    for ph in phases:
        lo, hi, _ = bandpass[ph]
        if not 0 < lo < hi < 0.5 * fs:
            raise InputError(
                f"bandpass for {ph}: need 0 < fmin < fmax < Nyquist ({0.5 * fs:g} Hz), got {lo}, {hi}"
            )
    index = _StationMatcher(stations)
    start = min(w.starttime for w in items)
    end = max(w.endtime for w in items)
    n = int(math.floor((end - start) * fs + 1e-6)) + 1
    data = np.zeros((len(stations), 2, n), np.float32)
    avail = np.zeros((len(stations), 2), bool)
    for w in items:
        s = index.get(w.id)
        if s is None:
            log.warning("%s: not in the station table; skipped", w.id)
            continue
        for p, ph in enumerate(phases):
            comps = [
                c for c in channels[ph] if c in w.components and w.present[w.components.index(c)]
            ]
            if not comps:
                continue
            nsta = int(round(windows[ph][0] * fs)) + 1
            nlta = int(round(windows[ph][1] * fs)) + 1
            rows = []
            for comp in comps:
                x = w.data[w.components.index(comp)].astype(np.float64)
                if not np.isfinite(x).all():
                    x = np.nan_to_num(x - np.nanmean(x), nan=0.0)
                tr = Trace(x, header={"sampling_rate": w.sampling_rate, "starttime": w.starttime})
                ratio = w.sampling_rate / fs
                if abs(ratio - round(ratio)) < 1e-9 and round(ratio) > 1:
                    tr.decimate(int(round(ratio)), no_filter=False)
                elif abs(ratio - 1) > 1e-9:
                    tr.resample(fs)
                tr.detrend("linear")
                tr.detrend("constant")
                tr.taper(type="cosine", max_percentage=0.05)
                lo, hi, corners = bandpass[ph]
                tr.filter("bandpass", freqmin=lo, freqmax=hi, corners=int(corners), zerophase=True)
                y = tr.data.astype(np.float64)
                r = (
                    classic_sta_lta(y, nsta, nlta)
                    if position == "classic"
                    else _sta_lta_centred(y, nsta, nlta)
                )
                r = np.clip(1.0 + r, 0.8, np.inf)
                rows.append((np.log(r) if log_onsets else r, tr.stats.starttime))
            k0 = int(round((rows[0][1] - start) * fs))
            onset = np.sqrt(np.mean([r[0] ** 2 for r in rows], axis=0))
            m = min(len(onset), n - k0)
            data[s, p, k0 : k0 + m] = onset[:m]
            avail[s, p] = True
    if not avail.any():
        raise InputError("stalta_onsets: no waveform matches a station of the table")
    return Onsets(
        data,
        avail,
        start,
        fs,
        tuple(stations.ids),
        phases,
        stacking="geometric" if log_onsets else "mean",
    )


# ------------------------------------------------------------------------------------ kernels


def _as_tt(tt, onsets: Onsets) -> np.ndarray:
    """Travel-time sample offsets [n_nodes, n_stations, n_phases] matching the onsets."""
    if isinstance(tt, StationGrids):
        if tt.sampling_rate is None or abs(tt.sampling_rate - onsets.sampling_rate) > 1e-9:
            raise InputError(
                f"travel-time grids hold {'seconds' if tt.sampling_rate is None else f'samples at {tt.sampling_rate:g} Hz'}"
                f", the onsets are at {onsets.sampling_rate:g} Hz; compute them with sampling_rate="
                f"{onsets.sampling_rate:g}"
            )
        if tuple(tt.phases) != tuple(onsets.phases):
            raise InputError(
                f"travel-time grids hold phases {list(tt.phases)}, onsets {list(onsets.phases)}"
            )
        arr = tt.select_stations(onsets.station_ids)
    else:
        arr = np.asarray(tt)
    if arr.dtype.kind == "f":
        raise InputError(
            "tt: expected int32 sample offsets (station_grids(..., sampling_rate=onsets.sampling_rate))"
        )
    expect = (len(onsets.station_ids), len(onsets.phases))
    if arr.ndim != 3 or arr.shape[1:] != expect:
        raise InputError(f"tt: expected shape [n_nodes, {expect[0]}, {expect[1]}], got {arr.shape}")
    return np.ascontiguousarray(arr, dtype=np.int32)


def _kernel(device: str):
    dev = resolve_device(device)
    return (_cuda_module().location, 0) if dev == "cuda" else (_core.location, None)


def _origin_range(onsets: Onsets, tt: np.ndarray) -> tuple[int, int]:
    act = onsets.available
    if not act.any():
        raise InputError("no available onsets")
    sub = tt[:, act]
    tmin, tmax = int(sub.min()), int(sub.max())
    first = max(0, -tmin)
    last = onsets.n_samples - 1 - tmax
    return first, last


@dataclass(eq=False)
class Coalescence:
    """Maximum coalescence over the grid per origin time.

    Sample ``i`` is origin time ``starttime + i / sampling_rate``; ``max_coa[i]`` the maximum over
    nodes, ``norm_coa[i]`` that maximum over the mean over nodes, ``max_node[i]`` its node.
    """

    starttime: object
    sampling_rate: float
    max_coa: np.ndarray
    norm_coa: np.ndarray
    max_node: np.ndarray
    first_sample: int = 0  # index of sample 0 in the onsets' time grid

    def times(self) -> np.ndarray:
        """Origin times as datetime64[ns]."""
        t0 = np.datetime64(self.starttime.ns, "ns")
        return t0 + np.round(np.arange(len(self.max_coa)) * (1e9 / self.sampling_rate)).astype(
            "timedelta64[ns]"
        )


def coalescence(
    onsets: Onsets,
    tt,
    *,
    starttime=None,
    endtime=None,
    stacking: str | None = None,
    device: str = "cpu",
    workers: int | None = None,
) -> Coalescence:
    """The maximum coalescence over the grid for every origin time the onsets cover.

    Origin times run from where every travel time lands inside the onsets to where the longest
    travel time reaches their end (optionally cut to ``starttime``/``endtime``). ``tt`` is
    ``[n_nodes, n_stations, n_phases]`` int32 samples at the onsets' rate (from
    :func:`seiscore.traveltime.station_grids`) or a :class:`~seiscore.traveltime.StationGrids`.
    The 4-D coalescence is never stored (fused kernel).
    """
    tt = _as_tt(tt, onsets)
    nworkers = check_workers(workers)
    stacking = stacking or onsets.stacking
    first, last = _origin_range(onsets, tt)
    fs = onsets.sampling_rate
    if starttime is not None:
        first = max(first, int(math.ceil((starttime - onsets.starttime) * fs - 1e-9)))
    if endtime is not None:
        last = min(last, int(math.floor((endtime - onsets.starttime) * fs + 1e-9)))
    n_out = last - first + 1
    if n_out <= 0:
        span = (tt[:, onsets.available].max() - tt[:, onsets.available].min()) / fs
        raise InputError(
            f"onsets too short: {onsets.n_samples / fs:.2f} s of onsets do not cover the {span:.2f} s "
            "spread of travel times across the grid (plus the requested window)"
        )
    mod, dev = _kernel(device)
    active = np.ascontiguousarray(onsets.available, dtype=np.uint8)
    data = np.ascontiguousarray(onsets.data, dtype=np.float32)
    out = mod.migrate_max(
        data, tt, active, first, n_out, stacking, dev if dev is not None else nworkers
    )
    return Coalescence(
        onsets.time_of(first), fs, out["max_coa"], out["norm_coa"], out["max_node"], first
    )


def coalescence_volume(
    onsets: Onsets,
    tt,
    first_sample: int,
    n_samples: int = 1,
    *,
    stacking: str | None = None,
    device: str = "cpu",
    workers: int | None = None,
) -> np.ndarray:
    """Coalescence of every node for ``n_samples`` origin times from onset sample
    ``first_sample``: ``[n_samples, n_nodes]`` float32 (reshape a row to ``grid.shape``)."""
    tt = _as_tt(tt, onsets)
    nworkers = check_workers(workers)
    check_grid_memory(tt.shape[0], int(n_samples), 1, 4, what="coalescence volume")
    mod, dev = _kernel(device)
    try:
        return mod.migrate_map(
            np.ascontiguousarray(onsets.data, dtype=np.float32),
            tt,
            np.ascontiguousarray(onsets.available, dtype=np.uint8),
            int(first_sample),
            int(n_samples),
            stacking or onsets.stacking,
            dev if dev is not None else nworkers,
        )
    except ValueError as exc:
        raise InputError(f"coalescence_volume: {exc}") from None


# ------------------------------------------------------------------------------------ detection


@dataclass(eq=False)
class Triggers(_Columns):
    """Candidate events from :func:`detect`: ``time`` (datetime64[ns], peak origin time),
    ``sample`` (int64, index in the coalescence trace), ``coherence`` and ``coherence_norm``
    (float32, at the peak), ``node`` (int64, the maximum's grid node)."""

    time: np.ndarray
    sample: np.ndarray
    coherence: np.ndarray
    coherence_norm: np.ndarray
    node: np.ndarray


def detect(
    coa: Coalescence, threshold: float, *, min_separation_s: float = 1.0, normalised: bool = True
) -> Triggers:
    """Triggers on the coalescence trace: peaks above ``threshold`` (of the normalised trace, or
    of the raw maximum with ``normalised=False``), at least ``min_separation_s`` apart (the
    highest wins, as :func:`scipy.signal.find_peaks` with ``distance``)."""
    from scipy.signal import find_peaks

    if not (math.isfinite(threshold)):
        raise InputError(f"threshold must be finite, got {threshold}")
    if not min_separation_s >= 0:
        raise InputError(f"min_separation_s must be >= 0, got {min_separation_s}")
    x = np.asarray(coa.norm_coa if normalised else coa.max_coa, dtype=np.float64)
    dist = max(1, int(math.ceil(min_separation_s * coa.sampling_rate)))
    padded = np.concatenate(([-np.inf], x, [-np.inf]))  # maxima at the trace ends count
    peaks, _ = find_peaks(padded, height=threshold, distance=dist)
    peaks = peaks - 1
    times = coa.times()[peaks] if len(peaks) else np.array([], dtype="datetime64[ns]")
    return Triggers(
        time=times,
        sample=peaks.astype(np.int64),
        coherence=coa.max_coa[peaks].astype(np.float32),
        coherence_norm=coa.norm_coa[peaks].astype(np.float32),
        node=coa.max_node[peaks].astype(np.int64),
    )


# ------------------------------------------------------------------------------------ location


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
):
    """Locate one event near each of ``times`` (trigger origin times: datetime64 or UTCDateTime).

    For each time ``t``: the origin time is the maximum of the coalescence trace within
    ``t ± search_window_s`` (default: the marginal window); the coalescence volumes of the origin
    times within ``± marginal_window_s`` of it are marginalised over time — ``marginal="sum"``
    (QuakeMigrate's choice, the default for geometric stacking) or ``"max"`` (the default for
    mean stacking: a sum over time of a linear stack hardly depends on the alignment). The
    best node is the maximum of that volume; the sub-grid hypocentre is the vertex of a quadratic fitted to its logarithm over ``(2 * fit_half_width + 1)^3``
    nodes (kept within one cell of the node), and the fitted Gaussian gives ``err_*_km``; the
    weighted covariance of the nodes above half the peak gives ``cov_*_km``. The origin time is
    interpolated from the coalescence peak times of the nodes around the best one.

    With the travel-time ``table`` and the ``stations`` (the onsets' rows, in order) the
    sub-grid hypocentre and origin time are then refined continuously: the stack of the
    onsets (linearly interpolated in time) at the exact travel times of
    :func:`seiscore.traveltime.travel_times` is maximised over (x, y, z, origin time) by
    Nelder–Mead, within 1.5 cells of the best node (kept only if it improves the stack).

    Returns :class:`~seiscore.containers.Locations` (and a list of :class:`LocationDetail` with
    ``return_details=True``).
    """
    from obspy import UTCDateTime

    tt = _as_tt(tt, onsets)
    if tt.shape[0] != grid.n_nodes:
        raise InputError(f"tt has {tt.shape[0]} nodes, the grid {grid.n_nodes}")
    nworkers = check_workers(workers)
    stacking = stacking or onsets.stacking
    fs = onsets.sampling_rate
    if not marginal_window_s >= 0:
        raise InputError(f"marginal_window_s must be >= 0, got {marginal_window_s}")
    if marginal not in (None, "sum", "max"):
        raise InputError(f"marginal: expected 'sum' or 'max', got {marginal!r}")
    search = marginal_window_s if search_window_s is None else search_window_s
    first_ok, last_ok = _origin_range(onsets, tt)
    mod, dev = _kernel(device)
    arg = dev if dev is not None else nworkers
    data = np.ascontiguousarray(onsets.data, dtype=np.float32)
    active = np.ascontiguousarray(onsets.available, dtype=np.uint8)
    n_p = (
        int(onsets.available[:, list(onsets.phases).index("P")].sum())
        if "P" in onsets.phases
        else 0
    )
    n_s = (
        int(onsets.available[:, list(onsets.phases).index("S")].sum())
        if "S" in onsets.phases
        else 0
    )
    rows, details = [], []
    if isinstance(times, (np.ndarray, list, tuple)):
        items = list(np.atleast_1d(times))
    else:
        items = [times]
    for k, t in enumerate(items):
        if isinstance(t, np.datetime64):
            t = UTCDateTime(ns=int(t.astype("datetime64[ns]").astype(np.int64)))
        centre = int(round((t - onsets.starttime) * fs))
        half_s = int(math.ceil(search * fs))
        half_m = int(math.ceil(marginal_window_s * fs))
        a, b = max(first_ok, centre - half_s), min(last_ok, centre + half_s)
        if b < a:
            raise InputError(f"event {k} at {t}: outside the origin times the onsets cover")
        out = mod.migrate_max(data, tt, active, a, b - a + 1, stacking, arg)
        i_best = int(np.argmax(out["max_coa"]))
        t0 = a + i_best
        lo, hi = max(first_ok, t0 - half_m), min(last_ok, t0 + half_m)
        vols = mod.migrate_map(data, tt, active, lo, hi - lo + 1, stacking, arg)
        how = marginal or ("sum" if stacking == "geometric" else "max")
        if how == "sum":
            vol = vols.sum(axis=0, dtype=np.float64).reshape(grid.shape)
        else:
            vol = vols.max(axis=0).astype(np.float64).reshape(grid.shape)
        node = int(np.argmax(vol))
        ijk = np.unravel_index(node, grid.shape)
        node_xyz = grid.node_xyz(node)
        fit = _quadratic_fit(vol, ijk, grid.spacing_km, fit_half_width)
        if fit is not None:
            off = np.clip(fit[0], -np.asarray(grid.spacing_km), np.asarray(grid.spacing_km))
            err = np.sqrt(np.clip(np.diag(fit[1]), 0, None))
        else:
            off, err = np.zeros(3), np.full(3, np.nan)
        xyz = node_xyz + off
        cov = _covariance_errors(vol, grid)
        # origin time: the peak time of each node's coalescence around the best node, a plane
        # through them, evaluated at the sub-grid hypocentre
        trace = vols[:, node].astype(np.float64)
        peak_t = _peak_time(trace)
        origin_sample = lo + _origin_at(vols, grid, ijk, off, peak_t)
        above = trace - trace.min()
        err_t = (
            math.sqrt((above * ((np.arange(len(trace)) - peak_t) / fs) ** 2).sum() / above.sum())
            if above.sum() > 0
            else math.nan
        )
        if table is not None:
            xyz, origin_sample = _refine_continuous(
                onsets, table, stations, grid, node_xyz, xyz, origin_sample, stacking
            )
        lat, lon = geo.unproject(xyz[0], xyz[1], *grid.reference)
        origin = onsets.time_of(origin_sample)
        rows.append(
            dict(
                event_id=k,
                time=np.datetime64(origin.ns, "ns"),
                latitude=float(lat),
                longitude=float(lon),
                depth_km=float(xyz[2]),
                x_km=float(xyz[0]),
                y_km=float(xyz[1]),
                n_p=n_p,
                n_s=n_s,
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
        )
        if return_details:
            details.append(
                LocationDetail(
                    vol / vol.max() if vol.max() > 0 else vol, node, origin_sample, lo, trace
                )
            )
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


def scan(
    onsets: Onsets,
    tt,
    grid: Grid3D,
    *,
    threshold: float,
    min_separation_s: float = 1.0,
    marginal_window_s: float = 0.5,
    normalised: bool = True,
    starttime=None,
    endtime=None,
    table=None,
    stations: Stations | None = None,
    device: str = "cpu",
    workers: int | None = None,
    return_details: bool = False,
):
    """:func:`coalescence` + :func:`detect` + :func:`locate` over continuous onsets.

    Returns ``(locations, coalescence, triggers)`` (plus the details with ``return_details``).
    Event ids are the trigger order.
    """
    coa = coalescence(
        onsets, tt, starttime=starttime, endtime=endtime, device=device, workers=workers
    )
    trig = detect(coa, threshold, min_separation_s=min_separation_s, normalised=normalised)
    if len(trig) == 0:
        locs, details = Locations.empty(), []
    else:
        locs, details = locate(
            onsets,
            tt,
            grid,
            trig.time,
            marginal_window_s=marginal_window_s,
            table=table,
            stations=stations,
            device=device,
            workers=workers,
            return_details=True,
        )
    if return_details:
        return locs, coa, trig, details
    return locs, coa, trig
