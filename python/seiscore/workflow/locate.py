"""The location job behind ``seiscore-locate``: waveforms (or saved onsets) + stations + velocity
model (or NonLinLoc grids) + grid → events CSV, QuakeML and one figure per event.

Steps: read the stations, make the grid (given bounds, or the network's bounding box plus a
margin; or the NonLinLoc grids' own), build the travel-time table for the model (covering every
station-node distance), compute or load the per-station travel-time grids (``--tt-file``
caches them on disk and refuses stale ones; ``--nll-grids`` reads NonLinLoc's), compute the
onsets (QuakeMigrate's STA/LTA recipe, or PhaseNet probabilities), scan (detection statistic →
one event per peak, side lobes and events on the grid's boundary left out → locations), write
the outputs: ``events.csv`` (with the detection ``statistic`` and ``on_edge``), ``events.xml``,
``coalescence.npz`` (the detection trace), ``edge_detections.csv`` when events on the boundary
were left out, ``figures/``.

The library pieces live in the stage (:mod:`seiscore.location`: onsets, migration, detection,
location, :func:`~seiscore.location.make_grid`, :func:`~seiscore.location.plot_location`) and
the io layer (:mod:`seiscore.io.catalog`: CSV and QuakeML); this module only composes them.
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
from ..io.atomic import atomic_path
from ..io.catalog import locations_to_catalog

__all__ = ["LocateJobResult", "run_locate_job"]


@dataclass
class LocateJobResult:
    locations: Locations
    triggers: object = None
    coalescence: object = None
    grid: Grid3D | None = None
    messages: list[str] = field(default_factory=list)
    outputs: list[Path] = field(default_factory=list)


# ------------------------------------------------------------------------------ grid, model


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
            f"{', '.join(stations.ids[i] for i in far[:6])}); check their coordinates, "
            "enlarge the grid, or allow it with --station-margin"
        )
    near = np.flatnonzero(out > 0)
    if near.size:
        messages.append(
            f"{near.size} station(s) outside the grid (kept): "
            + ", ".join(f"{stations.ids[i]} ({out[i]:.2f} km)" for i in near[:8])
        )


def _velocity_model(model, homogeneous) -> ttm.VelocityModel:
    if (model is None) == (homogeneous is None):
        raise InputError(
            "give a velocity model file, a homogeneous model (vp, vs) or NonLinLoc grids, "
            "exactly one of them"
        )
    if model is not None:
        return ttm.VelocityModel.from_file(model)
    return ttm.VelocityModel.homogeneous(*homogeneous)


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
            f"station {stations.ids[bad[0]]} is {d[bad[0]]:.2f} km from the farthest grid node, "
            f"beyond --max-distance {max_distance_km:g} km ({len(bad)} station(s))"
        )
    zmin = min(0.0, float(gz[0])) - step_z
    zmax = float(gz[-1]) + step_z
    return ttm.build_table(model, max_distance_km, zmax, step_d, step_z, min_depth_km=zmin)


# ----------------------------------------------------------------------------------- onsets


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


def _read_stream(inputs, t0, t1, messages) -> obspy.Stream:
    """The waveform files under ``inputs``, cut to the scan window plus 5 s on each side."""
    if not inputs:
        raise InputError("no waveform INPUT given (files or folders), and no --onsets file")
    paths = wio.find_waveform_files(inputs, messages=messages)
    if not paths:
        raise InputError(f"no waveform files found in {list(map(str, inputs))}")
    pad = 5.0
    stream, errs = wio.read_waveform_files(
        paths, starttime=t0 - pad if t0 else None, endtime=t1 + pad if t1 else None
    )
    messages.extend(errs)
    if len(stream) == 0:
        raise InputError("no waveform data in the requested time range")
    return stream


def _compute_onsets(
    stream, stations: Stations, onset: str, stalta: dict, device, workers, messages
):
    """(onsets, waveforms) from the stream: STA/LTA (settings ``stalta``) or PhaseNet."""
    if onset == "stalta":
        waveforms, msgs = wio.to_waveforms(stream, require=())
        messages.extend(msgs)
        return loc.stalta_onsets(waveforms, stations, **stalta), waveforms
    if onset == "phasenet":
        from .. import picking
        from ..models import load_model

        m = load_model("phasenet", device="cuda" if device == "cuda" else "cpu", threads=workers)
        waveforms, msgs = wio.to_waveforms(
            stream, sampling_rate=m.card.sampling_rate, components=m.card.channel_order
        )
        messages.extend(msgs)
        return loc.onsets_from_annotations(picking.annotate(waveforms, m), stations), waveforms
    raise InputError(f"onset: expected 'stalta' or 'phasenet', got {onset!r}")


# ---------------------------------------------------------------------------- travel times


def _travel_time_grids(
    table, vmodel, stations, grid, onsets, *, tt_file, max_memory_gb, device, workers, messages
):
    """Per-station travel-time grids in samples at the onsets' rate: loaded from ``tt_file``
    when it exists (and fits), else computed (and saved there when given)."""
    fs = onsets.sampling_rate
    if tt_file is not None and Path(tt_file).exists():
        grids = ttm.load_grids(
            tt_file,
            grid=grid,
            stations=stations,
            model=vmodel.name,
            phases=onsets.phases,
            sampling_rate=fs,
        )
        messages.append(f"travel times loaded from {tt_file}")
        if grids.times is not None:
            return grids.times
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
            tt_file, tt, grid, stations, phases=onsets.phases, model=vmodel.name, sampling_rate=fs
        )
        messages.append(f"travel times saved to {tt_file}")
    return tt


# --------------------------------------------------------------------------------- outputs


def _events_table(locs: Locations, trig):
    """The events as a DataFrame: the locations with the detection statistic and the edge
    flag of their triggers."""
    df = locs.to_dataframe()
    df["time"] = np.datetime_as_string(
        locs.time.astype("datetime64[us]"), unit="us", timezone="UTC"
    )
    if trig is not None and len(trig) == len(locs):
        df["statistic"] = trig.statistic
        df["on_edge"] = trig.on_edge
    return df


def _write_outputs(result: LocateJobResult, out_dir: Path, edge) -> None:
    """events.csv, events.xml, coalescence.npz and (when events on the grid's boundary were
    left out) edge_detections.csv."""
    locs, coa = result.locations, result.coalescence
    out_dir.mkdir(parents=True, exist_ok=True)
    with atomic_path(out_dir / "events.csv") as tmp:
        _events_table(locs, result.triggers).to_csv(tmp, index=False, float_format="%.6g")
    result.outputs.append(out_dir / "events.csv")
    qml = out_dir / "events.xml"
    with atomic_path(qml) as tmp:
        locations_to_catalog(locs).write(str(tmp), format="QUAKEML")
    result.outputs.append(qml)
    if coa is not None:
        extra = {
            k: getattr(coa, k)
            for k in ("statistic", "background", "noise")
            if getattr(coa, k) is not None
        }
        with atomic_path(out_dir / "coalescence.npz") as tmp:
            np.savez(
                tmp,
                starttime=str(coa.starttime),
                sampling_rate=coa.sampling_rate,
                max_coa=coa.max_coa,
                norm_coa=coa.norm_coa,
                max_node=coa.max_node,
                **extra,
            )
        result.outputs.append(out_dir / "coalescence.npz")
    if edge is not None and len(edge):
        _write_edge(out_dir / "edge_detections.csv", edge, result.grid)
        result.outputs.append(out_dir / "edge_detections.csv")


def _write_edge(path: Path, edge, grid: Grid3D) -> None:
    """The detections left out because their maximum lies on the grid's boundary."""
    import pandas as pd

    xyz = grid.node_xyz(edge.node)
    lat, lon = geo.unproject(xyz[:, 0], xyz[:, 1], *grid.reference)
    df = pd.DataFrame(
        {
            "time": np.datetime_as_string(
                edge.time.astype("datetime64[us]"), unit="us", timezone="UTC"
            ),
            "statistic": edge.statistic,
            "node_latitude": lat,
            "node_longitude": lon,
            "node_depth_km": xyz[:, 2],
        }
    )
    with atomic_path(path) as tmp:
        df.to_csv(tmp, index=False, float_format="%.6g")


