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
"""

from __future__ import annotations

from .annotate import annotate
from .extract import extract_picks
from .pick import pick

__all__ = ["annotate", "extract_picks", "pick"]
