""":func:`associate_phaselink`: picks → events with a trained PhaseLink linker (Ross et al. 2019)
run by ONNX Runtime, each event then located with the grid search's travel times.

1. **Link.** The usable picks (P and S at known stations, duplicates left out, as
   :func:`~seiscore.association.associate` takes them) are sorted by time; every pick starts a
   sequence (itself and the picks after it within the linker's window, at most its
   ``max_picks``; built in C++), and the linker gives each pick of the sequence the probability
   that it belongs to the start pick's event. The picks at or above ``threshold`` and the start
   pick form the sequence's linked set.
2. **Cluster** (C++, PhaseLink's ``link_phases`` with votes): in the order of their start
   pick, sets of at least ``min_nucleate`` picks merge into the cluster they share most picks
   with (at least ``max(min_merge, merge_fraction * size)``) or start one; each pick ends in the
   cluster that linked it most often.
3. **Locate** (C++): a coarse-to-fine grid search over the volume finds, per cluster, the
   hypocentre and origin time that fit most of its picks within ``tolerance_s`` (the (depth,
   distance) tables of the grid search, with its station-elevation correction); what does not
   fit, when it is at least ``min_picks`` picks, is located again as another event (a cluster
   that joined two events gives both).
4. **Assign** (PhaseLink's re-picking, twice): each located event takes, per station and phase,
   the pick nearest its predicted arrival within ``tolerance_s`` (any pick, linked or not; only
   stations within ``max_distance_km``); events are served best first (summed pick scores
   ``1 - (r / tolerance_s)^2``, as in the grid search), each takes only picks no better event
   took, and an event is kept when what it gets still meets ``min_picks``, ``min_p``,
   ``min_s`` and ``min_p_and_s``; kept events are located again from their picks.
5. **Trust.** Each event's score and significance come from the grid search's own scoring
   (``_core.association.score_origins``, every usable pick counted for the rates); events below
   ``min_significance`` (default: the grid search's, :func:`~.config.default_min_significance`)
   or above ``max_rms_s`` are dropped.

The result is an :class:`~seiscore.association.Association`, as the grid search returns it: the
same events table and per-pick ``event_id`` / ``residual_s`` columns, with ``stats`` telling
the sequences, clusters and time spent linking.
"""

from __future__ import annotations

import time as _time
from dataclasses import dataclass

import numpy as np

from .. import _core, geo
from .._validate import check_workers
from ..containers import Events, Picks, Stations
from ..exceptions import ConfigError
from .config import _search_config, default_min_significance
from .grid_search import _check_arguments
from .inputs import _pick_columns
from .linker import Linker, LinkerNetwork
from .result import Association

__all__ = ["associate_phaselink"]

#: Passes of locating linked picks (step 3-4); later passes take the picks no event took.
PASSES = 3
#: Start picks per call of the linker (the pick skipping of ``skip_linked`` acts between blocks).
BLOCK = 32


@dataclass
class _SortedPicks:
    """The usable picks by time: ``position`` in the input table, station row, phase, time (s
    after ``epoch``) and kernel weight."""

    position: np.ndarray
    station: np.ndarray
    phase: np.ndarray
    time: np.ndarray
    weight: np.ndarray
    epoch: np.datetime64

    def __len__(self) -> int:
        return len(self.position)