def _write_figures(
    result: LocateJobResult, out_dir: Path, details, stations, onsets, table, waveforms
) -> None:
    """figures/event_NNNN.png, one per located event; a figure that cannot be drawn is a
    note, never the end of the run."""
    locs = result.locations
    fig_dir = out_dir / "figures"
    fig_dir.mkdir(exist_ok=True)
    for i, det in enumerate(details):
        name = fig_dir / f"event_{int(locs.event_id[i]):04d}.png"
        try:
            result.outputs.append(
                loc.plot_location(
                    name, locs, i, det, result.grid, stations, onsets, table, waveforms
                )
            )
        except Exception as exc:  # a figure is a by-product: say why it is missing
            result.messages.append(f"{name.name}: figure not drawn ({type(exc).__name__}: {exc})")


# ------------------------------------------------------------------------------------- job


def _grid_and_model(stations, model, homogeneous, nll_grids, grid_kw: dict, messages):
    """(grid, velocity model or None, NonLinLoc grids or None): NonLinLoc grids bring their
    own grid unless bounds are given; a model makes one around the stations."""
    if nll_grids is not None:
        if model is not None or homogeneous is not None:
            raise InputError("give a velocity model or NonLinLoc grids, not both")
        nll = ttm.read_nonlinloc(nll_grids, stations=stations)
        if grid_kw["bounds"] is None:
            grid = ttm.grid_from_nonlinloc(nll)
            messages.append(f"grid of the NonLinLoc grids: {'x'.join(map(str, grid.shape))}")
        else:
            grid = loc.make_grid(stations, **grid_kw)
        return grid, None, nll
    vmodel = _velocity_model(model, homogeneous)
    return loc.make_grid(stations, **grid_kw), vmodel, None


