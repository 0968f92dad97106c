"""Synthetic catalogues with known truth: station networks, events, P/S picks — and scoring.

Used by the tests and benchmarks of :mod:`seiscore.association` (and anyone who wants to check
an associator). Everything is reproducible from a seed.

The setup follows PyOcto's synthetic benchmark (Münchmeyer 2024, configurations in
``shared/data/pyocto/benchmark``): events uniform in a volume and in time, Gutenberg–Richter
magnitudes, a magnitude-dependent detection radius, picks with Gaussian timing noise, dropped
picks and false picks, and the "an event is found when >= 60 % of its picks are in one predicted
event" rule for scoring.

Conventions: local km (x east, y north, z depth positive down, km below sea level) around a
reference point, through :mod:`seiscore.geo`; times are ``datetime64[ns]`` UTC in the tables.
Travel times are those of a homogeneous half-space by default (``vp``, ``vs``): a source at depth
``z`` and a station at horizontal distance ``d`` and elevation ``e`` km (above sea level, in the
same medium) give ``hypot(d, z + e) / v`` — what :mod:`seiscore.traveltime`'s exact elevation
correction computes from a table to the datum. Any 1-D model enters through ``travel_time=``
(times to the datum; stations above it then get the vertical static ``e / v``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

import numpy as np

from . import geo
from .containers import Events, Picks, Stations
from .exceptions import InputError

__all__ = [
    "SyntheticCatalogue",
    "catalogue",
    "events",
    "homogeneous_travel_time",
    "network",
    "network_from_file",
    "noise_picks",
    "picks",
    "score",
]

#: A travel-time function: (phase "P"/"S", horizontal distance km [n], source depth km [n]) ->
#: seconds to a receiver on the datum [n].
TravelTimeFunction = Callable[[str, np.ndarray, np.ndarray], np.ndarray]

DEFAULT_REFERENCE = (-21.0, -69.0)  # centre of PyOcto's "shallow" benchmark box (northern Chile)


def _rng(seed) -> np.random.Generator:
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


# ----------------------------------------------------------------------------------- networks


def network(
    n_stations: int,
    *,
    xlim=(-100.0, 100.0),
    ylim=(-100.0, 100.0),
    elevation_m=(0.0, 0.0),
    reference=DEFAULT_REFERENCE,
    network_code: str = "SY",
    seed=None,
) -> Stations:
    """A random network: ``n_stations`` stations uniform in ``xlim`` × ``ylim`` (km).

    Elevations are uniform in ``elevation_m`` (metres above sea level). Stations are named
    ``S000``, ``S001``, … in network ``network_code``; ``latitude``/``longitude`` come from
    :func:`seiscore.geo.unproject` around ``reference`` (lat, lon).
    """
    if int(n_stations) < 1:
        raise InputError(f"n_stations: expected at least 1, got {n_stations}")
    rng = _rng(seed)
    n = int(n_stations)
    x = rng.uniform(*xlim, n)
    y = rng.uniform(*ylim, n)
    elev = rng.uniform(*elevation_m, n)
    return _stations_from_xy(x, y, elev, reference, network_code)


def _stations_from_xy(x, y, elev, reference, network_code="SY", names=None) -> Stations:
    lat, lon = geo.unproject(x, y, *reference)
    n = len(x)
    names = names if names is not None else [f"S{i:03d}" for i in range(n)]
    return Stations(
        network=np.array([network_code] * n, dtype=object),
        station=np.array(names, dtype=object),
        location=np.array([""] * n, dtype=object),
        latitude=np.asarray(lat, dtype=np.float64),
        longitude=np.asarray(lon, dtype=np.float64),
        elevation_m=np.asarray(elev, dtype=np.float64),
        x_km=np.asarray(x, dtype=np.float64),
        y_km=np.asarray(y, dtype=np.float64),
    )


def network_from_file(path, *, reference=None) -> Stations:
    """A real network's geometry from a station file (anything
    :func:`seiscore.io.stations.read_stations` reads: StationXML, CSV with
    ``network, station, latitude, longitude, elevation``, REAL's station.dat, …), projected to
    local km around ``reference`` (lat, lon), by default the stations' centroid."""
    from .io.stations import project_stations, read_stations

    stations = read_stations(path)
    if reference is None:
        stations, _ = project_stations(stations)
    else:
        stations, _ = project_stations(stations, float(reference[0]), float(reference[1]))
    return stations


