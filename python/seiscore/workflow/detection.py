"""How ``seiscore run`` finds its events: ``[location] detection = "association" | "migration" |
"both"`` (used by :mod:`seiscore.workflow.pipeline`; not a job of its own).

* ``"association"`` — the events of :func:`seiscore.association.associate` on the picks, each
  relocated by migrating the stored probabilities around its origin time (as before).
* ``"migration"`` — MALMI's method over the whole record: the stored phase probabilities are
  migrated and detected on (:func:`seiscore.location.scan_record`), in chunks of
  ``location.chunk_s`` seconds read from the station-day files as they are needed (memory bounded
  by one chunk), with an overlap so that nothing is lost at a chunk border. The picks stay in
  ``picks.csv`` without an event.
* ``"both"`` — the two, merged: a migration detection within ``location.match_s`` of an
  associated event's origin time and ``location.match_km`` of its hypocentre is the same event,
  kept once with both origins (the migration origin preferred); the rest of each list are
  events of their own (an associated event without a detection is relocated as in
  ``"association"``).

Travel times come from the 1-D model (a table, then per-station grids) or, with
``location.nll_grids``, from NonLinLoc grids (:func:`seiscore.traveltime.read_nonlinloc`) for
migration, and for the grid-search association a 1-D summary of them
(:func:`association_travel_times`) where they cover its search volume.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np
import obspy

from .. import association as assoc_mod
from .. import geo
from .. import location as loc
from .. import traveltime as ttm
from ..containers import Annotations, Events, Locations, Stations

__all__ = [
    "MODES",
    "add_to_catalog",
    "add_to_table",
    "associate",
    "locate_events",
    "location_setup",
    "summary",
]

MODES = ("association", "migration", "both")


# ------------------------------------------------------------------------------ travel times


def location_setup(stations: Stations, velocity, lcfg: dict, sampling_rate: float):
    """``(grid, table, tt)`` for migrating probabilities at ``sampling_rate``: the grid of
    ``[location]`` (auto extent: the stations' footprint plus the margin), and travel times from
    the model (``table`` for the continuous refinement) or from ``lcfg["nll_grids"]`` (NonLinLoc
    grids; ``table`` None)."""
    extent = None if lcfg["extent"] == "auto" else tuple(lcfg["extent"])
    grid = loc.make_grid(
        stations,
        bounds=extent,
        depth_km=tuple(lcfg["depth_km"]),
        spacing_km=lcfg["spacing_km"],
        margin_km=lcfg["margin_km"],
    )
    if lcfg.get("nll_grids"):
        nll = ttm.read_nonlinloc(lcfg["nll_grids"], stations=stations)
        tt = ttm.nonlinloc_station_grids(nll, grid, stations, sampling_rate=sampling_rate)
        return grid, None, tt
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
        table,
        stations,
        grid,
        sampling_rate=sampling_rate,
        phases=("P", "S"),
        workers=lcfg["workers"],
    )
    return grid, table, tt


# ------------------------------------------------------------ probabilities, chunk by chunk


def read_probabilities(path: Path, sid: str) -> Annotations:
    """The phase probabilities a ``seiscore run`` station-day stored in ``probs/*.npz``, as
    :class:`~seiscore.containers.Annotations` of the station ``sid`` (NET.STA.LOC)."""
    with np.load(path) as z:
        net, sta, lc = (sid.split(".") + ["", "", ""])[:3]
        return Annotations(
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


class _StoredProbabilities:
    """An onset source (:data:`seiscore.location.scan.OnsetSource`) over the station-day
    probability files of a run (``probs/<task>.npz``): each call reads the files that overlap
    the requested times, keeping only those open (memory: one chunk's files)."""

    def __init__(self, tasks, out_dir: Path, stations: Stations):
        self.stations = stations
        self.files = []  # (sid, day start, day end, path)
        for t in tasks:
            path = Path(out_dir) / "probs" / f"{t['name']}.npz"
            if path.exists() and t["sid"] in set(stations.ids):
                self.files.append(
                    (t["sid"], obspy.UTCDateTime(t["start"]), obspy.UTCDateTime(t["end"]), path)
                )
        self.cache: dict[Path, Annotations] = {}
        self.rate = self._rate()

    def _rate(self) -> float | None:
        for _, _, _, path in self.files:
            return self._read(path, "").sampling_rate
        return None

    def span(self):
        """First and last time with probabilities (None, None without any)."""
        if not self.files:
            return None, None
        return min(f[1] for f in self.files), max(f[2] for f in self.files)

    def _read(self, path: Path, sid: str) -> Annotations:
        if path not in self.cache:
            self.cache[path] = read_probabilities(path, sid)
        return self.cache[path]

    def __call__(self, t0, t1):
        used, anns = set(), []
        for sid, d0, d1, path in self.files:
            if d0 - 60.0 > t1 or d1 + 60.0 < t0:
                continue
            a = self._read(path, sid)
            used.add(path)
            cut = _cut(a, t0, t1)
            if cut is not None:
                anns.append(cut)
        for path in set(self.cache) - used:
            del self.cache[path]
        if not anns:
            return None
        return loc.onsets_from_annotations(anns, self.stations)


def _cut(a: Annotations, t0, t1) -> Annotations | None:
    """The part of ``a`` within [t0, t1] on its own sample grid (None when under two
    samples)."""
    fs = a.sampling_rate
    i0 = max(int(math.ceil((t0 - a.starttime) * fs - 1e-6)), 0)
    i1 = min(int(math.floor((t1 - a.starttime) * fs + 1e-6)) + 1, a.n_samples)
    if i1 - i0 < 2:
        return None
    prob = a.prob[:, i0:i1].astype(np.float32)
    return dataclasses.replace(a, starttime=a.starttime + i0 / fs, prob=prob)


def _migration_scan(tasks, out_dir, stations, velocity, lcfg: dict, messages):
    """The migration detections over the whole record (a :class:`seiscore.location.ScanResult`,
    or None without stored probabilities)."""
    source = _StoredProbabilities(tasks, out_dir, stations)
    t0, t1 = source.span()
    if source.rate is None:
        messages.append("migration detection: no stored probabilities, nothing to migrate")
        return None
    grid, table, tt = location_setup(stations, velocity, lcfg, source.rate)
    res = loc.scan_record(
        source,
        tt,
        grid,
        t0,
        t1,
        source.rate,
        threshold=lcfg["threshold"] if lcfg["threshold"] is not None else loc.DEFAULT_THRESHOLD,
        min_separation_s=lcfg["min_separation_s"],
        marginal_window_s=lcfg["marginal_window_s"],
        chunk_s=lcfg["chunk_s"],
        keep_edge=lcfg["keep_edge"],
        keep_trace=False,
        table=table,
        stations=stations,
        workers=lcfg["workers"],
    )
    messages.extend(f"migration detection: {m}" for m in res.messages)
    return res


# ---------------------------------------------------------------------------- the events


def association_travel_times(stations: Stations, velocity, lcfg: dict, acfg: dict, notes: list):
    """What the grid-search association takes its travel times from: ``velocity`` (the 1-D
    model), or, with ``location.nll_grids``, the (distance, depth) table that summarises the
    NonLinLoc grids (:func:`seiscore.traveltime.table_from_grids`) when the grids cover the
    association's search volume (its ``xlim``/``ylim`` or default volume, and ``zlim``).
    ``notes`` gets what was chosen and why, and a warning when the summary's spread exceeds
    ``tolerance_s``."""
    if not lcfg.get("nll_grids") or acfg.get("method", "grid") != "grid":
        return velocity
    nll = ttm.read_nonlinloc(lcfg["nll_grids"], stations=stations)
    grid = ttm.grid_from_nonlinloc(nll)
    # the association's volume is in its own frame (around the stations' mean position):
    # its corners, through latitude/longitude, in the grids' frame
    ref = (float(np.mean(stations.latitude)), float(np.mean(stations.longitude)))
    dx, dy = assoc_mod.default_volume(*geo.project(stations.latitude, stations.longitude, *ref))
    xlim = tuple(acfg.get("xlim") or dx)
    ylim = tuple(acfg.get("ylim") or dy)
    zlim = tuple(acfg.get("zlim") or (0.0, 40.0))
    lat, lon = geo.unproject(np.repeat(xlim, 2), np.tile(ylim, 2), *ref)
    cx, cy = geo.project(lat, lon, *grid.reference)
    gx, gy, gz = grid.axes()
    eps = 1e-3
    covered = (
        gx[0] - eps <= cx.min() and cx.max() <= gx[-1] + eps
        and gy[0] - eps <= cy.min() and cy.max() <= gy[-1] + eps
        and gz[0] - eps <= zlim[0] and zlim[1] <= gz[-1] + eps
    )  # fmt: skip
    if not covered:
        notes.append(
            f"association: the NonLinLoc grids ({gx[0]:.1f}..{gx[-1]:.1f} x {gy[0]:.1f}.."
            f"{gy[-1]:.1f} x {gz[0]:.1f}..{gz[-1]:.1f} km) do not cover its search volume "
            f"({xlim[0]:.1f}..{xlim[1]:.1f} x {ylim[0]:.1f}..{ylim[1]:.1f} x {zlim[0]:.1f}.."
            f"{zlim[1]:.1f} km); association uses the 1-D model (set association.xlim/ylim/zlim "
            "inside the grids to use them)"
        )
        return velocity
    seconds = ttm.nonlinloc_station_grids(nll, grid, stations)
    table, spread = ttm.table_from_grids(seconds, grid, stations)
    worst = max(spread.values())
    notes.append(
        f"association: travel times from a 1-D summary of the NonLinLoc grids (95% of the 3-D "
        f"times within {worst:.3f} s of it)"
    )
    if worst > float(acfg.get("tolerance_s", 1.0)):
        notes.append(
            f"association: tolerance_s {acfg.get('tolerance_s', 1.0)} is below the spread "
            f"{worst:.3f} s of the 1-D summary of the NonLinLoc grids: picks of real events may "
            "be missed (raise association.tolerance_s)"
        )
    return table


def associate(mode: str, picks, stations, velocity, acfg: dict):
    """The association of the picks ("association", "both"), or, for "migration", an
    association without events whose picks are all unassociated."""
    if mode != "migration":  # acfg: the [association] section, with its method and linker
        return assoc_mod.associate_by_method(picks, stations, velocity, **acfg)
    n = len(picks)
    return assoc_mod.Association(
        events=Events.empty(),
        picks=picks,
        event_id=np.full(n, -1, np.int64),
        residual_s=np.full(n, np.nan, np.float32),
        score=np.zeros(0, np.float32),
        stats={"n_picks": n, "n_associated": 0, "n_unassociated": n, "n_events": 0},
        notes=["detection = 'migration': the picks are not associated"],
    )


def _match(events, det: Locations, match_s: float, match_km: float) -> dict[int, int]:
    """Associated event row → detection row for the pairs that are one event: origin times
    within ``match_s`` and hypocentres within ``match_km``, closest in time first."""
    pairs = []
    for i in range(len(events)):
        dt = np.abs((det.time - events.time[i]) / np.timedelta64(1, "s"))
        dh = geo.distance_km(events.latitude[i], events.longitude[i], det.latitude, det.longitude)
        d3 = np.hypot(dh, det.depth_km - events.depth_km[i])
        for j in np.flatnonzero((dt <= match_s) & (d3 <= match_km)):
            pairs.append((float(dt[j]), i, int(j)))
    out, used = {}, set()
    for _, i, j in sorted(pairs):
        if i not in out and j not in used:
            out[i] = j
            used.add(j)
    return out


def locate_events(result, tasks, out_dir, stations, velocity, lcfg: dict, messages, relocate):
    """``(locations of associated events, migration-only events, ids of the associated events
    that migration found too)`` for ``lcfg["detection"]``.

    ``relocate(events)`` relocates associated events (the pipeline's relocation). Locations
    carry the associated event's ``event_id``; migration-only events get ids after the
    associated ones."""
    mode = lcfg["detection"]
    if mode == "association":
        locs = relocate(result.events) if lcfg["enabled"] else Locations.empty()
        return locs, Locations.empty(), set()
    res = _migration_scan(tasks, out_dir, stations, velocity, lcfg, messages)
    det = res.locations if res is not None else Locations.empty()
    events = result.events
    pairs = _match(events, det, lcfg["match_s"], lcfg["match_km"]) if len(det) else {}
    rest = np.array([i not in pairs for i in range(len(events))], bool)
    parts = []
    for i, j in sorted(pairs.items()):
        row = det.select([j])
        row.event_id[:] = events.event_id[i]
        parts.append(row)
    if lcfg["enabled"] and rest.any():
        parts.append(relocate(events.select(rest)))
    first = int(events.event_id.max()) + 1 if len(events) else 0
    only = det.select(np.array([j not in set(pairs.values()) for j in range(len(det))], bool))
    only.event_id[:] = first + np.arange(len(only))
    locs = Locations.concatenate([p for p in parts if len(p)]) if parts else Locations.empty()
    if len(pairs):
        messages.append(
            f"{len(pairs)} event(s) found by both association and migration (kept once)"
        )
    return locs, only, {int(events.event_id[i]) for i in pairs}


# --------------------------------------------------------------------------- the catalogue


def add_to_catalog(cat, only: Locations):
    """The catalogue with the migration-only events appended (one migration origin each)."""
    from ..io.catalog import locations_to_catalog

    for ev in locations_to_catalog(only):
        cat.append(ev)
    return cat


def add_to_table(df, only: Locations, matched_ids):
    """The events table with a ``detection`` column (``association``, ``migration`` or
    ``both``) and the migration-only events appended as rows."""
    import pandas as pd

    df = df.copy()
    df["detection"] = np.where(df.event_id.isin(list(matched_ids)), "both", "association")
    if not len(only):
        return df
    extra = pd.DataFrame(
        {
            "event_id": only.event_id,
            "time": only.time,
            "latitude": only.latitude,
            "longitude": only.longitude,
            "depth_km": only.depth_km,
            "relocated": True,
            "err_x_km": only.err_x_km,
            "err_y_km": only.err_y_km,
            "err_z_km": only.err_z_km,
            "err_time_s": only.err_time_s,
            "coherence": only.coherence,
            "detection": "migration",
        }
    )
    return pd.concat([df, extra], ignore_index=True).sort_values("time", kind="stable")


def summary(mode: str, only: Locations, matched) -> dict:
    """Counts for ``summary.json``: the detection mode, the events found only by migration and
    those found by both."""
    return {"detection": mode, "n_migration_only": len(only), "n_found_by_both": len(matched)}
