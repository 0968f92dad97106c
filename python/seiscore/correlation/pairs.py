"""Stations, pairs and components of a correlate() run: which stations and pairs, their
coordinates, distances and azimuths, the component codes, and the ENZ → RTZ rotation."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..containers import Stations, Waveforms
from ..exceptions import InputError
from ._common import _positive

CHANNELS = ("E", "N", "Z")
COMPONENTS_ENZ = tuple(a + b for a in CHANNELS for b in CHANNELS)
COMPONENTS_RTZ = tuple(a + b for a in "RTZ" for b in "RTZ")


# ---------------------------------------------------------------------------- components


def _parse_components(components) -> tuple[tuple, tuple, bool]:
    """(requested names, computed ENZ names, rotate?)."""
    if isinstance(components, str):
        key = components.strip()
        if key.upper() in ("ALL", "ENZ"):
            req = COMPONENTS_ENZ
        elif key.upper() == "RTZ":
            req = COMPONENTS_RTZ
        else:
            req = tuple(c.strip() for c in key.split(","))
    else:
        req = tuple(components)
    req = tuple(str(c).upper() for c in req)
    if not req or len(set(req)) != len(req):
        raise InputError(f"components: expected distinct two-letter codes, got {components!r}")
    bad = [c for c in req if len(c) != 2 or any(ch not in "ENZRT" for ch in c)]
    if bad:
        raise InputError(
            f"components: {bad} are not two letters of E, N, Z (or R, T, Z); "
            "e.g. 'ZZ', 'all', 'RTZ'"
        )
    rotate = any(ch in "RT" for c in req for ch in c)
    computed = COMPONENTS_ENZ if rotate else req
    return req, computed, rotate


def _rotation(az_deg, baz_deg):
    """[P, 3, 3] matrices (rows R, T, Z; columns E, N, Z) at the source and the receiver."""
    th, be = np.radians(az_deg), np.radians(baz_deg)
    P = len(th)
    ma = np.zeros((P, 3, 3))
    mb = np.zeros((P, 3, 3))
    ma[:, 0, 0], ma[:, 0, 1] = np.sin(th), np.cos(th)
    ma[:, 1, 0], ma[:, 1, 1] = np.cos(th), -np.sin(th)
    mb[:, 0, 0], mb[:, 0, 1] = -np.sin(be), -np.cos(be)
    mb[:, 1, 0], mb[:, 1, 1] = -np.cos(be), np.sin(be)
    ma[:, 2, 2] = mb[:, 2, 2] = 1.0
    return ma, mb


def _rotate(arr, ma, mb, pair_axis):
    """ENZ (9, in COMPONENTS_ENZ order) → RTZ (COMPONENTS_RTZ order) on axes (pair, comp)."""
    a = np.moveaxis(arr, (pair_axis, pair_axis + 1), (0, 1))
    shp = a.shape
    c = a.reshape((shp[0], 3, 3) + shp[2:]).astype(np.float64)
    r = np.einsum("pix,pjy,pxy...->pij...", ma, mb, c)
    return np.moveaxis(r.reshape(shp).astype(arr.dtype), (0, 1), (pair_axis, pair_axis + 1))


# ---------------------------------------------------------------------------- stations and pairs


@dataclass(frozen=True, eq=False)
class _Network:
    """The stations of one correlate() run and the pairs to correlate (NaN where unknown)."""

    ids: list  # sorted NET.STA.LOC
    lat: np.ndarray  # [n_stations] degrees
    lon: np.ndarray
    elev: np.ndarray  # metres
    pair_a: np.ndarray  # station index of each pair's source
    pair_b: np.ndarray  # ... and receiver
    dist: np.ndarray  # [n_pairs] km
    az: np.ndarray  # degrees, source → receiver
    baz: np.ndarray  # degrees, receiver → source


def _network(data, stations, pairs, max_distance_km, rotate: bool, messages: list) -> _Network:
    """Stations (those with data, or those named), their coordinates, and the selected pairs.

    ``data`` is the list of records, or ``None`` with a loader (then ``stations`` names them).
    """
    ids, table = _station_ids(data, stations)
    lat, lon, elev = _station_table(table, ids)
    pa, pb = _parse_pairs(pairs, ids, lat, lon, max_distance_km)
    if len(pa) == 0:
        raise InputError(
            f"no station pairs selected (pairs={pairs!r}, max_distance_km={max_distance_km})"
        )
    dist, az, baz = _geometry(lat, lon, pa, pb)
    if rotate:
        _check_rotation(ids, lat, pa, pb, messages)
    return _Network(ids, lat, lon, elev, pa, pb, dist, az, baz)


def _station_ids(data: list[Waveforms] | None, stations) -> tuple[list, Stations | None]:
    """Sorted ids of the stations to use, and the coordinate table (``None`` without one)."""
    if stations is not None and not isinstance(stations, Stations):
        wanted = [str(s) for s in ([stations] if isinstance(stations, str) else stations)]
        table = None
    else:
        wanted = None
        table = stations
    if data is not None:
        ids = sorted({w.id for w in data})
        if wanted is not None:
            missing = [s for s in wanted if s not in ids]
            if missing:
                raise InputError(f"stations: no data for {missing} (data for {ids})")
            ids = sorted(set(wanted))
    else:
        ids = sorted(set(wanted if wanted is not None else table.ids))
    if not ids:
        raise InputError("no stations")
    return ids, table


def _check_rotation(ids, lat, pa, pb, messages: list) -> None:
    """R/T components need the coordinates of every station of a pair."""
    lacking = sorted({ids[i] for i in np.concatenate([pa, pb]) if not np.isfinite(lat[i])})
    if lacking:
        raise InputError(
            f"R/T components need station coordinates; none for {lacking} (pass stations=...)"
        )
    if np.any(pa == pb):
        messages.append("autocorrelations have no azimuth: their R/T components are NaN")


def _station_table(stations, ids) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Latitude, longitude, elevation of each id (NaN when unknown)."""
    lat = np.full(len(ids), np.nan)
    lon = np.full(len(ids), np.nan)
    elev = np.full(len(ids), np.nan)
    if stations is None or not isinstance(stations, Stations):
        return lat, lon, elev
    full = {i: k for k, i in enumerate(stations.ids)}
    short: dict[str, list[int]] = {}
    for k, (n, s) in enumerate(zip(stations.network, stations.station, strict=True)):
        short.setdefault(f"{n}.{s}", []).append(k)
    for j, sid in enumerate(ids):
        k = full.get(sid)
        if k is None:
            cand = short.get(".".join(sid.split(".")[:2]), [])
            k = cand[0] if len(cand) == 1 else None
        if k is not None:
            lat[j], lon[j], elev[j] = (
                stations.latitude[k],
                stations.longitude[k],
                stations.elevation_m[k],
            )
    return lat, lon, elev


