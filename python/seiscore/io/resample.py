"""Resampling of records with gaps (NaN): each run of finite samples on its own, so gaps stay
gaps. See :func:`seiscore.io.waveforms.to_waveforms` for the methods and their filters."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
from scipy import signal

_MAX_POLY = 100
_LANCZOS_A = 20


def _segments(x: np.ndarray) -> list[tuple[int, int]]:
    """Half-open ``(start, end)`` of each run of finite samples."""
    finite = np.isfinite(x).astype(np.int8)
    edges = np.diff(np.concatenate(([0], finite, [0])))
    return list(
        zip(np.flatnonzero(edges == 1).tolist(), np.flatnonzero(edges == -1).tolist(), strict=True)
    )


def _rate_ratio(rate: float, target: float) -> tuple[int, int] | None:
    """``(up, down)`` with ``target = rate * up / down`` exactly, both ≤ _MAX_POLY; else None."""
    frac = Fraction(target / rate).limit_denominator(_MAX_POLY)
    up, down = frac.numerator, frac.denominator
    if up == 0 or max(up, down) > _MAX_POLY:
        return None
    if abs(rate * up / down - target) > 1e-9 * target:
        return None
    return up, down


def _poly_filter(up: int, down: int) -> np.ndarray:
    """Anti-alias / anti-imaging FIR for ``resample_poly`` (cutoff relative to the Nyquist of
    the intermediate rate ``rate * up``)."""
    if up == 1:
        # integer decimation: scipy.signal.decimate(x, q, ftype="fir", zero_phase=True)'s filter
        return signal.firwin(20 * down + 1, 1.0 / down, window="hamming")
    m = max(up, down)
    cutoff = 0.9 / down if down > up else 1.0 / up  # 0.45 × new rate when downsampling
    # Kaiser beta 8 (~80 dB stop band) over 32 m + 1 taps: the polyphase branches then differ
    # in gain by ~1e-5 instead of ~1e-3 with scipy's default (beta 5, 20 m + 1 taps)
    return signal.firwin(32 * m + 1, cutoff, window=("kaiser", 8.0))


def _resample(x: np.ndarray, rate: float, target: float) -> np.ndarray:
    """Resample ``x`` (float64, NaN gaps; sample k at ``k / rate``) onto ``m / target``.

    Each run of finite samples is resampled on its own, so gaps stay NaN and never leak data.
    The output covers the input span (its last sample is at or before the last input sample).
    """
    n = x.size
    n_out = int(math.floor((n - 1) * target / rate + 1e-6)) + 1
    y = np.full(n_out, np.nan)
    ratio = _rate_ratio(rate, target)
    h = _poly_filter(*ratio) if ratio else None
    sos = None
    if ratio is None and target < rate:
        sos = signal.butter(8, 0.45 * target, fs=rate, output="sos")
    for s, e in _segments(x):
        seg = x[s:e]
        if ratio is not None:
            up, down = ratio
            # start at the first input sample that falls on the output grid (< down dropped)
            p = (-s) % down
            seg, s = seg[p:], s + p
            if seg.size == 0:
                continue
            m0 = s * up // down
            k = (seg.size - 1) * up // down + 1
            if seg.size == 1:
                y[m0] = seg[0]
                continue
            # the mean (raw counts carry a large offset) is taken out and put back exactly;
            # padtype="line" extends the ends linearly rather than with zeros (less edge ringing)
            mean = float(seg.mean())
            out = signal.resample_poly(seg - mean, up, down, window=h, padtype="line")
            y[m0 : m0 + k] = out[:k] + mean
        else:
            m0 = int(math.ceil(s * target / rate - 1e-6))
            m1 = int(math.floor((e - 1) * target / rate + 1e-6))
            if m1 < m0:
                continue
            if seg.size == 1:
                y[m0] = seg[0]
                continue
            mean = float(seg.mean())
            seg = seg - mean
            if sos is not None:
                padlen = min(3 * (2 * len(sos) + 1), seg.size - 1)
                seg = signal.sosfiltfilt(sos, seg, padlen=padlen)
            old_end = (seg.size - 1) / rate
            new_start = max(m0 / target - s / rate, 0.0)
            npts = m1 - m0 + 1
            while npts > 0 and new_start + (npts - 1) / target > old_end:
                npts -= 1  # rounding at the very end: never extrapolate
            if npts <= 0:
                continue
            from obspy.signal.interpolation import lanczos_interpolation

            out = lanczos_interpolation(
                np.ascontiguousarray(seg),
                0.0,
                1.0 / rate,
                new_start,
                1.0 / target,
                npts,
                a=_LANCZOS_A,
                window="lanczos",
            )
            y[m0 : m0 + npts] = out + mean
    return y
