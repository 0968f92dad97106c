"""Association: picks from many stations → events (origin time, hypocentre, their picks).

``associate(picks, stations, velocity_model)`` runs the C++ search in
``seiscore._core.association`` (contract: ``cpp/seiscore/association/grid_search.hpp``):

1. coarse cells tile the search volume; per cell, station and phase, the travel-time range over
   the cell widens the matching window, and a histogram over origin time counts, per cell, the
   picks that fit; its space–time local maxima are the seeds;
2. seeds and refined candidate events share one best-first queue. A seed is checked two levels
   finer (half- and quarter-size sub-cells, as an octree), then refined (grid inside the cell,
   coarse-to-fine pattern search with the tolerance narrowing to the final one, Gauss–Newton on
   the matched picks) into a candidate; the best candidate whose picks are still free becomes an
   event when it has enough picks. Its picks leave the pool and the histogram, which uncovers
   events it hid; the search goes on until nothing qualifies;
3. time is cut into blocks that run in parallel (two passes, so that neighbouring blocks never
   compete for a pick), with the GIL released; memory is bounded by the block length.

A pick matches a predicted arrival ``T`` when ``|t - T| <= tolerance_s + tolerance_fraction *
travel time``. Each pick belongs to at most one event and an event has at most one pick per
station and phase. Travel times come from a (depth, distance) table for P and S (built from a 1-D
velocity model by :mod:`seiscore.traveltime`, or given as a
:class:`~seiscore.containers.TravelTimeTable`) plus the station elevation correction
``elevation / surface velocity``.
"""

from __future__ import annotations

import time as _time
from dataclasses import dataclass, field

import numpy as np

from . import _core, geo
from ._validate import check_workers
from .containers import Events, Picks, Stations, TravelTimeTable
from .exceptions import ConfigError, InputError

__all__ = ["Association", "associate", "default_volume"]


@dataclass
class Association:
    """The result of :func:`associate`.

    ``events``: the events, sorted by origin time, ``event_id`` 0, 1, …; ``picks``: the input
    picks, unchanged and in input order; ``event_id[i]`` is the event of pick ``i`` (-1: not
    associated) and ``residual_s[i]`` its time residual (observed − predicted, s; NaN when not
    associated); ``score``: per event, the summed pick scores (each pick's weight ×
    (1 − (residual/tolerance)²)); ``stats``: counts — ``n_picks``, ``n_associated``,
    ``n_unassociated``, ``n_unknown_station`` (picks whose station is not in the station table,
    when ``unknown_stations="skip"``), ``n_other_phase`` (phases other than P and S), ``n_events``,
    ``elapsed_s`` — and search statistics (``n_blocks``, ``n_seeds``, ``n_screened``,
    ``n_refined``, ``n_rejected``); ``reference``: (lat, lon) of the local projection;
    ``config``: the settings used.
    """

    events: Events
    picks: Picks
    event_id: np.ndarray
    residual_s: np.ndarray
    score: np.ndarray
    stats: dict = field(default_factory=dict)
    reference: tuple = (0.0, 0.0)
    config: dict = field(default_factory=dict)

    @property
    def n_unassociated(self) -> int:
        return int((self.event_id < 0).sum())

    def picks_dataframe(self):
        """The picks with two more columns, ``event_id`` and ``residual_s``."""
        df = self.picks.to_dataframe()
        df["event_id"] = self.event_id
        df["residual_s"] = self.residual_s
        return df

    def summary(self) -> str:
        s = self.stats
        parts = [
            f"{s['n_events']} events from {s['n_picks']} picks: {s['n_associated']} associated, "
            f"{s['n_unassociated']} not associated"
        ]
        if s.get("n_unknown_station"):
            parts.append(f"{s['n_unknown_station']} at stations not in the station table")
        if s.get("n_other_phase"):
            parts.append(f"{s['n_other_phase']} with phases other than P/S")
        return "; ".join(parts) + f" ({s['elapsed_s']:.2f} s)"


