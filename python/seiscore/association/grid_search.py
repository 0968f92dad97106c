""":func:`associate`: picks → events by the C++ search in ``seiscore._core.association``
(contract: ``cpp/seiscore/association/grid_search.hpp``; the algorithm is described in
:mod:`seiscore.association`)."""

from __future__ import annotations

import time as _time

import numpy as np

from .. import _core
from .._validate import check_workers
from ..containers import Picks, Stations
from ..exceptions import ConfigError, InputError
from .config import (
    _check_cells,
    _check_memory,
    _search_config,
    _search_volume,
    default_min_significance,
)
from .inputs import _pick_columns, _PickColumns, _station_xy
from .null_test import NullTest, run_null_test, windows_for
from .result import Association, _build_result
from .tables import _as_table, _check_reach, _datum_note, _kernel_tables, _KernelTables


def associate(
    picks: Picks,
    stations: Stations,
    velocity_model,
    *,
    xlim=None,
    ylim=None,
    zlim=(0.0, 40.0),
    cell_km: float | None = None,
    cell_depth_km: float | None = None,
    tolerance_s: float = 1.0,
    tolerance_fraction: float = 0.0,
    max_distance_km: float | None = None,
    min_pick_fraction: float = 0.25,
    min_picks: int = 8,
    min_p: int = 3,
    min_s: int = 2,
    min_p_and_s: int = 2,
    max_rms_s: float | None = None,
    min_significance: float | None = None,
    use_probability: bool = False,
    block_s: float = 1800.0,
    bin_s: float = 1.0,
    reference=None,
    unknown_stations: str = "raise",
    workers: int | None = None,
    null_test=False,
    null_test_window_s: float | None = None,
    null_test_seed: int = 0,
) -> Association:
    """Group picks into events by a search over space and origin time.

    Parameters
    ----------
    picks : Picks
        Pick table (as ``seiscore-pick`` writes it); phases ``P`` and ``S`` (case-insensitive)
        take part, others are left unassociated and counted in ``stats["n_other_phase"]``.
    stations : Stations
        Station table. Picks are matched to it by ``network.station.location``, or by
        ``network.station`` when that names a single station. ``x_km``/``y_km`` are used when
        set (the projection reference is then recovered from latitude/longitude, or taken from
        ``reference``); otherwise the stations are projected around ``reference`` or their mean
        position.
    velocity_model : seiscore.traveltime.VelocityModel, path, or TravelTimeTable
        A 1-D model (tables are built for the needed distances and depths), a model file, or a
        ready (depth, distance) table with P and S.
    xlim, ylim : (float, float), optional
        Horizontal search limits, km (default: :func:`~.config.default_volume` of the stations).
    zlim : (float, float)
        Depth limits, km below sea level.
    cell_km, cell_depth_km : float, optional
        Coarse cell size (default: the longer horizontal side / 24, within 3–20 km; vertically
        the same, at most half the depth range).
    tolerance_s, tolerance_fraction : float
        A pick matches a predicted arrival within ``tolerance_s + tolerance_fraction *
        travel_time`` seconds.
    max_distance_km : float, optional
        Only stations within this epicentral distance of an event take part (default: all).
    min_pick_fraction : float
        Distance criterion (PyOcto's rule): walking the stations outwards from the epicentre,
        picks at stations beyond the last distance where at least this fraction of the stations
        so far have a pick are not associated (0 turns it off).
    min_picks, min_p, min_s, min_p_and_s : int
        An event needs at least ``min_picks`` picks, ``min_p`` P, ``min_s`` S and
        ``min_p_and_s`` stations with both.
    max_rms_s : float, optional
        And at most this RMS time residual (default: no limit).
    min_significance : float, optional
        And a significance of at least this (``-log10`` of the probability that its picks fall
        into their windows by chance; see :mod:`seiscore.association`). Default:
        :func:`~.config.default_min_significance` (``log10`` of the search's trials per hour
        plus a margin tuned on synthetic data); 0 turns it off. The value used is in
        ``config["min_significance"]``, each event's in :attr:`Association.significance`.
    use_probability : bool
        Weight each pick by its probability in the scoring (``False``: all weigh 1). Missing
        probabilities weigh 1.
    block_s, bin_s : float
        Time block length (s; memory is bounded by it) and origin-time bin of the histogram.
    reference : (lat, lon), optional
        Projection centre for station coordinates and event latitude/longitude.
    unknown_stations : ``"raise"`` or ``"skip"``
        Picks at stations missing from the station table raise ``InputError`` (default), or are
        left unassociated and counted in ``stats["n_unknown_station"]``.
    workers : int, optional
        Threads (default: all cores). The result does not depend on it.
    null_test : bool, int or "auto"
        Also run the null test (:mod:`~.null_test`): ``True`` three seeded windows of
        station-shifted picks (an hour each, or the span), an int that many; ``"auto"`` the same
        but over 1 % of the span, not run (quietly) under 10 minutes of it. The outcome is in
        :attr:`Association.null_test`, ``stats["null_events_per_hour"]`` and the summary; the
        events found are the same as without it.
    null_test_window_s : float, optional
        Length of each null-test window (s).
    null_test_seed : int
        Seed of the shifts.

    Returns
    -------
    Association
        Events, per-pick event ids and residuals, and counts (see :class:`Association`).

    Raises
    ------
    InputError
        Empty picks or stations, picks at unknown stations, station coordinates out of range,
        pick times outside 1678–2261, more than 20 picks of one phase at one station within
        1 s (no picker makes that many; thin them by probability), a model or table that cannot
        reach the stations from the search volume, or stations too far apart for a layered
        model (the farthest pair is named).
    ConfigError
        Bad parameters, or a search volume too large for memory (more than 4 million coarse
        cells, or too many windows or counters; the message names the keys and the size).

    Notes
    -----
    Exact repeats of a pick (same ``network.station.location`` and phase, times within 1 ms)
    are left out of the search, counted in ``stats["n_duplicate"]`` and noted in
    :attr:`Association.notes` (a picks file given twice gives the same events as once).
    """
    t_start = _time.perf_counter()
    _check_arguments(picks, stations, unknown_stations)
    nworkers = check_workers(workers)
    sx, sy, reference = _station_xy(stations, reference)
    columns = _pick_columns(picks, stations, unknown_stations, use_probability)
    volume = _search_volume(sx, sy, xlim, ylim, zlim, cell_km, cell_depth_km)
    config = _search_config(
        volume,
        tolerance_s=tolerance_s,
        tolerance_fraction=tolerance_fraction,
        max_distance_km=max_distance_km,
        min_pick_fraction=min_pick_fraction,
        min_picks=min_picks,
        min_p=min_p,
        min_s=min_s,
        min_p_and_s=min_p_and_s,
        max_rms_s=max_rms_s,
        min_significance=min_significance,
        block_s=block_s,
        bin_s=bin_s,
        workers=nworkers,
    )
    _check_cells(volume)
    far = volume.farthest_station_km(sx, sy)
    need_distance = min(far, config["max_distance_km"])
    _check_reach(velocity_model, stations, sx, sy, need_distance, max_distance_km)
    _check_memory(volume, config, len(stations))
    table = _as_table(velocity_model, need_distance, volume.z0, volume.z1, nworkers)
    tables = _kernel_tables(table, stations, volume, need_distance, nworkers)
    if config["min_significance"] is None:
        config["min_significance"] = default_min_significance(
            volume, config["tolerance_s"], tables.surface_vp
        )
    out = _run_search(columns, sx, sy, tables, config)
    table_model = getattr(table, "model", "")
    result = _build_result(
        out, picks, columns, reference, config, table_model, use_probability, t_start
    )
    datum = _datum_note(velocity_model, table, stations)
    if datum:
        result.notes.append(datum)
    if null_test is not False:
        null = _null_test(
            columns, sx, sy, tables, config, null_test, null_test_window_s, null_test_seed
        )
        result.set_null_test(null)
    return result


