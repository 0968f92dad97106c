"""Picks on validation windows against the reference picks: precision, recall, residuals, and
the thresholds that the card recommends.

Picks are the peaks of a probability trace at or above a threshold, at least ``distance``
samples apart (``scipy.signal.find_peaks``, as the runtime's C++ peak picker; see
:func:`seiscore.picking.extract_picks`). A peak within ``match`` samples of a reference pick of
its phase is a true positive (each reference pick matched once, nearest peak first), and its
residual is peak − reference; a peak inside a loss-free zone (an unpicked arrival) is neither
true nor false; every other peak is a false positive; unmatched reference picks are misses.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

__all__ = ["PhaseMetrics", "choose_threshold", "match_picks", "phase_metrics", "window_peaks"]

THRESHOLDS = np.round(np.arange(0.05, 0.951, 0.05), 2)


@dataclass
class PhaseMetrics:
    """Pick quality of one phase at one threshold; residuals in seconds."""

    threshold: float
    true_positives: int
    false_positives: int
    misses: int
    precision: float
    recall: float
    f1: float
    residual_median_s: float
    residual_mad_s: float
    residual_rms_s: float
    residual_abs_max_s: float

    def as_dict(self) -> dict:
        return {k: (round(v, 6) if isinstance(v, float) else v) for k, v in asdict(self).items()}


def window_peaks(trace: np.ndarray, threshold: float, distance: int) -> np.ndarray:
    from scipy.signal import find_peaks

    peaks, _ = find_peaks(trace, height=threshold, distance=max(1, int(distance)))
    return peaks


def match_picks(
    peaks: np.ndarray, truth: np.ndarray, ignore: np.ndarray, match: float, ignore_half: float
):
    """(residuals of the matched picks, false positives, misses) of picks ``peaks`` against
    reference picks ``truth`` and unpicked arrivals ``ignore`` (one unit: samples or seconds)."""
    peaks = np.asarray(peaks, np.float64)
    truth = np.asarray(truth, np.float64)
    truth = truth[np.isfinite(truth)]
    ignore = np.asarray(ignore, np.float64)
    ignore = ignore[np.isfinite(ignore)]
    free = list(range(len(peaks)))
    residuals = []
    pairs = sorted(
        ((abs(peaks[j] - t), i, j) for i, t in enumerate(truth) for j in range(len(peaks))),
    )
    used_t, used_p = set(), set()
    for d, i, j in pairs:
        if d > match or i in used_t or j in used_p:
            continue
        used_t.add(i)
        used_p.add(j)
        residuals.append(peaks[j] - truth[i])
    free = [j for j in free if j not in used_p]
    fp = sum(1 for j in free if not np.any(np.abs(ignore - peaks[j]) <= ignore_half))
    return residuals, fp, len(truth) - len(used_t)


def phase_metrics(
    prob: np.ndarray,
    truth: np.ndarray,
    ignore: np.ndarray,
    *,
    threshold: float,
    sampling_rate: float,
    match_s: float,
    distance_s: float,
    ignore_s: float,
) -> PhaseMetrics:
    """Metrics of one phase over windows: ``prob[window, sample]``, ``truth[window, K]`` and
    ``ignore[window, K]`` pick positions in samples (NaN-padded)."""
    fs = sampling_rate
    res, fp, miss = [], 0, 0
    for w in range(prob.shape[0]):
        peaks = window_peaks(prob[w], threshold, int(round(distance_s * fs)))
        r, f, m = match_picks(peaks, truth[w], ignore[w], match_s * fs, ignore_s * fs)
        res += r
        fp += f
        miss += m
    tp = len(res)
    precision = tp / (tp + fp) if tp + fp else float("nan")
    recall = tp / (tp + miss) if tp + miss else float("nan")
    f1 = 2 * tp / (2 * tp + fp + miss) if tp + fp + miss else float("nan")
    r = np.asarray(res, np.float64) / fs
    nan = float("nan")
    return PhaseMetrics(
        threshold=float(threshold),
        true_positives=tp,
        false_positives=fp,
        misses=miss,
        precision=precision,
        recall=recall,
        f1=f1,
        residual_median_s=float(np.median(r)) if tp else nan,
        residual_mad_s=float(np.median(np.abs(r - np.median(r)))) if tp else nan,
        residual_rms_s=float(np.sqrt(np.mean(r**2))) if tp else nan,
        residual_abs_max_s=float(np.abs(r).max()) if tp else nan,
    )


def choose_threshold(prob, truth, ignore, **kwargs) -> tuple[float, list[PhaseMetrics]]:
    """The threshold of best F1 on the validation windows (the middle of the thresholds that
    reach it, so that a plateau gives its centre), and the metrics at every threshold tried
    (0.05 … 0.95)."""
    table = [phase_metrics(prob, truth, ignore, threshold=float(t), **kwargs) for t in THRESHOLDS]
    f1 = np.array([m.f1 if np.isfinite(m.f1) else -1.0 for m in table])
    best = np.flatnonzero(f1 >= f1.max() - 1e-12)
    return float(THRESHOLDS[best[len(best) // 2]]), table
