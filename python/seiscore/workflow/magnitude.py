"""The job behind ``seiscore magnitude``: add local magnitudes to an existing catalogue.

Events come from QuakeML (any, e.g. from ``seiscore run`` or another tool: the preferred origin
of each event, its picks) or from seiscore's ``events.csv`` (with the ``picks.csv`` beside it
when there is one); waveforms from files/folders or an SDS archive; responses from StationXML,
full SEED or dataless SEED. P and S times are the event's picks where it has them, else
predicted with the velocity model (``--model`` or ``--vp``/``--vs``; without one, stations
without both picks are skipped with a note). Writes the catalogue with magnitudes (QuakeML) and
an events CSV with ``magnitude, magnitude_type, n_magnitude_stations, magnitude_uncertainty``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import obspy
import pandas as pd

from .. import magnitude, traveltime
from ..exceptions import InputError
from ..io import catalog
from ..io import waveforms as wio
from ..io.atomic import atomic_path
from ..io.stations import read_inventory, read_stations

__all__ = ["MagnitudeJobResult", "events_from_catalog", "run_magnitude_job"]

#: Seconds of record read before the origin and after the latest S arrival of an event.
PRE_S, POST_S = 60.0, 120.0


@dataclass
class MagnitudeJobResult:
    magnitudes: magnitude.MagnitudeResult
    catalog: obspy.Catalog
    outputs: list[Path] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)


def events_from_catalog(cat: obspy.Catalog):
    """(events table, arrivals from picks, {event_id: Event}) of an ObsPy Catalog: one row per
    event with a preferred (or first) origin; event ids are positions in the catalogue."""
    rows, arrivals, by_id = [], [], {}
    for eid, ev in enumerate(cat):
        origin = ev.preferred_origin() or (ev.origins[0] if ev.origins else None)
        if origin is None or origin.latitude is None or origin.depth is None:
            continue
        by_id[eid] = ev
        rows.append((eid, np.datetime64(origin.time.datetime, "ns"), origin.latitude,
                     origin.longitude, origin.depth / 1000.0))  # fmt: skip
        for p in ev.picks:
            phase = (p.phase_hint or "").upper()[:1]
            if phase in ("P", "S"):
                w = p.waveform_id
                sid = f"{w.network_code}.{w.station_code}.{w.location_code or ''}"
                arrivals.append((eid, sid, phase, np.datetime64(p.time.datetime, "ns")))
    events = pd.DataFrame(rows, columns=["event_id", "time", "latitude", "longitude", "depth_km"])
    arr = pd.DataFrame(arrivals, columns=["event_id", "station_id", "phase", "time"])
    return events, arr, by_id


def _read_events(path: Path, picks_csv: Path | None):
    """(catalog, events table, arrivals, {event_id: Event}) from QuakeML or seiscore's CSV."""
    if not path.is_file():
        raise InputError(f"events file not found: {path}")
    if path.suffix.lower() == ".csv":
        df = pd.read_csv(path)
        missing = {"event_id", "time", "latitude", "longitude", "depth_km"} - set(df.columns)
        if missing:
            raise InputError(f"{path}: not a seiscore events CSV (missing {sorted(missing)})")
        picks_csv = picks_csv or (path.parent / "picks.csv")
        cat = obspy.Catalog()
        for row in df.itertuples(index=False):
            origin = obspy.core.event.Origin(time=obspy.UTCDateTime(row.time),
                                             latitude=row.latitude, longitude=row.longitude,
                                             depth=row.depth_km * 1000.0)  # fmt: skip
            ev = obspy.core.event.Event(
                resource_id=f"smi:local/event/{int(row.event_id)}", origins=[origin]
            )
            ev.preferred_origin_id = origin.resource_id
            cat.append(ev)
        events, _, by_id = events_from_catalog(cat)
        events["event_id"] = df.event_id.to_numpy()
        by_id = dict(zip(df.event_id, by_id.values(), strict=True))
        arrivals = _csv_arrivals(picks_csv) if picks_csv.is_file() else events.iloc[:0, :0]
        return cat, events, arrivals, by_id
    try:
        cat = obspy.read_events(str(path))
    except Exception as exc:  # noqa: BLE001 - ObsPy raises many types for malformed files
        raise InputError(f"{path}: cannot read as QuakeML ({type(exc).__name__}: {exc})") from None
    events, arrivals, by_id = events_from_catalog(cat)
    return cat, events, arrivals, by_id