def _default_threshold(threshold, statistic: str) -> float:
    if threshold is not None:
        return float(threshold)
    if statistic == "background":
        return loc.DEFAULT_THRESHOLD
    if statistic == "normalised":
        return 2.0
    raise InputError(f"give a threshold for the {statistic!r} statistic")


def _onsets_for(inputs, onsets_file, stations, onset, stalta, t0, t1, device, workers, messages):
    """(onsets, waveforms or None): loaded from ``onsets_file`` or computed from the inputs."""
    if onsets_file is not None:
        return _reorder_onsets(loc.Onsets.load(onsets_file), stations, messages), None
    stream = _read_stream(inputs, t0, t1, messages)
    return _compute_onsets(stream, stations, onset, stalta, device, workers, messages)


def run_locate_job(
    inputs,
    stations_file,
    output_dir,
    *,
    model=None,
    homogeneous=None,
    nll_grids=None,
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
    threshold: float | None = None,
    statistic: str = "background",
    background_s: float = loc.DEFAULT_BACKGROUND_S,
    keep_edge: bool = False,
    chunk_s: float | None = None,
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
    """Run the whole location job; see the module docstring. Returns what was found and written.

    ``threshold`` defaults to :data:`seiscore.location.DEFAULT_THRESHOLD` for the ``"background"``
    statistic (2.0 for QuakeMigrate's ``"normalised"``)."""
    # long function: the job's steps in order, each one call
    messages: list[str] = []
    out_dir = Path(output_dir)
    threshold = _default_threshold(threshold, statistic)
    stations = sio.read_stations(stations_file)
    grid_kw = dict(
        bounds=grid_bounds, depth_km=depth_km, spacing_km=spacing_km, margin_km=margin_km
    )
    grid, vmodel, nll = _grid_and_model(stations, model, homogeneous, nll_grids, grid_kw, messages)
    _check_stations_near_grid(stations, grid, station_margin_km, messages)
    ttm.check_grid_memory(grid.n_nodes, len(stations), 2, 4, max_memory_gb)
    t0 = obspy.UTCDateTime(starttime) if starttime is not None else None
    t1 = obspy.UTCDateTime(endtime) if endtime is not None else None
    stalta = dict(
        sampling_rate=sampling_rate, bandpass=bandpass, windows=windows, position=position
    )
    onsets, waveforms = _onsets_for(
        inputs, onsets_file, stations, onset, stalta, t0, t1, device, workers, messages
    )
    if nll is not None:
        table = None
        tt = ttm.nonlinloc_station_grids(
            nll, grid, stations, sampling_rate=onsets.sampling_rate, phases=onsets.phases
        )
    else:
        table = _table_for(vmodel, stations, grid, max_distance_km)
        tt = _travel_time_grids(
            table,
            vmodel,
            stations,
            grid,
            onsets,
            tt_file=tt_file,
            max_memory_gb=max_memory_gb,
            device=device,
            workers=workers,
            messages=messages,
        )
    res = loc.scan(
        onsets,
        tt,
        grid,
        threshold=threshold,
        statistic=statistic,
        background_s=background_s,
        keep_edge=keep_edge,
        chunk_s=chunk_s,
        min_separation_s=min_separation_s,
        marginal_window_s=marginal_window_s,
        starttime=t0,
        endtime=t1,
        table=table,
        stations=stations,
        device=device,
        workers=workers,
        full=True,
    )
    messages.extend(res.messages)
    result = LocateJobResult(
        locations=res.locations,
        triggers=res.triggers,
        coalescence=res.coalescence,
        grid=grid,
        messages=messages,
    )
    _write_outputs(result, out_dir, res.edge)
    if plots and len(res.locations):
        _write_figures(result, out_dir, res.details, stations, onsets, table, waveforms)
    return result
