"""Association settings: the search volume (limits and coarse cell sizes) and the search
configuration handed to the kernel, both checked (``ConfigError`` for bad settings)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..exceptions import ConfigError

# What one search may hold (the kernel refuses more cells and counters itself, but only after
# building the travel-time table and the per-cell windows): coarse cells, per-cell
# station/phase windows (12 bytes each) and origin-time counters per block (4 bytes each, and
# a byte of flags).
MAX_CELLS = 4_000_000
MAX_WINDOWS = 400_000_000
MAX_COUNTERS = 500_000_000

_POSITIVE = (
    "cell_km",
    "cell_depth_km",
    "tolerance_s",
    "max_distance_km",
    "max_rms_s",
    "block_s",
    "bin_s",
)


# The default acceptance threshold on an event's significance is log10 of the chance trials
# the search makes per hour, plus this margin: tuned on synthetic scenarios only (dense and
# sparse networks, quiet and aftershock rates, 0-50 % false picks, pure noise;
# bench/association_tuning.py, figures in bench/RESULTS.md): the smallest margin that kept the
# null-test rate at or below 0.5 % of the true event rate in every scenario and pure noise at
# the dense benchmark's pick rate below 1 event per hour.
SIGNIFICANCE_MARGIN = 1.0


def default_min_significance(volume: _SearchVolume, tolerance_s: float, vp_km_s: float) -> float:
    """The default ``min_significance``: ``log10(trials per hour) + SIGNIFICANCE_MARGIN``, where
    the trials are the origin times per hour (``3600 / (2 tolerance_s)``) times the resolution
    cells of the search volume (sides ``vp_km_s * tolerance_s``, the distance a P wave travels
    within the tolerance): the more places and times the search can look, the more chance
    coincidences it can find, and the more evidence an event needs."""
    side = max(vp_km_s * tolerance_s, 1e-3)
    cells = 1.0
    for lo, hi in ((volume.x0, volume.x1), (volume.y0, volume.y1), (volume.z0, volume.z1)):
        cells *= max(1.0, (hi - lo) / side)
    trials = 3600.0 / (2.0 * tolerance_s) * cells
    return round(max(0.0, float(np.log10(trials))) + SIGNIFICANCE_MARGIN, 2)


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
    cell_km = _cell_size("cell_km", cell_km)
    if cell_depth_km is None:
        cell_depth_km = float(min(cell_km, max((z1 - z0) / 2.0, 1.0)))
    cell_depth_km = _cell_size("cell_depth_km", cell_depth_km)
    return _SearchVolume(x0, x1, y0, y1, z0, z1, cell_km, cell_depth_km)


def _cell_size(name: str, value) -> float:
    """``value`` as a positive finite float; ConfigError naming ``name`` otherwise."""
    try:
        size = float(value) if not isinstance(value, (bool, str, bytes)) else float("nan")
    except (TypeError, ValueError):
        size = float("nan")
    if not (size > 0 and np.isfinite(size)):
        raise ConfigError(f"{name}: expected a positive number, got {value!r}")
    return size


def _cells_along(lo: float, hi: float, cell: float) -> float:
    """Coarse cells along one axis (as the kernel counts them), as a float (no overflow)."""
    return max(1.0, float(np.ceil((hi - lo) / cell - 1e-9)))


def _n_cells(v: _SearchVolume) -> float:
    return (
        _cells_along(v.x0, v.x1, v.cell_km)
        * _cells_along(v.y0, v.y1, v.cell_km)
        * _cells_along(v.z0, v.z1, v.cell_depth_km)
    )


def _cell_text(v: _SearchVolume) -> str:
    return f"{v.cell_km:g} x {v.cell_km:g} x {v.cell_depth_km:g} km"


def _check_cells(volume: _SearchVolume) -> None:
    """ConfigError, before any table or array is built, for more coarse cells than the kernel
    takes (:data:`MAX_CELLS`); the message names the keys and the cells needed."""
    v, n_cells = volume, _n_cells(volume)
    if n_cells > MAX_CELLS:
        extent = f"{v.x1 - v.x0:.6g} x {v.y1 - v.y0:.6g} x {v.z1 - v.z0:.6g} km"
        raise ConfigError(
            f"xlim/ylim/zlim: the search volume of {extent} (xlim/ylim default to the "
            f"stations' extent) needs {n_cells:.3g} cells of {_cell_text(v)} "
            f"(cell_km/cell_depth_km; at most {MAX_CELLS:,}); narrow xlim/ylim/zlim (are the "
            "limits and station coordinates in km?) or use larger cells"
        )


def _check_memory(volume: _SearchVolume, config: dict, n_stations: int) -> None:
    """ConfigError, before any table or array is built, for cell windows or origin-time
    counters beyond :data:`MAX_WINDOWS` / :data:`MAX_COUNTERS`; the message names the keys
    and the memory the settings would need."""
    n_cells = _n_cells(volume)
    windows = n_cells * n_stations * 2
    if windows > MAX_WINDOWS:
        raise ConfigError(
            f"cell_km/cell_depth_km: {n_cells:.3g} cells of {_cell_text(volume)} x {n_stations} "
            f"stations x 2 phases need {windows * 12e-9:.1f} GB of travel-time windows (at most "
            f"{MAX_WINDOWS * 12e-9:.1f} GB); use larger cells or narrow xlim/ylim/zlim"
        )
    bins = float(np.ceil(config["block_s"] / config["bin_s"]))
    if n_cells * bins > MAX_COUNTERS:
        raise ConfigError(
            f"block_s/bin_s: {n_cells:.3g} cells x {bins:.3g} origin-time bins need at least "
            f"{n_cells * bins * 5e-9:.1f} GB of counters per time block (at most "
            f"{MAX_COUNTERS * 5e-9:.1f} GB); use a shorter block_s, a larger bin_s, larger cells "
            "or narrower xlim/ylim/zlim"
        )


def _number(name: str, value, none=None) -> float:
    """``float(value)`` (``none`` for None); ConfigError naming ``name`` when it is no number."""
    if value is None and none is not None:
        return none
    try:
        if isinstance(value, (bool, str, bytes)):
            raise TypeError
        return float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{name}: expected a number, got {value!r}") from None


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
    min_significance,
    block_s,
    bin_s,
    workers: int,
) -> dict:
    """The kernel's configuration (the keyword arguments of
    :func:`~seiscore.association.associate`, with ``None`` limits as infinity); ConfigError
    for values out of range."""
    counts = {"min_picks": min_picks, "min_p": min_p, "min_s": min_s, "min_p_and_s": min_p_and_s}
    for k, v in counts.items():
        try:
            whole = not isinstance(v, (bool, str, bytes)) and float(v) == int(v)
        except (TypeError, ValueError, OverflowError):
            whole = False
        if not whole:
            raise ConfigError(f"{k}: expected a whole number, got {v!r}")
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
        tolerance_s=_number("tolerance_s", tolerance_s),
        tolerance_fraction=_number("tolerance_fraction", tolerance_fraction),
        max_distance_km=_number("max_distance_km", max_distance_km, none=float("inf")),
        min_pick_fraction=_number("min_pick_fraction", min_pick_fraction),
        min_picks=int(min_picks),
        min_p=int(min_p),
        min_s=int(min_s),
        min_p_and_s=int(min_p_and_s),
        max_rms_s=_number("max_rms_s", max_rms_s, none=float("inf")),
        min_significance=(
            None if min_significance is None else _number("min_significance", min_significance)
        ),
        block_s=_number("block_s", block_s),
        bin_s=_number("bin_s", bin_s),
        workers=workers,
    )
    for k in ("tolerance_s", "tolerance_fraction", "min_significance", "block_s", "bin_s"):
        if config[k] is not None and not np.isfinite(config[k]):
            raise ConfigError(f"{k}: expected a finite number, got {config[k]}")
    for k in _POSITIVE:
        if not config[k] > 0:
            raise ConfigError(f"{k}: expected a positive number, got {config[k]}")
    if config["min_significance"] is not None and not config["min_significance"] >= 0:
        raise ConfigError(f"min_significance: expected >= 0, got {min_significance}")
    if not config["tolerance_fraction"] >= 0:
        raise ConfigError(f"tolerance_fraction: expected >= 0, got {tolerance_fraction}")
    if not 0 <= config["min_pick_fraction"] <= 1:
        raise ConfigError(
            f"min_pick_fraction: expected a fraction in [0, 1], got {min_pick_fraction}"
        )
    return config
