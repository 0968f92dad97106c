"""PhaseNet through ONNX Runtime's CUDA provider (IO binding, pinned buffers, large batches)
agrees with the CPU. Runs only where onnxruntime-gpu sees a GPU; skipped elsewhere."""

from __future__ import annotations

import numpy as np
import obspy
import pytest

from seiscore.containers import Waveforms
from seiscore.models import load_model
from seiscore.picking import annotate


def _cuda_session_works() -> bool:
    try:
        import onnxruntime as ort
    except ImportError:
        return False
    if "CUDAExecutionProvider" not in ort.get_available_providers():
        return False
    try:
        return load_model("phasenet", device="cuda").device == "cuda"
    except Exception:  # noqa: BLE001 - a provider without a usable device
        return False


pytestmark = pytest.mark.skipif(
    not _cuda_session_works(), reason="no CUDA GPU for ONNX Runtime (onnxruntime-gpu)"
)


def test_cuda_annotate_matches_the_cpu(rng):
    data = (rng.standard_normal((3, 60_000)) * 200).astype(np.float32)
    data[:, 20_000:20_500] = np.nan
    w = Waveforms(
        "XX", "GPU", "", "HH", obspy.UTCDateTime(2024, 1, 1), 100.0, ("E", "N", "Z"), data,
        np.ones(3, bool),
    )  # fmt: skip
    gpu = load_model("phasenet", device="cuda")
    assert gpu.batch_size >= 256
    (a,) = annotate(w, gpu)
    (b,) = annotate(w, load_model("phasenet", device="cpu"))
    np.testing.assert_array_equal(np.isnan(a.prob), np.isnan(b.prob))
    np.testing.assert_allclose(a.prob, b.prob, atol=1e-4)


def test_cuda_host_buffers_are_usable():
    gpu = load_model("phasenet", device="cuda")
    x = gpu.host_buffer((4, 3, 3000))
    y = gpu.host_buffer((4, 3, 3000))
    x[:] = 0.0
    gpu.run_into(x, y)
    np.testing.assert_allclose(y.sum(axis=1), 1.0, atol=1e-5)  # softmax over the classes
