"""Travel-time benchmarks: per-station grids (C++ bilinear, threads) against SciPy's
``RegularGridInterpolator``, and the ray-tracing table against ObsPy's TauP per point.

    python -m pytest bench/test_traveltime.py --benchmark-only --benchmark-json=tt.json

Workloads:

* ``grids``: the migration benchmark's travel times — 50 stations (elevations 0-1500 m), a
  60 x 60 x 30 grid at 1 km, P and S — 10.8 M values, from an IASP91-crust table (0.5 km steps).
  seiscore's time includes the elevation correction of the 50 x 2 tables; SciPy's reference
  interpolates the same corrected tables (linear, per station and phase).
* ``table``: a 181 x 61 (distance 0-90 km x depth 0-30 km) P and S table of the IASP91 crust;
  TauP (``TauPyModel("iasp91").get_travel_times``) is timed on 20 of those points and reported
  per point.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest
from scipy.interpolate import RegularGridInterpolator

from seiscore import geo
from seiscore import traveltime as tt
from seiscore.containers import Grid3D, Stations

MODEL = tt.VelocityModel(
    [0.0, 20.0, 35.0], [5.8, 6.5, 8.04], [3.36, 3.75, 4.47], name="iasp91 crust"
)


@functools.cache
def setup():
    rng = np.random.default_rng(20261121)
    ref = (40.0, 15.0)
    grid = Grid3D((-30.0, -30.0, 0.0), (1.0, 1.0, 1.0), (60, 60, 30), ref)
    xy = rng.uniform(-30, 29, (50, 2))
    lat, lon = geo.unproject(xy[:, 0], xy[:, 1], *ref)
    st = Stations(
        np.array(["BN"] * 50, object),
        np.array([f"S{i:03d}" for i in range(50)], object),
        np.array([""] * 50, object),
        np.asarray(lat),
        np.asarray(lon),
        rng.uniform(0, 1500, 50),
        np.full(50, np.nan),
        np.full(50, np.nan),
    )
    table = tt.build_table(MODEL, 90.0, 30.0, 0.5, 0.5)
    return grid, st, table, xy


def scipy_grids(table, st, grid, xy):
    nodes = grid.node_xyz(np.arange(grid.n_nodes))
    out = np.empty((grid.n_nodes, len(st), 2), np.float32)
    for s in range(len(st)):
        d = np.hypot(nodes[:, 0] - xy[s, 0], nodes[:, 1] - xy[s, 1])
        for p, ph in enumerate(("P", "S")):
            tab = tt._corrected(table, ph, float(st.elevation_m[s]), "fermat", 0)
            f = RegularGridInterpolator((table.depth_km, table.distance_km), tab, method="linear")
            out[:, s, p] = f(np.stack([nodes[:, 2], d], axis=1))
    return out


def test_station_grids_seiscore(benchmark):
    grid, st, table, xy = setup()
    ref = scipy_grids(table, st, grid, xy)  # also fills the cache of corrected tables
    got = tt.station_grids(table, st, grid)
    np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-5)
    benchmark.extra_info.update(workload="grids", implementation="seiscore", values=int(ref.size))
    benchmark.pedantic(tt.station_grids, args=(table, st, grid), rounds=5, iterations=1)


def test_station_grids_scipy(benchmark):
    grid, st, table, xy = setup()
    scipy_grids(table, st, grid, xy)  # corrected tables cached: time the interpolation only
    benchmark.extra_info.update(
        workload="grids",
        implementation="scipy RegularGridInterpolator",
        values=int(grid.n_nodes * 100),
    )
    benchmark.pedantic(scipy_grids, args=(table, st, grid, xy), rounds=2, iterations=1)


def test_elevation_correction(benchmark):
    """The Fermat elevation correction of the 50 x 2 tables (done once per table and elevation)."""
    grid, st, table, xy = setup()

    def run():
        tt._CORRECTED.clear()
        for ph in ("P", "S"):
            for e in st.elevation_m:
                tt._corrected(table, ph, float(e), "fermat", 0)

    benchmark.extra_info.update(workload="elevation", implementation="seiscore", tables=100)
    benchmark.pedantic(run, rounds=3, iterations=1)


def test_build_table_seiscore(benchmark):
    benchmark.extra_info.update(workload="table", implementation="seiscore", points=181 * 61 * 2)
    benchmark.pedantic(tt.build_table, args=(MODEL, 90.0, 30.0, 0.5, 0.5), rounds=10, iterations=1)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_table_taup_per_point(benchmark):
    from obspy.taup import TauPyModel

    taup = TauPyModel("iasp91")
    rng = np.random.default_rng(1)
    pts = np.stack([rng.uniform(0, 90, 10), rng.uniform(0, 30, 10)], axis=1)

    def run():
        for x, z in pts:
            for names in (["p", "P", "Pg", "Pn"], ["s", "S", "Sg", "Sn"]):
                taup.get_travel_times(
                    source_depth_in_km=z, distance_in_degree=x / 111.19, phase_list=names
                )

    benchmark.extra_info.update(workload="table", implementation="taup (20 points)", points=20)
    benchmark.pedantic(run, rounds=3, iterations=1)
