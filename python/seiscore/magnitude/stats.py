"""Frequency–magnitude statistics: magnitude of completeness and b-value.

* :func:`completeness_max_curvature`: Mc by maximum curvature (Wiemer & Wyss 2000): the
  magnitude bin with the most events in the non-cumulative distribution, plus an optional
  correction (``+0.2`` is common; default 0, stated in the result).
* :func:`b_value_mle`: the maximum-likelihood b-value of Aki (1965) with Utsu's (1965) bin
  correction, ``b = log10(e) / (mean(M) - (Mc - dM / 2))`` over events with ``M >= Mc``, and its
  uncertainty ``b / sqrt(n)`` (Aki) — or Shi & Bolt (1982) with ``method="shi_bolt"``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..exceptions import InputError

__all__ = ["GutenbergRichter", "b_value_mle", "completeness_max_curvature", "gutenberg_richter"]


def _mags(magnitudes) -> np.ndarray:
    m = np.asarray(magnitudes, dtype=np.float64)
    return m[np.isfinite(m)]


def completeness_max_curvature(
    magnitudes, bin_width: float = 0.1, correction: float = 0.0
) -> float:
    """Mc by maximum curvature (the centre of the most populated bin) + ``correction``."""
    m = _mags(magnitudes)
    if m.size == 0:
        raise InputError("magnitude of completeness: no finite magnitude")
    if not bin_width > 0:
        raise InputError(f"bin_width must be positive, got {bin_width}")
    bins = np.round(m / bin_width).astype(np.int64)
    values, counts = np.unique(bins, return_counts=True)
    return float(values[np.argmax(counts)] * bin_width + correction)


def b_value_mle(magnitudes, mc: float, bin_width: float = 0.1, method: str = "aki"):
    """(b, uncertainty, n) from the events with ``M >= mc - bin_width / 2`` (the Mc bin)."""
    m = _mags(magnitudes)
    m = m[m >= mc - bin_width / 2 - 1e-9]
    n = m.size
    if n < 2:
        raise InputError(f"b-value: {n} event(s) at or above Mc {mc:g}; need at least 2")
    mean = m.mean()
    denom = mean - (mc - bin_width / 2)
    if not denom > 0:
        raise InputError("b-value: the magnitudes above Mc have no spread")
    b = np.log10(np.e) / denom
    if method == "aki":
        sigma = b / np.sqrt(n)
    elif method == "shi_bolt":
        sigma = 2.3 * b * b * np.sqrt(np.sum((m - mean) ** 2) / (n * (n - 1)))
    else:
        raise InputError(f"b-value method: expected 'aki' or 'shi_bolt', got {method!r}")
    return float(b), float(sigma), int(n)


@dataclass(frozen=True)
class GutenbergRichter:
    """``log10 N(>= M) = a - b M`` fitted above ``mc`` (``n`` events)."""

    mc: float
    b: float
    b_uncertainty: float
    a: float
    n: int
    bin_width: float
    mc_method: str = "maximum curvature"


def gutenberg_richter(magnitudes, bin_width: float = 0.1, mc: float | None = None,
                      mc_correction: float = 0.0) -> GutenbergRichter:  # fmt: skip
    """Mc (maximum curvature unless given), the MLE b-value and the a-value."""
    m = _mags(magnitudes)
    if mc is None:
        mc = completeness_max_curvature(m, bin_width, mc_correction)
    b, sigma, n = b_value_mle(m, mc, bin_width)
    a = float(np.log10(n) + b * (mc - bin_width / 2))
    return GutenbergRichter(float(mc), b, sigma, a, n, bin_width)
