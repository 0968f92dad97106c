"""Migration benchmark: seiscore's fused kernel against QuakeMigrate's compiled C core, same run.

Run from the repository root (quakemigrate from PyPI in the same environment):

    python -m pytest bench/test_location.py --benchmark-only --benchmark-json=loc.json

Workload (the issue's): 50 stations x 2 phases, a 60 x 60 x 30 grid (1 km spacing, depths
0-29 km), 3000 output samples (60 s of origin times at 50 Hz). The travel times are real ones:
``seiscore.traveltime.station_grids`` for 50 stations spread over the grid's footprint in a
1-D crust (IASP91's), rounded to samples (max ~1300 samples). The onsets are QuakeMigrate-style
STA/LTA values (``1 + |noise|`` with Gaussian bumps at the arrivals of ten events), identical
for both; seiscore gets ``log(clip(onset, 0.01))`` in float32 and stacks with
``stacking="geometric"`` (QuakeMigrate's ``exp(mean log onset)``); QuakeMigrate's
``quakemigrate.core.lib.migrate`` takes the raw float64 onsets (it clips and logs them itself)
and ``find_max_coa`` then reduces the 4-D map, as QuakeMigrate's scan does.

Implementations, each with 2 threads and with 1: ``seiscore`` (``_core.location.migrate_max``:
max, normalised max and argmax per sample, fused) and ``quakemigrate`` (``migrate`` +
``find_max_coa``; the 4-D map is 108,000 x 3000 float64 = 2.6 GB). Before timing, the test
checks that both give the same maximum coalescence (float32 rounding) and the same node.

Throughput is reported in ``extra_info`` as node·onset-samples per second (nodes x stations x
phases x samples / median; "node-station-samples" per second is half that, the 2 phases
counted once).
"""

from __future__ import annotations

import functools

import numpy as np
import pytest

from seiscore import _core, geo
from seiscore import traveltime as tt
from seiscore.containers import Grid3D, Stations

N_STATIONS, N_PHASES, N_OUT = 50, 2, 3000
GRID_SHAPE = (60, 60, 30)
FS = 50.0
ROUNDS = {"seiscore": 10, "seiscore-1w": 5, "quakemigrate": 3, "quakemigrate-1t": 2}

qm = pytest.importorskip("quakemigrate.core.lib")


@functools.cache
def workload():
    rng = np.random.default_rng(20261121)
    ref = (40.0, 15.0)
    grid = Grid3D((-30.0, -30.0, 0.0), (1.0, 1.0, 1.0), GRID_SHAPE, ref)
    xy = rng.uniform(-30, 29, (N_STATIONS, 2))
    lat, lon = geo.unproject(xy[:, 0], xy[:, 1], *ref)
    n = N_STATIONS
    stations = Stations(
        np.array(["BN"] * n, object),
        np.array([f"S{i:03d}" for i in range(n)], object),
        np.array([""] * n, object),
        np.asarray(lat),
        np.asarray(lon),
        rng.uniform(0, 1500, n),
        np.full(n, np.nan),
        np.full(n, np.nan),
    )
    model = tt.VelocityModel(
        [0.0, 20.0, 35.0], [5.8, 6.5, 8.04], [3.36, 3.75, 4.47], name="iasp91 crust"
    )
    table = tt.build_table(model, 90.0, 30.0, 0.5, 0.5)
    ttimes = tt.station_grids(
        table, stations, grid, sampling_rate=FS
    )  # int32 [nodes, stations, phases]
    n_total = N_OUT + int(ttimes.max()) + 1
    onsets = 1.0 + np.abs(rng.normal(0, 0.3, (N_STATIONS, N_PHASES, n_total)))
    t = np.arange(n_total)
    for _ in range(10):  # events: bumps at the arrivals from random nodes
        node, t0 = rng.integers(0, grid.n_nodes), rng.integers(0, N_OUT)
        for s in range(N_STATIONS):
            for p in range(N_PHASES):
                onsets[s, p] += 8.0 * np.exp(-0.5 * ((t - t0 - ttimes[node, s, p]) / 3.0) ** 2)
    log_onsets = np.log(np.clip(onsets, 0.01, None)).astype(np.float32)
    qm_onsets = np.ascontiguousarray(onsets.reshape(N_STATIONS * N_PHASES, n_total))
    qm_tt = np.ascontiguousarray(ttimes.reshape(*GRID_SHAPE, N_STATIONS * N_PHASES))
    return log_onsets, ttimes, qm_onsets, qm_tt, n_total


