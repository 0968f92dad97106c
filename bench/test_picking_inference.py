"""PhaseNet on one 100 Hz three-component station-day: seiscore (ONNX Runtime) against
SeisBench's PhaseNet ``annotate`` (PyTorch CPU) in the same run, same threads, same overlap.

Needs seisbench + torch in the bench environment for the peer (skipped with a reason without
them). Peak memory is measured in subprocesses (one per implementation) and stored in
``extra_info``. Run: ``python -m pytest bench/test_picking_inference.py --benchmark-only``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

PEERS = Path(__file__).resolve().parent / "peers"
sys.path.insert(0, str(PEERS))

from seisbench_phasenet import make_station_day  # noqa: E402
from seiscore_phasenet import run_seiscore  # noqa: E402

THREADS = int(os.environ.get("SEISCORE_BENCH_THREADS", "2"))


@pytest.fixture(scope="module")
def station_day():
    return make_station_day(seed=0)


def _peak_rss(script: str) -> dict:
    env = dict(os.environ, OMP_WAIT_POLICY="PASSIVE")
    out = subprocess.run(
        [sys.executable, str(PEERS / script), "--threads", str(THREADS)],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def test_seiscore_phasenet_station_day(benchmark, station_day):
    from seiscore.models import load_model

    model = load_model("phasenet", threads=THREADS)
    benchmark.extra_info.update(
        workload="phasenet station-day", implementation="seiscore", threads=THREADS
    )
    _, picks = benchmark.pedantic(
        run_seiscore, args=(station_day, THREADS, model), rounds=3, iterations=1
    )
    assert len(picks) > 100
    benchmark.extra_info["subprocess"] = _peak_rss("seiscore_phasenet.py")


def test_seisbench_phasenet_station_day(benchmark, station_day):
    pytest.importorskip(
        "seisbench", reason="peer not installed: pip install torch==2.13.0 seisbench"
    )
    from seisbench_phasenet import make_model, run_seisbench

    model = make_model()
    benchmark.extra_info.update(
        workload="phasenet station-day", implementation="seisbench", threads=THREADS
    )
    ann = benchmark.pedantic(
        run_seisbench, args=(station_day, THREADS, model), rounds=3, iterations=1
    )
    assert len(ann) == 3
    benchmark.extra_info["subprocess"] = _peak_rss("seisbench_phasenet.py")
