"""The compiled kernels on hostile input: a message, never a crash, a hang or garbage.

Issue 11, items 1-4: travel-time tables far beyond a layered model's range, integer overflow in
size checks, unbounded run time (and Ctrl-C inside a kernel), allocation before refusal. The
mutation fuzzer over every binding is in test_fuzz.py.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from seiscore import _core, location

ND = np.array([0.0, 20.0, 20.0, 40.0, 40.0, 100.0])
NV = np.array([6.0, 6.5, 6.8, 7.0, 8.0, 8.2])


# ---- item 1: tables beyond a layered model's reach (was a segmentation fault) ---------------


@pytest.mark.parametrize("distance_km", [9_000.0, 9_500.0, 20_000.0])
def test_first_arrivals_refuses_teleseismic_distances(distance_km):
    with pytest.raises(ValueError, match=rf"distance {distance_km:g} km is too large"):
        _core.traveltime.first_arrivals(ND, NV, np.array([0.0, 10.0]), np.array([0.0, distance_km]))


@pytest.mark.parametrize("radius", [float("inf"), float("nan"), -float("inf")])
def test_first_arrivals_refuses_a_non_finite_earth_radius(radius):
    with pytest.raises(ValueError, match="earth_radius_km must be finite"):
        _core.traveltime.first_arrivals(
            ND, NV, np.array([0.0]), np.array([0.0, 10.0]), earth_radius_km=radius
        )


def test_first_arrivals_refuses_a_tiny_earth():
    with pytest.raises(ValueError, match="half the Earth radius"):
        _core.traveltime.first_arrivals(
            ND, NV, np.array([0.0]), np.array([0.0, 10.0]), earth_radius_km=10.0
        )


def test_first_arrivals_still_answers_at_regional_distances():
    t = _core.traveltime.first_arrivals(ND, NV, np.array([0.0]), np.array([0.0, 1000.0, 5000.0]))
    assert np.isfinite(t).all()
    # Pn beyond the crossover: about distance / 8.2 km/s plus the crustal delay
    assert 1000 / 8.2 < t[0, 1] < 1000 / 8.2 + 15


# ---- item 2: integer overflow past the bounds checks ------------------------------------------


def _migration_inputs():
    rng = np.random.default_rng(0)
    onsets = rng.random((3, 2, 200), dtype=np.float32)
    tt = rng.integers(0, 20, (10, 3, 2)).astype(np.int32)
    return onsets, tt


@pytest.mark.parametrize(
    ("first", "n_out"), [(2**63 - 5, 5), (-(2**63), 5), (0, 2**62), (5, 2**63 - 1), (190, 5)]
)
def test_migration_refuses_out_of_range_samples(first, n_out):
    onsets, tt = _migration_inputs()
    for fn in (_core.location.migrate_max, _core.location.migrate_map):
        with pytest.raises(ValueError, match="migrate: "):
            fn(onsets, tt, None, first, n_out)


def test_coalescence_volume_refuses_an_overflowing_time():
    onsets, tt = _migration_inputs()
    with pytest.raises(ValueError, match="migrate"):
        _core.location.migrate_map(onsets, tt, None, 2**63 - 5, 5)
    # and the valid call still answers
    vol = _core.location.migrate_map(onsets, tt, None, 0, 5)
    assert vol.shape == (5, 10)
    assert location is not None


@pytest.mark.parametrize("shape", [(4, 4, 2**62), (2**31, 2**31, 4), (2**21, 2**21, 2**21)])
def test_station_grids_refuses_an_overflowing_grid(shape):
    tables = np.zeros((1, 2, 5, 5), np.float32)
    with pytest.raises(ValueError, match="far too large"):
        _core.traveltime.station_grids(
            tables, (0.0, 1.0, 0.0, 1.0), np.zeros((1, 2)), (0.0, 0.0, 0.0), (1.0, 1.0, 1.0), shape
        )


def _assoc_args(**config):
    times = np.tile(np.linspace(0, 20, 50, dtype=np.float32), (2, 10, 1))
    times[1] *= 1.7
    base = dict(x_min_km=-10.0, x_max_km=10.0, y_min_km=-10.0, y_max_km=10.0, z_min_km=0.0,
                z_max_km=9.0, cell_km=1.0, cell_depth_km=1.0)  # fmt: skip
    base.update(config)
    return (
        np.zeros(3, np.int32), np.zeros(3, np.int8), np.array([1.0, 2.0, 3.0]),
        np.ones(3, np.float32), np.zeros(1), np.zeros(1), np.zeros((1, 2), np.float32), times,
        (0.0, 1.0, 0.0, 1.0), base,
    )  # fmt: skip


@pytest.mark.parametrize(
    "config",
    [{"cell_km": 1e-6}, {"cell_km": 1e-300, "cell_depth_km": 1e-300},
     {"x_min_km": -1e9, "x_max_km": 1e9, "y_min_km": -1e9, "y_max_km": 1e9}],
)  # fmt: skip
def test_association_refuses_a_search_volume_of_too_many_cells(config):
    with pytest.raises(ValueError, match=r"cells .*use larger cells"):
        _core.association.associate(*_assoc_args(**config))


@pytest.mark.parametrize(
    ("key", "value", "match"),
    [("min_picks", 3_000_000_000, r"config\['min_picks'\]"),
     ("tolerance_s", "1", r"config\['tolerance_s'\]: cannot convert str"),
     ("cell_km", None, r"config\['cell_km'\]")],
)  # fmt: skip
def test_association_config_errors_name_the_key(key, value, match):
    with pytest.raises(TypeError, match=match):
        _core.association.associate(*_assoc_args(**{key: value}))


def test_migration_refuses_a_non_array_active_mask():
    onsets, tt = _migration_inputs()
    with pytest.raises(TypeError, match="active: expected None or a uint8 array"):
        _core.location.migrate_max(onsets, tt, 0, 0, 5)


# ---- item 3: cost explosions are refused, long kernels stop on Ctrl-C ---------------------------


def test_first_arrivals_refuses_an_absurd_sublayer_count():
    t0 = time.perf_counter()
    with pytest.raises(ValueError, match=r"sub-layers \(at most 200000\); use larger values"):
        _core.traveltime.first_arrivals(
            ND, NV, np.array([0.0]), np.array([0.0, 10.0]), max_sublayer_km=1e-4
        )
    assert time.perf_counter() - t0 < 2.0


def test_robust_stack_refuses_an_absurd_iteration_count():
    ccf = np.ones((4, 9), np.float32)
    with pytest.raises(ValueError, match=r"max_iter must lie in \[0, 100000\]"):
        _core.correlation.stack_robust(ccf, np.array([0, 4], np.int64), 0.0, 2**31 - 1)


LONG_KERNELS = {
    "traveltime table": """
        _core.traveltime.first_arrivals(ND, NV, np.linspace(0, 40, 400), np.arange(0, 5000, 0.1))
    """,
    "migration": """
        on = np.random.default_rng(0).random((40, 2, 20000), dtype=np.float32)
        tt = np.random.default_rng(1).integers(0, 500, (200000, 40, 2)).astype(np.int32)
        _core.location.migrate_max(on, tt, None, 0, 19000)
    """,
}


@pytest.mark.parametrize("kernel", sorted(LONG_KERNELS))
def test_ctrl_c_stops_a_long_kernel(kernel):
    """SIGINT during a minutes-long kernel raises KeyboardInterrupt within a second or so."""
    body = textwrap.indent(textwrap.dedent(LONG_KERNELS[kernel]).strip(), "    ")
    script = "\n".join(
        [
            "import sys, time",
            "import numpy as np",
            "from seiscore import _core",
            f"ND = np.array({ND.tolist()}); NV = np.array({NV.tolist()})",
            'print("started", flush=True)',
            "t0 = time.perf_counter()",
            "try:",
            body,
            "except KeyboardInterrupt:",
            '    print(f"interrupted after {time.perf_counter() - t0:.2f}", flush=True)',
            "    sys.exit(3)",
            'print("finished", flush=True)',
        ]
    )
    with subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True) as p:
        try:
            assert p.stdout.readline().strip() == "started"
            time.sleep(1.5)
            t_sig = time.perf_counter()
            p.send_signal(signal.SIGINT)
            rc = p.wait(timeout=20)
            waited = time.perf_counter() - t_sig
        finally:
            if p.poll() is None:
                p.kill()
        out = p.stdout.read()
    assert rc == 3, f"the kernel did not stop on SIGINT (exit {rc}, output {out!r})"
    assert waited < 5.0, f"stopping took {waited:.1f} s"