# ------------------------------------------------------------------------------ travel times


def homogeneous_travel_time(vp: float = 6.3, vs: float = 3.7) -> TravelTimeFunction:
    """Straight rays in a half-space: ``hypot(distance, depth) / v`` to a datum receiver.

    The function also takes ``elevation_km`` (the station's height above the datum, in the same
    medium): ``hypot(distance, depth + elevation) / v``, the exact time, which :func:`picks`
    uses for stations above sea level (the attribute ``exact_elevation`` says so)."""

    def tt(phase: str, distance_km, depth_km, elevation_km=0.0):
        v = vp if phase == "P" else vs
        return np.hypot(distance_km, np.asarray(depth_km) + elevation_km) / v

    tt.surface_velocity = {"P": vp, "S": vs}  # type: ignore[attr-defined]
    tt.exact_elevation = True  # type: ignore[attr-defined]
    return tt


# ------------------------------------------------------------------------------------ events


@dataclass
class _EventDraw:
    x: np.ndarray
    y: np.ndarray
    z: np.ndarray
    t: np.ndarray  # seconds from start
    m: np.ndarray


def _gutenberg_richter(rng, n, b_value, m_min, m_max):
    # inverse CDF of a truncated exponential in magnitude
    beta = b_value * np.log(10.0)
    u = rng.random(n)
    span = 1.0 - np.exp(-beta * (m_max - m_min))
    return m_min - np.log(1.0 - u * span) / beta


def _draw_events(
    rng, n, duration_s, xlim, ylim, zlim, cluster, b_value, m_min, m_max
) -> _EventDraw:
    if cluster is None:
        x = rng.uniform(*xlim, n)
        y = rng.uniform(*ylim, n)
        z = rng.uniform(*zlim, n)
    else:
        cx, cy, cz, sh, sz = cluster
        x = np.clip(rng.normal(cx, sh, n), *xlim)
        y = np.clip(rng.normal(cy, sh, n), *ylim)
        z = np.clip(rng.normal(cz, sz, n), *zlim)
    t = rng.uniform(0.0, duration_s, n)
    m = _gutenberg_richter(rng, n, b_value, m_min, m_max)
    return _EventDraw(x, y, z, t, m)


def events(
    n_events: int,
    *,
    duration_s: float = 86400.0,
    xlim=(-100.0, 100.0),
    ylim=(-100.0, 100.0),
    zlim=(0.0, 30.0),
    cluster=None,
    b_value: float = 1.0,
    m_min: float = -0.5,
    m_max: float = 6.0,
    seed=None,
) -> dict:
    """Draw ``n_events`` hypocentres, origin times and magnitudes (no picks).

    Positions are uniform in ``xlim × ylim × zlim`` (km), or, with
    ``cluster=(x, y, z, sigma_h, sigma_z)``, Gaussian around a point (an aftershock-like
    cloud), clipped to the box. Origin times are uniform in ``[0, duration_s)`` seconds;
    magnitudes follow Gutenberg–Richter with ``b_value`` between ``m_min`` and ``m_max``.
    Returns a dict of arrays ``x_km, y_km, depth_km, time_s, magnitude``.
    """
    d = _draw_events(
        _rng(seed), int(n_events), duration_s, xlim, ylim, zlim, cluster, b_value, m_min, m_max
    )
    return {"x_km": d.x, "y_km": d.y, "depth_km": d.z, "time_s": d.t, "magnitude": d.m}


# ------------------------------------------------------------------------------------- picks


def _detection_probability(hypo_km, radius_km):
    w = np.maximum(0.1 * radius_km, 30.0)
    return 1.0 - 1.0 / (1.0 + np.exp(-(hypo_km - radius_km) / w))


