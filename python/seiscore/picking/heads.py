"""Per-pick deep-learning heads: P polarity, single-station magnitude, back-azimuth and
epicentral distance, each from a window cut around the P pick (``contract: "single"`` model
cards, see :mod:`seiscore.models.card`); and the network magnitude of an event from its
stations' estimates.

Bundled heads (SeisT, Li et al. 2024, MIT; trained on DiTing, see each card's ``note``):

============  =====================  ==========================================================
head          model                  columns of the picks table
============  =====================  ==========================================================
polarity      ``seist_polarity``     ``polarity`` (up / down / undecidable),
                                     ``polarity_probability``
magnitude     ``seist_magnitude``    ``magnitude_dl`` (single-station event magnitude, Mdl)
baz           ``seist_baz``          ``baz_deg`` (back-azimuth, degrees from north)
distance      ``seist_distance``     ``distance_km`` (epicentral distance, km)
============  =====================  ==========================================================
"""

from __future__ import annotations

from dataclasses import fields

import numpy as np

from ..containers import Picks, Waveforms
from ..exceptions import InputError
from ..models import Model, load_model

__all__ = ["HEADS", "apply_heads", "load_heads", "network_magnitude"]

#: Head name → bundled model.
HEADS = {
    "polarity": "seist_polarity",
    "magnitude": "seist_magnitude",
    "baz": "seist_baz",
    "distance": "seist_distance",
}
# card task → the picks columns it fills
_COLUMNS = {
    "polarity": ("polarity", "polarity_probability"),
    "magnitude": ("magnitude_dl",),
    "back_azimuth": ("baz_deg",),
    "distance": ("distance_km",),
}


def load_heads(heads, *, device: str = "cpu", threads: int | None = None) -> list[Model]:
    """Models for ``heads``: names of :data:`HEADS` (or ``"all"``), loaded models, or paths
    of ONNX files with a ``single``-contract card beside them."""
    if isinstance(heads, str):
        heads = list(HEADS) if heads == "all" else [h.strip() for h in heads.split(",") if h]
    models = []
    for h in heads:
        if isinstance(h, Model):
            model = h
        elif str(h) in HEADS:
            model = load_model(HEADS[str(h)], device=device, threads=threads)
        elif str(h).endswith(".onnx"):
            model = load_model(str(h), device=device, threads=threads)
        else:
            raise InputError(f"unknown head {h!r}: choose from {sorted(HEADS)} or 'all'")
        if model.card.contract != "single":
            raise InputError(
                f"model {model.card.name!r} is not a per-pick head (contract "
                f"{model.card.contract!r}, expected 'single')"
            )
        models.append(model)
    return models


def _window_batch(w: Waveforms, model: Model, index: np.ndarray) -> np.ndarray:
    """``[n, channel, window]`` float32 inputs cut around the samples ``index`` of ``w``, laid
    out and normalised as the card says. Samples outside the record or in gaps are zero before
    normalisation (the training code pads its windows with zeros the same way)."""
    card = model.card
    n_win, before = card.window_length, card.p_position
    missing = [c for c in card.channel_order if c not in w.components]
    if missing:
        raise InputError(f"{w.id}: no {missing} component for head {card.name!r}")
    rows = [w.components.index(c) for c in card.channel_order]
    data = np.nan_to_num(np.asarray(w.data[rows], np.float64), nan=0.0)
    x = np.zeros((len(index), len(rows), n_win), np.float64)
    for k, i in enumerate(index.tolist()):
        a = i - before
        lo, hi = max(a, 0), min(a + n_win, w.n_samples)
        if hi > lo:
            x[k, :, lo - a : hi - a] = data[:, lo:hi]
    if card.normalisation != "none":
        x -= x.mean(axis=-1, keepdims=True)
    if card.normalisation in ("std", "peak"):
        if card.normalisation == "std":
            scale = x.std(axis=-1, keepdims=True)
        else:
            scale = np.abs(x).max(axis=-1, keepdims=True)
        scale[scale == 0] = 1.0
        x /= scale
    x = x.astype(np.float32)
    return x if card.input_layout != "NWC" else np.ascontiguousarray(x.transpose(0, 2, 1))


def _run(model: Model, x: np.ndarray, batch_size: int) -> np.ndarray:
    """The model's output rows for the windows ``x``, in batches (one window per call for the
    ``W`` layout, which has no batch axis)."""
    if model.card.input_layout == "W":
        outs = [np.reshape(model.run(np.ascontiguousarray(w[0]))[0], (1, -1)) for w in x]
    else:
        outs = [model.run(x[b : b + batch_size])[0] for b in range(0, len(x), batch_size)]
    y = np.concatenate(outs, axis=0).astype(np.float32)
    return y.reshape(len(x), -1)


def _fill(columns: dict, model: Model, rows: np.ndarray, y: np.ndarray) -> None:
    """Write one head's outputs ``y[n, label]`` for the pick rows ``rows`` into ``columns``."""
    card = model.card
    if card.task == "polarity":
        best = y.argmax(axis=1)
        prob = y[np.arange(len(y)), best]
        labels = np.array(card.labels, dtype=object)[best]
        labels[prob < card.min_probability] = "undecidable"
        columns["polarity"][rows] = labels
        columns["polarity_probability"][rows] = prob
    else:
        columns[_COLUMNS[card.task][0]][rows] = y[:, 0]


