"""seiscore run: tasks."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import numpy as np
import obspy

from ... import picking
from ...containers import Picks
from ...exceptions import InputError
from ...io import catalog
from ...io import waveforms as wio
from ...io.atomic import atomic_path, write_text
from ...io.quality import screen_for_model
from ...io.sources import read_window, source_ids
from ..heads import apply_heads_to_stream

_MODELS: dict = {}
_HEADS: dict = {}


def _model(name: str, threads):
    from ...models import load_model

    key = (name, threads)
    if key not in _MODELS:
        _MODELS[key] = load_model(name, threads=threads)
    return _MODELS[key]


def _heads(names: str, threads) -> tuple:
    """The loaded head models of ``[picking] heads`` (cached per worker like the picker)."""
    key = (names, threads)
    if key not in _HEADS:
        _HEADS[key] = tuple(picking.load_heads(names, threads=threads)) if names else ()
    return _HEADS[key]


def _task_name(sid: str, day) -> str:
    return f"{sid}_{day.strftime('%Y%m%d')}"


def _task(sid: str, d0, d1, **source) -> dict:
    return {"name": _task_name(sid, d0), "sid": sid, "start": str(d0), "end": str(d1), **source}


def plan_tasks(cfg: dict, source=None) -> tuple[list[dict], list[str]]:
    """Station-day tasks from ``[input]`` (or from ``source``, any object with ObsPy's
    ``get_waveforms``): dicts with ``name, sid, start, end`` and ``files``, ``sds`` or
    ``source``. Returns (tasks, messages about unreadable or damaged files)."""
    inp = cfg["input"]
    t_start = obspy.UTCDateTime(inp["starttime"]) if inp["starttime"] else None
    t_end = obspy.UTCDateTime(inp["endtime"]) if inp["endtime"] else None
    if source is not None:
        return _plan_source(source, inp.get("channels"), t_start, t_end), []
    if inp["sds"]:
        return _plan_sds(Path(inp["sds"]), t_start, t_end), []
    return _plan_files(inp["waveforms"], t_start, t_end)


def _plan_sds(root: Path, t_start, t_end) -> list[dict]:
    """One task per station of the archive and day of [t_start, t_end]; a station-day without
    data is found out (and reported) by its task, so that the other days still run."""
    try:
        nslc = wio.sds_stations(root)
    except InputError as exc:
        raise InputError(f"input.sds: {exc}") from None
    tasks = []
    for n, s, lc in nslc:
        sid = f"{n}.{s}.{lc}"
        for d0, d1 in wio.iter_days(t_start, t_end):
            tasks.append(_task(sid, d0, d1, sds=str(root)))
    return tasks


def _plan_source(source, channels, t_start, t_end) -> list[dict]:
    """One task per station the source lists (or of ``channels``) and day of the range."""
    if t_start is None or t_end is None:
        raise InputError("a waveform source needs input.starttime and input.endtime")
    ids = source_ids(source, channels)
    sids = sorted({i.rsplit(".", 1)[0] for i in ids})
    tasks = []
    for sid in sids:
        mine = [i for i in ids if i.rsplit(".", 1)[0] == sid]
        for d0, d1 in wio.iter_days(t_start, t_end):
            tasks.append(_task(sid, d0, d1, source=source, channels=mine))
    return tasks


def _plan_files(inputs, t_start, t_end) -> tuple[list[dict], list[str]]:
    """One task per station and day that its files cover (headers only); unreadable files
    give messages naming them."""
    found: list[str] = []
    paths = wio.find_waveform_files(inputs, messages=found)
    st, errors = wio.read_waveform_files(paths, headonly=True)
    errors = found + errors
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


def _settings_path(out_dir: Path, name: str) -> Path:
    return out_dir / "picks" / f"{name}.settings.json"


# Picking settings that change a task's result (batch size and threads do not).
_RESULT_KEYS = ("model", "p_threshold", "s_threshold", "min_distance_s", "margin_s", "heads")
_FINGERPRINTS: dict = {}


def _model_fingerprint(name: str) -> str:
    """sha256 of the model's ONNX file and card (a bundled name or a path)."""
    import hashlib

    from ...models import MODELS_DIR

    if name not in _FINGERPRINTS:
        path = Path(name)
        onnx = path if path.is_file() else MODELS_DIR / name / f"{name}.onnx"
        h = hashlib.sha256()
        for f in (onnx, onnx.with_suffix(".json")):
            if f.is_file():
                h.update(f.read_bytes())
        _FINGERPRINTS[name] = h.hexdigest()[:16]
    return _FINGERPRINTS[name]


def task_settings(task: dict, picking_cfg: dict) -> dict:
    """What made a task's result: the picking settings that matter, the model's fingerprint,
    and its input files with their sizes and modification times."""
    files = []
    for f in task.get("files", ()):
        try:
            st = Path(f).stat()
            files.append([str(f), st.st_size, int(st.st_mtime)])
        except OSError:
            files.append([str(f), None, None])
    out = {k: picking_cfg.get(k) for k in _RESULT_KEYS}
    if not out["heads"]:  # no heads: the record of a run from before heads existed matches
        del out["heads"]
    out["model_sha256"] = _model_fingerprint(str(picking_cfg["model"]))
    out["sds"] = task.get("sds")
    out["channels"] = task.get("channels")
    out["files"] = files
    return out


