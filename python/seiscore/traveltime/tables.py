"""(depth, distance) travel-time tables: built from a :class:`~.models.VelocityModel`, corrected
for station elevation and interpolated at arbitrary (distance, depth) points.

See :mod:`seiscore.traveltime` for the conventions (depths, the receiver at the datum, the
``"fermat"`` and ``"vertical"`` elevation corrections).
"""

from __future__ import annotations

import math
import weakref

import numpy as np

from .. import _core
from .._validate import check_workers
from ..containers import TravelTimeTable
from ..exceptions import InputError
from .models import VelocityModel

_ELEVATION_MODES = ("fermat", "vertical")


# Layered (1-D, Earth-flattened) tables model local and regional distances and the depths
# where earthquakes occur; beyond these the rays dive into the core (teleseismic phases).
MAX_TABLE_DISTANCE_KM = 5000.0
MAX_TABLE_DEPTH_KM = 1000.0
# Largest table built: nodes over all phases (4 bytes each).
_MAX_TABLE_NODES = 250_000_000


def _check_extent(max_distance_km: float, max_depth_km: float, min_depth_km: float) -> None:
    """InputError for a table extent that is not finite, empty, or beyond what layered models
    are for (:data:`MAX_TABLE_DISTANCE_KM`, :data:`MAX_TABLE_DEPTH_KM`)."""
    if not (max_distance_km > 0 and math.isfinite(max_distance_km)):
        raise InputError(f"max_distance_km must be positive, got {max_distance_km}")
    if max_distance_km > MAX_TABLE_DISTANCE_KM:
        raise InputError(
            f"max_distance_km={max_distance_km:g}: layered travel-time tables are for local and "
            f"regional distances (at most {MAX_TABLE_DISTANCE_KM:g} km); check the station "
            "coordinates, or limit the distance"
        )
    if not (
        max_depth_km > min_depth_km and math.isfinite(max_depth_km) and math.isfinite(min_depth_km)
    ):
        raise InputError(
            f"max_depth_km ({max_depth_km}) must be larger than min_depth_km ({min_depth_km})"
        )
    if max_depth_km > MAX_TABLE_DEPTH_KM or min_depth_km < -MAX_TABLE_DEPTH_KM:
        raise InputError(
            f"depths {min_depth_km:g} to {max_depth_km:g} km: layered travel-time tables are "
            f"for sources within {MAX_TABLE_DEPTH_KM:g} km of sea level"
        )


def _check_size(distance_km, depth_km, distance_step_km, depth_step_km, n_phases: int) -> None:
    """InputError (naming the keys) for steps that are not positive numbers or a table too
    large for memory."""
    for name, step in (("distance_step_km", distance_step_km), ("depth_step_km", depth_step_km)):
        ok = isinstance(step, (int, float, np.integer, np.floating)) and not isinstance(step, bool)
        if not (ok and step > 0 and math.isfinite(step)):
            raise InputError(f"{name}: step must be a positive number, got {step!r}")
    distance_steps = math.ceil(distance_km / float(distance_step_km) - 1e-9)
    depth_steps = math.ceil(depth_km / float(depth_step_km) - 1e-9)
    nodes = (distance_steps + 1) * (depth_steps + 1) * max(n_phases, 1)
    if nodes > _MAX_TABLE_NODES:
        raise InputError(
            f"distance_step_km/depth_step_km: the table would have {nodes:.3g} nodes "
            f"({nodes * 4e-9:.1f} GB; at most {_MAX_TABLE_NODES:.3g}); use larger steps"
        )


def _axis(start: float, stop: float, step: float, name: str) -> np.ndarray:
    if not (step > 0 and math.isfinite(step)):
        raise InputError(f"{name}: step must be a positive number, got {step}")
    if not stop >= start:
        raise InputError(f"{name}: range [{start}, {stop}] is empty")
    n = int(math.ceil((stop - start) / step - 1e-9)) + 1
    return start + step * np.arange(n, dtype=np.float64)


