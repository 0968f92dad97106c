"""Detection: candidate events at the peaks of the maximum-coalescence trace."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..containers import _Columns
from ..exceptions import InputError
from .migrate import Coalescence

__all__ = ["Triggers", "detect"]


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
