"""Phase-probability traces from continuous waveforms: a deep-learning picker (ONNX Runtime, see
:mod:`seiscore.models`) run over gap-free segments, in overlapping windows (``window`` contract)
or chunks (``stream`` contract) stitched with cosine-tapered weights."""

from __future__ import annotations

from collections import deque
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache

import numpy as np

from ..containers import Annotations, Waveforms
from ..exceptions import InputError
from ..models import Model, load_model


def _segments(finite: np.ndarray) -> list[tuple[int, int]]:
    """Half-open runs [start, end) where ``finite`` is True."""
    if finite.size == 0:
        return []
    edges = np.diff(np.concatenate(([0], finite.view(np.int8), [0])))
    starts = np.flatnonzero(edges == 1)
    ends = np.flatnonzero(edges == -1)
    return list(zip(starts.tolist(), ends.tolist(), strict=False))


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


def _model_input(w: Waveforms, model: Model) -> np.ndarray:
    """Rows of ``w`` in the card's channel order, checked against the card."""
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
    return w.data[rows]


def _window_jobs(data: np.ndarray, n_win: int, step: int) -> list[tuple[int, int, bool, bool]]:
    """Windows over the gap-free segments of ``data``: (window start, valid length, tapered
    left, tapered right); a segment shorter than a window is one short window."""
    jobs = []
    for s, e in _segments(np.isfinite(data).all(axis=0)):
        length = e - s
        if length < n_win:
            jobs.append((s, length, False, False))
            continue
        starts = list(range(s, e - n_win + 1, step))
        if starts[-1] != e - n_win:
            starts.append(e - n_win)
        for k, st in enumerate(starts):
            jobs.append((st, n_win, k > 0, k < len(starts) - 1))
    return jobs


def _annotate_windows(
    model: Model, data: np.ndarray, out: np.ndarray, batch_size: int, overlap: int
) -> None:
    card = model.card
    n_win = card.window_length
    edge = overlap // 2
    phase_rows = [card.labels.index(p) for p in card.phase_labels]
    jobs = _window_jobs(data, n_win, n_win - overlap)
    channels_first = card.input_layout == "NCW"

    def infer(batch):
        """Cut, normalise and run one batch of windows (runs in a worker thread)."""
        x = np.zeros((len(batch), data.shape[0], n_win), np.float32)
        for i, (st, valid, _, _) in enumerate(batch):
            x[i, :, :valid] = data[:, st : st + valid]
        full = [i for i, (_, valid, _, _) in enumerate(batch) if valid == n_win]
        if len(full) == len(batch):
            _normalise(x, card.normalisation, axis=-1)
        else:  # a short segment is normalised over its samples only, then zero-padded
            for i, (_, valid, _, _) in enumerate(batch):
                _normalise(x[i : i + 1, :, :valid], card.normalisation, axis=-1)
        feed = x if channels_first else np.ascontiguousarray(x.transpose(0, 2, 1))
        y = model.run(feed)[0]
        if not channels_first:
            y = y.transpose(0, 2, 1)
        return batch, y[:, phase_rows, :]

    acc = np.zeros_like(out)
    weight = np.zeros(out.shape[1], np.float32)

    def stitch(batch, y):
        for i, (st, valid, tl, tr) in enumerate(batch):
            w = _taper(valid, edge, tl, tr)
            acc[:, st : st + valid] += y[i, :, :valid] * w
            weight[st : st + valid] += w

    # Batches run concurrently (model.concurrency calls at a time); results are stitched in
    # order as they complete, with at most 2 x concurrency batches in flight (bounded memory).
    batches = [jobs[b : b + batch_size] for b in range(0, len(jobs), batch_size)]
    if model.concurrency <= 1 or len(batches) <= 1:
        for batch in batches:
            stitch(*infer(batch))
    else:
        with ThreadPoolExecutor(model.concurrency) as pool:
            pending: deque = deque()
            for batch in batches:
                pending.append(pool.submit(infer, batch))
                if len(pending) >= 2 * model.concurrency:
                    stitch(*pending.popleft().result())
            while pending:
                stitch(*pending.popleft().result())
    covered = weight > 0
    out[:, covered] = acc[:, covered] / weight[covered]


def _annotate_stream(
    model: Model, data: np.ndarray, out: np.ndarray, chunk: int, overlap: int
) -> None:
    card = model.card
    phase_rows = [card.labels.index(p) for p in card.phase_labels]
    acc = np.zeros_like(out)
    weight = np.zeros(out.shape[1], np.float32)
    step = chunk - overlap
    for s, e in _segments(np.isfinite(data).all(axis=0)):
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
    batch_size: int = 64,
    overlap: int | None = None,
    chunk_length: int | None = None,
    device: str = "cpu",
    threads: int | None = None,
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
    batch_size : int
        Windows per ONNX Runtime call (``window`` contract).
    overlap : int, optional
        Samples shared by consecutive windows (``window`` contract, default half a window) or
        chunks (``stream`` contract, default 10 s). Overlapping outputs are averaged with
        cosine-tapered weights, so window edges count less than window centres.
    chunk_length : int, optional
        Samples per model call for the ``stream`` contract (default 10 minutes); bounds memory.
    device, threads : passed to :func:`seiscore.models.load_model` when ``model`` is a name.

    Returns
    -------
    list of Annotations
        One per station, ``prob[phase, sample]`` on the same time grid as the input.
    """
    if isinstance(model, str):
        model = load_model(model, device=device, threads=threads)
    items = [waveforms] if isinstance(waveforms, Waveforms) else list(waveforms)
    card = model.card
    if batch_size < 1:
        raise InputError(f"batch_size must be >= 1, got {batch_size}")
    results = []
    for w in items:
        data = _model_input(w, model)
        prob = np.full((len(card.phase_labels), w.n_samples), np.nan, np.float32)
        if card.contract == "window":
            ov = card.window_length // 2 if overlap is None else int(overlap)
            if not 0 <= ov < card.window_length:
                raise InputError(f"overlap must be in [0, {card.window_length}), got {ov}")
            _annotate_windows(model, data, prob, batch_size, ov)
        else:
            rate = card.sampling_rate
            chunk = int(600 * rate) if chunk_length is None else int(chunk_length)
            ov = int(10 * rate) if overlap is None else int(overlap)
            if chunk < 2 or not 0 <= ov < chunk:
                raise InputError(
                    f"chunk_length {chunk} / overlap {ov}: need 0 <= overlap < chunk_length"
                )
            _annotate_stream(model, data, prob, chunk, ov)
        results.append(
            Annotations(
                network=w.network,
                station=w.station,
                location=w.location,
                band=w.band,
                starttime=w.starttime,
                sampling_rate=w.sampling_rate,
                phases=tuple(card.phases[lab] for lab in card.phase_labels),
                prob=prob,
                model=card.name,
            )
        )
    return results