def _finished(out: Path, task: dict, picking_cfg: dict) -> tuple[bool, str | None]:
    """(done with the same settings, a note when done with other ones)."""
    if not _task_paths(out, task["name"])[0].exists():
        return False, None
    try:
        before = json.loads(_settings_path(out, task["name"]).read_text())
    except (OSError, ValueError):
        return False, f"{task['name']}: picked again (no record of the settings it was picked with)"
    now = task_settings(task, picking_cfg)
    if before == now:
        return True, None
    changed = [
        f"{k} {before.get(k)!r} -> {now.get(k)!r}"
        for k in dict.fromkeys([*now, *before])
        if k != "files" and before.get(k) != now.get(k)
    ]
    if before.get("files") != now["files"]:
        changed.append("input files changed")
    return False, f"{task['name']}: picked again (settings changed: {'; '.join(changed)})"


def _read_task_data(task: dict, margin: float, card) -> tuple[list, list[str], object]:
    """The task's station-day (with ``margin`` seconds on both sides) as the model's
    waveforms, the notes about its data (unreadable or damaged files, missing day,
    components, stations left out) and the stream read. An empty list: nothing to pick."""
    d0, d1 = obspy.UTCDateTime(task["start"]), obspy.UTCDateTime(task["end"])
    net, sta, lc = task["sid"].split(".")
    notes: list[str] = []
    if "source" in task:
        st, errs = read_window(task["source"], task["channels"], d0 - margin, d1 + margin)
        notes.extend(f"{task['sid']} {d0.date}: {e}" for e in errs)
    elif "sds" in task:
        try:
            st = wio.read_sds(
                task["sds"], d0 - margin, d1 + margin, network=net, station=sta, location=lc
            )
        except InputError as exc:
            return [], [f"{task['sid']} {d0.date}: no data, station-day skipped ({exc})"], None
    else:
        st, errs = wio.read_waveform_files(
            task["files"], starttime=d0 - margin, endtime=d1 + margin
        )
        notes.extend(errs)
        st = st.select(network=net, station=sta, location=lc)
    if not len(st):
        notes.append(f"{task['sid']} {d0.date}: no data in this station-day, nothing to pick")
        return [], notes, st
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
    return items, notes, st


def _pick_items(items, model, picking_cfg: dict, task: dict, stream=None):
    """(picks inside the task's day, the first waveform's annotations); with ``[picking]
    heads``, the per-pick head columns filled from ``stream``."""
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
    picks = picks.select((picks.time >= lo) & (picks.time < hi))
    heads = _heads(picking_cfg.get("heads") or "", picking_cfg["threads"])
    if heads and len(picks):
        picks = apply_heads_to_stream(picks, stream, items, model.card.sampling_rate, heads)
    return picks, anns[0]


def pick_task(task: dict, picking_cfg: dict, out_dir: str) -> dict:
    """Run one station-day task (module-level, so Dask can ship it). Returns a status dict:
    ``name``, ``status`` (``"done"``; ``"skipped"``: its picks file exists and was made with
    the same settings (:func:`task_settings`; other settings: picked again, with a note);
    ``"no_data"``:
    nothing usable, or ``"failed"``: the picker refused the data — no file written then, so
    that a rerun tries again), ``n_picks``, ``notes``.

    Every file is written atomically; the picks CSV comes last and marks the task finished
    (the notes, when any, are kept beside it so that a rerun reports them again)."""
    out = Path(out_dir)
    csv_path, npz_path = _task_paths(out, task["name"])
    notes_path = _notes_path(out, task["name"])
    done, redo_note = _finished(out, task, picking_cfg)
    if done:
        try:
            notes = json.loads(notes_path.read_text()) if notes_path.exists() else []
        except (OSError, ValueError) as exc:
            notes = [f"{notes_path}: notes of the earlier run unreadable ({exc})"]
        return {"name": task["name"], "status": "skipped", "n_picks": None, "notes": notes}
    csv_path.unlink(missing_ok=True)  # stale results of other settings
    model = _model(picking_cfg["model"], picking_cfg["threads"])
    items, notes, stream = _read_task_data(task, float(picking_cfg["margin_s"]), model.card)
    if redo_note:
        notes.insert(0, redo_note)
    if not items:
        return {"name": task["name"], "status": "no_data", "n_picks": 0, "notes": notes}
    try:
        picks, a = _pick_items(items, model, picking_cfg, task, stream)
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
    write_text(_settings_path(out, task["name"]), json.dumps(task_settings(task, picking_cfg)))
    with atomic_path(csv_path) as tmp:  # last: marks the task finished
        catalog.write_picks_csv(picks, tmp)
    return {"name": task["name"], "status": "done", "n_picks": len(picks), "notes": notes}


def _run_tasks(tasks, cfg, out_dir: Path, client) -> list[dict]:
    """Status of every task, in task order. Tasks whose picks file exists before the run are
    "skipped" without being submitted; a submitted task is never reported as skipped (Dask may
    run a task twice, the second run then finds the first one's file)."""
    statuses: dict[str, dict] = {}
    todo = []
    for t in tasks:
        if _finished(out_dir, t, cfg["picking"])[0]:
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
