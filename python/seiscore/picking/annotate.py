"""Phase-probability traces from continuous waveforms: a deep-learning picker (ONNX Runtime, see
:mod:`seiscore.models`) run over gap-free segments, in overlapping windows (``window`` contract)
or chunks (``stream`` contract) stitched with cosine-tapered weights.

The ``window`` contract's data work is in C++ (``seiscore._core.picking``, see
``cpp/seiscore/picking/windows.hpp``): the gap-free runs and the windows over them are found
in one pass over the record, each batch of windows is cut and normalised straight into the
network's input buffer, and each batch of outputs is added with its taper weights straight into
the probability traces. Python only hands batches to ONNX Runtime (:meth:`Model.run_into`,
into reused buffers), several at a time on the CPU."""

from __future__ import annotations

import queue
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache

import numpy as np

from .. import _core
from ..containers import Annotations, Waveforms
from ..exceptions import InputError
from ..models import Model, load_model


def _segments(data: np.ndarray, rows: np.ndarray) -> list[tuple[int, int]]:
    """Half-open runs [start, end) where every row ``rows`` of ``data`` is finite."""
    starts, ends = _core.picking.finite_runs(data, rows)
    return list(zip(starts.tolist(), ends.tolist(), strict=True))


def _normalise(x: np.ndarray, how: str, axis: int) -> np.ndarray:
    """Per window and channel normalisation along the sample axis (in place where possible)."""
    if how == "none":
        return x
    # statistics in float64: raw counts with a large offset lose digits in float32
    x -= x.mean(axis=axis, keepdims=True, dtype=np.float64).astype(x.dtype)
    if how == "std":
        scale = x.std(axis=axis, keepdims=True, dtype=np.float64).astype(x.dtype)
    elif how == "peak":
        scale = np.abs(x).max(axis=axis, keepdims=True)
    else:  # demean
        return x
    np.divide(x, scale, out=x, where=scale > 0)
    x[np.broadcast_to(scale == 0, x.shape)] = 0.0
    return x


@lru_cache(maxsize=64)
def _taper(length: int, edge: int, left: bool, right: bool) -> np.ndarray:
    """Stitching weights of one window: cosine ramps over ``edge`` samples at tapered sides."""
    w = np.ones(length, np.float32)
    if edge > 0:
        ramp = (0.5 - 0.5 * np.cos(np.pi * (np.arange(edge) + 0.5) / edge)).astype(np.float32)
        ramp = np.maximum(ramp, 1e-3)
        if left:
            w[:edge] = ramp
        if right:
            w[length - edge :] = ramp[::-1]
    w.flags.writeable = False
    return w


def _model_rows(w: Waveforms, model: Model) -> np.ndarray:
    """Indices of the rows of ``w`` in the card's channel order, checked against the card."""
    card = model.card
    if abs(w.sampling_rate - card.sampling_rate) > 1e-6 * card.sampling_rate:
        raise InputError(
            f"{w.id}: sampled at {w.sampling_rate} Hz but model {card.name!r} expects "
            f"{card.sampling_rate} Hz; resample first (seiscore.io.to_waveforms(sampling_rate=...))"
        )
    rows = []
    for comp in card.channel_order:
        if comp not in w.components:
            raise InputError(f"{w.id}: no {comp} component (has {list(w.components)})")
        c = w.components.index(comp)
        if not w.present[c] and card.missing_components == "error":
            raise InputError(
                f"{w.id}: model {card.name!r} needs the {comp} component, which is missing"
            )
        rows.append(c)
    return np.array(rows, np.int64)


def _record(w: Waveforms) -> np.ndarray:
    """``w.data`` as the kernels read it: float32 with contiguous samples (no copy when it is)."""
    data = w.data
    if data.dtype != np.float32 or (data.shape[1] > 1 and data.strides[1] != data.itemsize):
        data = np.ascontiguousarray(data, dtype=np.float32)
    return data


class _Buffers:
    """Input and output buffers of one batch, reused from batch to batch (host memory that
    :meth:`Model.host_buffer` gives: pinned on a CUDA device)."""

    def __init__(self, model: Model, n_rows: int, batch_size: int):
        card = model.card
        n_win, n_labels = card.window_length, len(card.labels)
        self.channels_last = card.input_layout == "NWC"
        if self.channels_last:
            x_shape, y_shape = (batch_size, n_win, n_rows), (batch_size, n_win, n_labels)
        else:
            x_shape, y_shape = (batch_size, n_rows, n_win), (batch_size, n_labels, n_win)
        self.x = model.host_buffer(x_shape)
        self.y = model.host_buffer(y_shape)

    def output(self, m: int) -> np.ndarray:
        """The first ``m`` outputs as ``[window, label, sample]`` (a view)."""
        y = self.y[:m]
        return y.transpose(0, 2, 1) if self.channels_last else y


