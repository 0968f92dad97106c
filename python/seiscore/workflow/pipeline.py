"""``seiscore run``: waveforms → picks → events → relocated events → catalogue.

The one module that composes several stages:

1. **pick** — station-day tasks (bundled PhaseNet). Each task writes its picks to
   ``<output>/picks/<NET.STA.LOC>_<YYYYMMDD>.csv`` and its phase probabilities to
   ``<output>/probs/<NET.STA.LOC>_<YYYYMMDD>.npz``; the CSV is written last (atomically), so a
   task whose CSV exists is finished and a rerun skips it. With a ``dask.distributed.Client``
   the tasks are submitted to the cluster; either way the picks are then read back from the
   per-task files in a fixed order, so the result does not depend on where tasks ran.
2. **associate** — :func:`seiscore.association.associate` on all picks.
3. **relocate** — per associated event, the stored probabilities of a window around its origin
   time are migrated over a 3-D grid (:func:`seiscore.location.locate`): sub-grid hypocentre,
   origin time and uncertainty.
4. **catalogue** — ``events.xml`` (QuakeML: origins, picks, arrivals), ``events.csv``,
   ``picks.csv`` (with ``event_id``), ``map.png`` and ``summary.json``.
"""

from __future__ import annotations

import json
import os
import time as _time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import obspy

from .. import association as assoc_mod
from .. import location as loc
from .. import picking
from .. import traveltime as ttm
from ..containers import Annotations, Locations, Picks, Stations
from ..exceptions import ConfigError, InputError
from ..io import catalog
from ..io import stations as sio
from ..io import waveforms as wio
from ..io.catalog import locations_to_catalog
from ..location import make_grid
from . import config as cfgmod

__all__ = ["PipelineResult", "pick_task", "plan_tasks", "run"]


@dataclass
class PipelineResult:
    picks: Picks
    association: object
    locations: Locations
    summary: dict
    outputs: list[Path] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)


# ------------------------------------------------------------------------------- pick tasks

_MODELS: dict = {}


def _model(name: str, threads):
    from ..models import load_model

    key = (name, threads)
    if key not in _MODELS:
        _MODELS[key] = load_model(name, threads=threads)
    return _MODELS[key]


def _task_name(sid: str, day) -> str:
    return f"{sid}_{day.strftime('%Y%m%d')}"


def plan_tasks(cfg: dict) -> tuple[list[dict], list[str]]:
    """Station-day tasks from ``[input]``: dicts with ``name, sid, start, end`` and either
    ``files`` or ``sds``. Returns (tasks, errors about unreadable files)."""
    inp = cfg["input"]
    t_start = obspy.UTCDateTime(inp["starttime"]) if inp["starttime"] else None
    t_end = obspy.UTCDateTime(inp["endtime"]) if inp["endtime"] else None
    tasks, errors = [], []
    if inp["sds"]:
        root = Path(inp["sds"])
        if not root.is_dir():
            raise InputError(f"input.sds: SDS archive not found: {root}")
        from obspy.clients.filesystem.sds import Client

        nslc = sorted({(n, s, lc) for n, s, lc, _ in Client(str(root)).get_all_nslc()})
        if not nslc:
            raise InputError(
                f"input.sds: {root}: no SDS data (expected YEAR/NET/STA/CHAN.D/ files)"
            )
        for n, s, lc in nslc:
            sid = f"{n}.{s}.{lc}"
            for d0, d1 in wio.iter_days(t_start, t_end):
                tasks.append(
                    {
                        "name": _task_name(sid, d0),
                        "sid": sid,
                        "start": str(d0),
                        "end": str(d1),
                        "sds": str(root),
                    }
                )
        return tasks, errors
    paths = wio.find_waveform_files(inp["waveforms"])
    index: dict[str, list] = {}
    for path in paths:
        try:
            st = obspy.read(str(path), headonly=True)
        except Exception as exc:  # ObsPy raises many types for corrupt files
            errors.append(f"{path}: cannot read waveform file ({type(exc).__name__}: {exc})")
            continue
        for tr in st:
            sid = f"{tr.stats.network}.{tr.stats.station}.{tr.stats.location}"
            e = index.setdefault(sid, [set(), tr.stats.starttime, tr.stats.endtime])
            e[0].add(str(path))
            e[1], e[2] = min(e[1], tr.stats.starttime), max(e[2], tr.stats.endtime)
    if not index:
        raise InputError(
            "input.waveforms: no readable waveform data:\n  "
            + "\n  ".join(errors or map(str, paths))
        )
    for sid, (files, t0, t1) in sorted(index.items()):
        a = max(t0, t_start) if t_start is not None else t0
        b = min(t1, t_end) if t_end is not None else t1
        if b <= a:
            continue
        for d0, d1 in wio.iter_days(a, b):
            tasks.append(
                {
                    "name": _task_name(sid, d0),
                    "sid": sid,
                    "start": str(d0),
                    "end": str(d1),
                    "files": sorted(files),
                }
            )
    return tasks, errors