def apply_heads(
    picks: Picks,
    waveforms: Waveforms | list[Waveforms],
    heads=("polarity", "magnitude", "baz", "distance"),
    *,
    p_phase: str = "P",
    batch_size: int = 32,
    device: str = "cpu",
    threads: int | None = None,
) -> Picks:
    """The picks with the head columns filled for every P pick (a new table; the order of the
    rows is kept).

    ``waveforms``: one container per station at the heads' sampling rate (50 Hz for SeisT:
    ``seiscore.io.to_waveforms(stream, sampling_rate=50.0, components=("Z", "N", "E"))``);
    picks at stations without waveforms keep empty head columns. ``heads``: names of
    :data:`HEADS`, ``"all"``, loaded models or ONNX paths (see :func:`load_heads`). Each P pick
    gets a window of the card's length holding the pick at the card's ``p_position``.
    Columns (units): ``polarity`` ``"up"`` / ``"down"``, or ``"undecidable"`` where the
    larger class probability is below the card's ``min_probability``; ``polarity_probability``
    the larger class probability; ``magnitude_dl`` (magnitude units, type in the card);
    ``baz_deg`` (degrees clockwise from north); ``distance_km`` (km). Other picks: ``""`` / NaN.
    """
    models = load_heads(heads, device=device, threads=threads)
    items = [waveforms] if isinstance(waveforms, Waveforms) else list(waveforms)
    columns = {f.name: np.array(getattr(picks, f.name), copy=True) for f in fields(Picks)}
    columns["polarity"] = columns["polarity"].astype(object)
    for name in ("polarity_probability", "magnitude_dl", "baz_deg", "distance_km"):
        columns[name] = columns[name].astype(np.float32)
    if batch_size < 1:
        raise InputError(f"batch_size must be >= 1, got {batch_size}")
    is_p = picks.phase == p_phase
    for w in items:
        rows = np.flatnonzero(
            is_p
            & (picks.network == w.network)
            & (picks.station == w.station)
            & (picks.location == w.location)
        )
        if rows.size == 0:
            continue
        start_ns = np.int64(w.starttime.ns)
        offset_s = (picks.time[rows].astype("datetime64[ns]").astype(np.int64) - start_ns) / 1e9
        for model in models:
            if abs(w.sampling_rate - model.card.sampling_rate) > 1e-6 * model.card.sampling_rate:
                raise InputError(
                    f"{w.id}: sampled at {w.sampling_rate} Hz but head {model.card.name!r} "
                    f"expects {model.card.sampling_rate} Hz; resample first "
                    "(seiscore.io.to_waveforms(sampling_rate=...))"
                )
            index = np.round(offset_s * w.sampling_rate).astype(np.int64)
            inside = (index >= 0) & (index < w.n_samples)
            if not inside.any():
                continue
            x = _window_batch(w, model, index[inside])
            _fill(columns, model, rows[inside], _run(model, x, batch_size))
    return Picks(**columns)


def network_magnitude(
    picks: Picks, event_id, *, magnitude_type: str = "Mdl", min_stations: int = 1
):
    """The network DL magnitude of each event: the median of its stations' single-station
    magnitudes (``picks.magnitude_dl``; a station with several P picks in one event counts
    once, with their median).

    ``event_id``: one per pick (e.g. ``Association.event_id``; negative = not associated).
    Returns a ``pandas.DataFrame`` with one row per event that has at least ``min_stations``
    station magnitudes, ready to join an events table on ``event_id``: ``magnitude_dl`` (the
    median), ``magnitude_dl_type``, ``magnitude_dl_stations`` and
    ``magnitude_dl_uncertainty`` (1.4826 × the median absolute deviation of the station
    magnitudes; 0 for one station).
    """
    import pandas as pd

    event_id = np.asarray(event_id)
    if event_id.shape != (len(picks),):
        raise InputError(f"event_id: expected one per pick ({len(picks)}), got {event_id.shape}")
    stations = zip(picks.network, picks.station, picks.location, strict=True)
    df = pd.DataFrame(
        {
            "event_id": event_id,
            "station": [f"{n}.{s}.{c}" for n, s, c in stations],
            "magnitude": picks.magnitude_dl.astype(np.float64),
        }
    )
    df = df[(df.event_id >= 0) & np.isfinite(df.magnitude)]
    per_station = df.groupby(["event_id", "station"]).magnitude.median().reset_index()
    rows = []
    for eid, group in per_station.groupby("event_id"):
        m = group.magnitude.to_numpy()
        if len(m) < min_stations:
            continue
        med = float(np.median(m))
        mad = float(1.4826 * np.median(np.abs(m - med)))
        rows.append((int(eid), round(med, 3), len(m), round(mad, 3)))
    out = pd.DataFrame(
        rows,
        columns=[
            "event_id",
            "magnitude_dl",
            "magnitude_dl_stations",
            "magnitude_dl_uncertainty",
        ],
    )
    out.insert(2, "magnitude_dl_type", magnitude_type)
    return out
