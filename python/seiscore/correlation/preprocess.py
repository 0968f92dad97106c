"""Time-domain steps: quality checks, detrend, taper, band-pass and temporal normalisation of
windows (:func:`preprocess`), and anti-alias decimation of records (:func:`decimate`)."""

from __future__ import annotations

import numpy as np
import scipy.signal

from .. import _core
from .._validate import as_float32_array, check_workers
from ..exceptions import InputError
from ._common import _positive

TEMPORAL_NORMS = {"none": 0, "onebit": 1, "ram": 2, "clip": 3}


def preprocess(
    x,
    sampling_rate: float,
    *,
    freqmin: float | None = None,
    freqmax: float | None = None,
    corners: int = 4,
    zero_phase: bool = True,
    demean: bool = True,
    detrend: bool = True,
    taper: float = 0.05,
    temporal_norm: str = "none",
    ram_window_s: float | None = None,
    clip_factor: float = 3.0,
    max_over_std: float | None = None,
    max_flat_s: float | None = None,
    inplace: bool = False,
    workers: int | None = None,
):
    """Quality-check and prepare windows for correlation (the time-domain steps).

    Parameters
    ----------
    x : array_like, shape ``[n_windows, n_samples]``
        Windows of one or many stations (float32 is used in place with ``inplace=True``; other
        real dtypes are converted to float32, a copy). NaN marks missing samples.
    sampling_rate : float
        Samples per second.
    freqmin, freqmax : float, optional
        Butterworth band-pass corners in Hz (``corners`` poles each side, as
        ``scipy.signal.iirfilter(..., btype="band", output="sos")``, ObsPy's ``bandpass``); only
        ``freqmin``: high-pass; only ``freqmax``: low-pass. ``freqmax`` must be below Nyquist.
    zero_phase : bool
        Filter forwards and backwards (ObsPy's ``zerophase=True``: no padding, zero initial state).
    demean, detrend : bool
        Remove the mean / the least-squares line (``detrend`` implies ``demean``).
    taper : float
        Hann taper fraction at each end, in [0, 0.5] (ObsPy's ``taper(taper, type="hann")``).
    temporal_norm : ``"none" | "onebit" | "ram" | "clip"``
        After filtering: sign of the samples; division by the running absolute mean over
        ``ram_window_s`` seconds (centred, ``2 * round(ram_window_s * sampling_rate / 2) + 1``
        samples, truncated at the ends); or clipping at ``clip_factor`` times the RMS.
    max_over_std : float, optional
        Skip (status 3, "spike") a window whose largest deviation from its mean exceeds this many
        standard deviations.
    max_flat_s : float, optional
        Skip (status 2, "flat") a window holding a run of identical samples this long (seconds);
        zero-variance windows are always "flat".
    inplace : bool
        Modify ``x`` (a writable float32 array with contiguous rows) instead of a copy.
    workers : int, optional
        Threads (default: all cores).

    Returns
    -------
    (windows, status) : (float32 ndarray ``[n_windows, n_samples]``, int8 ndarray ``[n_windows]``)
        ``status`` 0 = processed, 1 = gap (a NaN sample), 2 = flat, 3 = spike; skipped rows are
        returned unchanged.
    """
    arr = as_float32_array(x, "x", 2, "[n_windows, n_samples]")
    if arr.shape[1] < 1:
        raise InputError("x: windows need at least one sample")
    if inplace:
        if arr is not x or not arr.flags.writeable or (arr.shape[1] > 1 and arr.strides[1] != 4):
            raise InputError("x: inplace=True needs a writable float32 array with contiguous rows")
    else:
        arr = np.array(arr, dtype=np.float32, order="C", copy=True)
    fs = _positive(sampling_rate, "sampling_rate")
    settings = _filter_settings(
        fs,
        freqmin=freqmin,
        freqmax=freqmax,
        corners=corners,
        zero_phase=zero_phase,
        demean=demean,
        detrend=detrend,
        taper=taper,
        temporal_norm=temporal_norm,
        ram_window_s=ram_window_s,
        clip_factor=clip_factor,
    )
    settings.update(_quality_settings(max_over_std, max_flat_s, fs))
    status = _core.correlation.preprocess(arr, **settings, workers=check_workers(workers))
    return arr, status


def _filter_settings(
    fs,
    *,
    freqmin,
    freqmax,
    corners,
    zero_phase,
    demean,
    detrend,
    taper,
    temporal_norm,
    ram_window_s,
    clip_factor,
) -> dict:
    """Validated keyword arguments of ``_core.correlation.preprocess`` for the processing steps
    (detrend, taper, filter, temporal normalisation)."""
    sos = _bandpass_sos(freqmin, freqmax, corners, fs)
    code, ram_half, clip = _temporal_norm_args(
        temporal_norm, ram_window_s, clip_factor, freqmin, fs
    )
    if not (0.0 <= float(taper) <= 0.5):
        raise InputError(f"taper: expected a fraction in [0, 0.5], got {taper!r}")
    return dict(
        demean=bool(demean),
        detrend=bool(detrend),
        taper=float(taper),
        sos=sos,
        zero_phase=bool(zero_phase),
        norm=code,
        ram_half_width=ram_half,
        clip_factor=clip,
    )