def _csv_arrivals(path: Path) -> pd.DataFrame:
    df = pd.read_csv(path, dtype={"location": str}, keep_default_na=False)
    if "event_id" not in df.columns:
        return pd.DataFrame(columns=["event_id", "station_id", "phase", "time"])
    df = df[df.event_id.astype(int) >= 0]
    sid = df.network + "." + df.station + "." + df.location.astype(str)
    times = pd.to_datetime(df.time, format="ISO8601", utc=True).dt.tz_localize(None)
    return pd.DataFrame({"event_id": df.event_id.astype(int).to_numpy(), "station_id": sid,
                         "phase": df.phase, "time": times.to_numpy("datetime64[ns]")})  # fmt: skip


def _arrivals(events, picked, stations, velocity) -> pd.DataFrame:
    """Picked P/S times, completed by predicted ones where a station lacks one."""
    if velocity is None:
        return picked
    deepest = max(float(events.depth_km.max()), 1.0) + 5.0
    shallowest = min(0.0, float(events.depth_km.min())) - 2.0
    table = traveltime.build_table(
        velocity, _reach_km(events, stations) + 5.0, deepest, min_depth_km=shallowest
    )

    def tt(phase, d, z, e):
        return traveltime.travel_times(table, phase, d, z, e)

    predicted = magnitude.predicted_arrivals(events, stations, tt)
    have = set(zip(picked.event_id, picked.station_id, picked.phase, strict=True))
    keep = [k not in have for k in zip(predicted.event_id, predicted.station_id,
                                       predicted.phase, strict=True)]  # fmt: skip
    return pd.concat([picked, predicted[keep]], ignore_index=True)


def _reach_km(events, stations) -> float:
    from .. import geo

    far = 0.0
    for ev in events.itertuples(index=False):
        x, y = geo.project(stations.latitude, stations.longitude, ev.latitude, ev.longitude)
        far = max(far, float(np.hypot(x, y).max()))
    return far


def _event_stream(events, arrivals, inputs, sds, messages) -> obspy.Stream:
    """The raw records around every event (from PRE_S before the origin to POST_S after its
    last arrival)."""
    st = obspy.Stream()
    files = wio.find_waveform_files(inputs) if not sds else []
    for ev in events.itertuples(index=False):
        mine = arrivals[arrivals.event_id == ev.event_id]
        last = mine.time.max() if len(mine) else ev.time
        t0 = obspy.UTCDateTime(str(np.datetime64(ev.time, "ns"))) - PRE_S
        t1 = obspy.UTCDateTime(str(np.datetime64(last, "ns"))) + POST_S
        if sds:
            try:
                got = wio.read_sds(inputs[0], "*", "*", "*", "*", t0, t1)
            except InputError as exc:
                messages.append(f"event {ev.event_id}: {exc}")
                continue
        else:
            got, errors = wio.read_waveform_files(files, starttime=t0, endtime=t1)
            messages.extend(errors)
        st += got
    if len(st):
        st.merge(method=1, fill_value=None)  # windows of neighbouring events overlap
    return st


def run_magnitude_job(
    events, waveforms, inventory, output, *, picks=None, sds: bool = False, model=None,
    vp: float | None = None, vs: float | None = None,
    settings: magnitude.MagnitudeSettings | None = None,
) -> MagnitudeJobResult:  # fmt: skip
    """Add local magnitudes to the catalogue in ``events`` and write ``output`` (QuakeML) and
    ``<output stem>.csv`` (events with magnitudes). See the module docstring."""
    messages: list[str] = []
    cat, ev_table, picked, by_id = _read_events(Path(events), Path(picks) if picks else None)
    if ev_table.empty:
        raise InputError(f"{events}: no event with a located origin")
    inv = read_inventory(inventory)
    stations = read_stations(inv)
    velocity = None
    if model is not None or vp is not None or vs is not None:
        velocity = traveltime.load_velocity_model(model, vp, vs)
    arrivals = _arrivals(ev_table, picked, stations, velocity)
    inputs = [waveforms] if isinstance(waveforms, (str, Path)) else list(waveforms)
    stream = _event_stream(ev_table, arrivals, inputs, sds, messages)
    result = magnitude.local_magnitudes(stream, inv, ev_table, stations, arrivals, settings)
    messages.extend(result.notes)
    catalog.add_local_magnitudes(cat, by_id, result)
    out = Path(output)
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(out) as tmp:
        cat.write(str(tmp), format="QUAKEML")
    csv = out.with_suffix(".csv")
    table = ev_table.merge(result.network.drop(columns="method"), on="event_id", how="left")
    table["time"] = np.datetime_as_string(table.time.to_numpy("datetime64[us]"), unit="us",
                                          timezone="UTC")  # fmt: skip
    with atomic_path(csv) as tmp:
        table.to_csv(tmp, index=False, float_format="%.4f")
    return MagnitudeJobResult(result, cat, [out, csv], messages)
