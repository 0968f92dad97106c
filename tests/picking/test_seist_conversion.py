"""The SeisT conversion: every published checkpoint, read without PyTorch and written as an ONNX
graph by ``seiscore.models.seist``, gives the original code's outputs
(``../shared/data/seist/seist_reference.npz``, 18 real and noise windows): probabilities within
1e-4, the regression heads (magnitude, back-azimuth in degrees, distance in km) within 1e-3.
The bundled models are the converted ones, with their MIT licence and cards.

Converting and running all 18 checkpoints takes about 15 s on two cores, so every size runs.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from seiscore.models import MODELS_DIR, load_model
from seiscore.models.seist import SEIST_TASKS, build_seist, parse_checkpoint_name

from ..conftest import shared_file

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

CHECKPOINTS = [
    f"seist_{size}_{task}_{data}"
    for size in "sml"
    for task, data in (
        ("dpk", "diting"),
        ("pmp", "diting"),
        ("emg", "diting"),
        ("emg", "pnw"),
        ("baz", "diting"),
        ("dis", "diting"),
    )
]
PROBABILITY_TOLERANCE = 1e-4
VALUE_TOLERANCE = 1e-3
BUNDLED = {
    "seist": "dpk_diting",
    "seist_polarity": "pmp_diting",
    "seist_magnitude": "emg_diting",
    "seist_magnitude_pnw": "emg_pnw",
    "seist_baz": "baz_diting",
    "seist_distance": "dis_diting",
}


@pytest.fixture(scope="module")
def reference():
    with np.load(shared_file("seist", "seist_reference.npz")) as ref:
        return {k: ref[k] for k in ref.files}


def _run(model_proto, x: np.ndarray) -> np.ndarray:
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(
        model_proto.SerializeToString(), options, providers=["CPUExecutionProvider"]
    )
    return session.run(None, {"waveform": x})[0]


@pytest.mark.parametrize("name", CHECKPOINTS)
def test_checkpoint_converts_exactly(reference, name):
    from seiscore.models.pth import read_state_dict

    path = shared_file("seist", "pretrained", f"{name}.pth")
    spec = parse_checkpoint_name(path.name)
    out = _run(build_seist(read_state_dict(path), spec), reference["waveform"])
    expected = reference[f"{name}__out0"]
    assert out.shape == expected.shape
    diff = float(np.abs(out.astype(np.float64) - expected).max())
    values = SEIST_TASKS[spec.task][2] == "values"
    tol = VALUE_TOLERANCE if values else PROBABILITY_TOLERANCE
    print(f"{name}: max abs diff {diff:.2e}")
    assert diff < tol, f"{name}: max abs diff {diff:.2e} >= {tol}"


@pytest.mark.parametrize("name", sorted(BUNDLED))
def test_bundled_model_is_a_converted_checkpoint(reference, name):
    folder = MODELS_DIR / name
    card = json.loads((folder / f"{name}.json").read_text())
    assert card["licence"] == "MIT"
    assert (folder / "LICENSE").read_text().startswith("MIT License")
    assert "Li, S." in card["citation"]
    assert "10.1109/TGRS.2024.3371503" in card["citation"]
    assert "retrain" in card["note"]
    assert "DiTing" in card["note"]
    assert card["checkpoint"].endswith(BUNDLED[name])
    assert card["size"] in "sml"
    model = load_model(name)
    assert model.card.sampling_rate == 50.0
    assert model.card.channel_order == ("Z", "N", "E")
    out = model.run(reference["waveform"])[0]
    expected = reference[f"{card['checkpoint']}__out0"]
    assert float(np.abs(out - expected).max()) < VALUE_TOLERANCE


def test_cards_say_how_to_cut_and_read(reference):
    picker = load_model("seist").card
    assert picker.contract == "window"
    assert picker.window_length == 8192
    assert picker.phase_labels == ("P", "S")
    assert picker.trace_labels == ("P", "S", "detection")
    heads = {name: load_model(name).card for name in BUNDLED if name != "seist"}
    for card in heads.values():
        assert card.contract == "single"
        assert 0 < card.p_position < card.window_length
    assert heads["seist_polarity"].labels == ("up", "down")
    assert heads["seist_polarity"].output_kind == "classes"
    assert heads["seist_magnitude"].magnitude_type == "Mdl"
    assert heads["seist_baz"].units == {"back_azimuth": "deg"}
    assert heads["seist_distance"].units == {"distance": "km"}


def test_names_and_missing_weights_are_refused():
    from seiscore import InputError

    with pytest.raises(InputError, match="not a SeisT checkpoint"):
        parse_checkpoint_name("phasenet.pth")
    with pytest.raises(InputError, match="size"):
        parse_checkpoint_name("seist_x_dpk_diting.pth")
    with pytest.raises(InputError, match="no weight"):
        build_seist({}, parse_checkpoint_name("seist_s_pmp_diting"))