def associate_phaselink(
    picks: Picks,
    stations: Stations,
    velocity_model,
    linker,
    *,
    xlim=None,
    ylim=None,
    zlim=None,
    tolerance_s: float = 1.0,
    max_distance_km: float | None = None,
    min_picks: int = 8,
    min_p: int = 3,
    min_s: int = 2,
    min_p_and_s: int = 2,
    max_rms_s: float | None = None,
    min_significance: float | None = None,
    threshold: float = 0.5,
    min_nucleate: int | None = None,
    min_merge: int = 3,
    merge_fraction: float = 0.5,
    skip_linked: int = 2,
    use_probability: bool = False,
    reference=None,
    unknown_stations: str = "raise",
    batch_size: int = 128,
    workers: int | None = None,
    progress: bool = False,
) -> Association:
    """Group picks into events with a PhaseLink linker (see the module docstring).

    Parameters
    ----------
    picks, stations, velocity_model
        As for :func:`~seiscore.association.associate` (the velocity model should be the one
        the linker was trained with; another one is noted).
    linker : str, Path or Linker
        The ONNX linker (``seiscore train-associator`` writes it, its card beside it).
    xlim, ylim, zlim : (float, float), optional
        Event volume, km (default: the linker's, from its card).
    tolerance_s, max_distance_km, min_picks, min_p, min_s, min_p_and_s, max_rms_s,
    min_significance, use_probability, unknown_stations
        As for :func:`~seiscore.association.associate`.
    threshold : float
        Link probability at or above which a pick is linked to the start pick.
    min_nucleate, min_merge, merge_fraction
        Clustering (step 2): least linked-set size (default ``max(3, (min_picks + 1) // 2)``),
        and what two sets must share to merge.
    skip_linked : int
        A pick already linked by this many sets of ``min_nucleate`` or more starts no sequence
        of its own (0: every pick does, as PhaseLink; faster the larger the events).
    reference : (lat, lon), optional
        Ignored when the linker's card has one (the features are in its frame).
    batch_size : int
        Sequences per ONNX Runtime call (speed only).
    workers : int, optional
        Threads (ONNX Runtime and the kernels; default all cores).
    progress : bool
        A progress bar over the linking.

    Returns
    -------
    Association
        Events, per-pick event ids and residuals, scores and significance; ``stats`` has the
        grid search's counts plus ``n_sequences``, ``n_clusters``, ``n_located``, ``link_s``
        (time in the linker) and ``method = "phaselink"``.
    """
    t_start = _time.perf_counter()
    settings = _check_settings(
        picks, stations, unknown_stations, threshold=threshold, min_nucleate=min_nucleate,
        min_merge=min_merge, merge_fraction=merge_fraction, batch_size=batch_size,
        min_picks=min_picks, skip_linked=skip_linked,
    )  # fmt: skip
    nworkers = check_workers(workers)
    if not isinstance(linker, Linker):
        linker = Linker.load(linker, threads=nworkers)
    net = linker.network_for(stations, velocity_model, xlim=xlim, ylim=ylim, zlim=zlim,
                             workers=nworkers)  # fmt: skip
    columns = _pick_columns(picks, stations, unknown_stations, use_probability)
    config = _search_config(
        net.search_volume, tolerance_s=tolerance_s, tolerance_fraction=0.0,
        max_distance_km=max_distance_km, min_pick_fraction=0.25, min_picks=min_picks,
        min_p=min_p, min_s=min_s, min_p_and_s=min_p_and_s, max_rms_s=max_rms_s,
        min_significance=min_significance, block_s=1800.0, bin_s=1.0, workers=nworkers,
    )  # fmt: skip
    if config["min_significance"] is None:
        config["min_significance"] = default_min_significance(
            net.search_volume, config["tolerance_s"], net.surface_velocity["P"]
        )
    sp = _sorted_picks(columns)
    stats = {}
    t = _time.perf_counter()
    sets = _linked_sets(linker, net, sp, settings, nworkers, progress)
    stats["link_s"] = _time.perf_counter() - t
    stats["n_sequences"] = len(sets[0]) - 1
    events, stats2 = _events(net, sp, sets, settings, config)
    stats.update(stats2)
    result = _result(picks, columns, sp, net, events, config, settings, stats, t_start)
    result.notes.extend(net.notes)
    return result


