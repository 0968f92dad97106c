"""Frequency-domain steps: sub-sample alignment and spectral whitening (:func:`whiten_spectra`),
cross-spectra and their inverse FFT (:func:`cross_correlate`), and the dispatch of these kernels
to ``seiscore._core.correlation`` or, with ``device="cuda"``, ``seiscore._cuda.correlation``."""

from __future__ import annotations

import numpy as np
import scipy.fft

from .. import _core
from .._backend import _cuda_module, resolve_device
from .._validate import as_float32_array, check_workers
from ..exceptions import BackendUnavailable, InputError
from ._common import _positive, _workers_for_fft

NORMALIZATIONS = ("coefficient", "none")


def _cuda_correlation():
    mod = _cuda_module()
    if mod is None or not hasattr(mod, "correlation"):
        raise BackendUnavailable(
            "device='cuda' needs seiscore._cuda with the correlation kernels; reinstall with a "
            "CUDA toolkit on the PATH (SEISCORE_CUDA=ON pip install .)"
        )
    return mod.correlation


def _check_normalize(normalize) -> None:
    if normalize not in NORMALIZATIONS:
        raise InputError(f"normalize: expected 'coefficient' or 'none', got {normalize!r}")


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
            "spec: expected a complex64 array [n_rows, nfft // 2 + 1] "
            "(scipy.fft.rfft of float32 rows)"
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


def _whitening(whiten, whiten_band, freqmin, freqmax, fs) -> np.ndarray | None:
    """The four-corner whitening band of correlate() (``None``: no whitening); the band defaults
    to ``(freqmin, freqmax)``."""
    if not whiten:
        if whiten_band is not None:
            raise InputError("whiten_band given but whiten=False")
        return None
    band = whiten_band
    if band is None:
        if freqmin is None or freqmax is None:
            raise InputError("whiten=True needs whiten_band=(fmin, fmax) or freqmin and freqmax")
        band = (freqmin, freqmax)
    return _whiten_band(band, fs)


def _smooth_bins(smooth_hz, df) -> int:
    v = _positive(smooth_hz, "whiten_smooth_hz", allow_zero=True)
    return int(round(v / df / 2.0))


def _condition(spec, nfft, df, band4, smooth, shift, device, workers) -> np.ndarray:
    """Shift and whiten ``spec`` in place on ``device``; returns the row energies."""
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
    """Weighted cross-spectra ``w * conj(spec[ra]) * spec[rb]`` (summed per ``out_index``)."""
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
    _check_normalize(normalize)
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
