"""The location job behind ``seiscore-locate``: waveforms (or saved onsets) + stations + velocity
model + grid → events CSV, QuakeML and one figure per event.

Steps: read the stations, make the grid (given bounds, or the network's bounding box plus a
margin), build the travel-time table for the model (covering every station-node distance),
compute or load the per-station travel-time grids (``--tt-file`` caches them on disk and
refuses stale ones), compute the onsets (QuakeMigrate's STA/LTA recipe, or PhaseNet
probabilities), scan (coalescence → triggers → locations), write the outputs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import obspy

from .. import geo
from .. import location as loc
from .. import traveltime as ttm
from ..containers import Grid3D, Locations, Stations
from ..exceptions import InputError
from ..io import stations as sio
from ..io import waveforms as wio

__all__ = [
    "LocateJobResult",
    "locations_to_catalog",
    "make_grid",
    "plot_location",
    "run_locate_job",
    "write_locations_csv",
]


@dataclass
class LocateJobResult:
    locations: Locations
    triggers: object = None
    coalescence: object = None
    grid: Grid3D | None = None
    messages: list[str] = field(default_factory=list)
    outputs: list[Path] = field(default_factory=list)


# ------------------------------------------------------------------------------------ grid


def make_grid(
    stations: Stations,
    *,
    bounds=None,
    depth_km=(0.0, 20.0),
    spacing_km=1.0,
    margin_km: float = 5.0,
) -> Grid3D:
    """A regular grid in local km around its centre.

    ``bounds = (lat_min, lat_max, lon_min, lon_max)`` in degrees, or None for the stations'
    bounding box widened by ``margin_km`` on each side. ``depth_km = (top, bottom)`` km below
    sea level; ``spacing_km`` a number or ``(dx, dy, dz)``. The reference point (x = y = 0) is
    the centre of the bounds; the grid covers the bounds' corners projected around it.
    """
    sp = np.broadcast_to(np.asarray(spacing_km, dtype=np.float64), (3,)).astype(float)
    if not np.all(sp > 0):
        raise InputError(f"grid spacing must be positive, got {spacing_km}")
    z0, z1 = (float(v) for v in depth_km)
    if not z1 > z0:
        raise InputError(
            f"grid depth range must be (top, bottom) with bottom > top, got {depth_km}"
        )
    if bounds is None:
        lat, lon = np.asarray(stations.latitude), np.asarray(stations.longitude)
        ref = (float(lat.mean()), float(lon.mean()))
        x, y = geo.project(lat, lon, *ref)
        xs = (float(x.min()) - margin_km, float(x.max()) + margin_km)
        ys = (float(y.min()) - margin_km, float(y.max()) + margin_km)
    else:
        lat0, lat1, lon0, lon1 = (float(v) for v in bounds)
        if not (lat1 > lat0 and lon1 > lon0):
            raise InputError(
                f"grid bounds must be lat_min < lat_max, lon_min < lon_max, got {bounds}"
            )
        ref = (0.5 * (lat0 + lat1), 0.5 * (lon0 + lon1))
        cx, cy = geo.project([lat0, lat0, lat1, lat1], [lon0, lon1, lon0, lon1], *ref)
        xs, ys = (float(cx.min()), float(cx.max())), (float(cy.min()), float(cy.max()))
    shape = tuple(
        int(math.floor((hi - lo) / d + 1e-9)) + 1 for (lo, hi), d in zip((xs, ys, (z0, z1)), sp, strict=False)
    )
    return Grid3D(origin_km=(xs[0], ys[0], z0), spacing_km=tuple(sp), shape=shape, reference=ref)


def _check_stations_near_grid(
    stations: Stations, grid: Grid3D, station_margin_km: float | None, messages
):
    x, y = geo.project(stations.latitude, stations.longitude, *grid.reference)
    gx, gy = grid.axes()[0], grid.axes()[1]
    dx = np.maximum(0, np.maximum(gx[0] - x, x - gx[-1]))
    dy = np.maximum(0, np.maximum(gy[0] - y, y - gy[-1]))
    out = np.hypot(dx, dy)
    if station_margin_km is None:
        station_margin_km = 0.5 * math.hypot(gx[-1] - gx[0], gy[-1] - gy[0])
    far = np.flatnonzero(out > station_margin_km)
    if far.size:
        worst = far[np.argmax(out[far])]
        raise InputError(
            f"station {stations.ids[worst]} lies {out[worst]:.2f} km outside the grid "
            f"({far.size} station(s) more than {station_margin_km:.2f} km outside: "
            f"{', '.join(stations.ids[i] for i in far[:6])}); check their coordinates, enlarge the grid, "
            "or allow it with --station-margin"
        )
    near = np.flatnonzero(out > 0)
    if near.size:
        messages.append(
            f"{near.size} station(s) outside the grid (kept): "
            + ", ".join(f"{stations.ids[i]} ({out[i]:.2f} km)" for i in near[:8])
        )


def _table_for(
    model: ttm.VelocityModel, stations: Stations, grid: Grid3D, max_distance_km: float | None
):
    x, y = geo.project(stations.latitude, stations.longitude, *grid.reference)
    gx, gy, gz = grid.axes()
    far = max(
        float(np.hypot(cx - x, cy - y).max()) for cx in (gx[0], gx[-1]) for cy in (gy[0], gy[-1])
    )
    step_d = float(np.clip(min(grid.spacing_km[:2]) / 2, 0.005, 1.0))
    step_z = float(np.clip(grid.spacing_km[2] / 2, 0.005, 1.0))
    if max_distance_km is None:
        max_distance_km = far + step_d
    elif far > max_distance_km:
        d = np.max(
            np.stack(
                [np.hypot(cx - x, cy - y) for cx in (gx[0], gx[-1]) for cy in (gy[0], gy[-1])]
            ),
            axis=0,
        )
        bad = np.flatnonzero(d > max_distance_km)
        raise InputError(
            f"station {stations.ids[bad[0]]} is {d[bad[0]]:.2f} km from the farthest grid node, beyond "
            f"--max-distance {max_distance_km:g} km ({len(bad)} station(s))"
        )
    zmin = min(0.0, float(gz[0])) - step_z
    zmax = float(gz[-1]) + step_z
    return ttm.build_table(model, max_distance_km, zmax, step_d, step_z, min_depth_km=zmin)


# ------------------------------------------------------------------------------------ outputs


def write_locations_csv(locs: Locations, path) -> Path:
    """Locations as CSV, times in ISO 8601 UTC with microseconds."""
    df = locs.to_dataframe()
    df["time"] = np.datetime_as_string(
        locs.time.astype("datetime64[us]"), unit="us", timezone="UTC"
    )
    path = Path(path)
    df.to_csv(path, index=False, float_format="%.6g")
    return path


def locations_to_catalog(
    locs: Locations, method: str = "seiscore-migration"
) -> obspy.core.event.Catalog:
    """An ObsPy Catalog: one Event with one Origin per location (depth in m below sea level,
    uncertainties from the Gaussian fit, coalescence in a comment)."""
    from obspy.core.event import (
        Catalog,
        Comment,
        CreationInfo,
        Event,
        Origin,
        OriginQuality,
        OriginUncertainty,
        QuantityError,
        ResourceIdentifier,
    )

    cat = Catalog()
    for i in range(len(locs)):
        t = obspy.UTCDateTime(ns=int(locs.time[i].astype("datetime64[ns]").astype(np.int64)))
        herr = (
            float(np.nanmax([locs.err_x_km[i], locs.err_y_km[i]]))
            if np.isfinite(locs.err_x_km[i])
            else None
        )
        origin = Origin(
            time=t,
            time_errors=QuantityError(uncertainty=float(locs.err_time_s[i]))
            if np.isfinite(locs.err_time_s[i])
            else None,
            latitude=float(locs.latitude[i]),
            longitude=float(locs.longitude[i]),
            depth=float(locs.depth_km[i]) * 1000.0,
            depth_errors=QuantityError(uncertainty=float(locs.err_z_km[i]) * 1000.0)
            if np.isfinite(locs.err_z_km[i])
            else None,
            origin_uncertainty=OriginUncertainty(
                horizontal_uncertainty=herr * 1000.0, preferred_description="horizontal uncertainty"
            )
            if herr is not None
            else None,
            method_id=ResourceIdentifier(f"smi:local/{method}"),
            evaluation_mode="automatic",
            quality=OriginQuality(used_station_count=int(max(locs.n_p[i], locs.n_s[i]))),
            creation_info=CreationInfo(agency_id="seiscore"),
        )
        origin.comments.append(
            Comment(
                text=(
                    f"coalescence={float(locs.coherence[i]):.4g} normalised={float(locs.coherence_norm[i]):.4g} "
                    f"err_xyz_km={float(locs.err_x_km[i]):.3g},{float(locs.err_y_km[i]):.3g},{float(locs.err_z_km[i]):.3g} "
                    f"cov_xyz_km={float(locs.cov_x_km[i]):.3g},{float(locs.cov_y_km[i]):.3g},{float(locs.cov_z_km[i]):.3g}"
                )
            )
        )
        ev = Event(
            resource_id=ResourceIdentifier(f"smi:local/event/{int(locs.event_id[i])}"),
            origins=[origin],
        )
        ev.preferred_origin_id = origin.resource_id
        cat.append(ev)
    return cat


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
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    vol = detail.volume
    ix, iy, iz = np.unravel_index(detail.node, grid.shape)
    gx, gy, gz = grid.axes()
    sx, sy = geo.project(stations.latitude, stations.longitude, *grid.reference)
    fig = plt.figure(figsize=(13, 9))
    ax_map = fig.add_subplot(2, 3, 1)
    ax_xz = fig.add_subplot(2, 3, 2)
    ax_yz = fig.add_subplot(2, 3, 3)
    ax_w = fig.add_subplot(2, 1, 2)
    kw = dict(cmap="viridis", vmin=0, vmax=1, shading="auto")
    ax_map.pcolormesh(gx, gy, vol[:, :, iz].T, **kw)
    ax_map.plot(sx, sy, "k^", ms=6)
    for k, sid in enumerate(stations.ids):
        ax_map.annotate(
            sid.split(".")[1], (sx[k], sy[k]), fontsize=6, xytext=(2, 2), textcoords="offset points"
        )
    ax_map.plot(locs.x_km[i], locs.y_km[i], "r*", ms=12)
    ax_map.set(xlabel="x (km east)", ylabel="y (km north)", title=f"depth {gz[iz]:.2f} km")
    ax_map.set_aspect("equal", adjustable="datalim")
    ax_xz.pcolormesh(gx, gz, vol[:, iy, :].T, **kw)
    ax_xz.plot(locs.x_km[i], locs.depth_km[i], "r*", ms=12)
    ax_xz.invert_yaxis()
    ax_xz.set(xlabel="x (km)", ylabel="depth (km)", title=f"y = {gy[iy]:.2f} km")
    ax_yz.pcolormesh(gy, gz, vol[ix, :, :].T, **kw)
    ax_yz.plot(locs.y_km[i], locs.depth_km[i], "r*", ms=12)
    ax_yz.invert_yaxis()
    ax_yz.set(xlabel="y (km)", ylabel="depth (km)", title=f"x = {gx[ix]:.2f} km")

    origin = obspy.UTCDateTime(ns=int(locs.time[i].astype("datetime64[ns]").astype(np.int64)))
    d = np.hypot(sx - locs.x_km[i], sy - locs.y_km[i])
    order = np.argsort(d)
    if table is not None:
        tp = ttm.travel_times(table, "P", d, locs.depth_km[i], stations.elevation_m)
        ts = (
            ttm.travel_times(table, "S", d, locs.depth_km[i], stations.elevation_m)
            if "S" in table.phases
            else None
        )
    else:
        tp, ts = None, None
    matcher = loc._StationMatcher(stations)
    wmap = {}
    for w in waveforms or []:
        row = matcher.get(w.id)
        if row is not None:
            wmap.setdefault(stations.ids[row], w)
    span = 3.0 * (float(np.nanmax(ts - tp)) if ts is not None and tp is not None else 1.0) + 0.5
    for rank, k in enumerate(order):
        sid = stations.ids[k]
        if (
            sid in onsets.station_ids
            and not onsets.available[list(onsets.station_ids).index(sid)].any()
        ):
            continue  # no data
        p_time = origin + (float(tp[k]) if tp is not None else 0.0)
        w = wmap.get(sid)
        if w is not None:
            c = w.components.index("Z") if "Z" in w.components else 0
            t = w.times() + (w.starttime - p_time)
            y = w.data[c].astype(np.float64)
            sel = (t > -0.3 * span) & (t < span)
        else:
            s = list(onsets.station_ids).index(sid) if sid in onsets.station_ids else None
            if s is None:
                continue
            t = np.arange(onsets.n_samples) / onsets.sampling_rate + (onsets.starttime - p_time)
            y = onsets.data[s].max(axis=0).astype(np.float64)
            sel = (t > -0.3 * span) & (t < span)
        if not sel.any():
            continue
        y, tw = y[sel], t[sel]
        good = np.isfinite(y)
        if good.sum() > 2:  # remove a linear trend (raw counts drift)
            y = y - np.polyval(np.polyfit(tw[good], y[good], 1), tw)
        scale = np.nanmax(np.abs(y)) or 1.0
        ax_w.plot(tw, rank + 0.45 * y / scale, "k", lw=0.5)
        ax_w.plot([0, 0], [rank - 0.4, rank + 0.4], color="tab:red", lw=1.5)
        if ts is not None:
            ax_w.plot([ts[k] - tp[k]] * 2, [rank - 0.4, rank + 0.4], color="tab:blue", lw=1.5)
    ax_w.set_yticks(range(len(order)))
    ax_w.set_yticklabels([f"{stations.ids[k]} {d[k]:.1f} km" for k in order], fontsize=7)
    ax_w.set_xlabel("seconds after the predicted P arrival (red: P, blue: predicted S)")
    fig.suptitle(
        f"event {int(locs.event_id[i])}: {origin}  lat {locs.latitude[i]:.5f}  lon {locs.longitude[i]:.5f}  "
        f"depth {locs.depth_km[i]:.3f} km  coalescence {locs.coherence[i]:.3g} (norm {locs.coherence_norm[i]:.3g})"
    )
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


# ------------------------------------------------------------------------------------ job


def _reorder_onsets(onsets: loc.Onsets, stations: Stations, messages) -> loc.Onsets:
    """Onsets with the rows of ``stations`` in order (unknown stations unavailable)."""
    index = {sid: i for i, sid in enumerate(onsets.station_ids)}
    data = np.zeros((len(stations), len(onsets.phases), onsets.n_samples), np.float32)
    avail = np.zeros((len(stations), len(onsets.phases)), bool)
    for k, sid in enumerate(stations.ids):
        j = index.get(sid)
        if j is not None:
            data[k] = onsets.data[j]
            avail[k] = onsets.available[j]
    extra = sorted(set(onsets.station_ids) - set(stations.ids))
    if extra:
        messages.append(
            f"onsets for stations missing from the station table are ignored: {extra[:8]}"
        )
    if not avail.any():
        raise InputError("none of the onset stations is in the station table")
    return loc.Onsets(
        data,
        avail,
        onsets.starttime,
        onsets.sampling_rate,
        tuple(stations.ids),
        onsets.phases,
        onsets.stacking,
    )


def run_locate_job(
    inputs,
    stations_file,
    output_dir,
    *,
    model=None,
    homogeneous=None,
    grid_bounds=None,
    depth_km=(0.0, 20.0),
    spacing_km=1.0,
    margin_km: float = 5.0,
    station_margin_km: float | None = None,
    max_distance_km: float | None = None,
    onsets_file=None,
    onset: str = "stalta",
    sampling_rate: float | None = None,
    bandpass=None,
    windows=None,
    position: str = "centred",
    threshold: float = 2.0,
    min_separation_s: float = 1.0,
    marginal_window_s: float = 0.5,
    starttime=None,
    endtime=None,
    tt_file=None,
    device: str = "cpu",
    max_memory_gb: float | None = None,
    plots: bool = True,
    workers: int | None = None,
) -> LocateJobResult:
    """Run the whole location job; see the module docstring. Returns what was found and written."""
    messages: list[str] = []
    out_dir = Path(output_dir)
    stations = sio.read_stations(stations_file)
    if (model is None) == (homogeneous is None):
        raise InputError(
            "give a velocity model file or a homogeneous model (vp, vs), not both or neither"
        )
    vmodel = (
        ttm.VelocityModel.from_file(model)
        if model is not None
        else ttm.VelocityModel.homogeneous(*homogeneous)
    )
    grid = make_grid(
        stations, bounds=grid_bounds, depth_km=depth_km, spacing_km=spacing_km, margin_km=margin_km
    )
    _check_stations_near_grid(stations, grid, station_margin_km, messages)
    ttm.check_grid_memory(grid.n_nodes, len(stations), 2, 4, max_memory_gb)
    t0 = obspy.UTCDateTime(starttime) if starttime is not None else None
    t1 = obspy.UTCDateTime(endtime) if endtime is not None else None

    # --- onsets
    waveforms = None
    if onsets_file is not None:
        onsets = _reorder_onsets(loc.Onsets.load(onsets_file), stations, messages)
    else:
        if not inputs:
            raise InputError("no waveform INPUT given (files or folders), and no --onsets file")
        paths = wio.find_waveform_files(inputs)
        if not paths:
            raise InputError(f"no waveform files found in {list(map(str, inputs))}")
        pad = 5.0
        stream, errs = wio.read_waveform_files(
            paths, starttime=t0 - pad if t0 else None, endtime=t1 + pad if t1 else None
        )
        messages.extend(errs)
        if len(stream) == 0:
            raise InputError("no waveform data in the requested time range")
        if onset == "stalta":
            waveforms, msgs = wio.to_waveforms(stream, require=())
            messages.extend(msgs)
            onsets = loc.stalta_onsets(
                waveforms,
                stations,
                sampling_rate=sampling_rate,
                bandpass=bandpass,
                windows=windows,
                position=position,
            )
        elif onset == "phasenet":
            from .. import picking
            from ..models import load_model

            m = load_model(
                "phasenet", device="cuda" if device == "cuda" else "cpu", threads=workers
            )
            waveforms, msgs = wio.to_waveforms(
                stream, sampling_rate=m.card.sampling_rate, components=m.card.channel_order
            )
            messages.extend(msgs)
            onsets = loc.onsets_from_annotations(picking.annotate(waveforms, m), stations)
        else:
            raise InputError(f"onset: expected 'stalta' or 'phasenet', got {onset!r}")
    fs = onsets.sampling_rate

    # --- travel times
    table = _table_for(vmodel, stations, grid, max_distance_km)
    tt = None
    if tt_file is not None and Path(tt_file).exists():
        grids = ttm.load_grids(
            tt_file,
            grid=grid,
            stations=stations,
            model=vmodel.name,
            phases=onsets.phases,
            sampling_rate=fs,
        )
        tt = grids.times
        messages.append(f"travel times loaded from {tt_file}")
    if tt is None:
        tt = ttm.station_grids(
            table,
            stations,
            grid,
            sampling_rate=fs,
            phases=onsets.phases,
            max_memory_gb=max_memory_gb,
            device=device,
            workers=workers,
        )
        if tt_file is not None:
            ttm.save_grids(
                tt_file,
                tt,
                grid,
                stations,
                phases=onsets.phases,
                model=vmodel.name,
                sampling_rate=fs,
            )
            messages.append(f"travel times saved to {tt_file}")

    # --- scan
    locs, coa, trig, details = loc.scan(
        onsets,
        tt,
        grid,
        threshold=threshold,
        min_separation_s=min_separation_s,
        marginal_window_s=marginal_window_s,
        starttime=t0,
        endtime=t1,
        table=table,
        stations=stations,
        device=device,
        workers=workers,
        return_details=True,
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    result = LocateJobResult(
        locations=locs, triggers=trig, coalescence=coa, grid=grid, messages=messages
    )
    result.outputs.append(write_locations_csv(locs, out_dir / "events.csv"))
    qml = out_dir / "events.xml"
    locations_to_catalog(locs).write(str(qml), format="QUAKEML")
    result.outputs.append(qml)
    np.savez(
        out_dir / "coalescence.npz",
        starttime=str(coa.starttime),
        sampling_rate=coa.sampling_rate,
        max_coa=coa.max_coa,
        norm_coa=coa.norm_coa,
        max_node=coa.max_node,
    )
    result.outputs.append(out_dir / "coalescence.npz")
    if plots and len(locs):
        fig_dir = out_dir / "figures"
        fig_dir.mkdir(exist_ok=True)
        for i, det in enumerate(details):
            result.outputs.append(
                plot_location(
                    fig_dir / f"event_{int(locs.event_id[i]):04d}.png",
                    locs,
                    i,
                    det,
                    grid,
                    stations,
                    onsets,
                    table,
                    waveforms,
                )
            )
    return result