def build_table(
    model: VelocityModel,
    max_distance_km: float,
    max_depth_km: float,
    distance_step_km: float | None = None,
    depth_step_km: float | None = None,
    phases=("P", "S"),
    *,
    min_depth_km: float = 0.0,
    workers: int | None = None,
) -> TravelTimeTable:
    """First-arrival travel times of ``phases`` on a regular (depth, distance) table.

    Parameters
    ----------
    model : VelocityModel
    max_distance_km, max_depth_km : float
        Table extent: distances 0 … ``max_distance_km`` (along the surface), source depths
        ``min_depth_km`` … ``max_depth_km`` (km below sea level). The axes are extended by at most
        one step so that both ends are covered.
    distance_step_km, depth_step_km : float, optional
        Node spacing. Defaults: ``min(1, max_distance_km / 200)`` and
        ``min(1, (max_depth_km - min_depth_km) / 100)``. Interpolation errors are largest next to
        the source (the time surface is a cone there): keep the steps at or below the spacing of
        the location grid.
    phases : sequence of "P"/"S"
    min_depth_km : float
        Shallowest source depth (negative: above sea level, e.g. for networks on mountains or
        glaciers). Default 0.
    workers : int, optional
        Threads (default all cores).

    Returns
    -------
    TravelTimeTable
        ``times[phase, depth, distance]`` float32 seconds (receiver at sea level; NaN where a
        phase cannot arrive, e.g. S through a liquid), with ``surface_velocity[phase]`` the
        velocity just below sea level.

    Raises
    ------
    InputError
        Bad extent or steps (the message names the key): distances beyond
        :data:`MAX_TABLE_DISTANCE_KM` (5000 km; layered travel-time tables are for local and
        regional distances), depths more than :data:`MAX_TABLE_DEPTH_KM` (1000 km) from sea
        level, or more than 250 million nodes.
    """
    if not isinstance(model, VelocityModel):
        raise InputError(f"model: expected a VelocityModel, got {type(model).__name__}")
    max_distance_km, max_depth_km, min_depth_km = (
        float(max_distance_km),
        float(max_depth_km),
        float(min_depth_km),
    )
    _check_extent(max_distance_km, max_depth_km, min_depth_km)
    if distance_step_km is None:
        distance_step_km = min(1.0, max_distance_km / 200.0)
    if depth_step_km is None:
        depth_step_km = min(1.0, (max_depth_km - min_depth_km) / 100.0)
    _check_size(
        max_distance_km,
        max_depth_km - min_depth_km,
        distance_step_km,
        depth_step_km,
        len([phases] if isinstance(phases, str) else phases),
    )
    dist = _axis(0.0, max_distance_km, float(distance_step_km), "distance_step_km")
    depth = _axis(min_depth_km, max_depth_km, float(depth_step_km), "depth_step_km")
    phases = tuple(str(p).upper() for p in ([phases] if isinstance(phases, str) else phases))
    if not phases or any(p not in ("P", "S") for p in phases) or len(set(phases)) != len(phases):
        raise InputError(f"phases: expected distinct 'P'/'S', got {phases}")
    nworkers = check_workers(workers)
    times = np.empty((len(phases), len(depth), len(dist)), np.float32)
    surface = {}
    for k, ph in enumerate(phases):
        z, v = model.nodes(ph)
        try:
            times[k] = _core.traveltime.first_arrivals(
                np.ascontiguousarray(z), np.ascontiguousarray(v), depth, dist, workers=nworkers
            )
        except ValueError as exc:  # a contract check of the kernel: the request is the problem
            raise InputError(f"velocity model {model.name!r}: {exc}") from None
        surface[ph] = float(model.velocity_at(ph, 0.0))
    return TravelTimeTable(
        phases=phases,
        distance_km=dist,
        depth_km=depth,
        times=times,
        surface_velocity=surface,
        model=model.name,
    )


