"""seiscore run: local magnitudes of the catalogue's events (``[magnitude]``).

The instrument responses come from ``magnitude.inventory`` (StationXML, full SEED or dataless),
by default the station file itself when it is StationXML or SEED. The raw records are read
again around each event from the run's input (files, folders or SDS). P and S times are the
event's associated picks, completed by times predicted with the run's velocity model.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ... import geo, magnitude
from ... import traveltime as ttm
from ...io import stations as sio
from ...io.sources import open_source, read_window

__all__ = ["local_magnitudes", "magnitude_settings"]

#: Seconds of record read before an origin and after its last arrival.
PRE_S, POST_S = 60.0, 90.0


def magnitude_settings(mcfg: dict) -> magnitude.MagnitudeSettings:
    """The ``[magnitude]`` section as :class:`seiscore.magnitude.MagnitudeSettings`."""
    return magnitude.MagnitudeSettings(
        amplitudes=magnitude.AmplitudeSettings(
            components=("E", "N", "Z") if mcfg["vertical"] else ("E", "N"),
            response="full_or_flat" if mcfg["flat_gain"] else "full",
            min_after_s=mcfg["min_after_s"],
            after_s_factor=mcfg["after_s_factor"],
            noise_s=mcfg["noise_s"],
        ),
        law=mcfg["law"],
        distance=mcfg["distance"],
        min_snr=mcfg["min_snr"],
        corrections=mcfg["corrections"],
        method=mcfg["method"],
    )


def _inventory(cfg, messages):
    """The inventory with responses, or None (with a note saying why)."""
    path = cfg["magnitude"]["inventory"] or cfg["stations"]["path"]
    suffix = Path(path).suffix.lower()
    if cfg["magnitude"]["inventory"] is None and not (suffix == ".xml" or sio.is_seed(path)):
        messages.append(
            f"magnitude: {path} holds no instrument responses (not StationXML or "
            "SEED); no ML (set magnitude.inventory)"
        )
        return None
    inv = sio.read_inventory(path)
    has = any(
        ch.response is not None
        and (ch.response.response_stages or ch.response.instrument_sensitivity)
        for net in inv
        for sta in net
        for ch in sta
    )
    if not has:
        messages.append(f"magnitude: {path} has no instrument response; no ML")
        return None
    return inv


def _arrivals(result, events: pd.DataFrame, stations, velocity) -> pd.DataFrame:
    """Associated P/S picks, completed by predicted times."""
    keep = result.event_id >= 0
    pk = result.picks
    ids = np.array(
        [
            f"{n}.{s}.{lo}"
            for n, s, lo in zip(pk.network[keep], pk.station[keep], pk.location[keep], strict=True)
        ],
        dtype=object,
    )
    picked = pd.DataFrame(
        {
            "event_id": result.event_id[keep],
            "station_id": ids,
            "phase": pk.phase[keep].astype(str),
            "time": pk.time[keep].astype("datetime64[ns]"),
        }
    )
    far = 1.0
    for ev in events.itertuples(index=False):
        x, y = geo.project(stations.latitude, stations.longitude, ev.latitude, ev.longitude)
        far = max(far, float(np.hypot(x, y).max()))
    depth = max(float(events.depth_km.max()), 1.0) + 5.0
    table = ttm.build_table(
        velocity, far + 5.0, depth, min_depth_km=min(0.0, float(events.depth_km.min())) - 2.0
    )
    predicted = magnitude.predicted_arrivals(
        events, stations, lambda ph, d, z, e: ttm.travel_times(table, ph, d, z, e)
    )
    have = set(zip(picked.event_id, picked.station_id, picked.phase, strict=True))
    new = [k not in have for k in zip(predicted.event_id, predicted.station_id,
                                      predicted.phase, strict=True)]  # fmt: skip
    return pd.concat([picked, predicted[new]], ignore_index=True)


def _channel_ids(inv, stations, components) -> list[str]:
    """The inventory's channels at the run's stations with the wanted component letters."""
    letters = {"E": "E1", "N": "N2", "Z": "Z3U"}
    wanted = "".join(letters[c] for c in components)
    sids = set(stations.ids)
    out = set()
    for net in inv:
        for sta in net:
            for ch in sta:
                sid = f"{net.code}.{sta.code}.{ch.location_code or ''}"
                if sid in sids and ch.code[-1:] in wanted:
                    out.add(f"{sid}.{ch.code}")
    return sorted(out)


def _records(cfg, events, arrivals, channel_ids, messages, source=None):
    """The raw records around every event, from the run's waveform input."""
    import obspy

    inp = cfg["input"]
    if source is None:
        source = open_source(inp["sds"], sds=True) if inp["sds"] else open_source(inp["waveforms"])
    st = obspy.Stream()
    for ev in events.itertuples(index=False):
        mine = arrivals[arrivals.event_id == ev.event_id]
        last = mine.time.max() if len(mine) else ev.time
        t0 = obspy.UTCDateTime(str(np.datetime64(ev.time, "ns"))) - PRE_S
        t1 = obspy.UTCDateTime(str(np.datetime64(last, "ns"))) + POST_S
        got, notes = read_window(source, channel_ids, t0, t1)
        messages.extend(f"magnitude, event {ev.event_id}: {n}" for n in notes)
        st += got
    if len(st):
        st.merge(method=1, fill_value=None)
    return st


def local_magnitudes(cfg, result, events: pd.DataFrame, stations, velocity, messages, source=None):
    """A :class:`seiscore.magnitude.MagnitudeResult` for the catalogue's ``events`` (columns
    ``event_id, time, latitude, longitude, depth_km``: the preferred hypocentres), or None
    when magnitudes are off or there are no responses (a note says so)."""
    if not cfg["magnitude"]["enabled"] or events.empty:
        return None
    inv = _inventory(cfg, messages)
    if inv is None:
        return None
    settings = magnitude_settings(cfg["magnitude"])
    events = events[["event_id", "time", "latitude", "longitude", "depth_km"]].copy()
    events["time"] = events.time.to_numpy("datetime64[ns]")
    arrivals = _arrivals(result, events, stations, velocity)
    ids = _channel_ids(inv, stations, settings.amplitudes.components)
    stream = _records(cfg, events, arrivals, ids, messages, source)
    res = magnitude.local_magnitudes(stream, inv, events, stations, arrivals, settings)
    messages.extend(f"magnitude: {n}" for n in res.notes)
    return res
