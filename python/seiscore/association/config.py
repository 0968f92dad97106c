"""Association settings: the search volume (limits and coarse cell sizes) and the search
configuration handed to the kernel, both checked (``ConfigError`` for bad settings)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..exceptions import ConfigError

_POSITIVE = (
    "cell_km",
    "cell_depth_km",
    "tolerance_s",
    "max_distance_km",
    "max_rms_s",
    "block_s",
    "bin_s",
)


def default_volume(x_km, y_km, *, margin_fraction: float = 0.1, min_margin_km: float = 5.0):
    """Horizontal search limits: the stations' bounding box, widened on each side by
    ``margin_fraction`` of its larger side (at least ``min_margin_km``)."""
    x0, x1 = float(np.min(x_km)), float(np.max(x_km))
    y0, y1 = float(np.min(y_km)), float(np.max(y_km))
    pad = max(min_margin_km, margin_fraction * max(x1 - x0, y1 - y0))
    return (x0 - pad, x1 + pad), (y0 - pad, y1 + pad)


@dataclass(frozen=True)
class _SearchVolume:
    """Search limits (km; depths below sea level) and coarse cell sizes (km)."""

    x0: float
    x1: float
    y0: float
    y1: float
    z0: float
    z1: float
    cell_km: float
    cell_depth_km: float

    def farthest_station_km(self, sx: np.ndarray, sy: np.ndarray) -> float:
        """The largest horizontal distance from a corner of the volume to a station."""
        corners_x = np.array([self.x0, self.x1, self.x0, self.x1])
        corners_y = np.array([self.y0, self.y0, self.y1, self.y1])
        return float(np.max(np.hypot(sx[:, None] - corners_x, sy[:, None] - corners_y)))


def _search_volume(sx, sy, xlim, ylim, zlim, cell_km, cell_depth_km) -> _SearchVolume:
    """The checked search volume: ``xlim``/``ylim`` default to :func:`default_volume` of the
    stations at ``sx``/``sy``; cells default to the longer horizontal side / 24 (within 3–20 km)
    and, vertically, the same but at most half the depth range."""
    if xlim is None or ylim is None:
        dx, dy = default_volume(sx, sy)
        xlim = dx if xlim is None else xlim
        ylim = dy if ylim is None else ylim
    try:
        (x0, x1), (y0, y1), (z0, z1) = (map(float, xlim), map(float, ylim), map(float, zlim))
    except (TypeError, ValueError):
        raise ConfigError(
            f"xlim/ylim/zlim: expected (min, max) pairs, got {xlim}, {ylim}, {zlim}"
        ) from None
    for name, lo, hi in (("xlim", x0, x1), ("ylim", y0, y1), ("zlim", z0, z1)):
        if not (np.isfinite(lo) and np.isfinite(hi) and hi >= lo):
            raise ConfigError(
                f"{name}: expected finite (min, max) with max >= min, got ({lo}, {hi})"
            )
    span = max(x1 - x0, y1 - y0)
    if cell_km is None:
        cell_km = float(np.clip(span / 24.0, 3.0, 20.0))
    if cell_depth_km is None:
        cell_depth_km = float(min(cell_km, max((z1 - z0) / 2.0, 1.0)))
    return _SearchVolume(x0, x1, y0, y1, z0, z1, cell_km, cell_depth_km)


def _search_config(
    volume: _SearchVolume,
    *,
    tolerance_s,
    tolerance_fraction,
    max_distance_km,
    min_pick_fraction,
    min_picks,
    min_p,
    min_s,
    min_p_and_s,
    max_rms_s,
    block_s,
    bin_s,
    workers: int,
) -> dict:
    """The kernel's configuration (the keyword arguments of
    :func:`~seiscore.association.associate`, with ``None`` limits as infinity); ConfigError
    for values out of range."""
    if min(min_picks, min_p, min_s, min_p_and_s) < 0 or min_picks < 1:
        raise ConfigError("min_picks must be >= 1 and min_p/min_s/min_p_and_s >= 0")
    config = dict(
        x_min_km=volume.x0,
        x_max_km=volume.x1,
        y_min_km=volume.y0,
        y_max_km=volume.y1,
        z_min_km=volume.z0,
        z_max_km=volume.z1,
        cell_km=float(volume.cell_km),
        cell_depth_km=float(volume.cell_depth_km),
        tolerance_s=float(tolerance_s),
        tolerance_fraction=float(tolerance_fraction),
        max_distance_km=float("inf") if max_distance_km is None else float(max_distance_km),
        min_pick_fraction=float(min_pick_fraction),
        min_picks=int(min_picks),
        min_p=int(min_p),
        min_s=int(min_s),
        min_p_and_s=int(min_p_and_s),
        max_rms_s=float("inf") if max_rms_s is None else float(max_rms_s),
        block_s=float(block_s),
        bin_s=float(bin_s),
        workers=workers,
    )
    for k in _POSITIVE:
        if not config[k] > 0:
            raise ConfigError(f"{k}: expected a positive number, got {config[k]}")
    if not config["tolerance_fraction"] >= 0:
        raise ConfigError(f"tolerance_fraction: expected >= 0, got {tolerance_fraction}")
    if not 0 <= config["min_pick_fraction"] <= 1:
        raise ConfigError(
            f"min_pick_fraction: expected a fraction in [0, 1], got {min_pick_fraction}"
        )
    return config
