"""Which converted records are worth picking: :func:`screen_waveforms`.

:func:`~seiscore.io.waveforms.to_waveforms` turns whatever a file holds into model input;
records that cannot give picks (all gaps, a few seconds long, sampled at 1 Hz) would then be
picked to nothing without a word. This screens them out, one message each, naming the station.
"""

from __future__ import annotations

import numpy as np

from ..containers import Waveforms

__all__ = ["MIN_RATE_FRACTION", "MIN_WINDOW_FRACTION", "screen_for_model", "screen_waveforms"]

#: Records sampled below this fraction of a model's rate are not picked (a 1 Hz record
#: resampled to 100 Hz holds nothing a picker could use).
MIN_RATE_FRACTION = 0.2
#: Records with less data than this fraction of a model window are not picked (3 s for
#: PhaseNet's 30 s windows: too short to hold a P and its context).
MIN_WINDOW_FRACTION = 0.1


def _rate(r: float) -> str:
    return f"{r:g} Hz"


def screen_waveforms(
    items, stream, *, min_sampling_rate: float | None = None, min_samples: int | None = None
) -> tuple[list[Waveforms], list[str]]:
    """The waveforms of ``items`` (from ``to_waveforms``) worth picking, and one message
    ``"NET.STA.LOC (BAND): reason; skipped"`` per waveform left out: no sample with data at
    all (only gaps or NaN), fewer than ``min_samples`` samples with data, or recorded (in
    ``stream``, the traces it came from) at a rate below ``min_sampling_rate``."""
    kept, messages = [], []
    for w in items:
        fs = w.sampling_rate
        n = int(np.isfinite(np.asarray(w.data)).all(axis=0).sum())
        native = [
            float(tr.stats.sampling_rate)
            for tr in stream
            if (tr.stats.network, tr.stats.station, tr.stats.location, tr.stats.channel[:-1])
            == (w.network, w.station, w.location, w.band)
        ]
        if n == 0:
            reason = "no data samples (only gaps or NaN)"
        elif min_samples and n < min_samples:
            reason = f"only {n / fs:g} s of data, shorter than the {min_samples / fs:g} s needed"
        elif min_sampling_rate and native and max(native) < min_sampling_rate:
            reason = (
                f"recorded at {_rate(max(native))}, below the {_rate(min_sampling_rate)} "
                "needed for picking"
            )
        else:
            kept.append(w)
            continue
        messages.append(f"{w.id} ({w.band}): {reason}; skipped")
    return kept, messages


def screen_for_model(items, stream, card) -> tuple[list[Waveforms], list[str]]:
    """:func:`screen_waveforms` with the limits of a model card (``sampling_rate``,
    ``window_length``, ``min_length``): a rate of at least ``MIN_RATE_FRACTION`` of the
    model's, and at least ``MIN_WINDOW_FRACTION`` of a window (or the shortest input the
    model takes) of data. Shorter records than a window are still picked (zero-padded, as
    annotate does); only scraps too short to hold a phase are left out."""
    return screen_waveforms(
        items,
        stream,
        min_sampling_rate=card.sampling_rate * MIN_RATE_FRACTION,
        min_samples=max(int(card.window_length * MIN_WINDOW_FRACTION), card.min_length) or None,
    )
