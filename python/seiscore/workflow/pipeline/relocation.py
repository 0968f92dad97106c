"""seiscore run: relocation."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import obspy

from ... import location as loc
from ... import traveltime as ttm
from ...containers import Annotations, Locations, Stations
from ...exceptions import InputError
from .. import detection
from .tasks import _task_paths


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
        ann = detection.read_probabilities(npz_path, t["sid"])
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
    fs = next(iter(probs.values()))[0][0].sampling_rate
    grid, table, tt = detection.location_setup(stations, velocity, lcfg, fs)
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


def _utc(t) -> obspy.UTCDateTime:
    return obspy.UTCDateTime(ns=int(np.datetime64(t, "ns").astype(np.int64)))
