"""Travel times: 1-D velocity models → (distance, depth) tables → per-station 3-D grids.

The pieces, in the order a location run uses them::

    model = VelocityModel.from_file("crust.nd")            # or VelocityModel.homogeneous(...)
    table = build_table(model, max_distance_km=150, max_depth_km=40)   # once per model
    t = travel_times(table, "P", distance_km, source_depth_km, station_elevation_m)
    tt = station_grids(table, stations, grid, sampling_rate=100.0)    # [node, station, phase]
    save_grids("tt.npz", tt, grid, stations, phases=table.phases, model=table.model,
               sampling_rate=100.0)
    grids = load_grids("tt.npz", grid=grid, stations=stations)       # refuses a mismatch

Conventions
-----------
* Depths are km below the datum (sea level), positive down; negative depths are above sea level.
  Horizontal positions are local km from :mod:`seiscore.geo` (x east, y north).
* Tables hold first arrivals for a receiver **at the datum**: ``times[phase, depth, distance]``
  (see :class:`~seiscore.containers.TravelTimeTable`). They are computed by exact ray theory in
  a stack of thin constant-velocity sub-layers (direct rays and head waves; on thin sub-layers
  of a gradient the head waves converge to the diving waves), Earth-flattened so that
  distances are along the surface of a sphere of radius 6371 km as in TauP. Agreement with
  ObsPy's TauP on the same model is tested (within 1 % or 0.02 s).
* **Station elevation.** A station ``e`` km above the datum sits in the medium just below the
  datum extended upward (velocity ``table.surface_velocity[phase]``). ``elevation="fermat"``
  (default) finds the true first arrival in that medium: the minimum over where the ray
  crosses the datum, ``min_x' T(x', z) + sqrt((x - x')^2 + e^2) / v0``, plus the straight ray
  for sources above the datum; it is exact for any incidence angle (e.g. a source beneath a
  mountain station, or shallow icequakes under glacier stations). ``elevation="vertical"`` is
  the simple static documented with :class:`~seiscore.containers.TravelTimeTable`:
  ``+ e / v0`` (good for distant sources, where rays arrive steeply). Stations below the datum
  (``e < 0``) always use the vertical static.
"""

from __future__ import annotations

import math
import os
import weakref
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import _core, geo
from ._backend import _cuda_module, resolve_device
from ._validate import check_workers
from .containers import Grid3D, Stations, TravelTimeTable
from .exceptions import InputError

__all__ = [
    "StationGrids",
    "VelocityModel",
    "build_table",
    "load_grids",
    "save_grids",
    "station_grids",
    "travel_times",
]

_ELEVATION_MODES = ("fermat", "vertical")
_GRIDS_FORMAT = 1


# ------------------------------------------------------------------------------------ models