def _check_settings(picks, stations, unknown_stations, **s) -> dict:
    """The clustering settings, checked (ConfigError), after the inputs (InputError)."""
    _check_arguments(picks, stations, unknown_stations)
    if not (isinstance(s["threshold"], (int, float)) and 0.0 < s["threshold"] <= 1.0):
        raise ConfigError(f"threshold: expected a probability in (0, 1], got {s['threshold']!r}")
    if not (isinstance(s["merge_fraction"], (int, float)) and 0.0 <= s["merge_fraction"] <= 1.0):
        raise ConfigError(
            f"merge_fraction: expected a fraction in [0, 1], got {s['merge_fraction']!r}"
        )
    if s["min_nucleate"] is None:
        s["min_nucleate"] = max(3, (int(s["min_picks"]) + 1) // 2)
    for key in ("min_nucleate", "min_merge", "batch_size", "skip_linked"):
        v = s[key]
        low = 0 if key == "skip_linked" else 1
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < low:
            raise ConfigError(f"{key}: expected a whole number >= {low}, got {v!r}")
    return s


def _sorted_picks(columns) -> _SortedPicks:
    idx = columns.index
    order = idx[np.argsort(columns.t_sec[idx], kind="stable")]
    return _SortedPicks(
        position=order,
        station=np.ascontiguousarray(columns.row[order], np.int32),
        phase=np.ascontiguousarray(columns.phase[order], np.int8),
        time=np.ascontiguousarray(columns.t_sec[order], np.float64),
        weight=np.ascontiguousarray(columns.weight[order], np.float32),
        epoch=columns.epoch,
    )


def _linked_sets(linker: Linker, net: LinkerNetwork, sp: _SortedPicks, s: dict, workers, progress):
    """``(offsets, members)``: per start pick, itself and the picks the linker links to it (CSR,
    in start order). Starts go in blocks of ``BLOCK``; with ``skip_linked`` > 0 a pick that
    earlier sets of at least ``min_nucleate`` picks linked that many times starts no sequence
    (its event is already seen)."""
    from contextlib import nullcontext

    n = len(sp)
    window = float(net.features["window_s"])
    linked = np.zeros(n, np.int32)
    counts, members = [], []
    bar = nullcontext()
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=n, unit="pick", desc="linking")
    with bar as b:
        for b0 in range(0, n, BLOCK):
            block = np.arange(b0, min(n, b0 + BLOCK), dtype=np.int64)
            if s["skip_linked"]:
                block = block[linked[block] < s["skip_linked"]]
            if len(block):
                c, m = _link_block(linker, net, sp, block, window, s, workers)
                counts.append(c)
                members.append(m)
                big = np.repeat(c >= s["min_nucleate"], c)
                np.add.at(linked, m[big], 1)
            if b is not None:
                b.update(min(n, b0 + BLOCK) - b0)
    counts = np.concatenate(counts) if counts else np.zeros(0, np.int64)
    offsets = np.zeros(len(counts) + 1, np.int64)
    np.cumsum(counts, out=offsets[1:])
    members = np.concatenate(members) if members else np.zeros(0, np.int64)
    return offsets, np.ascontiguousarray(members, np.int64)


def _link_block(linker, net, sp, starts, window, s, workers):
    """(set sizes, members) of the sequences from ``starts`` (the picks they may reach are
    handed to the kernel as a slice)."""
    lo = int(starts[0])
    hi = int(np.searchsorted(sp.time, sp.time[starts[-1]] + window, side="right"))
    x, index, length = _core.association.phaselink_sequences(
        net.x_km, net.y_km, sp.station[lo:hi], sp.phase[lo:hi], sp.time[lo:hi], starts - lo,
        net.features, *net.pair_bounds(), workers,
    )  # fmt: skip
    prob = np.zeros(index.shape, np.float32)
    order = np.argsort(length, kind="stable")
    for b0 in range(0, len(order), s["batch_size"]):
        sel = order[b0 : b0 + s["batch_size"]]
        k = max(1, int(length[sel].max()))
        prob[sel, :k] = linker(x[sel, :k])
    keep = (prob >= s["threshold"]) & (index >= 0)
    keep[:, 0] = True
    return keep.sum(axis=1), index[keep] + lo


def _csr(groups: np.ndarray, n_groups: int):
    """CSR (offsets, members) of the picks of each group id in [0, n_groups) (members in
    pick order)."""
    idx = np.flatnonzero(groups >= 0)
    g = groups[idx]
    order = np.argsort(g, kind="stable")
    offsets = np.zeros(n_groups + 1, np.int64)
    np.cumsum(np.bincount(g, minlength=n_groups), out=offsets[1:])
    return offsets, np.ascontiguousarray(idx[order], np.int64)


def _locate(net: LinkerNetwork, sp: _SortedPicks, offsets, members, config, max_events) -> dict:
    cfg = dict(
        net.volume,
        tolerance_s=config["tolerance_s"],
        slowness_s_km=min(1.0 / net.surface_velocity["S"], 2.0),
        min_step_km=0.25,
        min_picks=config["min_picks"],
        max_events=max_events,
        workers=config["workers"],
    )
    return _core.association.phaselink_locate(
        sp.station, sp.phase, sp.time, *net.kernel_network(), offsets, members, cfg
    )


def _origins(loc: dict) -> np.ndarray:
    return np.ascontiguousarray(np.c_[loc["x_km"], loc["y_km"], loc["z_km"], loc["time"]])


def _meets(config: dict, station: np.ndarray, phase: np.ndarray) -> bool:
    """Whether picks (one per station and phase) make an event by the acceptance counts."""
    n_p = int((phase == 0).sum())
    n_s = len(phase) - n_p
    both = len(np.intersect1d(station[phase == 0], station[phase == 1], assume_unique=True))
    return (
        len(phase) >= config["min_picks"]
        and n_p >= config["min_p"]
        and n_s >= config["min_s"]
        and both >= config["min_p_and_s"]
    )