@dataclass
class SyntheticCatalogue:
    """A synthetic day (or any span) with its truth.

    ``stations``: the network; ``events``: the true events (``n_p``/``n_s`` are their picks,
    ``rms_s`` the RMS of the timing noise actually added); ``magnitude``: per event;
    ``picks``: every pick, sorted by time, true and false; ``pick_event``: the true event of each
    pick (``-1`` for false picks); ``starttime``: datetime64 of time 0; ``reference``: (lat, lon)
    of the local projection; ``config``: the parameters used.
    """

    stations: Stations
    events: Events
    magnitude: np.ndarray
    picks: Picks
    pick_event: np.ndarray
    starttime: np.datetime64
    reference: tuple
    travel_time: TravelTimeFunction
    config: dict = field(default_factory=dict)

    def pick_seconds(self) -> np.ndarray:
        """Pick times as float64 seconds from ``starttime``."""
        return (self.picks.time - self.starttime) / np.timedelta64(1, "ns") * 1e-9

    def event_seconds(self) -> np.ndarray:
        """Origin times as float64 seconds from ``starttime``."""
        return (self.events.time - self.starttime) / np.timedelta64(1, "ns") * 1e-9

    def head(self, duration_s: float) -> SyntheticCatalogue:
        """The catalogue of the first ``duration_s`` seconds: the events with an origin before
        it with all their picks, and the false picks before it (event ids renumbered)."""
        keep_ev = self.event_seconds() < duration_s
        new_id = np.full(len(self.events), -1, np.int64)
        new_id[keep_ev] = np.arange(int(keep_ev.sum()))
        lab = self.pick_event
        keep_pk = np.where(lab >= 0, keep_ev[np.maximum(lab, 0)], self.pick_seconds() < duration_s)
        events = self.events.select(keep_ev)
        events.event_id = np.arange(len(events), dtype=np.int64)
        picks = self.picks.select(keep_pk)
        pick_event = np.where(lab[keep_pk] >= 0, new_id[np.maximum(lab[keep_pk], 0)], -1)
        config = dict(self.config, duration_s=float(duration_s), n_events=len(events))
        return SyntheticCatalogue(
            self.stations,
            events,
            self.magnitude[keep_ev],
            picks,
            pick_event,
            self.starttime,
            self.reference,
            self.travel_time,
            config,
        )


