"""Migration: the Python wrappers of the coalescence kernels (``seiscore._core.location`` on
the CPU, ``seiscore._cuda.location`` with ``device="cuda"``) — the fused maximum over the grid
per origin time (:func:`coalescence`) and full volumes (:func:`coalescence_volume`)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .. import _core
from .._backend import _cuda_module, resolve_device
from .._validate import check_workers
from ..exceptions import InputError
from ..traveltime import StationGrids, check_grid_memory
from .onsets import Onsets

__all__ = ["Coalescence", "coalescence", "coalescence_volume"]


def _as_tt(tt, onsets: Onsets) -> np.ndarray:
    """Travel-time sample offsets [n_nodes, n_stations, n_phases] matching the onsets."""
    if isinstance(tt, StationGrids):
        if tt.sampling_rate is None or abs(tt.sampling_rate - onsets.sampling_rate) > 1e-9:
            held = "seconds" if tt.sampling_rate is None else f"samples at {tt.sampling_rate:g} Hz"
            raise InputError(
                f"travel-time grids hold {held}"
                f", the onsets are at {onsets.sampling_rate:g} Hz; compute them with sampling_rate="
                f"{onsets.sampling_rate:g}"
            )
        if tuple(tt.phases) != tuple(onsets.phases):
            raise InputError(
                f"travel-time grids hold phases {list(tt.phases)}, onsets {list(onsets.phases)}"
            )
        arr = tt.select_stations(onsets.station_ids)
    else:
        arr = np.asarray(tt)
    if arr.dtype.kind == "f":
        raise InputError(
            "tt: expected int32 sample offsets "
            "(station_grids(..., sampling_rate=onsets.sampling_rate))"
        )
    expect = (len(onsets.station_ids), len(onsets.phases))
    if arr.ndim != 3 or arr.shape[1:] != expect:
        raise InputError(f"tt: expected shape [n_nodes, {expect[0]}, {expect[1]}], got {arr.shape}")
    return np.ascontiguousarray(arr, dtype=np.int32)


def _kernel(device: str):
    """(kernel module, CUDA device index) for ``device``; the index is None for the CPU kernel,
    which takes the number of worker threads in its place."""
    dev = resolve_device(device)
    return (_cuda_module().location, 0) if dev == "cuda" else (_core.location, None)


def _origin_range(onsets: Onsets, tt: np.ndarray) -> tuple[int, int]:
    """First and last origin sample whose every travel time lands inside the onsets."""
    act = onsets.available
    if not act.any():
        raise InputError("no available onsets")
    sub = tt[:, act]
    tmin, tmax = int(sub.min()), int(sub.max())
    first = max(0, -tmin)
    last = onsets.n_samples - 1 - tmax
    return first, last


@dataclass(eq=False)
class Coalescence:
    """Maximum coalescence over the grid per origin time.

    Sample ``i`` is origin time ``starttime + i / sampling_rate``; ``max_coa[i]`` the maximum over
    nodes, ``norm_coa[i]`` that maximum over the mean over nodes, ``max_node[i]`` its node.
    ``n_rows`` is the number of stacked onset rows (station-phases). A detection trace
    (:func:`seiscore.location.scan`) also carries ``statistic``, ``background`` and ``noise``
    (:func:`seiscore.location.detect.detection_statistic`); they are None otherwise.
    """

    starttime: object
    sampling_rate: float
    max_coa: np.ndarray
    norm_coa: np.ndarray
    max_node: np.ndarray
    first_sample: int = 0  # index of sample 0 in the onsets' time grid
    n_rows: int = 0
    statistic: np.ndarray | None = None
    background: np.ndarray | None = None
    noise: np.ndarray | None = None

    def times(self) -> np.ndarray:
        """Origin times as datetime64[ns]."""
        t0 = np.datetime64(self.starttime.ns, "ns")
        return t0 + np.round(np.arange(len(self.max_coa)) * (1e9 / self.sampling_rate)).astype(
            "timedelta64[ns]"
        )


def coalescence(
    onsets: Onsets,
    tt,
    *,
    starttime=None,
    endtime=None,
    stacking: str | None = None,
    device: str = "cpu",
    workers: int | None = None,
) -> Coalescence:
    """The maximum coalescence over the grid for every origin time the onsets cover.

    Origin times run from where every travel time lands inside the onsets to where the longest
    travel time reaches their end (optionally cut to ``starttime``/``endtime``). ``tt`` is
    ``[n_nodes, n_stations, n_phases]`` int32 samples at the onsets' rate (from
    :func:`seiscore.traveltime.station_grids`) or a :class:`~seiscore.traveltime.StationGrids`.
    The 4-D coalescence is never stored (fused kernel).
    """
    tt = _as_tt(tt, onsets)
    nworkers = check_workers(workers)
    stacking = stacking or onsets.stacking
    first, last = _origin_range(onsets, tt)
    fs = onsets.sampling_rate
    if starttime is not None:
        first = max(first, int(math.ceil((starttime - onsets.starttime) * fs - 1e-9)))
    if endtime is not None:
        last = min(last, int(math.floor((endtime - onsets.starttime) * fs + 1e-9)))
    n_out = last - first + 1
    if n_out <= 0:
        span = (tt[:, onsets.available].max() - tt[:, onsets.available].min()) / fs
        raise InputError(
            f"onsets too short: {onsets.n_samples / fs:.2f} s of onsets do not cover the "
            f"{span:.2f} s spread of travel times across the grid (plus the requested window)"
        )
    mod, dev = _kernel(device)
    active = np.ascontiguousarray(onsets.available, dtype=np.uint8)
    data = np.ascontiguousarray(onsets.data, dtype=np.float32)
    out = mod.migrate_max(
        data, tt, active, first, n_out, stacking, dev if dev is not None else nworkers
    )
    return Coalescence(
        onsets.time_of(first),
        fs,
        out["max_coa"],
        out["norm_coa"],
        out["max_node"],
        first,
        int(onsets.available.sum()),
    )


def coalescence_volume(
    onsets: Onsets,
    tt,
    first_sample: int,
    n_samples: int = 1,
    *,
    stacking: str | None = None,
    device: str = "cpu",
    workers: int | None = None,
) -> np.ndarray:
    """Coalescence of every node for ``n_samples`` origin times from onset sample
    ``first_sample``: ``[n_samples, n_nodes]`` float32 (reshape a row to ``grid.shape``)."""
    tt = _as_tt(tt, onsets)
    nworkers = check_workers(workers)
    check_grid_memory(tt.shape[0], int(n_samples), 1, 4, what="coalescence volume")
    mod, dev = _kernel(device)
    try:
        return mod.migrate_map(
            np.ascontiguousarray(onsets.data, dtype=np.float32),
            tt,
            np.ascontiguousarray(onsets.available, dtype=np.uint8),
            int(first_sample),
            int(n_samples),
            stacking or onsets.stacking,
            dev if dev is not None else nworkers,
        )
    except ValueError as exc:
        raise InputError(f"coalescence_volume: {exc}") from None
