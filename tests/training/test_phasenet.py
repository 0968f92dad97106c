"""The torch PhaseNet, loaded from the shipped ONNX file, reproduces that file's outputs."""

from __future__ import annotations

import numpy as np
import pytest

from seiscore.models import MODELS_DIR

from ..conftest import SHARED_DATA

torch = pytest.importorskip("torch")
ort = pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")

from seiscore.training.labels import normalise  # noqa: E402
from seiscore.training.phasenet import PhaseNet, phasenet_from_onnx  # noqa: E402

ONNX = MODELS_DIR / "phasenet" / "phasenet.onnx"


def _demo_windows() -> np.ndarray:
    """One 3000-sample window of each bundled demo record (real NCEDC data), normalised."""
    import obspy

    out = []
    for f in sorted((MODELS_DIR.parent / "demo").glob("*.mseed")):
        st = obspy.read(str(f))
        x = np.stack([st.select(component=c)[0].data[:3000] for c in "ENZ"]).astype(np.float64)
        out.append(normalise(x))
    return np.stack(out)


def _onnx(x: np.ndarray) -> np.ndarray:
    sess = ort.InferenceSession(str(ONNX), providers=["CPUExecutionProvider"])
    return sess.run(None, {"waveform": x})[0]


def test_torch_phasenet_reproduces_the_shipped_onnx():
    torch.set_num_threads(2)
    net = phasenet_from_onnx(ONNX).eval()
    x = _demo_windows()
    assert x.shape == (12, 3, 3000)
    with torch.no_grad():
        ours = net.probabilities(torch.from_numpy(x)).numpy()
    assert np.abs(ours - _onnx(x)).max() <= 1e-5


def test_torch_phasenet_reproduces_the_reference_windows():
    """PhaseNet's 154 TensorFlow reference windows (../shared/data), first 32 of them."""
    path = SHARED_DATA / "phasenet" / "phasenet_tf_reference.npz"
    if not path.is_file():
        pytest.skip(f"shared data not available: {path}")
    torch.set_num_threads(2)
    ref = np.load(path)
    x = normalise(ref["waveform"][:32].transpose(0, 2, 1))
    net = phasenet_from_onnx(ONNX).eval()
    with torch.no_grad():
        ours = net.probabilities(torch.from_numpy(x)).numpy()
    assert np.abs(ours - _onnx(x)).max() <= 1e-5
    assert np.abs(ours.transpose(0, 2, 1) - ref["prob_tf"][:32]).max() <= 1e-4


def test_parameter_names_are_the_onnx_initializers():
    import onnx

    names = {t.name for t in onnx.load(str(ONNX)).graph.initializer}
    state = PhaseNet().onnx_state()
    assert set(state) <= names
    assert {"input.weight", "down4.conv1.bias", "up0.conv0.weight", "output.bias"} <= set(state)