def _annotate_windows(
    model: Model,
    data: np.ndarray,
    rows: np.ndarray,
    out: np.ndarray,
    batch_size: int,
    overlap: int,
    free: queue.SimpleQueue,
) -> None:
    """Window-contract probabilities of one record into ``out`` (zeros on entry); batch
    buffers come from ``free`` (and go back to it), shared by the records of one call."""
    card = model.card
    plan = _core.picking.plan_windows(data, rows, card.window_length, card.window_length - overlap)
    labels = np.array([card.labels.index(lab) for lab in card.trace_labels], np.int64)
    weight = np.zeros(out.shape[1], np.float32)
    n = len(plan["start"])
    spans = [(b, min(b + batch_size, n)) for b in range(0, n, batch_size)]

    def infer(span):
        """Cut, normalise and run one batch of windows (runs in a worker thread)."""
        b0, b1 = span
        try:
            buf = free.get_nowait()
        except queue.Empty:
            buf = _Buffers(model, len(rows), batch_size)
        m = b1 - b0
        _core.picking.cut_windows(
            data, rows, plan["start"][b0:b1], plan["valid"][b0:b1], buf.x[:m],
            card.normalisation, buf.channels_last, 1,
        )  # fmt: skip
        model.run_into(buf.x[:m], buf.y[:m])
        return span, buf

    def stitch(span, buf):
        b0, b1 = span
        _core.picking.stitch_windows(
            buf.output(b1 - b0), labels, plan["start"][b0:b1], plan["valid"][b0:b1],
            plan["left"][b0:b1], plan["right"][b0:b1], overlap // 2, out, weight,
        )  # fmt: skip
        free.put(buf)

    _run_in_order(model, spans, infer, stitch)
    _core.picking.finish_stitch(out, weight)


def _run_in_order(model: Model, spans, infer, stitch) -> None:
    """``stitch(*infer(span))`` for every span, in order. On the CPU ``model.concurrency``
    batches run at once (single-threaded ONNX Runtime calls scale better than one
    multi-threaded call on PhaseNet's small convolutions); results are stitched in order as
    they complete, at most 2 x concurrency batches in flight (bounded memory), so the sums
    do not depend on the thread count."""
    if model.concurrency <= 1 or len(spans) <= 1:
        for span in spans:
            stitch(*infer(span))
        return
    with ThreadPoolExecutor(model.concurrency) as pool:
        pending: deque = deque()
        for span in spans:
            pending.append(pool.submit(infer, span))
            if len(pending) >= 2 * model.concurrency:
                stitch(*pending.popleft().result())
        while pending:
            stitch(*pending.popleft().result())


