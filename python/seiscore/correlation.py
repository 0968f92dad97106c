"""Ambient-noise cross-correlation: continuous records → stacked cross-correlation functions.

``correlate`` runs the whole ANXCOR / NoisePy / MSNoise job over :class:`Waveforms` and returns
an :class:`xarray.Dataset`; the building blocks are public too::

    Waveforms ─► decimate ─► windows ─► quality check ─► detrend, taper, band-pass,
    temporal normalisation (preprocess) ─► rfft, once per station window (scipy.fft) ─►
    sub-sample alignment, spectral whitening (whiten_spectra) ─► cross-spectra of every pair ─►
    stacks: linear (summed in the frequency domain, one inverse FFT per pair and day),
    phase-weighted, robust, selective (stack) ─► Dataset ─► write (NetCDF / Zarr), to_obspy,
    plot_moveout

The C++ core (``seiscore._core.correlation``) does the quality checks, filtering, temporal and
spectral normalisation, cross-spectra and stacking with threads; FFTs come from ``scipy.fft``.
With ``device="cuda"`` the whitening and the cross-spectra (with their frequency-domain stack)
run on the GPU (``seiscore._cuda.correlation``); the FFTs stay on the CPU because this build's
CUDA toolkit has no cuFFT.

Conventions
-----------
* **Lag sign.** ``ccf_ab(tau) = sum_t a(t) b(t + tau)``: a positive lag means the signal reaches
  the receiver ``b`` after the source ``a`` (NoisePy's convention). Time reversal:
  ``ccf_ba(tau) = ccf_ab(-tau)``. ObsPy's ``obspy.signal.cross_correlation.correlate(x, y,
  shift)`` uses the opposite sign: ``correlate(b, a, ...)`` equals ``ccf_ab``.
* **Normalisation.** ``normalize="coefficient"`` divides each window's CCF by
  ``sqrt(E_a E_b)``, the energies of the two (processed, whitened) windows, so an
  autocorrelation is 1 at lag 0 and ``|ccf| <= 1``; this is ObsPy's ``normalize="naive"``.
  ``"none"`` keeps the raw sum of products.
* **Windows** start at ``starttime + k * window_s * (1 - overlap)`` for every station (one
  common grid); a station's samples are mapped to the nearest sample and the remaining
  sub-sample offset is removed exactly in the frequency domain (``subsample_shift=True``).
  A window belongs to the UTC day in which it starts. A window with any missing sample (gap,
  edge of the data) or a glitch (a flat run of ``max_flat_s`` seconds, zero variance, or a
  sample beyond ``max_over_std`` standard deviations) is skipped and counted, per station and
  channel, in the ``windows_*`` variables of the result; nothing is zero-filled.
* **Components** are two letters, source then receiver: ``"ZN"`` correlates Z at the source with
  N at the receiver. ``R``/``T`` components are obtained by rotating the nine stacked ENZ
  components with the source-to-receiver azimuth (R along it, T = R turned 90 degrees
  clockwise, ObsPy's convention).
"""

from __future__ import annotations

import datetime as _dt
import logging
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import scipy.fft
import scipy.signal

from . import _core
from ._backend import _cuda_module, resolve_device
from ._validate import as_float32_array, check_workers
from .containers import Stations, Waveforms
from .exceptions import BackendUnavailable, InputError

__all__ = [
    "COMPONENTS_ENZ",
    "COMPONENTS_RTZ",
    "correlate",
    "cross_correlate",
    "decimate",
    "plot_moveout",
    "preprocess",
    "read",
    "stack",
    "to_obspy",
    "whiten_spectra",
    "write",
]

log = logging.getLogger("seiscore.correlation")

CHANNELS = ("E", "N", "Z")
COMPONENTS_ENZ = tuple(a + b for a in CHANNELS for b in CHANNELS)
COMPONENTS_RTZ = tuple(a + b for a in "RTZ" for b in "RTZ")
STACK_METHODS = ("linear", "pws", "robust", "selective")
TEMPORAL_NORMS = {"none": 0, "onebit": 1, "ram": 2, "clip": 3}
# per station-channel window outcomes, in the order of the windows_* variables
WINDOW_OUTCOMES = ("used", "gap", "flat", "spike", "absent", "incomplete")
_NS = 1_000_000_000
_DAY_NS = 86_400 * _NS
# bytes of complex spectra materialised at once by the cross-spectrum / inverse-FFT loop
_CHUNK_BYTES = 64 << 20


# ============================================================================ small helpers


def _to_ns(value, name: str) -> int:
    """UTCDateTime / numpy.datetime64 / datetime / ISO string → int nanoseconds since 1970 (UTC)."""
    if value is None:
        raise InputError(f"{name}: a time is required")
    ns = getattr(value, "ns", None)  # obspy.UTCDateTime
    if ns is not None:
        return int(ns)
    try:
        if isinstance(value, _dt.datetime):
            if value.tzinfo is not None:
                value = value.astimezone(_dt.timezone.utc).replace(tzinfo=None)
            return int(np.datetime64(value, "ns").astype(np.int64))
        if isinstance(value, (str, np.datetime64)):
            text = value.rstrip("Z") if isinstance(value, str) else value
            return int(np.datetime64(text, "ns").astype(np.int64))
    except (ValueError, TypeError) as exc:
        raise InputError(f"{name}: cannot read {value!r} as a UTC time ({exc})") from None
    raise InputError(
        f"{name}: expected a UTC time (UTCDateTime, datetime64, ISO string), got {value!r}"
    )


def _iso(ns: int) -> str:
    return str(np.datetime64(int(ns), "ns")) + "Z"


def _positive(value, name: str, *, allow_zero: bool = False) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise InputError(f"{name}: expected a number, got {value!r}") from None
    if not math.isfinite(v) or v < 0 or (v == 0 and not allow_zero):
        raise InputError(
            f"{name}: expected a {'non-negative' if allow_zero else 'positive'} number, got {value!r}"
        )
    return v


def _workers_for_fft(workers: int) -> int:
    return -1 if workers == 0 else workers


def _cuda_correlation():
    mod = _cuda_module()
    if mod is None or not hasattr(mod, "correlation"):
        raise BackendUnavailable(
            "device='cuda' needs seiscore._cuda with the correlation kernels; reinstall with a CUDA "
            "toolkit on the PATH (SEISCORE_CUDA=ON pip install .)"
        )
    return mod.correlation


# ============================================================================ building blocks


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
    sos = _bandpass_sos(freqmin, freqmax, corners, fs)
    code, ram_half, clip = _temporal_norm_args(
        temporal_norm, ram_window_s, clip_factor, freqmin, fs
    )
    if not (0.0 <= float(taper) <= 0.5):
        raise InputError(f"taper: expected a fraction in [0, 0.5], got {taper!r}")
    status = _core.correlation.preprocess(
        arr,
        demean=bool(demean),
        detrend=bool(detrend),
        taper=float(taper),
        sos=sos,
        zero_phase=bool(zero_phase),
        norm=code,
        ram_half_width=ram_half,
        clip_factor=clip,
        max_over_std=0.0 if max_over_std is None else _positive(max_over_std, "max_over_std"),
        max_flat=_flat_samples(max_flat_s, fs),
        workers=check_workers(workers),
    )
    return arr, status


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
                    "temporal_norm='ram' needs ram_window_s (seconds) or freqmin (then half its period)"
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


def whiten_spectra(
    spec,
    sampling_rate: float,
    nfft: int,
    *,
    band=None,
    smooth_hz: float = 0.0,
    shift_s=None,
    device: str = "cpu",
    workers: int | None = None,
) -> np.ndarray:
    """Sub-sample shift and spectral whitening of rfft spectra, in place; returns row energies.

    Parameters
    ----------
    spec : complex64 ndarray ``[n_rows, nfft // 2 + 1]``
        ``scipy.fft.rfft(x, n=nfft)`` of real windows; modified in place (rows must be
        contiguous; complex128 input is refused: convert with ``.astype(np.complex64)``).
    sampling_rate : float
    nfft : int
    band : 2 or 4 frequencies in Hz, optional
        Whitening band ``(f1, f2, f3, f4)``: weight 0 below f1, a cosine ramp to 1 at f2, 1 to f3,
        a cosine ramp to 0 at f4. Two values ``(fmin, fmax)`` mean ramps of width
        ``0.1 * (fmax - fmin)`` outside them (clipped to [0, Nyquist]). ``None``: no whitening.
    smooth_hz : float
        Whitening divides by the amplitude spectrum smoothed by a running mean over
        ``smooth_hz`` Hz (``2 * round(smooth_hz / df / 2) + 1`` bins); 0: by the amplitude itself
        (phase only, unit amplitude in the band).
    shift_s : array_like ``[n_rows]``, optional
        Delay each row by this many seconds (a phase ramp ``exp(-2 pi i f shift)``).
    device : ``"cpu" | "cuda" | "auto"``

    Returns
    -------
    float64 ndarray ``[n_rows]``: energy (sum of squares) of the length-``nfft`` signal each
    conditioned row represents (Parseval).
    """
    if not isinstance(spec, np.ndarray) or spec.dtype != np.complex64 or spec.ndim != 2:
        raise InputError(
            "spec: expected a complex64 array [n_rows, nfft // 2 + 1] (scipy.fft.rfft of float32 rows)"
        )
    fs = _positive(sampling_rate, "sampling_rate")
    if isinstance(nfft, bool) or not isinstance(nfft, (int, np.integer)) or nfft < 1:
        raise InputError(f"nfft: expected a positive integer, got {nfft!r}")
    if spec.shape[1] != nfft // 2 + 1:
        raise InputError(
            f"spec: {spec.shape[1]} bins do not match nfft={nfft} (expected {nfft // 2 + 1})"
        )
    df = fs / nfft
    band4 = _whiten_band(band, fs)
    smooth = _smooth_bins(smooth_hz, df)
    shift = None
    if shift_s is not None:
        shift = np.ascontiguousarray(shift_s, dtype=np.float64)
        if shift.shape != (spec.shape[0],):
            raise InputError(
                f"shift_s: expected one value per row ({spec.shape[0]}), got shape {shift.shape}"
            )
    return _condition(
        spec, int(nfft), df, band4, smooth, shift, resolve_device(device), check_workers(workers)
    )


