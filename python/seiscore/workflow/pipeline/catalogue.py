"""seiscore run: catalogue."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ... import picking
from ...containers import Locations
from ...io import catalog
from ...io.atomic import atomic_path
from ...io.catalog import locations_to_catalog
from .. import detection
from .relocation import _utc


def _iso(times) -> np.ndarray:
    return np.datetime_as_string(
        np.asarray(times).astype("datetime64[us]"), unit="us", timezone="UTC"
    )


def build_catalog(result, locs: Locations, predict=None):
    """ObsPy Catalog: per event the migration origin (preferred, when relocated) and the
    association origin, its picks, and their arrivals on both origins. ``predict(origin,
    station_ids, phases) -> seconds`` gives the travel times from a relocated origin (the
    residuals of its arrivals; without it they have none)."""
    from obspy.core.event import Arrival, Catalog, Event, Origin, OriginQuality, ResourceIdentifier

    ev_tab = result.events
    reloc = {int(locs.event_id[i]): ev for i, ev in enumerate(locations_to_catalog(locs))}
    picks_obspy = catalog.picks_to_obspy(result.picks)
    cat = Catalog()
    for i in range(len(ev_tab)):
        eid = int(ev_tab.event_id[i])
        a_origin = Origin(
            resource_id=ResourceIdentifier(f"smi:local/origin/{eid}/association"),
            time=_utc(ev_tab.time[i]),
            latitude=float(ev_tab.latitude[i]),
            longitude=float(ev_tab.longitude[i]),
            depth=float(ev_tab.depth_km[i]) * 1000.0,
            method_id=ResourceIdentifier("smi:local/seiscore-association"),
            evaluation_mode="automatic",
            quality=OriginQuality(
                associated_phase_count=int(ev_tab.n_p[i] + ev_tab.n_s[i]),
                standard_error=float(ev_tab.rms_s[i]),
            ),
        )
        ev = Event(resource_id=ResourceIdentifier(f"smi:local/event/{eid}"))
        mine = np.flatnonzero(result.event_id == eid)
        for k in mine:
            p = picks_obspy[k]
            ev.picks.append(p)
            a_origin.arrivals.append(
                Arrival(
                    pick_id=p.resource_id,
                    phase=str(result.picks.phase[k]),
                    time_residual=float(result.residual_s[k]),
                )
            )
        if eid in reloc:
            m_origin = reloc[eid].origins[0]
            _add_arrivals(m_origin, result, mine, ev.picks, predict)
            ev.origins = [m_origin, a_origin]
            ev.preferred_origin_id = m_origin.resource_id
        else:
            ev.origins = [a_origin]
            ev.preferred_origin_id = a_origin.resource_id
        cat.append(ev)
    return cat


def _add_arrivals(origin, result, rows, picks, predict) -> None:
    """The event's picks as arrivals of ``origin``, with residuals from ``predict``."""
    from obspy.core.event import Arrival

    pk = result.picks
    sids = [f"{pk.network[k]}.{pk.station[k]}.{pk.location[k]}" for k in rows]
    phases = [str(pk.phase[k]) for k in rows]
    tt = predict(origin, sids, phases) if predict is not None and len(rows) else None
    for j, p in enumerate(picks):
        arrival = Arrival(pick_id=p.resource_id, phase=phases[j])
        if tt is not None and np.isfinite(tt[j]):
            arrival.time_residual = float(p.time - (origin.time + float(tt[j])))
        origin.arrivals.append(arrival)


def travel_time_predictor(velocity, stations, events_df):
    """``predict(origin, station_ids, phases)`` for :func:`build_catalog`, from one table
    that covers the events and the stations."""
    from ... import geo
    from ... import traveltime as ttm

    if events_df is None or events_df.empty:
        return None
    far = 1.0
    for ev in events_df.itertuples(index=False):
        x, y = geo.project(stations.latitude, stations.longitude, ev.latitude, ev.longitude)
        far = max(far, float(np.hypot(x, y).max()))
    table = ttm.build_table(
        velocity,
        far + 5.0,
        max(float(events_df.depth_km.max()), 1.0) + 5.0,
        min_depth_km=min(0.0, float(events_df.depth_km.min())) - 2.0,
    )
    index = {sid: k for k, sid in enumerate(stations.ids)}

    def predict(origin, sids, phases):
        out = np.full(len(sids), np.nan)
        for j, (sid, ph) in enumerate(zip(sids, phases, strict=True)):
            k = index.get(sid)
            if k is None or ph not in ("P", "S"):
                continue
            x, y = geo.project(
                stations.latitude[k], stations.longitude[k], origin.latitude, origin.longitude
            )
            out[j] = float(
                ttm.travel_times(
                    table, ph, float(np.hypot(x, y)), origin.depth / 1000.0, stations.elevation_m[k]
                )
            )
        return out

    return predict