@dataclass(eq=False)
class VelocityModel:
    """A 1-D P/S velocity model.

    ``depth_km`` (km below sea level, positive down; may start above sea level), ``vp`` and
    ``vs`` (km/s; ``vs = 0`` marks a liquid layer S cannot cross) are equal-length arrays.

    ``interpolation="constant"`` (layers): ``depth_km[i]`` is the top of layer ``i``, which has
    constant ``vp[i]``/``vs[i]`` down to the next top; the last layer is a half-space, and the
    first layer also extends upward (to stations and sources above it).
    ``interpolation="linear"`` (profile nodes, the TauP ``.nd`` convention): velocities vary
    linearly in depth between consecutive nodes, and two nodes at the same depth make a
    discontinuity.
    """

    depth_km: np.ndarray
    vp: np.ndarray
    vs: np.ndarray
    name: str = ""
    interpolation: str = "constant"

    def __post_init__(self) -> None:
        self.depth_km = np.asarray(self.depth_km, dtype=np.float64).ravel()
        self.vp = np.asarray(self.vp, dtype=np.float64).ravel()
        self.vs = np.asarray(self.vs, dtype=np.float64).ravel()
        what = f"velocity model {self.name!r}" if self.name else "velocity model"
        if not (len(self.depth_km) == len(self.vp) == len(self.vs)) or len(self.depth_km) == 0:
            raise InputError(
                f"{what}: depth_km, vp and vs must be non-empty and of equal length "
                f"(got {len(self.depth_km)}, {len(self.vp)}, {len(self.vs)})"
            )
        if self.interpolation not in ("constant", "linear"):
            raise InputError(
                f"{what}: interpolation must be 'constant' or 'linear', got {self.interpolation!r}"
            )
        for name, arr in (("depth_km", self.depth_km), ("vp", self.vp), ("vs", self.vs)):
            if not np.isfinite(arr).all():
                raise InputError(f"{what}: {name} has non-finite values")
        d = np.diff(self.depth_km)
        if self.interpolation == "constant" and (d <= 0).any():
            k = int(np.flatnonzero(d <= 0)[0]) + 1
            raise InputError(
                f"{what}: layer tops must increase (layer {k} at {self.depth_km[k]} km)"
            )
        if self.interpolation == "linear" and (d < 0).any():
            k = int(np.flatnonzero(d < 0)[0]) + 1
            raise InputError(
                f"{what}: node depths must not decrease (node {k} at {self.depth_km[k]} km)"
            )
        if (self.vp <= 0).any():
            raise InputError(f"{what}: vp must be positive everywhere")
        if (self.vs < 0).any():
            raise InputError(f"{what}: vs must be >= 0 (0 for liquids)")

    # -- constructors

    @classmethod
    def homogeneous(cls, vp: float, vs: float, name: str | None = None) -> VelocityModel:
        """One medium everywhere (``vp``, ``vs`` in km/s)."""
        return cls([0.0], [float(vp)], [float(vs)], name=name or f"homogeneous vp={vp:g} vs={vs:g}")

    @classmethod
    def from_file(
        cls, path, max_depth_km: float | None = 800.0, name: str | None = None
    ) -> VelocityModel:
        """Read a model file; the format is recognised from the content.

        * TauP ``.nd`` (named discontinuities): rows ``depth vp vs [rho [qp qs]]`` and labels such
          as ``mantle``/``outer-core``; linear between nodes. Nodes deeper than ``max_depth_km``
          (default 800 km) are dropped (the profile is cut at that depth).
        * CSV or whitespace text ``depth vp vs`` (a header naming ``depth``, ``vp``, ``vs`` is
          optional; other columns are ignored): constant layers, ``depth`` = top of each layer.
          With ``vp_grad``/``vs_grad`` columns (PyOcto's format, km/s per km) the layers have
          those gradients.
        * VELEST ``.mod``: title, then ``n`` and ``n`` rows ``vp top_depth damp`` for P, then the
          same for S; constant layers (the union of the P and S layer tops).
        """
        path = Path(path)
        label = name or path.stem
        if not path.is_file():
            raise InputError(f"velocity model file not found: {path}")
        text = path.read_text(errors="replace")
        lines = [ln.strip() for ln in text.splitlines()]
        lines = [ln for ln in lines if ln and not ln.startswith("#")]
        if not lines:
            raise InputError(f"{path}: empty velocity model file")
        try:
            if path.suffix.lower() == ".nd":
                model = cls._parse_nd(lines, path, label)
            elif path.suffix.lower() == ".mod" or _looks_velest(lines):
                model = cls._parse_velest(lines, path, label)
            else:
                model = cls._parse_table(lines, path, label)
        except InputError:
            raise
        except (ValueError, IndexError) as exc:
            raise InputError(f"{path}: cannot read the velocity model ({exc})") from None
        if max_depth_km is not None:
            model = model.truncated(float(max_depth_km))
        return model

    @classmethod
    def _parse_nd(cls, lines, path, label):
        rows = []
        for ln in lines:
            parts = ln.split()
            if not _is_number(parts[0]):
                continue  # named discontinuity ("mantle", "outer-core", ...)
            if len(parts) < 3:
                raise InputError(f"{path}: .nd rows need at least depth vp vs, got {ln!r}")
            rows.append([float(v) for v in parts[:3]])
        if not rows:
            raise InputError(f"{path}: no velocity rows in the .nd file")
        a = np.array(rows)
        return cls(a[:, 0], a[:, 1], a[:, 2], name=label, interpolation="linear")

    @classmethod
    def _parse_velest(cls, lines, path, label):
        # title, then blocks: a count line, then rows "v depth damp ..."
        k = 1
        blocks = []
        while k < len(lines) and len(blocks) < 2:
            n = int(lines[k].split()[0])
            rows = [lines[k + 1 + j].split() for j in range(n)]
            blocks.append(np.array([[float(r[0]), float(r[1])] for r in rows]))
            k += 1 + n
        if len(blocks) != 2:
            raise InputError(f"{path}: VELEST model needs a P and an S block")
        (p, s) = blocks
        tops = np.union1d(p[:, 1], s[:, 1])

        def at(block, z):
            i = np.searchsorted(block[:, 1], z, side="right") - 1
            return block[np.clip(i, 0, len(block) - 1), 0]

        return cls(tops, at(p, tops), at(s, tops), name=label)

    @classmethod
    def _parse_table(cls, lines, path, label):
        sep = "," if "," in lines[0] else None
        head = [c.strip().lower() for c in lines[0].split(sep)]
        if _is_number(head[0]):
            cols = {"depth": 0, "vp": 1, "vs": 2}
            body = lines
        else:

            def col(*names):
                for n in names:
                    if n in head:
                        return head.index(n)
                return None

            cols = {
                "depth": col("depth", "depth_km", "z", "top", "top_km"),
                "vp": col("vp", "vp_km_s", "p", "vel_p"),
                "vs": col("vs", "vs_km_s", "s", "vel_s"),
                "vp_grad": col("vp_grad"),
                "vs_grad": col("vs_grad"),
            }
            missing = [k for k in ("depth", "vp", "vs") if cols[k] is None]
            if missing:
                raise InputError(
                    f"{path}: missing columns {missing} (expected depth, vp, vs; got {head})"
                )
            body = lines[1:]
        rows = [[c.strip() for c in ln.split(sep)] for ln in body]
        if not rows:
            raise InputError(f"{path}: no velocity rows")

        def column(key):
            return np.array([float(r[cols[key]]) for r in rows])

        depth, vp, vs = column("depth"), column("vp"), column("vs")
        if cols.get("vp_grad") is None and cols.get("vs_grad") is None:
            return cls(depth, vp, vs, name=label)
        gp = column("vp_grad") if cols.get("vp_grad") is not None else np.zeros_like(vp)
        gs = column("vs_grad") if cols.get("vs_grad") is not None else np.zeros_like(vs)
        nodes_z, nodes_p, nodes_s = [], [], []
        for i in range(len(depth)):
            bottom = depth[i + 1] if i + 1 < len(depth) else depth[i] + 1000.0
            for z in (depth[i], bottom):
                nodes_z.append(z)
                nodes_p.append(vp[i] + gp[i] * (z - depth[i]))
                nodes_s.append(vs[i] + gs[i] * (z - depth[i]))
        return cls(nodes_z, nodes_p, nodes_s, name=label, interpolation="linear")

    # -- queries

    def nodes(self, phase: str) -> tuple[np.ndarray, np.ndarray]:
        """Piecewise-linear profile ``(depth_km, velocity)`` of ``phase`` ("P" or "S") for the
        ray-tracing kernel (constant layers become pairs of nodes)."""
        v = self._velocity_column(phase)
        if self.interpolation == "linear":
            return self.depth_km.copy(), v.copy()
        d = self.depth_km
        z = np.repeat(d, 2)[1:]
        vel = np.repeat(v, 2)[:-1]
        return np.ascontiguousarray(z), np.ascontiguousarray(vel)

    def _velocity_column(self, phase: str) -> np.ndarray:
        key = str(phase).upper()
        if key == "P":
            return self.vp
        if key == "S":
            return self.vs
        raise InputError(f"phase: expected 'P' or 'S', got {phase!r}")

    def velocity_at(self, phase: str, depth_km) -> np.ndarray:
        """Velocity (km/s) of ``phase`` just below ``depth_km`` (vectorised)."""
        z, v = self.nodes(phase)
        q = np.asarray(depth_km, dtype=np.float64)
        # just below: the right-most node at or above q decides at discontinuities
        i = np.searchsorted(z, q, side="right") - 1
        i = np.clip(i, 0, len(z) - 1)
        j = np.minimum(i + 1, len(z) - 1)
        span = z[j] - z[i]
        w = np.where(span > 0, (q - z[i]) / np.where(span > 0, span, 1.0), 0.0)
        w = np.clip(w, 0.0, 1.0)
        out = v[i] + (v[j] - v[i]) * w
        return np.where(q < z[0], v[0], out)

    def truncated(self, max_depth_km: float) -> VelocityModel:
        """The model cut at ``max_depth_km`` (deeper nodes/layers dropped)."""
        keep = self.depth_km <= max_depth_km
        if keep.all():
            return self
        if not keep.any():
            raise InputError(
                f"velocity model {self.name!r}: no layer above max_depth_km={max_depth_km}"
            )
        d, p, s = self.depth_km[keep], self.vp[keep], self.vs[keep]
        if self.interpolation == "linear" and d[-1] < max_depth_km:
            d = np.append(d, max_depth_km)
            p = np.append(p, self.velocity_at("P", max_depth_km))
            s = np.append(s, self.velocity_at("S", max_depth_km))
        return VelocityModel(d, p, s, name=self.name, interpolation=self.interpolation)


