"""NonLinLoc travel-time grids (``.hdr`` + ``.buf``): read them as per-station grids, write
seiscore's grids in that format, and derive a 1-D table from them for association.

The format (NonLinLoc's ``Grid2Time``; also what LOKI and MALMI users have): one grid per
phase and station, ``<root>.<PHASE>.<LABEL>.time.hdr`` and ``.buf``.

* ``.hdr`` line 1: ``nx ny nz  x0 y0 z0  dx dy dz  TYPE [FLOAT|DOUBLE]`` — nodes, origin and
  spacing in km (x east, y north, z depth positive down), ``TYPE`` ``TIME`` (3-D) or
  ``TIME2D`` (a 1-D model: the grid holds time against horizontal distance from the station,
  along y, and depth; x has one or two nodes);
* line 2: ``LABEL xs ys zs`` — the station and its position (km; ``zs`` is its depth, negative
  above sea level);
* a ``TRANSFORM`` line: how x, y relate to latitude and longitude (``SIMPLE``,
  ``AZIMUTHAL_EQUIDIST``, ``NONE``; ``LatOrig``, ``LongOrig``, ``RotCW``);
* ``.buf``: the times (s) as 4-byte floats (8 with ``DOUBLE``), x slowest and z fastest, in
  the byte order of the machine that wrote them (little-endian, or big-endian: both are read).

Reading onto a seiscore grid (:func:`nonlinloc_station_grids`) takes each node's latitude and
longitude (:mod:`seiscore.geo`, around ``grid.reference``) into the NonLinLoc frame through its
transform (``SIMPLE``: NonLinLoc's own formulas, exactly; ``AZIMUTHAL_EQUIDIST``: seiscore's
spherical azimuthal equidistant projection — exact for ``RefEllipsoid Sphere``, within a few
tenths of a percent of distance from the origin for an ellipsoid; ``NONE``: the x, y of the
file are taken as seiscore's local km around ``grid.reference``), then interpolates the times
trilinearly (bilinearly in distance and depth for ``TIME2D``); a node up to a quarter cell
outside takes the time at the file's edge (frames differ a little). A node that falls on a node of
the file gets its time exactly: :func:`grid_from_nonlinloc` gives the seiscore grid whose
nodes are the file's, and :func:`write_nonlinloc` writes ``AZIMUTHAL_EQUIDIST RefEllipsoid
Sphere`` grids, so that writing and reading back gives the same times, bit for bit.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .. import geo
from ..containers import Grid3D, Stations, TravelTimeTable
from ..exceptions import InputError

__all__ = [
    "NonLinLocGrid",
    "grid_from_nonlinloc",
    "nonlinloc_station_grids",
    "read_nonlinloc",
    "table_from_grids",
    "write_nonlinloc",
]

_C111 = 10000.0 / 90.0  # NonLinLoc's km per degree (SIMPLE transform)
_TRANSFORMS = ("NONE", "SIMPLE", "AZIMUTHAL_EQUIDIST")


@dataclass(eq=False)
class NonLinLocGrid:
    """One NonLinLoc grid header (its values are read on demand with :meth:`read`)."""

    path: Path  # the .hdr file
    shape: tuple[int, int, int]
    origin_km: tuple[float, float, float]
    spacing_km: tuple[float, float, float]
    grid_type: str
    float_type: str = "FLOAT"
    label: str = ""
    station_km: tuple[float, float, float] = (math.nan, math.nan, math.nan)
    transform: dict = field(default_factory=lambda: {"name": "NONE"})
    phase: str = ""

    @property
    def is_2d(self) -> bool:
        return self.grid_type.upper().endswith("2D")

    def read(self) -> np.ndarray:
        """The times ``[nx, ny, nz]`` (float32 seconds); InputError for a short or foreign file."""
        buf = self.path.with_suffix(".buf")
        dtype = np.dtype("<f8" if self.float_type.upper() == "DOUBLE" else "<f4")
        n = int(np.prod(self.shape))
        try:
            raw = np.fromfile(buf, dtype=dtype, count=n)
        except OSError as exc:
            raise InputError(f"{buf}: cannot read ({exc})") from None
        if raw.size < n:
            raise InputError(
                f"{buf}: {raw.size} values, the header {self.path.name} needs "
                f"{' x '.join(map(str, self.shape))} = {n}"
            )
        if not _plausible(raw):
            swapped = raw.view(raw.dtype.newbyteorder())  # the same bytes, the other order
            if _plausible(swapped):
                raw = swapped
            else:
                raise InputError(f"{buf}: not travel times in seconds (in either byte order)")
        return raw.astype(np.float32).reshape(self.shape)


def _plausible(t: np.ndarray) -> bool:
    """Whether values look like travel times: finite, within ±1e6 s, and zero or above 1e-20 s
    in size (values read in the wrong byte order are mostly huge or tiny)."""
    a = np.abs(t.astype(np.float64))
    return bool(np.all(np.isfinite(a)) and np.all(a < 1e6) and np.all((a == 0) | (a > 1e-20)))


# ---------------------------------------------------------------------------------- read


def _parse_transform(words: list[str], where: str) -> dict:
    name = words[1].upper() if len(words) > 1 else "NONE"
    if name == "NONE":
        return {"name": "NONE"}
    keys = {words[i].lower(): words[i + 1] for i in range(2, len(words) - 1)}
    try:
        out = {
            "name": name,
            "lat0": float(keys["latorig"]),
            "lon0": float(keys["longorig"]),
            "rot": float(keys.get("rotcw", 0.0)),
        }
    except (KeyError, ValueError):
        raise InputError(f"{where}: cannot read the TRANSFORM line {' '.join(words)!r}") from None
    if "refellipsoid" in keys:
        out["ellipsoid"] = keys["refellipsoid"]
    return out


def read_header(path) -> NonLinLocGrid:
    """One ``.hdr`` file (the ``.buf`` beside it is read by :meth:`NonLinLocGrid.read`)."""
    path = Path(path)
    if path.suffix == ".buf":
        path = path.with_suffix(".hdr")
    try:
        lines = [ln.split() for ln in path.read_text().splitlines() if ln.strip()]
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read a NonLinLoc grid header ({exc})") from None
    try:
        w = lines[0]
        shape = tuple(int(v) for v in w[0:3])
        origin = tuple(float(v) for v in w[3:6])
        spacing = tuple(float(v) for v in w[6:9])
        grid_type = w[9].upper()
        float_type = w[10].upper() if len(w) > 10 else "FLOAT"
    except (IndexError, ValueError):
        raise InputError(f"{path}: line 1 is not 'nx ny nz x0 y0 z0 dx dy dz TYPE'") from None
    if min(shape) < 1 or (min(spacing) <= 0 and max(shape) > 1):
        raise InputError(f"{path}: bad grid shape {shape} or spacing {spacing}")
    out = NonLinLocGrid(path, shape, origin, spacing, grid_type, float_type)
    for words in lines[1:]:
        if words[0].upper() in ("TRANS", "TRANSFORM"):
            out.transform = _parse_transform(words, str(path))
        elif len(words) >= 4:
            try:
                out.label, out.station_km = words[0], tuple(float(v) for v in words[1:4])
            except ValueError:
                raise InputError(f"{path}: cannot read the station line {words}") from None
    return out


_NAME = re.compile(r"^(?P<root>.+)\.(?P<phase>[A-Za-z]+)\.(?P<label>[^.]+)\.time\.hdr$")


def read_nonlinloc(root, phases=("P", "S"), stations: Stations | None = None) -> dict:
    """The TIME grids ``<root>.<PHASE>.<LABEL>.time.hdr`` (``root`` may also be a folder:
    every such grid in it), as ``{(phase, station id): NonLinLocGrid}``.

    Labels are matched to ``stations`` (when given) by station code, ``NET_STA`` or
    ``NET.STA``; stations without a grid for each phase are named in an InputError.
    """
    root = Path(root)
    files = (
        sorted(root.glob("*.time.hdr"))
        if root.is_dir()
        else sorted(root.parent.glob(f"{root.name}.*.time.hdr"))
    )
    want = tuple(str(p).upper() for p in phases)
    by_label: dict[tuple[str, str], NonLinLocGrid] = {}
    for f in files:
        m = _NAME.match(f.name)
        if m is None or m["phase"].upper() not in want:
            continue
        g = read_header(f)
        g.phase = m["phase"].upper()
        if not g.grid_type.startswith("TIME"):
            continue
        by_label[(g.phase, g.label or m["label"])] = g
    if not by_label:
        raise InputError(f"no NonLinLoc time grids {root}.<{'|'.join(want)}>.<STATION>.time.hdr")
    if stations is None:
        return by_label
    return _match_stations(by_label, stations, want, root)


def _match_stations(by_label: dict, stations: Stations, phases, root) -> dict:
    out, missing = {}, []
    for i, sid in enumerate(stations.ids):
        net, sta = str(stations.network[i]), str(stations.station[i])
        for ph in phases:
            for label in (sta, f"{net}_{sta}", f"{net}.{sta}", sid):
                if (ph, label) in by_label:
                    out[(ph, sid)] = by_label[(ph, label)]
                    break
            else:
                missing.append(f"{sid} {ph}")
    if missing:
        raise InputError(
            f"{root}: no NonLinLoc time grid for {len(missing)} station-phase(s): "
            f"{', '.join(missing[:8])}"
        )
    return out


# ------------------------------------------------------------------------ to a seiscore grid


def _to_frame(lat, lon, transform: dict, reference) -> tuple[np.ndarray, np.ndarray]:
    """Latitude/longitude to the x, y (km) of a NonLinLoc transform."""
    name = transform["name"]
    if name == "NONE":
        return geo.project(lat, lon, *reference)
    if name not in _TRANSFORMS:
        raise InputError(
            f"NonLinLoc TRANSFORM {name} is not supported (use SIMPLE, AZIMUTHAL_EQUIDIST or "
            "NONE, e.g. rerun Grid2Time with TRANS SIMPLE)"
        )
    lat0, lon0 = transform["lat0"], transform["lon0"]
    if name == "SIMPLE":
        dlon = (np.asarray(lon, np.float64) - lon0 + 180.0) % 360.0 - 180.0
        x = dlon * _C111 * np.cos(np.radians(lat))
        y = (np.asarray(lat, np.float64) - lat0) * _C111
    else:
        x, y = geo.project(lat, lon, lat0, lon0)
    a = -math.radians(transform.get("rot", 0.0))
    if a == 0.0:
        return np.asarray(x), np.asarray(y)
    return x * math.cos(a) - y * math.sin(a), y * math.cos(a) + x * math.sin(a)


def _node_frame(grid: Grid3D, transform: dict):
    """Every node of ``grid`` in a NonLinLoc frame: x, y (km) and z (km)."""
    nodes = grid.node_xyz(np.arange(grid.n_nodes))
    if transform["name"] == "NONE":
        return nodes[:, 0], nodes[:, 1], nodes[:, 2]
    lat, lon = geo.unproject(nodes[:, 0], nodes[:, 1], *grid.reference)
    x, y = _to_frame(lat, lon, transform, grid.reference)
    return x, y, nodes[:, 2]


def _index(v: np.ndarray, origin: float, step: float, n: int) -> np.ndarray:
    """Fractional indices along one axis, snapped to whole ones within 1e-6."""
    f = (np.asarray(v, np.float64) - origin) / step if n > 1 else np.zeros(np.shape(v))
    r = np.round(f)
    return np.where(np.abs(f - r) < 1e-6, r, f)


def _interpolate(vol: np.ndarray, idx: list[np.ndarray]) -> np.ndarray:
    """Multilinear interpolation of ``vol`` at fractional indices ``idx`` (one per axis, all
    inside); a whole index takes the node's value exactly."""
    base, frac = [], []
    for i, n in zip(idx, vol.shape, strict=True):
        b = np.clip(np.floor(i).astype(np.int64), 0, max(n - 2, 0))
        base.append(b)
        frac.append(i - b if n > 1 else np.zeros_like(i))
    out = np.zeros(len(idx[0]), np.float64)
    for corner in np.ndindex(*(2,) * len(idx)):
        weight = np.ones(len(idx[0]))
        pos = []
        for axis, c in enumerate(corner):
            weight = weight * (frac[axis] if c else 1.0 - frac[axis])
            pos.append(np.minimum(base[axis] + c, vol.shape[axis] - 1))
        nz = weight != 0
        out[nz] += weight[nz] * vol[tuple(p[nz] for p in pos)]
    return out