def _annotate_stream(
    model: Model, data: np.ndarray, rows: np.ndarray, out: np.ndarray, chunk: int, overlap: int
) -> None:
    card = model.card
    phase_rows = [card.labels.index(lab) for lab in card.trace_labels]
    acc = np.zeros_like(out)
    weight = np.zeros(out.shape[1], np.float32)
    step = chunk - overlap
    segments = _segments(data, rows)
    data = data[rows]
    for s, e in segments:
        starts = [s] if e - s <= chunk else list(range(s, e - overlap, step))
        for k, st in enumerate(starts):
            en = min(st + chunk, e)
            length = en - st
            # [sample, channel]
            x = np.zeros((max(length, card.min_length), data.shape[0]), np.float32)
            x[:length] = data[:, st:en].T
            _normalise(x[:length], card.normalisation, axis=0)
            prob, time = model.run(x)
            prob = np.asarray(prob, np.float32)
            time = np.asarray(time, np.float64).ravel()
            # rows are not one per sample: windows inside the model overlap (repeated times)
            # and padding adds rows past the end; keep rows inside the chunk, in time order,
            # the highest probability where a time repeats
            inside = (time >= 0) & (time <= length - 1)
            time, prob = time[inside], prob[inside]
            if time.size == 0:
                continue
            grid = np.arange(length, dtype=np.float64)
            w = _taper(length, overlap // 2, k > 0, en < e)
            uniq, inverse = np.unique(time, return_inverse=True)
            for j, r in enumerate(phase_rows):
                best = np.full(uniq.size, -np.inf, np.float32)
                np.maximum.at(best, inverse, prob[:, r])
                acc[j, st:en] += np.interp(grid, uniq, best).astype(np.float32) * w
            weight[st:en] += w
    covered = weight > 0
    out[:, covered] = acc[:, covered] / weight[covered]


def annotate(
    waveforms: Waveforms | list[Waveforms],
    model: Model | str = "phasenet",
    *,
    batch_size: int | None = None,
    overlap: int | None = None,
    chunk_length: int | None = None,
    device: str = "cpu",
    threads: int | None = None,
    precision: str | None = None,
) -> list[Annotations]:
    """Phase-probability traces for continuous waveforms.

    Parameters
    ----------
    waveforms : Waveforms or list of Waveforms
        One container per station, at the model's sampling rate with the card's components
        (``seiscore.io.to_waveforms(stream, sampling_rate=model.card.sampling_rate)``). NaN
        samples (gaps) are never fed to the model: each gap-free segment is processed on its
        own, and the probabilities inside gaps are NaN.
    model : Model or str
        A loaded model or a bundled model's name (default: PhaseNet).
    batch_size : int, optional
        Windows per ONNX Runtime call (``window`` contract); default the model's
        (``Model.batch_size``: 8 on the CPU, where small batches stay in the cache, 256 on a
        GPU). It does not change the result.
    overlap : int, optional
        Samples shared by consecutive windows (``window`` contract, default half a window) or
        chunks (``stream`` contract, default 10 s). Overlapping outputs are averaged with
        cosine-tapered weights, so window edges count less than window centres.
    chunk_length : int, optional
        Samples per model call for the ``stream`` contract (default 10 minutes); bounds memory.
    device, threads, precision : passed to :func:`seiscore.models.load_model` when ``model``
        is a name; ``precision="int8"`` runs the model's quantised fast variant (PhaseNet:
        see bench/RESULTS.md for its agreement with float32).

    Returns
    -------
    list of Annotations
        One per station, ``prob[phase, sample]`` on the same time grid as the input: the
        card's phases in output order, then its extra ``traces`` (e.g. SeisT's
        ``detection``), which :func:`pick` does not pick.
    """
    if isinstance(model, str):
        model = load_model(model, device=device, threads=threads, precision=precision)
    items = [waveforms] if isinstance(waveforms, Waveforms) else list(waveforms)
    card = model.card
    batch_size = model.batch_size if batch_size is None else int(batch_size)
    if batch_size < 1:
        raise InputError(f"batch_size must be >= 1, got {batch_size}")
    if card.contract == "single":
        raise InputError(
            f"model {card.name!r} answers per P pick (contract 'single'); use "
            "seiscore.picking.apply_heads, not annotate"
        )
    results = []
    free: queue.SimpleQueue = queue.SimpleQueue()  # batch buffers, reused from record to record
    for w in items:
        rows = _model_rows(w, model)
        data = _record(w)
        if card.contract == "window":
            ov = card.window_length // 2 if overlap is None else int(overlap)
            if not 0 <= ov < card.window_length:
                raise InputError(f"overlap must be in [0, {card.window_length}), got {ov}")
            prob = np.zeros((len(card.trace_labels), w.n_samples), np.float32)
            _annotate_windows(model, data, rows, prob, batch_size, ov, free)
        else:
            prob = np.full((len(card.trace_labels), w.n_samples), np.nan, np.float32)
            rate = card.sampling_rate
            chunk = int(600 * rate) if chunk_length is None else int(chunk_length)
            ov = int(10 * rate) if overlap is None else int(overlap)
            if chunk < 2 or not 0 <= ov < chunk:
                raise InputError(
                    f"chunk_length {chunk} / overlap {ov}: need 0 <= overlap < chunk_length"
                )
            _annotate_stream(model, data, rows, prob, chunk, ov)
        results.append(
            Annotations(
                network=w.network,
                station=w.station,
                location=w.location,
                band=w.band,
                starttime=w.starttime,
                sampling_rate=w.sampling_rate,
                phases=tuple(card.phases.get(lab, lab) for lab in card.trace_labels),
                prob=prob,
                model=card.name,
            )
        )
    return results
