"""``seiscore run``: waveforms → picks → events → relocated events → catalogue.

The one module that composes several stages:

1. **pick** — station-day tasks (bundled PhaseNet). Each task writes its picks to
   ``<output>/picks/<NET.STA.LOC>_<YYYYMMDD>.csv`` and its phase probabilities to
   ``<output>/probs/<NET.STA.LOC>_<YYYYMMDD>.npz``; the CSV is written last (atomically), so a
   task whose CSV exists is finished and a rerun skips it. With a ``dask.distributed.Client``
   the tasks are submitted to the cluster; either way the picks are then read back from the
   per-task files in a fixed order, so the result does not depend on where tasks ran. A
   station-day without usable data (a missing SDS day, unreadable or damaged files, records
   all gaps, too short or sampled too slowly) writes nothing and gives notes naming the file
   or station; the other station-days go on, and a rerun tries it again.
2. **associate** — :func:`seiscore.association.associate` on all picks.
3. **relocate** — per associated event, the stored probabilities of a window around its origin
   time are migrated over a 3-D grid (:func:`seiscore.location.locate`): sub-grid hypocentre,
   origin time and uncertainty.
4. **catalogue** — ``events.xml`` (QuakeML: origins, picks, arrivals), ``events.csv``,
   ``picks.csv`` (with ``event_id``), ``map.png`` and ``summary.json`` (with every note of the
   run and counts of what was left out).

Every file is written atomically (:mod:`seiscore.io.atomic`): a failed or killed write leaves
the previous file, never a partial one.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import time as _time
import uuid
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
from ..io.atomic import WriteError, atomic_path, prepare_output_dir, write_text
from ..io.catalog import locations_to_catalog
from ..io.quality import screen_for_model
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


def _task(sid: str, d0, d1, **source) -> dict:
    return {"name": _task_name(sid, d0), "sid": sid, "start": str(d0), "end": str(d1), **source}


def plan_tasks(cfg: dict) -> tuple[list[dict], list[str]]:
    """Station-day tasks from ``[input]``: dicts with ``name, sid, start, end`` and either
    ``files`` or ``sds``. Returns (tasks, messages about unreadable or damaged files)."""
    inp = cfg["input"]
    t_start = obspy.UTCDateTime(inp["starttime"]) if inp["starttime"] else None
    t_end = obspy.UTCDateTime(inp["endtime"]) if inp["endtime"] else None
    if inp["sds"]:
        return _plan_sds(Path(inp["sds"]), t_start, t_end), []
    return _plan_files(inp["waveforms"], t_start, t_end)


def _plan_sds(root: Path, t_start, t_end) -> list[dict]:
    """One task per station of the archive and day of [t_start, t_end]; a station-day without
    data is found out (and reported) by its task, so that the other days still run."""
    if not root.is_dir():
        raise InputError(f"input.sds: SDS archive not found: {root}")
    from obspy.clients.filesystem.sds import Client

    nslc = sorted({(n, s, lc) for n, s, lc, _ in Client(str(root)).get_all_nslc()})
    if not nslc:
        raise InputError(f"input.sds: {root}: no SDS data (expected YEAR/NET/STA/CHAN.D/ files)")
    tasks = []
    for n, s, lc in nslc:
        sid = f"{n}.{s}.{lc}"
        for d0, d1 in wio.iter_days(t_start, t_end):
            tasks.append(_task(sid, d0, d1, sds=str(root)))
    return tasks


def _plan_files(inputs, t_start, t_end) -> tuple[list[dict], list[str]]:
    """One task per station and day that its files cover (headers only); unreadable files
    give messages naming them."""
    paths = wio.find_waveform_files(inputs)
    st, errors = wio.read_waveform_files(paths, headonly=True)
    index: dict[str, list] = {}
    for tr in st:
        sid = f"{tr.stats.network}.{tr.stats.station}.{tr.stats.location}"
        e = index.setdefault(sid, [set(), tr.stats.starttime, tr.stats.endtime])
        e[0].add(tr.stats._source)
        e[1], e[2] = min(e[1], tr.stats.starttime), max(e[2], tr.stats.endtime)
    if not index:
        raise InputError(
            "input.waveforms: no readable waveform data:\n  "
            + "\n  ".join(errors or map(str, paths))
        )
    tasks = []
    for sid, (files, t0, t1) in sorted(index.items()):
        a = max(t0, t_start) if t_start is not None else t0
        b = min(t1, t_end) if t_end is not None else t1
        if b <= a:
            continue
        for d0, d1 in wio.iter_days(a, b):
            tasks.append(_task(sid, d0, d1, files=sorted(files)))
    return tasks, errors


def _task_paths(out_dir: Path, name: str) -> tuple[Path, Path]:
    return out_dir / "picks" / f"{name}.csv", out_dir / "probs" / f"{name}.npz"


def _notes_path(out_dir: Path, name: str) -> Path:
    return out_dir / "picks" / f"{name}.notes.json"


def _read_task_data(task: dict, margin: float, card) -> tuple[list, list[str]]:
    """The task's station-day (with ``margin`` seconds on both sides) as the model's
    waveforms, and the notes about its data (unreadable or damaged files, missing day,
    components, stations left out). An empty list: nothing to pick."""
    d0, d1 = obspy.UTCDateTime(task["start"]), obspy.UTCDateTime(task["end"])
    net, sta, lc = task["sid"].split(".")
    notes: list[str] = []
    if "sds" in task:
        try:
            st = wio.read_sds(
                task["sds"], d0 - margin, d1 + margin, network=net, station=sta, location=lc
            )
        except InputError as exc:
            return [], [f"{task['sid']} {d0.date}: no data, station-day skipped ({exc})"]
    else:
        st, errs = wio.read_waveform_files(
            task["files"], starttime=d0 - margin, endtime=d1 + margin
        )
        notes.extend(errs)
        st = st.select(network=net, station=sta, location=lc)
    if not len(st):
        notes.append(f"{task['sid']} {d0.date}: no data in this station-day, nothing to pick")
        return [], notes
    items, msgs = wio.to_waveforms(
        st, sampling_rate=card.sampling_rate, components=card.channel_order
    )
    items, screened = screen_for_model(items, st, card)
    notes.extend(f"{d0.date} {m}" for m in [*msgs, *screened])
    if len(items) > 1:
        notes.append(
            f"{task['sid']} {d0.date}: several bands {[w.band for w in items]}; "
            f"using {items[0].band}"
        )
        items = items[:1]
    return items, notes


def _pick_items(items, model, picking_cfg: dict, task: dict):
    """(picks inside the task's day, the first waveform's annotations)."""
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
    d0, d1 = obspy.UTCDateTime(task["start"]), obspy.UTCDateTime(task["end"])
    lo, hi = np.datetime64(d0.ns, "ns"), np.datetime64(d1.ns, "ns")
    return picks.select((picks.time >= lo) & (picks.time < hi)), anns[0]


def pick_task(task: dict, picking_cfg: dict, out_dir: str) -> dict:
    """Run one station-day task (module-level, so Dask can ship it). Returns a status dict:
    ``name``, ``status`` (``"done"``; ``"skipped"``: its picks file exists; ``"no_data"``:
    nothing usable, or ``"failed"``: the picker refused the data — no file written then, so
    that a rerun tries again), ``n_picks``, ``notes``.

    Every file is written atomically; the picks CSV comes last and marks the task finished
    (the notes, when any, are kept beside it so that a rerun reports them again)."""
    out = Path(out_dir)
    csv_path, npz_path = _task_paths(out, task["name"])
    notes_path = _notes_path(out, task["name"])
    if csv_path.exists():
        try:
            notes = json.loads(notes_path.read_text()) if notes_path.exists() else []
        except (OSError, ValueError) as exc:
            notes = [f"{notes_path}: notes of the earlier run unreadable ({exc})"]
        return {"name": task["name"], "status": "skipped", "n_picks": None, "notes": notes}
    model = _model(picking_cfg["model"], picking_cfg["threads"])
    items, notes = _read_task_data(task, float(picking_cfg["margin_s"]), model.card)
    if not items:
        return {"name": task["name"], "status": "no_data", "n_picks": 0, "notes": notes}
    try:
        picks, a = _pick_items(items, model, picking_cfg, task)
    except InputError as exc:  # data the picker refuses: this station-day only
        notes.append(f"{task['sid']} {task['start'][:10]}: station-day not picked ({exc})")
        return {"name": task["name"], "status": "failed", "n_picks": 0, "notes": notes}
    with atomic_path(npz_path) as tmp:
        np.savez(
            tmp,
            prob=a.prob.astype(np.float16),
            starttime=str(a.starttime),
            sampling_rate=a.sampling_rate,
            phases=np.array(a.phases),
            band=a.band,
            model=a.model,
        )
    if notes:
        write_text(notes_path, json.dumps(notes, indent=1))
    else:
        notes_path.unlink(missing_ok=True)
    with atomic_path(csv_path) as tmp:
        catalog.write_picks_csv(picks, tmp)
    return {"name": task["name"], "status": "done", "n_picks": len(picks), "notes": notes}


def _run_tasks(tasks, cfg, out_dir: Path, client) -> list[dict]:
    """Status of every task, in task order. Tasks whose picks file exists before the run are
    "skipped" without being submitted; a submitted task is never reported as skipped (Dask may
    run a task twice, the second run then finds the first one's file)."""
    statuses: dict[str, dict] = {}
    todo = []
    for t in tasks:
        if _task_paths(out_dir, t["name"])[0].exists():
            statuses[t["name"]] = pick_task(t, cfg["picking"], str(out_dir))
        else:
            todo.append(t)
    if client is None or not todo:
        ran = [pick_task(t, cfg["picking"], str(out_dir)) for t in todo]
    else:
        futures = client.map(
            pick_task,
            todo,
            picking_cfg=cfg["picking"],
            out_dir=str(out_dir),
            key=[f"pick-{t['name']}-{uuid.uuid4().hex[:8]}" for t in todo],
            pure=False,
        )
        ran = client.gather(futures)
    for s in ran:
        statuses[s["name"]] = s | ({"status": "done"} if s["status"] == "skipped" else {})
    return [statuses[t["name"]] for t in tasks]


def _read_task_picks(tasks, out_dir: Path) -> Picks:
    tables = []
    for t in tasks:
        csv_path, _ = _task_paths(out_dir, t["name"])
        if not csv_path.exists():  # a station-day without data: nothing was written
            continue
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


def _load_probs(tasks, out_dir: Path, stations: Stations) -> dict[str, list]:
    """station id → the stored probability traces of its station-days, each with the day it
    was picked for: ``(Annotations, day start, day end)``."""
    out: dict[str, list] = {}
    for t in tasks:
        _, npz_path = _task_paths(out_dir, t["name"])
        if not npz_path.exists():
            continue
        with np.load(npz_path) as z:
            net, sta, lc = t["sid"].split(".")
            ann = Annotations(
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
        day = (obspy.UTCDateTime(t["start"]), obspy.UTCDateTime(t["end"]))
        out.setdefault(t["sid"], []).append((ann, *day))
    return out


def _cut(a: Annotations, t0, t1) -> Annotations | None:
    """The part of ``a`` within [t0, t1] (None when under two samples)."""
    fs = a.sampling_rate
    i0 = max(int(np.ceil((t0 - a.starttime) * fs - 1e-6)), 0)
    i1 = min(int(np.floor((t1 - a.starttime) * fs + 1e-6)) + 1, a.n_samples)
    if i1 - i0 < 2:
        return None
    prob = a.prob[:, i0:i1].astype(np.float32)
    start = a.starttime + i0 / fs
    return Annotations(a.network, a.station, a.location, a.band, start, fs, a.phases, prob, a.model)


def _window(pieces: list, t0, t1) -> list[Annotations]:
    """A station's probabilities within [t0, t1], from every station-day that has some: each
    day's own part (an event after midnight needs the next day's task), and the margins its
    task read beyond the day where no other day covers the window."""
    own = [_cut(a, max(t0, d0), min(t1, d1)) for a, d0, d1 in pieces if d0 < t1 and d1 > t0]
    own = [w for w in own if w is not None]
    covered = sorted((w.starttime, w.starttime + (w.n_samples - 1) / w.sampling_rate) for w in own)
    extra = []
    for a, _, _ in pieces:
        for lo, hi in _gaps(covered, t0, t1):
            w = _cut(a, lo, hi)
            if w is not None:
                extra.append(w)
    return own + extra


def _gaps(covered: list, t0, t1) -> list:
    """The parts of [t0, t1] outside the sorted intervals ``covered`` (with their ends, so
    that pieces overlap by a sample and leave no hole)."""
    gaps, t = [], t0
    for lo, hi in covered:
        if lo > t:
            gaps.append((t, lo))
        t = max(t, hi)
    if t < t1:
        gaps.append((t, t1))
    return gaps


def relocate(
    events, stations: Stations, probs: dict, velocity, lcfg: dict, messages: list[str]
) -> Locations:
    """Migrate the stored probabilities around each event's origin time (see the module doc).
    An event that cannot be relocated gives a note ``"event ID at TIME: not relocated (...)"``.
    """
    if len(events) == 0:
        return Locations.empty()
    unknown = sorted(set(probs) - set(stations.ids))
    if unknown:  # said once here, not once per event by onsets_from_annotations
        messages.append(
            f"relocation: probabilities of {len(unknown)} station(s) not in the station table "
            f"are not used: {', '.join(unknown)}"
        )
        probs = {k: v for k, v in probs.items() if k not in set(unknown)}
    if not probs:
        for i in range(len(events)):
            messages.append(
                f"event {int(events.event_id[i])} at {_utc(events.time[i])}: not relocated "
                "(no stored probabilities)"
            )
        return Locations.empty()
    extent = None if lcfg["extent"] == "auto" else tuple(lcfg["extent"])
    grid = make_grid(
        stations,
        bounds=extent,
        depth_km=tuple(lcfg["depth_km"]),
        spacing_km=lcfg["spacing_km"],
        margin_km=lcfg["margin_km"],
    )
    fs = next(iter(probs.values()))[0][0].sampling_rate
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
        t = _utc(events.time[i])
        t0 = t - search - lcfg["pre_s"]
        t1 = t + search + max_tt + lcfg["post_s"]
        anns = [w for pieces in probs.values() for w in _window(pieces, t0, t1)]
        eid = int(events.event_id[i])
        if not anns:
            messages.append(f"event {eid} at {t}: not relocated (no stored probabilities)")
            continue
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
            # locate() saw this one event as its event 0: say which event it is instead
            reason = re.sub(r"^event 0 at \S+: ", "", str(exc))
            messages.append(f"event {eid} at {t}: not relocated ({reason})")
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
    try:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=100, format=path.suffix.lstrip(".") or "png")
    finally:
        plt.close(fig)
    return path


# ------------------------------------------------------------------------------- run


def run(config, client=None, *, progress: bool = False) -> PipelineResult:
    """Run the pipeline. ``config``: a path to a TOML file or a dict (validated either way).
    ``client``: a ``dask.distributed.Client`` for the picking tasks (default: run here).

    The output folder is checked to be writable before any work. Problems with single files,
    stations or station-days do not stop the run: they are in ``messages`` (and ``notes`` of
    ``summary.json``), counted in the summary. A write that fails mid-run raises
    :class:`~seiscore.io.atomic.WriteError` naming the file; the finished station-day tasks
    stay in the output folder and a rerun continues from them."""
    cfg = _load_config(config)
    out_dir = prepare_output_dir(Path(cfg["output"]["directory"]).resolve(), "output.directory")
    for sub in ("picks", "probs"):
        prepare_output_dir(out_dir / sub, f"output.directory ({sub}/)")
    messages: list[str] = []
    timings: dict[str, float] = {}

    stations = sio.read_stations(cfg["stations"]["path"], messages=messages)
    velocity = _velocity(cfg)

    t = _time.perf_counter()
    tasks, file_errors = plan_tasks(cfg)
    messages.extend(file_errors)
    with _rerun_hint(out_dir):
        statuses = _run_tasks(tasks, cfg, out_dir, client)
    for s in statuses:
        messages.extend(s["notes"])
    picks = _read_task_picks(tasks, out_dir)
    timings["pick_s"] = _time.perf_counter() - t

    t = _time.perf_counter()
    acfg = {
        k: (tuple(v) if isinstance(v, list) else v)
        for k, v in cfg["association"].items()
        if v is not None
    }
    result = assoc_mod.associate(picks, stations, velocity, **acfg)
    messages.extend(result.notes)
    timings["associate_s"] = _time.perf_counter() - t

    t = _time.perf_counter()
    if cfg["location"]["enabled"]:
        probs = _load_probs(tasks, out_dir, stations)
        locs = relocate(result.events, stations, probs, velocity, cfg["location"], messages)
    else:
        locs = Locations.empty()
    timings["relocate_s"] = _time.perf_counter() - t

    messages = list(dict.fromkeys(messages))  # a file's problem is told once, not per day
    t = _time.perf_counter()
    with _rerun_hint(out_dir):
        outputs = _write_catalogue(out_dir, result, locs, stations, cfg["output"]["figures"])
        timings["catalogue_s"] = _time.perf_counter() - t
        counts = _counts(tasks, statuses, file_errors, messages)
        summary = _summary(tasks, statuses, picks, result, locs, timings, client) | counts
        outputs.append(write_text(out_dir / "summary.json", json.dumps(summary, indent=2)))
    return PipelineResult(
        picks=picks,
        association=result,
        locations=locs,
        summary=summary,
        outputs=outputs,
        messages=messages,
    )


@contextlib.contextmanager
def _rerun_hint(out_dir: Path):
    """A failed write (named by WriteError) also says that the finished work is kept."""
    try:
        yield
    except WriteError as exc:
        raise WriteError(
            f"{exc}; the picks of the finished station-days are kept in {out_dir / 'picks'} "
            "and a rerun continues from them"
        ) from exc


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
    """events.xml (QuakeML), events.csv, picks.csv and (with ``figures``) map.png, each
    written atomically (whole or not at all)."""
    outputs = [out_dir / "events.xml", out_dir / "events.csv", out_dir / "picks.csv"]
    with atomic_path(outputs[0]) as tmp:
        build_catalog(result, locs).write(str(tmp), format="QUAKEML")
    df = events_dataframe(result, locs)
    csv_df = df.copy()
    csv_df["time"] = _iso(df.time.to_numpy("datetime64[ns]"))
    csv_df["assoc_time"] = _iso(df.assoc_time.to_numpy("datetime64[ns]"))
    with atomic_path(outputs[1]) as tmp:
        csv_df.to_csv(tmp, index=False, float_format="%.6f")
    pdf = result.picks_dataframe()
    pdf["time"] = _iso(result.picks.time)
    with atomic_path(outputs[2]) as tmp:
        pdf.to_csv(tmp, index=False, float_format="%.6g")
    if figures:
        outputs.append(plot_map(out_dir / "map.png", stations, df))
    return outputs


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
    return (
        f"{s['n_picks']} picks ({s['n_p']} P, {s['n_s']} S) from {s['n_tasks']} station-days "
        f"({s['n_tasks_skipped']} already done){notes}; {s['n_events']} events, "
        f"{s['n_relocated']} relocated; "
        f"{times}"
    )