def _sample(g: NonLinLocGrid, x, y, z, what: str) -> np.ndarray:
    """Times of grid ``g`` at frame points (x, y, z); InputError for points outside it."""
    vol = g.read().astype(np.float64)
    if g.is_2d:
        dist = np.hypot(x - g.station_km[0], y - g.station_km[1])
        coords = [(dist, 1), (z, 2)]
        vol = vol[0]
    else:
        coords = [(x, 0), (y, 1), (z, 2)]
    idx = []
    for v, axis in coords:
        i = _index(v, g.origin_km[axis], g.spacing_km[axis], g.shape[axis])
        outside = (i < -0.25) | (i > g.shape[axis] - 1 + 0.25)  # a quarter cell: projections
        if outside.any():
            far = float(np.max(np.maximum(-i, i - (g.shape[axis] - 1))[outside]))
            raise InputError(
                f"{g.path.name} ({what}): {int(outside.sum())} grid node(s) lie outside the "
                f"NonLinLoc grid along {'xyz'[axis] if not g.is_2d or axis == 2 else 'distance'}"
                f" (up to {far * g.spacing_km[axis]:.3f} km); use a smaller grid or larger "
                "NonLinLoc grids"
            )
        idx.append(np.clip(i, 0, g.shape[axis] - 1))
    return _interpolate(vol, idx)


