"""One day of a correlate() run: records → windows → quality checks → spectra → cross-spectra
of every pair and component → per-pair sums (and per-window CCFs where a stack needs them).

A day is the unit of work: :func:`_run_day` (records given) and :func:`_run_day_loaded` (a
loader reads them) run here or on a Dask worker and return a :class:`_DayResult`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import scipy.fft

from .. import _core
from ..containers import Waveforms
from ..exceptions import InputError
from ._common import _NS, _to_ns, _workers_for_fft
from .plan import _Plan
from .preprocess import decimate
from .spectra import _condition, _cross, _lags
from .stack import _hilbert_imag, _offsets

# per station-channel window outcomes, in the order of the windows_* variables
WINDOW_OUTCOMES = ("used", "gap", "flat", "spike", "absent", "incomplete")
_USED, _GAP, _FLAT, _SPIKE, _ABSENT, _INCOMPLETE = range(len(WINDOW_OUTCOMES))
# bytes of complex spectra materialised at once by the cross-spectrum / inverse-FFT loop
_CHUNK_BYTES = 64 << 20


@dataclass
class _Record:
    """One continuous record of one station at the target rate: rows in plan.channels order."""

    start_ns: int
    data: np.ndarray  # float32 [n_channels, n]
    present: np.ndarray  # bool [n_channels]


@dataclass
class _DayResult:
    day_ns: int
    window_ns: np.ndarray
    n: np.ndarray  # [n_out] windows stacked
    linear_sum: np.ndarray  # float64 [n_out, n_lag]
    phasor: np.ndarray | None  # complex128 [n_out, n_lag]
    counts: np.ndarray  # int64 [n_stations, n_channels, len(WINDOW_OUTCOMES)]
    daily: dict = field(default_factory=dict)  # method -> float32 [n_out, n_lag] (robust/selective)
    daily_selected: np.ndarray | None = None
    rows: np.ndarray | None = None  # float32 [n_terms, n_lag]
    row_out: np.ndarray | None = None
    row_window: np.ndarray | None = None  # index into window_ns
    messages: list = field(default_factory=list)


@dataclass(frozen=True)
class _Terms:
    """The cross-spectrum terms of a day: every pair (P), component (Q) and window (W)."""

    ra: np.ndarray  # [P, Q, W] spectrum row of the source, -1: not usable
    rb: np.ndarray  # [P, Q, W] spectrum row of the receiver
    valid: np.ndarray  # [P, Q, W] both rows usable
    out_id: np.ndarray  # [P, Q, W] output (pair-component) index
    win_id: np.ndarray  # [P, Q, W] window index
    n: np.ndarray  # int64 [P * Q] valid terms per output


# ---------------------------------------------------------------------------- day tasks


def _run_day(records, day_ns, window_ns, plan):
    return _day_result(records, day_ns, window_ns, plan)


def _run_day_loaded(loader, span, day_ns, window_ns, plan):
    """Loader task (here or on a Dask worker): read the day with ``loader``, then correlate it."""
    messages: list[str] = []
    t0, t1 = span
    ws = loader(np.datetime64(int(t0), "ns"), np.datetime64(int(t1), "ns"))
    if isinstance(ws, Waveforms):
        ws = [ws]
    records = _records_from_waveforms(list(ws), plan, messages)
    res = _day_result(records, day_ns, window_ns, plan)
    res.messages[:0] = messages
    return res


# ---------------------------------------------------------------------------- records


def _records_from_waveforms(waveforms, plan: _Plan, messages: list) -> dict[int, list[_Record]]:
    """Validate, decimate and reorder the records of the stations of the plan."""
    index = {sid: i for i, sid in enumerate(plan.station_ids)}
    out: dict[int, list[_Record]] = {}
    bands: dict[str, str] = {}
    for w in waveforms:
        if not isinstance(w, Waveforms):
            raise InputError(f"waveforms: expected seiscore Waveforms, got {type(w).__name__}")
        if w.id not in index:
            continue
        if bands.setdefault(w.id, w.band) != w.band:
            raise InputError(
                f"{w.id}: records of several bands ({bands[w.id]}, {w.band}); "
                "pass one band per station"
            )
        rec = _record(w, plan, messages)
        if rec is not None:
            out.setdefault(index[w.id], []).append(rec)
    return out


def _record(w: Waveforms, plan: _Plan, messages: list) -> _Record | None:
    """The channels of the plan from ``w``, decimated to the target rate (None: none present)."""
    rate = float(w.sampling_rate)
    q = rate / plan.sampling_rate
    factor = int(round(q))
    if factor < 1 or abs(q - factor) > 1e-6 * q:
        raise InputError(
            f"{w.id}: sampling rate {rate:g} Hz is not an integer multiple of the target "
            f"{plan.sampling_rate:g} Hz; resample first with seiscore.io.to_waveforms(stream, "
            f"sampling_rate=...)"
        )
    data = np.full((len(plan.channels), w.n_samples), np.nan, np.float32)
    present = np.zeros(len(plan.channels), bool)
    for c, letter in enumerate(plan.channels):
        if letter in w.components:
            k = w.components.index(letter)
            if bool(np.asarray(w.present)[k]):
                data[c] = w.data[k]
                present[c] = True
    if not present.any():
        letters = "".join(plan.channels)
        messages.append(f"{w.id}: none of the components {letters} present; not used")
        return None
    if factor > 1:
        data = decimate(data, factor, workers=plan.workers)
    return _Record(_to_ns(w.starttime, f"{w.id} starttime"), data, present)


def _slice_records(records: dict[int, list[_Record]], t0: int, t1: int, fs: float, margin: int = 2):
    """Views of the records restricted to [t0, t1] ns (plus ``margin`` samples each side)."""
    out: dict[int, list[_Record]] = {}
    for s, recs in records.items():
        for r in recs:
            n = r.data.shape[1]
            a = max(0, int(math.floor((t0 - r.start_ns) * fs / _NS)) - margin)
            b = min(n, int(math.ceil((t1 - r.start_ns) * fs / _NS)) + margin)
            if b <= a:
                continue
            start = r.start_ns + int(round(a * _NS / fs))
            out.setdefault(s, []).append(_Record(start, r.data[:, a:b], r.present))
    return out


# ---------------------------------------------------------------------------- one day


def _day_result(records, day_ns: int, window_ns: np.ndarray, plan: _Plan) -> _DayResult:
    """Everything of one day: windows → spectra → per-pair sums (and per-window rows)."""
    x, shift, table = _cut_day(records, window_ns, plan)
    counts, ok = _check_windows(x, table, plan)
    spec, energy = _window_spectra(x, shift, table[ok], plan)
    del x  # the spectra hold all that is needed from here on
    terms = _terms(_spectrum_index(ok, energy, counts), plan, len(window_ns))
    n_lag = 2 * plan.max_lag + 1
    res = _DayResult(day_ns, window_ns, terms.n, np.zeros((terms.n.size, n_lag)), None, counts)
    if not terms.valid.any():
        return _without_terms(res, plan)
    if not (plan.keep_rows or "pws" in plan.methods):
        _sum_linear(res, spec, energy, terms, plan)
        return res
    rows = _window_ccfs(spec, energy, terms, plan)
    del spec
    _stack_rows(res, rows, terms, plan)
    return res


def _cut_day(records: dict[int, list[_Record]], window_ns: np.ndarray, plan: _Plan):
    """Rows [station, channel, window] of one day: samples (NaN where missing), shifts, table.

    ``table[s, c, w]`` is the row of station ``s``, channel ``c``, window ``w``, or -1 when no
    record of that station has that channel over any part of the window ("absent"). A window
    covered only in part keeps NaN where data are missing (the quality check calls it a gap).
    ``shift[row]`` is the time of the row's first sample minus the nominal window start (s), from
    the record that supplies the earliest samples of the window.
    """
    n_st, n_ch, n_w = len(plan.station_ids), len(plan.channels), len(window_ns)
    fs, n_win = plan.sampling_rate, plan.n_win
    table = np.full((n_st, n_ch, n_w), -1, np.int64)
    pieces = []  # (row, record, channel, i0, lo, hi)
    best: dict[tuple[int, int], tuple[int, float]] = {}  # (s, w) -> (first covered offset, shift)
    n_rows = 0
    for s in range(n_st):
        for rec in records.get(s, []):
            n = rec.data.shape[1]
            pos = (window_ns - rec.start_ns).astype(np.float64) * (fs / _NS)
            i0 = np.rint(pos).astype(np.int64)
            lo = np.maximum(i0, 0)
            hi = np.minimum(i0 + n_win, n)
            for w in np.flatnonzero(hi > lo):
                cand = (int(lo[w] - i0[w]), float((i0[w] - pos[w]) / fs))
                if (s, w) not in best or cand[0] < best[(s, w)][0]:
                    best[(s, w)] = cand
                for c in np.flatnonzero(rec.present):
                    if table[s, c, w] < 0:
                        table[s, c, w] = n_rows
                        n_rows += 1
                    pieces.append((table[s, c, w], rec, c, i0[w], lo[w], hi[w]))
    # rows are allocated nfft long, zero-padded, so that the FFT needs no padded copy
    x = np.empty((n_rows, plan.nfft), np.float32)
    x[:, :n_win] = np.nan
    x[:, n_win:] = 0.0
    for row, rec, c, i0, lo, hi in pieces:
        x[row, lo - i0 : hi - i0] = rec.data[c, lo:hi]
    shift = np.zeros(n_rows)
    for (s, w), (_, d) in best.items():
        rows = table[s, :, w]
        shift[rows[rows >= 0]] = d
    return x, shift, table


def _check_windows(x, table, plan: _Plan):
    """Process the windows in place (quality checks, filters, temporal normalisation).

    Returns the outcome counts ``[station, channel, outcome]`` and the mask ``ok[station,
    channel, window]`` of the windows to correlate.
    """
    n_st, n_ch = len(plan.station_ids), len(plan.channels)
    counts = np.zeros((n_st, n_ch, len(WINDOW_OUTCOMES)), np.int64)
    counts[..., _ABSENT] = (table < 0).sum(axis=2)
    status = _core.correlation.preprocess(
        x[:, : plan.n_win], **plan.prep, workers=plan.workers
    ).astype(np.int64)
    st_table = (
        np.where(table >= 0, status[np.maximum(table, 0)], -1)
        if status.size
        else np.full(table.shape, -1)
    )
    for code, col in ((0, _USED), (1, _GAP), (2, _FLAT), (3, _SPIKE)):
        counts[..., col] += (st_table == code).sum(axis=2)
    ok = st_table == 0
    if plan.station_complete:
        # rotation needs every channel of a station-window: drop the others, counted "incomplete"
        complete = ok.all(axis=1, keepdims=True)
        incomplete = ok & ~complete
        counts[..., _INCOMPLETE] += incomplete.sum(axis=2)
        counts[..., _USED] -= incomplete.sum(axis=2)
        ok = ok & complete
    return counts, ok


def _window_spectra(x, shift, use_rows, plan: _Plan):
    """Spectra of the rows ``use_rows`` of ``x``, aligned and whitened, and their energies."""
    if not use_rows.size:
        return np.zeros((0, plan.nfft // 2 + 1), np.complex64), np.zeros(0)
    every = use_rows.size == x.shape[0] and np.array_equal(use_rows, np.arange(x.shape[0]))
    fw = _workers_for_fft(plan.workers)
    spec = scipy.fft.rfft(x if every else x[use_rows], axis=1, workers=fw)
    if spec.dtype != np.complex64:
        spec = spec.astype(np.complex64)
    energy = _condition(
        spec,
        plan.nfft,
        plan.sampling_rate / plan.nfft,
        plan.whiten_band,
        plan.smooth_bins,
        shift[use_rows] if plan.subsample_shift else None,
        plan.device,
        plan.workers,
    )
    return spec, energy


def _spectrum_index(ok, energy, counts) -> np.ndarray:
    """Spectrum row of each [station, channel, window] (-1: not used).

    A window left without energy after whitening (none in the band) is moved from "used" to
    "flat" in ``counts``.
    """
    spec_index = np.full(ok.shape, -1, np.int64)
    spec_index[ok] = np.arange(energy.size)
    dead = energy <= 0
    if dead.any():
        idx = np.argwhere(ok)[dead]
        for s, c, _w in idx:
            counts[s, c, _USED] -= 1
            counts[s, c, _FLAT] += 1
        spec_index[tuple(idx.T)] = -1
    return spec_index


def _terms(spec_index, plan: _Plan, n_windows: int) -> _Terms:
    """Every pair, component and window, and whether both of its rows are usable."""
    n_pairs, n_comp = len(plan.pair_a), len(plan.comp_a)
    ra = spec_index[plan.pair_a[:, None], plan.comp_a[None, :], :]  # [P, Q, W]
    rb = spec_index[plan.pair_b[:, None], plan.comp_b[None, :], :]
    valid = (ra >= 0) & (rb >= 0)
    n_out = n_pairs * n_comp
    return _Terms(
        ra=ra,
        rb=rb,
        valid=valid,
        out_id=np.broadcast_to(np.arange(n_out).reshape(n_pairs, n_comp, 1), valid.shape),
        win_id=np.broadcast_to(np.arange(n_windows).reshape(1, 1, -1), valid.shape),
        n=valid.sum(axis=2).reshape(n_out).astype(np.int64),
    )


def _without_terms(res: _DayResult, plan: _Plan) -> _DayResult:
    """A day where no pair has a usable window: empty rows, zero sums, NaN stacks."""
    n_out, n_lag = res.linear_sum.shape
    if plan.keep_rows:
        res.rows = np.zeros((0, n_lag), np.float32)
        res.row_out = np.zeros(0, np.int64)
        res.row_window = np.zeros(0, np.int64)
    if "pws" in plan.methods:
        res.phasor = np.zeros((n_out, n_lag), np.complex128)
    for m in ("robust", "selective"):
        if m in plan.methods:
            res.daily[m] = np.full((n_out, n_lag), np.nan, np.float32)
    if "selective" in plan.methods:
        res.daily_selected = np.zeros(n_out, np.int32)
    return res


def _weights(energy, a, b, plan: _Plan) -> np.ndarray:
    """Weight of each term: 1 / sqrt(E_a E_b) for correlation coefficients, else 1."""
    if not plan.normalize:
        return np.ones(a.size, np.float32)
    return (1.0 / np.sqrt(energy[a] * energy[b])).astype(np.float32)


def _chunk(plan: _Plan, bins: int) -> int:
    """Cross-spectra computed at once; each CUDA call copies all spectra to the device, so
    fewer, larger chunks there."""
    budget = _CHUNK_BYTES * (4 if plan.device == "cuda" else 1)
    return max(1, budget // (8 * bins))


def _sum_linear(res: _DayResult, spec, energy, terms: _Terms, plan: _Plan) -> None:
    """Linear stacks only: sum the cross-spectra per output in the frequency domain (terms by
    window, then pair, for cache), one inverse FFT per output."""
    order = np.transpose(terms.valid, (2, 0, 1))
    A = np.transpose(terms.ra, (2, 0, 1))[order]
    B = np.transpose(terms.rb, (2, 0, 1))[order]
    Oi = np.transpose(terms.out_id, (2, 0, 1))[order]
    W = _weights(energy, A, B, plan)
    fw = _workers_for_fft(plan.workers)
    n_out = res.linear_sum.shape[0]
    chunk = _chunk(plan, spec.shape[1])
    for o0 in range(0, n_out, chunk):
        o1 = min(n_out, o0 + chunk)
        sel = (Oi >= o0) & (Oi < o1)
        cs = _cross(spec, A[sel], B[sel], W[sel], Oi[sel] - o0, o1 - o0, plan.device, plan.workers)
        res.linear_sum[o0:o1] = _lags(
            scipy.fft.irfft(cs, n=plan.nfft, axis=1, workers=fw), plan.max_lag
        )


def _window_ccfs(spec, energy, terms: _Terms, plan: _Plan) -> np.ndarray:
    """Per-window CCFs ``[n_terms, n_lag]``, grouped by output (pair-component) in window order."""
    A, B = terms.ra[terms.valid], terms.rb[terms.valid]
    Wt = _weights(energy, A, B, plan)
    rows = np.empty((A.size, 2 * plan.max_lag + 1), np.float32)
    fw = _workers_for_fft(plan.workers)
    chunk = _chunk(plan, spec.shape[1])
    for t0 in range(0, A.size, chunk):
        t1 = min(A.size, t0 + chunk)
        cs = _cross(spec, A[t0:t1], B[t0:t1], Wt[t0:t1], None, t1 - t0, plan.device, plan.workers)
        rows[t0:t1] = _lags(scipy.fft.irfft(cs, n=plan.nfft, axis=1, workers=fw), plan.max_lag)
    return rows


def _stack_rows(res: _DayResult, rows, terms: _Terms, plan: _Plan) -> None:
    """The day's sums and stacks from its per-window CCFs (kept when the plan asks)."""
    offsets = _offsets(terms.n)
    hil = _hilbert_imag(rows, plan.workers) if "pws" in plan.methods else None
    lin, pre, pim = _core.correlation.stack_sums(rows, hil, offsets, plan.workers)
    res.linear_sum = lin
    if hil is not None:
        res.phasor = pre + 1j * pim
        del hil
    stacks, selected = _robust_and_selective(rows, offsets, plan)
    res.daily.update(stacks)
    if selected is not None:
        res.daily_selected = selected
    if plan.keep_rows:
        res.rows = rows
        res.row_out = terms.out_id[terms.valid].astype(np.int64)
        res.row_window = terms.win_id[terms.valid].astype(np.int64)


def _robust_and_selective(rows, offsets, plan: _Plan) -> tuple[dict, np.ndarray | None]:
    """Robust and selective stacks (those of ``plan.methods``) of rows grouped by ``offsets``,
    and the rows kept per group by the selective stack (None without it)."""
    stacks, selected = {}, None
    if "robust" in plan.methods:
        stacks["robust"], _ = _core.correlation.stack_robust(
            rows, offsets, plan.robust_epsilon, plan.robust_max_iter, plan.workers
        )
    if "selective" in plan.methods:
        stacks["selective"], selected = _core.correlation.stack_selective(
            rows, offsets, plan.selective_threshold, plan.workers
        )
    return stacks, selected