def _quality_settings(max_over_std, max_flat_s, fs) -> dict:
    """Validated keyword arguments of ``_core.correlation.preprocess`` for the glitch tests."""
    return dict(
        max_over_std=0.0 if max_over_std is None else _positive(max_over_std, "max_over_std"),
        max_flat=_flat_samples(max_flat_s, fs),
    )


def _bandpass_sos(freqmin, freqmax, corners, fs) -> np.ndarray:
    if freqmin is None and freqmax is None:
        return np.zeros((0, 6))
    nyq = 0.5 * fs
    if (
        not isinstance(corners, (int, np.integer))
        or isinstance(corners, bool)
        or not 1 <= corners <= 12
    ):
        raise InputError(
            f"corners: expected an integer number of poles in [1, 12], got {corners!r}"
        )
    lo = None if freqmin is None else _positive(freqmin, "freqmin")
    hi = None if freqmax is None else _positive(freqmax, "freqmax")
    if hi is not None and hi >= nyq:
        raise InputError(f"freqmax: {hi} Hz is not below the Nyquist frequency {nyq:g} Hz")
    if lo is not None and hi is not None and lo >= hi:
        raise InputError(f"freqmin ({lo} Hz) must be below freqmax ({hi} Hz)")
    if lo is not None and lo >= nyq:
        raise InputError(f"freqmin: {lo} Hz is not below the Nyquist frequency {nyq:g} Hz")
    if lo is not None and hi is not None:
        wn, btype = [lo / nyq, hi / nyq], "band"
    elif lo is not None:
        wn, btype = lo / nyq, "highpass"
    else:
        wn, btype = hi / nyq, "lowpass"
    sos = scipy.signal.iirfilter(int(corners), wn, btype=btype, ftype="butter", output="sos")
    return np.ascontiguousarray(sos, dtype=np.float64)


def _temporal_norm_args(temporal_norm, ram_window_s, clip_factor, freqmin, fs):
    if temporal_norm not in TEMPORAL_NORMS:
        raise InputError(
            f"temporal_norm: expected one of {sorted(TEMPORAL_NORMS)}, got {temporal_norm!r}"
        )
    ram_half, clip = 0, 0.0
    if temporal_norm == "ram":
        if ram_window_s is None:
            if freqmin is None:
                raise InputError(
                    "temporal_norm='ram' needs ram_window_s (seconds) or freqmin "
                    "(then half its period)"
                )
            ram_window_s = 0.5 / float(freqmin)
        ram_half = int(round(_positive(ram_window_s, "ram_window_s") * fs / 2.0))
    elif temporal_norm == "clip":
        clip = _positive(clip_factor, "clip_factor")
    return TEMPORAL_NORMS[temporal_norm], ram_half, clip


def _flat_samples(max_flat_s, fs) -> int:
    if max_flat_s is None or max_flat_s == 0:
        return 0
    return max(2, int(round(_positive(max_flat_s, "max_flat_s") * fs)))


def decimate(x, factor: int, *, workers: int | None = None) -> np.ndarray:
    """Decimate rows by an integer ``factor`` with a zero-phase FIR anti-alias filter.

    The filter is ``scipy.signal.firwin(20 * factor + 1, 1 / factor, window="hamming")``, that of
    ``scipy.signal.decimate(x, factor, ftype="fir")``, evaluated at every ``factor``-th sample
    (output sample ``j`` is at input sample ``j * factor``; ``(n - 1) // factor + 1`` samples).
    NaN marks missing samples and stays missing: an output is NaN where its input sample is
    NaN, and near a gap or the ends of the record the filter uses only the samples of the
    current run of data, renormalised (no zero-filling, no leakage across gaps).

    Parameters
    ----------
    x : array_like, shape ``[n_rows, n_samples]`` or ``[n_samples]``
    factor : int, >= 1

    Returns
    -------
    float32 ndarray with the shape of ``x`` with the last axis decimated.
    """
    if isinstance(factor, bool) or not isinstance(factor, (int, np.integer)) or factor < 1:
        raise InputError(f"factor: expected a positive integer, got {factor!r}")
    raw = np.asarray(x)
    one = raw.ndim == 1
    arr = as_float32_array(raw[None, :] if one else raw, "x", 2, "[n_rows, n_samples]")
    if factor == 1:
        out = np.array(arr, dtype=np.float32, copy=True)
    else:
        h = scipy.signal.firwin(20 * int(factor) + 1, 1.0 / factor, window="hamming").astype(
            np.float64
        )
        out = _core.correlation.decimate(
            _rows_contiguous(arr), h, int(factor), check_workers(workers)
        )
    return out[0] if one else out


def _rows_contiguous(arr: np.ndarray) -> np.ndarray:
    if arr.shape[1] > 1 and arr.strides[1] != arr.itemsize:
        return np.ascontiguousarray(arr)
    return arr