def nonlinloc_station_grids(
    grids: dict,
    grid: Grid3D,
    stations: Stations,
    sampling_rate: float | None = None,
    *,
    phases=("P", "S"),
) -> np.ndarray:
    """Travel times ``[n_nodes, n_stations, n_phases]`` on ``grid`` from NonLinLoc grids
    (:func:`read_nonlinloc` with these ``stations``), as :func:`station_grids` returns them:
    float32 seconds, or int32 samples ``round(t * sampling_rate)``. See the module doc for the
    transform and the interpolation; every node of ``grid`` must lie inside every file's grid.
    """
    phases = tuple(str(p).upper() for p in phases)
    out = np.empty((grid.n_nodes, len(stations), len(phases)), np.float32)
    frames: dict = {}
    for s, sid in enumerate(stations.ids):
        for p, ph in enumerate(phases):
            g = grids.get((ph, sid))
            if g is None:
                raise InputError(f"no NonLinLoc grid for station {sid}, phase {ph}")
            key = repr(sorted(g.transform.items()))
            if key not in frames:
                frames[key] = _node_frame(grid, g.transform)
            out[:, s, p] = _sample(g, *frames[key], f"{sid} {ph}")
    if sampling_rate is None:
        return out
    return np.round(out.astype(np.float64) * float(sampling_rate)).astype(np.int32)


