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


# Station elevations are grouped to this step (m) for the corrected tables (1 ms at most for
# surface velocities above 2.5 km/s); coarser steps are used when the tables would need more
# than MAX_TABLE_BYTES.
ELEVATION_STEP_M = 5.0
MAX_TABLE_BYTES = 1 << 30


@dataclass
class _KernelTables:
    """``times[table, phase (P, S), depth, distance]`` (float32: one table per group of station
    elevations, each with traveltime's exact elevation correction), ``station_table[station]``
    (int32: its table), ``axes`` (depth0, depth step, distance0, distance step), per-station
    ``delay[station, phase]`` (s; zero: the correction is in the tables), ``surface_vp`` (km/s,
    the table's P velocity at sea level) and ``elevation_step_m`` (how finely elevations were
    grouped)."""

    times: np.ndarray
    axes: tuple
    delay: np.ndarray
    station_table: np.ndarray
    surface_vp: float
    elevation_step_m: float = ELEVATION_STEP_M


def _kernel_tables(
    table: TravelTimeTable,
    stations: Stations,
    volume: _SearchVolume,
    need_distance: float,
    workers: int | None = None,
) -> _KernelTables:
    """The kernel's arrays from ``table``; InputError when the table does not cover the search
    volume's depths, the distance ``need_distance`` or has no finite times for a phase.

    Station elevations enter through :func:`seiscore.traveltime.travel_times` with its exact
    (``"fermat"``) correction: one corrected table per group of equal elevations (grouped to
    :data:`ELEVATION_STEP_M`), evaluated at the table's own nodes."""
    times, axes, (vp0, _), dist_axis, dep_axis = _table_arrays(table)
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
    # only what the search can use: distances to need_distance, depths within the volume
    nx = min(len(dist_axis), int(np.searchsorted(dist_axis, need_distance)) + 2)
    j0 = max(0, int(np.searchsorted(dep_axis, z0, side="right")) - 2)
    j1 = min(len(dep_axis), int(np.searchsorted(dep_axis, z1)) + 2)
    times = np.ascontiguousarray(times[:, j0:j1, :nx])
    dist_axis, dep_axis = dist_axis[:nx], dep_axis[j0:j1]
    axes = (float(dep_axis[0]), axes[1], axes[2], axes[3])
    elev_m = np.asarray(stations.elevation_m, np.float64)
    elev_m = np.where(np.isfinite(elev_m), elev_m, 0.0)
    step, groups, station_table = _elevation_groups(elev_m, times.nbytes)
    stack = np.empty((len(groups),) + times.shape, np.float32)
    dist, dep = np.meshgrid(dist_axis, dep_axis)
    for g, e in enumerate(groups):
        if e == 0.0:
            stack[g] = times
            continue
        for k, phase in enumerate(("P", "S")):
            stack[g, k] = _corrected_times(table, phase, dist, dep, e, workers)
    delay = np.zeros((len(stations), 2), np.float32)
    return _KernelTables(stack, axes, delay, station_table, vp0, step)


def _elevation_groups(elev_m: np.ndarray, bytes_per_table: int):
    """(step, group elevations, station -> group): elevations rounded to the finest step from
    :data:`ELEVATION_STEP_M` up whose tables fit in :data:`MAX_TABLE_BYTES`."""
    step = ELEVATION_STEP_M
    while True:
        rounded = np.round(elev_m / step) * step
        groups, inverse = np.unique(rounded, return_inverse=True)
        if len(groups) * bytes_per_table <= MAX_TABLE_BYTES or step >= 1000.0:
            return step, groups, np.ascontiguousarray(inverse.ravel(), np.int32)
        step *= 2.0


def _corrected_times(table, phase, dist, dep, elevation_m, workers) -> np.ndarray:
    """``table``'s times of ``phase`` at its nodes for a station ``elevation_m`` above sea level,
    with traveltime's exact correction (float32; NaN where the phase does not arrive)."""
    from .. import traveltime  # the one other stage association may use (public API only)

    try:
        out = traveltime.travel_times(
            table, phase, dist, dep, elevation_m, elevation="fermat", workers=workers
        )
    except InputError as exc:
        raise InputError(f"station elevation correction ({elevation_m:g} m): {exc}") from None
    return np.asarray(out, np.float32)


def _datum_note(velocity_model, table: TravelTimeTable, stations: Stations) -> str | None:
    """A note when the model defines layers above sea level that the stations' elevation
    correction does not use: depths are below sea level everywhere (the datum of the tables,
    the model, events and QuakeML), and a station above sea level is reached through the
    velocity just below sea level (``table.surface_velocity``), while a model whose top lies
    above sea level (e.g. VELEST's negative depths) may say otherwise there."""
    if not hasattr(velocity_model, "velocity_at"):  # a given table: no model to compare with
        return None
    depth = velocity_model.depth_km
    elev = np.asarray(stations.elevation_m, np.float64) / 1000.0
    elev = elev[np.isfinite(elev)]
    if depth is None or not len(depth) or float(np.min(depth)) >= 0 or not (elev > 0).any():
        return None
    top = float(elev.max())
    z = -np.linspace(0.0, top, 21)[1:]
    above = float(np.mean(velocity_model.velocity_at("P", z)))
    v0 = float(dict(table.surface_velocity).get("P", above))
    if abs(above - v0) <= 0.02 * v0:
        return None
    return (
        f"velocity model {velocity_model.name!r} has layers above sea level (its top is "
        f"{-float(np.min(depth)):g} km above it; mean vp {above:.2f} km/s up to the highest "
        f"station, {top:.2f} km high), but station elevation corrections use the velocity just "
        f"below sea level ({v0:.2f} km/s); depths are km below sea level throughout"
    )
