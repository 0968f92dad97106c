"""Onset functions: the :class:`Onsets` container, phase probabilities as onsets
(:func:`onsets_from_annotations`) and QuakeMigrate's STA/LTA onsets (:func:`stalta_onsets`)."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np

from ..containers import Annotations, Stations, Waveforms
from ..exceptions import InputError

__all__ = ["Onsets", "onsets_from_annotations", "stalta_onsets"]

log = logging.getLogger("seiscore.location")


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
                f"Onsets: data must be [n_stations={len(self.station_ids)}, "
                f"n_phases={len(self.phases)}, n_samples], got {self.data.shape}"
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


# ------------------------------------------------------------------------ from annotations


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
        k0 = _grid_offset(a, start, fs)
        for p, ph in enumerate(phases):
            if ph not in a.phases:
                continue
            row = np.nan_to_num(a.prob[a.phases.index(ph)].astype(np.float32), nan=0.0)
            data[s, p, k0 : k0 + len(row)] = np.maximum(data[s, p, k0 : k0 + len(row)], row)
            avail[s, p] = True
    if unknown:
        log.warning(
            "annotations for stations not in the station table are ignored: %s", sorted(unknown)
        )
    if not avail.any():
        raise InputError(
            "onsets_from_annotations: no annotation matches a station of the table or a phase "
            f"{list(phases)}"
        )
    return Onsets(data, avail, start, fs, tuple(stations.ids), phases, stacking="mean")


def _grid_offset(annotation, start, fs: float) -> int:
    """Sample of the common time grid where an annotation starts (it must start on the grid)."""
    off = (annotation.starttime - start) * fs
    k0 = int(round(off))
    if abs(off - k0) > 0.01:
        raise InputError(
            f"{annotation.id}: annotation starts {off - k0:+.3f} samples off the common time grid"
        )
    return k0


# ------------------------------------------------------------------------------- STA/LTA


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


@dataclass(frozen=True)
class _StaLtaRecipe:
    """The settings of :func:`stalta_onsets`, completed with the defaults and checked."""

    fs: float
    bandpass: dict
    windows: dict
    channels: dict
    position: str
    log_onsets: bool

    def window_samples(self, phase: str) -> tuple[int, int]:
        """(nsta, nlta): window lengths in samples, ``round(seconds * rate) + 1``."""
        sta_s, lta_s = self.windows[phase]
        return int(round(sta_s * self.fs)) + 1, int(round(lta_s * self.fs)) + 1

    def taper_s(self, phase: str) -> float:
        """Longest cosine taper at each end (s): twice the LTA window, at least 1 s (the taper
        is 5 % of the record up to that)."""
        return max(1.0, 2.0 * float(self.windows[phase][1]))


def _stalta_recipe(
    fs: float, bandpass, windows, channels, position: str, log_onsets: bool
) -> _StaLtaRecipe:
    if position not in ("classic", "centred"):
        raise InputError(f"position: expected 'classic' or 'centred', got {position!r}")
    bandpass = {"P": (2.0, 16.0, 2), "S": (2.0, 16.0, 2), **(bandpass or {})}
    windows = {"P": (0.2, 1.0), "S": (0.2, 1.0), **(windows or {})}
    channels = {"P": ("Z",), "S": ("N", "E"), **(channels or {})}
    for ph in ("P", "S"):
        lo, hi, _ = bandpass[ph]
        if not 0 < lo < hi < 0.5 * fs:
            raise InputError(
                f"bandpass for {ph}: need 0 < fmin < fmax < Nyquist ({0.5 * fs:g} Hz), "
                f"got {lo}, {hi}"
            )
    return _StaLtaRecipe(fs, bandpass, windows, channels, position, log_onsets)


def _stalta_component(w: Waveforms, comp: str, phase: str, recipe: _StaLtaRecipe):
    """One component's onset (log of the clipped 1 + STA/LTA) and the start time of its samples."""
    from obspy import Trace
    from obspy.signal.trigger import classic_sta_lta

    fs = recipe.fs
    x = w.data[w.components.index(comp)].astype(np.float64)
    gaps = ~np.isfinite(x)
    if gaps.any():
        x = np.nan_to_num(x - np.nanmean(x), nan=0.0)
    tr = Trace(x, header={"sampling_rate": w.sampling_rate, "starttime": w.starttime})
    ratio = w.sampling_rate / fs
    if abs(ratio - round(ratio)) < 1e-9 and round(ratio) > 1:
        tr.decimate(int(round(ratio)), no_filter=False)
    elif abs(ratio - 1) > 1e-9:
        tr.resample(fs)
    tr.detrend("linear")
    tr.detrend("constant")
    tr.taper(type="cosine", max_percentage=0.05, max_length=recipe.taper_s(phase))
    lo, hi, corners = recipe.bandpass[phase]
    tr.filter("bandpass", freqmin=lo, freqmax=hi, corners=int(corners), zerophase=True)
    y = tr.data.astype(np.float64)
    nsta, nlta = recipe.window_samples(phase)
    r = (
        classic_sta_lta(y, nsta, nlta)
        if recipe.position == "classic"
        else _sta_lta_centred(y, nsta, nlta)
    )
    r = np.clip(1.0 + r, 0.8, np.inf)
    onset = np.log(r) if recipe.log_onsets else r
    onset[_unreliable(len(onset), gaps, w.sampling_rate, recipe, phase)] = np.nan
    return onset, tr.stats.starttime