def grid_from_nonlinloc(grids: dict, reference=None) -> Grid3D:
    """The seiscore grid whose nodes are those of the (3-D, all alike) NonLinLoc grids:
    their origin, spacing and shape, around their transform's origin (``reference`` for
    ``TRANSFORM NONE``)."""
    items = [g for g in grids.values() if not g.is_2d]
    if not items:
        raise InputError("grid_from_nonlinloc: the grids are TIME2D; give a seiscore grid")
    g = items[0]
    for other in items[1:]:
        if (other.shape, other.origin_km, other.spacing_km) != (g.shape, g.origin_km, g.spacing_km):
            raise InputError(
                f"grid_from_nonlinloc: {other.path.name} and {g.path.name} differ in geometry"
            )
    t = g.transform
    if t["name"] == "NONE":
        if reference is None:
            raise InputError("TRANSFORM NONE grids: give the reference (lat, lon) of their x, y")
        ref = tuple(float(v) for v in reference)
    else:
        ref = (t["lat0"], t["lon0"])
        if t.get("rot", 0.0) != 0.0:
            raise InputError("grid_from_nonlinloc: rotated grids (RotCW) need a seiscore grid")
    return Grid3D(g.origin_km, g.spacing_km, g.shape, ref)


# ---------------------------------------------------------------------------------- write