def events_dataframe(result, locs: Locations):
    """One row per associated event: the relocated hypocentre (or the association's where it
    could not be relocated) with its uncertainty, and the association's solution."""
    import pandas as pd

    ev = result.events
    df = pd.DataFrame(
        {
            "event_id": ev.event_id,
            "time": ev.time,
            "latitude": ev.latitude,
            "longitude": ev.longitude,
            "depth_km": ev.depth_km,
            "n_p": ev.n_p,
            "n_s": ev.n_s,
            "rms_s": ev.rms_s,
            "relocated": False,
        }
    )
    for c in ("err_x_km", "err_y_km", "err_z_km", "err_time_s", "coherence"):
        df[c] = np.nan
    df["assoc_time"] = ev.time
    df["assoc_latitude"], df["assoc_longitude"] = ev.latitude, ev.longitude
    df["assoc_depth_km"] = ev.depth_km
    df["assoc_significance"] = result.significance
    where = {int(e): i for i, e in enumerate(ev.event_id)}
    for j in range(len(locs)):
        i = where[int(locs.event_id[j])]
        df.loc[i, ["latitude", "longitude", "depth_km"]] = [
            locs.latitude[j],
            locs.longitude[j],
            locs.depth_km[j],
        ]
        df.loc[i, "time"] = locs.time[j]
        df.loc[i, "relocated"] = True
        for c in ("err_x_km", "err_y_km", "err_z_km", "err_time_s", "coherence"):
            df.loc[i, c] = float(getattr(locs, c)[j])
    return df


def _write_catalogue(
    out_dir: Path,
    result,
    locs,
    stations,
    figures: bool,
    found,
    mags=None,
    events_df=None,
    predict=None,
) -> list[Path]:
    """events.xml (QuakeML), events.csv, picks.csv and (with ``figures``) the catalogue
    figures, each written atomically (whole or not at all); ``found``: the migration-only
    events and the ids of the events found by both (:mod:`.detection`); ``mags``: the local
    magnitudes (:mod:`.magnitudes`) or None."""
    outputs = [out_dir / "events.xml", out_dir / "events.csv", out_dir / "picks.csv"]
    # the network DL magnitude (issue 16), where picks carry single-station DL magnitudes
    dl = picking.network_magnitude(result.picks, result.event_id)
    with atomic_path(outputs[0]) as tmp:
        cat = detection.add_to_catalog(build_catalog(result, locs, predict), found[0])
        catalog.add_network_magnitudes(cat, dl)
        if mags is not None:
            by_id = {int(str(ev.resource_id).rsplit("/", 1)[-1]): ev for ev in cat
                     if str(ev.resource_id).rsplit("/", 1)[-1].isdigit()}  # fmt: skip
            catalog.add_local_magnitudes(cat, by_id, mags)
        cat.write(str(tmp), "QUAKEML")
    df = events_df if events_df is not None else _events_table(result, locs, found)
    csv_df = df.merge(dl, on="event_id", how="left") if len(dl) else df.copy()
    csv_df["time"] = _iso(df.time.to_numpy("datetime64[ns]"))
    csv_df["assoc_time"] = _iso(df.assoc_time.to_numpy("datetime64[ns]"))
    with atomic_path(outputs[1]) as tmp:
        csv_df.to_csv(tmp, index=False, float_format="%.6f")
    pdf = _picks_table(result, mags)
    with atomic_path(outputs[2]) as tmp:
        pdf.to_csv(tmp, index=False, float_format="%.6g")
    if figures:
        outputs.extend(_figures(out_dir, stations, df))
    return outputs


def _events_table(result, locs, found, mags=None):
    """One row per event (the preferred hypocentre), with its local magnitude where known:
    ``magnitude, magnitude_type, n_magnitude_stations, magnitude_uncertainty``."""
    df = detection.add_to_table(events_dataframe(result, locs), *found)
    cols = ["magnitude", "magnitude_type", "n_magnitude_stations", "magnitude_uncertainty"]
    if mags is not None and len(mags.network):
        df = df.merge(mags.network[["event_id", *cols]], on="event_id", how="left")
    else:
        for c in cols:
            df[c] = "" if c == "magnitude_type" else np.nan
    return df