def _task_paths(out_dir: Path, name: str) -> tuple[Path, Path]:
    return out_dir / "picks" / f"{name}.csv", out_dir / "probs" / f"{name}.npz"


def pick_task(task: dict, picking_cfg: dict, out_dir: str) -> dict:
    """Run one station-day task (module-level, so Dask can ship it). Returns a status dict:
    ``name``, ``status`` (``"done"``, ``"skipped"``, ``"empty"``), ``n_picks``, ``errors``."""
    out = Path(out_dir)
    csv_path, npz_path = _task_paths(out, task["name"])
    if csv_path.exists():
        return {"name": task["name"], "status": "skipped", "n_picks": None, "errors": []}
    model = _model(picking_cfg["model"], picking_cfg["threads"])
    margin = float(picking_cfg["margin_s"])
    d0, d1 = obspy.UTCDateTime(task["start"]), obspy.UTCDateTime(task["end"])
    net, sta, lc = task["sid"].split(".")
    errors: list[str] = []
    if "sds" in task:
        st = wio.read_sds(
            task["sds"], d0 - margin, d1 + margin, network=net, station=sta, location=lc
        )
    else:
        st, errs = wio.read_waveform_files(
            task["files"], starttime=d0 - margin, endtime=d1 + margin
        )
        errors.extend(errs)
        st = st.select(network=net, station=sta, location=lc)
    picks = Picks.empty()
    items = []
    if len(st):
        items, msgs = wio.to_waveforms(
            st, sampling_rate=model.card.sampling_rate, components=model.card.channel_order
        )
        if len(items) > 1:
            errors.append(
                f"{task['sid']}: several bands {[w.band for w in items]}; using {items[0].band}"
            )
            items = items[:1]
    status = "empty"
    (out / "picks").mkdir(parents=True, exist_ok=True)
    (out / "probs").mkdir(parents=True, exist_ok=True)
    if items:
        height = {}
        if picking_cfg["p_threshold"] is not None:
            height["P"] = picking_cfg["p_threshold"]
        if picking_cfg["s_threshold"] is not None:
            height["S"] = picking_cfg["s_threshold"]
        anns = picking.annotate(items, model, batch_size=picking_cfg["batch_size"])
        picks = picking.pick(
            items,
            model,
            height=height or None,
            distance_s=picking_cfg["min_distance_s"],
            annotations=anns,
        )
        lo, hi = np.datetime64(d0.ns, "ns"), np.datetime64(d1.ns, "ns")
        picks = picks.select((picks.time >= lo) & (picks.time < hi))
        a = anns[0]
        tmp = npz_path.with_suffix(".tmp.npz")
        np.savez(
            tmp,
            prob=a.prob.astype(np.float16),
            starttime=str(a.starttime),
            sampling_rate=a.sampling_rate,
            phases=np.array(a.phases),
            band=a.band,
            model=a.model,
        )
        os.replace(tmp, npz_path)
        status = "done"
    tmp = csv_path.with_suffix(".tmp")
    catalog.write_picks_csv(picks, tmp)
    os.replace(tmp, csv_path)
    return {"name": task["name"], "status": status, "n_picks": len(picks), "errors": errors}


def _run_tasks(tasks, cfg, out_dir: Path, client):
    args = (cfg["picking"], str(out_dir))
    if client is None:
        return [pick_task(t, *args) for t in tasks]
    futures = client.map(
        pick_task,
        tasks,
        picking_cfg=cfg["picking"],
        out_dir=str(out_dir),
        key=[f"pick-{t['name']}" for t in tasks],
        pure=False,
    )
    return client.gather(futures)


def _read_task_picks(tasks, out_dir: Path) -> Picks:
    tables = []
    for t in tasks:
        csv_path, _ = _task_paths(out_dir, t["name"])
        if csv_path.stat().st_size and len(csv_path.read_text().splitlines()) > 1:
            tables.append(catalog.read_picks_csv(csv_path))
    picks = Picks.concatenate(tables)
    order = np.lexsort((picks.time, picks.phase, picks.station, picks.network))
    return picks.select(order)


# ------------------------------------------------------------------------------- relocation


def _velocity(cfg):
    m = cfg["model"]
    if m["path"] is not None:
        if not Path(m["path"]).exists():
            raise InputError(f"model.path: velocity model file not found: {m['path']}")
        return ttm.VelocityModel.from_file(m["path"])
    return ttm.VelocityModel.homogeneous(m["vp"], m["vs"])


