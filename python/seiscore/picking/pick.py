"""Picks with absolute times, amplitudes and SNR from continuous waveforms: :func:`annotate`
then :func:`extract_picks`."""

from __future__ import annotations

import numpy as np

from .._validate import per_phase
from ..containers import Annotations, Picks, SamplePicks, Waveforms
from ..exceptions import InputError
from ..models import Model, load_model
from .annotate import annotate
from .extract import check_thresholds, extract_picks


def _amplitude_snr(data: np.ndarray, index: np.ndarray, fs: float, window_s: float):
    """Peak |amplitude| after each pick and the RMS ratio after / before it, over all rows."""
    n = data.shape[1]
    k = max(1, int(round(window_s * fs)))
    amp = np.full(len(index), np.nan, np.float32)
    snr = np.full(len(index), np.nan, np.float32)
    for j, i in enumerate(index.tolist()):
        lo, hi = max(0, i - k), min(n, i + k)
        seg = data[:, lo:hi]
        if not np.isfinite(seg).all() or i - lo < 2 or hi - i < 2:
            continue
        seg = seg - seg[:, : i - lo].mean(axis=1, keepdims=True)
        before, after = seg[:, : i - lo], seg[:, i - lo :]
        amp[j] = np.abs(after).max()
        noise = np.sqrt(np.mean(before**2))
        signal = np.sqrt(np.mean(after**2))
        snr[j] = signal / noise if noise > 0 else np.inf
    return amp, snr


def pick(
    waveforms: Waveforms | list[Waveforms],
    model: Model | str = "phasenet",
    *,
    height=None,
    distance_s=None,
    method: str = "peaks",
    amplitude_window_s: float = 1.0,
    batch_size: int | None = None,
    overlap: int | None = None,
    device: str = "cpu",
    threads: int | None = None,
    precision: str | None = None,
    annotations: list[Annotations] | None = None,
) -> Picks:
    """Pick P and S phases on continuous waveforms: :func:`annotate` + :func:`extract_picks`.

    ``height`` and ``distance_s`` (seconds) default to the model card's recommendations (per
    phase: a dict ``{"P": 0.3, "S": 0.3}``, a sequence in the card's phase order, or a scalar).
    Thresholds are probabilities in [0, 1] (InputError naming the phase otherwise).
    ``method="trigger"`` uses a hysteresis trigger with ``on=height`` and ``off=height/2``.
    Amplitude (peak absolute amplitude of the demeaned waveform, all components, in input
    units) and SNR (RMS ratio) are measured over ``amplitude_window_s`` after / before each
    pick. Pass ``annotations`` (from :func:`annotate`) to skip inference; ``batch_size``,
    ``overlap``, ``device``, ``threads`` and ``precision`` are :func:`annotate`'s.
    """
    if isinstance(model, str):
        model = load_model(model, device=device, threads=threads, precision=precision)
    items = [waveforms] if isinstance(waveforms, Waveforms) else list(waveforms)
    card = model.card
    phases = [card.phases[lab] for lab in card.phase_labels]
    h = _per_phase_value(card, phases, height, "height", 0.3)
    d = _per_phase_value(card, phases, distance_s, "distance_s", 1.0)
    check_thresholds(per_phase(h, len(phases), "height", np.float64), "height", phases)
    if annotations is None:
        annotations = annotate(items, model, batch_size=batch_size, overlap=overlap)
    if len(annotations) != len(items):
        raise InputError(f"got {len(annotations)} annotations for {len(items)} stations")
    tables = []
    for w, ann in zip(items, annotations, strict=False):
        sp = _sample_picks(ann, phases, h, d, method)
        if len(sp):
            tables.append(_station_picks(w, sp, phases, ann.sampling_rate, amplitude_window_s))
    return Picks.concatenate(tables)


def _per_phase_value(card, phases, value, key, default):
    """A per-phase setting: the card's recommendation for ``key`` where ``value`` gives none."""
    if value is None:
        return [card.threshold(p, key, default) for p in phases]
    if isinstance(value, dict):
        return [float(value.get(p, card.threshold(p, key, default))) for p in phases]
    return value


def _sample_picks(ann: Annotations, phases, height, distance_s, method: str) -> SamplePicks:
    """Picks (sample positions) on one station's probabilities."""
    fs = ann.sampling_rate
    prob = ann.prob[None, : len(phases)]  # the phases come first; extra traces are not picked
    if method == "peaks":
        return extract_picks(prob, height=height, distance=distance_s, sampling_rate=fs)
    on = np.asarray(height, np.float32) * np.ones(len(phases), np.float32)
    return extract_picks(prob, method="trigger", on=on, off=on / 2)


def _station_picks(
    w: Waveforms, sp: SamplePicks, phases, fs: float, amplitude_window_s: float
) -> Picks:
    """One station's picks with absolute times, amplitudes and SNR."""
    amp, snr = _amplitude_snr(w.data[w.present], sp.index, fs, amplitude_window_s)
    start_ns = np.int64(w.starttime.ns)
    times = start_ns + np.round(sp.position / fs * 1e9).astype(np.int64)
    n = len(sp)
    return Picks(
        network=np.full(n, w.network, dtype=object),
        station=np.full(n, w.station, dtype=object),
        location=np.full(n, w.location, dtype=object),
        phase=np.array(phases, dtype=object)[sp.phase],
        time=times.astype("datetime64[ns]"),
        probability=sp.probability,
        amplitude=amp,
        snr=snr,
    )