def _check_arguments(picks, stations, unknown_stations) -> None:
    """InputError unless ``picks`` is a non-empty Picks table and ``stations`` a Stations table;
    ConfigError for an ``unknown_stations`` other than "raise" or "skip"."""
    if not isinstance(picks, Picks):
        raise InputError(
            f"picks: expected a seiscore.containers.Picks table, got {type(picks).__name__}"
        )
    if not isinstance(stations, Stations):
        raise InputError(
            "stations: expected a seiscore.containers.Stations table, "
            f"got {type(stations).__name__}"
        )
    if len(picks) == 0:
        raise InputError("no picks to associate (the pick table is empty)")
    if unknown_stations not in ("raise", "skip"):
        raise ConfigError(f"unknown_stations: expected 'raise' or 'skip', got {unknown_stations!r}")


def _run_search(
    columns: _PickColumns, sx: np.ndarray, sy: np.ndarray, tables: _KernelTables, config: dict
) -> dict:
    """The kernel on the usable picks; its contract checks are reported as InputError."""
    idx = columns.index
    return _kernel(
        columns.row[idx], columns.phase[idx], columns.t_sec[idx], columns.weight[idx],
        sx, sy, tables, config,
    )  # fmt: skip


def _kernel(row, phase, t_sec, weight, sx, sy, tables: _KernelTables, config: dict) -> dict:
    """``_core.association.associate`` on these pick columns; its contract checks are reported
    as InputError."""
    try:
        return _core.association.associate(
            np.ascontiguousarray(row, np.int32),
            np.ascontiguousarray(phase, np.int8),
            np.ascontiguousarray(t_sec, np.float64),
            np.ascontiguousarray(weight, np.float32),
            sx,
            sy,
            tables.delay,
            tables.times,
            tables.axes,
            config,
            tables.station_table,
        )
    except ValueError as exc:  # a contract check in the kernel: report it as bad input
        raise InputError(str(exc)) from None


