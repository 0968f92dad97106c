"""``seiscore run`` with ``[location] nll_grids``: NonLinLoc time grids give the migration's
travel times and, summarised in 1-D, the association's where they cover its search volume; the
catalogue matches the one the same velocities give through seiscore's own tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from seiscore import location as loc
from seiscore import traveltime as tt
from seiscore.io.stations import read_stations
from seiscore.workflow import demo, detection, pipeline

VP, VS = 6.0, 3.5


@pytest.fixture(scope="module")
def scenario(tmp_path_factory):
    folder = tmp_path_factory.mktemp("scenario")
    truth = demo.make_scenario(folder, n_stations=8, n_events=2, duration_s=70.0, seed=3)
    stations = read_stations(folder / "stations.xml")
    grid = loc.make_grid(stations, depth_km=(0.0, 30.0), spacing_km=1.0, margin_km=15.0)
    table = tt.build_table(tt.VelocityModel.homogeneous(VP, VS), 90.0, 31.0, 0.25, 0.25)
    seconds = tt.station_grids(table, stations, grid)
    tt.write_nonlinloc(folder / "nll" / "demo", seconds, grid, stations)
    return folder, truth, stations


def _config(folder, out, **location):
    return {
        "input": {"waveforms": [str(folder / "waveforms")]},
        "stations": {"path": str(folder / "stations.xml")},
        "model": {"vp": VP, "vs": VS},
        "association": {"min_picks": 6, "zlim": [0.0, 25.0]},
        "location": {"spacing_km": 1.0, "detection": "both", **location},
        "output": {"directory": str(out), "figures": False},
    }


def test_run_with_nonlinloc_grids_matches_the_1d_run(scenario, tmp_path):
    folder, truth, _ = scenario
    own = pipeline.run(_config(folder, tmp_path / "own"))
    nll = pipeline.run(_config(folder, tmp_path / "nll", nll_grids=str(folder / "nll" / "demo")))
    assert any("1-D summary of the NonLinLoc grids" in m for m in nll.messages)
    assert nll.summary["n_events"] == own.summary["n_events"] == 2
    a = pd.read_csv(tmp_path / "own" / "events.csv")
    b = pd.read_csv(tmp_path / "nll" / "events.csv")
    cmp = demo.compare(b, truth["truth"])
    assert cmp.found.all()
    assert (cmp.dt_s.abs() < 0.3).all()
    assert (cmp.dh_km < 1.5).all()
    # the same velocities through NonLinLoc grids: the same hypocentres within a grid cell
    for c in ("latitude", "longitude"):
        np.testing.assert_allclose(b[c], a[c], atol=0.012)
    np.testing.assert_allclose(b.depth_km, a.depth_km, atol=1.01)


def test_association_keeps_the_1d_model_outside_the_grids(scenario):
    folder, _, stations = scenario
    velocity = tt.VelocityModel.homogeneous(VP, VS)
    lcfg = {"nll_grids": str(folder / "nll" / "demo")}
    notes: list[str] = []
    wide = {"xlim": (-300.0, 300.0), "ylim": (-300.0, 300.0), "zlim": (0.0, 25.0)}
    assert detection.association_travel_times(stations, velocity, lcfg, wide, notes) is velocity
    assert "do not cover its search volume" in notes[-1]
    notes.clear()
    table = detection.association_travel_times(
        stations, velocity, lcfg, {"zlim": (0.0, 25.0), "tolerance_s": 0.001}, notes
    )
    assert table is not velocity
    assert "raise association.tolerance_s" in notes[-1]
    d = np.array([5.0, 15.0])
    np.testing.assert_allclose(
        tt.travel_times(table, "P", d, 8.0, 0.0, elevation="vertical"), np.hypot(d, 8.0) / VP,
        atol=0.08,
    )  # fmt: skip
    # PhaseLink takes its travel times from its linker: the grids are not read
    assert detection.association_travel_times(
        stations, velocity, lcfg, {"method": "phaselink"}, notes
    ) is velocity  # fmt: skip