def _claim(net: LinkerNetwork, sp: _SortedPicks, origins: np.ndarray, config: dict):
    """Step 4: ``(pick_event, residual, kept)`` — each pick's event (-1: none) and residual,
    and the indices of the kept events in ``origins``."""
    tol = config["tolerance_s"]
    max_d = config["max_distance_km"]
    rows = _core.association.phaselink_match(
        sp.station, sp.phase, sp.time, *net.kernel_network(), origins, tol,
        max_d if np.isfinite(max_d) else 1e9, config["workers"],
    )  # fmt: skip
    ev, pk, res = rows["event"], rows["pick"], rows["residual"]
    n_ev = len(origins)
    score = np.bincount(ev, weights=1.0 - (res / tol) ** 2, minlength=n_ev)
    bounds = np.searchsorted(ev, np.arange(n_ev + 1))
    pick_event = np.full(len(sp), -1, np.int64)
    residual = np.full(len(sp), np.nan, np.float32)
    kept = []
    for e in np.argsort(-score, kind="stable"):
        sl = slice(bounds[e], bounds[e + 1])
        p, r = pk[sl], res[sl]
        free = pick_event[p] < 0
        p, r = p[free], r[free]
        if _meets(config, sp.station[p], sp.phase[p]):
            pick_event[p] = e
            residual[p] = r
            kept.append(e)
    return pick_event, residual, np.array(sorted(kept), np.int64)


def _settle(net: LinkerNetwork, sp: _SortedPicks, origins: np.ndarray, config: dict):
    """Step 4 (twice: assign, relocate from the assigned picks), then the final assignment:
    ``(origins, pick_event, residual)`` of the kept events."""
    for _ in range(2):
        pick_event, _, kept = _claim(net, sp, origins, config)
        remap = np.full(len(origins), -1, np.int64)
        remap[kept] = np.arange(len(kept))
        groups = np.where(pick_event >= 0, remap[np.maximum(pick_event, 0)], -1)
        origins = _origins(_locate(net, sp, *_csr(groups, len(kept)), config, max_events=1))
    pick_event, residual, kept = _claim(net, sp, origins, config)
    remap = np.full(len(origins), -1, np.int64)
    remap[kept] = np.arange(len(kept))
    pick_event = np.where(pick_event >= 0, remap[np.maximum(pick_event, 0)], -1)
    return origins[kept], pick_event, residual


def _events(net: LinkerNetwork, sp: _SortedPicks, sets, s: dict, config: dict):
    """Steps 2–4: ``(events, stats)``; events is a dict with ``origins[n, 4]``,
    ``pick_event`` and ``residual`` over the sorted picks. After the first pass, the linked
    picks that no event took are located again by cluster (they may hide an event that a
    larger one's cluster swallowed), up to :data:`PASSES` passes while events are added."""
    offsets, members = sets
    link_cfg = {k: s[k] for k in ("min_nucleate", "min_merge", "merge_fraction")}
    cluster, _, n_clusters = _core.association.phaselink_link(offsets, members, len(sp), link_cfg)
    stats = {"n_clusters": int(n_clusters), "n_located": 0}
    origins = np.zeros((0, 4))
    pick_event = np.full(len(sp), -1, np.int64)
    residual = np.full(len(sp), np.nan, np.float32)
    groups = cluster
    for _ in range(PASSES):
        found = _origins(_locate(net, sp, *_csr(groups, int(n_clusters)), config, max_events=3))
        stats["n_located"] += len(found)
        if not len(found):
            break
        n_before = len(origins)
        origins, pick_event, residual = _settle(net, sp, np.vstack([origins, found]), config)
        if len(origins) <= n_before:
            break
        groups = np.where(pick_event < 0, cluster, -1)
    return {"origins": origins, "pick_event": pick_event, "residual": residual}, stats


def _significance(sp: _SortedPicks, net: LinkerNetwork, origins: np.ndarray, config: dict):
    """The grid search's score and significance of each origin over all usable picks."""
    if not len(origins):
        return np.zeros(0), np.zeros(0)
    cfg = dict(config, min_significance=float(config["min_significance"]))
    cfg["max_rms_s"] = float(cfg["max_rms_s"])
    out = _core.association.score_origins(
        sp.station, sp.phase, sp.time, sp.weight, net.x_km, net.y_km,
        np.zeros((len(net.x_km), 2), np.float32), net.times, net.axes, cfg,
        np.ascontiguousarray(origins, np.float64), net.station_table,
    )  # fmt: skip
    return np.asarray(out["score"], np.float64), np.asarray(out["significance"], np.float64)


