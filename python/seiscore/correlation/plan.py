"""The validated settings of one correlate() run: window grid, processing, stacking, and the
plan that carries them to each day (here or on a Dask worker)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.fft

from ..exceptions import InputError
from ._common import _NS, _positive
from .pairs import CHANNELS, _Network
from .preprocess import _filter_settings, _quality_settings
from .spectra import _smooth_bins, _whitening


@dataclass(frozen=True, eq=False)
class _Plan:
    """Validated settings of one correlate() run (picklable: shipped to Dask workers)."""

    station_ids: tuple
    channels: tuple  # channel letters used (subset of E, N, Z)
    pair_a: np.ndarray  # station index of each pair's source
    pair_b: np.ndarray
    comp_a: np.ndarray  # channel index (into channels) per computed component
    comp_b: np.ndarray
    computed: tuple  # names of the computed (ENZ) components
    sampling_rate: float
    n_win: int
    nfft: int
    max_lag: int
    prep: dict  # keyword arguments of _core.correlation.preprocess, less workers
    whiten_band: object
    smooth_bins: int
    normalize: bool
    methods: tuple
    pws_power: float
    robust_epsilon: float
    robust_max_iter: int
    selective_threshold: float
    keep_rows: bool
    keep_windows: bool
    subsample_shift: bool
    station_complete: bool
    device: str
    workers: int


@dataclass(frozen=True)
class _Grid:
    """Window length, step and lags of a run, in samples at the target rate (or ns)."""

    window_s: float
    overlap: float
    sampling_rate: float
    n_win: int  # samples per window
    step_ns: int  # from one window start to the next
    max_lag: int  # samples
    nfft: int  # FFT length: a fast length >= n_win + max_lag

    @property
    def win_ns(self) -> int:
        return int(round(self.n_win * _NS / self.sampling_rate))

    def attrs(self) -> dict:
        return dict(window_s=self.window_s, overlap=self.overlap, step_s=self.step_ns / _NS)


@dataclass(frozen=True, eq=False)
class _Processing:
    """Validated time- and frequency-domain processing of a run, and the attributes that
    record it in the result."""

    prep: dict  # keyword arguments of _core.correlation.preprocess, less workers
    whiten_band: np.ndarray | None  # four corners (Hz), None: no whitening
    smooth_bins: int
    attrs: dict


def _window_grid(window_s, overlap, max_lag_s, fs: float) -> _Grid:
    window_s = _positive(window_s, "window_s")
    n_win = int(round(window_s * fs))
    if abs(n_win - window_s * fs) > 1e-6 * max(1.0, n_win) or n_win < 2:
        raise InputError(
            f"window_s: {window_s} s is not a whole number (>= 2) of samples at {fs:g} Hz"
        )
    try:
        overlap = float(overlap)
    except (TypeError, ValueError):
        raise InputError(f"overlap: expected a fraction in [0, 1), got {overlap!r}") from None
    if not 0.0 <= overlap < 1.0:
        raise InputError(f"overlap: expected a fraction in [0, 1), got {overlap!r}")
    step_ns = int(round(window_s * (1.0 - overlap) * _NS))
    max_lag = int(round(_positive(max_lag_s, "max_lag_s", allow_zero=True) * fs))
    if max_lag >= n_win:
        raise InputError(f"max_lag_s: {max_lag_s} s is not shorter than the window ({window_s} s)")
    nfft = scipy.fft.next_fast_len(n_win + max_lag, real=True)
    return _Grid(window_s, overlap, fs, n_win, step_ns, max_lag, nfft)


def _processing(
    fs: float,
    nfft: int,
    *,
    freqmin,
    freqmax,
    corners,
    taper,
    detrend,
    temporal_norm,
    ram_window_s,
    clip_factor,
    whiten,
    whiten_band,
    whiten_smooth_hz,
    max_over_std,
    max_flat_s,
) -> _Processing:
    """Check correlate()'s processing arguments (see :func:`preprocess`, :func:`whiten_spectra`)."""
    prep = _filter_settings(
        fs,
        freqmin=freqmin,
        freqmax=freqmax,
        corners=corners,
        zero_phase=True,
        demean=True,
        detrend=detrend,
        taper=taper,
        temporal_norm=temporal_norm,
        ram_window_s=ram_window_s,
        clip_factor=clip_factor,
    )
    band4 = _whitening(whiten, whiten_band, freqmin, freqmax, fs)
    smooth = _smooth_bins(whiten_smooth_hz, fs / nfft)
    prep.update(_quality_settings(max_over_std, max_flat_s, fs))
    code = prep["norm"]
    attrs = dict(
        freqmin=freqmin,
        freqmax=freqmax,
        corners=corners,
        temporal_norm=temporal_norm,
        ram_window_s=(prep["ram_half_width"] * 2 + 1) / fs if code == 2 else None,
        clip_factor=prep["clip_factor"] if code == 3 else None,
        whiten_smooth_hz=whiten_smooth_hz,
        max_over_std=max_over_std,
        max_flat_s=max_flat_s,
    )
    return _Processing(prep, band4, smooth, attrs)


def _stacking(
    methods: tuple,
    normalize: str,
    *,
    pws_power,
    robust_epsilon,
    robust_max_iter,
    selective_threshold,
    keep_windows,
) -> dict:
    """Check correlate()'s stack arguments; returns the stacking fields of the plan."""
    out = dict(
        normalize=normalize == "coefficient",
        methods=methods,
        pws_power=_positive(pws_power, "pws_power", allow_zero=True),
        robust_epsilon=_positive(robust_epsilon, "robust_epsilon", allow_zero=True),
        robust_max_iter=int(robust_max_iter),
        selective_threshold=float(selective_threshold),
        keep_rows=bool(keep_windows) or "robust" in methods or "selective" in methods,
        keep_windows=bool(keep_windows),
    )
    if out["robust_max_iter"] < 0:
        raise InputError(f"robust_max_iter: expected >= 0, got {robust_max_iter}")
    return out


def _make_plan(
    net: _Network,
    computed: tuple,
    grid: _Grid,
    processing: _Processing,
    stacking: dict,
    *,
    rotate: bool,
    subsample_shift: bool,
    device: str,
    workers: int,
) -> _Plan:
    channels = tuple(ch for ch in CHANNELS if any(ch in c for c in computed))
    return _Plan(
        station_ids=tuple(net.ids),
        channels=channels,
        pair_a=net.pair_a,
        pair_b=net.pair_b,
        comp_a=np.array([channels.index(c[0]) for c in computed], np.int64),
        comp_b=np.array([channels.index(c[1]) for c in computed], np.int64),
        computed=computed,
        sampling_rate=grid.sampling_rate,
        n_win=grid.n_win,
        nfft=grid.nfft,
        max_lag=grid.max_lag,
        prep=processing.prep,
        whiten_band=processing.whiten_band,
        smooth_bins=processing.smooth_bins,
        **stacking,
        subsample_shift=bool(subsample_shift),
        station_complete=rotate,
        device=device,
        workers=workers,
    )