def picks(
    stations: Stations,
    n_events: int,
    *,
    duration_s: float = 86400.0,
    starttime="2024-01-01T00:00:00",
    xlim=(-100.0, 100.0),
    ylim=(-100.0, 100.0),
    zlim=(0.0, 30.0),
    cluster=None,
    b_value: float = 1.0,
    m_min: float = -0.5,
    m_max: float = 6.0,
    radius_a_km: float = 120.0,
    radius_b_km: float = 80.0,
    travel_time: TravelTimeFunction | None = None,
    surface_velocity: dict | None = None,
    timing_noise_s: float = 0.1,
    drop_fraction: float = 0.1,
    false_fraction: float = 0.1,
    min_picks: int = 10,
    min_p_and_s: int = 4,
    reference=DEFAULT_REFERENCE,
    seed=None,
) -> SyntheticCatalogue:
    """Events and their P and S picks at ``stations``, with noise, drops and false picks.

    For each event (see :func:`events` for positions, times and magnitudes), station ``s`` at
    hypocentral distance ``h`` detects each phase independently with probability
    ``1 - sigmoid((h - r) / w)``, ``r = radius_a_km * M + radius_b_km``,
    ``w = max(0.1 r, 30 km)`` (PyOcto's rule); then a fraction ``drop_fraction`` of the detected
    picks is dropped at random. Pick times are origin + travel time + station elevation
    correction (exact for :func:`homogeneous_travel_time`, the vertical static ``elevation /
    surface velocity`` for other travel-time functions) + Gaussian noise of
    ``timing_noise_s``. An event with fewer than ``min_picks`` picks or fewer than
    ``min_p_and_s`` stations with both P and S is not detectable and is drawn again, so the
    catalogue holds exactly ``n_events`` detectable events (as in PyOcto's benchmark). Finally
    ``round(false_fraction * n_true_picks)`` false picks are added at random stations, phases
    and times. Probabilities are uniform in [0.3, 1] for every pick (they carry
    no information about truth).
    """
    rng = _rng(seed)
    if travel_time is None:
        travel_time = homogeneous_travel_time()
    if surface_velocity is None:
        surface_velocity = getattr(travel_time, "surface_velocity", None)
        if surface_velocity is None:
            raise InputError(
                "surface_velocity={'P': ..., 'S': ...} is needed for the elevation correction"
            )
    _check_noise_settings(drop_fraction, false_fraction, timing_noise_s)
    n_events = int(n_events)
    if not (np.isfinite(stations.x_km).all() and np.isfinite(stations.y_km).all()):
        raise InputError("stations: x_km/y_km are not set (project the stations first)")
    detect = _Detection(
        stations,
        travel_time,
        surface_velocity,
        radius_a_km,
        radius_b_km,
        drop_fraction,
        timing_noise_s,
        min_picks,
        min_p_and_s,
    )
    draw = partial(
        _draw_events,
        rng,
        duration_s=duration_s,
        xlim=xlim,
        ylim=ylim,
        zlim=zlim,
        cluster=cluster,
        b_value=b_value,
        m_min=m_min,
        m_max=m_max,
    )
    kept = _detectable_events(rng, n_events, draw, detect)
    cols = _pick_columns(rng, kept, len(stations), false_fraction, duration_s)
    t_start = np.datetime64(starttime, "ns")
    pk = _synthetic_picks(rng, stations, cols, t_start)
    ev, ev_m = _true_events(kept, cols, t_start, reference, timing_noise_s)
    config = dict(
        n_events=n_events,
        duration_s=duration_s,
        xlim=tuple(xlim),
        ylim=tuple(ylim),
        zlim=tuple(zlim),
        cluster=cluster,
        b_value=b_value,
        m_min=m_min,
        m_max=m_max,
        radius_a_km=radius_a_km,
        radius_b_km=radius_b_km,
        timing_noise_s=timing_noise_s,
        drop_fraction=drop_fraction,
        false_fraction=false_fraction,
        min_picks=min_picks,
        min_p_and_s=min_p_and_s,
        n_true_picks=cols.n_true,
        n_false_picks=cols.n_false,
    )
    return SyntheticCatalogue(
        stations, ev, ev_m, pk, cols.label, t_start, tuple(reference), travel_time, config
    )


def _check_noise_settings(drop_fraction, false_fraction, timing_noise_s) -> None:
    if not 0 <= drop_fraction < 1:
        raise InputError(f"drop_fraction: expected a fraction in [0, 1), got {drop_fraction}")
    if not false_fraction >= 0:
        raise InputError(f"false_fraction: expected >= 0, got {false_fraction}")
    if not timing_noise_s >= 0:
        raise InputError(f"timing_noise_s: expected >= 0, got {timing_noise_s}")


@dataclass
class _Detection:
    """Which stations detect an event, and when its picks arrive (see :func:`picks`)."""

    stations: Stations
    travel_time: TravelTimeFunction
    surface_velocity: dict
    radius_a_km: float
    radius_b_km: float
    drop_fraction: float
    timing_noise_s: float
    min_picks: int
    min_p_and_s: int

    def _travel_times(self, phase, d, z, elev_km) -> np.ndarray:
        """Source at depth ``z`` to stations at distances ``d`` and elevations ``elev_km``:
        exact when the travel-time function takes the elevation, else the vertical static
        ``elevation / surface velocity``."""
        depth = np.full(len(d), z)
        if getattr(self.travel_time, "exact_elevation", False):
            return np.asarray(self.travel_time(phase, d, depth, elev_km), dtype=np.float64)
        tt = np.asarray(self.travel_time(phase, d, depth), dtype=np.float64)
        return tt + elev_km / self.surface_velocity[phase]

    def __call__(self, rng, x, y, z, t, m):
        """(station index [k], phase index [k], arrival time [k]) of the event's picks, or
        None when it is not detectable."""
        sx, sy = self.stations.x_km, self.stations.y_km
        elev_km = self.stations.elevation_m / 1000.0
        n_st = len(self.stations)
        d = np.hypot(sx - x, sy - y)
        h = np.hypot(d, z + elev_km)
        p = _detection_probability(h, self.radius_a_km * m + self.radius_b_km)
        det = rng.random((2, n_st)) < p
        det &= rng.random((2, n_st)) >= self.drop_fraction
        if det.sum() < self.min_picks or (det[0] & det[1]).sum() < self.min_p_and_s:
            return None
        st_idx, ph_idx, arr = [], [], []
        for k, ph in enumerate(("P", "S")):
            s_ = np.flatnonzero(det[k])
            tt = self._travel_times(ph, d[s_], z, elev_km[s_])
            st_idx.append(s_)
            ph_idx.append(np.full(len(s_), k))
            arr.append(t + tt + rng.normal(0.0, self.timing_noise_s, len(s_)))
        return np.concatenate(st_idx), np.concatenate(ph_idx), np.concatenate(arr)