def _travel_time_span(tables: _KernelTables, config: dict) -> float:
    """The longest time (s) from an origin to the end of a matching window at any station: the
    longest travel time in the tables the search uses, plus the tolerance on both sides and a
    bin."""
    t_max = float(np.nanmax(tables.times)) + float(np.max(tables.delay, initial=0.0))
    tol = config["tolerance_s"] + config["tolerance_fraction"] * t_max
    return t_max + 2.0 * tol + config["bin_s"]


def _null_test(columns, sx, sy, tables, config, setting, window_s, seed) -> NullTest:
    """:func:`~.null_test.run_null_test` with this run's kernel, tables and settings; ConfigError
    for a bad setting."""
    if not (setting is True or setting == "auto" or _is_count(setting)):
        raise ConfigError(
            f"null_test: expected False, True, 'auto' or a number of repeats, got {setting!r}"
        )
    if window_s is not None and not (_is_number(window_s) and window_s > 0):
        raise ConfigError(f"null_test_window_s: expected a positive number, got {window_s!r}")
    idx = columns.index
    t = columns.t_sec[idx]
    span = float(t.max() - t.min()) + 1.0 if len(t) else 0.0
    repeats, length, note = windows_for(span, setting, window_s, None)
    step = _travel_time_span(tables, config)
    auto = setting == "auto"
    if repeats == 0:
        return NullTest(float("nan"), 0, 0.0, 0, 0.0, step, 0, 0, int(seed), 0.0, note, [], auto)

    def search(row, phase, t_sec, weight):
        return _kernel(row, phase, t_sec, weight, sx, sy, tables, config)

    row, phase, weight = columns.row[idx], columns.phase[idx], columns.weight[idx]
    null = run_null_test(
        search, row, phase, t, weight, step_s=step, margin_s=step, repeats=repeats,
        window_s=length, seed=int(seed),
    )  # fmt: skip
    null.automatic = auto
    return null


def _is_count(v) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v >= 1


def _is_number(v) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)