# -------------------------------------------------------------------------------- helpers


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


def default_volume(x_km, y_km, *, margin_fraction: float = 0.1, min_margin_km: float = 5.0):
    """Horizontal search limits: the stations' bounding box, widened on each side by
    ``margin_fraction`` of its larger side (at least ``min_margin_km``)."""
    x0, x1 = float(np.min(x_km)), float(np.max(x_km))
    y0, y1 = float(np.min(y_km)), float(np.max(y_km))
    pad = max(min_margin_km, margin_fraction * max(x1 - x0, y1 - y0))
    return (x0 - pad, x1 + pad), (y0 - pad, y1 + pad)


def _as_table(
    velocity_model, max_distance_km: float, min_depth_km: float, max_depth_km: float, workers: int
) -> TravelTimeTable:
    """The (depth, distance) P/S table: given, or built from a model (or a model file)."""
    if isinstance(velocity_model, TravelTimeTable):
        return velocity_model
    from . import traveltime  # the one other stage association may use (tests/test_architecture.py)

    model = velocity_model
    if isinstance(model, (str, bytes)) or hasattr(model, "__fspath__"):
        model = traveltime.VelocityModel.from_file(model)
    if not isinstance(model, traveltime.VelocityModel):
        raise InputError(
            "velocity_model: expected a seiscore.traveltime.VelocityModel, a model file or a "
            f"TravelTimeTable, got {type(velocity_model).__name__}"
        )
    # a little beyond the farthest station, so that interpolation never runs off the table
    return traveltime.build_table(
        model,
        max_distance_km=max_distance_km * 1.02 + 1.0,
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


# ---------------------------------------------------------------------------------- associate


def associate(
    picks: Picks,
    stations: Stations,
    velocity_model,
    *,
    xlim=None,
    ylim=None,
    zlim=(0.0, 40.0),
    cell_km: float | None = None,
    cell_depth_km: float | None = None,
    tolerance_s: float = 1.0,
    tolerance_fraction: float = 0.0,
    max_distance_km: float | None = None,
    min_pick_fraction: float = 0.25,
    min_picks: int = 8,
    min_p: int = 3,
    min_s: int = 2,
    min_p_and_s: int = 2,
    max_rms_s: float | None = None,
    use_probability: bool = False,
    block_s: float = 1800.0,
    bin_s: float = 1.0,
    reference=None,
    unknown_stations: str = "raise",
    workers: int | None = None,
) -> Association:
    """Group picks into events by a search over space and origin time.

    Parameters
    ----------
    picks : Picks
        Pick table (as ``seiscore-pick`` writes it); phases ``P`` and ``S`` (case-insensitive)
        take part, others are left unassociated and counted in ``stats["n_other_phase"]``.
    stations : Stations
        Station table. Picks are matched to it by ``network.station.location``, or by
        ``network.station`` when that names a single station. ``x_km``/``y_km`` are used when
        set (the projection reference is then recovered from latitude/longitude, or taken from
        ``reference``); otherwise the stations are projected around ``reference`` or their mean
        position.
    velocity_model : seiscore.traveltime.VelocityModel, path, or TravelTimeTable
        A 1-D model (tables are built for the needed distances and depths), a model file, or a
        ready (depth, distance) table with P and S.
    xlim, ylim : (float, float), optional
        Horizontal search limits, km (default: :func:`default_volume` of the stations).
    zlim : (float, float)
        Depth limits, km below sea level.
    cell_km, cell_depth_km : float, optional
        Coarse cell size (default: the longer horizontal side / 24, within 3–20 km; vertically
        the same, at most half the depth range).
    tolerance_s, tolerance_fraction : float
        A pick matches a predicted arrival within ``tolerance_s + tolerance_fraction *
        travel_time`` seconds.
    max_distance_km : float, optional
        Only stations within this epicentral distance of an event take part (default: all).
    min_pick_fraction : float
        Distance criterion (PyOcto's rule): walking the stations outwards from the epicentre,
        picks at stations beyond the last distance where at least this fraction of the stations
        so far have a pick are not associated (0 turns it off).
    min_picks, min_p, min_s, min_p_and_s : int
        An event needs at least ``min_picks`` picks, ``min_p`` P, ``min_s`` S and
        ``min_p_and_s`` stations with both.
    max_rms_s : float, optional
        And at most this RMS time residual (default: no limit).
    use_probability : bool
        Weight each pick by its probability in the scoring (``False``: all weigh 1). Missing
        probabilities weigh 1.
    block_s, bin_s : float
        Time block length (s; memory is bounded by it) and origin-time bin of the histogram.
    reference : (lat, lon), optional
        Projection centre for station coordinates and event latitude/longitude.
    unknown_stations : ``"raise"`` or ``"skip"``
        Picks at stations missing from the station table raise ``InputError`` (default), or are
        left unassociated and counted in ``stats["n_unknown_station"]``.
    workers : int, optional
        Threads (default: all cores). The result does not depend on it.

    Returns
    -------
    Association
        Events, per-pick event ids and residuals, and counts (see :class:`Association`).

    Raises
    ------
    InputError
        Empty picks or stations, picks at unknown stations, a model or table that cannot reach
        the stations from the search volume, or bad parameters.
    """
    t_start = _time.perf_counter()
    if not isinstance(picks, Picks):
        raise InputError(
            f"picks: expected a seiscore.containers.Picks table, got {type(picks).__name__}"
        )
    if not isinstance(stations, Stations):
        raise InputError(
            "stations: expected a seiscore.containers.Stations table, "
            f"got {type(stations).__name__}"
        )
    if len(picks) == 0:
        raise InputError("no picks to associate (the pick table is empty)")
    if unknown_stations not in ("raise", "skip"):
        raise ConfigError(f"unknown_stations: expected 'raise' or 'skip', got {unknown_stations!r}")
    nworkers = check_workers(workers)
    sx, sy, reference = _station_xy(stations, reference)

    # --- picks → columns
    row = _station_index(picks, stations)
    unknown = row < 0
    if unknown.any() and unknown_stations == "raise":
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

    # --- volume, table
    if xlim is None or ylim is None:
        dx, dy = default_volume(sx, sy)
        xlim = dx if xlim is None else xlim
        ylim = dy if ylim is None else ylim
    try:
        (x0, x1), (y0, y1), (z0, z1) = (map(float, xlim), map(float, ylim), map(float, zlim))
    except (TypeError, ValueError):
        raise ConfigError(
            f"xlim/ylim/zlim: expected (min, max) pairs, got {xlim}, {ylim}, {zlim}"
        ) from None
    for name, lo, hi in (("xlim", x0, x1), ("ylim", y0, y1), ("zlim", z0, z1)):
        if not (np.isfinite(lo) and np.isfinite(hi) and hi >= lo):
            raise ConfigError(
                f"{name}: expected finite (min, max) with max >= min, got ({lo}, {hi})"
            )
    span = max(x1 - x0, y1 - y0)
    if cell_km is None:
        cell_km = float(np.clip(span / 24.0, 3.0, 20.0))
    if cell_depth_km is None:
        cell_depth_km = float(min(cell_km, max((z1 - z0) / 2.0, 1.0)))
    corners_x = np.array([x0, x1, x0, x1])
    corners_y = np.array([y0, y0, y1, y1])
    far = float(np.max(np.hypot(sx[:, None] - corners_x, sy[:, None] - corners_y)))
    need_distance = far if max_distance_km is None else min(far, float(max_distance_km))
    table = _as_table(velocity_model, need_distance, z0, z1, nworkers)
    times, axes, (vp0, vs0), dist_axis, dep_axis = _table_arrays(table)
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

    if min(min_picks, min_p, min_s, min_p_and_s) < 0 or min_picks < 1:
        raise ConfigError("min_picks must be >= 1 and min_p/min_s/min_p_and_s >= 0")
    config = dict(
        x_min_km=x0,
        x_max_km=x1,
        y_min_km=y0,
        y_max_km=y1,
        z_min_km=z0,
        z_max_km=z1,
        cell_km=float(cell_km),
        cell_depth_km=float(cell_depth_km),
        tolerance_s=float(tolerance_s),
        tolerance_fraction=float(tolerance_fraction),
        max_distance_km=float("inf") if max_distance_km is None else float(max_distance_km),
        min_pick_fraction=float(min_pick_fraction),
        min_picks=int(min_picks),
        min_p=int(min_p),
        min_s=int(min_s),
        min_p_and_s=int(min_p_and_s),
        max_rms_s=float("inf") if max_rms_s is None else float(max_rms_s),
        block_s=float(block_s),
        bin_s=float(bin_s),
        workers=nworkers,
    )
    for k in (
        "cell_km",
        "cell_depth_km",
        "tolerance_s",
        "max_distance_km",
        "max_rms_s",
        "block_s",
        "bin_s",
    ):
        if not config[k] > 0:
            raise ConfigError(f"{k}: expected a positive number, got {config[k]}")
    if not config["tolerance_fraction"] >= 0:
        raise ConfigError(f"tolerance_fraction: expected >= 0, got {tolerance_fraction}")
    if not 0 <= config["min_pick_fraction"] <= 1:
        raise ConfigError(
            f"min_pick_fraction: expected a fraction in [0, 1], got {min_pick_fraction}"
        )

    idx = np.flatnonzero(use)
    try:
        out = _core.association.associate(
            np.ascontiguousarray(row[idx], np.int32),
            np.ascontiguousarray(ph[idx], np.int8),
            np.ascontiguousarray(t_sec[idx], np.float64),
            np.ascontiguousarray(w[idx], np.float32),
            sx,
            sy,
            delay,
            times,
            axes,
            config,
        )
    except ValueError as exc:  # a contract check in the kernel: report it as bad input
        raise InputError(str(exc)) from None

    n_ev = len(out["time"])
    ev_time = epoch + np.round(out["time"] * 1e9).astype("timedelta64[ns]")
    if np.isfinite(reference[0]):
        lat, lon = geo.unproject(out["x_km"], out["y_km"], *reference)
    else:
        lat = lon = np.full(n_ev, np.nan)
    events = Events(
        event_id=np.arange(n_ev, dtype=np.int64),
        time=ev_time,
        latitude=np.asarray(lat, np.float64).reshape(n_ev),
        longitude=np.asarray(lon, np.float64).reshape(n_ev),
        depth_km=out["z_km"],
        x_km=out["x_km"],
        y_km=out["y_km"],
        n_p=out["n_p"],
        n_s=out["n_s"],
        rms_s=out["rms_s"],
    )
    event_id = np.full(len(picks), -1, np.int64)
    residual = np.full(len(picks), np.nan, np.float32)
    event_id[idx] = out["pick_event"]
    residual[idx] = out["pick_residual_s"]
    n_assoc = int((event_id >= 0).sum())
    stats = {
        "n_picks": len(picks),
        "n_associated": n_assoc,
        "n_unassociated": len(picks) - n_assoc,
        "n_unknown_station": int(unknown.sum()),
        "n_other_phase": int((other & ~unknown).sum()),
        "n_events": n_ev,
        "elapsed_s": _time.perf_counter() - t_start,
        "n_blocks": int(out["n_blocks"]),
        "n_seeds": int(out["n_seeds"]),
        "n_screened": int(out["n_screened"]),
        "n_refined": int(out["n_refined"]),
        "n_rejected": int(out["n_rejected"]),
    }
    config = dict(
        config, use_probability=bool(use_probability), table_model=getattr(table, "model", "")
    )
    return Association(
        events, picks, event_id, residual, out["score"], stats, tuple(reference), config
    )