def _detectable_events(rng, n_events, draw, detect) -> list:
    """Exactly ``n_events`` detectable events, sorted by time: (x, y, z, t, m, station idx [k],
    phase [k], arrival [k]); undetectable draws are drawn again."""
    kept = []
    attempts = 0
    while len(kept) < n_events:
        need = n_events - len(kept)
        attempts += need
        if attempts > 200 * max(n_events, 1) + 1000:
            raise InputError(
                "almost no event is detectable with this network; increase the detection radius"
            )
        ev = draw(need)
        for x, y, z, t, m in zip(ev.x, ev.y, ev.z, ev.t, ev.m, strict=True):
            found = detect(rng, x, y, z, t, m)
            if found is not None:
                kept.append((x, y, z, t, m, *found))
    kept.sort(key=lambda e: e[3])
    return kept


@dataclass
class _PickColumns:
    station: np.ndarray  # station index
    phase: np.ndarray  # 0 = P, 1 = S
    time_s: np.ndarray  # seconds after the start
    label: np.ndarray  # event index, -1 for a false pick
    n_true: int
    n_false: int


def _pick_columns(rng, kept, n_st, false_fraction, duration_s) -> _PickColumns:
    """The true picks of ``kept`` plus ``round(false_fraction * n_true)`` false ones, by time."""
    if kept:
        st_all = np.concatenate([e[5] for e in kept])
        ph_all = np.concatenate([e[6] for e in kept])
        tt_all = np.concatenate([e[7] for e in kept])
        lab_all = np.concatenate([np.full(len(e[5]), i) for i, e in enumerate(kept)])
    else:
        st_all, ph_all, tt_all, lab_all = (
            np.array([], int),
            np.array([], int),
            np.array([]),
            np.array([], int),
        )
    n_true = len(st_all)
    n_false = int(round(false_fraction * n_true))
    st_all = np.concatenate([st_all, rng.integers(0, n_st, n_false)])
    ph_all = np.concatenate([ph_all, rng.integers(0, 2, n_false)])
    tt_all = np.concatenate([tt_all, rng.uniform(0.0, duration_s, n_false)])
    lab_all = np.concatenate([lab_all, np.full(n_false, -1)]).astype(np.int64)
    order = np.argsort(tt_all, kind="stable")
    return _PickColumns(
        st_all[order], ph_all[order], tt_all[order], lab_all[order], n_true, n_false
    )


def noise_picks(
    stations: Stations,
    picks_per_hour: float,
    *,
    duration_s: float = 3600.0,
    starttime="2024-01-01T00:00:00",
    seed=None,
) -> Picks:
    """Picks that belong to no event: at every station and phase (P, S), a Poisson process of
    ``picks_per_hour / 2`` picks per hour over ``duration_s`` (``picks_per_hour`` per station in
    all), sorted by time. Probabilities uniform in [0.3, 1]. The pure-noise case of a null test:
    any event made from them is a false one."""
    if not (picks_per_hour >= 0 and np.isfinite(picks_per_hour)):
        raise InputError(f"picks_per_hour: expected a finite number >= 0, got {picks_per_hour}")
    rng = _rng(seed)
    n_st = len(stations)
    counts = rng.poisson(picks_per_hour / 2 * duration_s / 3600.0, (n_st, 2))
    st = np.repeat(np.arange(n_st), counts.sum(axis=1))
    ph = np.concatenate([np.repeat([0, 1], c) for c in counts]).astype(int)
    t = rng.uniform(0.0, duration_s, len(st))
    order = np.argsort(t, kind="stable")
    n = len(st)
    cols = _PickColumns(st[order], ph[order], t[order], np.full(n, -1, np.int64), 0, n)
    return _synthetic_picks(rng, stations, cols, np.datetime64(starttime, "ns"))