def _unreliable(n: int, gaps: np.ndarray, rate: float, recipe: _StaLtaRecipe, phase: str):
    """Onset samples the STA/LTA cannot be trusted at (NaN, made neutral by the caller): the
    tapered ends of the record, the first LTA window (still filling), and each gap with the
    STA before it and the LTA after it (a signal after zeros looks like an onset)."""
    nsta, nlta = recipe.window_samples(phase)
    n_taper = min(n, int(math.ceil(min(0.05 * n / recipe.fs, recipe.taper_s(phase)) * recipe.fs)))
    bad = np.zeros(n, bool)
    bad[: min(n, n_taper + nlta)] = True
    bad[max(0, n - n_taper) :] = True
    if gaps.any():
        k = np.minimum((np.arange(n) * (rate / recipe.fs)).round().astype(np.int64), len(gaps) - 1)
        g = np.flatnonzero(gaps[k])
        for lo, hi in zip(g - nsta, g + nlta + nsta, strict=True):
            bad[max(0, lo) : min(n, hi + 1)] = True
    return bad


def _neutral_filled(onset: np.ndarray) -> np.ndarray:
    """The onset with its unreliable (NaN) samples set to its median elsewhere: neutral in
    the stack (its background level)."""
    bad = ~np.isfinite(onset)
    if bad.any():
        onset = onset.copy()
        onset[bad] = np.median(onset[~bad]) if (~bad).any() else 0.0
    return onset


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
    The taper is 5 % of the record at each end but at most twice the LTA window (at least 1 s).
    Where the STA/LTA means nothing — the tapered ends, the first LTA window, gaps (with the STA
    before and the LTA after them) — the onset is set to its median (neutral in the stack).

    Defaults: bandpass 2–16 Hz, 2 corners; windows P (0.2, 1.0) s, S (0.2, 1.0) s.
    """
    items = [waveforms] if isinstance(waveforms, Waveforms) else list(waveforms)
    if not items:
        raise InputError("stalta_onsets: no waveforms")
    fs = float(sampling_rate or items[0].sampling_rate)
    recipe = _stalta_recipe(fs, bandpass, windows, channels, position, log_onsets)
    phases = ("P", "S")
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
                c
                for c in recipe.channels[ph]
                if c in w.components and w.present[w.components.index(c)]
            ]
            if not comps:
                continue
            rows = [_stalta_component(w, comp, ph, recipe) for comp in comps]
            k0 = int(round((rows[0][1] - start) * fs))
            onset = np.sqrt(np.mean([r[0] ** 2 for r in rows], axis=0))
            m = min(len(onset), n - k0)
            data[s, p, k0 : k0 + m] = _neutral_filled(onset[:m])
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