def _load_probs(tasks, out_dir: Path, stations: Stations) -> dict[str, list[Annotations]]:
    """station id → the stored probability traces of its station-days."""
    out: dict[str, list[Annotations]] = {}
    for t in tasks:
        _, npz_path = _task_paths(out_dir, t["name"])
        if not npz_path.exists():
            continue
        with np.load(npz_path) as z:
            net, sta, lc = t["sid"].split(".")
            out.setdefault(t["sid"], []).append(
                Annotations(
                    net,
                    sta,
                    lc,
                    str(z["band"]),
                    obspy.UTCDateTime(str(z["starttime"])),
                    float(z["sampling_rate"]),
                    tuple(str(p) for p in z["phases"]),
                    z["prob"],
                    str(z["model"]),
                )
            )
    return out


def _window(anns: list[Annotations], t0, t1) -> Annotations | None:
    """The part of a station's probability traces within [t0, t1] (first covering trace)."""
    for a in anns:
        fs = a.sampling_rate
        i0 = int(np.ceil((t0 - a.starttime) * fs))
        i1 = int(np.floor((t1 - a.starttime) * fs)) + 1
        i0, i1 = max(i0, 0), min(i1, a.n_samples)
        if i1 - i0 > 1:
            prob = a.prob[:, i0:i1].astype(np.float32)
            return Annotations(
                a.network,
                a.station,
                a.location,
                a.band,
                a.starttime + i0 / fs,
                fs,
                a.phases,
                prob,
                a.model,
            )
    return None


def relocate(
    events, stations: Stations, probs: dict, velocity, lcfg: dict, messages: list[str]
) -> Locations:
    """Migrate the stored probabilities around each event's origin time (see the module doc)."""
    if len(events) == 0 or not probs:
        return Locations.empty()
    extent = None if lcfg["extent"] == "auto" else tuple(lcfg["extent"])
    grid = make_grid(
        stations,
        bounds=extent,
        depth_km=tuple(lcfg["depth_km"]),
        spacing_km=lcfg["spacing_km"],
        margin_km=lcfg["margin_km"],
    )
    fs = next(iter(probs.values()))[0].sampling_rate
    from .. import geo

    x, y = geo.project(stations.latitude, stations.longitude, *grid.reference)
    gx, gy, gz = grid.axes()
    far = max(
        float(np.hypot(cx - x, cy - y).max()) for cx in (gx[0], gx[-1]) for cy in (gy[0], gy[-1])
    )
    step = float(np.clip(min(grid.spacing_km) / 2, 0.05, 1.0))
    table = ttm.build_table(
        velocity,
        far + step,
        float(gz[-1]) + step,
        step,
        step,
        min_depth_km=min(0.0, float(gz[0])) - step,
    )
    tt = ttm.station_grids(
        table, stations, grid, sampling_rate=fs, phases=("P", "S"), workers=lcfg["workers"]
    )
    max_tt = float(np.max(tt)) / fs
    search = 2.0
    rows = []
    for i in range(len(events)):
        t = obspy.UTCDateTime(ns=int(events.time[i].astype("datetime64[ns]").astype(np.int64)))
        t0 = t - search - lcfg["pre_s"]
        t1 = t + search + max_tt + lcfg["post_s"]
        anns = [w for w in (_window(a, t0, t1) for a in probs.values()) if w is not None]
        try:
            onsets = loc.onsets_from_annotations(anns, stations)
            one = loc.locate(
                onsets,
                tt,
                grid,
                [t],
                marginal_window_s=lcfg["marginal_window_s"],
                search_window_s=search,
                table=table,
                stations=stations,
                workers=lcfg["workers"],
            )
        except InputError as exc:
            messages.append(f"event {int(events.event_id[i])}: not relocated ({exc})")
            continue
        one.event_id[:] = events.event_id[i]
        rows.append(one)
    return Locations.concatenate(rows)


# ------------------------------------------------------------------------------- outputs


def _utc(t) -> obspy.UTCDateTime:
    return obspy.UTCDateTime(ns=int(np.datetime64(t, "ns").astype(np.int64)))


def _iso(times) -> np.ndarray:
    return np.datetime_as_string(
        np.asarray(times).astype("datetime64[us]"), unit="us", timezone="UTC"
    )


def build_catalog(result, locs: Locations):
    """ObsPy Catalog: per event the migration origin (preferred, when relocated) and the
    association origin, its picks and their arrivals."""
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
            ev.origins = [m_origin, a_origin]
            ev.preferred_origin_id = m_origin.resource_id
        else:
            ev.origins = [a_origin]
            ev.preferred_origin_id = a_origin.resource_id
        cat.append(ev)
    return cat


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


