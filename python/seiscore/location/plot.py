"""Figures of located events: coalescence slices through the hypocentre and the record section
aligned on the predicted P arrival (:func:`plot_location`). Matplotlib is imported on use."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .. import geo
from ..containers import Grid3D, Locations, Stations
from ..traveltime import travel_times
from .onsets import _StationMatcher

__all__ = ["plot_location"]


def plot_location(
    path,
    locs: Locations,
    i: int,
    detail,
    grid: Grid3D,
    stations: Stations,
    onsets,
    table=None,
    waveforms=None,
) -> Path:
    """One PNG per event: coalescence slices through the hypocentre (map view with the stations,
    and two depth sections), and the waveforms (or onsets) aligned on the predicted P arrival,
    with the predicted S arrival marked."""
    import warnings

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from obspy import UTCDateTime

    sx, sy = geo.project(stations.latitude, stations.longitude, *grid.reference)
    fig = plt.figure(figsize=(13, 9))
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore", RuntimeWarning)
            warnings.simplefilter("ignore", UserWarning)  # e.g. tight_layout, empty axes
            axes = [fig.add_subplot(2, 3, k) for k in (1, 2, 3)]
            ax_w = fig.add_subplot(2, 1, 2)
            _plot_slices(axes, locs, i, detail, grid, stations, sx, sy)
            origin = UTCDateTime(ns=int(locs.time[i].astype("datetime64[ns]").astype(np.int64)))
            _plot_record_section(ax_w, locs, i, origin, stations, sx, sy, onsets, table, waveforms)
            fig.suptitle(
                f"event {int(locs.event_id[i])}: {origin}  lat {locs.latitude[i]:.5f}  "
                f"lon {locs.longitude[i]:.5f}  depth {locs.depth_km[i]:.3f} km  "
                f"coalescence {locs.coherence[i]:.3g} (norm {locs.coherence_norm[i]:.3g})"
            )
            fig.tight_layout()
            path = Path(path)
            fig.savefig(path, dpi=100)
    finally:
        plt.close(fig)
    return path


def _edges(axis: np.ndarray, spacing: float) -> np.ndarray:
    """Cell edges around the nodes of one grid axis (a single node gets a cell of one
    spacing)."""
    return np.concatenate([axis - 0.5 * spacing, [axis[-1] + 0.5 * spacing]])


def _plot_slices(axes, locs: Locations, i: int, detail, grid: Grid3D, stations, sx, sy) -> None:
    """Map view at the best node's depth (with the stations) and the x-depth and y-depth
    sections through it, the hypocentre starred."""
    ax_map, ax_xz, ax_yz = axes
    vol = np.nan_to_num(np.asarray(detail.volume, np.float64), nan=0.0)
    ix, iy, iz = np.unravel_index(detail.node, grid.shape)
    gx, gy, gz = grid.axes()
    ex, ey, ez = (_edges(a, d) for a, d in zip(grid.axes(), grid.spacing_km, strict=True))
    kw = dict(cmap="viridis", vmin=0, vmax=1, shading="flat")
    ax_map.pcolormesh(ex, ey, vol[:, :, iz].T, **kw)
    ax_map.plot(sx, sy, "k^", ms=6)
    for k, sid in enumerate(stations.ids):
        ax_map.annotate(
            sid.split(".")[1], (sx[k], sy[k]), fontsize=6, xytext=(2, 2), textcoords="offset points"
        )
    ax_map.plot(locs.x_km[i], locs.y_km[i], "r*", ms=12)
    ax_map.set(xlabel="x (km east)", ylabel="y (km north)", title=f"depth {gz[iz]:.2f} km")
    ax_map.set_aspect("equal", adjustable="datalim")
    ax_xz.pcolormesh(ex, ez, vol[:, iy, :].T, **kw)
    ax_xz.plot(locs.x_km[i], locs.depth_km[i], "r*", ms=12)
    ax_xz.invert_yaxis()
    ax_xz.set(xlabel="x (km)", ylabel="depth (km)", title=f"y = {gy[iy]:.2f} km")
    ax_yz.pcolormesh(ey, ez, vol[ix, :, :].T, **kw)
    ax_yz.plot(locs.y_km[i], locs.depth_km[i], "r*", ms=12)
    ax_yz.invert_yaxis()
    ax_yz.set(xlabel="y (km)", ylabel="depth (km)", title=f"x = {gx[ix]:.2f} km")


def _predicted_times(table, d, depth_km, stations: Stations):
    """Predicted P and S travel times (s) to each station (None without a table / an S phase);
    a depth outside the table is taken at its nearest end, and NaN marks a station the table
    does not reach."""
    if table is None or not np.isfinite(depth_km):
        return None, None
    z = float(np.clip(depth_km, table.depth_km[0], table.depth_km[-1]))
    d = np.clip(np.asarray(d, np.float64), 0.0, float(table.distance_km[-1]))
    elev = np.where(np.isfinite(stations.elevation_m), stations.elevation_m, 0.0)
    tp = travel_times(table, "P", d, z, elev)
    ts = travel_times(table, "S", d, z, elev) if "S" in table.phases else None
    return tp, ts


def _waveforms_by_station(waveforms, stations: Stations) -> dict:
    """The first waveform of each station row, by station id."""
    matcher = _StationMatcher(stations)
    wmap = {}
    for w in waveforms or []:
        row = matcher.get(w.id)
        if row is not None:
            wmap.setdefault(stations.ids[row], w)
    return wmap


def _station_trace(sid: str, p_time, span: float, onsets, wmap: dict):
    """Times (s after the predicted P) and values of a station's vertical waveform (or largest
    onset) within ``-0.3 span .. span``; None when nothing falls there."""
    w = wmap.get(sid)
    if w is not None:
        c = w.components.index("Z") if "Z" in w.components else 0
        t = w.times() + (w.starttime - p_time)
        y = w.data[c].astype(np.float64)
    else:
        s = list(onsets.station_ids).index(sid) if sid in onsets.station_ids else None
        if s is None:
            return None
        t = np.arange(onsets.n_samples) / onsets.sampling_rate + (onsets.starttime - p_time)
        y = onsets.data[s].max(axis=0).astype(np.float64)
    sel = (t > -0.3 * span) & (t < span)
    if not sel.any():
        return None
    return t[sel], y[sel]


def _plot_record_section(
    ax_w, locs: Locations, i: int, origin, stations: Stations, sx, sy, onsets, table, waveforms
) -> None:
    """Stations by distance, each trace detrended and normalised, aligned on the predicted P
    (red tick) with the predicted S (blue tick)."""
    d = np.hypot(sx - locs.x_km[i], sy - locs.y_km[i])
    order = np.argsort(d)
    tp, ts = _predicted_times(table, d, locs.depth_km[i], stations)
    wmap = _waveforms_by_station(waveforms, stations)
    sp = np.asarray(ts - tp) if ts is not None and tp is not None else np.array([np.nan])
    sp = sp[np.isfinite(sp)]
    span = 3.0 * (float(sp.max()) if sp.size else 1.0) + 0.5
    for rank, k in enumerate(order):
        sid = stations.ids[k]
        if (
            sid in onsets.station_ids
            and not onsets.available[list(onsets.station_ids).index(sid)].any()
        ):
            continue  # no data
        if tp is not None and not np.isfinite(tp[k]):
            continue  # no predicted arrival at this station
        p_time = origin + (float(tp[k]) if tp is not None else 0.0)
        found = _station_trace(sid, p_time, span, onsets, wmap)
        if found is None:
            continue
        tw, y = found
        good = np.isfinite(y)
        if good.sum() > 2:  # remove a linear trend (raw counts drift)
            y = y - np.polyval(np.polyfit(tw[good], y[good], 1), tw)
        good = np.isfinite(y)
        scale = float(np.max(np.abs(y[good]))) if good.any() else 1.0
        scale = scale if scale > 0 else 1.0
        ax_w.plot(tw, rank + 0.45 * y / scale, "k", lw=0.5)
        ax_w.plot([0, 0], [rank - 0.4, rank + 0.4], color="tab:red", lw=1.5)
        if ts is not None and np.isfinite(ts[k]):
            ax_w.plot([ts[k] - tp[k]] * 2, [rank - 0.4, rank + 0.4], color="tab:blue", lw=1.5)
    ax_w.set_yticks(range(len(order)))
    ax_w.set_yticklabels([f"{stations.ids[k]} {d[k]:.1f} km" for k in order], fontsize=7)
    ax_w.set_xlabel("seconds after the predicted P arrival (red: P, blue: predicted S)")
