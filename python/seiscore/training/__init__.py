"""Training: labelled waveforms → a fine-tuned picker as an ONNX model and its card.

Torch-only code that makes ONNX models; nothing at run time imports it (``seiscore pick`` and
``seiscore run`` run the ONNX file through :mod:`seiscore.models`). Needs the ``train`` extra
(``pip install 'seiscore[train]'``, PyTorch 2.13.0) for the modules marked *torch*; the others
use NumPy and h5py only. ``seiscore train`` (:mod:`seiscore.workflow.train`) composes them.

Public API
----------
* :func:`read_reference_picks`, :func:`merge_duplicates`, :class:`ReferencePicks`
  (:mod:`~seiscore.training.picks`): reference picks from seiscore CSV, QuakeML, QuakeMigrate
  and NonLinLoc files.
* :func:`segments_from_waveforms`, :func:`segments_from_seisbench` (:mod:`~.data`): labelled
  segments from waveforms + picks, or from a SeisBench data set, into a
  :class:`WindowStoreWriter`; :class:`WindowStore` reads them back (:mod:`~.store`, HDF5).
* :func:`phase_labels`, :func:`loss_weights`, :func:`normalise` (:mod:`~.labels`);
  :class:`AugmentConfig`, :func:`augment_window`, :func:`cut_window` (:mod:`~.augment`).
* *torch*: :class:`PhaseNet`, :func:`phasenet_from_onnx`, :func:`load_base`
  (:mod:`~.phasenet`); :class:`TrainConfig`, :func:`fit`, :func:`predict` (:mod:`~.train`);
  :func:`export_phasenet` (:mod:`~.export`).
* :func:`choose_threshold`, :func:`phase_metrics` (:mod:`~.evaluate`): validation picks.

Names are imported on first use, so ``import seiscore.training`` does not import torch.
"""

from __future__ import annotations

import importlib

_WHERE = {
    "ReferencePicks": "picks",
    "merge_duplicates": "picks",
    "read_reference_picks": "picks",
    "segments_from_seisbench": "data",
    "segments_from_waveforms": "data",
    "WindowStore": "store",
    "WindowStoreWriter": "store",
    "loss_weights": "labels",
    "normalise": "labels",
    "phase_labels": "labels",
    "AugmentConfig": "augment",
    "augment_window": "augment",
    "cut_window": "augment",
    "PhaseNet": "phasenet",
    "load_base": "phasenet",
    "phasenet_from_onnx": "phasenet",
    "TrainConfig": "train",
    "predict": "train",
    "fit": "train",
    "export_phasenet": "export",
    "choose_threshold": "evaluate",
    "phase_metrics": "evaluate",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str):
    if name in _WHERE:
        module = importlib.import_module(f"{__name__}.{_WHERE[name]}")
        return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