def _to_time(t_start, seconds) -> np.ndarray:
    return t_start + np.round(np.asarray(seconds) * 1e9).astype("timedelta64[ns]")


def _synthetic_picks(rng, stations: Stations, cols: _PickColumns, t_start) -> Picks:
    n = len(cols.station)
    prob = rng.uniform(0.3, 1.0, n).astype(np.float32)
    return Picks(
        network=stations.network[cols.station],
        station=stations.station[cols.station],
        location=stations.location[cols.station],
        phase=np.where(cols.phase == 0, "P", "S").astype(object),
        time=_to_time(t_start, cols.time_s),
        probability=prob,
        amplitude=np.full(n, np.nan, np.float32),
        snr=np.full(n, np.nan, np.float32),
    )


def _true_events(kept, cols: _PickColumns, t_start, reference, timing_noise_s):
    """(Events of the true catalogue, their magnitudes)."""
    ev_x, ev_y, ev_z, ev_t, ev_m = (np.array([e[i] for e in kept]) for i in range(5))
    n_ev = len(kept)
    lat, lon = geo.unproject(ev_x, ev_y, *reference) if n_ev else (np.array([]), np.array([]))
    lab, ph = cols.label, cols.phase
    n_p = np.bincount(lab[(lab >= 0) & (ph == 0)], minlength=n_ev).astype(np.int32)
    n_s = np.bincount(lab[(lab >= 0) & (ph == 1)], minlength=n_ev).astype(np.int32)
    ev = Events(
        event_id=np.arange(n_ev, dtype=np.int64),
        time=_to_time(t_start, ev_t) if n_ev else np.array([], "datetime64[ns]"),
        latitude=np.asarray(lat, np.float64),
        longitude=np.asarray(lon, np.float64),
        depth_km=ev_z.astype(np.float64),
        x_km=ev_x.astype(np.float64),
        y_km=ev_y.astype(np.float64),
        n_p=n_p,
        n_s=n_s,
        rms_s=np.full(n_ev, timing_noise_s, np.float32),
    )
    return ev, ev_m


def catalogue(
    n_stations: int = 50,
    n_events: int = 2000,
    *,
    duration_s: float = 86400.0,
    xlim=(-100.0, 100.0),
    ylim=(-100.0, 100.0),
    zlim=(0.0, 30.0),
    stations: Stations | None = None,
    seed=None,
    **kwargs,
) -> SyntheticCatalogue:
    """A network (random, unless ``stations`` is given) and :func:`picks` on it, from one seed.

    ``catalogue()`` with the defaults is the "day" benchmark: 50 stations and 2000 events in a
    200 × 200 km box, 0–30 km deep, in 24 hours, 0.1 s timing noise, 10 % dropped and 10 % false
    picks. Keyword arguments go to :func:`picks`.
    """
    rng = _rng(seed)
    if stations is None:
        stations = network(
            n_stations,
            xlim=xlim,
            ylim=ylim,
            seed=rng,
            reference=kwargs.get("reference", DEFAULT_REFERENCE),
        )
    return picks(
        stations,
        n_events,
        duration_s=duration_s,
        xlim=xlim,
        ylim=ylim,
        zlim=zlim,
        seed=rng,
        **kwargs,
    )


# ----------------------------------------------------------------------------------- scoring


