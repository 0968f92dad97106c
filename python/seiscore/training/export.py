"""Trained PhaseNet → ONNX file and model card, checked against the torch model.

The graph is the base model's (the bundled ``phasenet.onnx``: 2-D convolutions over ``[batch,
channel, 1, time]``, the softmax written out; see ``tools/convert_phasenet.py``) with its weight
initializers replaced by the trained ones, name for name: the fine-tuned model runs exactly as
fast as the bundled one, and :func:`~seiscore.training.phasenet.phasenet_from_onnx` reads it
back. :func:`export_phasenet` then runs the file with ONNX Runtime on the given windows and
compares with the torch model (at most ``tolerance``, 1e-4, apart, or ValueError).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["ExportResult", "export_phasenet", "fine_tuned_card", "onnx_probabilities"]

TOLERANCE = 1e-4


@dataclass
class ExportResult:
    onnx: Path
    card: Path
    max_abs_diff: float
    windows_checked: int


def fine_tuned_card(
    base: dict,
    *,
    name: str,
    sampling_rate: float,
    thresholds: dict,
    provenance: str,
    note: str,
    training: dict,
) -> dict:
    """The card of a fine-tuned model: the base card's input and output contract, the training
    rate, the thresholds chosen on validation (per phase ``height``), and where it came from."""
    card = {k: v for k, v in base.items() if k not in ("variant_of", "precision")}
    card["name"] = name
    card["sampling_rate"] = float(sampling_rate)
    recommended = {ph: dict(v) for ph, v in (base.get("recommended") or {}).items()}
    for phase, height in thresholds.items():
        recommended.setdefault(phase, {})["height"] = float(height)
    card["recommended"] = recommended
    card["provenance"] = provenance
    card["note"] = note
    card["training"] = training
    return card


def onnx_probabilities(path, x: np.ndarray, input_name: str = "waveform") -> np.ndarray:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    out = [session.run(None, {input_name: x[i : i + 16]})[0] for i in range(0, len(x), 16)]
    return np.concatenate(out) if out else np.zeros_like(x)


def export_phasenet(
    net, base_onnx, output, card: dict, check_windows: np.ndarray, tolerance: float = TOLERANCE
) -> ExportResult:
    """Write ``output`` (ONNX) and its card (``output`` with ``.json``), then check it."""
    import onnx
    from onnx import numpy_helper

    from .train import predict

    output = Path(output)
    model = onnx.load(str(base_onnx))
    state = net.onnx_state()
    used = set()
    for i, init in enumerate(model.graph.initializer):
        if init.name in state:
            model.graph.initializer[i].CopyFrom(
                numpy_helper.from_array(state[init.name], init.name)
            )
            used.add(init.name)
    if used != set(state):
        raise ValueError(f"{base_onnx}: no initializers for {sorted(set(state) - used)[:4]}")
    model.doc_string = card.get("provenance", "")
    _set_metadata(
        model,
        {
            "fine_tuned_from": str(card.get("training", {}).get("base", "")),
            "sampling_rate": f"{card['sampling_rate']:g}",
        },
    )
    model.producer_name = "seiscore training (seiscore train)"
    onnx.checker.check_model(model, full_check=True)
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = output.with_name(output.name + ".tmp")
    onnx.save_model(model, str(tmp))
    os.replace(tmp, output)
    card_path = output.with_suffix(".json")
    tmp = card_path.with_name(card_path.name + ".tmp")
    tmp.write_text(json.dumps(card, indent=2) + "\n")
    os.replace(tmp, card_path)
    diff = 0.0
    if len(check_windows):
        ours = predict(net, check_windows)
        theirs = onnx_probabilities(output, check_windows, card.get("input_name", "waveform"))
        diff = float(np.abs(ours - theirs).max())
        if not diff <= tolerance:
            raise ValueError(f"{output}: ONNX and torch differ by {diff:.3g} (> {tolerance})")
    return ExportResult(output, card_path, diff, len(check_windows))


def _set_metadata(model, values: dict) -> None:
    existing = {p.key: p for p in model.metadata_props}
    for key, value in values.items():
        entry = existing.get(key) or model.metadata_props.add()
        entry.key, entry.value = key, value
