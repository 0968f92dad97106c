"""Per-station 3-D travel-time grids: computed from a table (:func:`station_grids`, on the CPU or
with CUDA), checked against the memory (:func:`check_grid_memory`), and saved to and loaded from
``.npz`` files (:func:`save_grids`, :func:`load_grids`, :class:`StationGrids`).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import _core, geo
from .._backend import _cuda_module, resolve_device
from .._validate import check_workers
from ..containers import Grid3D, Stations, TravelTimeTable
from ..exceptions import InputError
from .tables import _corrected, _phase_index, _table_axes

_GRIDS_FORMAT = 1


def _station_xy(stations: Stations, grid: Grid3D) -> np.ndarray:
    lat = np.asarray(stations.latitude, dtype=np.float64)
    lon = np.asarray(stations.longitude, dtype=np.float64)
    have_geo = np.isfinite(lat) & np.isfinite(lon)
    x = np.asarray(stations.x_km, dtype=np.float64).copy()
    y = np.asarray(stations.y_km, dtype=np.float64).copy()
    if have_geo.any():
        px, py = geo.project(lat[have_geo], lon[have_geo], grid.reference[0], grid.reference[1])
        x[have_geo], y[have_geo] = px, py
    bad = ~(np.isfinite(x) & np.isfinite(y))
    if bad.any():
        ids = [stations.ids[i] for i in np.flatnonzero(bad)[:5]]
        raise InputError(f"stations without a position (latitude/longitude or x_km/y_km): {ids}")
    return np.ascontiguousarray(np.stack([x, y], axis=1))


def _physical_memory_bytes() -> int:
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        return 8 << 30


def check_grid_memory(
    n_nodes: int,
    n_stations: int,
    n_phases: int,
    itemsize: int = 4,
    max_memory_gb: float | None = None,
    what: str = "travel-time grid",
) -> int:
    """Bytes of a ``[n_nodes, n_stations, n_phases]`` array; InputError (saying how large) when it
    exceeds ``max_memory_gb`` (default: half of this machine's physical memory)."""
    need = int(n_nodes) * int(n_stations) * int(n_phases) * int(itemsize)
    limit = (
        _physical_memory_bytes() // 2 if max_memory_gb is None else int(float(max_memory_gb) * 1e9)
    )
    if need > limit:
        raise InputError(
            f"{what} too large for memory: {n_nodes:,} nodes x {n_stations} stations x "
            f"{n_phases} phases x {itemsize} B = {need / 1e9:.2f} GB, above the limit of "
            f"{limit / 1e9:.2f} GB; use a coarser grid or fewer stations (or raise max_memory_gb)"
        )
    return need


def station_grids(
    table: TravelTimeTable,
    stations: Stations,
    grid: Grid3D,
    sampling_rate: float | None = None,
    *,
    phases=None,
    elevation: str = "fermat",
    device: str = "cpu",
    max_memory_gb: float | None = None,
    workers: int | None = None,
) -> np.ndarray:
    """Travel times from every grid node to every station, ``[n_nodes, n_stations, n_phases]``.

    Station positions: latitude/longitude projected around ``grid.reference`` with
    :func:`seiscore.geo.project` (rows without latitude/longitude use their ``x_km``/``y_km``).
    Each value is the bilinear interpolation of the station's elevation-corrected table (see
    ``elevation`` in :mod:`seiscore.traveltime`) at the node's depth and horizontal distance.

    Parameters
    ----------
    table : TravelTimeTable
    stations : Stations
    grid : Grid3D
        Nodes numbered ``(ix * ny + iy) * nz + iz``.
    sampling_rate : float, optional
        When given, the result is int32 sample offsets ``round(t * sampling_rate)``; otherwise
        float32 seconds.
    phases : sequence of str, optional
        Default: all phases of the table, in its order.
    elevation : "fermat" or "vertical"
    device : "cpu", "cuda" or "auto"
        Where the interpolation runs (the elevation correction always runs on the CPU).
    max_memory_gb : float, optional
        Refuse outputs larger than this (default: half the physical memory).
    workers : int, optional

    Raises
    ------
    InputError
        A station farther from some grid node than the table reaches (names the station and the
        distance), grid depths outside the table, a phase the table lacks or that cannot reach a
        station (missing travel times), or an output too large for memory (says how large).
    """
    nworkers = check_workers(workers)
    if not isinstance(grid, Grid3D):
        raise InputError(f"grid: expected a Grid3D, got {type(grid).__name__}")
    if len(stations) == 0:
        raise InputError("stations: the station table is empty")
    phases = _grid_phases(table, phases)
    fs = _samples_per_second(sampling_rate)
    axes = _table_axes(table)
    check_grid_memory(grid.n_nodes, len(stations), len(phases), 4, max_memory_gb)
    _check_depth_coverage(table, grid, axes)
    xy = _station_xy(stations, grid)
    _check_distance_coverage(table, stations, grid, xy)
    tabs = _station_tables(table, stations, phases, elevation, nworkers)
    out = _interpolate_grids(tabs, axes, xy, grid, fs, resolve_device(device), nworkers)
    _check_defined(out, fs, phases, stations)
    return out


# the steps of station_grids


def _grid_phases(table: TravelTimeTable, phases) -> tuple[str, ...]:
    """The requested phases as the table spells them (default: all of the table's)."""
    if phases is None:
        return table.phases
    return tuple(table.phases[_phase_index(table, p)] for p in phases)


def _samples_per_second(sampling_rate: float | None) -> float:
    """``sampling_rate`` checked, as a float; 0.0 (float seconds out) when not given."""
    if sampling_rate is None:
        return 0.0
    if not (float(sampling_rate) > 0 and math.isfinite(float(sampling_rate))):
        raise InputError(f"sampling_rate: expected a positive number, got {sampling_rate}")
    return float(sampling_rate)


def _check_depth_coverage(table: TravelTimeTable, grid: Grid3D, axes) -> None:
    """InputError unless the table's depths span the grid's."""
    gz = grid.axes()[2]
    zmin, zmax = float(table.depth_km[0]), float(table.depth_km[-1])
    tol = 1e-9 * max(1.0, abs(axes[1]))
    if gz[0] < zmin - tol or gz[-1] > zmax + tol:
        raise InputError(
            f"grid depths {gz[0]:g} to {gz[-1]:g} km lie outside the travel-time table's depths "
            f"{zmin:g} to {zmax:g} km; rebuild the table with min_depth_km <= {gz[0]:g} and "
            f"max_depth_km >= {gz[-1]:g}"
        )


def _check_distance_coverage(
    table: TravelTimeTable, stations: Stations, grid: Grid3D, xy: np.ndarray
) -> None:
    """InputError naming the stations farther from some grid node than the table reaches."""
    gx, gy = grid.axes()[0], grid.axes()[1]
    far = np.max(
        np.stack(
            [
                np.hypot(cx - xy[:, 0], cy - xy[:, 1])
                for cx in (gx[0], gx[-1])
                for cy in (gy[0], gy[-1])
            ]
        ),
        axis=0,
    )
    dmax = float(table.distance_km[-1])
    outside = np.flatnonzero(far > dmax * (1 + 1e-9) + 1e-9)
    if outside.size:
        s = int(outside[np.argmax(far[outside])])
        raise InputError(
            f"station {stations.ids[s]} is {far[s]:.3f} km from the farthest grid node, beyond the "
            f"travel-time table's {dmax:g} km ({outside.size} station(s) out of range: "
            f"{', '.join(stations.ids[i] for i in outside[:5])}); rebuild the table with "
            f"max_distance_km >= {math.ceil(far.max())} or drop these stations"
        )


def _station_tables(
    table: TravelTimeTable, stations: Stations, phases, elevation: str, workers: int
) -> np.ndarray:
    """Elevation-corrected tables ``[station, phase, depth, distance]`` (float32)."""
    elev = np.asarray(stations.elevation_m, dtype=np.float64)
    elev = np.where(np.isfinite(elev), elev, 0.0)
    shape = (len(stations), len(phases), len(table.depth_km), len(table.distance_km))
    tabs = np.empty(shape, np.float32)
    for p, ph in enumerate(phases):
        for e in np.unique(elev):
            tabs[elev == e, p] = _corrected(table, ph, float(e), elevation, workers)
    return tabs


def _interpolate_grids(
    tabs: np.ndarray, axes, xy: np.ndarray, grid: Grid3D, fs: float, device: str, workers: int
) -> np.ndarray:
    """The kernel (C++ or, with ``device="cuda"``, CUDA) over every node and station."""
    args = (
        tabs,
        axes,
        xy,
        tuple(map(float, grid.origin_km)),
        tuple(map(float, grid.spacing_km)),
        tuple(int(n) for n in grid.shape),
        fs,
    )
    if device == "cuda":
        return _cuda_module().traveltime.station_grids(*args, 0)
    return _core.traveltime.station_grids(*args, workers)


def _check_defined(out: np.ndarray, fs: float, phases, stations: Stations) -> None:
    """InputError when some node-station-phase has no arrival (NaN, or int32 min as samples)."""
    bad = (out == np.iinfo(np.int32).min) if fs > 0 else ~np.isfinite(out)
    if bad.any():
        node, s, p = (int(v[0]) for v in np.nonzero(bad))
        raise InputError(
            f"missing travel times: phase {phases[p]} has no arrival at station "
            f"{stations.ids[s]} from grid node {node} ({bad.sum()} values undefined; e.g. S "
            "cannot cross a liquid layer)"
        )


# ------------------------------------------------------------------------------------ disk


@dataclass(eq=False)
class StationGrids:
    """Travel-time grids loaded from disk (see :func:`save_grids`).

    ``times[node, station, phase]``: float32 seconds, or int32 samples when
    ``sampling_rate`` is set. ``station_ids`` are ``NET.STA.LOC`` in the station axis order.
    """

    times: np.ndarray
    grid: Grid3D
    station_ids: tuple[str, ...]
    phases: tuple[str, ...]
    model: str
    sampling_rate: float | None = None

    def select_stations(self, ids) -> np.ndarray:
        """``times`` restricted to (and ordered as) the station ids ``ids``; InputError naming
        any id without travel times."""
        index = {sid: i for i, sid in enumerate(self.station_ids)}
        missing = [sid for sid in ids if sid not in index]
        if missing:
            raise InputError(
                f"missing travel times for stations {missing[:10]} "
                f"(grids hold {len(index)} stations)"
            )
        return self.times[:, [index[sid] for sid in ids], :]


def save_grids(
    path,
    times: np.ndarray,
    grid: Grid3D,
    stations: Stations,
    *,
    phases,
    model: str,
    sampling_rate: float | None = None,
) -> Path:
    """Write travel-time grids (from :func:`station_grids`) to an ``.npz`` file, with the grid,
    the station ids, the phases, the model name and the sampling rate, so a later
    :func:`load_grids` can check that they still fit."""
    times = np.asarray(times)
    phases = tuple(str(p) for p in phases)
    expect = (grid.n_nodes, len(stations), len(phases))
    if times.shape != expect:
        raise InputError(
            f"save_grids: times shape {times.shape}, expected {expect} (nodes, stations, phases)"
        )
    if (sampling_rate is None) != (times.dtype.kind == "f"):
        raise InputError(
            "save_grids: float seconds go with sampling_rate=None, int samples with a sampling_rate"
        )
    path = Path(path)
    with open(path, "wb") as f:
        np.savez(
            f,
            format_version=np.int64(_GRIDS_FORMAT),
            times=times,
            grid_origin_km=np.asarray(grid.origin_km, np.float64),
            grid_spacing_km=np.asarray(grid.spacing_km, np.float64),
            grid_shape=np.asarray(grid.shape, np.int64),
            grid_reference=np.asarray(grid.reference, np.float64),
            station_ids=np.asarray(stations.ids, dtype=str),
            phases=np.asarray(phases, dtype=str),
            model=np.asarray(str(model)),
            sampling_rate=np.float64(np.nan if sampling_rate is None else sampling_rate),
        )
    return path


def load_grids(
    path,
    *,
    grid: Grid3D | None = None,
    stations: Stations | None = None,
    model: str | None = None,
    phases=None,
    sampling_rate: float | None = None,
) -> StationGrids:
    """Read grids written by :func:`save_grids`.

    Every keyword given is checked against the file, and a mismatch raises ``InputError``
    saying what differs (so stale grids are never used silently): ``grid`` (origin, spacing,
    shape, reference), ``stations`` (every station must be in the file; the returned times are
    reordered to the given stations), ``model`` (name), ``phases`` and ``sampling_rate``.
    """
    path = Path(path)
    out = _read_grids(path)
    _check_grids(path, out, grid=grid, model=model, phases=phases, sampling_rate=sampling_rate)
    if stations is not None:
        out.times = out.select_stations(stations.ids)
        out.station_ids = tuple(stations.ids)
    return out


_GRIDS_KEYS = (
    "times",
    "grid_origin_km",
    "grid_spacing_km",
    "grid_shape",
    "grid_reference",
    "station_ids",
    "phases",
    "model",
    "sampling_rate",
)


def _read_grids(path: Path) -> StationGrids:
    """The grids in ``path`` as written; InputError for a missing or foreign file."""
    if not path.is_file():
        raise InputError(f"travel-time grid file not found: {path}")
    try:
        with np.load(path, allow_pickle=False) as z:
            data = {k: z[k] for k in z.files}
    except Exception as exc:
        raise InputError(f"{path}: not a travel-time grid file ({exc})") from None
    missing = [k for k in _GRIDS_KEYS if k not in data]
    if missing:
        raise InputError(f"{path}: not a travel-time grid file (missing {missing})")
    g = Grid3D(
        origin_km=tuple(float(v) for v in data["grid_origin_km"]),
        spacing_km=tuple(float(v) for v in data["grid_spacing_km"]),
        shape=tuple(int(v) for v in data["grid_shape"]),
        reference=tuple(float(v) for v in data["grid_reference"]),
    )
    fs = float(data["sampling_rate"])
    return StationGrids(
        times=data["times"],
        grid=g,
        station_ids=tuple(str(s) for s in data["station_ids"]),
        phases=tuple(str(p) for p in data["phases"]),
        model=str(data["model"]),
        sampling_rate=None if math.isnan(fs) else fs,
    )


def _check_grids(path: Path, out: StationGrids, *, grid, model, phases, sampling_rate) -> None:
    """InputError saying what differs when the grids in ``path`` do not fit the request."""
    if grid is not None:
        for name in ("origin_km", "spacing_km", "shape", "reference"):
            a = np.asarray(getattr(grid, name), float)
            b = np.asarray(getattr(out.grid, name), float)
            if a.shape != b.shape or not np.allclose(a, b, rtol=1e-9, atol=1e-9):
                raise InputError(
                    f"{path}: grids were computed for a different grid ({name} {tuple(b)} in "
                    f"the file, {tuple(a)} requested); recompute them with station_grids()"
                )
    if model is not None and str(model) != out.model:
        raise InputError(
            f"{path}: grids were computed with model {out.model!r}, not {model!r}; recompute them"
        )
    if phases is not None:
        want = tuple(str(p).upper() for p in phases)
        if want != out.phases:
            raise InputError(f"{path}: grids hold phases {list(out.phases)}, not {list(want)}")
    if sampling_rate is not None and (
        out.sampling_rate is None or abs(out.sampling_rate - sampling_rate) > 1e-9
    ):
        held = "seconds" if out.sampling_rate is None else f"samples at {out.sampling_rate:g} Hz"
        raise InputError(f"{path}: grids hold {held}, not samples at {sampling_rate:g} Hz")
