"""Models: an ONNX file plus a model card (JSON beside it), run with ONNX Runtime.

Public API
----------
* :class:`ModelCard` (:mod:`~seiscore.models.card`): what a model expects and returns — the
  fields are listed in that module's docstring (pickers and single-value heads).
* :func:`load_model`, :class:`Model`, :func:`available_models`, :data:`MODELS_DIR`
  (:mod:`~seiscore.models.runtime`): bundled models by name, or any ONNX file with its card.

Conversion helpers (used by ``tools/`` and the conversion tests, not at run time):
:mod:`~seiscore.models.pth` reads PyTorch checkpoints without PyTorch, and
:mod:`~seiscore.models.seist` builds the SeisT graphs with ``onnx.helper`` (needs ``onnx``,
the ``convert`` extra).
"""

from __future__ import annotations

from .card import ModelCard
from .runtime import MODELS_DIR, Model, available_models, load_model, resolve_onnx_device

__all__ = ["MODELS_DIR", "Model", "ModelCard", "available_models", "load_model"]

# importable as before (``from seiscore.models import resolve_onnx_device``), not part of the
# services' API
_ = resolve_onnx_device