def _table_axes(table: TravelTimeTable) -> tuple[float, float, float, float]:
    """(depth0, depth_step, distance0, distance_step) of a regular table; InputError otherwise."""
    out = []
    for name, ax in (("depth_km", table.depth_km), ("distance_km", table.distance_km)):
        ax = np.asarray(ax, dtype=np.float64)
        if ax.ndim != 1 or len(ax) == 0:
            raise InputError(f"TravelTimeTable.{name}: expected a non-empty 1-D axis")
        step = float(ax[1] - ax[0]) if len(ax) > 1 else 1.0
        if len(ax) > 1 and (
            not step > 0 or not np.allclose(np.diff(ax), step, rtol=1e-6, atol=1e-9)
        ):
            raise InputError(
                f"TravelTimeTable.{name}: the axis must be regular (evenly spaced, increasing)"
            )
        out += [float(ax[0]), step]
    return tuple(out)  # type: ignore[return-value]


def _phase_index(table: TravelTimeTable, phase: str) -> int:
    key = str(phase).upper()
    if key not in table.phases:
        raise InputError(
            f"missing travel times: the table has phases {list(table.phases)}, not {phase!r}; "
            "rebuild it with build_table(..., phases=...)"
        )
    return table.phases.index(key)


# corrected tables per (table, phase, elevation, mode); dropped with the table
_CORRECTED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _corrected(
    table: TravelTimeTable, phase: str, elev_m: float, mode: str, workers: int
) -> np.ndarray:
    k = _phase_index(table, phase)
    base = np.ascontiguousarray(table.times[k], dtype=np.float32)
    if elev_m == 0.0:
        return base
    if mode not in _ELEVATION_MODES:
        raise InputError(f"elevation: expected one of {_ELEVATION_MODES}, got {mode!r}")
    cache = _CORRECTED.setdefault(table, {})
    key = (table.phases[k], float(elev_m), mode)
    hit = cache.get(key)
    if hit is not None:
        return hit
    try:
        v0 = float(table.surface_velocity[table.phases[k]])
    except (KeyError, TypeError, ValueError):
        raise InputError(
            f"TravelTimeTable.surface_velocity has no value for phase {table.phases[k]!r}"
        ) from None
    e_km = float(elev_m) / 1000.0
    if not v0 > 0:  # a liquid at the datum: this phase reaches no station away from the datum
        out = np.full_like(base, np.nan)
    elif mode == "vertical" or e_km < 0:
        out = (base + np.float32(e_km / v0)).astype(np.float32)
    else:
        out = _core.traveltime.elevation_table(base, _table_axes(table), v0, e_km, workers)
    if len(cache) > 4096:
        cache.clear()
    cache[key] = out
    return out


def travel_times(
    table: TravelTimeTable,
    phase: str,
    distance_km,
    source_depth_km,
    station_elevation_m=0.0,
    *,
    elevation: str = "fermat",
    workers: int | None = None,
) -> np.ndarray:
    """Travel times (s) of ``phase`` by bilinear interpolation of ``table``.

    Parameters
    ----------
    table : TravelTimeTable
    phase : "P" or "S"
    distance_km, source_depth_km, station_elevation_m : array_like (broadcast together)
        Horizontal source–station distance (km), source depth (km below sea level) and
        station elevation (m above sea level).
    elevation : "fermat" or "vertical"
        Station-elevation correction (see :mod:`seiscore.traveltime`).
    workers : int, optional

    Returns
    -------
    ndarray (float64), the broadcast shape; NaN where the point lies outside the table or the
    phase does not arrive.
    """
    nworkers = check_workers(workers)
    x, z, e = np.broadcast_arrays(
        np.asarray(distance_km, dtype=np.float64),
        np.asarray(source_depth_km, dtype=np.float64),
        np.asarray(station_elevation_m, dtype=np.float64),
    )
    shape = x.shape
    x, z, e = (np.ascontiguousarray(a).ravel() for a in (x, z, e))
    if not np.isfinite(e).all():
        raise InputError("station_elevation_m: must be finite")
    axes = _table_axes(table)
    out = np.empty(x.shape, np.float64)
    for elev in np.unique(e):
        sel = e == elev
        tab = _corrected(table, phase, float(elev), elevation, nworkers)
        if sel.all():
            out = _core.traveltime.interpolate(tab, axes, x, z, nworkers)
        else:
            out[sel] = _core.traveltime.interpolate(
                tab, axes, np.ascontiguousarray(x[sel]), np.ascontiguousarray(z[sel]), nworkers
            )
    return out.reshape(shape)
