"""The committed PhaseNet ONNX model reproduces the original TensorFlow outputs.

The model is located relative to the repository (``tests/conftest.py``'s ``REPO``, not via
``import seiscore``) and run with onnxruntime on the CPU; torch is not needed.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from ..conftest import REPO

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

MODEL_DIR = REPO / "python" / "seiscore" / "data" / "models" / "phasenet"
MODEL_PATH = MODEL_DIR / "phasenet.onnx"
CARD_PATH = MODEL_DIR / "phasenet.json"
SHARED = REPO.parent / "shared" / "data" / "phasenet"
REFERENCE = SHARED / "phasenet_tf_reference.npz"

TOLERANCE = 1e-4

REQUIRED_KEYS = {
    "name",
    "contract",
    "sampling_rate",
    "window_length",
    "input_name",
    "output_name",
    "input_layout",
    "channel_order",
    "normalisation",
    "labels",
    "recommended",
    "licence",
    "provenance",
    "citation",
    "opset",
}


def _normalise(wave: np.ndarray) -> np.ndarray:
    """Per window and channel: minus mean, divided by std (std 0 -> zeros)."""
    x = np.asarray(wave, dtype=np.float64)
    x = x - x.mean(axis=1, keepdims=True)
    std = x.std(axis=1, keepdims=True)
    std[std == 0] = 1.0
    return (x / std).astype(np.float32)


def _card() -> dict:
    with open(CARD_PATH, encoding="utf-8") as fh:
        return json.load(fh)


def test_phasenet_matches_tensorflow_reference():
    if not SHARED.is_dir() or not REFERENCE.is_file():
        pytest.skip(f"PhaseNet reference data not available at {SHARED}")
    assert MODEL_PATH.is_file(), f"missing {MODEL_PATH}"
    card = _card()
    assert card["input_layout"] == "NCW"

    ref = np.load(REFERENCE)
    wave = ref["waveform"]  # [n, 3000, 3] raw counts, E N Z
    prob_tf = ref["prob_tf"]  # [n, 3000, 3] noise P S
    assert wave.shape == (154, 3000, 3)

    x = _normalise(wave).transpose(0, 2, 1)  # -> NCW
    sess = ort.InferenceSession(str(MODEL_PATH), providers=["CPUExecutionProvider"])
    prob = sess.run([card["output_name"]], {card["input_name"]: np.ascontiguousarray(x)})[0]
    assert prob.shape == (154, 3, 3000)
    prob = prob.transpose(0, 2, 1)

    diff = np.abs(prob.astype(np.float64) - prob_tf.astype(np.float64))
    max_diff = float(diff.max())
    print(f"PhaseNet ONNX vs TF: max abs diff {max_diff:.3e}, mean {diff.mean():.3e}")
    assert max_diff < TOLERANCE, f"max abs diff {max_diff:.3e} >= {TOLERANCE}"


def test_phasenet_model_card_matches_graph():
    assert CARD_PATH.is_file(), f"missing {CARD_PATH}"
    card = _card()
    missing = REQUIRED_KEYS - set(card)
    assert not missing, f"model card lacks keys {sorted(missing)}"
    assert card["name"] == "phasenet"
    assert card["contract"] == "window"
    assert card["sampling_rate"] == 100.0
    assert card["window_length"] == 3000
    assert card["channel_order"] == ["E", "N", "Z"]
    assert card["labels"] == ["noise", "P", "S"]
    assert card["normalisation"] == "std"
    assert card["licence"] == "MIT"
    assert set(card["recommended"]) == {"P", "S"}
    assert (MODEL_DIR / "LICENSE").is_file(), "the MIT LICENSE must ship with the model"

    model = onnx.load(str(MODEL_PATH), load_external_data=False)
    inputs = [i.name for i in model.graph.input]
    init_names = {t.name for t in model.graph.initializer}
    inputs = [n for n in inputs if n not in init_names]
    outputs = [o.name for o in model.graph.output]
    assert inputs == [card["input_name"]]
    assert outputs == [card["output_name"]]
    opsets = {o.domain: o.version for o in model.opset_import}
    assert opsets.get("", opsets.get("ai.onnx")) == card["opset"]

    dims = model.graph.input[0].type.tensor_type.shape.dim
    assert [d.dim_value for d in dims[1:]] == [3, 3000]  # NCW, fixed window