def _label(stations: Stations, i: int) -> str:
    codes = list(stations.station)
    sta = str(stations.station[i])
    return sta if codes.count(sta) == 1 else f"{stations.network[i]}_{sta}"


def write_nonlinloc(
    root, times: np.ndarray, grid: Grid3D, stations: Stations, *, phases=("P", "S")
) -> list[Path]:
    """Write travel times ``[n_nodes, n_stations, n_phases]`` (float seconds, as
    :func:`station_grids` without a sampling rate) as NonLinLoc TIME grids
    ``<root>.<PHASE>.<LABEL>.time.hdr/.buf`` (label: the station code, or ``NET_STA`` where
    codes repeat), ``TRANSFORM AZIMUTHAL_EQUIDIST RefEllipsoid Sphere`` around
    ``grid.reference`` (seiscore's projection). Returns the paths written."""
    times = np.asarray(times)
    phases = tuple(str(p).upper() for p in phases)
    if times.shape != (grid.n_nodes, len(stations), len(phases)) or times.dtype.kind != "f":
        raise InputError(
            f"write_nonlinloc: times must be float seconds [{grid.n_nodes}, {len(stations)}, "
            f"{len(phases)}], got {times.dtype} {times.shape}"
        )
    root = Path(root)
    root.parent.mkdir(parents=True, exist_ok=True)
    sx, sy = geo.project(stations.latitude, stations.longitude, *grid.reference)
    elev = np.where(np.isfinite(stations.elevation_m), stations.elevation_m, 0.0)
    (x0, y0, z0), (dx, dy, dz), (nx, ny, nz) = grid.origin_km, grid.spacing_km, grid.shape
    lat0, lon0 = grid.reference
    written = []
    for s in range(len(stations)):
        label = _label(stations, s)
        for p, ph in enumerate(phases):
            hdr_path = root.parent / f"{root.name}.{ph}.{label}.time.hdr"
            buf_path = hdr_path.with_suffix(".buf")
            hdr = (
                f"{nx} {ny} {nz}  {x0:.6f} {y0:.6f} {z0:.6f}  {dx:.6f} {dy:.6f} {dz:.6f} "
                "TIME FLOAT\n"
                f"{label} {sx[s]:.6f} {sy[s]:.6f} {-elev[s] / 1000.0:.6f}\n"
                f"TRANSFORM  AZIMUTHAL_EQUIDIST RefEllipsoid Sphere  LatOrig {lat0:.8f}  "
                f"LongOrig {lon0:.8f}  RotCW 0.000000\n"
            )
            hdr_path.write_text(hdr)
            np.ascontiguousarray(times[:, s, p], dtype="<f4").tofile(buf_path)
            written += [hdr_path, buf_path]
    return written


# ------------------------------------------------------------------ a table for association


def _bilinear(tab: np.ndarray, fd: np.ndarray, fz: np.ndarray) -> np.ndarray:
    """``tab[depth, distance]`` at fractional indices (clipped to the table)."""
    nz, nd = tab.shape
    fd, fz = np.clip(fd, 0, nd - 1), np.clip(fz, 0, nz - 1)
    i0 = np.minimum(np.floor(fd).astype(np.int64), max(nd - 2, 0))
    j0 = np.minimum(np.floor(fz).astype(np.int64), max(nz - 2, 0))
    i1, j1 = np.minimum(i0 + 1, nd - 1), np.minimum(j0 + 1, nz - 1)
    wd, wz = fd - i0, fz - j0
    top = tab[j0, i0] * (1 - wd) + tab[j0, i1] * wd
    bottom = tab[j1, i0] * (1 - wd) + tab[j1, i1] * wd
    return top * (1 - wz) + bottom * wz


