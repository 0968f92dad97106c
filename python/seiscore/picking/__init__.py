"""Picking: waveforms → phase-probability traces → picks.

``annotate`` runs a deep-learning picker (ONNX Runtime, see :mod:`seiscore.models`) over
continuous waveforms and returns probability traces; ``extract_picks`` turns probability
traces into picks with the C++ kernel in ``seiscore._core.picking``; ``pick`` composes the two
and returns a table of picks with absolute times, amplitudes and SNR.

Public API
----------
* :func:`annotate` (:mod:`~seiscore.picking.annotate`): waveforms → phase probabilities.
* :func:`extract_picks` (:mod:`~seiscore.picking.extract`): phase probabilities → picks
  (sample positions).
* :func:`pick` (:mod:`~seiscore.picking.pick`): waveforms → picks with absolute times,
  amplitudes and SNR.
* :func:`apply_heads` (:mod:`~seiscore.picking.heads`): per P pick, the estimates of
  single-value heads (polarity, single-station magnitude, back-azimuth, distance) as new
  columns of the picks table; :data:`HEADS` names the bundled ones, :func:`load_heads` loads
  them; :func:`network_magnitude`:
  an event's DL magnitude, the median of its stations'.
"""

from __future__ import annotations

from .annotate import annotate
from .extract import extract_picks
from .heads import HEADS, apply_heads, load_heads, network_magnitude
from .pick import pick

__all__ = [
    "HEADS",
    "annotate",
    "apply_heads",
    "extract_picks",
    "load_heads",
    "network_magnitude",
    "pick",
]
