"""The travel-time table of an association run: given, or built through
:mod:`seiscore.traveltime` (its public API only), then checked against the search volume and
turned into the kernel's arrays (P and S times, axes, station delays)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import geo
from ..containers import Stations, TravelTimeTable
from ..exceptions import InputError
from .config import _SearchVolume


def _table_distance(need_distance: float) -> float:
    """Distance a built table reaches: a little beyond the farthest station, so that
    interpolation never runs off the table."""
    return need_distance * 1.02 + 1.0


def _farthest_pair(stations: Stations, sx: np.ndarray, sy: np.ndarray) -> tuple[int, int, float]:
    """The two stations farthest apart (great-circle when latitude/longitude are known, else
    x/y) and their distance, km; by blocks of rows, so memory stays small."""
    lat = np.asarray(stations.latitude, np.float64)
    lon = np.asarray(stations.longitude, np.float64)
    geographic = np.isfinite(lat).all() and np.isfinite(lon).all()
    best = (0, 0, -1.0)
    for i0 in range(0, len(sx), 512):
        rows = slice(i0, i0 + 512)
        if geographic:
            d = geo.distance_km(lat[rows, None], lon[rows, None], lat[None, :], lon[None, :])
        else:
            d = np.hypot(sx[rows, None] - sx[None, :], sy[rows, None] - sy[None, :])
        k = int(np.argmax(d))
        i, j = divmod(k, d.shape[1])
        if d[i, j] > best[2]:
            best = (i0 + i, j, float(d[i, j]))
    return best


def _check_reach(velocity_model, stations, sx, sy, need_distance, max_distance_km) -> None:
    """InputError, before a table is built from a model, when the search needs travel times
    beyond what layered tables are for (``traveltime.MAX_TABLE_DISTANCE_KM``): it names the
    farthest station pair, or the limits that ask for it."""
    if isinstance(velocity_model, TravelTimeTable):
        return  # a given table: _kernel_tables checks that it covers the distances
    from .. import traveltime  # the one other stage association may use (public API only)

    limit = traveltime.MAX_TABLE_DISTANCE_KM
    if _table_distance(need_distance) <= limit:
        return
    reach = (
        f"layered travel-time tables are for local and regional distances (at most {limit:g} km)"
    )
    a, b, apart = _farthest_pair(stations, sx, sy)
    ids = stations.ids
    if _table_distance(apart) > limit:
        raise InputError(
            f"stations {ids[a]} and {ids[b]} are {apart:,.0f} km apart: association would need "
            f"travel times to {need_distance:,.0f} km, but {reach}; check the station "
            "coordinates (a mistyped latitude or longitude?), drop the far stations, or set "
            "max_distance_km"
        )
    if max_distance_km is not None and need_distance >= float(max_distance_km):
        raise InputError(f"max_distance_km={float(max_distance_km):g}: {reach}")
    raise InputError(
        f"xlim/ylim: the search volume reaches {need_distance:,.0f} km from the farthest "
        f"station, but {reach}; narrow xlim/ylim or set max_distance_km"
    )


def _as_table(
    velocity_model, max_distance_km: float, min_depth_km: float, max_depth_km: float, workers: int
) -> TravelTimeTable:
    """The (depth, distance) P/S table: given, or built from a model (or a model file)."""
    if isinstance(velocity_model, TravelTimeTable):
        return velocity_model
    from .. import traveltime  # the one other stage association may use (public API only)

    model = velocity_model
    if isinstance(model, (str, bytes)) or hasattr(model, "__fspath__"):
        model = traveltime.VelocityModel.from_file(model)
    if not isinstance(model, traveltime.VelocityModel):
        raise InputError(
            "velocity_model: expected a seiscore.traveltime.VelocityModel, a model file or a "
            f"TravelTimeTable, got {type(velocity_model).__name__}"
        )
    return traveltime.build_table(
        model,
        max_distance_km=_table_distance(max_distance_km),
        max_depth_km=max_depth_km + 1.0,
        min_depth_km=min(0.0, min_depth_km),
        workers=workers or None,
    )


def _table_arrays(table: TravelTimeTable):
    phases = [str(p).upper() for p in table.phases]
    missing = [p for p in ("P", "S") if p not in phases]
    if missing:
        raise InputError(
            f"travel-time table has phases {list(table.phases)}; association needs P and S "
            f"(missing {missing}); rebuild it with both phases"
        )
    times = np.asarray(table.times)
    times = np.ascontiguousarray(
        np.stack([times[phases.index("P")], times[phases.index("S")]]), np.float32
    )
    dist = np.asarray(table.distance_km, np.float64)
    dep = np.asarray(table.depth_km, np.float64)
    for name, axis in (("distance_km", dist), ("depth_km", dep)):
        if axis.ndim != 1 or len(axis) < 2:
            raise InputError(f"travel-time table: {name} needs at least 2 values")
        step = np.diff(axis)
        if not (step > 0).all() or not np.allclose(step, step[0], rtol=1e-6, atol=1e-9):
            raise InputError(f"travel-time table: {name} must be a regular increasing axis")
    axes = (float(dep[0]), float(dep[1] - dep[0]), float(dist[0]), float(dist[1] - dist[0]))
    sv = {str(k).upper(): float(v) for k, v in dict(table.surface_velocity).items()}
    for p in ("P", "S"):
        if not sv.get(p, 0) > 0:
            raise InputError(
                f"travel-time table: surface_velocity[{p!r}] must be positive "
                "(it gives the elevation correction)"
            )
    return times, axes, (sv["P"], sv["S"]), dist, dep


@dataclass
class _KernelTables:
    """``times[phase (P, S), depth, distance]`` (float32), ``axes`` (depth0, depth step,
    distance0, distance step) and per-station ``delay[station, phase]`` (s, the elevation
    correction ``elevation / surface velocity``)."""

    times: np.ndarray
    axes: tuple
    delay: np.ndarray


def _kernel_tables(
    table: TravelTimeTable, stations: Stations, volume: _SearchVolume, need_distance: float
) -> _KernelTables:
    """The kernel's arrays from ``table``; InputError when the table does not cover the search
    volume's depths, the distance ``need_distance`` or has no finite times for a phase."""
    times, axes, (vp0, vs0), dist_axis, dep_axis = _table_arrays(table)
    z0, z1 = volume.z0, volume.z1
    if dep_axis[0] > z0 + 1e-6 or dep_axis[-1] < z1 - 1e-6:
        raise InputError(
            f"travel-time table covers depths {dep_axis[0]:g}–{dep_axis[-1]:g} km but the search "
            f"volume is {z0:g}–{z1:g} km; rebuild the table deeper or narrow zlim"
        )
    if dist_axis[-1] < need_distance - 1e-6:
        raise InputError(
            f"the velocity model cannot reach the stations: its table covers distances up to "
            f"{dist_axis[-1]:g} km but stations lie up to {need_distance:.1f} km from the search "
            f"volume; rebuild the table to at least {np.ceil(need_distance):g} km or set "
            "max_distance_km"
        )
    finite_any = np.isfinite(times).any(axis=(1, 2))
    if not finite_any.all():
        raise InputError(
            "the velocity model cannot reach the stations: the travel-time table has no "
            f"finite {'P' if not finite_any[0] else 'S'} times"
        )
    elev_km = np.asarray(stations.elevation_m, np.float64) / 1000.0
    elev_km = np.where(np.isfinite(elev_km), elev_km, 0.0)
    delay = np.ascontiguousarray(np.stack([elev_km / vp0, elev_km / vs0], axis=1), np.float32)
    return _KernelTables(times, axes, delay)
