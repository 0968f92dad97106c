"""The correlate() driver: check the arguments, plan the run, cut it into UTC days, run the days
here or on a Dask cluster, and assemble the Dataset."""

from __future__ import annotations

import logging

import numpy as np

from .._backend import resolve_device
from .._validate import check_workers
from ..containers import Waveforms
from ..exceptions import InputError
from ._common import _DAY_NS, _NS, _iso, _positive, _to_ns
from .assemble import _assemble, _attrs, _Totals
from .days import _records_from_waveforms, _run_day, _run_day_loaded, _slice_records
from .pairs import _network, _parse_components
from .plan import _Grid, _make_plan, _Plan, _processing, _stacking, _window_grid
from .spectra import _check_normalize, _cuda_correlation
from .stack import _stack_methods

log = logging.getLogger("seiscore.correlation")


def correlate(
    waveforms,
    stations=None,
    *,
    pairs="all",
    max_distance_km: float | None = None,
    components="ZZ",
    window_s: float = 3600.0,
    overlap: float = 0.0,
    starttime=None,
    endtime=None,
    sampling_rate: float | None = None,
    freqmin: float | None = None,
    freqmax: float | None = None,
    corners: int = 4,
    taper: float = 0.05,
    detrend: bool = True,
    temporal_norm: str = "none",
    ram_window_s: float | None = None,
    clip_factor: float = 3.0,
    whiten: bool = False,
    whiten_band=None,
    whiten_smooth_hz: float = 0.0,
    max_lag_s: float = 100.0,
    normalize: str = "coefficient",
    stack=("linear",),
    pws_power: float = 2.0,
    robust_epsilon: float = 1e-4,
    robust_max_iter: int = 10,
    selective_threshold: float = 0.3,
    substacks: bool = True,
    keep_windows: bool = False,
    max_over_std: float | None = 20.0,
    max_flat_s: float | None = 2.0,
    subsample_shift: bool = True,
    device: str = "cpu",
    client=None,
    workers: int | None = None,
    progress: bool = False,
):
    """Cross-correlate ambient noise for every selected station pair and stack.

    Parameters
    ----------
    waveforms : Waveforms, sequence of Waveforms, or callable
        Continuous records (:func:`seiscore.io.to_waveforms` gives them with E, N, Z rows and NaN
        gaps); a station may have several records (e.g. one per day). Or a function
        ``loader(t0, t1) -> Waveforms or list`` (``t0``, ``t1``: ``numpy.datetime64[ns]``) that
        reads the data of a time span; then ``stations``, ``starttime`` and ``endtime`` are
        required, days are loaded one at a time, and with ``client`` each worker loads its own
        days (the loader must be picklable).
    stations : Stations or sequence of ids, optional
        Coordinates (``seiscore.io.read_stations``), matched by ``NET.STA.LOC`` (or ``NET.STA``
        when unambiguous). Needed for ``max_distance_km``, R/T components, distances in the
        result and :func:`plot_moveout`. With a list of ids, only those stations are used.
    pairs : ``"all" | "all+auto" | "auto"`` or sequence of (source, receiver) ids
        All pairs of distinct stations (sorted ids, source < receiver), with autocorrelations,
        only autocorrelations, or the given pairs (``("CI.CCA.", "CI.HEC.")`` or
        ``"CI.CCA.:CI.HEC."``).
    max_distance_km : float, optional
        Keep only pairs at most this far apart.
    components : str or sequence of str
        ``"ZZ"`` (default), ``"all"`` (the nine ENZ combinations), ``"RTZ"`` (the nine rotated
        ones), or codes such as ``["ZZ", "RR", "TT"]``.
    window_s, overlap : float
        Window length (s) and overlap fraction in [0, 1).
    starttime, endtime : time, optional
        Window grid origin (default: the earliest sample of the data) and end (default: the last
        sample); a window must fit in ``[starttime, endtime]``.
    sampling_rate : float, optional
        Target rate; records are decimated by the integer factor (see :func:`decimate`). Default:
        the common rate of the records (an error if they differ).
    freqmin, freqmax, corners, taper, detrend, temporal_norm, ram_window_s, clip_factor :
        Time-domain processing of each window, see :func:`preprocess`.
    whiten, whiten_band, whiten_smooth_hz :
        Spectral whitening (see :func:`whiten_spectra`); the band defaults to
        ``(freqmin, freqmax)``.
    max_lag_s : float
        Lags kept, ``-max_lag_s .. max_lag_s`` (rounded to samples).
    normalize : ``"coefficient" | "none"``
    stack : str or sequence
        Stacks to compute, any of ``"linear"``, ``"pws"``, ``"robust"``, ``"selective"`` (see
        :func:`stack`). Linear stacks are summed in the frequency domain (one inverse FFT per
        pair and day) unless per-window CCFs are needed (other methods, ``keep_windows``).
        ``robust`` and ``selective`` over all days keep every window's CCF in memory.
    pws_power, robust_epsilon, robust_max_iter, selective_threshold :
        Stack parameters.
    substacks : bool
        Also return one stack per UTC day (``daily_*`` variables) for monitoring.
    keep_windows : bool
        Also return every window's CCF (``ccf_windows[window, pair, component, lag]``, NaN where
        a pair-window was not available).
    max_over_std, max_flat_s : float or None
        Glitch tests (see :func:`preprocess`); ``None`` disables one.
    subsample_shift : bool
        Remove each station's sub-sample offset from the window grid in the frequency domain.
    device : ``"cpu" | "cuda" | "auto"``
    client : dask.distributed.Client, optional
        Distribute the days over the cluster; ``None`` runs them here, one after the other, each
        on ``workers`` threads.
    workers : int, optional
        Threads for the C++ kernels and scipy.fft (default: all cores).
    progress : bool
        Show a progress bar over days.

    Returns
    -------
    xarray.Dataset
        ``ccf_<method>[pair, component, lag]`` (float32), ``n_windows[pair, component]`` (windows
        stacked), ``daily_<method>[day, pair, component, lag]`` and ``daily_n_windows`` (with
        ``substacks``), ``n_selected`` / ``daily_n_selected`` (selective),
        ``ccf_windows`` (with ``keep_windows``), and per station and channel the window counts
        ``windows_used``, ``windows_gap``, ``windows_flat``, ``windows_spike``,
        ``windows_absent``, ``windows_incomplete`` (another channel failed; R/T only).
        Coordinates: ``pair`` (``"SOURCE:RECEIVER"``), ``source``, ``receiver``,
        ``distance_km``, ``azimuth_deg`` (source → receiver), ``backazimuth_deg``, source and
        receiver latitude/longitude/elevation, ``component``, ``lag`` (s), ``day``
        (datetime64), ``station`` and ``channel``. Attributes record every processing parameter.

    Raises
    ------
    InputError
        Bad parameters, or data that cannot be used (the message names the station or the
        parameter).
    """
    # the plan: arguments checked, stations and pairs, window grid, processing, stacks
    methods = _stack_methods(stack)
    _check_normalize(normalize)
    nworkers = check_workers(workers)
    dev = resolve_device(device)
    if dev == "cuda":
        _cuda_correlation()  # fail now, naming the fix, when the CUDA kernels are missing
    requested, computed, rotate = _parse_components(components)
    messages: list[str] = []
    loader, data = _inputs(waveforms, stations, starttime, endtime)
    net = _network(data, stations, pairs, max_distance_km, rotate, messages)
    fs = _target_rate(sampling_rate, data, net.ids)
    grid = _window_grid(window_s, overlap, max_lag_s, fs)
    processing = _processing(
        fs,
        grid.nfft,
        freqmin=freqmin,
        freqmax=freqmax,
        corners=corners,
        taper=taper,
        detrend=detrend,
        temporal_norm=temporal_norm,
        ram_window_s=ram_window_s,
        clip_factor=clip_factor,
        whiten=whiten,
        whiten_band=whiten_band,
        whiten_smooth_hz=whiten_smooth_hz,
        max_over_std=max_over_std,
        max_flat_s=max_flat_s,
    )
    stacking = _stacking(
        methods,
        normalize,
        pws_power=pws_power,
        robust_epsilon=robust_epsilon,
        robust_max_iter=robust_max_iter,
        selective_threshold=selective_threshold,
        keep_windows=keep_windows,
    )
    plan = _make_plan(
        net,
        computed,
        grid,
        processing,
        stacking,
        rotate=rotate,
        subsample_shift=subsample_shift,
        device=dev,
        workers=nworkers,
    )

    # the days, one task each, here or on the Dask cluster
    records = None if data is None else _records_from_waveforms(data, plan, messages)
    t0, t_end = _time_range(records, starttime, endtime, fs, requested)
    tasks = _day_tasks(_window_starts(t0, t_end, grid), grid.win_ns)
    totals = _Totals(plan, bool(substacks))
    results = _run_tasks(tasks, loader, records, plan, client, progress, totals)
    for r in results:
        messages.extend(r.messages)

    # the Dataset, with every processing parameter in its attributes
    ds = _assemble(results, totals, plan, net, requested, rotate=rotate, substacks=bool(substacks))
    run = dict(**grid.attrs(), **processing.attrs)
    run.update(starttime=_iso(t0), endtime=_iso(t_end), normalize=normalize)
    ds.attrs.update(_attrs(plan, run))
    if messages:
        ds.attrs["messages"] = "\n".join(messages)
        for m in messages:
            log.info("%s", m)
    return ds


