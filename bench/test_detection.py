"""Detection benchmark: seiscore's migration detection against QuakeMigrate's detect on the same
onsets, same run.

    python -m pytest bench/test_detection.py --benchmark-only --benchmark-json=det.json

QuakeMigrate runs with the peers' Python (``SEISCORE_PEERS_PYTHON``, default
``/work/peers-venv/bin/python``; made with ``python3.11 -m venv /work/peers-venv &&
/work/peers-venv/bin/pip install "numpy<2" quakemigrate``) in a subprocess,
``bench/peers/quakemigrate_detect.py``, on the arrays this file writes; the test is skipped
when that Python or QuakeMigrate is missing.

Workload: one hour of the synthetic scenario of ``tests/location/test_detection.py``
(:func:`seiscore.workflow.demo.continuous_scenario`, 12 stations, 36 events, noise bursts),
STA/LTA onsets at 50 Hz (QuakeMigrate's recipe, :func:`seiscore.location.stalta_onsets`), a
41 x 41 x 21 grid (1 km, 35,301 nodes) and travel times of a homogeneous model: 12
station-hours, 24 onset rows x 180,000 samples. QuakeMigrate gets the onsets as it takes them
(``1 + STA/LTA``, float64; it clips at 0.01 and logs), seiscore its log-onsets (float32).

Timed: QuakeMigrate's detect loop (per 120 s timestep, its default: ``migrate`` into the 4-D
map, ``find_max_coa``; ``bench/peers/quakemigrate_detect.py``), and seiscore's ``coalescence``
(the same maximum-coalescence trace, fused), ``scan(locate=False)`` (the whole detection:
detection onsets, statistic, one event per peak, side lobes, grid edges) and ``scan`` (detection
and the location of every event). Before timing, the test checks that QuakeMigrate's maximum
coalescence equals seiscore's on the same onsets (float32 rounding). Throughput is station-hours
of onsets per second (``extra_info``).
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from seiscore import _core, synthetic
from seiscore import location as loc
from seiscore import traveltime as tt
from seiscore.containers import Grid3D

PEERS = Path(os.environ.get("SEISCORE_PEERS_PYTHON", "/work/peers-venv/bin/python"))
SCRIPT = Path(__file__).parent / "peers" / "quakemigrate_detect.py"
N_STATIONS, FS, HOURS = 12, 50.0, 1.0


def _peers_ok() -> bool:
    if not PEERS.exists():
        return False
    r = subprocess.run([str(PEERS), "-c", "import quakemigrate"], capture_output=True)
    return r.returncode == 0


pytestmark = pytest.mark.skipif(
    not _peers_ok(), reason=f"no QuakeMigrate in the peers' Python ({PEERS})"
)


@functools.cache
def workload():
    from seiscore.io.waveforms import to_waveforms
    from seiscore.workflow import demo

    sc = demo.continuous_scenario(seed=0, n_stations=N_STATIONS)
    waveforms, _ = to_waveforms(demo.scenario_waveforms(sc, seed=100))
    onsets = loc.stalta_onsets(waveforms, sc["stations"], sampling_rate=FS, position="centred")
    grid = Grid3D((-20.0, -20.0, 0.0), (1.0, 1.0, 1.0), (41, 41, 21), synthetic.DEFAULT_REFERENCE)
    table = tt.build_table(tt.VelocityModel.homogeneous(sc["vp"], sc["vs"]), 60.0, 21.0, 0.5, 0.5)
    ttg = tt.station_grids(table, sc["stations"], grid, sampling_rate=FS)
    return sc, onsets, grid, table, ttg


@pytest.fixture(scope="module")
def quakemigrate(tmp_path_factory):
    """QuakeMigrate's detect on the workload (one round, 2 threads), checked against seiscore."""
    sc, onsets, grid, table, ttg = workload()
    n_on = N_STATIONS * 2
    n_out = onsets.n_samples - int(ttg.max()) - 1
    d = tmp_path_factory.mktemp("qm")
    np.savez(
        d / "w.npz",
        onsets=np.exp(onsets.data.astype(np.float64)).reshape(n_on, -1),
        traveltimes=ttg.reshape(*grid.shape, n_on),
        sampling_rate=FS,
        timestep_s=120.0,
        pre_pad=0,
        post_pad=int(ttg.max()) + 1,
        n_out=n_out,
    )
    subprocess.run([str(PEERS), str(SCRIPT), str(d / "w.npz"), str(d / "r.json"), "1", "2"],
                   check=True)  # fmt: skip
    result = json.loads((d / "r.json").read_text())
    with np.load(d / "r.npz") as z:
        qm = {k: z[k] for k in z.files}
    ours = _core.location.migrate_max(onsets.data, ttg, None, 0, n_out, "geometric", 2)
    np.testing.assert_allclose(ours["max_coa"], qm["max_coa"], rtol=2e-5)
    assert np.mean(ours["max_node"] == qm["max_node"]) > 0.999
    return result


def _info(benchmark, impl, seconds=None):
    benchmark.extra_info.update(
        workload=f"{N_STATIONS} stations x {HOURS:g} h at {FS:g} Hz, grid 41x41x21",
        implementation=impl,
        station_hours=N_STATIONS * HOURS,
    )
    if seconds is not None:
        benchmark.extra_info["station_hours_per_s"] = N_STATIONS * HOURS / seconds


def test_quakemigrate_detect(benchmark, quakemigrate):
    """QuakeMigrate's time (measured in its subprocess), reported through one trivial round."""
    _info(benchmark, f"quakemigrate {quakemigrate['version']} detect", quakemigrate["median_s"])
    benchmark.extra_info["median_s"] = quakemigrate["median_s"]
    benchmark.pedantic(lambda: None, rounds=1, iterations=1)


@pytest.mark.parametrize("what", ["coalescence", "detect", "detect+locate"])
def test_seiscore(benchmark, quakemigrate, what):
    sc, onsets, grid, table, ttg = workload()
    if what == "coalescence":
        run = functools.partial(loc.coalescence, onsets, ttg, workers=2)
    else:
        run = functools.partial(
            loc.scan, onsets, ttg, grid, locate=what == "detect+locate", table=table,
            stations=sc["stations"], workers=2, full=True,
        )  # fmt: skip
    _info(benchmark, f"seiscore {what}")
    res = benchmark.pedantic(run, rounds=3, iterations=1, warmup_rounds=0)
    median = benchmark.stats.stats.median
    benchmark.extra_info["station_hours_per_s"] = N_STATIONS * HOURS / median
    benchmark.extra_info["speedup_vs_quakemigrate"] = quakemigrate["median_s"] / median
    if what != "coalescence":
        benchmark.extra_info["events"] = len(res.triggers)


if __name__ == "__main__":  # a table from a --benchmark-json file
    data = json.loads(Path(sys.argv[1]).read_text())
    for b in data["benchmarks"]:
        e = b["extra_info"]
        t = e.get("median_s", b["stats"]["median"])
        print(f"{e['implementation']:40s} {t:8.2f} s  {e['station_hours'] / t:7.2f} station-h/s")