def _result(picks, columns, sp, net, events, config, settings, stats, t_start) -> Association:
    """Step 5 and the :class:`Association`: events that pass the significance and RMS limits,
    sorted by origin time."""
    origins, pick_event, residual = events["origins"], events["pick_event"], events["residual"]
    n_ev = len(origins)
    score, significance = _significance(sp, net, origins, config)
    has = pick_event >= 0
    sq = np.bincount(pick_event[has], weights=residual[has].astype(np.float64) ** 2, minlength=n_ev)
    count = np.bincount(pick_event[has], minlength=n_ev)
    rms = np.sqrt(sq / np.maximum(count, 1))
    keep = (count > 0) & (significance >= config["min_significance"])
    keep &= rms <= config["max_rms_s"]
    kept = np.flatnonzero(keep)
    kept = kept[np.argsort(origins[kept, 3], kind="stable")]
    new_id = np.full(n_ev, -1, np.int64)
    new_id[kept] = np.arange(len(kept))
    ev_sorted = np.where(has, new_id[np.maximum(pick_event, 0)], -1)
    event_id = np.full(len(picks), -1, np.int64)
    res = np.full(len(picks), np.nan, np.float32)
    event_id[sp.position] = ev_sorted
    res[sp.position] = np.where(ev_sorted >= 0, residual, np.nan)
    table = _events_table(origins[kept], ev_sorted, sp, rms[kept], sp.epoch, net.reference)
    stats.update(_counts(picks, columns, event_id, len(kept), sp, t_start))
    cfg = dict(config, method="phaselink", use_probability=bool((columns.weight != 1).any()))
    cfg.update(table_model=net.model, **{k: v for k, v in settings.items() if k != "min_picks"})
    notes = []
    if stats["n_duplicate"]:
        notes.append(
            f"{stats['n_duplicate']} duplicate picks (the same station, location and phase "
            "within 1 ms of another pick) were left out of the association"
        )
    return Association(
        table, picks, event_id, res, score[kept].astype(np.float32),
        significance[kept].astype(np.float32), stats, tuple(net.reference), cfg, notes,
    )  # fmt: skip


def _events_table(origins, ev_sorted, sp, rms, epoch, reference) -> Events:
    n = len(origins)
    has = ev_sorted >= 0
    n_p = np.bincount(ev_sorted[has & (sp.phase == 0)], minlength=n).astype(np.int32)
    n_s = np.bincount(ev_sorted[has & (sp.phase == 1)], minlength=n).astype(np.int32)
    x, y = origins[:, 0], origins[:, 1]
    if np.isfinite(reference[0]):
        lat, lon = geo.unproject(x, y, *reference)
    else:
        lat = lon = np.full(n, np.nan)
    return Events(
        event_id=np.arange(n, dtype=np.int64),
        time=epoch + np.round(origins[:, 3] * 1e9).astype("timedelta64[ns]"),
        latitude=np.asarray(lat, np.float64).reshape(n),
        longitude=np.asarray(lon, np.float64).reshape(n),
        depth_km=np.ascontiguousarray(origins[:, 2], np.float64),
        x_km=np.ascontiguousarray(x, np.float64),
        y_km=np.ascontiguousarray(y, np.float64),
        n_p=n_p,
        n_s=n_s,
        rms_s=np.asarray(rms, np.float32),
    )


def _counts(picks, columns, event_id, n_events, sp, t_start) -> dict:
    n_assoc = int((event_id >= 0).sum())
    span_h = float(sp.time[-1] - sp.time[0]) / 3600.0 if len(sp) else 0.0
    return {
        "method": "phaselink",
        "n_picks": len(picks),
        "n_associated": n_assoc,
        "n_unassociated": len(picks) - n_assoc,
        "n_unknown_station": int(columns.unknown.sum()),
        "n_other_phase": int((columns.other & ~columns.unknown).sum()),
        "n_duplicate": int(columns.duplicate.sum()),
        "n_events": n_events,
        "span_hours": span_h,
        "events_per_hour": n_events / span_h if span_h > 0 else float("nan"),
        "elapsed_s": _time.perf_counter() - t_start,
    }