def _geometry(lat, lon, pa, pb):
    """Distance (km), azimuth a→b and back-azimuth b→a (degrees) of each pair (WGS84)."""
    from obspy.geodetics import gps2dist_azimuth

    n = len(pa)
    dist, az, baz = np.full(n, np.nan), np.full(n, np.nan), np.full(n, np.nan)
    for k, (a, b) in enumerate(zip(pa, pb, strict=True)):
        if not np.isfinite([lat[a], lon[a], lat[b], lon[b]]).all():
            continue
        if a == b:
            dist[k] = 0.0
            continue
        d, f, r = gps2dist_azimuth(lat[a], lon[a], lat[b], lon[b])
        dist[k], az[k], baz[k] = d / 1000.0, f, r
    return dist, az, baz


def _parse_pairs(pairs, ids, lat, lon, max_distance_km):
    """Source and receiver station indices (int64) of the pairs asked for."""
    if isinstance(pairs, str):
        pa, pb = _pairs_by_rule(pairs, len(ids))
    else:
        pa, pb = _listed_pairs(pairs, ids)
    pa, pb = np.asarray(pa, np.int64), np.asarray(pb, np.int64)
    if max_distance_km is not None:
        pa, pb = _pairs_within(pa, pb, ids, lat, lon, max_distance_km)
    return pa, pb


def _pairs_by_rule(rule: str, n: int):
    if rule == "all":
        return np.triu_indices(n, 1)
    if rule == "all+auto":
        return np.triu_indices(n, 0)
    if rule == "auto":
        return np.arange(n), np.arange(n)
    raise InputError(
        "pairs: expected 'all', 'all+auto', 'auto' or a list of (source, receiver) ids, "
        f"got {rule!r}"
    )


def _listed_pairs(pairs, ids) -> tuple[list[int], list[int]]:
    index = {sid: i for i, sid in enumerate(ids)}
    pa, pb = [], []
    for item in pairs:
        if isinstance(item, str):
            parts = item.split(":")
            if len(parts) != 2:
                raise InputError(f"pairs: {item!r} is not 'SOURCE:RECEIVER'")
            item = parts
        try:
            a, b = item
        except (TypeError, ValueError):
            raise InputError(
                f"pairs: {item!r} is not a (source, receiver) pair of station ids"
            ) from None
        unknown = [x for x in (a, b) if x not in index]
        if unknown:
            raise InputError(
                f"pairs: station {unknown[0]!r} has no data (stations: {', '.join(ids)})"
            )
        pa.append(index[a])
        pb.append(index[b])
    if not pa:
        raise InputError("pairs: the list is empty")
    return pa, pb


def _pairs_within(pa, pb, ids, lat, lon, max_distance_km):
    lim = _positive(max_distance_km, "max_distance_km", allow_zero=True)
    dist, _, _ = _geometry(lat, lon, pa, pb)
    both = zip(np.concatenate([pa, pb]), np.concatenate([dist, dist]), strict=True)
    unknown = sorted({ids[i] for i, d in both if not np.isfinite(d)})
    if unknown:
        raise InputError(
            f"max_distance_km needs coordinates; none for {unknown} (pass stations=...)"
        )
    keep = dist <= lim
    return pa[keep], pb[keep]