def _whiten_band(band, fs) -> np.ndarray | None:
    if band is None:
        return None
    nyq = 0.5 * fs
    b = np.asarray(band, dtype=np.float64).ravel()
    if b.size == 2:
        lo, hi = float(b[0]), float(b[1])
        if not (0 <= lo < hi <= nyq):
            raise InputError(
                f"whitening band: expected 0 <= fmin < fmax <= Nyquist ({nyq:g} Hz), got {tuple(b)}"
            )
        d = 0.1 * (hi - lo)
        b = np.array([max(0.0, lo - d), lo, hi, min(nyq, hi + d)])
    if b.size != 4 or not np.all(np.isfinite(b)) or b[0] < 0 or np.any(np.diff(b) < 0):
        raise InputError(
            f"whitening band: expected (fmin, fmax) or 0 <= f1 <= f2 <= f3 <= f4, got {band!r}"
        )
    if b[1] > nyq:
        raise InputError(f"whitening band {tuple(b)} lies above the Nyquist frequency {nyq:g} Hz")
    return b


def _smooth_bins(smooth_hz, df) -> int:
    v = _positive(smooth_hz, "whiten_smooth_hz", allow_zero=True)
    return int(round(v / df / 2.0))


def _condition(spec, nfft, df, band4, smooth, shift, device, workers) -> np.ndarray:
    whiten = band4 is not None
    band = band4 if whiten else np.zeros(4)
    if device == "cuda":
        return _cuda_correlation().condition_spectra(
            spec, nfft=nfft, df=df, whiten=whiten, band=band, smooth_bins=smooth, shift=shift
        )
    return _core.correlation.condition_spectra(
        spec,
        nfft=nfft,
        df=df,
        whiten=whiten,
        band=band,
        smooth_bins=smooth,
        shift=shift,
        workers=workers,
    )


def _cross(spec, ra, rb, w, out_index, n_out, device, workers) -> np.ndarray:
    if device == "cuda":
        return _cuda_correlation().cross_spectra(spec, ra, rb, w, out_index, n_out)
    return _core.correlation.cross_spectra(spec, ra, rb, w, out_index, n_out, workers)


def _lags(c: np.ndarray, max_lag: int) -> np.ndarray:
    """Lags -max_lag..max_lag of circular correlations ``c[..., nfft]``."""
    if max_lag == 0:
        return np.ascontiguousarray(c[:, :1])
    return np.concatenate([c[:, c.shape[1] - max_lag :], c[:, : max_lag + 1]], axis=1)


def cross_correlate(
    a,
    b,
    max_lag: int,
    *,
    normalize: str = "coefficient",
    nfft: int | None = None,
    device: str = "cpu",
    workers: int | None = None,
) -> np.ndarray:
    """Row-by-row cross-correlation ``ccf[i, max_lag + tau] = sum_t a[i, t] b[i, t + tau]``.

    Computed as ``irfft(conj(rfft(a)) * rfft(b))`` with both rows zero-padded to ``nfft``
    (default: the next fast length >= ``n + max_lag``, so the result is the linear correlation
    for ``|tau| <= max_lag``). Rows of ``a`` and ``b`` may differ in length (each is padded).

    Parameters
    ----------
    a, b : array_like ``[n_rows, n]`` (or 1-D for one row)
    max_lag : int
        Largest lag in samples; the output has ``2 * max_lag + 1`` lags, ``-max_lag`` first.
    normalize : ``"coefficient" | "none"``
        ``"coefficient"`` divides by ``sqrt(sum a^2 * sum b^2)`` (ObsPy's ``"naive"``); a row with
        no energy gives NaN.

    Returns
    -------
    float32 ndarray ``[n_rows, 2 * max_lag + 1]`` (1-D for 1-D input).
    """
    one = np.ndim(a) == 1 and np.ndim(b) == 1
    A = as_float32_array(np.atleast_2d(a), "a", 2, "[n_rows, n]")
    B = as_float32_array(np.atleast_2d(b), "b", 2, "[n_rows, n]")
    if A.shape[0] != B.shape[0]:
        raise InputError(
            f"a and b must have the same number of rows, got {A.shape[0]} and {B.shape[0]}"
        )
    if isinstance(max_lag, bool) or not isinstance(max_lag, (int, np.integer)) or max_lag < 0:
        raise InputError(f"max_lag: expected a non-negative integer (samples), got {max_lag!r}")
    if normalize not in ("coefficient", "none"):
        raise InputError(f"normalize: expected 'coefficient' or 'none', got {normalize!r}")
    if not (np.isfinite(A).all() and np.isfinite(B).all()):
        raise InputError("a, b: NaN or infinite samples (cut or fill gaps before correlating)")
    n = max(A.shape[1], B.shape[1])
    nfft = scipy.fft.next_fast_len(n + int(max_lag), real=True) if nfft is None else int(nfft)
    if nfft < n + max_lag:
        raise InputError(
            f"nfft={nfft} is shorter than n + max_lag = {n + max_lag}: lags would wrap around"
        )
    dev = resolve_device(device)
    w = check_workers(workers)
    fw = _workers_for_fft(w)
    spec = np.ascontiguousarray(
        np.concatenate(
            [
                scipy.fft.rfft(A, n=nfft, axis=1, workers=fw),
                scipy.fft.rfft(B, n=nfft, axis=1, workers=fw),
            ]
        )
    ).astype(np.complex64, copy=False)
    k = A.shape[0]
    energy = _condition(spec, nfft, 1.0, None, 0, None, dev, w)
    weight = np.ones(k, np.float32)
    if normalize == "coefficient":
        with np.errstate(divide="ignore", invalid="ignore"):
            weight = (1.0 / np.sqrt(energy[:k] * energy[k:])).astype(np.float32)
    bad = ~np.isfinite(weight)
    weight[bad] = 0.0
    rows = np.arange(k, dtype=np.int64)
    cs = _cross(spec, rows, rows + k, weight, None, k, dev, w)
    out = _lags(scipy.fft.irfft(cs, n=nfft, axis=1, workers=fw), int(max_lag)).astype(
        np.float32, copy=False
    )
    out[bad] = np.nan
    return out[0] if one else out