def table_from_grids(
    times: np.ndarray,
    grid: Grid3D,
    stations: Stations,
    *,
    phases=("P", "S"),
    distance_step_km: float | None = None,
    depth_step_km: float | None = None,
    model: str = "from 3-D grids",
):
    """A 1-D (distance, depth) :class:`~seiscore.containers.TravelTimeTable` that summarises
    per-station 3-D travel times (e.g. :func:`nonlinloc_station_grids` in seconds), for
    association, which searches with one table for all stations.

    Each node–station pair gives a time at (horizontal distance, node depth); the station's
    elevation is taken off with the vertical static ``elevation / v0`` (association adds it
    back), ``v0`` being the slowest apparent velocity seen within one cell of the surface near
    the stations. The table holds, per (distance, depth) bin (a quarter of the horizontal
    spacing by the vertical one, by default), the median over stations and azimuths; empty
    bins are filled along distance. Returns ``(table, spread)``: ``spread``
    (per phase, s) is the 95th percentile of ``|3-D time - table time|`` over all
    node–station pairs — how far the 1-D summary is from the 3-D times (set association's
    ``tolerance_s`` at least that large), and it covers only the distances and depths the
    grids do.
    """
    # long function: bin, correct for elevation, fill, measure the spread — one pass per phase
    times = np.asarray(times, np.float64)
    phases = tuple(str(p).upper() for p in phases)
    nodes = grid.node_xyz(np.arange(grid.n_nodes))
    sx, sy = geo.project(stations.latitude, stations.longitude, *grid.reference)
    elev_km = np.where(np.isfinite(stations.elevation_m), stations.elevation_m, 0.0) / 1000.0
    dist = np.hypot(nodes[:, 0, None] - sx[None, :], nodes[:, 1, None] - sy[None, :])
    depth = np.broadcast_to(nodes[:, 2, None], dist.shape)
    dd = float(distance_step_km or 0.25 * min(grid.spacing_km[:2]))
    dzs = float(depth_step_km or grid.spacing_km[2])
    d_axis = np.arange(0.0, float(dist.max()) + dd, dd)
    z_axis = (
        grid.axes()[2]
        if depth_step_km is None
        else np.arange(float(depth.min()), float(depth.max()) + dzs, dzs)
    )
    di = np.clip(np.round(dist / dd).astype(np.int64), 0, len(d_axis) - 1)
    zi = np.clip(np.round((depth - z_axis[0]) / dzs).astype(np.int64), 0, len(z_axis) - 1)
    table = np.full((len(phases), len(z_axis), len(d_axis)), np.nan, np.float32)
    v0, spread = {}, {}
    for p, ph in enumerate(phases):
        t = times[:, :, p]
        near = (depth <= z_axis[0] + dzs + 1e-9) & (dist > 0) & (dist <= 3 * dd)
        app = np.hypot(dist, depth + elev_km[None, :])[near] / np.maximum(t[near], 1e-9)
        v0[ph] = float(np.min(app)) if app.size else 6.0
        t0 = t - elev_km[None, :] / v0[ph]
        key = zi * len(d_axis) + di
        order = np.argsort(key, axis=None, kind="stable")
        k_sorted, t_sorted = key.ravel()[order], t0.ravel()[order]
        bounds = np.flatnonzero(np.diff(k_sorted)) + 1
        for seg_k, seg in zip(k_sorted[np.r_[0, bounds]], np.split(t_sorted, bounds), strict=True):
            table[p].flat[int(seg_k)] = np.median(seg)
        for j in range(len(z_axis)):  # fill empty distance bins of each depth
            row = table[p, j]
            ok = np.isfinite(row)
            if ok.sum() >= 2:
                table[p, j] = np.interp(d_axis, d_axis[ok], row[ok])
        fit = _bilinear(table[p], dist / dd, (depth - z_axis[0]) / dzs)
        spread[ph] = float(np.nanpercentile(np.abs(t0 - fit), 95))
    return TravelTimeTable(phases, d_axis, z_axis, table, v0, model), spread