def plot_map(path, stations: Stations, events_df) -> Path:
    """Map of the stations (triangles) and events (circles coloured by depth)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 6))
    ax.plot(stations.longitude, stations.latitude, "k^", ms=8, label="stations")
    for k in range(len(stations)):
        ax.annotate(
            str(stations.station[k]),
            (stations.longitude[k], stations.latitude[k]),
            fontsize=7,
            xytext=(3, 3),
            textcoords="offset points",
        )
    if len(events_df):
        sc = ax.scatter(
            events_df.longitude,
            events_df.latitude,
            c=events_df.depth_km,
            cmap="viridis_r",
            s=40,
            edgecolors="k",
            label="events",
        )
        fig.colorbar(sc, ax=ax, label="depth (km)")
    ax.set(xlabel="longitude (°)", ylabel="latitude (°)", title=f"{len(events_df)} events")
    ax.legend(loc="best", fontsize=8)
    path = Path(path)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


# ------------------------------------------------------------------------------- run


def run(config, client=None, *, progress: bool = False) -> PipelineResult:
    """Run the pipeline. ``config``: a path to a TOML file or a dict (validated either way).
    ``client``: a ``dask.distributed.Client`` for the picking tasks (default: run here)."""
    cfg = _load_config(config)
    out_dir = Path(cfg["output"]["directory"])
    out_dir.mkdir(parents=True, exist_ok=True)
    messages: list[str] = []
    timings: dict[str, float] = {}

    stations = sio.read_stations(cfg["stations"]["path"])
    velocity = _velocity(cfg)

    t = _time.perf_counter()
    tasks, errors = plan_tasks(cfg)
    messages.extend(errors)
    statuses = _run_tasks(tasks, cfg, out_dir, client)
    for s in statuses:
        messages.extend(s["errors"])
    picks = _read_task_picks(tasks, out_dir)
    timings["pick_s"] = _time.perf_counter() - t

    t = _time.perf_counter()
    acfg = {
        k: (tuple(v) if isinstance(v, list) else v)
        for k, v in cfg["association"].items()
        if v is not None
    }
    result = assoc_mod.associate(picks, stations, velocity, **acfg)
    timings["associate_s"] = _time.perf_counter() - t

    t = _time.perf_counter()
    if cfg["location"]["enabled"]:
        probs = _load_probs(tasks, out_dir, stations)
        locs = relocate(result.events, stations, probs, velocity, cfg["location"], messages)
    else:
        locs = Locations.empty()
    timings["relocate_s"] = _time.perf_counter() - t

    t = _time.perf_counter()
    outputs = _write_catalogue(out_dir, result, locs, stations, cfg["output"]["figures"])
    timings["catalogue_s"] = _time.perf_counter() - t

    summary = _summary(tasks, statuses, picks, result, locs, timings, client)
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=2))
    outputs.append(out_dir / "summary.json")
    return PipelineResult(
        picks=picks,
        association=result,
        locations=locs,
        summary=summary,
        outputs=outputs,
        messages=messages,
    )


def _load_config(config) -> dict:
    if isinstance(config, (str, os.PathLike)):
        cfg = cfgmod.load(config)
    elif isinstance(config, dict):
        cfg = cfgmod.validate(config)
    else:
        raise ConfigError(f"config: expected a path or a dict, got {type(config).__name__}")
    cfgmod.check_complete(cfg)
    return cfg


def _write_catalogue(out_dir: Path, result, locs, stations, figures: bool) -> list[Path]:
    """events.xml (QuakeML), events.csv, picks.csv and (with ``figures``) map.png."""
    outputs = []
    qml = out_dir / "events.xml"
    build_catalog(result, locs).write(str(qml), format="QUAKEML")
    outputs.append(qml)
    df = events_dataframe(result, locs)
    csv_df = df.copy()
    csv_df["time"] = _iso(df.time.to_numpy("datetime64[ns]"))
    csv_df["assoc_time"] = _iso(df.assoc_time.to_numpy("datetime64[ns]"))
    csv_df.to_csv(out_dir / "events.csv", index=False, float_format="%.6f")
    outputs.append(out_dir / "events.csv")
    pdf = result.picks_dataframe()
    pdf["time"] = _iso(result.picks.time)
    pdf.to_csv(out_dir / "picks.csv", index=False, float_format="%.6g")
    outputs.append(out_dir / "picks.csv")
    if figures:
        outputs.append(plot_map(out_dir / "map.png", stations, df))
    return outputs


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
        "time_s": {k: round(v, 3) for k, v in timings.items()},
        "scheduler": "dask" if client is not None else "local",
    }


def format_summary(summary: dict) -> str:
    s = summary
    times = ", ".join(f"{k[:-2]} {v:.1f} s" for k, v in s["time_s"].items())
    return (
        f"{s['n_picks']} picks ({s['n_p']} P, {s['n_s']} S) from {s['n_tasks']} station-days "
        f"({s['n_tasks_skipped']} already done); {s['n_events']} events, "
        f"{s['n_relocated']} relocated; "
        f"{times}"
    )
