"""Phase labels and loss weights for one window, as the pickers were trained.

:func:`phase_labels` makes the target ``[3, window]`` (noise, P, S) from pick positions:
a Gaussian (PhaseNet; ``width`` is its standard deviation in samples) or a triangle
(EQTransformer-style; ``width`` is its half-width) around each pick, the larger value where two
overlap, and noise = 1 - P - S (at least 0). :func:`loss_weights` is 1 everywhere but in the
zones around unpicked arrivals (0), so that the loss neither rewards nor punishes a pick there.
:func:`normalise` is the card's per-window normalisation, the same arithmetic as the runtime's.
"""

from __future__ import annotations

import numpy as np

__all__ = ["LABEL_SHAPES", "loss_weights", "normalise", "phase_labels"]

LABEL_SHAPES = ("gaussian", "triangle")


def _bumps(positions, window: int, shape: str, width: float) -> np.ndarray:
    t = np.arange(window, dtype=np.float64)
    out = np.zeros(window, np.float64)
    for p in np.asarray(positions, np.float64):
        if not np.isfinite(p):
            continue
        if shape == "gaussian":
            lo, hi = int(max(0, p - 5 * width)), int(min(window, p + 5 * width + 1))
            if hi > lo:
                bump = np.exp(-0.5 * ((t[lo:hi] - p) / width) ** 2)
                out[lo:hi] = np.maximum(out[lo:hi], bump)
        elif shape == "triangle":
            lo, hi = int(max(0, p - width)), int(min(window, p + width + 1))
            if hi > lo:
                bump = np.clip(1.0 - np.abs(t[lo:hi] - p) / width, 0.0, 1.0)
                out[lo:hi] = np.maximum(out[lo:hi], bump)
        else:
            raise ValueError(f"label shape must be one of {LABEL_SHAPES}, got {shape!r}")
    return out


def phase_labels(p, s, window: int, shape: str = "gaussian", width: float = 10.0) -> np.ndarray:
    """``[3, window]`` float32 target: noise, P, S (see the module docstring); ``p`` and ``s``
    are pick positions in samples (NaN ignored)."""
    if not width > 0:
        raise ValueError(f"label width must be positive, got {width}")
    yp = _bumps(p, window, shape, width)
    ys = _bumps(s, window, shape, width)
    noise = np.clip(1.0 - yp - ys, 0.0, 1.0)
    return np.stack([noise, yp, ys]).astype(np.float32)


def loss_weights(ignore_positions, window: int, half_width: float) -> np.ndarray:
    """``[window]`` float32: 0 within ``half_width`` samples of an unpicked arrival, else 1."""
    w = np.ones(window, np.float32)
    for x in np.asarray(ignore_positions, np.float64):
        if np.isfinite(x):
            lo, hi = int(max(0, np.floor(x - half_width))), int(min(window, x + half_width + 1))
            if hi > lo:
                w[lo:hi] = 0.0
    return w


def normalise(x: np.ndarray, mode: str = "std") -> np.ndarray:
    """Per window and channel, over the last axis: ``"std"`` (minus the mean, divided by the
    population standard deviation; a constant row becomes zeros), ``"demean"``, ``"peak"``
    (minus the mean, divided by the largest absolute value) or ``"none"``; as the runtime's
    ``cut_windows`` (C++) does."""
    x = np.asarray(x, np.float64)
    if mode == "none":
        return x.astype(np.float32)
    x = x - x.mean(axis=-1, keepdims=True)
    if mode == "peak":
        peak = np.abs(x).max(axis=-1, keepdims=True)
        return (x / np.where(peak > 0, peak, 1.0)).astype(np.float32)
    if mode == "demean":
        return x.astype(np.float32)
    std = x.std(axis=-1, keepdims=True)
    return (x / np.where(std > 0, std, 1.0)).astype(np.float32)