def _inputs(waveforms, stations, starttime, endtime) -> tuple[object, list[Waveforms] | None]:
    """``(loader, None)`` for a loader function, else ``(None, records)``."""
    if callable(waveforms) and not isinstance(waveforms, Waveforms):
        if stations is None or starttime is None or endtime is None:
            raise InputError(
                "with a loader function, stations=, starttime= and endtime= are required"
            )
        return waveforms, None
    data = [waveforms] if isinstance(waveforms, Waveforms) else list(waveforms)
    if not data:
        raise InputError("waveforms: no records given")
    for w in data:
        if not isinstance(w, Waveforms):
            raise InputError(f"waveforms: expected seiscore Waveforms, got {type(w).__name__}")
    return None, data


def _target_rate(sampling_rate, data, ids) -> float:
    """The rate to correlate at: given, or the common rate of the records of ``ids``."""
    if sampling_rate is not None:
        return _positive(sampling_rate, "sampling_rate")
    if data is None:
        raise InputError("with a loader function, sampling_rate= is required")
    rates = sorted({float(w.sampling_rate) for w in data if w.id in ids})
    if len(rates) != 1:
        raise InputError(
            f"records have different sampling rates {rates} Hz; choose one with sampling_rate="
        )
    return rates[0]


def _time_range(records, starttime, endtime, fs: float, requested) -> tuple[int, int]:
    """Origin and end (ns) of the window grid: given, or the first and last sample of the data
    (``records`` is None with a loader; then both times are given)."""
    if records is not None:
        spans = [
            (r.start_ns, r.start_ns + int(round((r.data.shape[1] - 1) * _NS / fs)))
            for rs in records.values()
            for r in rs
        ]
        if not spans:
            raise InputError(f"no usable records for the components {requested}")
        t_first = min(s for s, _ in spans)
        t_last = max(e for _, e in spans)
    t0 = _to_ns(starttime, "starttime") if starttime is not None else int(t_first)
    t_end = (
        _to_ns(endtime, "endtime") if endtime is not None else int(t_last) + int(round(_NS / fs))
    )
    if t_end <= t0:
        raise InputError(f"endtime {_iso(t_end)} is not after starttime {_iso(t0)}")
    return t0, t_end