def _is_number(token: str) -> bool:
    try:
        float(token)
    except ValueError:
        return False
    return True


def _looks_velest(lines) -> bool:
    if len(lines) < 3:
        return False
    first = lines[1].split()
    return len(first) >= 1 and first[0].isdigit() and not _is_number(lines[0].split()[0])


# ------------------------------------------------------------------------------------ tables


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
    """
    if not isinstance(model, VelocityModel):
        raise InputError(f"model: expected a VelocityModel, got {type(model).__name__}")
    max_distance_km, max_depth_km, min_depth_km = (
        float(max_distance_km),
        float(max_depth_km),
        float(min_depth_km),
    )
    if not (max_distance_km > 0 and math.isfinite(max_distance_km)):
        raise InputError(f"max_distance_km must be positive, got {max_distance_km}")
    if not (
        max_depth_km > min_depth_km and math.isfinite(max_depth_km) and math.isfinite(min_depth_km)
    ):
        raise InputError(
            f"max_depth_km ({max_depth_km}) must be larger than min_depth_km ({min_depth_km})"
        )
    if distance_step_km is None:
        distance_step_km = min(1.0, max_distance_km / 200.0)
    if depth_step_km is None:
        depth_step_km = min(1.0, (max_depth_km - min_depth_km) / 100.0)
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
        times[k] = _core.traveltime.first_arrivals(
            np.ascontiguousarray(z), np.ascontiguousarray(v), depth, dist, workers=nworkers
        )
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
        Station-elevation correction (see the module docstring).
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


# ------------------------------------------------------------------------------------ grids


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
            f"{what} too large for memory: {n_nodes:,} nodes x {n_stations} stations x {n_phases} phases "
            f"x {itemsize} B = {need / 1e9:.2f} GB, above the limit of {limit / 1e9:.2f} GB; use a coarser "
            "grid or fewer stations (or raise max_memory_gb)"
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
    ``elevation`` in the module docstring) at the node's depth and horizontal distance.

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
    phases = (
        table.phases
        if phases is None
        else tuple(table.phases[_phase_index(table, p)] for p in phases)
    )
    if sampling_rate is not None and not (
        float(sampling_rate) > 0 and math.isfinite(float(sampling_rate))
    ):
        raise InputError(f"sampling_rate: expected a positive number, got {sampling_rate}")
    axes = _table_axes(table)
    n_st, n_ph = len(stations), len(phases)
    check_grid_memory(grid.n_nodes, n_st, n_ph, 4, max_memory_gb)

    # --- coverage: depths, then the farthest node of each station
    gz = grid.axes()[2]
    zmin, zmax = float(table.depth_km[0]), float(table.depth_km[-1])
    tol = 1e-9 * max(1.0, abs(axes[1]))
    if gz[0] < zmin - tol or gz[-1] > zmax + tol:
        raise InputError(
            f"grid depths {gz[0]:g} to {gz[-1]:g} km lie outside the travel-time table's depths "
            f"{zmin:g} to {zmax:g} km; rebuild the table with min_depth_km <= {gz[0]:g} and "
            f"max_depth_km >= {gz[-1]:g}"
        )
    xy = _station_xy(stations, grid)
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

    # --- elevation-corrected tables [station, phase, depth, distance]
    elev = np.asarray(stations.elevation_m, dtype=np.float64)
    elev = np.where(np.isfinite(elev), elev, 0.0)
    tabs = np.empty((n_st, n_ph, len(table.depth_km), len(table.distance_km)), np.float32)
    for p, ph in enumerate(phases):
        for e in np.unique(elev):
            tabs[elev == e, p] = _corrected(table, ph, float(e), elevation, nworkers)

    fs = float(sampling_rate) if sampling_rate is not None else 0.0
    dev = resolve_device(device)
    args = (
        tabs,
        axes,
        xy,
        tuple(map(float, grid.origin_km)),
        tuple(map(float, grid.spacing_km)),
        tuple(int(n) for n in grid.shape),
        fs,
    )
    if dev == "cuda":
        out = _cuda_module().traveltime.station_grids(*args, 0)
    else:
        out = _core.traveltime.station_grids(*args, nworkers)

    bad = (out == np.iinfo(np.int32).min) if fs > 0 else ~np.isfinite(out)
    if bad.any():
        node, s, p = (int(v[0]) for v in np.nonzero(bad))
        raise InputError(
            f"missing travel times: phase {phases[p]} has no arrival at station {stations.ids[s]} from "
            f"grid node {node} ({bad.sum()} values undefined; e.g. S cannot cross a liquid layer)"
        )
    return out


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
                f"missing travel times for stations {missing[:10]} (grids hold {len(index)} stations)"
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
    if not path.is_file():
        raise InputError(f"travel-time grid file not found: {path}")
    try:
        with np.load(path, allow_pickle=False) as z:
            data = {k: z[k] for k in z.files}
    except Exception as exc:
        raise InputError(f"{path}: not a travel-time grid file ({exc})") from None
    need = (
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
    missing = [k for k in need if k not in data]
    if missing:
        raise InputError(f"{path}: not a travel-time grid file (missing {missing})")
    g = Grid3D(
        origin_km=tuple(float(v) for v in data["grid_origin_km"]),
        spacing_km=tuple(float(v) for v in data["grid_spacing_km"]),
        shape=tuple(int(v) for v in data["grid_shape"]),
        reference=tuple(float(v) for v in data["grid_reference"]),
    )
    fs = float(data["sampling_rate"])
    out = StationGrids(
        times=data["times"],
        grid=g,
        station_ids=tuple(str(s) for s in data["station_ids"]),
        phases=tuple(str(p) for p in data["phases"]),
        model=str(data["model"]),
        sampling_rate=None if math.isnan(fs) else fs,
    )
    if grid is not None:
        for name in ("origin_km", "spacing_km", "shape", "reference"):
            a, b = np.asarray(getattr(grid, name), float), np.asarray(getattr(g, name), float)
            if a.shape != b.shape or not np.allclose(a, b, rtol=1e-9, atol=1e-9):
                raise InputError(
                    f"{path}: grids were computed for a different grid ({name} {tuple(b)} in the file, "
                    f"{tuple(a)} requested); recompute them with station_grids()"
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
    if stations is not None:
        out.times = out.select_stations(stations.ids)
        out.station_ids = tuple(stations.ids)
    return out
