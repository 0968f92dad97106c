"""Stacks of per-window cross-correlation functions: linear, phase-weighted, robust and
selective (:func:`stack`), and the sums they are made of."""

from __future__ import annotations

import numpy as np
import scipy.fft

from .. import _core
from .._validate import as_float32_array, check_workers
from ..exceptions import InputError
from ._common import _workers_for_fft

STACK_METHODS = ("linear", "pws", "robust", "selective")


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
    offsets = _offsets(np.bincount(labels, minlength=n_groups))
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


def _stack_methods(methods) -> tuple:
    """correlate()'s ``stack`` argument (a name or a sequence of names) as a checked tuple."""
    out = (methods,) if isinstance(methods, str) else tuple(methods)
    bad = [m for m in out if m not in STACK_METHODS]
    if bad or not out or len(set(out)) != len(out):
        raise InputError(f"stack: expected distinct methods among {STACK_METHODS}, got {methods!r}")
    return out


def _offsets(counts) -> np.ndarray:
    """Group boundaries (int64, ``len(counts) + 1``) of rows sorted by group."""
    return np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)


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


def _linear_and_pws(linear_sum, phasor, n, pws_power) -> dict:
    """Linear (and, with ``phasor``, phase-weighted) stacks from the sums of ``n`` CCFs and of
    their unit phasors (float64; NaN where ``n`` is 0)."""
    out = {}
    with np.errstate(divide="ignore", invalid="ignore"):
        out["linear"] = linear_sum / n[:, None]
        if phasor is not None:
            out["pws"] = out["linear"] * (np.abs(phasor) / n[:, None]) ** pws_power
    return out


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