def _picks_table(result, mags):
    """The picks with ``event_id`` and residuals, and per pick the Wood-Anderson amplitude
    (largest over the station's measured channels, mm) and station ML of its event."""
    pdf = result.picks_dataframe()
    pdf["time"] = _iso(result.picks.time)
    pdf["wa_amplitude_mm"] = np.nan
    pdf["station_ml"] = np.nan
    if mags is None or mags.amplitudes.empty:
        return pdf
    a = mags.amplitudes.assign(
        station_id=mags.amplitudes.network
        + "."
        + mags.amplitudes.station
        + "."
        + mags.amplitudes.location
    )
    amp = a.groupby(["event_id", "station_id"]).amplitude_mm.max()
    ml = mags.stations.set_index(["event_id", "station_id"]).magnitude
    sid = pdf.network + "." + pdf.station + "." + pdf.location.fillna("")
    keys = list(zip(pdf.event_id, sid, strict=True))
    pdf["wa_amplitude_mm"] = [amp.get(k, np.nan) for k in keys]
    pdf["station_ml"] = [ml.get(k, np.nan) for k in keys]
    return pdf


def _figures(out_dir: Path, stations, df) -> list[Path]:
    """map.png (epicentres, two depth sections, magnitude-sized symbols), magnitude_time.png
    and frequency_magnitude.png (b-value and Mc from 50 events on) when there are magnitudes."""
    from ... import figures as fig
    from ... import magnitude

    out = [fig.plot_catalogue_map(out_dir / "map.png", stations, df)]
    mags = df["magnitude"].to_numpy(np.float64) if "magnitude" in df else np.array([])
    if np.isfinite(mags).any():
        out.append(
            magnitude.plot_magnitude_time(
                df.time.to_numpy("datetime64[ns]"), mags, out_dir / "magnitude_time.png"
            )
        )
        out.append(magnitude.plot_frequency_magnitude(mags, out_dir / "frequency_magnitude.png"))
    return out


def _counts(tasks, statuses, file_errors: list[str], messages: list[str]) -> dict:
    """What the run left out, counted, and every note of the run."""
    files = {f for t in tasks for f in t.get("files", ())}
    files |= {m.split(": ", 1)[0] for m in file_errors}
    about_files = [m for m in messages if m.split(": ", 1)[0] in files]
    return {
        "n_tasks_no_data": sum(s["status"] == "no_data" for s in statuses),
        "n_tasks_failed": sum(s["status"] == "failed" for s in statuses),
        "n_files_unreadable": len({m.split(": ", 1)[0] for m in about_files if _unreadable(m)}),
        "n_files_damaged": len({m.split(": ", 1)[0] for m in about_files if not _unreadable(m)}),
        "n_stations_skipped": sum(m.endswith("; skipped") for m in messages),
        "n_events_not_relocated": sum(": not relocated (" in m for m in messages),
        "n_notes": len(messages),
        "notes": messages,
    }


def _unreadable(file_message: str) -> bool:
    """Whether a message about a file says it could not be read at all (not a warning)."""
    return ": warning: " not in file_message


def _summary(tasks, statuses, picks, result, locs, timings, client) -> dict:
    return {
        "n_tasks": len(tasks),
        "n_tasks_run": sum(s["status"] != "skipped" for s in statuses),
        "n_tasks_skipped": sum(s["status"] == "skipped" for s in statuses),
        "n_picks": len(picks),
        "n_p": int((picks.phase == "P").sum()),
        "n_s": int((picks.phase == "S").sum()),
        "n_events": len(result.events),
        "n_relocated": len(locs),
        "n_associated_picks": int((result.event_id >= 0).sum()),
        "null_test": result.null_test_report(),
        "time_s": {k: round(v, 3) for k, v in timings.items()},
        "scheduler": "dask" if client is not None else "local",
    }


def format_summary(summary: dict) -> str:
    s = summary
    times = ", ".join(f"{k[:-2]} {v:.1f} s" for k, v in s["time_s"].items())
    left_out = [
        f"{s[key]} {what}"
        for key, what in (
            ("n_tasks_no_data", "station-days without usable data"),
            ("n_tasks_failed", "station-days the picker refused"),
            ("n_files_unreadable", "unreadable files"),
            ("n_files_damaged", "damaged files"),
            ("n_stations_skipped", "station records skipped"),
        )
        if s.get(key)
    ]
    notes = f"; {', '.join(left_out)}" if left_out else ""
    if s.get("n_notes"):
        notes += f" ({s['n_notes']} notes, in summary.json)"
    null = (s.get("null_test") or {}).get("line")  # the association's null test, when run
    return (
        f"{s['n_picks']} picks ({s['n_p']} P, {s['n_s']} S) from {s['n_tasks']} station-days "
        f"({s['n_tasks_skipped']} already done){notes}; {s['n_events']} events, "
        f"{s['n_relocated']} relocated; "
        f"{times}" + (f"\n{null}" if null else "")
    )
