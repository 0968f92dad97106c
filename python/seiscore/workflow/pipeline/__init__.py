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
2. **associate** — :func:`seiscore.association.associate` on all picks, or PhaseLink with a
   trained linker (``[association] method = "phaselink"``, ``linker = "linker.onnx"``)
   (``[location] detection = "association"``, the default); with ``"migration"`` or
   ``"both"`` the stored probabilities of the whole record are also migrated and detected on,
   chunk by chunk
   (:mod:`seiscore.workflow.detection`), and an event found twice is kept once.
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
import time as _time
from dataclasses import dataclass, field
from pathlib import Path

from ... import association, picking
from ...containers import Locations, Picks
from ...exceptions import ConfigError
from ...io import stations as sio
from ...io.atomic import WriteError, prepare_output_dir, write_text
from ...io.sources import open_source
from .. import config as cfgmod
from .. import detection
from .catalogue import (  # noqa: F401  (re-exported)
    _counts,
    _events_table,
    _summary,
    _write_catalogue,
    build_catalog,
    events_dataframe,
    format_summary,
    travel_time_predictor,
)
from .figures import record_sections
from .magnitudes import local_magnitudes
from .relocation import _load_probs, _velocity, relocate
from .relocation import _utc as _utc  # re-exported for the tests
from .tasks import _read_task_picks, _run_tasks, pick_task, plan_tasks

__all__ = [
    "PipelineResult",
    "build_catalog",
    "events_dataframe",
    "format_summary",
    "pick_task",
    "plan_tasks",
    "relocate",
    "run",
]


@dataclass
class PipelineResult:
    picks: Picks
    association: object
    locations: Locations
    summary: dict
    outputs: list[Path] = field(default_factory=list)
    magnitudes: object = None  # seiscore.magnitude.MagnitudeResult, or None
    messages: list[str] = field(default_factory=list)


def run(config, client=None, *, progress: bool = False, source=None) -> PipelineResult:
    """Run the pipeline. ``config``: a path to a TOML file or a dict (validated either way).
    ``client``: a ``dask.distributed.Client`` for the picking tasks (default: run here).

    The output folder is checked to be writable before any work. Problems with single files,
    stations or station-days do not stop the run: they are in ``messages`` (and ``notes`` of
    ``summary.json``), counted in the summary. A write that fails mid-run raises
    :class:`~seiscore.io.atomic.WriteError` naming the file; the finished station-day tasks
    stay in the output folder and a rerun continues from them."""
    cfg = _load_config(config, has_source=source is not None)
    source = open_source(source) if source is not None else None
    out_dir = prepare_output_dir(Path(cfg["output"]["directory"]).resolve(), "output.directory")
    for sub in ("picks", "probs"):
        prepare_output_dir(out_dir / sub, f"output.directory ({sub}/)")
    messages: list[str] = []
    timings: dict[str, float] = {}

    stations = sio.read_stations(cfg["stations"]["path"], messages=messages)
    velocity = _velocity(cfg)
    association.check_linker(cfg["association"]["method"], cfg["association"]["linker"])

    t = _time.perf_counter()
    tasks, file_errors = plan_tasks(cfg, source)
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
    mode = cfg["location"]["detection"]
    assoc_tt = detection.association_travel_times(
        stations, velocity, cfg["location"], acfg, messages
    )
    result = detection.associate(mode, picks, stations, assoc_tt, acfg)
    messages.extend(result.notes)
    timings["associate_s"] = _time.perf_counter() - t

    t = _time.perf_counter()
    locs, only, both = detection.locate_events(
        result,
        tasks,
        out_dir,
        stations,
        velocity,
        cfg["location"],
        messages,
        lambda ev: relocate(
            ev, stations, _load_probs(tasks, out_dir, stations), velocity, cfg["location"], messages
        ),
    )
    timings["relocate_s"] = _time.perf_counter() - t

    t = _time.perf_counter()
    found = (only, both)
    mags, events_df = _magnitudes(cfg, result, locs, found, stations, velocity, messages, source)
    timings["magnitude_s"] = _time.perf_counter() - t

    messages = list(dict.fromkeys(messages))  # a file's problem is told once, not per day
    t = _time.perf_counter()
    with _rerun_hint(out_dir):
        outputs = _catalogue_outputs(
            cfg, out_dir, result, locs, stations, velocity, found, mags, events_df, source
        )
        timings["catalogue_s"] = _time.perf_counter() - t
        counts = _counts(tasks, statuses, file_errors, messages)
        summary = _summary(tasks, statuses, picks, result, locs, timings, client) | counts
        summary |= detection.summary(mode, only, both)
        summary["n_magnitudes"] = 0 if mags is None else len(mags.network)
        outputs.append(write_text(out_dir / "summary.json", json.dumps(summary, indent=2)))
    return PipelineResult(
        picks=picks,
        association=result,
        locations=locs,
        summary=summary,
        outputs=outputs,
        messages=messages,
        magnitudes=mags,
    )


def _catalogue_outputs(
    cfg, out_dir, result, locs, stations, velocity, found, mags, events_df, source=None
):
    """The catalogue files and figures (and, with output.plot_events, a record section per
    event)."""
    predict = travel_time_predictor(velocity, stations, events_df)
    outputs = _write_catalogue(
        out_dir, result, locs, stations, cfg["output"]["figures"], found, mags, events_df, predict
    )
    if cfg["output"]["plot_events"]:
        outputs.extend(record_sections(cfg, result, events_df, stations, velocity, out_dir, source))
    return outputs


def _magnitudes(cfg, result, locs, found, stations, velocity, messages, source=None):
    """(local magnitudes or None, the events table with them)."""
    first = _events_table(result, locs, found)
    mags = local_magnitudes(cfg, result, first, stations, velocity, messages, source)
    return mags, _events_table(result, locs, found, mags)


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


def _load_config(config, has_source: bool = False) -> dict:
    if isinstance(config, (str, os.PathLike)):
        cfg = cfgmod.load(config)
    elif isinstance(config, dict):
        cfg = cfgmod.validate(config)
    else:
        raise ConfigError(f"config: expected a path or a dict, got {type(config).__name__}")
    cfgmod.check_complete(cfg, has_source)
    _check_heads(cfg["picking"]["heads"])
    return cfg


def _check_heads(heads: str) -> None:
    """``[picking] heads`` names bundled heads or existing .onnx files (checked before any
    station-day is picked, so that a typo does not fail every task)."""
    names = list(picking.HEADS) if heads == "all" else [h.strip() for h in heads.split(",")]
    for h in filter(None, names):
        if h not in picking.HEADS and not (h.endswith(".onnx") and Path(h).is_file()):
            raise ConfigError(
                f"picking.heads: unknown head {h!r} (choose from {sorted(picking.HEADS)}, "
                "'all', or the path of an .onnx head with its card)"
            )