def score(
    true_pick_event,
    pred_pick_event,
    *,
    n_true_events: int | None = None,
    n_pred_events: int | None = None,
    true_xyz=None,
    pred_xyz=None,
    true_time_s=None,
    pred_time_s=None,
    threshold: float = 0.6,
) -> dict:
    """Event and pick-assignment scores of an association against the truth.

    Parameters
    ----------
    true_pick_event, pred_pick_event : array_like of int, one per pick (same picks, same order)
        The true event of each pick and the predicted one; negative means none (false pick /
        unassociated).
    n_true_events, n_pred_events : int, optional
        Number of true and predicted events (default: ``max(id) + 1`` of each column; events
        without picks only count when given here).
    true_xyz, pred_xyz : array_like [n_events, 3], optional
        Hypocentres (km) indexed by event id, for location errors of matched events.
    true_time_s, pred_time_s : array_like [n_events], optional
        Origin times (s), for origin-time errors of matched events.
    threshold : float
        A predicted event matches a true event when they share at least ``threshold`` of the
        larger of the two pick sets (PyOcto's rule, 0.6). Above 0.5 the matching is one-to-one.

    Returns
    -------
    dict
        ``precision, recall, f1`` (events), ``n_true, n_pred, n_matched``; ``pick_precision``
        (picks in matched events that belong to the matched true event / all associated picks)
        and ``pick_recall`` (the same / all picks of true events); with positions,
        ``location_error_km`` (median 3-D error of matched events), ``horizontal_error_km``,
        ``depth_error_km`` (medians), ``location_error_p90_km``; with times,
        ``time_error_s`` (median absolute origin-time error).
    """
    t = np.asarray(true_pick_event, dtype=np.int64)
    p = np.asarray(pred_pick_event, dtype=np.int64)
    if t.shape != p.shape or t.ndim != 1:
        raise InputError(f"true and predicted pick columns differ in shape: {t.shape} vs {p.shape}")
    n_true = int(n_true_events) if n_true_events is not None else int(t.max(initial=-1) + 1)
    n_pred = int(n_pred_events) if n_pred_events is not None else int(p.max(initial=-1) + 1)
    true_size = np.bincount(t[t >= 0], minlength=n_true)
    pred_size = np.bincount(p[p >= 0], minlength=n_pred)
    both = (t >= 0) & (p >= 0)
    pairs, counts = (
        np.unique(np.stack([p[both], t[both]]), axis=1, return_counts=True)
        if both.any()
        else (np.zeros((2, 0), np.int64), np.zeros(0, np.int64))
    )
    pe, te = pairs
    frac = counts / np.maximum(pred_size[pe], true_size[te]) if len(counts) else np.zeros(0)
    ok = frac >= threshold
    m_pred, m_true, m_count = pe[ok], te[ok], counts[ok]
    # above 0.5 a predicted event matches at most one true event and vice versa
    assert threshold <= 0.5 or (
        len(np.unique(m_pred)) == len(m_pred) and len(np.unique(m_true)) == len(m_true)
    )
    n_match = len(m_pred)
    precision = n_match / n_pred if n_pred else 0.0
    recall = n_match / n_true if n_true else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
    n_assoc = int((p >= 0).sum())
    n_true_picks = int((t >= 0).sum())
    out = {
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "n_true": n_true,
        "n_pred": n_pred,
        "n_matched": n_match,
        "pick_precision": float(m_count.sum() / n_assoc) if n_assoc else 0.0,
        "pick_recall": float(m_count.sum() / n_true_picks) if n_true_picks else 0.0,
    }
    if true_xyz is not None and pred_xyz is not None:
        a = np.asarray(true_xyz, np.float64)[m_true]
        b = np.asarray(pred_xyz, np.float64)[m_pred]
        err = np.linalg.norm(a - b, axis=1)
        h = np.linalg.norm(a[:, :2] - b[:, :2], axis=1)
        dz = np.abs(a[:, 2] - b[:, 2])
        nan = float("nan")
        out["location_error_km"] = float(np.median(err)) if n_match else nan
        out["location_error_p90_km"] = float(np.percentile(err, 90)) if n_match else nan
        out["horizontal_error_km"] = float(np.median(h)) if n_match else nan
        out["depth_error_km"] = float(np.median(dz)) if n_match else nan
    if true_time_s is not None and pred_time_s is not None:
        dt = np.abs(
            np.asarray(true_time_s, np.float64)[m_true]
            - np.asarray(pred_time_s, np.float64)[m_pred]
        )
        out["time_error_s"] = float(np.median(dt)) if n_match else float("nan")
    return out
