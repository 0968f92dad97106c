"""Per-pick heads on a station's stream, shared by ``seiscore-pick --heads`` and ``seiscore run``
(``[picking] heads``): each head gets the station's waveforms at its own sampling rate."""

from __future__ import annotations

from .. import picking
from ..containers import Picks
from ..io import waveforms as wio


def apply_heads_to_stream(picks: Picks, stream, items, rate: float, heads) -> Picks:
    """The picks with the columns of ``heads`` (loaded head models) filled
    (:func:`seiscore.picking.apply_heads`). ``items`` are the picker's waveforms of ``stream``
    at ``rate`` Hz; a head at another rate gets ``stream`` resampled to its own."""
    for model in heads:
        head_rate = model.card.sampling_rate
        if abs(head_rate - rate) > 1e-6 * head_rate:
            head_items, _ = wio.to_waveforms(
                stream, sampling_rate=head_rate, components=model.card.channel_order
            )
        else:
            head_items = items
        picks = picking.apply_heads(picks, head_items, [model])
    return picks
