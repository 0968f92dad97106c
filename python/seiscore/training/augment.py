"""Windows cut from segments, with the augmentations pickers are trained with.

:func:`cut_window` draws a window of the model's length from a segment (:mod:`.store`): for
training at a random place that keeps the segment's anchor pick at least ``guard`` of the window
from either edge (the *random shift*), for validation at a place drawn once from a fixed seed.
:func:`augment_window` then applies, each with its probability in :class:`AugmentConfig`:

* amplitude scaling: each channel multiplied by ``10 ** U(-scale_log10, scale_log10)``;
* added noise: Gaussian noise of ``U(0, noise_level)`` times the channel's standard deviation;
* a gap: ``U(gap_min, gap_max)`` of the window set to zero on all channels (the picks inside
  it are removed: nothing can be picked in a gap);
* channel drop-out: one or two channels set to zero (as seiscore runs a station with only Z).

Pick positions travel with the window (samples from its first sample).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

import numpy as np

__all__ = ["AugmentConfig", "augment_window", "cut_window", "parse_augment"]


@dataclass(frozen=True)
class AugmentConfig:
    """Augmentation settings; probabilities in [0, 1], lengths as fractions of the window."""

    shift: bool = True
    guard: float = 0.05
    scale_prob: float = 0.5
    scale_log10: float = 0.5
    noise_prob: float = 0.5
    noise_level: float = 0.5
    gap_prob: float = 0.1
    gap_min: float = 0.02
    gap_max: float = 0.2
    drop_prob: float = 0.1

    def as_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def none(cls) -> AugmentConfig:
        """No augmentation (windows still shifted at random)."""
        return cls(scale_prob=0.0, noise_prob=0.0, gap_prob=0.0, drop_prob=0.0)


def parse_augment(text: str | None) -> AugmentConfig:
    """``"none"``, ``"default"``, or ``key=value`` pairs separated by commas
    (``"noise_prob=0.8,gap_prob=0"``); unknown keys raise ValueError naming them."""
    if not text or text == "default":
        return AugmentConfig()
    if text == "none":
        return AugmentConfig.none()
    known = {f.name: f.type for f in fields(AugmentConfig)}
    values: dict = {}
    for item in text.split(","):
        key, _, value = item.partition("=")
        key = key.strip()
        if key not in known:
            raise ValueError(f"unknown augmentation {key!r} (known: {sorted(known)})")
        if key == "shift":
            values[key] = value.strip().lower() in ("1", "true", "yes", "on")
        else:
            values[key] = float(value)
            if key.endswith("_prob") and not 0.0 <= values[key] <= 1.0:
                raise ValueError(f"{key} is a probability in [0, 1], got {value}")
    return AugmentConfig(**values)


def cut_window(
    segment: np.ndarray,
    valid: tuple[int, int],
    anchor: float,
    window: int,
    rng: np.random.Generator,
    guard: float = 0.05,
    shift: bool = True,
) -> int:
    """Start of a window of ``window`` samples in a segment: the anchor at least
    ``guard * window`` samples inside it, the window inside ``valid`` where it fits; drawn by
    ``rng`` (uniform), or the anchor at the window's middle with ``shift=False``."""
    length = segment.shape[-1]
    g = int(guard * window)
    lo = max(int(valid[0]), int(np.ceil(anchor)) - window + g, 0)
    hi = min(int(valid[1]) - window, int(np.floor(anchor)) - g, length - window)
    if not shift:
        return int(np.clip(int(round(anchor)) - window // 2, 0, max(length - window, 0)))
    if hi < lo:  # the segment is too short for the guard: anywhere that holds the anchor
        lo, hi = max(0, int(anchor) - window + 1), min(length - window, int(anchor))
        if hi < lo:
            return max(0, min(length - window, int(anchor) - window // 2))
    return int(rng.integers(lo, hi + 1))


def augment_window(
    x: np.ndarray, picks: dict[str, np.ndarray], config: AugmentConfig, rng: np.random.Generator
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Augmented copy of the window ``x[channel, sample]`` and its picks (see the module
    docstring)."""
    x = np.array(x, dtype=np.float32, copy=True)
    n_ch, n = x.shape
    if rng.random() < config.scale_prob:
        x *= (10.0 ** rng.uniform(-config.scale_log10, config.scale_log10, n_ch))[:, None]
    if rng.random() < config.noise_prob:
        std = x.std(axis=1, keepdims=True)
        level = rng.uniform(0.0, config.noise_level)
        x += (rng.standard_normal(x.shape) * std * level).astype(np.float32)
    if rng.random() < config.gap_prob:
        length = int(n * rng.uniform(config.gap_min, config.gap_max))
        start = int(rng.integers(0, max(1, n - length)))
        x[:, start : start + length] = 0.0
        picks = {
            k: v[~((v >= start) & (v < start + length))] if k in ("P", "S") else v
            for k, v in picks.items()
        }
    if n_ch > 1 and rng.random() < config.drop_prob:
        drop = rng.choice(n_ch, size=int(rng.integers(1, n_ch)), replace=False)
        x[drop] = 0.0
    return x, picks
