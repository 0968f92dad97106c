"""From day results to the correlate() Dataset: sums over days (:class:`_Totals`), the final
stacks, daily substacks, per-window CCFs, rotation to R/T, coordinates and attributes."""

from __future__ import annotations

import numpy as np

from .. import __version__
from ._common import _now_iso
from .days import WINDOW_OUTCOMES, _DayResult, _robust_and_selective
from .pairs import COMPONENTS_RTZ, _Network, _rotate, _rotation
from .plan import _Plan
from .stack import _linear_and_pws, _offsets

_PC = ("pair", "component")


class _Totals:
    """Sums over days, folded in as each day arrives; the day results keep only what the output
    needs per day (float32 substacks, window counts, and per-window rows when asked for), so
    memory grows by one float32 substack per day rather than by the float64 sums."""

    def __init__(self, plan: _Plan, substacks: bool):
        n_out = len(plan.pair_a) * len(plan.comp_a)
        n_lag = 2 * plan.max_lag + 1
        self.plan, self.substacks = plan, substacks
        self.n = np.zeros(n_out, np.int64)
        self.linear = np.zeros((n_out, n_lag))
        self.phasor = np.zeros((n_out, n_lag), np.complex128) if "pws" in plan.methods else None
        self.counts = 0

    def fold(self, r: _DayResult) -> _DayResult:
        self.n += r.n
        self.linear += r.linear_sum
        if self.phasor is not None:
            self.phasor += r.phasor
        self.counts = self.counts + r.counts
        if self.substacks:
            means = _linear_and_pws(r.linear_sum, r.phasor, r.n, self.plan.pws_power)
            for method, mean in means.items():
                r.daily[method] = mean.astype(np.float32)
        else:
            r.daily.clear()
            r.daily_selected = None
        r.linear_sum = r.phasor = None
        return r


def _assemble(
    results: list[_DayResult],
    totals: _Totals,
    plan: _Plan,
    net: _Network,
    requested: tuple,
    *,
    rotate: bool,
    substacks: bool,
):
    """The Dataset of a run (without its attributes)."""
    import xarray as xr

    # name -> (dims, array with the computed components on the "component" axis)
    out = _stack_variables(*_final_stacks(results, totals, plan), totals.n, plan)
    if substacks:
        out.update(_daily_variables(results, plan))
    if plan.keep_windows:
        out.update(_window_variable(results, plan))
    comps = tuple(plan.computed)
    if rotate:
        out = _with_rtz(out, net.az, net.baz)
        comps = comps + COMPONENTS_RTZ
    pick = [comps.index(c) for c in requested]
    data_vars = {
        name: (dims, np.take(v, pick, axis=dims.index("component")))
        for name, (dims, v) in out.items()
    }
    for k, outcome in enumerate(WINDOW_OUTCOMES):
        counts = totals.counts[..., k].astype(np.int32)
        data_vars[f"windows_{outcome}"] = (("station", "channel"), counts)
    ds = xr.Dataset(data_vars, coords=_coords(results, plan, net, requested, substacks))
    ds["lag"].attrs["units"] = "s"
    ds["distance_km"].attrs["units"] = "km"
    return ds


def _final_stacks(results, totals: _Totals, plan: _Plan) -> tuple[dict, np.ndarray | None]:
    """Stacks over all days (method -> [n_out, n_lag]) and the rows kept by ``selective``."""
    stacks = _linear_and_pws(totals.linear, totals.phasor, totals.n, plan.pws_power)
    selected = None
    if "robust" in plan.methods or "selective" in plan.methods:
        rows = np.concatenate([r.rows for r in results])
        outs = np.concatenate([r.row_out for r in results])
        order = np.argsort(outs, kind="stable")  # by output, then day and window
        rows = np.ascontiguousarray(rows[order])
        offsets = _offsets(np.bincount(outs, minlength=totals.n.size))
        more, selected = _robust_and_selective(rows, offsets, plan)
        stacks.update(more)
    return stacks, selected


def _shape(plan: _Plan) -> tuple[int, int, int]:
    return len(plan.pair_a), len(plan.comp_a), 2 * plan.max_lag + 1


def _stack_variables(stacks: dict, selected, n, plan: _Plan) -> dict:
    n_pairs, n_comp, n_lag = _shape(plan)
    pc = (n_pairs, n_comp)
    out = {}
    for m in plan.methods:
        out[f"ccf_{m}"] = (_PC + ("lag",), np.asarray(stacks[m], np.float32).reshape(pc + (n_lag,)))
    out["n_windows"] = (_PC, n.astype(np.int32).reshape(pc))
    if selected is not None:
        out["n_selected"] = (_PC, np.asarray(selected, np.int32).reshape(pc))
    return out