def _window_starts(t0: int, t_end: int, grid: _Grid) -> np.ndarray:
    """Start (ns) of every window that fits in ``[t0, t_end]``."""
    win_ns = grid.win_ns
    n_windows = (t_end - t0 - win_ns) // grid.step_ns + 1 if t_end - t0 >= win_ns else 0
    if n_windows <= 0:
        raise InputError(
            f"no complete {grid.window_s} s window between {_iso(t0)} and {_iso(t_end)}"
        )
    return t0 + grid.step_ns * np.arange(n_windows, dtype=np.int64)


def _day_tasks(window_ns: np.ndarray, win_ns: int) -> list[tuple]:
    """``(day start, window starts, (first sample, end of last window))`` (ns) per UTC day; a
    window belongs to the day in which it starts."""
    day_of = window_ns // _DAY_NS
    tasks = []
    for d in np.unique(day_of):
        wn = window_ns[day_of == d]
        tasks.append((int(d) * _DAY_NS, wn, (int(wn[0]), int(wn[-1]) + win_ns)))
    return tasks


def _run_tasks(tasks, loader, records, plan: _Plan, client, progress, totals: _Totals):
    """Run the days here, one after the other, or on the Dask ``client``; fold each result into
    ``totals`` as it arrives. Returns the day results in day order."""
    from tqdm.auto import tqdm

    calls = (_day_call(task, loader, records, plan) for task in tasks)
    bar = tqdm(total=len(tasks), desc="correlating days", unit="day", disable=not progress)
    results = []
    try:
        if client is None:
            for fn, args in calls:
                results.append(totals.fold(fn(*args)))
                bar.update(1)
        else:
            from distributed import as_completed

            futures = [client.submit(fn, *args, pure=False) for fn, args in calls]
            for fut in as_completed(futures):
                results.append(totals.fold(fut.result()))
                fut.release()
                bar.update(1)
    finally:
        bar.close()
    results.sort(key=lambda r: r.day_ns)
    return results


def _day_call(task, loader, records, plan: _Plan):
    """The function and arguments that correlate one day (with the day's slice of the records,
    or the loader and the span it reads)."""
    day_ns, wn, span = task
    fs = plan.sampling_rate
    if loader is not None:
        return _run_day_loaded, (loader, _loader_span(span, fs), day_ns, wn, plan)
    return _run_day, (_slice_records(records, span[0], span[1], fs), day_ns, wn, plan)


def _loader_span(span, fs):
    """The span a loader reads for a day: the day's windows plus 2 s and 64 samples each side
    (so that decimation filters see real data at the window edges)."""
    pad = int(2 * _NS + 64 * _NS / fs)
    return span[0] - pad, span[1] + pad
