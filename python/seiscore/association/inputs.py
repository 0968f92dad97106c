"""Association inputs: station coordinates (and the projection reference behind them), and the
pick table as the kernel's columns (station row, phase, time, weight)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import geo
from ..containers import Picks, Stations
from ..exceptions import InputError


def _reference_of(stations: Stations) -> tuple[float, float]:
    """The projection centre that maps the stations' lat/lon to their x_km/y_km."""
    lat = np.asarray(stations.latitude, np.float64)
    lon = np.asarray(stations.longitude, np.float64)
    x = np.asarray(stations.x_km, np.float64)
    y = np.asarray(stations.y_km, np.float64)
    # start from a flat-earth guess, then Newton steps on the mean offset
    km_per_deg = np.pi * geo.EARTH_RADIUS_KM / 180.0
    lat0 = float(np.mean(lat - y / km_per_deg))
    lon0 = float(np.mean(lon - x / (km_per_deg * np.cos(np.radians(lat)))))
    for _ in range(5):
        px, py = geo.project(lat, lon, lat0, lon0)
        lat0 -= float(np.mean(y - py)) / km_per_deg
        lon0 -= float(np.mean(x - px)) / (km_per_deg * np.cos(np.radians(lat0)))
    px, py = geo.project(lat, lon, lat0, lon0)
    misfit = float(np.max(np.hypot(px - x, py - y)))
    if misfit > 0.5:
        raise InputError(
            "stations: x_km/y_km do not follow from latitude/longitude by seiscore.geo.project "
            f"around any single point (misfit {misfit:.2f} km); pass reference=(lat, lon)"
        )
    return lat0, lon0


def _station_xy(stations: Stations, reference):
    """Station x/y (km) and the projection reference, projecting when x_km/y_km are unset."""
    if len(stations) == 0:
        raise InputError("the station table is empty")
    lat = np.asarray(stations.latitude, np.float64)
    lon = np.asarray(stations.longitude, np.float64)
    x = np.asarray(stations.x_km, np.float64)
    y = np.asarray(stations.y_km, np.float64)
    have_xy = np.isfinite(x).all() and np.isfinite(y).all()
    if reference is not None:
        reference = (float(reference[0]), float(reference[1]))
        if not have_xy:
            x, y = geo.project(lat, lon, *reference)
        return np.ascontiguousarray(x, np.float64), np.ascontiguousarray(y, np.float64), reference
    if have_xy:
        if np.isfinite(lat).all() and np.isfinite(lon).all():
            return np.ascontiguousarray(x), np.ascontiguousarray(y), _reference_of(stations)
        return np.ascontiguousarray(x), np.ascontiguousarray(y), (float("nan"), float("nan"))
    if not (np.isfinite(lat).all() and np.isfinite(lon).all()):
        bad = [
            sid
            for sid, a, b in zip(stations.ids, lat, lon, strict=False)
            if not (np.isfinite(a) and np.isfinite(b))
        ]
        raise InputError(f"stations without coordinates: {bad[:10]}")
    reference = (float(np.mean(lat)), float(np.mean(lon)))
    x, y = geo.project(lat, lon, *reference)
    return np.ascontiguousarray(x, np.float64), np.ascontiguousarray(y, np.float64), reference


def _station_index(picks: Picks, stations: Stations) -> np.ndarray:
    """Row of the station table for every pick (-1: unknown). NET.STA.LOC first, then NET.STA
    when that names exactly one station."""
    full = {}
    short: dict[tuple, list[int]] = {}
    for i, (n, s, loc) in enumerate(
        zip(stations.network, stations.station, stations.location, strict=False)
    ):
        full.setdefault((str(n), str(s), str(loc or "")), i)
        short.setdefault((str(n), str(s)), []).append(i)
    keys = (
        np.char.add(
            np.char.add(np.asarray(picks.network, dtype=str), "\x1f"),
            np.char.add(
                np.char.add(np.asarray(picks.station, dtype=str), "\x1f"),
                np.asarray([loc or "" for loc in picks.location], dtype=str),
            ),
        )
        if len(picks)
        else np.array([], dtype=str)
    )
    uniq, inverse = np.unique(keys, return_inverse=True)
    rows = np.empty(len(uniq), np.int64)
    for k, key in enumerate(uniq):
        n, s, loc = str(key).split("\x1f")
        if (n, s, loc) in full:
            rows[k] = full[(n, s, loc)]
        elif len(short.get((n, s), ())) == 1:
            rows[k] = short[(n, s)][0]
        else:
            rows[k] = -1
    return rows[inverse] if len(picks) else np.array([], np.int64)


@dataclass
class _PickColumns:
    """Per pick (input order): ``row`` in the station table (-1: unknown), ``phase`` (0 P, 1 S,
    -1 other), ``t_sec`` seconds after ``epoch`` (the first usable pick's whole second), kernel
    ``weight``; the masks ``unknown`` (station), ``other`` (phase) and ``use`` (neither)."""

    row: np.ndarray
    phase: np.ndarray
    t_sec: np.ndarray
    weight: np.ndarray
    epoch: np.datetime64
    unknown: np.ndarray
    other: np.ndarray
    use: np.ndarray

    @property
    def index(self) -> np.ndarray:
        """Positions of the picks that go to the kernel."""
        return np.flatnonzero(self.use)


def _pick_columns(
    picks: Picks, stations: Stations, unknown_stations: str, use_probability: bool
) -> _PickColumns:
    """The picks as kernel columns; InputError for picks at unknown stations (with
    ``unknown_stations="raise"``), picks without a time, or probabilities outside (0, 1]."""
    row = _station_index(picks, stations)
    unknown = row < 0
    if unknown.any() and unknown_stations == "raise":
        _raise_unknown_stations(picks, unknown)
    phase_up = np.char.upper(np.asarray(picks.phase, dtype=str))
    ph = np.full(len(picks), -1, np.int8)
    ph[phase_up == "P"] = 0
    ph[phase_up == "S"] = 1
    other = ph < 0
    use = ~unknown & ~other
    t_ns = np.asarray(picks.time).astype("datetime64[ns]")
    if np.isnat(t_ns[use]).any():
        raise InputError(f"{int(np.isnat(t_ns[use]).sum())} picks have no time (NaT)")
    epoch = t_ns[use].min() if use.any() else np.datetime64(0, "ns")
    epoch = epoch.astype("datetime64[s]").astype("datetime64[ns]")
    t_sec = (t_ns - epoch).astype(np.int64) * 1e-9
    if use_probability:
        w = np.asarray(picks.probability, np.float32).copy()
        w[~np.isfinite(w)] = 1.0
        if ((w[use] <= 0) | (w[use] > 1)).any():
            raise InputError("use_probability: probabilities must lie in (0, 1]")
    else:
        w = np.ones(len(picks), np.float32)
    return _PickColumns(row, ph, t_sec, w, epoch, unknown, other, use)


def _raise_unknown_stations(picks: Picks, unknown: np.ndarray) -> None:
    """InputError naming (up to 10 of) the stations of the picks flagged ``unknown``."""
    ids = sorted(
        {
            f"{n}.{s}.{loc or ''}"
            for n, s, loc in zip(
                picks.network[unknown],
                picks.station[unknown],
                picks.location[unknown],
                strict=False,
            )
        }
    )
    more = f" and {len(ids) - 10} more" if len(ids) > 10 else ""
    raise InputError(
        f"{int(unknown.sum())} picks at {len(ids)} stations not in the station table: "
        f"{', '.join(ids[:10])}{more}; add them to the station file or pass "
        "unknown_stations='skip'"
    )
