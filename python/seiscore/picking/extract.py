"""Picks from phase-probability traces: peaks or a hysteresis trigger, in the C++ kernel
``seiscore._core.picking``."""

from __future__ import annotations

import math

import numpy as np

from .. import _core
from .._validate import as_float32_array, check_workers, per_phase
from ..containers import SamplePicks
from ..exceptions import InputError


def extract_picks(
    prob,
    *,
    method: str = "peaks",
    height=0.3,
    distance=1,
    on=None,
    off=None,
    sampling_rate: float | None = None,
    workers: int | None = None,
) -> SamplePicks:
    """Extract picks from phase-probability traces.

    Parameters
    ----------
    prob : array_like, shape ``[n_traces, n_phases, n_samples]``
        Probabilities (unitless, normally in [0, 1]). float32 arrays of any strides are read in
        place (no copy; e.g. a transposed ONNX output); other real dtypes are converted to
        float32. NaN marks unknown samples (gaps): NaN is never picked, a sample next to a NaN is
        not a local maximum, and NaN ends a trigger segment.
    method : ``"peaks"`` or ``"trigger"``
        ``"peaks"``: local maxima with probability ``>= height`` and, among those closer than
        ``distance``, only the highest (non-maximum suppression), as
        ``scipy.signal.find_peaks(x, height=height, distance=distance)`` per trace and phase:
        the same candidates (the first and last samples are never peaks; a flat plateau gives
        one peak at its middle sample, rounded down) and the same suppression, highest first.
        Ties differ: among equally high peaks closer than ``distance`` the later one wins
        here, always, while SciPy's choice follows NumPy's unstable ``argsort`` and may keep
        another; without such ties the picks are identical.
        ``"trigger"``: hysteresis trigger; a segment opens at the first sample ``>= on`` and
        closes at the first sample ``< off``; one pick per segment at its maximum.
    height : float or sequence of float, one per phase
        Peak threshold (``"peaks"``), default 0.3; a probability in [0, 1].
    distance : int or float or sequence, one per phase
        Minimum separation of kept peaks, in samples (or in seconds if ``sampling_rate`` is
        given); rounded up to whole samples, at least 1 (no suppression).
    on, off : float or sequence of float, one per phase
        Trigger thresholds (``"trigger"``), probabilities in [0, 1] with ``off <= on``; ``off``
        defaults to ``on / 2``.
    sampling_rate : float, optional
        Samples per second; when given, ``distance`` is in seconds.
    workers : int, optional
        Threads (default: all cores). Results do not depend on it.

    Returns
    -------
    SamplePicks
        Columnar table sorted by (trace, phase, index), with sub-sample ``position`` (samples,
        parabolic interpolation through the peak and its neighbours; the centre of a plateau),
        ``probability`` at the pick, and the half-open range ``[start, end)`` of samples above
        the threshold around it (the trigger segment for ``"trigger"``).
    """
    arr = as_float32_array(prob, "prob", 3, "[n_traces, n_phases, n_samples]")
    n_phases = arr.shape[1]
    nworkers = check_workers(workers)
    if method == "peaks":
        if on is not None or off is not None:
            raise InputError("on/off are trigger thresholds; use method='trigger' or height=")
        h, d = _peak_parameters(height, distance, sampling_rate, n_phases)
        cols = _core.picking.find_peaks(arr, h, d, nworkers)
    elif method == "trigger":
        on_, off_ = _trigger_thresholds(on, off, n_phases)
        cols = _core.picking.find_triggers(arr, on_, off_, nworkers)
    else:
        raise InputError(f"method: expected 'peaks' or 'trigger', got {method!r}")
    return SamplePicks(
        trace=cols["trace"],
        phase=cols["phase"],
        index=cols["index"],
        position=cols["position"],
        probability=cols["value"],
        start=cols["start"],
        end=cols["end"],
    )


def _peak_parameters(height, distance, sampling_rate, n_phases: int):
    """Per-phase peak heights (float32) and minimum separations in whole samples (int64)."""
    h = per_phase(height, n_phases, "height", np.float32)
    if np.isnan(h).any():
        raise InputError("height: NaN is not a threshold")
    check_thresholds(height, "height")
    dist = per_phase(distance, n_phases, "distance", np.float64)
    if sampling_rate is not None:
        if not (sampling_rate > 0 and math.isfinite(sampling_rate)):
            raise InputError(f"sampling_rate: expected a positive number, got {sampling_rate}")
        dist = dist * float(sampling_rate)
    if not np.isfinite(dist).all() or (dist < 0).any():
        raise InputError(f"distance: expected non-negative finite values, got {dist}")
    return h, np.maximum(np.ceil(dist - 1e-9), 1).astype(np.int64)


def check_thresholds(values, name: str, phases=None) -> None:
    """InputError naming ``name`` (and the phase) for a probability threshold outside [0, 1]:
    below 0 every sample passes, above 1 none does."""
    values = np.atleast_1d(np.asarray(values, dtype=np.float64))
    bad = np.flatnonzero(~((values >= 0.0) & (values <= 1.0)))
    if bad.size:
        i = int(bad[0])
        which = (
            f" for phase {phases[i]}"
            if phases is not None
            else (f"[{i}]" if values.size > 1 else "")
        )
        raise InputError(
            f"{name}{which}: expected a probability threshold in [0, 1], got {values[i]:g}"
        )


def _trigger_thresholds(on, off, n_phases: int):
    """Per-phase trigger thresholds (float32): ``on`` and ``off`` (default ``on / 2``)."""
    if on is None:
        raise InputError("method='trigger' needs the on threshold (on=...)")
    on_ = per_phase(on, n_phases, "on", np.float32)
    off_ = per_phase(on_ / 2 if off is None else off, n_phases, "off", np.float32)
    if not (np.isfinite(on_).all() and np.isfinite(off_).all()):
        raise InputError("on/off: thresholds must be finite")
    check_thresholds(on, "on")
    check_thresholds(on_ / 2 if off is None else off, "off")
    if (off_ > on_).any():
        raise InputError(f"off must not exceed on (on={on_.tolist()}, off={off_.tolist()})")
    return on_, off_
