"""seiscore run: a record section per event (``[output] plot_events = true``,
``seiscore run --plot-events``): the vertical records sorted by distance, with the associated
picks and the P and S times predicted from the located hypocentre."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ... import figures, geo
from ... import traveltime as ttm
from ...io.sources import open_source, read_window, source_ids

__all__ = ["record_sections"]

PRE_S, POST_S = 5.0, 10.0


def _event_picks(result, eid: int, dist_of: dict, t0) -> list:
    out = []
    for k in np.flatnonzero(result.event_id == eid):
        sid = f"{result.picks.network[k]}.{result.picks.station[k]}.{result.picks.location[k]}"
        if sid in dist_of:
            t = (result.picks.time[k] - t0) / np.timedelta64(1, "ns") * 1e-9
            out.append((dist_of[sid], float(t), str(result.picks.phase[k])))
    return out


def record_sections(
    cfg, result, events_df, stations, velocity, out_dir: Path, source=None
) -> list[Path]:
    """One PNG per event in ``<out_dir>/events/``; returns their paths."""
    import obspy

    inp = cfg["input"]
    if source is None:
        source = open_source(inp["sds"], sds=True) if inp["sds"] else open_source(inp["waveforms"])
    ids = [i for i in source_ids(source) if i[-1] in "Z3U"]
    folder = out_dir / "events"
    folder.mkdir(exist_ok=True)
    d_all = []
    for ev in events_df.itertuples(index=False):
        x, y = geo.project(stations.latitude, stations.longitude, ev.latitude, ev.longitude)
        d_all.append(np.hypot(x, y))
    far = float(np.max(d_all)) + 5.0 if d_all else 10.0
    table = ttm.build_table(
        velocity,
        far,
        max(float(events_df.depth_km.max()), 1.0) + 5.0,
        min_depth_km=min(0.0, float(events_df.depth_km.min())) - 2.0,
    )
    paths = []
    for ev, d in zip(events_df.itertuples(index=False), d_all, strict=True):
        t0 = np.datetime64(ev.time, "ns")
        origin = obspy.UTCDateTime(str(t0))
        dist_of = dict(zip(stations.ids, d, strict=True))
        tt = {ph: ttm.travel_times(table, ph, d, np.full(len(d), ev.depth_km),
                                   stations.elevation_m) for ph in ("P", "S")}  # fmt: skip
        t_end = float(np.nanmax(tt["S"])) + POST_S if np.isfinite(tt["S"]).any() else 60.0
        st, _ = read_window(source, ids, origin - PRE_S, origin + t_end)
        traces = []
        for tr in st.merge(method=1, fill_value=None) if len(st) else []:
            sid = tr.id.rsplit(".", 1)[0]
            if sid in dist_of:
                data = np.ma.filled(np.ma.asarray(tr.data, dtype=np.float64), np.nan)
                data = data - np.nanmean(data)
                traces.append(
                    (
                        tr.stats.station,
                        dist_of[sid],
                        tr.stats.starttime - origin,
                        tr.stats.sampling_rate,
                        data,
                    )
                )
        predicted = [(dist_of[sid], float(tt[ph][k]), ph) for ph in ("P", "S")
                     for k, sid in enumerate(stations.ids) if np.isfinite(tt[ph][k])]  # fmt: skip
        title = (
            f"event {ev.event_id}  {str(t0)[:22]}  {ev.latitude:.4f}, {ev.longitude:.4f}, "
            f"{ev.depth_km:.1f} km"
        )
        if np.isfinite(getattr(ev, "magnitude", np.nan)):
            title += f"  ML {ev.magnitude:.1f}"
        picks = _event_picks(result, int(ev.event_id), dist_of, t0)
        path = folder / f"event_{int(ev.event_id):05d}.png"
        paths.append(figures.plot_record_section(path, traces, picks, predicted, title))
    return paths