def run_seiscore(workers):
    log_onsets, ttimes, *_ = workload()
    return _core.location.migrate_max(log_onsets, ttimes, None, 0, N_OUT, "geometric", workers)


def run_quakemigrate(threads):
    _, _, qm_onsets, qm_tt, n_total = workload()
    map4d = qm.migrate(qm_onsets, qm_tt, 0, n_total - N_OUT, N_STATIONS * N_PHASES, threads)
    out = qm.find_max_coa(map4d, threads)
    del map4d
    return out


@pytest.fixture(scope="module")
def checked():
    """seiscore and QuakeMigrate agree on the workload (checked once, before any timing)."""
    ours = run_seiscore(0)
    max_coa, max_norm, max_idx = run_quakemigrate(2)
    np.testing.assert_allclose(ours["max_coa"], max_coa, rtol=2e-5)
    np.testing.assert_allclose(ours["norm_coa"], max_norm, rtol=2e-4)
    assert np.mean(ours["max_node"] == max_idx) > 0.999
    return True


def _info(benchmark, impl, threads):
    benchmark.extra_info.update(
        workload=(
            f"{N_STATIONS} stations x {N_PHASES} phases, "
            f"grid {'x'.join(map(str, GRID_SHAPE))}, {N_OUT} samples"
        ),
        implementation=impl,
        threads=threads,
        node_onset_samples=int(np.prod(GRID_SHAPE)) * N_STATIONS * N_PHASES * N_OUT,
    )


@pytest.mark.parametrize(("impl", "threads"), [("seiscore", 2), ("seiscore-1w", 1)])
def test_seiscore_migrate(benchmark, checked, impl, threads):
    _info(benchmark, impl, threads)
    benchmark.pedantic(
        run_seiscore, args=(threads,), rounds=ROUNDS[impl], iterations=1, warmup_rounds=1
    )


@pytest.mark.parametrize(("impl", "threads"), [("quakemigrate", 2), ("quakemigrate-1t", 1)])
def test_quakemigrate_migrate(benchmark, checked, impl, threads):
    _info(benchmark, impl, threads)
    benchmark.pedantic(
        run_quakemigrate, args=(threads,), rounds=ROUNDS[impl], iterations=1, warmup_rounds=0
    )


def _cuda_ok() -> bool:
    from seiscore._backend import cuda_available

    return cuda_available()


@pytest.mark.skipif(not _cuda_ok(), reason="no CUDA device (or seiscore built without CUDA)")
def test_cuda_migrate(benchmark, checked):
    """The CUDA twin on the same workload (includes the host-device copies of the inputs)."""
    from seiscore import _cuda

    log_onsets, ttimes, *_ = workload()
    ref = run_seiscore(0)
    got = _cuda.location.migrate_max(log_onsets, ttimes, None, 0, N_OUT, "geometric", 0)
    np.testing.assert_allclose(got["max_coa"], ref["max_coa"], rtol=1e-4)
    _info(benchmark, "seiscore-cuda", 0)
    benchmark.extra_info["device"] = _cuda.device_properties(0)["name"]
    benchmark.pedantic(
        _cuda.location.migrate_max,
        args=(log_onsets, ttimes, None, 0, N_OUT, "geometric", 0),
        rounds=10,
        iterations=1,
        warmup_rounds=1,
    )
