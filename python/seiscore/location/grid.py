"""The location grid: a regular 3-D grid in local km around the stations' footprint (or given
bounds)."""

from __future__ import annotations

import math

import numpy as np

from .. import geo
from ..containers import Grid3D, Stations
from ..exceptions import InputError

__all__ = ["make_grid"]


def make_grid(
    stations: Stations,
    *,
    bounds=None,
    depth_km=(0.0, 20.0),
    spacing_km=1.0,
    margin_km: float = 5.0,
) -> Grid3D:
    """A regular grid in local km around its centre.

    ``bounds = (lat_min, lat_max, lon_min, lon_max)`` in degrees, or None for the stations'
    bounding box widened by ``margin_km`` on each side. ``depth_km = (top, bottom)`` km below
    sea level; ``spacing_km`` a number or ``(dx, dy, dz)``. The reference point (x = y = 0) is
    the centre of the bounds; the grid covers the bounds' corners projected around it.
    """
    sp = np.broadcast_to(np.asarray(spacing_km, dtype=np.float64), (3,)).astype(float)
    if not np.all(sp > 0):
        raise InputError(f"grid spacing must be positive, got {spacing_km}")
    z0, z1 = (float(v) for v in depth_km)
    if not z1 > z0:
        raise InputError(
            f"grid depth range must be (top, bottom) with bottom > top, got {depth_km}"
        )
    if bounds is None:
        ref, xs, ys = _station_footprint(stations, margin_km)
    else:
        ref, xs, ys = _bounds_footprint(bounds)
    shape = tuple(
        int(math.floor((hi - lo) / d + 1e-9)) + 1
        for (lo, hi), d in zip((xs, ys, (z0, z1)), sp, strict=False)
    )
    return Grid3D(origin_km=(xs[0], ys[0], z0), spacing_km=tuple(sp), shape=shape, reference=ref)


def _station_footprint(stations: Stations, margin_km: float):
    """Reference point (the stations' mean position) and x, y ranges (km): the stations'
    bounding box widened by ``margin_km``."""
    lat, lon = np.asarray(stations.latitude), np.asarray(stations.longitude)
    ref = (float(lat.mean()), float(lon.mean()))
    x, y = geo.project(lat, lon, *ref)
    xs = (float(x.min()) - margin_km, float(x.max()) + margin_km)
    ys = (float(y.min()) - margin_km, float(y.max()) + margin_km)
    return ref, xs, ys


def _bounds_footprint(bounds):
    """Reference point (the centre of the bounds) and x, y ranges (km) covering their corners."""
    lat0, lat1, lon0, lon1 = (float(v) for v in bounds)
    if not (lat1 > lat0 and lon1 > lon0):
        raise InputError(f"grid bounds must be lat_min < lat_max, lon_min < lon_max, got {bounds}")
    ref = (0.5 * (lat0 + lat1), 0.5 * (lon0 + lon1))
    cx, cy = geo.project([lat0, lat0, lat1, lat1], [lon0, lon1, lon0, lon1], *ref)
    xs, ys = (float(cx.min()), float(cx.max())), (float(cy.min()), float(cy.max()))
    return ref, xs, ys