def _daily_variables(results, plan: _Plan) -> dict:
    n_pairs, n_comp, n_lag = _shape(plan)
    dpc = (len(results), n_pairs, n_comp)
    out = {}
    for m in plan.methods:
        v = np.stack([r.daily[m] for r in results])
        out[f"daily_{m}"] = (
            ("day",) + _PC + ("lag",),
            v.astype(np.float32, copy=False).reshape(dpc + (n_lag,)),
        )
    out["daily_n_windows"] = (
        ("day",) + _PC,
        np.stack([r.n for r in results]).astype(np.int32).reshape(dpc),
    )
    if "selective" in plan.methods:
        out["daily_n_selected"] = (
            ("day",) + _PC,
            np.stack([r.daily_selected for r in results]).astype(np.int32).reshape(dpc),
        )
    return out


def _window_variable(results, plan: _Plan) -> dict:
    """``ccf_windows``: every window's CCF, NaN where a pair-window was not available."""
    n_pairs, n_comp, n_lag = _shape(plan)
    n_w = sum(len(r.window_ns) for r in results)
    win = np.full((n_w, n_pairs * n_comp, n_lag), np.nan, np.float32)
    base = 0
    for r in results:
        win[base + r.row_window, r.row_out] = r.rows
        base += len(r.window_ns)
    shape = (n_w, n_pairs, n_comp, n_lag)
    return {"ccf_windows": (("window",) + _PC + ("lag",), win.reshape(shape))}


def _with_rtz(out: dict, az, baz) -> dict:
    """Append the nine RTZ components to every variable (after the nine ENZ ones)."""
    ma, mb = _rotation(az, baz)
    rotated = {}
    for name, (dims, v) in out.items():
        p_ax = dims.index("pair")
        if "lag" in dims:
            rot = _rotate(v, ma, mb, p_ax)
        else:  # window counts: R/T use the windows every ENZ component had
            rot = np.repeat(v.min(axis=p_ax + 1, keepdims=True), 9, axis=p_ax + 1)
        rotated[name] = (dims, np.concatenate([v, rot], axis=p_ax + 1))
    return rotated


def _coords(results, plan: _Plan, net: _Network, requested, substacks: bool) -> dict:
    ids, pa, pb = net.ids, plan.pair_a, plan.pair_b
    lat, lon, elev = net.lat, net.lon, net.elev
    coords = {
        "pair": [f"{ids[a]}:{ids[b]}" for a, b in zip(pa, pb, strict=True)],
        "source": ("pair", [ids[a] for a in pa]),
        "receiver": ("pair", [ids[b] for b in pb]),
        "distance_km": ("pair", net.dist),
        "azimuth_deg": ("pair", net.az),
        "backazimuth_deg": ("pair", net.baz),
        "source_latitude": ("pair", lat[pa]),
        "source_longitude": ("pair", lon[pa]),
        "source_elevation_m": ("pair", elev[pa]),
        "receiver_latitude": ("pair", lat[pb]),
        "receiver_longitude": ("pair", lon[pb]),
        "receiver_elevation_m": ("pair", elev[pb]),
        "component": list(requested),
        "lag": np.arange(-plan.max_lag, plan.max_lag + 1) / plan.sampling_rate,
        "station": list(ids),
        "station_latitude": ("station", lat),
        "station_longitude": ("station", lon),
        "station_elevation_m": ("station", elev),
        "channel": list(plan.channels),
    }
    if substacks:
        coords["day"] = np.array([r.day_ns for r in results], dtype="datetime64[ns]")
    if plan.keep_windows:
        coords["window"] = np.concatenate([r.window_ns for r in results]).astype("datetime64[ns]")
    return coords


def _attrs(plan: _Plan, run: dict) -> dict:
    """Attributes of the Dataset: the plan's settings, then ``run`` (None written "none")."""
    band = plan.whiten_band
    a = {
        "title": "ambient-noise cross-correlation functions (seiscore.correlation)",
        "seiscore_version": __version__,
        "created": _now_iso(),
        "sampling_rate": plan.sampling_rate,
        "window_samples": plan.n_win,
        "nfft": plan.nfft,
        "max_lag_s": plan.max_lag / plan.sampling_rate,
        "max_lag_samples": plan.max_lag,
        "detrend": int(plan.prep["detrend"]),
        "taper": plan.prep["taper"],
        "filter": "butterworth zero-phase (forward-backward sosfilt)"
        if plan.prep["sos"].size
        else "none",
        "whiten": int(band is not None),
        "whiten_band_hz": np.asarray(band if band is not None else [], dtype=np.float64),
        "stack_methods": ",".join(plan.methods),
        "pws_power": plan.pws_power,
        "robust_epsilon": plan.robust_epsilon,
        "robust_max_iter": plan.robust_max_iter,
        "selective_threshold": plan.selective_threshold,
        "subsample_shift": int(plan.subsample_shift),
        "device": plan.device,
        "lag_convention": "ccf(tau) = sum_t source(t) * receiver(t + tau); "
        "positive lag: receiver later",
        "window_outcomes": ",".join(WINDOW_OUTCOMES),
    }
    for k, v in run.items():
        a[k] = "none" if v is None else v
    return a
