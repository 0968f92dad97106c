"""Wood-Anderson amplitudes per event, station and channel: :func:`measure_amplitudes`.

For each event and station, on each chosen channel (both horizontals by default; Z optional):

1. cut the raw record from ``noise_s + gap_s`` before P (minus a taper margin) to the end of
   the signal window (plus the margin); a cut with gaps is skipped with a note;
2. simulate the Wood-Anderson seismogram (:func:`~seiscore.magnitude.wood_anderson.wood_anderson`)
   from the channel's response;
3. signal window: from ``pre_p_s`` before P to ``S + max(min_after_s, after_s_factor * (S - P))``
   (the coda after S grows with distance); noise window: ``noise_s`` seconds ending ``gap_s``
   before P;
4. amplitude = the largest absolute value in the signal window (zero to peak, mm), its time
   and period (twice the time between the zero crossings around the peak); SNR = amplitude /
   largest absolute noise value.

P and S times come from ``arrivals`` (picked, or predicted: :func:`predicted_arrivals`).
Nothing is dropped silently: each channel not measured gives a note naming it. When the record
starts less than ``noise_s`` before P, the noise window is shortened to what the record has
(at least :data:`MIN_NOISE_S`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .. import geo
from ..exceptions import InputError
from .wood_anderson import wood_anderson

__all__ = ["AmplitudeSettings", "measure_amplitudes", "predicted_arrivals"]

HORIZONTAL = ("E", "N", "1", "2")
#: The shortest noise window accepted when the record starts less than ``noise_s`` before P.
MIN_NOISE_S = 1.0
AMPLITUDE_COLUMNS = [
    "event_id", "network", "station", "location", "channel", "amplitude_mm", "period_s",
    "time", "snr", "distance_km", "epicentral_km", "window_start", "window_end", "response",
]  # fmt: skip


@dataclass(frozen=True)
class AmplitudeSettings:
    """How amplitudes are measured (seconds unless said)."""

    components: tuple = ("E", "N")  # component letters ("Z" adds the vertical); 1/2 = E/N
    pre_p_s: float = 0.5
    min_after_s: float = 3.0
    after_s_factor: float = 1.0
    noise_s: float = 10.0
    gap_s: float = 0.5
    taper_margin_s: float = 20.0
    response: str = "full"  # "full", "flat" (sensitivity only) or "full_or_flat"
    pre_filter: tuple | None = None

    def __post_init__(self):
        for key in ("pre_p_s", "min_after_s", "after_s_factor", "noise_s", "gap_s",
                    "taper_margin_s"):  # fmt: skip
            value = getattr(self, key)
            if not (np.isfinite(value) and value >= 0):
                raise InputError(f"magnitude.{key}: expected a number >= 0, got {value}")
        if self.response not in ("full", "flat", "full_or_flat"):
            raise InputError(
                f"magnitude.response: expected 'full', 'flat' or 'full_or_flat', "
                f"got {self.response!r}"
            )
        if not self.components:
            raise InputError("magnitude.components: give at least one component letter")


def predicted_arrivals(events: pd.DataFrame, stations, travel_time) -> pd.DataFrame:
    """P and S times at every station for every event, from
    ``travel_time(phase, distance_km, depth_km, elevation_m) -> seconds`` (arrays over the
    stations; e.g. :func:`seiscore.traveltime.travel_times` on a table).

    ``events``: columns ``event_id, time (datetime64[ns]), latitude, longitude, depth_km``.
    Returns ``event_id, station_id, phase, time`` (stations the phase cannot reach are left
    out)."""
    rows = []
    elev = np.asarray(stations.elevation_m, np.float64)
    for ev in events.itertuples(index=False):
        d = _epicentral_km(ev.latitude, ev.longitude, stations)
        origin = np.datetime64(ev.time, "ns")
        for phase in ("P", "S"):
            depth = np.full(len(d), float(ev.depth_km))
            tt = np.asarray(travel_time(phase, d, depth, elev), np.float64)
            for k, sid in enumerate(stations.ids):
                if np.isfinite(tt[k]):
                    t = origin + np.timedelta64(int(round(tt[k] * 1e9)), "ns")
                    rows.append((ev.event_id, sid, phase, t))
    return pd.DataFrame(rows, columns=["event_id", "station_id", "phase", "time"])


def _epicentral_km(lat, lon, stations) -> np.ndarray:
    x, y = geo.project(stations.latitude, stations.longitude, lat, lon)
    return np.hypot(x, y)


def _utc(t):
    import obspy

    return obspy.UTCDateTime(str(np.datetime64(t, "ns")))


def _select(stream, sid: str, component: str):
    net, sta, loc = sid.split(".")
    letters = {"E": ("E", "1"), "N": ("N", "2")}.get(component, (component,))
    for letter in letters:
        st = stream.select(network=net, station=sta, location=loc, component=letter)
        if len(st):
            return st
    return None


def _cut(st, t0, t1, margin, where: str, notes: list, need0=None):
    """A gap-free piece of ``st`` covering [need0, t1] (``need0`` defaults to ``t0``) and
    as much of [t0 - margin, t1 + margin] as the record has, or None (with a note)."""
    need0 = t0 if need0 is None else need0
    st = st.slice(t0 - margin, t1 + margin).copy()
    if not len(st):
        notes.append(f"{where}: no data between {t0} and {t1}; not measured")
        return None
    try:
        st.merge(method=1)
    except Exception as exc:  # noqa: BLE001 - ObsPy refuses to merge mismatched traces
        notes.append(f"{where}: cannot merge its traces ({exc}); not measured")
        return None
    tr = st[0]
    data = np.ma.filled(np.ma.masked_invalid(np.ma.asarray(tr.data, dtype=np.float64)), np.nan)
    if len(st) > 1 or not np.isfinite(data).all():
        notes.append(f"{where}: gaps between {t0} and {t1}; not measured")
        return None
    if tr.stats.starttime > need0 + tr.stats.delta or tr.stats.endtime < t1 - tr.stats.delta:
        notes.append(
            f"{where}: the record ({tr.stats.starttime} - {tr.stats.endtime}) does not cover "
            f"the signal window and {MIN_NOISE_S:g} s of noise before it ({need0} - {t1}); "
            "not measured"
        )
        return None
    return tr, data


def _period(wa: np.ndarray, i: int, fs: float) -> float:
    """Twice the time between the zero crossings around sample ``i``."""
    sign = np.sign(wa[i])
    lo = i
    while lo > 0 and np.sign(wa[lo - 1]) == sign:
        lo -= 1
    hi = i
    while hi < len(wa) - 1 and np.sign(wa[hi + 1]) == sign:
        hi += 1
    if lo == 0 or hi == len(wa) - 1:
        return float("nan")
    return 2.0 * (hi - lo + 1) / fs


def _response(inventory, seed_id: str, time, settings, where: str):
    """(response, flat?) for a channel, or raises InputError naming it."""
    try:
        resp = inventory.get_response(seed_id, time)
    except Exception:  # noqa: BLE001 - ObsPy raises a bare Exception when not found
        raise InputError(f"{where}: no response for {seed_id} at {time} in the inventory") from None
    if settings.response == "flat":
        return resp, True
    has_stages = bool(getattr(resp, "response_stages", None))
    if not has_stages:
        if settings.response == "full_or_flat":
            return resp, True
        raise InputError(
            f"{where}: the response of {seed_id} has no stages (only a sensitivity); "
            "use magnitude.response = 'full_or_flat' to accept a flat gain"
        )
    return resp, False


def _one_channel(st, inventory, windows, settings, where: str, notes: list):
    """(amplitude_mm, period_s, time, snr, response kind) of one channel, or None."""
    (n0, n1), (s0, s1) = windows
    need0 = min(n1 - MIN_NOISE_S, n0 + settings.noise_s)  # a shorter noise window will do
    piece = _cut(st, n0, s1, settings.taper_margin_s, where, notes, need0=need0)
    if piece is None:
        return None
    tr, data = piece
    n0 = max(n0, tr.stats.starttime)  # the noise window the record allows
    try:
        resp, flat = _response(inventory, tr.id, tr.stats.starttime, settings, where)
        wa = wood_anderson(data, tr.stats.sampling_rate, resp, flat=flat,
                           pre_filter=settings.pre_filter, where=where)  # fmt: skip
    except InputError as exc:
        notes.append(f"{exc}; not measured")
        return None
    fs = tr.stats.sampling_rate

    def index(t):
        return int(round((t - tr.stats.starttime) * fs))

    sig = wa[index(s0) : index(s1) + 1]
    noise = wa[index(n0) : index(n1) + 1]
    if sig.size == 0:
        notes.append(f"{where}: empty signal window; not measured")
        return None
    k = int(np.argmax(np.abs(sig)))
    amp = float(abs(sig[k]))
    noise_amp = float(np.max(np.abs(noise))) if noise.size else float("nan")
    snr = amp / noise_amp if noise_amp > 0 else float("inf")
    peak_time = s0 + k / fs
    return amp, _period(wa, index(s0) + k, fs), peak_time, snr, "flat" if flat else "full"


def _windows(tp, ts, settings):
    after = max(settings.min_after_s, settings.after_s_factor * max(ts - tp, 0.0))
    noise = (tp - settings.gap_s - settings.noise_s, tp - settings.gap_s)
    signal = (tp - settings.pre_p_s, ts + after)
    return noise, signal


def _arrival_times(arrivals: pd.DataFrame) -> dict:
    """(event_id, station_id) -> {phase: earliest time}."""
    out: dict = {}
    for row in arrivals.itertuples(index=False):
        key = (row.event_id, row.station_id)
        phases = out.setdefault(key, {})
        t = np.datetime64(row.time, "ns")
        if row.phase not in phases or t < phases[row.phase]:
            phases[row.phase] = t
    return out


def measure_amplitudes(
    stream, inventory, events: pd.DataFrame, stations, arrivals: pd.DataFrame,
    settings: AmplitudeSettings | None = None,
) -> tuple[pd.DataFrame, list[str]]:  # fmt: skip
    """Wood-Anderson amplitudes (see the module docstring).

    Parameters
    ----------
    stream : obspy.Stream of raw records (counts)
    inventory : obspy.Inventory with the channels' responses
    events : DataFrame ``event_id, time, latitude, longitude, depth_km``
    stations : Stations (coordinates and elevations)
    arrivals : DataFrame ``event_id, station_id, phase ("P"/"S"), time``; a station needs both
        (an S missing from picks may come from :func:`predicted_arrivals`)
    settings : AmplitudeSettings

    Returns
    -------
    (DataFrame with :data:`AMPLITUDE_COLUMNS`, notes)
    """
    settings = settings or AmplitudeSettings()
    times = _arrival_times(arrivals)
    index = {sid: k for k, sid in enumerate(stations.ids)}
    rows, notes = [], []
    for ev in events.itertuples(index=False):
        epi = _epicentral_km(ev.latitude, ev.longitude, stations)
        no_times = []
        for sid in stations.ids:
            phases = times.get((ev.event_id, sid))
            if not phases or "P" not in phases or "S" not in phases:
                no_times.append(sid)
                continue
            k = index[sid]
            dz = float(ev.depth_km) + float(stations.elevation_m[k]) / 1000.0
            hyp = float(np.hypot(epi[k], dz))
            tp, ts = _utc(phases["P"]), _utc(phases["S"])
            windows = _windows(tp, ts, settings)
            for comp in settings.components:
                where = f"event {ev.event_id}, {sid} ({comp})"
                st = _select(stream, sid, comp)
                if st is None:
                    notes.append(f"{where}: no {comp} channel in the waveforms; not measured")
                    continue
                got = _one_channel(st, inventory, windows, settings, where, notes)
                if got is None:
                    continue
                amp, period, t_peak, snr, kind = got
                net, sta, loc = sid.split(".")
                rows.append((ev.event_id, net, sta, loc, st[0].stats.channel, amp, period,
                             np.datetime64(t_peak.datetime, "ns"), snr, hyp, float(epi[k]),
                             np.datetime64(windows[1][0].datetime, "ns"),
                             np.datetime64(windows[1][1].datetime, "ns"), kind))  # fmt: skip
        if no_times:
            notes.append(
                f"event {ev.event_id}: no P and S time (picked or predicted) at "
                f"{len(no_times)} station(s) ({', '.join(no_times[:5])}"
                f"{', ...' if len(no_times) > 5 else ''}); not measured"
            )
    return pd.DataFrame(rows, columns=AMPLITUDE_COLUMNS), notes
