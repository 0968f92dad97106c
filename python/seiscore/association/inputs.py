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
    stations.check_coordinates("stations")  # columns may have been changed after construction
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


def _station_index(picks: Picks, stations: Stations) -> tuple[np.ndarray, np.ndarray]:
    """Row of the station table for every pick (-1: unknown) — NET.STA.LOC first, then NET.STA
    when that names exactly one station — and a number per distinct NET.STA.LOC of the picks."""
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
    if not len(picks):
        return np.array([], np.int64), np.array([], np.int64)
    return rows[inverse], np.asarray(inverse, np.int64).ravel()


@dataclass
class _PickColumns:
    """Per pick (input order): ``row`` in the station table (-1: unknown), ``phase`` (0 P, 1 S,
    -1 other), ``t_sec`` seconds after ``epoch`` (the first usable pick's whole second), kernel
    ``weight``; the masks ``unknown`` (station), ``other`` (phase), ``duplicate`` (a repeat of
    an earlier pick) and ``use`` (none of these)."""

    row: np.ndarray
    phase: np.ndarray
    t_sec: np.ndarray
    weight: np.ndarray
    epoch: np.datetime64
    unknown: np.ndarray
    other: np.ndarray
    use: np.ndarray
    duplicate: np.ndarray

    @property
    def index(self) -> np.ndarray:
        """Positions of the picks that go to the kernel."""
        return np.flatnonzero(self.use)


# Picks closer than this (same NET.STA.LOC and phase) are one pick given twice.
DUPLICATE_S = 1e-3
# More picks than this of one phase at one station within any window of DENSE_WINDOW_S seconds
# are refused: pickers separate picks by about a second (PhaseNet's default minimum distance
# is 1 s), and such bursts make the search slow (10,000 picks within a second take seconds, a
# million never end).
MAX_PICKS_PER_WINDOW = 20
DENSE_WINDOW_S = 1.0
# datetime64[ns] holds 1677-09-21 … 2262-04-11; whole years inside that range.
_FIRST_TIME = np.datetime64("1678-01-01T00:00:00", "s")
_END_TIME = np.datetime64("2262-01-01T00:00:00", "s")


def _pick_columns(
    picks: Picks, stations: Stations, unknown_stations: str, use_probability: bool
) -> _PickColumns:
    """The picks as kernel columns; InputError for picks at unknown stations (with
    ``unknown_stations="raise"``), picks without a time or outside 1678–2261, too many picks
    at one station and phase within a second, or probabilities outside (0, 1]. Exact repeats
    (same NET.STA.LOC and phase within :data:`DUPLICATE_S`) are flagged ``duplicate`` and left
    out."""
    row, key = _station_index(picks, stations)
    unknown = row < 0
    if unknown.any() and unknown_stations == "raise":
        _raise_unknown_stations(picks, unknown)
    phase_up = np.char.upper(np.asarray(picks.phase, dtype=str))
    ph = np.full(len(picks), -1, np.int8)
    ph[phase_up == "P"] = 0
    ph[phase_up == "S"] = 1
    other = ph < 0
    use = ~unknown & ~other
    t_ns = _pick_times(picks, use)
    _check_density(picks, row.astype(np.int64) * 2 + ph, t_ns, use)
    duplicate = _duplicates(key * 2 + ph, t_ns, use)
    use &= ~duplicate
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
    return _PickColumns(row, ph, t_sec, w, epoch, unknown, other, use, duplicate)


def _pick_id(picks: Picks, i: int) -> str:
    return f"{picks.network[i]}.{picks.station[i]}.{picks.location[i] or ''}"


def _pick_times(picks: Picks, use: np.ndarray) -> np.ndarray:
    """Pick times as datetime64[ns]; InputError naming the first pick to use that has no
    time, or a time that datetime64[ns] cannot hold (outside 1678–2261)."""
    t = np.asarray(picks.time)
    if t.dtype.kind != "M":
        try:
            t = t.astype("datetime64[ns]")
        except (TypeError, ValueError) as exc:
            raise InputError(f"picks.time: expected datetime64 times ({exc})") from None
    if np.datetime_data(t.dtype)[0] != "ns":
        with np.errstate(invalid="ignore"):
            outside = ~np.isnat(t) & ((t < _FIRST_TIME) | (t >= _END_TIME))
        if outside.any():
            i = int(np.flatnonzero(outside)[0])
            raise InputError(
                f"pick {i} ({_pick_id(picks, i)} {picks.phase[i]}): time {t[i]} is outside the "
                f"years 1678–2261 that seiscore handles ({int(outside.sum())} such picks)"
            )
        t = t.astype("datetime64[ns]")
    missing = np.isnat(t) & use
    if missing.any():
        i = int(np.flatnonzero(missing)[0])
        raise InputError(
            f"{int(missing.sum())} picks have no time (NaT), the first is pick {i} "
            f"({_pick_id(picks, i)} {picks.phase[i]})"
        )
    return t


def _duplicates(key: np.ndarray, t_ns: np.ndarray, use: np.ndarray) -> np.ndarray:
    """Picks to use that repeat an earlier one: the same ``key`` (NET.STA.LOC and phase) and a
    time within :data:`DUPLICATE_S` of the previous pick of that key (the first is kept;
    :func:`_check_density` has bounded how many can be that close)."""
    out = np.zeros(len(key), bool)
    idx = np.flatnonzero(use)
    if idx.size < 2:
        return out
    t = t_ns[idx].astype(np.int64)
    order = np.lexsort((idx, t, key[idx]))  # by key, time, then input order
    k, ts = key[idx][order], t[order]
    repeat = (k[1:] == k[:-1]) & (ts[1:] - ts[:-1] <= round(DUPLICATE_S * 1e9))
    out[idx[order[1:][repeat]]] = True
    return out


def _check_density(picks: Picks, group: np.ndarray, t_ns: np.ndarray, use: np.ndarray) -> None:
    """InputError naming the station, phase, time and count when more than
    :data:`MAX_PICKS_PER_WINDOW` picks of one phase at one station fall within
    :data:`DENSE_WINDOW_S` (O(n log n))."""
    idx = np.flatnonzero(use)
    m = MAX_PICKS_PER_WINDOW
    if idx.size <= m:
        return
    t = t_ns[idx].astype(np.int64)
    order = np.lexsort((t, group[idx]))
    g, ts = group[idx][order], t[order]
    window = round(DENSE_WINDOW_S * 1e9)
    dense = (g[m:] == g[:-m]) & (ts[m:] - ts[:-m] <= window)
    if not dense.any():
        return
    j = int(np.flatnonzero(dense)[0])
    same = g == g[j]
    count = int(np.count_nonzero(same[j:] & (ts[j:] <= ts[j] + window)))
    first = idx[order[j]]
    when = np.datetime_as_string(t_ns[first], unit="ms", timezone="UTC")
    raise InputError(
        f"{count} {picks.phase[first]} picks at station {_pick_id(picks, first)} within "
        f"{DENSE_WINDOW_S:g} s from {when}: at most {m} picks of one phase per station and "
        "second are taken (no picker makes more); thin the picks, e.g. keep the most probable "
        "pick per second or raise the picking threshold"
    )


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
