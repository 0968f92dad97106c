"""PhaseNet's network alone: seiscore's native kernel against ONNX Runtime (the same ONNX file,
the same normalised windows, one thread each, batches of 8 as ``annotate`` runs them), in the
same run. Run: ``python -m pytest bench/test_picking_native.py --benchmark-only``.
"""

from __future__ import annotations

import numpy as np
import pytest

from seiscore.models import load_model

N_WINDOWS = 256
BATCH = 8


@pytest.fixture(scope="module")
def windows():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((N_WINDOWS, 3, 3000)).astype(np.float32)
    return [np.ascontiguousarray(x[i : i + BATCH]) for i in range(0, N_WINDOWS, BATCH)]


def _all(model, batches, out):
    for x in batches:
        model.run_into(x, out)


@pytest.mark.parametrize("engine", ["native", "onnxruntime"])
def test_phasenet_network(benchmark, windows, engine):
    model = load_model("phasenet", threads=1, engine=engine)
    assert model.engine == engine
    out = np.empty((BATCH, 3, 3000), np.float32)
    benchmark.extra_info.update(
        workload=f"phasenet network, {N_WINDOWS} windows", implementation=engine, threads=1
    )
    benchmark.pedantic(_all, args=(model, windows, out), rounds=5, iterations=1, warmup_rounds=1)
    ref = load_model("phasenet", threads=1, engine="onnxruntime").run(windows[0])[0]
    model.run_into(windows[0], out)
    assert np.abs(out - ref).max() < 1e-5