def _hilbert_imag(rows: np.ndarray, workers: int) -> np.ndarray:
    """Imaginary part of the analytic signal of each row (scipy.signal.hilbert, float32)."""
    n = rows.shape[1]
    spec = scipy.fft.fft(rows, axis=1, workers=_workers_for_fft(workers))
    h = np.zeros(n, np.float32)
    if n % 2 == 0:
        h[0] = h[n // 2] = 1.0
        h[1 : n // 2] = 2.0
    else:
        h[0] = 1.0
        h[1 : (n + 1) // 2] = 2.0
    spec *= h
    return np.ascontiguousarray(
        scipy.fft.ifft(spec, axis=1, workers=_workers_for_fft(workers)).imag, dtype=np.float32
    )


def stack(
    ccf,
    method: str = "linear",
    *,
    groups=None,
    pws_power: float = 2.0,
    robust_epsilon: float = 1e-4,
    robust_max_iter: int = 10,
    selective_threshold: float = 0.3,
    workers: int | None = None,
):
    """Stack per-window cross-correlation functions.

    Parameters
    ----------
    ccf : array_like ``[n_windows, n_lag]``
        One CCF per row.
    method : ``"linear" | "pws" | "robust" | "selective"``
        ``linear``: the mean. ``pws``: phase-weighted stack (Schimmel & Paulssen 1997),
        ``mean * |mean of the unit analytic-signal phasors|^pws_power``, the analytic signal
        being ``scipy.signal.hilbert`` of each row (as NoisePy). ``robust``: iteratively
        re-weighted stack (Pavlis & Vernon 2010) starting from the median, see
        ``cpp/seiscore/correlation/stack.hpp``. ``selective``: mean of the rows whose
        correlation coefficient with the mean is at least ``selective_threshold``.
    groups : array_like of int ``[n_windows]``, optional
        Group label of each row (e.g. the pair): one stack per distinct label, in sorted label
        order. Default: one group.

    Returns
    -------
    (stacks, counts) : float32 ``[n_groups, n_lag]`` (``[n_lag]`` without ``groups``) and int
        ``[n_groups]`` rows per group (rows kept, for ``selective``). Empty groups give NaN.
    """
    rows = as_float32_array(ccf, "ccf", 2, "[n_windows, n_lag]")
    if method not in STACK_METHODS:
        raise InputError(f"method: expected one of {STACK_METHODS}, got {method!r}")
    if groups is None:
        labels = np.zeros(rows.shape[0], np.int64)
        order = np.arange(rows.shape[0])
        n_groups = 1
    else:
        g = np.asarray(groups)
        if g.shape != (rows.shape[0],):
            raise InputError(
                f"groups: expected one label per row ({rows.shape[0]}), got shape {g.shape}"
            )
        uniq, labels = np.unique(g, return_inverse=True)
        order = np.argsort(labels, kind="stable")
        n_groups = len(uniq)
    rows = np.ascontiguousarray(rows[order])
    offsets = np.concatenate([[0], np.cumsum(np.bincount(labels, minlength=n_groups))]).astype(
        np.int64
    )
    out, counts = _stack_grouped(
        rows,
        offsets,
        method,
        float(pws_power),
        float(robust_epsilon),
        int(robust_max_iter),
        float(selective_threshold),
        check_workers(workers),
    )
    return (out[0], counts[0]) if groups is None else (out, counts)


def _stack_grouped(rows, offsets, method, pws_power, epsilon, max_iter, threshold, workers):
    n = np.diff(offsets)
    if method in ("linear", "pws"):
        hil = _hilbert_imag(rows, workers) if method == "pws" and rows.shape[0] else None
        lin, pre, pim = _core.correlation.stack_sums(rows, hil, offsets, workers)
        with np.errstate(divide="ignore", invalid="ignore"):
            mean = lin / n[:, None]
            if method == "pws":
                mean = mean * (np.hypot(pre, pim) / n[:, None]) ** pws_power
        return mean.astype(np.float32), n.astype(np.int32)
    if method == "robust":
        out, _ = _core.correlation.stack_robust(rows, offsets, epsilon, max_iter, workers)
        return out, n.astype(np.int32)
    out, kept = _core.correlation.stack_selective(rows, offsets, threshold, workers)
    return out, kept


# ============================================================================ the job


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
    prep: dict
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


@dataclass
class _Record:
    """One continuous record of one station at the target rate: rows in plan.channels order."""

    start_ns: int
    data: np.ndarray  # float32 [n_channels, n]
    present: np.ndarray  # bool [n_channels]


@dataclass
class _DayResult:
    day_ns: int
    window_ns: np.ndarray
    n: np.ndarray  # [n_out] windows stacked
    linear_sum: np.ndarray  # float64 [n_out, n_lag]
    phasor: np.ndarray | None  # complex128 [n_out, n_lag]
    counts: np.ndarray  # int64 [n_stations, n_channels, len(WINDOW_OUTCOMES)]
    daily: dict = field(default_factory=dict)  # method -> float32 [n_out, n_lag] (robust/selective)
    daily_selected: np.ndarray | None = None
    rows: np.ndarray | None = None  # float32 [n_terms, n_lag]
    row_out: np.ndarray | None = None
    row_window: np.ndarray | None = None  # index into window_ns
    messages: list = field(default_factory=list)


def _records_from_waveforms(waveforms, plan: _Plan, messages: list) -> dict[int, list[_Record]]:
    """Validate, decimate and reorder the records of the stations of the plan."""
    index = {sid: i for i, sid in enumerate(plan.station_ids)}
    out: dict[int, list[_Record]] = {}
    bands: dict[str, str] = {}
    for w in waveforms:
        if not isinstance(w, Waveforms):
            raise InputError(f"waveforms: expected seiscore Waveforms, got {type(w).__name__}")
        if w.id not in index:
            continue
        if bands.setdefault(w.id, w.band) != w.band:
            raise InputError(
                f"{w.id}: records of several bands ({bands[w.id]}, {w.band}); pass one band per station"
            )
        rate = float(w.sampling_rate)
        q = rate / plan.sampling_rate
        factor = int(round(q))
        if factor < 1 or abs(q - factor) > 1e-6 * q:
            raise InputError(
                f"{w.id}: sampling rate {rate:g} Hz is not an integer multiple of the target "
                f"{plan.sampling_rate:g} Hz; resample first with seiscore.io.to_waveforms(stream, "
                f"sampling_rate=...)"
            )
        data = np.full((len(plan.channels), w.n_samples), np.nan, np.float32)
        present = np.zeros(len(plan.channels), bool)
        for c, letter in enumerate(plan.channels):
            if letter in w.components:
                k = w.components.index(letter)
                if bool(np.asarray(w.present)[k]):
                    data[c] = w.data[k]
                    present[c] = True
        if not present.any():
            messages.append(
                f"{w.id}: none of the components {''.join(plan.channels)} present; not used"
            )
            continue
        if factor > 1:
            data = decimate(data, factor, workers=plan.workers)
        out.setdefault(index[w.id], []).append(
            _Record(_to_ns(w.starttime, f"{w.id} starttime"), data, present)
        )
    return out


def _cut_day(records: dict[int, list[_Record]], window_ns: np.ndarray, plan: _Plan):
    """Rows [station, channel, window] of one day: samples (NaN where missing), shifts, table.

    ``table[s, c, w]`` is the row of station ``s``, channel ``c``, window ``w``, or -1 when no
    record of that station has that channel over any part of the window ("absent"). A window
    covered only in part keeps NaN where data are missing (the quality check calls it a gap).
    ``shift[row]`` is the time of the row's first sample minus the nominal window start (s), from
    the record that supplies the earliest samples of the window.
    """
    n_st, n_ch, n_w = len(plan.station_ids), len(plan.channels), len(window_ns)
    fs, n_win = plan.sampling_rate, plan.n_win
    table = np.full((n_st, n_ch, n_w), -1, np.int64)
    pieces = []  # (row, record, channel, i0, lo, hi)
    best: dict[tuple[int, int], tuple[int, float]] = {}  # (s, w) -> (first covered offset, shift)
    n_rows = 0
    for s in range(n_st):
        for rec in records.get(s, []):
            n = rec.data.shape[1]
            pos = (window_ns - rec.start_ns).astype(np.float64) * (fs / _NS)
            i0 = np.rint(pos).astype(np.int64)
            lo = np.maximum(i0, 0)
            hi = np.minimum(i0 + n_win, n)
            for w in np.flatnonzero(hi > lo):
                cand = (int(lo[w] - i0[w]), float((i0[w] - pos[w]) / fs))
                if (s, w) not in best or cand[0] < best[(s, w)][0]:
                    best[(s, w)] = cand
                for c in np.flatnonzero(rec.present):
                    if table[s, c, w] < 0:
                        table[s, c, w] = n_rows
                        n_rows += 1
                    pieces.append((table[s, c, w], rec, c, i0[w], lo[w], hi[w]))
    # rows are allocated nfft long, zero-padded, so that the FFT needs no padded copy
    x = np.empty((n_rows, plan.nfft), np.float32)
    x[:, :n_win] = np.nan
    x[:, n_win:] = 0.0
    for row, rec, c, i0, lo, hi in pieces:
        x[row, lo - i0 : hi - i0] = rec.data[c, lo:hi]
    shift = np.zeros(n_rows)
    for (s, w), (_, d) in best.items():
        rows = table[s, :, w]
        shift[rows[rows >= 0]] = d
    return x, shift, table


def _day_result(records, day_ns: int, window_ns: np.ndarray, plan: _Plan) -> _DayResult:
    """Everything of one day: windows → spectra → per-pair sums (and per-window rows)."""
    messages: list[str] = []
    n_st, n_ch = len(plan.station_ids), len(plan.channels)
    n_pairs, n_comp = len(plan.pair_a), len(plan.comp_a)
    n_out, n_lag = n_pairs * n_comp, 2 * plan.max_lag + 1
    counts = np.zeros((n_st, n_ch, len(WINDOW_OUTCOMES)), np.int64)
    x, shift, table = _cut_day(records, window_ns, plan)
    counts[..., 4] = (table < 0).sum(axis=2)  # absent
    p = plan.prep
    status = _core.correlation.preprocess(
        x[:, : plan.n_win],
        demean=p["demean"],
        detrend=p["detrend"],
        taper=p["taper"],
        sos=p["sos"],
        zero_phase=p["zero_phase"],
        norm=p["norm"],
        ram_half_width=p["ram_half"],
        clip_factor=p["clip"],
        max_over_std=p["max_over_std"],
        max_flat=p["max_flat"],
        workers=plan.workers,
    ).astype(np.int64)
    st_table = (
        np.where(table >= 0, status[np.maximum(table, 0)], -1)
        if status.size
        else np.full(table.shape, -1)
    )
    for code, col in ((0, 0), (1, 1), (2, 2), (3, 3)):
        counts[..., col] += (st_table == code).sum(axis=2)
    ok = st_table == 0
    if plan.station_complete:
        # rotation needs every channel of a station-window: drop the others, counted "incomplete"
        complete = ok.all(axis=1, keepdims=True)
        incomplete = ok & ~complete
        counts[..., 5] += incomplete.sum(axis=2)
        counts[..., 0] -= incomplete.sum(axis=2)
        ok = ok & complete
    use_rows = table[ok]
    spec_index = np.full(table.shape, -1, np.int64)
    spec_index[ok] = np.arange(use_rows.size)
    fw = _workers_for_fft(plan.workers)
    if use_rows.size:
        every = use_rows.size == x.shape[0] and np.array_equal(use_rows, np.arange(x.shape[0]))
        spec = scipy.fft.rfft(x if every else x[use_rows], axis=1, workers=fw)
        del x
        if spec.dtype != np.complex64:
            spec = spec.astype(np.complex64)
        df = plan.sampling_rate / plan.nfft
        energy = _condition(
            spec,
            plan.nfft,
            df,
            plan.whiten_band,
            plan.smooth_bins,
            shift[use_rows] if plan.subsample_shift else None,
            plan.device,
            plan.workers,
        )
    else:
        spec = np.zeros((0, plan.nfft // 2 + 1), np.complex64)
        energy = np.zeros(0)
    dead = energy <= 0
    if dead.any():
        # nothing left after whitening (no energy in the band): count as flat, do not use
        idx = np.argwhere(ok)[dead]
        for s, c, _w in idx:
            counts[s, c, 0] -= 1
            counts[s, c, 2] += 1
        spec_index[tuple(idx.T)] = -1
    # terms: every pair, component and window with both rows usable
    ra = spec_index[plan.pair_a[:, None], plan.comp_a[None, :], :]  # [P, Q, W]
    rb = spec_index[plan.pair_b[:, None], plan.comp_b[None, :], :]
    valid = (ra >= 0) & (rb >= 0)
    n = valid.sum(axis=2).reshape(n_out).astype(np.int64)
    out_id = np.broadcast_to(np.arange(n_out).reshape(n_pairs, n_comp, 1), valid.shape)
    win_id = np.broadcast_to(np.arange(len(window_ns)).reshape(1, 1, -1), valid.shape)
    res = _DayResult(
        day_ns, window_ns, n, np.zeros((n_out, n_lag)), None, counts, messages=messages
    )
    if not valid.any():
        if plan.keep_rows:
            res.rows = np.zeros((0, n_lag), np.float32)
            res.row_out = np.zeros(0, np.int64)
            res.row_window = np.zeros(0, np.int64)
        if "pws" in plan.methods:
            res.phasor = np.zeros((n_out, n_lag), np.complex128)
        for m in ("robust", "selective"):
            if m in plan.methods:
                res.daily[m] = np.full((n_out, n_lag), np.nan, np.float32)
        if "selective" in plan.methods:
            res.daily_selected = np.zeros(n_out, np.int32)
        return res

    def weights(a, b):
        if not plan.normalize:
            return np.ones(a.size, np.float32)
        return (1.0 / np.sqrt(energy[a] * energy[b])).astype(np.float32)

    per_window = plan.keep_rows or "pws" in plan.methods
    bins = spec.shape[1]
    # each CUDA call copies all spectra to the device: fewer, larger chunks there
    budget = _CHUNK_BYTES * (4 if plan.device == "cuda" else 1)
    if not per_window:
        # linear only: sum the cross-spectra per output (terms by window, then pair, for cache)
        order = np.transpose(valid, (2, 0, 1))
        A = np.transpose(ra, (2, 0, 1))[order]
        B = np.transpose(rb, (2, 0, 1))[order]
        Oi = np.transpose(out_id, (2, 0, 1))[order]
        W = weights(A, B)
        chunk = max(1, budget // (8 * bins))
        for o0 in range(0, n_out, chunk):
            o1 = min(n_out, o0 + chunk)
            sel = (Oi >= o0) & (Oi < o1)
            cs = _cross(
                spec, A[sel], B[sel], W[sel], Oi[sel] - o0, o1 - o0, plan.device, plan.workers
            )
            res.linear_sum[o0:o1] = _lags(
                scipy.fft.irfft(cs, n=plan.nfft, axis=1, workers=fw), plan.max_lag
            )
        return res

    # per-window CCFs, grouped by output (pair-component) in window order
    A, B, Oi, Wn = ra[valid], rb[valid], out_id[valid], win_id[valid]
    Wt = weights(A, B)
    rows = np.empty((A.size, n_lag), np.float32)
    chunk = max(1, budget // (8 * bins))
    for t0 in range(0, A.size, chunk):
        t1 = min(A.size, t0 + chunk)
        cs = _cross(spec, A[t0:t1], B[t0:t1], Wt[t0:t1], None, t1 - t0, plan.device, plan.workers)
        rows[t0:t1] = _lags(scipy.fft.irfft(cs, n=plan.nfft, axis=1, workers=fw), plan.max_lag)
    del spec
    offsets = np.concatenate([[0], np.cumsum(n)]).astype(np.int64)
    hil = _hilbert_imag(rows, plan.workers) if "pws" in plan.methods else None
    lin, pre, pim = _core.correlation.stack_sums(rows, hil, offsets, plan.workers)
    res.linear_sum = lin
    if hil is not None:
        res.phasor = pre + 1j * pim
        del hil
    if "robust" in plan.methods:
        res.daily["robust"], _ = _core.correlation.stack_robust(
            rows, offsets, plan.robust_epsilon, plan.robust_max_iter, plan.workers
        )
    if "selective" in plan.methods:
        res.daily["selective"], res.daily_selected = _core.correlation.stack_selective(
            rows, offsets, plan.selective_threshold, plan.workers
        )
    if plan.keep_rows:
        res.rows, res.row_out, res.row_window = rows, Oi.astype(np.int64), Wn.astype(np.int64)
    return res


def _run_day(records, day_ns, window_ns, plan):
    return _day_result(records, day_ns, window_ns, plan)


def _run_day_loaded(loader, span, day_ns, window_ns, plan):
    """Loader task (here or on a Dask worker): read the day with ``loader``, then correlate it."""
    messages: list[str] = []
    t0, t1 = span
    ws = loader(np.datetime64(int(t0), "ns"), np.datetime64(int(t1), "ns"))
    if isinstance(ws, Waveforms):
        ws = [ws]
    records = _records_from_waveforms(list(ws), plan, messages)
    res = _day_result(records, day_ns, window_ns, plan)
    res.messages[:0] = messages
    return res


def _slice_records(records: dict[int, list[_Record]], t0: int, t1: int, fs: float, margin: int = 2):
    """Views of the records restricted to [t0, t1] ns (plus ``margin`` samples each side)."""
    out: dict[int, list[_Record]] = {}
    for s, recs in records.items():
        for r in recs:
            n = r.data.shape[1]
            a = max(0, int(math.floor((t0 - r.start_ns) * fs / _NS)) - margin)
            b = min(n, int(math.ceil((t1 - r.start_ns) * fs / _NS)) + margin)
            if b <= a:
                continue
            start = r.start_ns + int(round(a * _NS / fs))
            out.setdefault(s, []).append(_Record(start, r.data[:, a:b], r.present))
    return out


def _station_table(stations, ids) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Latitude, longitude, elevation of each id (NaN when unknown)."""
    lat = np.full(len(ids), np.nan)
    lon = np.full(len(ids), np.nan)
    elev = np.full(len(ids), np.nan)
    if stations is None or not isinstance(stations, Stations):
        return lat, lon, elev
    full = {i: k for k, i in enumerate(stations.ids)}
    short: dict[str, list[int]] = {}
    for k, (n, s) in enumerate(zip(stations.network, stations.station, strict=True)):
        short.setdefault(f"{n}.{s}", []).append(k)
    for j, sid in enumerate(ids):
        k = full.get(sid)
        if k is None:
            cand = short.get(".".join(sid.split(".")[:2]), [])
            k = cand[0] if len(cand) == 1 else None
        if k is not None:
            lat[j], lon[j], elev[j] = (
                stations.latitude[k],
                stations.longitude[k],
                stations.elevation_m[k],
            )
    return lat, lon, elev


def _geometry(lat, lon, pa, pb):
    """Distance (km), azimuth a→b and back-azimuth b→a (degrees) of each pair (WGS84)."""
    from obspy.geodetics import gps2dist_azimuth

    n = len(pa)
    dist, az, baz = np.full(n, np.nan), np.full(n, np.nan), np.full(n, np.nan)
    for k, (a, b) in enumerate(zip(pa, pb, strict=True)):
        if not np.isfinite([lat[a], lon[a], lat[b], lon[b]]).all():
            continue
        if a == b:
            dist[k] = 0.0
            continue
        d, f, r = gps2dist_azimuth(lat[a], lon[a], lat[b], lon[b])
        dist[k], az[k], baz[k] = d / 1000.0, f, r
    return dist, az, baz


def _parse_components(components) -> tuple[tuple, tuple, bool]:
    """(requested names, computed ENZ names, rotate?)."""
    if isinstance(components, str):
        key = components.strip()
        if key.upper() in ("ALL", "ENZ"):
            req = COMPONENTS_ENZ
        elif key.upper() == "RTZ":
            req = COMPONENTS_RTZ
        else:
            req = tuple(c.strip() for c in key.split(","))
    else:
        req = tuple(components)
    req = tuple(str(c).upper() for c in req)
    if not req or len(set(req)) != len(req):
        raise InputError(f"components: expected distinct two-letter codes, got {components!r}")
    bad = [c for c in req if len(c) != 2 or any(ch not in "ENZRT" for ch in c)]
    if bad:
        raise InputError(
            f"components: {bad} are not two letters of E, N, Z (or R, T, Z); e.g. 'ZZ', 'all', 'RTZ'"
        )
    rotate = any(ch in "RT" for c in req for ch in c)
    computed = COMPONENTS_ENZ if rotate else req
    return req, computed, rotate


def _parse_pairs(pairs, ids, lat, lon, max_distance_km):
    n = len(ids)
    if isinstance(pairs, str):
        if pairs == "all":
            pa, pb = np.triu_indices(n, 1)
        elif pairs == "all+auto":
            pa, pb = np.triu_indices(n, 0)
        elif pairs == "auto":
            pa = pb = np.arange(n)
        else:
            raise InputError(
                f"pairs: expected 'all', 'all+auto', 'auto' or a list of (source, receiver) ids, got {pairs!r}"
            )
    else:
        index = {sid: i for i, sid in enumerate(ids)}
        pa, pb = [], []
        for item in pairs:
            if isinstance(item, str):
                parts = item.split(":")
                if len(parts) != 2:
                    raise InputError(f"pairs: {item!r} is not 'SOURCE:RECEIVER'")
                item = parts
            try:
                a, b = item
            except (TypeError, ValueError):
                raise InputError(
                    f"pairs: {item!r} is not a (source, receiver) pair of station ids"
                ) from None
            unknown = [x for x in (a, b) if x not in index]
            if unknown:
                raise InputError(
                    f"pairs: station {unknown[0]!r} has no data (stations: {', '.join(ids)})"
                )
            pa.append(index[a])
            pb.append(index[b])
        if not pa:
            raise InputError("pairs: the list is empty")
    pa, pb = np.asarray(pa, np.int64), np.asarray(pb, np.int64)
    if max_distance_km is not None:
        lim = _positive(max_distance_km, "max_distance_km", allow_zero=True)
        dist, _, _ = _geometry(lat, lon, pa, pb)
        unknown = sorted(
            {
                ids[i]
                for i, d in zip(np.concatenate([pa, pb]), np.concatenate([dist, dist]), strict=True)
                if not np.isfinite(d)
            }
        )
        if unknown:
            raise InputError(
                f"max_distance_km needs coordinates; none for {unknown} (pass stations=...)"
            )
        keep = dist <= lim
        pa, pb = pa[keep], pb[keep]
    return pa, pb


def _rotation(az_deg, baz_deg):
    """[P, 3, 3] matrices (rows R, T, Z; columns E, N, Z) at the source and the receiver."""
    th, be = np.radians(az_deg), np.radians(baz_deg)
    P = len(th)
    ma = np.zeros((P, 3, 3))
    mb = np.zeros((P, 3, 3))
    ma[:, 0, 0], ma[:, 0, 1] = np.sin(th), np.cos(th)
    ma[:, 1, 0], ma[:, 1, 1] = np.cos(th), -np.sin(th)
    mb[:, 0, 0], mb[:, 0, 1] = -np.sin(be), -np.cos(be)
    mb[:, 1, 0], mb[:, 1, 1] = -np.cos(be), np.sin(be)
    ma[:, 2, 2] = mb[:, 2, 2] = 1.0
    return ma, mb


def _rotate(arr, ma, mb, pair_axis):
    """ENZ (9, in COMPONENTS_ENZ order) → RTZ (COMPONENTS_RTZ order) on axes (pair, comp)."""
    a = np.moveaxis(arr, (pair_axis, pair_axis + 1), (0, 1))
    shp = a.shape
    c = a.reshape((shp[0], 3, 3) + shp[2:]).astype(np.float64)
    r = np.einsum("pix,pjy,pxy...->pij...", ma, mb, c)
    return np.moveaxis(r.reshape(shp).astype(arr.dtype), (0, 1), (pair_axis, pair_axis + 1))


def correlate(
    waveforms,
    stations=None,
    *,
    pairs="all",
    max_distance_km: float | None = None,
    components="ZZ",
    window_s: float = 3600.0,
    overlap: float = 0.0,
    starttime=None,
    endtime=None,
    sampling_rate: float | None = None,
    freqmin: float | None = None,
    freqmax: float | None = None,
    corners: int = 4,
    taper: float = 0.05,
    detrend: bool = True,
    temporal_norm: str = "none",
    ram_window_s: float | None = None,
    clip_factor: float = 3.0,
    whiten: bool = False,
    whiten_band=None,
    whiten_smooth_hz: float = 0.0,
    max_lag_s: float = 100.0,
    normalize: str = "coefficient",
    stack=("linear",),
    pws_power: float = 2.0,
    robust_epsilon: float = 1e-4,
    robust_max_iter: int = 10,
    selective_threshold: float = 0.3,
    substacks: bool = True,
    keep_windows: bool = False,
    max_over_std: float | None = 20.0,
    max_flat_s: float | None = 2.0,
    subsample_shift: bool = True,
    device: str = "cpu",
    client=None,
    workers: int | None = None,
    progress: bool = False,
):
    """Cross-correlate ambient noise for every selected station pair and stack.

    Parameters
    ----------
    waveforms : Waveforms, sequence of Waveforms, or callable
        Continuous records (:func:`seiscore.io.to_waveforms` gives them with E, N, Z rows and NaN
        gaps); a station may have several records (e.g. one per day). Or a function
        ``loader(t0, t1) -> Waveforms or list`` (``t0``, ``t1``: ``numpy.datetime64[ns]``) that
        reads the data of a time span; then ``stations``, ``starttime`` and ``endtime`` are
        required, days are loaded one at a time, and with ``client`` each worker loads its own
        days (the loader must be picklable).
    stations : Stations or sequence of ids, optional
        Coordinates (``seiscore.io.read_stations``), matched by ``NET.STA.LOC`` (or ``NET.STA``
        when unambiguous). Needed for ``max_distance_km``, R/T components, distances in the
        result and :func:`plot_moveout`. With a list of ids, only those stations are used.
    pairs : ``"all" | "all+auto" | "auto"`` or sequence of (source, receiver) ids
        All pairs of distinct stations (sorted ids, source < receiver), with autocorrelations,
        only autocorrelations, or the given pairs (``("CI.CCA.", "CI.HEC.")`` or
        ``"CI.CCA.:CI.HEC."``).
    max_distance_km : float, optional
        Keep only pairs at most this far apart.
    components : str or sequence of str
        ``"ZZ"`` (default), ``"all"`` (the nine ENZ combinations), ``"RTZ"`` (the nine rotated
        ones), or codes such as ``["ZZ", "RR", "TT"]``.
    window_s, overlap : float
        Window length (s) and overlap fraction in [0, 1).
    starttime, endtime : time, optional
        Window grid origin (default: the earliest sample of the data) and end (default: the last
        sample); a window must fit in ``[starttime, endtime]``.
    sampling_rate : float, optional
        Target rate; records are decimated by the integer factor (see :func:`decimate`). Default:
        the common rate of the records (an error if they differ).
    freqmin, freqmax, corners, taper, detrend, temporal_norm, ram_window_s, clip_factor :
        Time-domain processing of each window, see :func:`preprocess`.
    whiten, whiten_band, whiten_smooth_hz :
        Spectral whitening (see :func:`whiten_spectra`); the band defaults to
        ``(freqmin, freqmax)``.
    max_lag_s : float
        Lags kept, ``-max_lag_s .. max_lag_s`` (rounded to samples).
    normalize : ``"coefficient" | "none"``
    stack : str or sequence
        Stacks to compute, any of ``"linear"``, ``"pws"``, ``"robust"``, ``"selective"`` (see
        :func:`stack`). Linear stacks are summed in the frequency domain (one inverse FFT per
        pair and day) unless per-window CCFs are needed (other methods, ``keep_windows``).
        ``robust`` and ``selective`` over all days keep every window's CCF in memory.
    pws_power, robust_epsilon, robust_max_iter, selective_threshold :
        Stack parameters.
    substacks : bool
        Also return one stack per UTC day (``daily_*`` variables) for monitoring.
    keep_windows : bool
        Also return every window's CCF (``ccf_windows[window, pair, component, lag]``, NaN where
        a pair-window was not available).
    max_over_std, max_flat_s : float or None
        Glitch tests (see :func:`preprocess`); ``None`` disables one.
    subsample_shift : bool
        Remove each station's sub-sample offset from the window grid in the frequency domain.
    device : ``"cpu" | "cuda" | "auto"``
    client : dask.distributed.Client, optional
        Distribute the days over the cluster; ``None`` runs them here, one after the other, each
        on ``workers`` threads.
    workers : int, optional
        Threads for the C++ kernels and scipy.fft (default: all cores).
    progress : bool
        Show a progress bar over days.

    Returns
    -------
    xarray.Dataset
        ``ccf_<method>[pair, component, lag]`` (float32), ``n_windows[pair, component]`` (windows
        stacked), ``daily_<method>[day, pair, component, lag]`` and ``daily_n_windows`` (with
        ``substacks``), ``n_selected`` / ``daily_n_selected`` (selective),
        ``ccf_windows`` (with ``keep_windows``), and per station and channel the window counts
        ``windows_used``, ``windows_gap``, ``windows_flat``, ``windows_spike``,
        ``windows_absent``, ``windows_incomplete`` (another channel failed; R/T only).
        Coordinates: ``pair`` (``"SOURCE:RECEIVER"``), ``source``, ``receiver``,
        ``distance_km``, ``azimuth_deg`` (source → receiver), ``backazimuth_deg``, source and
        receiver latitude/longitude/elevation, ``component``, ``lag`` (s), ``day``
        (datetime64), ``station`` and ``channel``. Attributes record every processing parameter.

    Raises
    ------
    InputError
        Bad parameters, or data that cannot be used (the message names the station or the
        parameter).
    """
    methods = (stack,) if isinstance(stack, str) else tuple(stack)
    bad = [m for m in methods if m not in STACK_METHODS]
    if bad or not methods or len(set(methods)) != len(methods):
        raise InputError(f"stack: expected distinct methods among {STACK_METHODS}, got {stack!r}")
    if normalize not in ("coefficient", "none"):
        raise InputError(f"normalize: expected 'coefficient' or 'none', got {normalize!r}")
    nworkers = check_workers(workers)
    dev = resolve_device(device)
    if dev == "cuda":
        _cuda_correlation()
    requested, computed, rotate = _parse_components(components)
    channels = tuple(ch for ch in CHANNELS if any(ch in c for c in computed))
    messages: list[str] = []

    # ---- inputs: data or loader; station ids
    loader = None
    if callable(waveforms) and not isinstance(waveforms, Waveforms):
        loader = waveforms
        if stations is None or starttime is None or endtime is None:
            raise InputError(
                "with a loader function, stations=, starttime= and endtime= are required"
            )
        data = None
    else:
        data = [waveforms] if isinstance(waveforms, Waveforms) else list(waveforms)
        if not data:
            raise InputError("waveforms: no records given")
        for w in data:
            if not isinstance(w, Waveforms):
                raise InputError(f"waveforms: expected seiscore Waveforms, got {type(w).__name__}")
    if stations is not None and not isinstance(stations, Stations):
        wanted = [str(s) for s in ([stations] if isinstance(stations, str) else stations)]
        station_table = None
    else:
        wanted = None
        station_table = stations
    if data is not None:
        ids = sorted({w.id for w in data})
        if wanted is not None:
            missing = [s for s in wanted if s not in ids]
            if missing:
                raise InputError(f"stations: no data for {missing} (data for {ids})")
            ids = sorted(set(wanted))
    else:
        ids = sorted(set(wanted if wanted is not None else station_table.ids))
    if not ids:
        raise InputError("no stations")
    lat, lon, elev = _station_table(station_table, ids)
    pa, pb = _parse_pairs(pairs, ids, lat, lon, max_distance_km)
    if len(pa) == 0:
        raise InputError(
            f"no station pairs selected (pairs={pairs!r}, max_distance_km={max_distance_km})"
        )
    dist, az, baz = _geometry(lat, lon, pa, pb)
    if rotate:
        lacking = sorted(
            {ids[i] for k, i in enumerate(np.concatenate([pa, pb])) if not np.isfinite(lat[i])}
        )
        if lacking:
            raise InputError(
                f"R/T components need station coordinates; none for {lacking} (pass stations=...)"
            )
        if np.any(pa == pb):
            messages.append("autocorrelations have no azimuth: their R/T components are NaN")

    # ---- rates and the window grid
    if sampling_rate is None:
        if data is None:
            raise InputError("with a loader function, sampling_rate= is required")
        rates = sorted({float(w.sampling_rate) for w in data if w.id in ids})
        if len(rates) != 1:
            raise InputError(
                f"records have different sampling rates {rates} Hz; choose one with sampling_rate="
            )
        fs = rates[0]
    else:
        fs = _positive(sampling_rate, "sampling_rate")
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

    sos = _bandpass_sos(freqmin, freqmax, corners, fs)
    code, ram_half, clip = _temporal_norm_args(
        temporal_norm, ram_window_s, clip_factor, freqmin, fs
    )
    if not (0.0 <= float(taper) <= 0.5):
        raise InputError(f"taper: expected a fraction in [0, 0.5], got {taper!r}")
    band4 = None
    if whiten:
        band = whiten_band
        if band is None:
            if freqmin is None or freqmax is None:
                raise InputError(
                    "whiten=True needs whiten_band=(fmin, fmax) or freqmin and freqmax"
                )
            band = (freqmin, freqmax)
        band4 = _whiten_band(band, fs)
    elif whiten_band is not None:
        raise InputError("whiten_band given but whiten=False")
    smooth = _smooth_bins(whiten_smooth_hz, fs / nfft)
    prep = dict(
        demean=True,
        detrend=bool(detrend),
        taper=float(taper),
        sos=sos,
        zero_phase=True,
        norm=code,
        ram_half=ram_half,
        clip=clip,
        max_over_std=0.0 if max_over_std is None else _positive(max_over_std, "max_over_std"),
        max_flat=_flat_samples(max_flat_s, fs),
    )
    comp_a = np.array([channels.index(c[0]) for c in computed], np.int64)
    comp_b = np.array([channels.index(c[1]) for c in computed], np.int64)
    plan = _Plan(
        station_ids=tuple(ids),
        channels=channels,
        pair_a=pa,
        pair_b=pb,
        comp_a=comp_a,
        comp_b=comp_b,
        computed=computed,
        sampling_rate=fs,
        n_win=n_win,
        nfft=nfft,
        max_lag=max_lag,
        prep=prep,
        whiten_band=band4,
        smooth_bins=smooth,
        normalize=normalize == "coefficient",
        methods=methods,
        pws_power=_positive(pws_power, "pws_power", allow_zero=True),
        robust_epsilon=_positive(robust_epsilon, "robust_epsilon", allow_zero=True),
        robust_max_iter=int(robust_max_iter),
        selective_threshold=float(selective_threshold),
        keep_rows=bool(keep_windows) or "robust" in methods or "selective" in methods,
        keep_windows=bool(keep_windows),
        subsample_shift=bool(subsample_shift),
        station_complete=rotate,
        device=dev,
        workers=nworkers,
    )
    if plan.robust_max_iter < 0:
        raise InputError(f"robust_max_iter: expected >= 0, got {robust_max_iter}")

    records = None
    if data is not None:
        records = _records_from_waveforms(data, plan, messages)
        spans = [
            (r.start_ns, r.start_ns + int(round((r.data.shape[1] - 1) * _NS / fs)))
            for rs in records.values()
            for r in rs
        ]
        if not spans:
            raise InputError(f"no usable records for the components {requested}")
        t_first = min(s for s, _ in spans)
        t_last = max(e for _, e in spans)
    t0 = _to_ns(starttime, "starttime") if starttime is not None else int(t_first)
    t_end = (
        _to_ns(endtime, "endtime") if endtime is not None else int(t_last) + int(round(_NS / fs))
    )
    if t_end <= t0:
        raise InputError(f"endtime {_iso(t_end)} is not after starttime {_iso(t0)}")
    win_ns = int(round(n_win * _NS / fs))
    n_windows = (t_end - t0 - win_ns) // step_ns + 1 if t_end - t0 >= win_ns else 0
    if n_windows <= 0:
        raise InputError(f"no complete {window_s} s window between {_iso(t0)} and {_iso(t_end)}")
    window_ns = t0 + step_ns * np.arange(n_windows, dtype=np.int64)
    day_of = window_ns // _DAY_NS
    days = np.unique(day_of)

    # ---- run the days
    tasks = []
    for d in days:
        wn = window_ns[day_of == d]
        span = (int(wn[0]), int(wn[-1]) + win_ns)
        tasks.append((int(d) * _DAY_NS, wn, span))
    totals = _Totals(plan, bool(substacks))
    results = _run_tasks(tasks, loader, records, plan, fs, client, progress, totals)
    for r in results:
        messages.extend(r.messages)
    ds = _assemble(
        results,
        totals,
        plan,
        requested,
        computed,
        rotate,
        bool(substacks),
        ids,
        lat,
        lon,
        elev,
        dist,
        az,
        baz,
    )
    ds.attrs.update(
        _attrs(
            plan,
            locals_=dict(
                window_s=window_s,
                overlap=overlap,
                step_s=step_ns / _NS,
                freqmin=freqmin,
                freqmax=freqmax,
                corners=corners,
                temporal_norm=temporal_norm,
                ram_window_s=(ram_half * 2 + 1) / fs if code == 2 else None,
                clip_factor=clip if code == 3 else None,
                whiten_smooth_hz=whiten_smooth_hz,
                max_over_std=max_over_std,
                max_flat_s=max_flat_s,
                starttime=_iso(t0),
                endtime=_iso(t_end),
                normalize=normalize,
            ),
        )
    )
    if messages:
        ds.attrs["messages"] = "\n".join(messages)
        for m in messages:
            log.info("%s", m)
    return ds


class _Totals:
    """Sums over days, folded in as each day arrives; the day results keep only what the output
    needs per day (float32 substacks, window counts, and per-window rows when asked for), so
    memory grows by one float32 substack per day rather than by the float64 sums."""

    def __init__(self, plan: _Plan, substacks: bool):
        n_out = len(plan.pair_a) * len(plan.comp_a)
        n_lag = 2 * plan.max_lag + 1
        self.plan, self.substacks = plan, substacks
        self.n = np.zeros(n_out, np.int64)
        self.linear = np.zeros((n_out, n_lag))
        self.phasor = np.zeros((n_out, n_lag), np.complex128) if "pws" in plan.methods else None
        self.counts = 0

    def fold(self, r: _DayResult) -> _DayResult:
        plan = self.plan
        self.n += r.n
        self.linear += r.linear_sum
        if self.phasor is not None:
            self.phasor += r.phasor
        self.counts = self.counts + r.counts
        if self.substacks:
            with np.errstate(divide="ignore", invalid="ignore"):
                mean = r.linear_sum / r.n[:, None]
                r.daily["linear"] = mean.astype(np.float32)
                if self.phasor is not None:
                    pws = mean * (np.abs(r.phasor) / r.n[:, None]) ** plan.pws_power
                    r.daily["pws"] = pws.astype(np.float32)
        else:
            r.daily.clear()
            r.daily_selected = None
        r.linear_sum = r.phasor = None
        return r


def _run_tasks(tasks, loader, records, plan, fs, client, progress, totals):
    from tqdm.auto import tqdm

    bar = tqdm(total=len(tasks), desc="correlating days", unit="day", disable=not progress)
    results = []
    try:
        if client is None:
            for day_ns, wn, span in tasks:
                if loader is not None:
                    lspan = _loader_span(span, fs)
                    results.append(totals.fold(_run_day_loaded(loader, lspan, day_ns, wn, plan)))
                else:
                    recs = _slice_records(records, span[0], span[1], fs)
                    results.append(totals.fold(_run_day(recs, day_ns, wn, plan)))
                bar.update(1)
        else:
            from distributed import as_completed

            futures = []
            for day_ns, wn, span in tasks:
                if loader is not None:
                    futures.append(
                        client.submit(
                            _run_day_loaded,
                            loader,
                            _loader_span(span, fs),
                            day_ns,
                            wn,
                            plan,
                            pure=False,
                        )
                    )
                else:
                    recs = _slice_records(records, span[0], span[1], fs)
                    futures.append(client.submit(_run_day, recs, day_ns, wn, plan, pure=False))
            for fut in as_completed(futures):
                results.append(totals.fold(fut.result()))
                fut.release()
                bar.update(1)
    finally:
        bar.close()
    results.sort(key=lambda r: r.day_ns)
    return results


def _loader_span(span, fs):
    """The span a loader reads for a day: the day's windows plus 2 s and 64 samples each side
    (so that decimation filters see real data at the window edges)."""
    pad = int(2 * _NS + 64 * _NS / fs)
    return span[0] - pad, span[1] + pad


def _assemble(
    results,
    totals,
    plan,
    requested,
    computed,
    rotate,
    substacks,
    ids,
    lat,
    lon,
    elev,
    dist,
    az,
    baz,
):
    import xarray as xr

    n_pairs, n_comp, n_lag = len(plan.pair_a), len(computed), 2 * plan.max_lag + 1
    n_out, n_days = n_pairs * n_comp, len(results)
    N = totals.n
    stacks = {}
    with np.errstate(divide="ignore", invalid="ignore"):
        stacks["linear"] = totals.linear / N[:, None]
        if "pws" in plan.methods:
            stacks["pws"] = (
                stacks["linear"] * (np.abs(totals.phasor) / N[:, None]) ** plan.pws_power
            )
    selected = None
    if "robust" in plan.methods or "selective" in plan.methods:
        rows = np.concatenate([r.rows for r in results])
        outs = np.concatenate([r.row_out for r in results])
        order = np.argsort(outs, kind="stable")  # by output, then day and window
        rows = np.ascontiguousarray(rows[order])
        offsets = np.concatenate([[0], np.cumsum(np.bincount(outs, minlength=n_out))]).astype(
            np.int64
        )
        if "robust" in plan.methods:
            stacks["robust"], _ = _core.correlation.stack_robust(
                rows, offsets, plan.robust_epsilon, plan.robust_max_iter, plan.workers
            )
        if "selective" in plan.methods:
            stacks["selective"], selected = _core.correlation.stack_selective(
                rows, offsets, plan.selective_threshold, plan.workers
            )
        del rows

    # name -> (dims, array with the computed components on the "component" axis)
    out: dict[str, tuple[tuple, np.ndarray]] = {}
    pc = (n_pairs, n_comp)
    for m in plan.methods:
        out[f"ccf_{m}"] = (
            ("pair", "component", "lag"),
            np.asarray(stacks[m], np.float32).reshape(pc + (n_lag,)),
        )
    out["n_windows"] = (("pair", "component"), N.astype(np.int32).reshape(pc))
    if selected is not None:
        out["n_selected"] = (("pair", "component"), np.asarray(selected, np.int32).reshape(pc))
    if substacks:
        dpc = (n_days,) + pc
        for m in plan.methods:
            v = np.stack([r.daily[m] for r in results])
            out[f"daily_{m}"] = (
                ("day", "pair", "component", "lag"),
                v.astype(np.float32, copy=False).reshape(dpc + (n_lag,)),
            )
        out["daily_n_windows"] = (
            ("day", "pair", "component"),
            np.stack([r.n for r in results]).astype(np.int32).reshape(dpc),
        )
        if "selective" in plan.methods:
            out["daily_n_selected"] = (
                ("day", "pair", "component"),
                np.stack([r.daily_selected for r in results]).astype(np.int32).reshape(dpc),
            )
    if plan.keep_windows:
        n_w = sum(len(r.window_ns) for r in results)
        win = np.full((n_w, n_out, n_lag), np.nan, np.float32)
        base = 0
        for r in results:
            win[base + r.row_window, r.row_out] = r.rows
            base += len(r.window_ns)
        out["ccf_windows"] = (
            ("window", "pair", "component", "lag"),
            win.reshape((n_w,) + pc + (n_lag,)),
        )

    comps = tuple(computed)
    if rotate:
        ma, mb = _rotation(az, baz)
        for name, (dims, v) in list(out.items()):
            p_ax = dims.index("pair")
            if "lag" in dims:
                rot = _rotate(v, ma, mb, p_ax)
            else:  # window counts: R/T use the windows every ENZ component had
                rot = np.repeat(v.min(axis=p_ax + 1, keepdims=True), 9, axis=p_ax + 1)
            out[name] = (dims, np.concatenate([v, rot], axis=p_ax + 1))
        comps = comps + COMPONENTS_RTZ
    pick = [comps.index(c) for c in requested]
    data_vars = {
        name: (dims, np.take(v, pick, axis=dims.index("component")))
        for name, (dims, v) in out.items()
    }
    counts = totals.counts
    for k, outcome in enumerate(WINDOW_OUTCOMES):
        data_vars[f"windows_{outcome}"] = (("station", "channel"), counts[..., k].astype(np.int32))

    pa, pb = plan.pair_a, plan.pair_b
    coords = {
        "pair": [f"{ids[a]}:{ids[b]}" for a, b in zip(pa, pb, strict=True)],
        "source": ("pair", [ids[a] for a in pa]),
        "receiver": ("pair", [ids[b] for b in pb]),
        "distance_km": ("pair", dist),
        "azimuth_deg": ("pair", az),
        "backazimuth_deg": ("pair", baz),
        "source_latitude": ("pair", lat[pa]),
        "source_longitude": ("pair", lon[pa]),
        "source_elevation_m": ("pair", elev[pa]),
        "receiver_latitude": ("pair", lat[pb]),
        "receiver_longitude": ("pair", lon[pb]),
        "receiver_elevation_m": ("pair", elev[pb]),
        "component": list(requested),
        "lag": np.arange(-plan.max_lag, plan.max_lag + 1) / plan.sampling_rate,
        "station": list(ids),
        "station_latitude": ("station", lat),
        "station_longitude": ("station", lon),
        "station_elevation_m": ("station", elev),
        "channel": list(plan.channels),
    }
    if substacks:
        coords["day"] = np.array([r.day_ns for r in results], dtype="datetime64[ns]")
    if plan.keep_windows:
        coords["window"] = np.concatenate([r.window_ns for r in results]).astype("datetime64[ns]")
    ds = xr.Dataset(data_vars, coords=coords)
    ds["lag"].attrs["units"] = "s"
    ds["distance_km"].attrs["units"] = "km"
    return ds


def _attrs(plan: _Plan, locals_: dict) -> dict:
    from . import __version__

    band = plan.whiten_band
    a = {
        "title": "ambient-noise cross-correlation functions (seiscore.correlation)",
        "seiscore_version": __version__,
        "created": _iso(
            int(
                np.datetime64(_dt.datetime.now(_dt.timezone.utc).replace(tzinfo=None), "ns").astype(
                    np.int64
                )
            )
        ),
        "sampling_rate": plan.sampling_rate,
        "window_samples": plan.n_win,
        "nfft": plan.nfft,
        "max_lag_s": plan.max_lag / plan.sampling_rate,
        "max_lag_samples": plan.max_lag,
        "detrend": int(plan.prep["detrend"]),
        "taper": plan.prep["taper"],
        "filter": "butterworth zero-phase (forward-backward sosfilt)"
        if plan.prep["sos"].size
        else "none",
        "whiten": int(band is not None),
        "whiten_band_hz": np.asarray(band if band is not None else [], dtype=np.float64),
        "stack_methods": ",".join(plan.methods),
        "pws_power": plan.pws_power,
        "robust_epsilon": plan.robust_epsilon,
        "robust_max_iter": plan.robust_max_iter,
        "selective_threshold": plan.selective_threshold,
        "subsample_shift": int(plan.subsample_shift),
        "device": plan.device,
        "lag_convention": "ccf(tau) = sum_t source(t) * receiver(t + tau); positive lag: receiver later",
        "window_outcomes": ",".join(WINDOW_OUTCOMES),
    }
    for k, v in locals_.items():
        a[k] = "none" if v is None else v
    return a


# ============================================================================ output


def _netcdf_engine() -> str:
    try:
        import h5netcdf  # noqa: F401
        import h5py  # noqa: F401
    except ImportError:
        pass
    else:
        return "h5netcdf"
    try:
        import netCDF4  # noqa: F401
    except ImportError:
        raise BackendUnavailable(
            "writing NetCDF needs h5netcdf and h5py (pip install h5netcdf h5py) or netCDF4"
        ) from None
    return "netcdf4"


def write(ds, path) -> Path:
    """Write a correlation Dataset to NetCDF-4 (``.nc``; h5netcdf, or netCDF4) or Zarr (``.zarr``).

    Returns the path. An existing file or store is replaced.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".zarr":
        try:
            import zarr  # noqa: F401
        except ImportError:
            raise BackendUnavailable(
                "writing .zarr needs the zarr package (pip install zarr)"
            ) from None
        # fixed-width unicode has no stable Zarr v3 encoding; variable-length strings do
        strings = {k: v.astype(object) for k, v in ds.variables.items() if v.dtype.kind == "U"}
        ds.assign_coords({k: v for k, v in strings.items() if k in ds.coords}).to_zarr(
            path, mode="w", consolidated=False
        )
    elif suffix in (".nc", ".nc4", ".netcdf", ".h5", ".hdf5"):
        path.parent.mkdir(parents=True, exist_ok=True)
        ds.to_netcdf(path, engine=_netcdf_engine())
    else:
        raise InputError(f"{path}: unknown output format {suffix!r}; use .nc (NetCDF) or .zarr")
    return path


def read(path):
    """Read a Dataset written by :func:`write` (loaded into memory)."""
    import xarray as xr

    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such file or folder")
    if path.suffix.lower() == ".zarr":
        return xr.open_zarr(path, consolidated=False).load()
    with xr.open_dataset(path, engine=_netcdf_engine()) as ds:
        return ds.load()


def to_obspy(ds, variable: str = "ccf_linear", *, day=None):
    """The CCFs of ``variable`` as an ObsPy Stream, one trace per pair and component.

    Trace ids are the receiver's network, station and location with channel = the component
    (``"ZZ"``); ``stats.correlation`` holds source, receiver, component, distance (km), azimuth
    and back-azimuth, and ``stats.sac`` the SAC header NoisePy writes (``b = -max_lag``, event
    = source, station = receiver, ``dist`` in km, ``user0`` = windows stacked). The first sample
    is at lag ``-max_lag``; ``starttime`` is the start of the stacked period (``day`` for a
    daily substack: pass its date).
    """
    from obspy import Stream, Trace, UTCDateTime

    if variable not in ds:
        raise InputError(f"{variable!r} not in the dataset (have {sorted(ds.data_vars)})")
    da = ds[variable]
    start = ds.attrs.get("starttime", "1970-01-01T00:00:00Z")
    counts = ds["n_windows"]
    if "day" in da.dims:
        if day is None:
            raise InputError(f"{variable} has one stack per day: pass day=")
        da = da.sel(day=np.datetime64(day, "ns"))
        counts = ds["daily_n_windows"].sel(day=np.datetime64(day, "ns"))
        start = str(np.datetime64(day, "ns"))
    if "window" in da.dims:
        raise InputError("to_obspy takes stacks; select one window first (ds.isel(window=i))")
    fs = float(ds.attrs["sampling_rate"])
    max_lag = float(ds["lag"].values[-1])
    st = Stream()
    for p in range(da.sizes["pair"]):
        src, rcv = str(ds["source"].values[p]), str(ds["receiver"].values[p])
        net, sta, loc = (rcv.split(".") + ["", "", ""])[:3]
        for c, comp in enumerate(ds["component"].values):
            tr = Trace(np.asarray(da.values[p, c], dtype=np.float32))
            tr.stats.network, tr.stats.station, tr.stats.location = net, sta, loc
            tr.stats.channel = str(comp)
            tr.stats.sampling_rate = fs
            tr.stats.starttime = UTCDateTime(start)
            info = {
                "source": src,
                "receiver": rcv,
                "component": str(comp),
                "variable": variable,
                "distance_km": float(ds["distance_km"].values[p]),
                "azimuth_deg": float(ds["azimuth_deg"].values[p]),
                "backazimuth_deg": float(ds["backazimuth_deg"].values[p]),
                "max_lag_s": max_lag,
                "n_windows": int(counts.values[p, c]),
            }
            tr.stats.correlation = info
            sac = {
                "b": -max_lag,
                "e": max_lag,
                "user0": float(info["n_windows"]),
                "kevnm": src[-16:],
            }
            for key, name in (
                ("evla", "source_latitude"),
                ("evlo", "source_longitude"),
                ("stla", "receiver_latitude"),
                ("stlo", "receiver_longitude"),
                ("dist", "distance_km"),
                ("az", "azimuth_deg"),
                ("baz", "backazimuth_deg"),
            ):
                v = float(ds[name].values[p])
                if np.isfinite(v):
                    sac[key] = v
            tr.stats.sac = sac
            st.append(tr)
    return st


def plot_moveout(
    ds,
    variable: str = "ccf_linear",
    component: str = "ZZ",
    path=None,
    *,
    ax=None,
    max_lag_s: float | None = None,
    scale: float | None = None,
):
    """Draw the move-out gather: each pair's CCF at its inter-station distance.

    Each trace is normalised by its largest absolute value and drawn as a wiggle centred on
    ``distance_km`` (``scale`` km per unit amplitude; default: 0.4 of the median spacing).
    Pairs without a distance or without windows are left out (their number is printed in the
    title). Returns the matplotlib Figure; with ``path``, also saves it (PNG, PDF, ...).
    """
    import matplotlib

    if ax is None and path is not None:
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if variable not in ds:
        raise InputError(f"{variable!r} not in the dataset (have {sorted(ds.data_vars)})")
    comps = [str(c) for c in ds["component"].values]
    if component not in comps:
        raise InputError(f"component {component!r} not in the dataset (have {comps})")
    da = ds[variable].sel(component=component)
    if "day" in da.dims:
        raise InputError(f"{variable} has one stack per day; select a day (ds.sel(day=...)) first")
    lag = ds["lag"].values
    dist = ds["distance_km"].values
    values = da.values
    ok = np.isfinite(dist) & np.isfinite(values).all(axis=1) & (np.abs(values).max(axis=1) > 0)
    order = np.argsort(dist[ok])
    d, v = dist[ok][order], values[ok][order]
    keep = slice(None)
    if max_lag_s is not None:
        keep = np.abs(lag) <= max_lag_s
    if scale is None:
        spacing = np.diff(np.unique(d))
        scale = 0.4 * (
            np.median(spacing) if spacing.size else max(1.0, float(d.max()) if d.size else 1.0)
        )
    fig = ax.figure if ax is not None else plt.figure(figsize=(8, 7))
    ax = ax if ax is not None else fig.add_subplot(1, 1, 1)
    for dk, vk in zip(d, v, strict=True):
        ax.plot(lag[keep], dk + scale * vk[keep] / np.abs(vk).max(), color="k", lw=0.6)
    ax.set_xlabel("lag (s)")
    ax.set_ylabel("inter-station distance (km)")
    left = int((~ok).sum())
    ax.set_title(
        f"{variable} {component}: {ok.sum()} pairs"
        + (f" ({left} without distance or data)" if left else "")
    )
    if path is not None:
        fig.savefig(path, dpi=120, bbox_inches="tight")
    return fig
